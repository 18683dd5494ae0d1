"""Weights written by the project are read by others, and come back unchanged.

`./train --stage convert` loads a Hugging Face directory and writes one. Checked with the
numpy reader in st_numpy.py (which also enforces the reference reader's layout rules):
F32 output equals the input bit for bit; BF16 and F16 outputs equal numpy's own rounding
of the same values (round to nearest even; subnormals, overflow to inf, signed zero);
--max-shard-size splits into model-0000k-of-0000n.safetensors with a consistent index,
and converting the sharded directory back gives the same weights. config.json keeps the
fields it came with.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")
CFG = dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=16, num_hidden_layers=2,
           num_attention_heads=2, num_key_value_heads=1, intermediate_size=24, vocab_size=50, rope_theta=10000.0,
           rms_norm_eps=1e-6, tie_word_embeddings=False, hidden_act="silu", my_custom_field={"kept": [1, 2]})
SPECIAL = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 65519.0, 65520.0, 70000.0, 6e-8, 3e-8, 2.9e-8, 1e-5,
                    1.00048828125, 1.000732421875, 3.4e38, -1e-40, 1 + 2 ** -8, 1 + 3 * 2 ** -8], dtype=np.float32)


def tensors():
    rng = np.random.default_rng(7)
    E, F, V, D = 16, 24, 50, 8
    t = {"model.embed_tokens.weight": rng.normal(0, 1, (V, E)), "lm_head.weight": rng.normal(0, 1, (V, E)),
         "model.norm.weight": rng.normal(1, 0.1, E)}
    for l in range(2):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": rng.normal(1, .1, E), p + "post_attention_layernorm.weight":
                  rng.normal(1, .1, E), p + "self_attn.q_proj.weight": rng.normal(0, 1, (2 * D, E)),
                  p + "self_attn.q_proj.bias": rng.normal(0, 1, 2 * D),
                  p + "self_attn.k_proj.weight": rng.normal(0, 1, (D, E)), p + "self_attn.k_proj.bias":
                  rng.normal(0, 1, D), p + "self_attn.v_proj.weight": rng.normal(0, 1, (D, E)),
                  p + "self_attn.v_proj.bias": rng.normal(0, 1, D),
                  p + "self_attn.o_proj.weight": rng.normal(0, 1, (E, 2 * D)),
                  p + "mlp.gate_proj.weight": rng.normal(0, 1, (F, E)), p + "mlp.up_proj.weight": rng.normal(0, 1, (F, E)),
                  p + "mlp.down_proj.weight": rng.normal(0, 1, (E, F))})
    t = {k: v.astype(np.float32) for k, v in t.items()}
    t["model.embed_tokens.weight"].reshape(-1)[:SPECIAL.size] = SPECIAL  # the edge cases of rounding
    return t


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: weights io {name}" + (f": {detail}" if detail else ""))


def same_bits(a, b):
    """Equal including signed zero and inf; a, b float64 arrays from the reader."""
    a32, b32 = a.astype(np.float32), b.astype(np.float32)
    return a.shape == b.shape and np.array_equal(a32.view(np.uint32), b32.view(np.uint32))


def convert(src, dst, *extra):
    p = subprocess.run([TRAIN, "--stage", "convert", "--model", src, "--out", dst, *extra], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(src)
        json.dump(CFG, open(os.path.join(src, "config.json"), "w"))
        T = tensors()
        st_numpy.write(os.path.join(src, "model.safetensors"), T, "F32", {"format": "pt"})

        out = os.path.join(tmp, "f32")
        convert(src, out, "--save-dtype", "f32")
        R, meta = st_numpy.read(os.path.join(out, "model.safetensors"))
        ok = set(R) == set(T) and all(same_bits(R[k], T[k].astype(np.float64)) for k in T)
        result("F32 written equals the input bit for bit", ok and meta == {"format": "pt"})
        cfg = json.load(open(os.path.join(out, "config.json")))
        ok = cfg.get("my_custom_field") == {"kept": [1, 2]} and cfg["torch_dtype"] == "float32" and \
            all(cfg[k] == v for k, v in CFG.items())
        result("config.json keeps its fields and records torch_dtype", ok, json.dumps(cfg)[:200] if not ok else "")

        out = os.path.join(tmp, "bf16")
        convert(src, out, "--save-dtype", "bf16")
        R, _ = st_numpy.read(os.path.join(out, "model.safetensors"))
        want = {k: st_numpy.bf16_bits_to_f32(st_numpy.f32_to_bf16_bits(v)).astype(np.float64) for k, v in T.items()}
        bad = [k for k in T if not same_bits(R[k], want[k])]
        result("BF16 written equals numpy's round-to-nearest-even", not bad, str(bad[:3]))
        # and the project reads its own BF16 back to the same values
        back = os.path.join(tmp, "bf16_back")
        convert(out, back, "--save-dtype", "f32")
        R2, _ = st_numpy.read(os.path.join(back, "model.safetensors"))
        result("BF16 read back by the project is exact", all(same_bits(R2[k], want[k]) for k in T))

        out = os.path.join(tmp, "f16")
        with np.errstate(over="ignore"):
            want = {k: v.astype(np.float16).astype(np.float64) for k, v in T.items()}
        convert(src, out, "--save-dtype", "f16")
        R, _ = st_numpy.read(os.path.join(out, "model.safetensors"))
        bad = [k for k in T if not same_bits(R[k], want[k])]
        detail = ""
        if bad:
            k = bad[0]
            i = np.nonzero(R[k].astype(np.float32).view(np.uint32) != want[k].astype(np.float32).view(np.uint32))
            detail = f"{k}: got {R[k][i][:4]} want {want[k][i][:4]}"
        result("F16 written equals numpy's float16 rounding (subnormals, overflow, ties)", not bad, detail)

        out = os.path.join(tmp, "sharded")
        convert(src, out, "--save-dtype", "f32", "--max-shard-size", "8KB")
        index = json.load(open(os.path.join(out, "model.safetensors.index.json")))
        files = sorted(set(index["weight_map"].values()))
        n = len(files)
        names_ok = files == [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
        got, sizes_ok = {}, True
        for fname in files:
            part, _ = st_numpy.read(os.path.join(out, fname))
            got.update({k: (v, fname) for k, v in part.items()})
            sizes_ok &= len(part) == 1 or sum(v.size * 4 for v in part.values()) <= 8000
        ok = names_ok and n > 1 and sizes_ok and set(got) == set(T) and \
            all(index["weight_map"][k] == got[k][1] and same_bits(got[k][0], T[k].astype(np.float64)) for k in T) and \
            index["metadata"]["total_size"] == sum(v.size * 4 for v in T.values()) and \
            not os.path.exists(os.path.join(out, "model.safetensors"))
        result(f"sharded output ({n} shards of at most 8 KB, index consistent)", ok)
        back = os.path.join(tmp, "unsharded")
        convert(out, back, "--save-dtype", "f32")
        R, _ = st_numpy.read(os.path.join(back, "model.safetensors"))
        result("round trip through the project (sharded -> one file) keeps every value",
               all(same_bits(R[k], T[k].astype(np.float64)) for k in T))


if __name__ == "__main__":
    main()
