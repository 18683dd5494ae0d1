"""GGUF in and out, checked against an independent numpy implementation (tests/gguf_numpy.py).

  0. the numpy oracle itself: hand-computed blocks of every quant type, a second scalar
     dequantizer, the Q/K permutation on small cases, writer/reader round trip of every
     metadata value type (and @huggingface/gguf reads the writer's files the same way).
  a. qwen2 and llama GGUF files with every tensor type (F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0
     Q5_1 Q4_K Q5_K Q6_K) convert to a Hugging Face directory whose F32 tensors equal the
     numpy dequantization bit for bit (llama Q/K rows un-permuted), with a matching config.json.
  b. a qwen2 file without output.weight is a tied model.
  c. Llama-3.1 rope_freqs.weight gives the same log-probs as the HF llama3 rope_scaling.
  d. eval on a GGUF equals eval on the same weights as safetensors (and engine_check logits).
  e. GGUF v2 and general.alignment 64 / 8 load the same.
  f. --export-gguf f32/f16/bf16/q8_0: names, shapes, types, metadata, Q/K permutation,
     values bit-exact against numpy's rounding/quantization, and read back by the project.
  g. broken files: exit status 1, one "error: " line naming the file (also under ASan).
  h. @huggingface/gguf (npm, tests/gguf_read.mjs) reads the project's files like numpy does.
Every check prints one PASS/FAIL line; a missing feature gives FAIL lines, never a crash.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import traceback

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_numpy as G  # noqa: E402
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
TRAIN = os.path.join(ROOT, "train")
ASAN_TRAIN = os.path.join(ROOT, "build", "asan", "train")
ENGINE = os.path.join(ROOT, "build", "engine_check")
ALL_TYPES = [G.F32, G.F16, G.BF16, G.Q8_0, G.Q4_0, G.Q4_1, G.Q5_0, G.Q5_1, G.Q4_K, G.Q5_K, G.Q6_K]
f32 = np.float32


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: gguf {name}" + (f": {detail}" if detail else ""), flush=True)
    return ok


def check(name, fn):
    """fn() -> bool or (bool, detail); an exception is a FAIL with its message."""
    try:
        r = fn()
        ok, detail = r if isinstance(r, tuple) else (r, "")
    except Exception as e:  # noqa: BLE001 -- every failure becomes a FAIL line
        ok, detail = False, f"{type(e).__name__}: {str(e).strip().splitlines()[0][:300] if str(e).strip() else ''}"
        if os.environ.get("GGUF_TEST_TRACE"):
            traceback.print_exc()
    return result(name, bool(ok), detail)


def same_bits(a, b):
    a, b = np.asarray(a, dtype=f32), np.asarray(b, dtype=f32)
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def first_diff(a, b):
    a, b = np.asarray(a, dtype=f32).reshape(-1), np.asarray(b, dtype=f32).reshape(-1)
    if a.shape != b.shape:
        return f"shape {a.shape} vs {b.shape}"
    i = np.nonzero(a.view(np.uint32) != b.view(np.uint32))[0]
    return f"{len(i)} differ, first at {i[0]}: got {a[i[0]]!r} want {b[i[0]]!r}" if len(i) else ""


# ---------------------------------------------------------------------------------------------
# running the program

def run(args, timeout=300, binary=None, env=None):
    return subprocess.run([binary or TRAIN, *args], capture_output=True, text=True, timeout=timeout, env=env)


def ok_run(args, timeout=300):
    if not os.path.exists(TRAIN):
        raise RuntimeError("./train is not built")
    p = run(args, timeout)
    if p.returncode != 0:
        raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[:300]}")
    return p


def convert_to_hf(model, out):
    ok_run(["--stage", "convert", "--model", model, "--out", out, "--save-dtype", "f32"])
    T, _ = st_numpy.read(os.path.join(out, "model.safetensors"))
    cfg = json.load(open(os.path.join(out, "config.json")))
    return {k: v.astype(f32) for k, v in T.items()}, cfg


def export_gguf(model, out, dtype):
    ok_run(["--stage", "convert", "--model", model, "--export-gguf", out, "--save-dtype", dtype])
    return G.read_gguf(out)


def eval_logp(model, rows):
    p = ok_run(["--stage", "eval", "--model", model, "--data", rows])
    out = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    return np.array([r["logp"] for r in out], dtype=np.float64), [r["tokens"] for r in out]


# ---------------------------------------------------------------------------------------------
# tiny models

def spec(arch, E, L, H, KV, F, V, tied=False, theta=10000.0, eps=1e-6, ctx=4096):
    return dict(arch=arch, E=E, L=L, H=H, KV=KV, F=F, V=V, D=E // H, tied=tied, theta=theta, eps=eps, ctx=ctx)


def hf_shapes(s):
    E, H, KV, D, F, V = s["E"], s["H"], s["KV"], s["D"], s["F"], s["V"]
    out = [("model.embed_tokens.weight", (V, E))]
    for l in range(s["L"]):
        p = f"model.layers.{l}."
        out.append((p + "input_layernorm.weight", (E,)))
        for n, rows in (("q", H * D), ("k", KV * D), ("v", KV * D)):
            out.append((p + f"self_attn.{n}_proj.weight", (rows, E)))
            if s["arch"] == "qwen2":
                out.append((p + f"self_attn.{n}_proj.bias", (rows,)))
        out += [(p + "self_attn.o_proj.weight", (E, H * D)), (p + "post_attention_layernorm.weight", (E,)),
                (p + "mlp.gate_proj.weight", (F, E)), (p + "mlp.up_proj.weight", (F, E)),
                (p + "mlp.down_proj.weight", (E, F))]
    out.append(("model.norm.weight", (E,)))
    if not s["tied"]:
        out.append(("lm_head.weight", (V, E)))
    return out


def qk_heads(s, hf_name):
    """Number of heads to permute by, for llama Q/K weights; None otherwise."""
    if s["arch"] != "llama":
        return None
    if hf_name.endswith("q_proj.weight") or hf_name.endswith("q_proj.bias"):
        return s["H"]
    if hf_name.endswith("k_proj.weight") or hf_name.endswith("k_proj.bias"):
        return s["KV"]
    return None


def hf_config(s, **extra):
    c = dict(model_type=s["arch"], architectures=["Qwen2ForCausalLM" if s["arch"] == "qwen2" else "LlamaForCausalLM"],
             hidden_size=s["E"], num_hidden_layers=s["L"], num_attention_heads=s["H"],
             num_key_value_heads=s["KV"], intermediate_size=s["F"], vocab_size=s["V"],
             rope_theta=s["theta"], rms_norm_eps=s["eps"], tie_word_embeddings=s["tied"], hidden_act="silu",
             max_position_embeddings=s["ctx"], bos_token_id=0, eos_token_id=2)
    if s["arch"] == "llama":
        c.update(attention_bias=False, mlp_bias=False)
    c.update(extra)
    return c


def gguf_metadata(s, extra=None):
    a = s["arch"]
    V = s["V"]
    m = {"general.name": (G.STRING, f"tiny {a}"),
         "general.file_type": (G.UINT32, 1),
         "general.quantization_version": (G.UINT32, 2),
         f"{a}.context_length": (G.UINT32, s["ctx"]),
         f"{a}.embedding_length": (G.UINT32, s["E"]),
         f"{a}.block_count": (G.UINT32, s["L"]),
         f"{a}.feed_forward_length": (G.UINT32, s["F"]),
         f"{a}.attention.head_count": (G.UINT32, s["H"]),
         f"{a}.attention.head_count_kv": (G.UINT32, s["KV"]),
         f"{a}.attention.layer_norm_rms_epsilon": (G.FLOAT32, s["eps"]),
         f"{a}.rope.freq_base": (G.FLOAT32, s["theta"])}
    if a == "llama":
        m[f"{a}.rope.dimension_count"] = (G.UINT32, s["D"])
        m[f"{a}.vocab_size"] = (G.UINT32, V)
    special = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tokens = special + ["Ġthe", "ĠÃ©", "Ċ", "a", "b"] + [f"t{i}" for i in range(V - 8)]
    m.update({"tokenizer.ggml.model": (G.STRING, "gpt2"),
              "tokenizer.ggml.pre": (G.STRING, "qwen2" if a == "qwen2" else "llama-bpe"),
              "tokenizer.ggml.tokens": (G.ARRAY, (G.STRING, tokens[:V])),
              "tokenizer.ggml.token_type": (G.ARRAY, (G.INT32, [3 if i < 3 else 1 for i in range(V)])),
              "tokenizer.ggml.merges": (G.ARRAY, (G.STRING, ["Ġ t", "t h", "Ġt he", "a b"])),
              "tokenizer.ggml.bos_token_id": (G.UINT32, 0),
              "tokenizer.ggml.eos_token_id": (G.UINT32, 2),
              "tokenizer.ggml.add_bos_token": (G.BOOL, a == "llama"),
              "tokenizer.chat_template": (G.STRING, "{% for m in messages %}{{ m['content'] }}{% endfor %}")})
    if extra:
        m.update(extra)
    return m


# keys of every value type that a loader must skip over
EXOTIC = {"test.u8": (G.UINT8, 200), "test.i8": (G.INT8, -5), "test.u16": (G.UINT16, 60000),
          "test.i16": (G.INT16, -30000), "test.u32": (G.UINT32, 4000000000), "test.i32": (G.INT32, -2000000000),
          "test.f32": (G.FLOAT32, 0.25), "test.bool": (G.BOOL, True), "test.str": (G.STRING, "ünïcödé ✓"),
          "test.empty_str": (G.STRING, ""), "test.u64": (G.UINT64, 2 ** 63 + 5), "test.i64": (G.INT64, -2 ** 62),
          "test.f64": (G.FLOAT64, 1e300), "test.arr_u8": (G.ARRAY, (G.UINT8, [0, 1, 255])),
          "test.arr_i16": (G.ARRAY, (G.INT16, [-1, 2])), "test.arr_bool": (G.ARRAY, (G.BOOL, [True, False, True])),
          "test.arr_f64": (G.ARRAY, (G.FLOAT64, [0.5, -2.0])), "test.arr_u64": (G.ARRAY, (G.UINT64, [2 ** 40])),
          "test.arr_str": (G.ARRAY, (G.STRING, ["", "x", "ü"])), "test.arr_empty": (G.ARRAY, (G.INT32, []))}


def random_weights(s, rng):
    """Float weights in HF layout, scaled so attention and RoPE matter."""
    out = {}
    for name, shape in hf_shapes(s):
        if len(shape) == 1:
            v = rng.normal(0, 0.1, shape) if name.endswith("bias") else rng.normal(1, 0.1, shape)
        elif "embed" in name:
            v = rng.normal(0, 1.0, shape)
        elif "q_proj" in name or "k_proj" in name:
            v = rng.normal(0, 0.4, shape)
        else:
            v = rng.normal(0, 0.15, shape)
        out[name] = v.astype(f32)
    return out


def gguf_tensors_from_hf(s, W, extra=()):
    """GGUF tensor list (F32) from HF-layout weights; Q/K permuted for llama."""
    out = []
    for name, shape in hf_shapes(s):
        v = W[name]
        h = qk_heads(s, name)
        if h:
            v = G.permute_qk_to_gguf(v, h)
        out.append((G.hf_to_gguf_name(name), G.F32, shape, np.ascontiguousarray(v, dtype="<f4").tobytes()))
    return out + list(extra)


def random_quant_model(s, type_for, rng):
    """GGUF tensors with random valid blocks; returns (tensor list, expected HF f32 dict, type per HF name)."""
    tensors, want, types = [], {}, {}
    for name, shape in hf_shapes(s):
        g = G.hf_to_gguf_name(name)
        n = int(np.prod(shape))
        if len(shape) == 1:
            t = G.F32
            vals = rng.normal(0, 0.1, n) if name.endswith("bias") else rng.normal(1, 0.1, n)
            raw = vals.astype("<f4").tobytes()
        else:
            t = type_for(g, shape)
            raw = G.quantize_random_blocks(t, n, rng)
        v = G.dequantize(t, raw, n).reshape(shape)
        h = qk_heads(s, name)
        if h:
            v = G.permute_qk_to_hf(v, h)
        tensors.append((g, t, shape, raw))
        want[name], types[name] = v, t
    return tensors, want, types


def write_hf(d, s, W, **cfg_extra):
    os.makedirs(d, exist_ok=True)
    json.dump(hf_config(s, **cfg_extra), open(os.path.join(d, "config.json"), "w"))
    st_numpy.write(os.path.join(d, "model.safetensors"), W, "F32", {"format": "pt"})


def write_rows(path, V, rng, n=5, lo=12, hi=40):
    with open(path, "w") as f:
        for _ in range(n):
            f.write(json.dumps({"input_ids": rng.integers(0, V, int(rng.integers(lo, hi + 1))).tolist()}) + "\n")
    return path


def llama3_rope_freqs(D, theta, factor, low, high, orig):
    """rope_freqs.weight divisors (FORMATS 3.3 / 5.4) from HF's fp32 inv_freq."""
    inv = (f32(1) / (f32(theta) ** (np.arange(0, D, 2, dtype=f32) / f32(D)))).astype(f32)
    out = []
    for fr in inv.astype(np.float64):
        wl = 2 * math.pi / fr
        if wl < orig / high:
            out.append(1.0)
        elif wl > orig / low:
            out.append(factor)
        else:
            sm = (orig / wl - low) / (high - low)
            out.append(1.0 / ((1 - sm) / factor + sm))
    return np.array(out, dtype=f32)


