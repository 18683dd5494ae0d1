"""Peak memory against the arena plan.

The arena plan is meant to be the truth about memory: the program's peak resident set
should be its fixed baseline (binary, libraries, thread stacks, the rows read) plus the
plan, within 5% of the plan. Checked for a training-shaped run (engine_check: forward with
kept activations + backward, gradients), for --stage eval (forward only), and for LoRA SFT
and SPO runs on a Q4_K_M GGUF base with --recompute (the 7B/8B recipe, shrunk), on models
big enough that the plan dwarfs noise (~100-300 MB).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CFG = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=512, num_hidden_layers=4,
           num_attention_heads=8, num_key_value_heads=2, intermediate_size=1024, vocab_size=4096,
           rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, hidden_act="silu")


def make_model(d):
    os.makedirs(d)
    json.dump(CFG, open(os.path.join(d, "config.json"), "w"))
    rng = np.random.default_rng(0)
    E, F, V, L, D = 512, 1024, 4096, 4, 64
    t = {"model.embed_tokens.weight": rng.normal(0, 0.02, (V, E)), "lm_head.weight": rng.normal(0, 0.02, (V, E)),
         "model.norm.weight": np.ones(E)}
    for l in range(L):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": np.ones(E), p + "post_attention_layernorm.weight": np.ones(E),
                  p + "self_attn.q_proj.weight": rng.normal(0, 0.02, (8 * D, E)),
                  p + "self_attn.k_proj.weight": rng.normal(0, 0.02, (2 * D, E)),
                  p + "self_attn.v_proj.weight": rng.normal(0, 0.02, (2 * D, E)),
                  p + "self_attn.o_proj.weight": rng.normal(0, 0.02, (E, 8 * D)),
                  p + "mlp.gate_proj.weight": rng.normal(0, 0.02, (F, E)),
                  p + "mlp.up_proj.weight": rng.normal(0, 0.02, (F, E)),
                  p + "mlp.down_proj.weight": rng.normal(0, 0.02, (E, F))})
    st_numpy.write(os.path.join(d, "model.safetensors"), t, "BF16", {"format": "pt"})


def check(label, plan, baseline, peak):
    over = peak - baseline - plan
    rel = over / plan
    ok = abs(rel) <= 0.05
    print(f"{'PASS' if ok else 'FAIL'}: memory {label}: arena plan {plan / 2**20:.1f} MiB, baseline "
          f"{baseline / 2**20:.1f} MiB, peak RSS {peak / 2**20:.1f} MiB; peak - baseline - plan = "
          f"{over / 2**20:+.1f} MiB ({100 * rel:+.2f}% of the plan, limit 5%)")


def check_run(label, p):
    """A ./train run's --report-memory line against its plan."""
    m = re.search(r"arena plan (\d+) bytes .*baseline before the arena (\d+) bytes .*peak RSS (\d+) bytes", p.stderr)
    if p.returncode != 0 or not m:
        print(f"FAIL: memory {label}: ./train failed: {p.stderr.strip()[-300:]}")
    else:
        check(label, *map(int, m.groups()))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        mdir = os.path.join(tmp, "model")
        make_model(mdir)
        rng = np.random.default_rng(1)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:  # every row full length, so the batch fills the plan
            for _ in range(4):
                f.write(json.dumps({"input_ids": rng.integers(0, 4096, 256).tolist()}) + "\n")
        p = subprocess.run([os.path.join(ROOT, "build", "engine_check"), "--model", mdir, "--data", data, "--out",
                            os.path.join(tmp, "g.safetensors"), "--no-logits", "--report-memory"],
                           capture_output=True, text=True)
        m = re.search(r"memory: plan (\d+) baseline (\d+) peak (\d+)", p.stdout)
        if p.returncode != 0 or not m:
            print(f"FAIL: memory forward+backward: engine_check failed: {p.stderr.strip()[:300]}")
        else:
            check("forward+backward (4 x 256 tokens, 4 layers, grads)", *map(int, m.groups()))
        p = subprocess.run([os.path.join(ROOT, "train"), "--stage", "eval", "--model", mdir, "--data", data,
                            "--batch-size", "4", "--seq-len", "256", "--report-memory", "--out",
                            os.path.join(tmp, "eval.jsonl")], capture_output=True, text=True)
        check_run("eval forward only (4 x 256 tokens)", p)
        # The same model as an F32 GGUF, which is read through a memory map: the mapped
        # pages must not stay resident next to the arena (no second copy of the model).
        gguf = os.path.join(tmp, "model.gguf")
        subprocess.run([os.path.join(ROOT, "train"), "--stage", "convert", "--model", mdir, "--export-gguf", gguf,
                        "--save-dtype", "f32"], check=True, capture_output=True)
        p = subprocess.run([os.path.join(ROOT, "train"), "--stage", "eval", "--model", gguf, "--data", data,
                            "--batch-size", "4", "--seq-len", "256", "--report-memory", "--out",
                            os.path.join(tmp, "eval2.jsonl")], capture_output=True, text=True)
        check_run(f"eval from a {os.path.getsize(gguf) / 2**20:.0f} MiB F32 GGUF (mapped, not copied)", p)
        lora_runs(tmp, rng)


def lora_runs(tmp, rng):
    """LoRA SFT (1 x 512 tokens) and SPO (a pair of 2 x 512) on a random Q4_K_M GGUF, --recompute."""
    cfg = os.path.join(tmp, "q.json")
    json.dump(dict(model_type="qwen2", hidden_size=768, num_hidden_layers=4, num_attention_heads=6,
                   num_key_value_heads=2, intermediate_size=2048, vocab_size=32000, tie_word_embeddings=False,
                   rope_theta=1e6, rms_norm_eps=1e-6), open(cfg, "w"))
    gguf = os.path.join(tmp, "q4km.gguf")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_random_gguf.py"), cfg, gguf, "--type",
                    "q4_k_m"], check=True, capture_output=True)
    sft, pref = os.path.join(tmp, "lsft.jsonl"), os.path.join(tmp, "lpref.jsonl")
    with open(sft, "w") as f:
        for _ in range(2):
            f.write(json.dumps({"input_ids": rng.integers(0, 32000, 512).tolist()}) + "\n")
    with open(pref, "w") as f:  # short prompts: almost every token is scored, so the LM head's tile fills
        for _ in range(2):
            f.write(json.dumps({"prompt_input_ids": rng.integers(0, 32000, 2).tolist(),
                                "chosen_input_ids": rng.integers(0, 32000, 510).tolist(),
                                "rejected_input_ids": rng.integers(0, 32000, 510).tolist()}) + "\n")
    for label, args in (("LoRA SFT on a Q4_K_M GGUF, 1 x 512 tokens, --recompute",
                         ["--stage", "sft", "--data", sft, "--batch-size", "1"]),
                        ("LoRA SPO on a Q4_K_M GGUF, a pair of 2 x 512 tokens, --recompute",
                         ["--stage", "pref", "--loss", "spo", "--data", pref, "--batch-size", "1"])):
        p = subprocess.run([os.path.join(ROOT, "train"), "--model", gguf, *args, "--lora-r", "16", "--recompute",
                            "--seq-len", "512", "--max-steps", "2", "--report-memory", "--threads", "2", "--out",
                            os.path.join(tmp, "run-" + args[1])], capture_output=True, text=True)
        check_run(label, p)


if __name__ == "__main__":
    main()
