"""LoRA runs as a user makes them, on a tiny base written to disk (2 layers of each family):

- the adapter's files read by a reader written here from FORMATS.md 9.2 (not the program's):
  adapter_config.json has exactly PEFT 0.13's keys, sorted with indent 2 as PEFT writes it;
  adapter_model.safetensors exactly PEFT's tensor names and shapes; PEFT's initialisation
  (B = 0, A uniform in +-1/sqrt(in)); no full model in the checkpoint;
- --resume with dropout on: 3 + 3 steps equal 6 straight (losses and grad norms, exactly);
- a preference run's step 0 on the reference: DPO ln 2 and SPO 0, bit for bit, with the
  reference the base (a new adapter), a frozen copy of the SFT adapter, or precomputed;
  `--stage pref` with no --model finds the base from the SFT adapter's base_model_name_or_path;
- merge: convert --merge writes W + s B A (checked against numpy on the files), and the merged
  model's log-probs equal the base with the adapter applied;
- the adapter as a llama.cpp LoRA GGUF, read by the npm package @huggingface/gguf: the keys
  and types llama.cpp demands, lora_a [in, r] / lora_b [r, out] in complete pairs, and the
  values (Llama's Q/K rows of lora_b permuted as the base's).
"""
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_numpy as G  # noqa: E402
import st_numpy  # noqa: E402
from harness import ROOT, TRAIN, metrics, reporter, train  # noqa: E402

TESTS = os.path.join(ROOT, "tests")
MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PEFT_013_KEYS = {"alpha_pattern", "base_model_name_or_path", "bias", "fan_in_fan_out", "inference_mode",
                 "init_lora_weights", "layer_replication", "layers_pattern", "layers_to_transform", "loftq_config",
                 "lora_alpha", "lora_dropout", "megatron_config", "megatron_core", "modules_to_save", "peft_type", "r",
                 "rank_pattern", "revision", "target_modules", "task_type", "use_dora", "use_rslora"}