def check_config(cfg, s):
    want = dict(hidden_size=s["E"], num_hidden_layers=s["L"], num_attention_heads=s["H"],
                num_key_value_heads=s["KV"], intermediate_size=s["F"], vocab_size=s["V"],
                tie_word_embeddings=s["tied"], model_type=s["arch"], max_position_embeddings=s["ctx"])
    bad = [f"{k}={cfg.get(k)!r} (want {v!r})" for k, v in want.items() if cfg.get(k) != v]
    for k, v in (("rope_theta", s["theta"]), ("rms_norm_eps", s["eps"])):
        if k not in cfg or f32(cfg[k]) != f32(v):
            bad.append(f"{k}={cfg.get(k)!r} (want float32 {f32(v)!r})")
    return not bad, "; ".join(bad)


# ---------------------------------------------------------------------------------------------
# 0. the oracle checks itself

def h16(x):
    return struct.pack("<e", x)


def selfcheck_hand_blocks():
    bad = []

    def expect(name, t, raw, want):
        got = G.dequantize(t, raw, len(want))
        if not same_bits(got, np.array(want, dtype=f32)):
            bad.append(f"{name}: {first_diff(got, np.array(want, dtype=f32))}")

    j = np.arange(16)
    qs = bytes(int(x) for x in (j | ((15 - j) << 4)))  # low nibble j, high nibble 15-j
    # Q8_0: d = 0.125, q = 8k - 128; and an fp16 subnormal d = 2^-24
    q8 = bytes((8 * k - 128) & 0xFF for k in range(32))
    expect("Q8_0", G.Q8_0, h16(0.125) + q8, [0.125 * (8 * k - 128) for k in range(32)])
    expect("Q8_0 subnormal d", G.Q8_0, b"\x01\x00" + q8, [2.0 ** -24 * (8 * k - 128) for k in range(32)])
    # Q4_0: d = -0.5: y[j] = -0.5*(j-8), y[j+16] = -0.5*(15-j-8)
    expect("Q4_0", G.Q4_0, h16(-0.5) + qs, [-0.5 * (k - 8) for k in range(16)] + [-0.5 * (7 - k) for k in range(16)])
    expect("Q4_1", G.Q4_1, h16(0.25) + h16(10.0) + qs,
           [0.25 * k + 10 for k in range(16)] + [0.25 * (15 - k) + 10 for k in range(16)])
    # Q5_0: qh bits 0 and 31 set: element 0 gets +16, element 31 gets +16
    qh = bytes([0x01, 0, 0, 0x80])
    w5 = [k + (16 if k == 0 else 0) for k in range(16)] + [15 - k + (16 if k == 15 else 0) for k in range(16)]
    expect("Q5_0", G.Q5_0, h16(2.0) + qh + qs, [2.0 * (q - 16) for q in w5])
    expect("Q5_1", G.Q5_1, h16(0.5) + h16(-1.0) + qh + qs, [0.5 * q - 1 for q in w5])
    # Q4_K: d = 1, dmin = 0.5; scales give sc = [1,2,3,4,0,37,1,0], mn = [0,0,7,0,0,0,50,0]
    s = bytes([1, 0x82, 3, 4, 0, 0, 0xC7, 0, 0, 0x05, 0x21, 0])
    sc, mn = [1, 2, 3, 4, 0, 37, 1, 0], [0, 0, 7, 0, 0, 0, 50, 0]
    qk = bytes([0x31] * 128)  # sub-block 2c gets q = 1, 2c+1 gets q = 3
    want = []
    for sb in range(8):
        q = 1 if sb % 2 == 0 else 3
        want += [1.0 * sc[sb] * q - 0.5 * mn[sb]] * 32
    expect("Q4_K", G.Q4_K, h16(1.0) + h16(0.5) + s + qk, want)
    # Q5_K: qh[l] = bit 2 for l < 16 (sub-block 2 +16), bit 5 for l >= 16 (sub-block 5 +16)
    qh5 = bytes([0x04] * 16 + [0x20] * 16)
    want = []
    for sb in range(8):
        for l in range(32):
            q = (1 if sb % 2 == 0 else 3) + (16 if (sb == 2 and l < 16) or (sb == 5 and l >= 16) else 0)
            want.append(1.0 * sc[sb] * q - 0.5 * mn[sb])
    expect("Q5_K", G.Q5_K, h16(1.0) + h16(0.5) + s + qh5 + qk, want)
    # Q6_K: d = 0.25, sc[k] = k+1 except sc[3] = -2 and sc[12] = -128; ql = 0x21, qh = 0b11100100:
    # output p of half n has q = [-31, -15, 2, 18][p // 32] and scale sc[8n + p // 16]
    sc6 = [k + 1 for k in range(16)]
    sc6[3], sc6[12] = -2, -128
    raw = bytes([0x21] * 128) + bytes([0xE4] * 64) + struct.pack("<16b", *sc6) + h16(0.25)
    want = [0.25 * sc6[8 * n + p // 16] * [-31, -15, 2, 18][p // 32] for n in range(2) for p in range(128)]
    expect("Q6_K", G.Q6_K, raw, want)
    # scalars
    expect("F16", G.F16, struct.pack("<4e", 1.0, -2.5, 65504.0, 2.0 ** -24), [1.0, -2.5, 65504.0, 2.0 ** -24])
    expect("BF16", G.BF16, struct.pack("<2H", 0x3F80, 0xC0A0), [1.0, -5.0])
    return not bad, "; ".join(bad)


def scalar_dequant(t, blk):
    """Per-element dequantization of ONE block straight from FORMATS 2, with Python ints and
    np.float32 scalars; a second implementation to compare the vectorized one against."""
    def fp16(o):
        return f32(np.frombuffer(blk[o:o + 2], dtype="<f2")[0])
    y = []
    if t == G.Q8_0:
        d = fp16(0)
        y = [d * f32(struct.unpack("<b", blk[2 + k:3 + k])[0]) for k in range(32)]
    elif t in (G.Q4_0, G.Q4_1):
        d = fp16(0)
        m = fp16(2) if t == G.Q4_1 else None
        qs = blk[2:18] if t == G.Q4_0 else blk[4:20]
        for half in range(2):
            for k in range(16):
                q = (qs[k] & 0xF) if half == 0 else (qs[k] >> 4)
                y.append(d * f32(q - 8) if m is None else d * f32(q) + m)
    elif t in (G.Q5_0, G.Q5_1):
        d = fp16(0)
        m = fp16(2) if t == G.Q5_1 else None
        o = 2 if t == G.Q5_0 else 4
        h = struct.unpack("<I", blk[o:o + 4])[0]
        qs = blk[o + 4:o + 20]
        for half in range(2):
            for k in range(16):
                e = k + 16 * half
                q = ((qs[k] & 0xF) if half == 0 else (qs[k] >> 4)) | (((h >> e) & 1) << 4)
                y.append(d * f32(q - 16) if m is None else d * f32(q) + m)
    elif t in (G.Q4_K, G.Q5_K):
        d, dmin, s = fp16(0), fp16(2), blk[4:16]
        sc = [s[j] & 63 for j in range(4)] + [(s[j + 4] & 0xF) + 16 * (s[j - 4] >> 6) for j in range(4, 8)]
        mn = [s[j + 4] & 63 for j in range(4)] + [(s[j + 4] >> 4) + 16 * (s[j] >> 6) for j in range(4, 8)]
        qh = blk[16:48] if t == G.Q5_K else None
        qs = blk[16:144] if t == G.Q4_K else blk[48:176]
        for sb in range(8):
            c = sb // 2
            d1, m1 = d * f32(sc[sb]), dmin * f32(mn[sb])
            for l in range(32):
                byte = qs[32 * c + l]
                q = (byte & 0xF) if sb % 2 == 0 else (byte >> 4)
                if qh is not None:
                    q += 16 * ((qh[l] >> sb) & 1)
                y.append(d1 * f32(q) - m1)
    elif t == G.Q6_K:
        ql, qh, sc, d = blk[0:128], blk[128:192], struct.unpack("<16b", blk[192:208]), fp16(208)
        y = [None] * 256
        for n in range(2):
            for l in range(32):
                i = l // 16
                L, Hh, S = ql[64 * n:], qh[32 * n:], sc[8 * n:]
                for k, (lo, sh, si) in enumerate(((L[l] & 0xF, 0, 0), (L[l + 32] & 0xF, 2, 2), (L[l] >> 4, 4, 4),
                                                  (L[l + 32] >> 4, 6, 6))):
                    q = (lo | (((Hh[l] >> sh) & 3) << 4)) - 32
                    y[128 * n + l + 32 * k] = (d * f32(S[i + si])) * f32(q)
    return np.array(y, dtype=f32)


def selfcheck_scalar_vs_vector():
    rng = np.random.default_rng(11)
    bad = []
    for t in [G.Q8_0, G.Q4_0, G.Q4_1, G.Q5_0, G.Q5_1, G.Q4_K, G.Q5_K, G.Q6_K]:
        bs, ts = G.block_size(t), G.type_size(t)
        raw = G.quantize_random_blocks(t, bs * 6, rng)
        vec = G.dequantize(t, raw, bs * 6)
        sca = np.concatenate([scalar_dequant(t, raw[k * ts:(k + 1) * ts]) for k in range(6)])
        if not same_bits(vec, sca):
            bad.append(f"{G.type_name(t)}: {first_diff(vec, sca)}")
        if not np.all(np.isfinite(vec)) or np.abs(vec).max() > 100:
            bad.append(f"{G.type_name(t)}: random blocks give values up to {np.abs(vec).max()}")
    return not bad, "; ".join(bad)


def selfcheck_permutation():
    ok = G.permute_qk_to_gguf(np.arange(4), 1).tolist() == [0, 2, 1, 3]
    ok &= G.permute_qk_to_gguf(np.arange(6), 1).tolist() == [0, 3, 1, 4, 2, 5]
    ok &= G.permute_qk_to_gguf(np.arange(8), 2).tolist() == [0, 2, 1, 3, 4, 6, 5, 7]
    w = np.random.default_rng(1).normal(size=(24, 5))
    ok &= np.array_equal(G.permute_qk_to_hf(G.permute_qk_to_gguf(w, 3), 3), w)
    D, n_head = 8, 3
    g = G.permute_qk_to_gguf(w, n_head)
    ok &= all(np.array_equal(g[h * D + 2 * i + j], w[h * D + j * (D // 2) + i])
              for h in range(n_head) for i in range(D // 2) for j in range(2))
    return ok


def selfcheck_q8_0():
    x = np.zeros(96, dtype=f32)
    x[:32] = np.linspace(-1, 1, 32)
    x[32] = 127.0                  # d = 1: x*id exact
    x[33:40] = [0.5, -0.5, 1.5, -2.5, 126.5, 3.49999, -0.4999999]
    raw = G.quantize_q8_0(x)       # block 3 all zeros: d = 0
    q = np.frombuffer(raw[34 + 2:34 + 34], dtype=np.int8)
    ok = q[:8].tolist() == [127, 1, -1, 2, -3, 127, 3, 0]        # round half away from zero
    ok &= raw[68:70] == b"\x00\x00" and not any(raw[70:102])
    y = G.dequantize(G.Q8_0, raw, 96)
    ok &= np.max(np.abs(y[:32] - x[:32])) <= (1 / 127) * 0.5 * 1.001 + 1e-3
    return ok, "" if ok else f"q={q[:8].tolist()}"


def selfcheck_writer_reader(tmp):
    rng = np.random.default_rng(3)
    tens = [("a.weight", G.Q4_K, (3, 256), G.quantize_random_blocks(G.Q4_K, 768, rng)),
            ("b", G.F32, (5,), np.arange(5, dtype="<f4").tobytes()),
            ("c.weight", G.Q5_0, (2, 1, 64), G.quantize_random_blocks(G.Q5_0, 128, rng))]
    probs = []
    for version, align in ((3, 32), (2, 64), (3, 8)):
        p = os.path.join(tmp, f"rt_{version}_{align}.gguf")
        G.write_gguf(p, "llama", dict(EXOTIC), tens, version=version, alignment=align)
        f = G.read_gguf(p)
        v, meta, infos = f
        want = {"general.architecture": (G.STRING, "llama"), **EXOTIC}
        if align != 32:
            want["general.alignment"] = (G.UINT32, align)
        if v != version or meta != want:
            probs.append(f"v{version}/{align}: metadata differs")
        for (name, t, shape, raw), info in zip(tens, infos):
            if (info["name"], info["type"], info["shape"], info["n_dims"]) != (name, t, list(shape), len(shape)) \
                    or f.raw(name) != raw or info["offset"] % align:
                probs.append(f"v{version}/{align}: {name} differs")
        if f.data_start % align or f.layout_problems():
            probs.append(f"v{version}/{align}: layout {f.layout_problems()}")
        if os.path.getsize(p) % align:
            probs.append(f"v{version}/{align}: file not padded to the alignment")
    return not probs, "; ".join(probs)


# ---------------------------------------------------------------------------------------------
# h. @huggingface/gguf

def npm_reader_ready():
    if shutil.which("node") is None:
        return False, "node is not on PATH"
    if not os.path.isdir(os.path.join(TESTS, "node_modules", "@huggingface", "gguf")):
        p = subprocess.run(["npm", "install", "--prefix", TESTS, "--no-audit", "--no-fund"], capture_output=True,
                           text=True, timeout=300)
        if p.returncode != 0:
            return False, f"npm install --prefix tests failed: {p.stderr.strip()[-200:]}"
    return True, ""


def npm_read(path):
    p = subprocess.run(["node", os.path.join(TESTS, "gguf_read.mjs"), path], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise RuntimeError(f"@huggingface/gguf: {p.stderr.strip()[:300]}")
    return json.loads(p.stdout)


def compare_with_npm(path):
    f = G.read_gguf(path)
    js = npm_read(path)
    bad = []
    if js["version"] != f.version:
        bad.append(f"version {js['version']}")
    if js["tensorDataOffset"] != f.data_start:
        bad.append(f"data offset {js['tensorDataOffset']} vs {f.data_start}")
    names = [t["name"] for t in js["tensors"]]
    if names != [t["name"] for t in f.tensors]:
        bad.append("tensor names differ")
    for jt, t in zip(js["tensors"], f.tensors):
        if jt["shape"] != t["ne"] or jt["dtype"] != t["type"] or jt["offset"] != t["offset"]:
            bad.append(f"{t['name']}: npm {jt['shape']} {jt['dtype']} @{jt['offset']} vs {t['ne']} {t['type']} "
                       f"@{t['offset']}")
    if set(js["metadata"]) != set(f.metadata):
        bad.append(f"keys differ: {sorted(set(js['metadata']) ^ set(f.metadata))[:5]}")

    def norm(v):
        if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 53:
            return str(v)
        return v
    for k, (t, v) in f.metadata.items():
        e = js["metadata"].get(k)
        if e is None:
            continue
        if e["type"] != t:
            bad.append(f"{k}: type {e['type']} vs {t}")
        elif t == G.ARRAY:
            if e.get("subType") != v[0] or e["value"] != [norm(x) for x in v[1]]:
                bad.append(f"{k}: array differs")
        elif e["value"] != norm(v):
            bad.append(f"{k}: {e['value']!r} vs {v!r}")
    return not bad, "; ".join(bad[:4])


# ---------------------------------------------------------------------------------------------
# a, b, e: GGUF -> Hugging Face directory

def type_rotation(seed, qk_seed=0):
    """type_for(gguf_name, shape): cycles through every type the row length allows; Q/K on their own cycle."""
    state = {"n": seed, "qk": qk_seed}

    def pick(g, shape):
        allowed = [t for t in ALL_TYPES if shape[-1] % G.block_size(t) == 0]
        key = "qk" if (".attn_q." in g or ".attn_k." in g) else "n"
        t = allowed[state[key] % len(allowed)]
        state[key] += 1
        return t
    return pick


def part_a(tmp):
    files = []
    q = spec("qwen2", 64, 2, 4, 2, 256, 300, theta=1000000.0, eps=1e-6, ctx=32768)
    l = spec("llama", 256, 2, 8, 2, 512, 300, theta=500000.0, eps=1e-5, ctx=8192)
    # llama: 2 layers x (Q, K) = 4 Q/K tensors per file; Q/K cycles start at 0, 4, 8 so all 11 types land on Q/K
    plan = [("qwen2 #1", q, 0, 0, EXOTIC), ("qwen2 #2", q, 4, 0, None), ("llama #1", l, 0, 0, None),
            ("llama #2", l, 5, 4, EXOTIC), ("llama #3", l, 9, 8, None)]
    by_type = {t: [] for t in ALL_TYPES}       # type -> list of (file, hf name, ok, detail)
    qk_types = set()
    for i, (label, s, seed, qk_seed, extra) in enumerate(plan):
        rng = np.random.default_rng(100 + i)
        tensors, want, types = random_quant_model(s, type_rotation(seed, qk_seed), rng)
        path = os.path.join(tmp, f"a{i}_{s['arch']}.gguf")
        G.write_gguf(path, s["arch"], gguf_metadata(s, extra), tensors)
        files.append((label, s, path, want, types))
        out = os.path.join(tmp, f"a{i}_hf")

        def conv(path=path, out=out):
            return convert_to_hf(path, out)
        try:
            got, cfg = conv()
            err = None
        except Exception as e:  # noqa: BLE001
            got, cfg, err = None, None, str(e).strip().splitlines()[0][:300] if str(e).strip() else repr(e)
        result(f"convert {label} ({len(tensors)} tensors, {len(set(types.values()))} types) to safetensors",
               err is None, err or "")
        if got is not None:
            def names_shapes(got=got, want=want):
                ok = set(got) == set(want) and all(got[k].shape == want[k].shape for k in want)
                return ok, "" if ok else (
                    f"missing {sorted(set(want) - set(got))[:3]} extra {sorted(set(got) - set(want))[:3]} shapes "
                    f"{[(k, got[k].shape) for k in want if k in got and got[k].shape != want[k].shape][:2]}")
            check(f"convert {label}: HF tensor names and shapes", names_shapes)
            check(f"convert {label}: config.json matches the metadata", lambda cfg=cfg, s=s: check_config(cfg, s))
        for name, t in types.items():
            if qk_heads(s, name) and name.endswith("weight"):
                qk_types.add(t)
            if got is None or name not in got:
                by_type[t].append((label, name, False, "not converted"))
            else:
                ok = same_bits(got[name], want[name])
                by_type[t].append((label, name, ok, "" if ok else first_diff(got[name], want[name])))
    for t in ALL_TYPES:
        rows = by_type[t]
        bad = [f"{lab} {n}: {d}" for lab, n, ok, d in rows if not ok]
        result(f"{G.type_name(t)} tensors dequantize bit-exactly ({len(rows)} tensors over the files)",
               rows and not bad, "; ".join(bad[:2]) if rows else "no tensor of this type (test bug)")
    result("llama Q/K rows un-permuted for every type (each type used on Q or K at least once)",
           qk_types == set(ALL_TYPES) and all(ok for t in ALL_TYPES for _, n, ok, _ in by_type[t] if qk_heads(l, n)),
           f"types on Q/K: {sorted(G.type_name(t) for t in qk_types)}")
    return files


def part_b(tmp):
    s = spec("qwen2", 64, 2, 4, 2, 128, 300, tied=True, theta=1000000.0)
    rng = np.random.default_rng(21)
    tensors, want, _ = random_quant_model(s, type_rotation(2), rng)
    path = os.path.join(tmp, "b_tied.gguf")
    G.write_gguf(path, "qwen2", gguf_metadata(s), tensors)

    def f():
        got, cfg = convert_to_hf(path, os.path.join(tmp, "b_hf"))
        ok = cfg.get("tie_word_embeddings") is True and "lm_head.weight" not in got and \
            set(got) == set(want) and all(same_bits(got[k], want[k]) for k in want)
        return ok, f"tie_word_embeddings={cfg.get('tie_word_embeddings')!r}, lm_head present: {'lm_head.weight' in got}"
    check("qwen2 file without output.weight converts to a tied model (no lm_head.weight)", f)

    # optional keys absent: head_count_kv => head_count, rope.freq_base => 10000 (FORMATS 1.5)
    s2 = spec("qwen2", 64, 1, 4, 4, 128, 300, theta=10000.0)
    t2, want2, _ = random_quant_model(s2, type_rotation(1), rng)
    meta = {k: v for k, v in gguf_metadata(s2).items()
            if k not in ("qwen2.attention.head_count_kv", "qwen2.rope.freq_base")}
    path2 = os.path.join(tmp, "b_defaults.gguf")
    G.write_gguf(path2, "qwen2", meta, t2)

    def g():
        got, cfg = convert_to_hf(path2, os.path.join(tmp, "b_defaults_hf"))
        ok, d = check_config(cfg, s2)
        return ok and all(k in got and same_bits(got[k], v) for k, v in want2.items()), d
    check("absent head_count_kv and rope.freq_base take their defaults (= head_count, 10000)", g)
    return path, s, want


def part_e(tmp, files):
    label, s, path, want, types = files[3]          # a llama file with every kind of type
    src = G.read_gguf(path)
    tensors = [(i["name"], i["type"], i["shape"], src.raw(i["name"])) for i in src.tensors]
    meta = {k: v for k, v in src.metadata.items() if k != "general.architecture"}
    for version, align in ((2, 32), (3, 64), (2, 64), (3, 8)):
        p = os.path.join(tmp, f"e_v{version}_a{align}.gguf")
        G.write_gguf(p, s["arch"], meta, tensors, version=version, alignment=align)

        def f(p=p, version=version, align=align):
            got, _ = convert_to_hf(p, os.path.join(tmp, f"e_v{version}_a{align}_hf"))
            bad = [k for k in want if k not in got or not same_bits(got[k], want[k])]
            return not bad and set(got) == set(want), f"differ: {bad[:3]}" if bad else ""
        check(f"GGUF v{version} with alignment {align} loads the same ({label})", f)


# ---------------------------------------------------------------------------------------------
# c, d: eval on GGUF against safetensors

def compare_logp(a, b, tol_rel):
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False, f"{len(a)} vs {len(b)} rows"
    err = np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))) if a.size else 0.0
    return err <= tol_rel, f"max rel diff {err:.3g} (logp {b[:2].round(4).tolist()}...)"


def part_c(tmp):
    s = spec("llama", 64, 2, 4, 2, 128, 300, theta=500000.0, eps=1e-5, ctx=131072)
    rng = np.random.default_rng(31)
    W = random_weights(s, rng)
    rows = write_rows(os.path.join(tmp, "c_rows.jsonl"), s["V"], rng, n=4, lo=40, hi=64)
    variants = [("Llama-3.1 values (factor 8, low 1, high 4, original 8192)", 8.0, 1.0, 4.0, 8192),
                ("original context 32 (every region of the blend exercised)", 8.0, 1.0, 4.0, 32)]
    for k, (label, factor, low, high, orig) in enumerate(variants):
        ff = llama3_rope_freqs(s["D"], s["theta"], factor, low, high, orig)
        path = os.path.join(tmp, f"c{k}.gguf")
        G.write_gguf(path, "llama", gguf_metadata(s), gguf_tensors_from_hf(
            s, W, [("rope_freqs.weight", G.F32, (s["D"] // 2,), ff.astype("<f4").tobytes())]))
        hf = os.path.join(tmp, f"c{k}_hf")
        write_hf(hf, s, W, rope_scaling={"factor": factor, "low_freq_factor": low, "high_freq_factor": high,
                                         "original_max_position_embeddings": orig, "rope_type": "llama3"})
        plain = os.path.join(tmp, f"c{k}_hf_plain")
        write_hf(plain, s, W)

        def f(path=path, hf=hf):
            a, na = eval_logp(path, rows)
            b, nb = eval_logp(hf, rows)
            ok, d = compare_logp(a, b, 1e-4)
            return ok and na == nb, d
        check(f"rope_freqs.weight evaluates like HF llama3 rope_scaling, {label}", f)
        if k == 1:
            def power(hf=hf, plain=plain):
                a, _ = eval_logp(hf, rows)
                b, _ = eval_logp(plain, rows)
                d = np.max(np.abs(a - b))
                return d > 1e-2, f"scaling changes logp by {d:.3g}"
            check("(test power) the llama3 scaling changes these log-probs by far more than the tolerance", power)
        if k == 0:
            def conv(path=path, hf=hf):
                out = os.path.join(tmp, "c0_converted")
                got, cfg = convert_to_hf(path, out)
                a, _ = eval_logp(out, rows)
                b, _ = eval_logp(hf, rows)
                ok, d = compare_logp(a, b, 1e-4)
                return ok and "rope_freqs.weight" not in got, f"{d}; rope_scaling={cfg.get('rope_scaling')}"
            check("a Llama-3.1 GGUF converts to an HF directory that keeps the scaling (same log-probs)", conv)


def part_d(tmp, quant_files):
    rng = np.random.default_rng(41)
    cases = [("qwen2 (biases, untied)", spec("qwen2", 64, 2, 4, 2, 128, 300, theta=1000000.0)),
             ("qwen2 tied", spec("qwen2", 64, 2, 4, 2, 128, 300, tied=True)),
             ("llama (Q/K permuted in the file)", spec("llama", 64, 2, 4, 2, 128, 300, theta=500000.0, eps=1e-5))]
    for k, (label, s) in enumerate(cases):
        W = random_weights(s, rng)
        rows = write_rows(os.path.join(tmp, f"d{k}_rows.jsonl"), s["V"], rng, n=5, lo=8, hi=40)
        path = os.path.join(tmp, f"d{k}.gguf")
        G.write_gguf(path, s["arch"], gguf_metadata(s), gguf_tensors_from_hf(s, W))
        hf = os.path.join(tmp, f"d{k}_hf")
        write_hf(hf, s, W)

        def f(path=path, hf=hf, rows=rows):
            a, na = eval_logp(path, rows)
            b, nb = eval_logp(hf, rows)
            ok, d = compare_logp(a, b, 1e-5)
            return ok and na == nb, d
        check(f"eval: F32 GGUF and safetensors give the same row log-probs, {label}", f)
        if os.path.exists(ENGINE):
            def g(path=path, hf=hf, rows=rows, k=k):
                outs = []
                for m, tag in ((path, "gguf"), (hf, "st")):
                    o = os.path.join(tmp, f"d{k}_{tag}.safetensors")
                    p = subprocess.run([ENGINE, "--model", m, "--data", rows, "--out", o], capture_output=True,
                                       text=True, timeout=300)
                    if p.returncode:
                        raise RuntimeError(f"engine_check --model {os.path.basename(m)}: {p.stderr.strip()[:200]}")
                    outs.append(st_numpy.read(o)[0]["logits"])
                err = np.max(np.abs(outs[0] - outs[1]))
                return err <= 1e-5, f"max abs logit diff {err:.3g}"
            check(f"engine_check: same logits from GGUF and safetensors, {label}", g)
    # quantized GGUF evaluated directly vs. the numpy-dequantized weights as safetensors
    for label, s, path, want, _ in quant_files[1:3]:
        hf = os.path.join(tmp, f"d_{os.path.basename(path)}_hf")
        write_hf(hf, s, want)
        rows = write_rows(os.path.join(tmp, f"d_{os.path.basename(path)}.jsonl"), s["V"], rng, n=3, lo=8, hi=24)

        def f(path=path, hf=hf, rows=rows):
            a, _ = eval_logp(path, rows)
            b, _ = eval_logp(hf, rows)
            return compare_logp(a, b, 1e-5)
        check(f"eval on the quantized {label} file equals eval on its numpy dequantization", f)


# ---------------------------------------------------------------------------------------------
# f: export

EXPORT_TYPES = {"f32": G.F32, "f16": G.F16, "bf16": G.BF16, "q8_0": G.Q8_0}


def expected_export(dtype, v):
    """What an exported 2-D tensor must hold: raw bytes, from HF f32 values in GGUF row order."""
    v = np.ascontiguousarray(v, dtype=f32)
    if dtype == "f32":
        return v.astype("<f4").tobytes()
    if dtype == "f16":
        return G.f32_to_f16_bits(v).astype("<u2").tobytes()
    if dtype == "bf16":
        return G.f32_to_bf16_bits(v).astype("<u2").tobytes()
    return G.quantize_q8_0(v.reshape(-1))


def check_export_metadata(f, s):
    a = s["arch"]
    want = {"general.architecture": (G.STRING, a), f"{a}.context_length": (G.UINT32, s["ctx"]),
            f"{a}.embedding_length": (G.UINT32, s["E"]), f"{a}.block_count": (G.UINT32, s["L"]),
            f"{a}.feed_forward_length": (G.UINT32, s["F"]), f"{a}.attention.head_count": (G.UINT32, s["H"]),
            f"{a}.attention.head_count_kv": (G.UINT32, s["KV"]),
            f"{a}.attention.layer_norm_rms_epsilon": (G.FLOAT32, float(f32(s["eps"]))),
            f"{a}.rope.freq_base": (G.FLOAT32, float(f32(s["theta"])))}
    optional = {f"{a}.rope.dimension_count": (G.UINT32, s["D"]), f"{a}.vocab_size": (G.UINT32, s["V"]),
                "general.alignment": (G.UINT32, f.alignment)}
    bad = [f"{k}={f.metadata.get(k)!r} want {v!r}" for k, v in want.items() if f.metadata.get(k) != v]
    bad += [f"{k}={f.metadata[k]!r} want {v!r}" for k, v in optional.items() if k in f.metadata and f.metadata[k] != v]
    return not bad, "; ".join(bad[:3])


def part_f(tmp, quant_files):
    rng = np.random.default_rng(51)
    sources = [("llama", spec("llama", 64, 2, 4, 2, 128, 300, theta=500000.0, eps=1e-5, ctx=8192)),
               ("qwen2 tied", spec("qwen2", 64, 2, 4, 2, 128, 300, tied=True, theta=1000000.0, ctx=32768))]
    exported = []
    for k, (label, s) in enumerate(sources):
        W = random_weights(s, rng)
        W["model.embed_tokens.weight"].reshape(-1)[:8] = [0.0, -0.0, 1e-30, 70000.0, 1 + 2 ** -11, 3.0e-8, -1e-5, 2.5]
        src = os.path.join(tmp, f"f{k}_hf")
        write_hf(src, s, W)
        rows = write_rows(os.path.join(tmp, f"f{k}_rows.jsonl"), s["V"], rng, n=3, lo=8, hi=24)
        names = {G.hf_to_gguf_name(n): (n, sh) for n, sh in hf_shapes(s)}
        for dtype, t in EXPORT_TYPES.items():
            out = os.path.join(tmp, f"f{k}_{dtype}.gguf")
            state = {}

            def run_export(src=src, out=out, dtype=dtype):
                state["f"] = export_gguf(src, out, dtype)
                return True, ""
            if not check(f"export {label} --save-dtype {dtype}: readable GGUF v3", run_export):
                continue
            f = state["f"]
            exported.append(out)
            check(f"export {label} {dtype}: layout exactly as gguf.cpp checks it", lambda f=f: (
                not f.layout_problems() and f.version == 3, "; ".join(f.layout_problems()[:2])))
            check(f"export {label} {dtype}: llama.cpp metadata keys and value types",
                  lambda f=f, s=s: check_export_metadata(f, s))

            def names_types(f=f, t=t, names=names):
                bad = []
                if set(f.by_name) != set(names):
                    bad.append(f"names: missing {sorted(set(names) - set(f.by_name))[:3]}, "
                               f"extra {sorted(set(f.by_name) - set(names))[:3]}")
                for g, (hfn, sh) in names.items():
                    i = f.by_name.get(g)
                    if i is None:
                        continue
                    want_t = G.F32 if len(sh) == 1 else t
                    if i["ne"] != list(reversed(sh)) or i["type"] != want_t:
                        bad.append(f"{g}: ne {i['ne']} type {G.type_name(i['type'])}, want "
                                   f"{list(reversed(sh))} {G.type_name(want_t)}")
                return not bad, "; ".join(bad[:3])
            check(f"export {label} {dtype}: tensor names, ne and types (1-D F32)", names_types)

            def values(f=f, dtype=dtype, W=W, s=s, names=names):
                bad = []
                for g, (hfn, sh) in names.items():
                    if g not in f.by_name:
                        continue
                    v = W[hfn]
                    h = qk_heads(s, hfn)
                    if h:
                        v = G.permute_qk_to_gguf(v, h)
                    want = expected_export("f32" if len(sh) == 1 else dtype, v)
                    if f.raw(g) != want:
                        i = f.by_name[g]
                        got_v = G.dequantize(i["type"], f.raw(g), i["n_elements"])
                        want_v = G.dequantize(i["type"], want, i["n_elements"]) if len(want) == len(f.raw(g)) else v
                        bad.append(f"{g}: {first_diff(got_v, want_v)}")
                return not bad, "; ".join(bad[:2])
            check(f"export {label} {dtype}: values (Q/K permuted) equal numpy's {dtype} bit for bit", values)

            def back(f=f, out=out, k=k, dtype=dtype, s=s):
                got, _ = convert_to_hf(out, os.path.join(tmp, f"f{k}_{dtype}_back"))
                bad = []
                for i in f.tensors:
                    hfn = G.gguf_to_hf_name(i["name"])
                    v = f.tensor(i["name"])
                    h = qk_heads(s, hfn)
                    if h:
                        v = G.permute_qk_to_hf(v, h)
                    if hfn not in got or not same_bits(got[hfn], v):
                        bad.append(f"{hfn}: {first_diff(got[hfn], v) if hfn in got else 'missing'}")
                return not bad and len(got) == len(f.tensors), "; ".join(bad[:2])
            check(f"export {label} {dtype}: the project reads its own file back as numpy dequantizes it", back)
            if dtype == "f32":
                def same_eval(out=out, src=src, rows=rows):
                    a, _ = eval_logp(out, rows)
                    b, _ = eval_logp(src, rows)
                    return compare_logp(a, b, 1e-5)
                check(f"export {label} f32: eval of the exported file equals eval of the source", same_eval)

    # Llama-3.1: the scaling goes out as rope_freqs.weight
    s = spec("llama", 64, 1, 4, 2, 128, 300, theta=500000.0, eps=1e-5, ctx=131072)
    W = random_weights(s, rng)
    src = os.path.join(tmp, "f_llama31_hf")
    write_hf(src, s, W, rope_scaling={"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                      "original_max_position_embeddings": 8192, "rope_type": "llama3"})
    rows = write_rows(os.path.join(tmp, "f_llama31_rows.jsonl"), s["V"], rng, n=3, lo=30, hi=60)

    def rope31():
        out = os.path.join(tmp, "f_llama31.gguf")
        f = export_gguf(src, out, "f32")
        i = f.by_name.get("rope_freqs.weight")
        if i is None:
            return False, "no rope_freqs.weight"
        want = llama3_rope_freqs(s["D"], s["theta"], 8.0, 1.0, 4.0, 8192)
        got = f.tensor("rope_freqs.weight")
        err = np.max(np.abs(got - want) / want)
        a, _ = eval_logp(out, rows)
        b, _ = eval_logp(src, rows)
        ok, d = compare_logp(a, b, 1e-4)
        return i["type"] == G.F32 and i["ne"] == [s["D"] // 2] and err <= 1e-6 and ok, \
            f"rope_freqs {got.tolist()} vs {want.tolist()}; eval {d}"
    check("export of a llama3-scaled model writes rope_freqs.weight and evaluates the same", rope31)

    # a quantized GGUF as the source of an export
    label, s, path, want, _ = quant_files[2]

    def from_gguf():
        out = os.path.join(tmp, "f_from_gguf.gguf")
        f = export_gguf(path, out, "f32")
        bad = []
        for hfn, v in want.items():
            g = G.hf_to_gguf_name(hfn)
            h = qk_heads(s, hfn)
            if g not in f.by_name:
                bad.append(f"{g} missing")
                continue
            x = f.tensor(g)
            if h:
                x = G.permute_qk_to_hf(x, h)
            if not same_bits(x, v):
                bad.append(f"{g}: {first_diff(x, v)}")
        return not bad, "; ".join(bad[:2])
    check(f"export of the quantized {label} GGUF to f32 holds its dequantized values", from_gguf)
    return exported


# ---------------------------------------------------------------------------------------------
# g: broken files

def parts(s, tensors, meta):
    kvs = [("general.architecture", G.STRING, s["arch"])] + [(k, t, v) for k, (t, v) in meta.items()]
    infos = [(n, list(reversed(sh)), t, None) for n, t, sh, _ in tensors]
    return kvs, infos, [r for *_, r in tensors]


def raw_kv(key, body):
    """A KV record with hand-made value bytes (type id included in body)."""
    return (key, None, body)


def bad_cases(tmp):
    s = spec("qwen2", 64, 2, 4, 2, 256, 64)
    rng = np.random.default_rng(61)

    def types(g, shape):
        return {"token_embd.weight": G.Q8_0, "blk.0.ffn_down.weight": G.Q4_K}.get(g, G.F16 if "attn" in g else G.Q4_0)
    tensors, _, _ = random_quant_model(s, types, rng)
    meta = gguf_metadata(s)
    kvs, infos, blobs = parts(s, tensors, meta)
    good, lay = G.build_gguf(kvs, infos, blobs)
    names = [i[0] for i in infos]
    yield "good file (control: must load)", good, None

    def patch(data, pos, fmt, value):
        b = bytearray(data)
        b[pos:pos + struct.calcsize(fmt)] = struct.pack(fmt, value)
        return bytes(b)

    last = len(infos) - 1
    yield "empty file", b"", []
    yield "truncated in the header", good[:16], []
    yield "truncated in the metadata", good[:lay["kv_start"] + 300], []
    yield "truncated in the tensor infos", good[:lay["info_starts"][len(infos) // 2] + 7], []
    yield "truncated in the tensor data", good[:lay["data_start"] + lay["offsets"][last] + 10], []
    yield "wrong magic", b"GGUX" + good[4:], []
    yield "version 1", patch(good, 4, "<I", 1), []
    yield "version 99", patch(good, 4, "<I", 99), []
    yield "tensor_count 2^40", patch(good, 8, "<Q", 1 << 40), []
    yield "tensor_count 2^64-1", patch(good, 8, "<Q", 2 ** 64 - 1), []
    yield "metadata_kv_count 2^40", patch(good, 16, "<Q", 1 << 40), []
    yield "key length past the end of the file", patch(good, lay["kv_start"], "<Q", 1 << 40), []
    arch_len = lay["kv_start"] + 8 + len("general.architecture") + 4
    yield "string value length past the end of the file", patch(good, arch_len, "<Q", 2 ** 63 + 7), []
    yield "n_dims = 5", patch(good, lay["info_starts"][0] + 8 + len(names[0]), "<I", 5), []

    # ne[0] = 48 for Q8_0 (the model itself is consistent: E = 48)
    s48 = spec("qwen2", 48, 1, 4, 2, 96, 64)
    t48, _, _ = random_quant_model(s48, lambda g, sh: G.F32, rng)
    t48 = [(n, t, sh, r) for n, t, sh, r in t48]
    t48[0] = ("token_embd.weight", G.Q8_0, (64, 48), bytes(64 * 48 // 32 * 34))
    k48, i48, b48 = parts(s48, t48, gguf_metadata(s48))
    yield "Q8_0 tensor with ne[0] = 48 (not a multiple of 32)", G.build_gguf(k48, i48, b48)[0], ["token_embd.weight"]

    yield "duplicate tensor name", G.build_gguf(kvs, infos + [("output_norm.weight", [64], G.F32, None)],
                                                blobs + [bytes(256)])[0], ["output_norm.weight"]
    yield "duplicate key", G.build_gguf(kvs + [("qwen2.block_count", G.UINT32, 2)], infos, blobs)[0], \
        ["qwen2.block_count"]
    inf = list(infos)
    inf[last] = (inf[last][0], inf[last][1], inf[last][2], 1 << 40)
    yield "tensor offset past the end of the file", G.build_gguf(kvs, inf, blobs)[0], [names[last]]
    inf = list(infos)
    inf[last] = (inf[last][0], inf[last][1], inf[last][2], 2 ** 64 - 32)
    yield "tensor offset + size wraps around 2^64", G.build_gguf(kvs, inf, blobs)[0], [names[last]]
    inf, bl = list(infos), list(blobs)
    j = names.index("blk.0.ffn_down.weight")
    inf[j] = (inf[j][0], inf[j][1], G.IQ2_XXS, None)
    bl[j] = bytes(66 * (256 // 256) * 64)
    yield "unsupported tensor type 16 (IQ2_XXS)", G.build_gguf(kvs, inf, bl)[0], \
        ["blk.0.ffn_down.weight", ("IQ2_XXS", "16")]
    yield "bool value 2", G.build_gguf(kvs + [("test.flag", G.BOOL, 2)], infos, blobs)[0], []
    arr = struct.pack("<IIQ", G.ARRAY, G.INT32, 1 << 40)
    yield "int32 array count past the end of the file", G.build_gguf(kvs + [raw_kv("test.arr", arr)], infos, blobs)[0], []
    arr = struct.pack("<IIQ", G.ARRAY, G.STRING, 1 << 40)
    yield "string array count past the end of the file", G.build_gguf(kvs + [raw_kv("test.arr", arr)], infos, blobs)[0], []
    arr = struct.pack("<IIQ", G.ARRAY, G.ARRAY, 1)
    yield "array of arrays", G.build_gguf(kvs + [raw_kv("test.arr", arr)], infos, blobs)[0], []
    yield "metadata value type 13", G.build_gguf(kvs + [raw_kv("test.x", struct.pack("<IB", 13, 0))], infos, blobs)[0], []
    # beyond the brief: what gguf.cpp also rejects, and overflow traps
    yield "general.alignment 0", G.build_gguf(kvs + [("general.alignment", G.UINT32, 0)], infos, blobs)[0], []
    yield "general.alignment 48 (not a power of two)", \
        G.build_gguf(kvs + [("general.alignment", G.UINT32, 48)], infos, blobs, alignment=48)[0], []
    inf = list(infos)
    inf[last] = (inf[last][0], [64, 2 ** 58], G.F32, None)
    yield "tensor of 64 x 2^58 F32 (byte size overflows 64 bits)", G.build_gguf(kvs, inf, blobs)[0], [names[last]]
    j = names.index("blk.1.ffn_down.weight")
    yield "missing tensor blk.1.ffn_down.weight", G.build_gguf(kvs, infos[:j] + infos[j + 1:],
                                                               blobs[:j] + blobs[j + 1:])[0], ["blk.1.ffn_down.weight"]
    yield "missing key qwen2.embedding_length", G.build_gguf([kv for kv in kvs if kv[0] != "qwen2.embedding_length"],
                                                            infos, blobs)[0], ["qwen2.embedding_length"]
    yield "architecture gpt2", G.build_gguf([("general.architecture", G.STRING, "gpt2")] + kvs[1:], infos,
                                            blobs)[0], ["gpt2"]
    kv2 = [(k, G.STRING, "two") if k == "qwen2.block_count" else (k, t, v) for k, t, v in kvs]
    yield "qwen2.block_count stored as a string", G.build_gguf(kv2, infos, blobs)[0], ["qwen2.block_count"]
    inf, bl = list(infos), list(blobs)
    j = names.index("blk.0.attn_q.weight")
    inf[j] = (inf[j][0], [64, 32], G.F16, None)
    bl[j] = bytes(64 * 32 * 2)
    yield "attn_q shape contradicts head_count", G.build_gguf(kvs, inf, bl)[0], ["blk.0.attn_q.weight"]


def run_bad(binary, path, expect, out_dir):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="halt_on_error=1")
    p = run(["--stage", "convert", "--model", path, "--out", out_dir], timeout=120, binary=binary, env=env)
    lines = p.stderr.strip().splitlines()
    problems = []
    if expect is None:  # the control file must load
        return p.returncode == 0, f"exit {p.returncode}: {p.stderr.strip()[:200]}"
    if p.returncode != 1:
        problems.append(f"exit status {p.returncode}")
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        problems.append("sanitizer report: " + next(l for l in lines if "Sanitizer" in l or "runtime error" in l)[:200])
    elif len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"stderr is not one error line: {p.stderr.strip()[:300]!r}")
    else:
        need = [os.path.basename(path)] + expect
        missing = [n for n in need if not (any(a in lines[0] for a in n) if isinstance(n, tuple) else n in lines[0])]
        if missing:
            problems.append(f"error line lacks {missing}: {lines[0][:300]!r}")
    return not problems, "; ".join(problems) if problems else (lines[0][:160] if lines else "")


def part_g(tmp):
    bins = [("", TRAIN)] + ([("[asan] ", ASAN_TRAIN)] if os.path.exists(ASAN_TRAIN) else [])
    d = os.path.join(tmp, "bad")
    os.makedirs(d)
    for n, (name, data, expect) in enumerate(bad_cases(tmp)):
        path = os.path.join(d, f"bad{n:02d}_" + "".join(c if c.isalnum() else "_" for c in name)[:40] + ".gguf")
        open(path, "wb").write(data)
        for tag, b in bins:
            check(f"{tag}bad file, {name}", lambda b=b, path=path, expect=expect, n=n, tag=tag: run_bad(
                b, path, expect, os.path.join(tmp, f"bad_out{n}_{len(tag)}")))


# ---------------------------------------------------------------------------------------------

def main():
    with tempfile.TemporaryDirectory() as tmp:
        check("oracle: hand-computed blocks of every type dequantize as expected", selfcheck_hand_blocks)
        check("oracle: vectorized dequantization equals a scalar re-reading of FORMATS 2", selfcheck_scalar_vs_vector)
        check("oracle: Q/K permutation on small cases, and its inverse", selfcheck_permutation)
        check("oracle: Q8_0 reference quantizer (round half away, d = 0)", selfcheck_q8_0)
        check("oracle: writer/reader round trip of every metadata type (v2, v3, alignment 8/32/64)",
              lambda: selfcheck_writer_reader(tmp))
        npm_ok, npm_why = npm_reader_ready()
        if npm_ok:
            check("oracle: @huggingface/gguf reads the numpy writer's file like the numpy reader",
                  lambda: compare_with_npm(os.path.join(tmp, "rt_2_64.gguf")))
        else:
            result("@huggingface/gguf available", False, npm_why)
        if not os.path.exists(TRAIN):
            result("./train exists", False, "build it with make")
            return
        files = part_a(tmp)
        part_b(tmp)
        part_e(tmp, files)
        part_d(tmp, files)
        part_c(tmp)
        exported = part_f(tmp, files)
        if npm_ok:
            for p in exported:
                check(f"@huggingface/gguf reads {os.path.basename(p)} as the numpy reader does",
                      lambda p=p: compare_with_npm(p))
        part_g(tmp)


if __name__ == "__main__":
    main()