FAMILIES = {
    "qwen2": {"model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 4096, "tie_word_embeddings": True,
              "rope_theta": 1000000.0, "rms_norm_eps": 1e-6},
    "llama": {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 1, "intermediate_size": 96, "vocab_size": 4096, "tie_word_embeddings": False,
              "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "attention_bias": False},
}
COMMON = {"seq-len": 256, "batch-size": 4, "warmup": 2, "threads": 2}


result, guard = reporter("LoRA run")


def module_dims(c):
    E, F = c["hidden_size"], c["intermediate_size"]
    D = E // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
    return {"q_proj": (E, q), "k_proj": (E, kv), "v_proj": (E, kv), "o_proj": (q, E), "gate_proj": (E, F),
            "up_proj": (E, F), "down_proj": (F, E)}


def peft_name(l, mod, ab):
    part = "self_attn" if mod in MODULES[:4] else "mlp"
    return f"base_model.model.model.layers.{l}.{part}.{mod}.lora_{ab}.weight"


def check_adapter_files(ck, c, r, alpha, base, targets):
    """An independent reading of a checkpoint as PEFT's directory; returns a list of problems."""
    bad = []
    text = open(os.path.join(ck, "adapter_config.json")).read()
    cfg = json.loads(text)
    if set(cfg) != PEFT_013_KEYS:
        bad.append(f"keys differ from PEFT 0.13's: {sorted(set(cfg) ^ PEFT_013_KEYS)}")
    if text != json.dumps(cfg, indent=2, sort_keys=True):
        bad.append("not written as json.dumps(indent=2, sort_keys=True)")
    want = dict(peft_type="LORA", task_type="CAUSAL_LM", r=r, lora_alpha=alpha, bias="none", use_dora=False,
                fan_in_fan_out=False, base_model_name_or_path=os.path.abspath(base), target_modules=targets)
    for k, v in want.items():
        if cfg.get(k) != v:
            bad.append(f"{k} = {cfg.get(k)!r}, expected {v!r}")
    W, meta = st_numpy.read(os.path.join(ck, "adapter_model.safetensors"))
    dims = module_dims(c)
    names = {peft_name(l, m, ab) for l in range(c["num_hidden_layers"]) for m in targets for ab in "AB"}
    if set(W) != names:
        bad.append(f"tensor names differ: {sorted(set(W) ^ names)[:3]}")
    for l in range(c["num_hidden_layers"]):
        for m in targets:
            i, o = dims[m]
            if W.get(peft_name(l, m, "A"), np.zeros(0)).shape != (r, i) or W.get(peft_name(l, m, "B"),
                                                                                np.zeros(0)).shape != (o, r):
                bad.append(f"layer {l} {m}: shapes")
    if (meta or {}).get("format") != "pt":
        bad.append(f"metadata {meta}")
    if os.path.exists(os.path.join(ck, "model.safetensors")):
        bad.append("a full model.safetensors beside the adapter")
    return bad, W


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sft_rows, pref_rows = os.path.join(tmp, "sft.jsonl"), os.path.join(tmp, "pref.jsonl")
        with open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")) as f, open(sft_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        with open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")) as f, open(pref_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        bases, cfgs = {}, {}
        for fam, c in FAMILIES.items():  # a base on disk: the config's random initialisation, written by convert
            cfgs[fam] = os.path.join(tmp, f"{fam}.json")
            json.dump(dict(COMMON, model_config=c), open(cfgs[fam], "w"))
            bases[fam] = os.path.join(tmp, f"base-{fam}")
            train("--stage", "convert", "--config", cfgs[fam], "--out", bases[fam])
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(ROOT, "data", "tokenizer", f), bases[fam])
        c, base, cfg = FAMILIES["qwen2"], bases["qwen2"], cfgs["qwen2"]
        S = os.path.join(tmp, "S")
        sft = ["--config", cfg, "--stage", "sft", "--model", base, "--data", sft_rows, "--lora-r", "4",
               "--lora-dropout", "0.1", "--lr", "1e-2"]

        def initialisation():
            Z = os.path.join(tmp, "Z")
            train(*sft, "--max-steps", "1", "--out", Z)  # step 1 of the warmup has lr 0: the adapter as initialised
            bad, W = check_adapter_files(os.path.join(Z, "checkpoint-1"), c, 4, 8, base, MODULES)
            dims = module_dims(c)
            b_zero = all(not W[k].any() for k in W if ".lora_B." in k)
            bound_ok = all(np.abs(W[peft_name(l, m, "A")]).max() <= 1 / math.sqrt(dims[m][0]) and
                           np.abs(W[peft_name(l, m, "A")]).max() > 0.9 / math.sqrt(dims[m][0])
                           for l in range(2) for m in MODULES)
            result("the checkpoint is PEFT's adapter directory: PEFT 0.13's config keys, sorted, indent 2; its "
                   "tensor names and shapes; base_model_name_or_path the base", not bad, "; ".join(bad))
            result("PEFT's initialisation: B = 0 and A uniform within +-1/sqrt(in)", b_zero and bound_ok)
        guard("initialisation", initialisation)

        def resume():
            train(*sft, "--max-steps", "6", "--save-every", "3", "--out", S)
            R = os.path.join(tmp, "R")
            train("--resume", os.path.join(S, "checkpoint-3"), "--out", R)
            a, b = metrics(S), metrics(R)
            same = [(x["loss"], x["grad_norm"]) for x in a[3:]] == [(x["loss"], x["grad_norm"]) for x in b]
            W6, _ = st_numpy.read(os.path.join(S, "checkpoint-6", "adapter_model.safetensors"))
            W6r, _ = st_numpy.read(os.path.join(R, "checkpoint-6", "adapter_model.safetensors"))
            same_w = set(W6) == set(W6r) and all(np.array_equal(W6[k], W6r[k]) for k in W6)
            moved = a[0]["loss"] != a[-1]["loss"]
            result("SFT with dropout 0.1: 3 steps + --resume + 3 steps equal 6 straight (losses, grad norms, the "
                   "adapter bit for bit)", same and same_w and moved,
                   f"{[x['loss'] for x in a[3:]]} vs {[x['loss'] for x in b]}")
            D = os.path.join(tmp, "D")
            train(*[x if x != "0.1" else "0" for x in sft], "--max-steps", "3", "--out", D)
            result("dropout changes the steps (masks are drawn)", metrics(D)[2]["loss"] != a[2]["loss"])
        guard("resume", resume)

        def pref_step0():
            ck = os.path.join(S, "checkpoint-6")
            runs = [("dpo", ["--adapter", ck], "a frozen copy of the SFT adapter"),
                    ("spo", ["--adapter", ck], "a frozen copy of the SFT adapter"),
                    ("dpo", ["--lora-r", "4"], "the base with a new adapter off"),
                    ("spo", ["--lora-r", "4", "--lora-dropout", "0.2"], "the base, a new adapter with dropout"),
                    ("dpo", ["--adapter", ck, "--precompute-ref"], "precomputed")]
            for i, (loss, extra, what) in enumerate(runs):
                P = os.path.join(tmp, f"P{i}")
                train("--config", cfg, "--stage", "pref", "--model", base, "--data", pref_rows, "--loss", loss,
                      "--max-steps", "4", "--save-every", "2", "--lr", "1e-3", "--out", P, *extra)
                m = metrics(P)
                want = math.log(2) if loss == "dpo" else 0.0
                ok = m[0]["loss"] == float(f"{want:.9g}")  # metrics.jsonl's 9 digits of the exact value
                ok = ok and m[0]["rewards/chosen"] == 0 and m[0]["rewards/rejected"] == 0 and m[-1]["loss"] != m[0]["loss"]
                result(f"pref {loss}, reference {what}: step 0's loss is {'ln 2' if loss == 'dpo' else '0'} and "
                       f"its rewards 0, exactly", ok, f"loss {m[0]['loss']!r}, rewards {m[0]['rewards/chosen']!r}")
                if i == 0:
                    Q = P + "-resumed"
                    train("--resume", os.path.join(P, "checkpoint-2"), "--out", Q)
                    result("pref from the SFT adapter: 2 steps + --resume + 2 steps equal 4 straight",
                           [x["loss"] for x in m[2:]] == [x["loss"] for x in metrics(Q)])
                    bad, _ = check_adapter_files(os.path.join(P, "checkpoint-4"), c, 4, 8, base, MODULES)
                    result("the preference checkpoint is a PEFT adapter on the same base", not bad, "; ".join(bad))
        guard("pref step 0", pref_step0)

        def pref_finds_base():  # ./train --stage pref with no --model, after a LoRA SFT into runs/sft
            cwd = os.path.join(tmp, "cwd")
            os.makedirs(os.path.join(cwd, "runs"))
            shutil.copytree(S, os.path.join(cwd, "runs", "sft"))
            flags = os.path.join(tmp, "flags.json")  # run settings only: no model_config, so the run looks in runs/sft
            json.dump(COMMON, open(flags, "w"))
            p = train("--config", flags, "--stage", "pref", "--data", pref_rows, "--loss", "spo", "--max-steps", "2",
                      cwd=cwd)
            ck = os.path.join(cwd, "runs", "pref-spo", "checkpoint-2")
            cfg_out = json.load(open(os.path.join(ck, "adapter_config.json")))
            result("--stage pref with no --model takes the base from the newest SFT adapter's "
                   "base_model_name_or_path and starts from that adapter",
                   cfg_out["base_model_name_or_path"] == os.path.abspath(base) and "starting from --adapter" in p.stderr,
                   p.stderr.strip().splitlines()[1] if p.stderr else "")
        guard("pref finds the base", pref_finds_base)

        def merge():
            ck = os.path.join(S, "checkpoint-6")
            M = os.path.join(tmp, "merged")
            train("--stage", "convert", "--model", base, "--adapter", ck, "--merge", "--out", M)
            Wb, _ = st_numpy.read(os.path.join(base, "model.safetensors"))
            Wm, _ = st_numpy.read(os.path.join(M, "model.safetensors"))
            A, _ = st_numpy.read(os.path.join(ck, "adapter_model.safetensors"))
            s, worst, same_rest = 8 / 4, 0.0, True
            for k in Wb:
                mod = k.split(".")[-2]
                if mod in MODULES and k.endswith(".weight"):
                    l = int(k.split(".")[2])
                    want = Wb[k].astype(np.float64) + s * (A[peft_name(l, mod, "B")].astype(np.float64) @
                                                          A[peft_name(l, mod, "A")].astype(np.float64))
                    worst = max(worst, np.abs(Wm[k] - want).max() / np.abs(want).max())
                else:
                    same_rest = same_rest and np.array_equal(Wb[k], Wm[k])
            result("convert --merge writes W + s B A (numpy on the files) and the other tensors unchanged",
                   worst < 1e-6 and same_rest and set(Wb) == set(Wm), f"worst relative error {worst:.1e}")
            e1 = train("--stage", "eval", "--model", base, "--adapter", ck, "--data", sft_rows, "--seq-len", "256")
            e2 = train("--stage", "eval", "--model", M, "--data", sft_rows, "--seq-len", "256")
            a = [json.loads(x)["logp"] for x in e1.stdout.splitlines()]
            b = [json.loads(x)["logp"] for x in e2.stdout.splitlines()]
            rel = max(abs(x - y) / max(abs(y), 1e-9) for x, y in zip(a, b))
            e3 = train("--stage", "eval", "--model", base, "--data", sft_rows, "--seq-len", "256")
            moved = a != [json.loads(x)["logp"] for x in e3.stdout.splitlines()]
            result("eval of the merged model equals eval of the base with --adapter (per-row log-probs)",
                   len(a) == len(b) == 40 and rel < 1e-5 and moved, f"worst relative difference {rel:.1e}")
        guard("merge", merge)

        def round_trip():  # PEFT directory -> the program -> PEFT directory, in F32 and in BF16
            ck = os.path.join(S, "checkpoint-6")
            A, _ = st_numpy.read(os.path.join(ck, "adapter_model.safetensors"))
            bad = []
            for dt in ("f32", "bf16"):
                out = os.path.join(tmp, f"rt-{dt}")
                train("--stage", "convert", "--model", base, "--adapter", ck, "--out", out, "--save-dtype", dt)
                B, _ = st_numpy.read(os.path.join(out, "adapter_model.safetensors"))
                want = A if dt == "f32" else {k: st_numpy.bf16_bits_to_f32(st_numpy.f32_to_bf16_bits(v))
                                              for k, v in A.items()}
                if set(A) != set(B) or any(not np.array_equal(np.asarray(B[k], np.float32), want[k]) for k in A):
                    bad.append(f"{dt}: values differ")
                if json.load(open(os.path.join(out, "adapter_config.json"))) != \
                        json.load(open(os.path.join(ck, "adapter_config.json"))):
                    bad.append(f"{dt}: adapter_config.json differs")
            result("an adapter round-trips: convert --adapter --out writes the same config and tensors (F32 "
                   "exactly, BF16 as numpy rounds them)", not bad, "; ".join(bad))
        guard("round trip", round_trip)

        def lora_gguf():
            if shutil.which("node") is None or not os.path.isdir(os.path.join(TESTS, "node_modules", "@huggingface")):
                result("llama.cpp LoRA GGUF", False, "node or tests/node_modules/@huggingface/gguf is missing")
                return
            for fam in ("qwen2", "llama"):
                cl = FAMILIES[fam]
                L = os.path.join(tmp, f"L-{fam}")
                train("--config", cfgs[fam], "--stage", "sft", "--model", bases[fam], "--data", sft_rows, "--lora-r",
                      "8", "--lora-targets", "q,k,v,down", "--use-rslora", "--lr", "1e-2", "--max-steps", "3",
                      "--out", L)
                ck = os.path.join(L, "checkpoint-3")
                out = os.path.join(tmp, f"lora-{fam}.gguf")
                train("--stage", "convert", "--model", bases[fam], "--adapter", ck, "--export-gguf", out)
                p = subprocess.run(["node", os.path.join(TESTS, "gguf_read.mjs"), out], capture_output=True, text=True)
                js = json.loads(p.stdout)
                md = js["metadata"]
                bad = []
                for k, t, v in (("general.architecture", G.STRING, fam), ("general.type", G.STRING, "adapter"),
                                ("adapter.type", G.STRING, "lora")):
                    if md.get(k, {}).get("type") != t or md.get(k, {}).get("value") != v:
                        bad.append(f"{k} = {md.get(k)}")
                alpha = md.get("adapter.lora.alpha", {})
                if alpha.get("type") != G.FLOAT32 or abs(alpha.get("value", 0) - 16 * math.sqrt(8)) > 1e-3:
                    bad.append(f"adapter.lora.alpha = {alpha} (FLOAT32 alpha * sqrt(r) for rsLoRA)")
                dims = module_dims(cl)
                gname = {"q_proj": "attn_q", "k_proj": "attn_k", "v_proj": "attn_v", "down_proj": "ffn_down"}
                want = {}
                for l in range(cl["num_hidden_layers"]):
                    for m, g in gname.items():
                        i, o = dims[m]
                        want[f"blk.{l}.{g}.weight.lora_a"] = [i, 8]
                        want[f"blk.{l}.{g}.weight.lora_b"] = [8, o]
                got = {t["name"]: t["shape"] for t in js["tensors"]}
                if got != want or any(t["dtype"] != G.F32 for t in js["tensors"]):
                    bad.append(f"tensors {sorted(set(got) ^ set(want))[:4]} or shapes differ")
                A, _ = st_numpy.read(os.path.join(ck, "adapter_model.safetensors"))
                f = G.read_gguf(out)
                heads = {"q_proj": cl["num_attention_heads"], "k_proj": cl["num_key_value_heads"]}
                for l in range(cl["num_hidden_layers"]):
                    for m, g in gname.items():
                        a = np.frombuffer(f.raw(f"blk.{l}.{g}.weight.lora_a"), "<f4").reshape(8, -1)
                        b = np.frombuffer(f.raw(f"blk.{l}.{g}.weight.lora_b"), "<f4").reshape(-1, 8)
                        wb = A[peft_name(l, m, "B")]
                        if fam == "llama" and m in heads:
                            wb = G.permute_qk_to_gguf(wb, heads[m])
                        if not (np.array_equal(a, A[peft_name(l, m, "A")]) and np.array_equal(b, wb)):
                            bad.append(f"blk.{l}.{g}: values")
                result(f"{fam}: the adapter as a llama.cpp LoRA GGUF, read by @huggingface/gguf: keys, types, "
                       f"pairs, shapes and values{' (Q/K rows of lora_b permuted)' if fam == 'llama' else ''}",
                       not bad, "; ".join(bad[:4]))
        guard("LoRA GGUF", lora_gguf)

        def random_gguf():  # scripts/make_random_gguf.py: what the 7B/8B measurements run on
            bad = []
            for fam, c in (("qwen2", dict(FAMILIES["qwen2"], hidden_size=256, intermediate_size=512,
                                          num_hidden_layers=8, tie_word_embeddings=False)),
                           ("llama", dict(FAMILIES["llama"], hidden_size=256, intermediate_size=768))):
                cpath = os.path.join(tmp, f"big-{fam}.json")
                json.dump(c, open(cpath, "w"))
                for kind in ("q4_k_m", "q8_0"):
                    out = os.path.join(tmp, f"random-{fam}-{kind}.gguf")
                    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "make_random_gguf.py"), cpath, out,
                                    "--type", kind], check=True, capture_output=True)
                    f = G.read_gguf(out)
                    L = c["num_hidden_layers"]
                    for t in f.tensors:
                        n, name = int(np.prod(t["ne"])), t["name"]
                        if t["n_dims"] == 1:
                            continue
                        l = int(name.split(".")[1]) if name.startswith("blk.") else 0
                        more = l < L // 8 or l >= 7 * L // 8 or (l - L // 8) % 3 == 2
                        want = G.Q8_0 if kind == "q8_0" else G.Q6_K if name == "output.weight" or (
                            more and ("attn_v" in name or "ffn_down" in name)) else G.Q4_K
                        v = G.dequantize(t["type"], f.raw(name), n)
                        if t["type"] != want or not (0.018 < v.std() < 0.022) or abs(v.mean()) > 0.002:
                            bad.append(f"{fam} {kind} {name}: {G.type_name(t['type'])}, mean {v.mean():.4f}, "
                                       f"std {v.std():.4f}")
                    rows = os.path.join(tmp, "ids.jsonl")
                    with open(rows, "w") as g:
                        for i in range(4):
                            g.write(json.dumps({"input_ids": list(range(1 + i, 130 + i))}) + "\n")
                    p = train("--stage", "eval", "--model", out, "--data", rows)
                    nll = float(p.stderr.split("per scored token) ")[1].split(",")[0])
                    if abs(nll - math.log(c["vocab_size"])) > 0.3:
                        bad.append(f"{fam} {kind}: a fresh model scores {nll:.3f}, not about ln(V)")
                    train("--stage", "sft", "--model", out, "--data", rows, "--lora-r", "4", "--max-steps", "1",
                          "--seq-len", "256", "--out", os.path.join(tmp, f"rg-{fam}-{kind}"))
            result("scripts/make_random_gguf.py: Q4_K_M (llama.cpp's types per tensor) and Q8_0 files of both "
                   "families with values of mean 0 and std 0.02; they load, score about ln(V) and train a LoRA step",
                   not bad, "; ".join(bad[:3]))
        guard("random GGUF", random_gguf)


if __name__ == "__main__":
    main()
