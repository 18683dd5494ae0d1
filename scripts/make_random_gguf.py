#!/usr/bin/env python3
"""A random-weight model of any config as a GGUF file, written tensor by tensor (a 7B model in
Q4_K is 4.3 GB; nothing is held whole), so the 7B/8B shapes can be run here without
downloading anything.

usage: make_random_gguf.py CONFIG OUT.gguf [--type q4_k|q4_k_m|q8_0|f16|bf16|f32] [--seed N]

CONFIG is a Hugging Face config.json or a run config with a "model_config" (configs/*.json).
Matrices get random valid blocks scaled so their values spread like the usual initialisation
(std about 0.02, mean 0), norms are 1 and biases 0 (F32), so a forward stays finite and a
fresh model scores about ln(vocab) per token. q4_k_m is llama.cpp's Q4_K_M mix (Q6_K for the
output and, in the first and last eighth of the layers and every third between, attn_v and
ffn_down). The file carries no tokenizer: feed it tokenized rows (input_ids), or copy the
tokenizer.ggml.* keys of a real model's GGUF with --tokenizer-from FILE.gguf."""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import gguf_numpy as G  # noqa: E402

STD = 0.02
TYPES = {"f32": G.F32, "f16": G.F16, "bf16": G.BF16, "q8_0": G.Q8_0, "q4_k": G.Q4_K, "q4_k_m": G.Q4_K,
         "q6_k": G.Q6_K}
FILE_TYPE = {"f32": 0, "f16": 1, "bf16": 32, "q8_0": 7, "q4_k": 14, "q4_k_m": 15, "q6_k": 18}  # llama_ftype


def f16(x):
    return G.f32_to_f16_bits(np.asarray(x, np.float32))


def random_blocks(t, n, rng):
    """n values of type t: random quantized values around 0 with a spread of about STD."""
    if t == G.F32:
        return rng.normal(0, STD, n).astype("<f4").tobytes()
    if t == G.F16:
        return rng.normal(0, STD, n).astype("<f2").tobytes()
    if t == G.BF16:
        return G.f32_to_bf16_bits(rng.normal(0, STD, n).astype(np.float32)).astype("<u2").tobytes()
    nb = n // G.block_size(t)
    if t == G.Q8_0:  # d * q, q uniform in [-127, 127] (std 73.6)
        b = np.empty((nb, 34), np.uint8)
        b[:, 0:2] = np.frombuffer(np.full(nb, f16(STD / 73.6), "<u2").tobytes(), np.uint8).reshape(nb, 2)
        b[:, 2:] = rng.integers(-127, 128, (nb, 32), dtype=np.int8).view(np.uint8)
        return b.tobytes()
    if t == G.Q4_K:  # (d * 32) * q - (dmin * 32), q uniform in [0, 15]: every sub-block scale and min 32
        d = STD / (32 * 4.61)
        b = np.empty((nb, 144), np.uint8)
        b[:, 0:2] = np.frombuffer(np.full(nb, f16(d), "<u2").tobytes(), np.uint8).reshape(nb, 2)
        b[:, 2:4] = np.frombuffer(np.full(nb, f16(d * 7.5), "<u2").tobytes(), np.uint8).reshape(nb, 2)
        b[:, 4:12] = 0xA0  # 6-bit scale and min 32 (low 6 bits) and the high bits of sub-blocks 4..7
        b[:, 12:16] = 0
        b[:, 16:] = rng.integers(0, 256, (nb, 128), dtype=np.uint8)
        return b.tobytes()
    if t == G.Q6_K:  # d * (+-16) * (q - 32), q uniform in [0, 63] (std 18.5); the signs cancel q's mean of -0.5
        b = np.empty((nb, 210), np.uint8)
        b[:, :192] = rng.integers(0, 256, (nb, 192), dtype=np.uint8)
        b[:, 192:208] = np.array([16, 240] * 8, np.uint8)  # int8 16 and -16
        b[:, 208:210] = np.frombuffer(np.full(nb, f16(STD / (16 * 18.5)), "<u2").tobytes(), np.uint8).reshape(nb, 2)
        return b.tobytes()
    raise ValueError(f"no random blocks for type {t}")


def tensor_list(c, kind):
    """(gguf name, HF-order shape, type) of every tensor, as llama.cpp names them."""
    E, L, F, V = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
    H, KV = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    D = c.get("head_dim") or E // H
    bias = c["model_type"] == "qwen2" or c.get("attention_bias", False)
    mat = TYPES[kind]

    def pick(what, l=0):
        if kind != "q4_k_m":
            return mat
        more = l < L // 8 or l >= 7 * L // 8 or (l - L // 8) % 3 == 2
        return G.Q6_K if what == "output" or (what in ("v", "down") and more) else G.Q4_K
    out = [("token_embd.weight", (V, E), pick("embed")), ("output_norm.weight", (E,), G.F32)]
    if not c.get("tie_word_embeddings", False):
        out.append(("output.weight", (V, E), pick("output")))
    for l in range(L):
        p = f"blk.{l}."
        out += [(p + "attn_norm.weight", (E,), G.F32), (p + "attn_q.weight", (H * D, E), pick("q", l)),
                (p + "attn_k.weight", (KV * D, E), pick("k", l)), (p + "attn_v.weight", (KV * D, E), pick("v", l)),
                (p + "attn_output.weight", (E, H * D), pick("o", l)), (p + "ffn_norm.weight", (E,), G.F32),
                (p + "ffn_gate.weight", (F, E), pick("gate", l)), (p + "ffn_up.weight", (F, E), pick("up", l)),
                (p + "ffn_down.weight", (E, F), pick("down", l))]
        if bias:
            out += [(p + "attn_q.bias", (H * D,), G.F32), (p + "attn_k.bias", (KV * D,), G.F32),
                    (p + "attn_v.bias", (KV * D,), G.F32)]
    return out


def metadata(c, kind):
    a = c["model_type"]
    E, H = c["hidden_size"], c["num_attention_heads"]
    D = c.get("head_dim") or E // H
    kv = [("general.architecture", G.STRING, a), ("general.name", G.STRING, f"random {a} ({kind})"),
          ("general.file_type", G.UINT32, FILE_TYPE[kind]), ("general.quantization_version", G.UINT32, 2)]
    u = lambda k, v: kv.append((f"{a}.{k}", G.UINT32, int(v)))  # noqa: E731
    u("context_length", c.get("max_position_embeddings", 4096))
    u("embedding_length", E)
    u("block_count", c["num_hidden_layers"])
    u("feed_forward_length", c["intermediate_size"])
    u("attention.head_count", H)
    u("attention.head_count_kv", c.get("num_key_value_heads", H))
    if D != E // H:
        u("attention.key_length", D)
        u("attention.value_length", D)
    if a == "llama":
        u("rope.dimension_count", D)
        u("vocab_size", c["vocab_size"])
    kv.append((f"{a}.attention.layer_norm_rms_epsilon", G.FLOAT32, float(c.get("rms_norm_eps", 1e-6))))
    kv.append((f"{a}.rope.freq_base", G.FLOAT32, float(c.get("rope_theta", 10000.0))))
    return kv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("out")
    ap.add_argument("--type", default="q4_k", choices=sorted(TYPES))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tokenizer-from", help="a GGUF whose tokenizer.ggml.* keys to copy")
    a = ap.parse_args()
    c = json.load(open(a.config))
    c = c.get("model_config", c)
    if c.get("model_type") not in ("qwen2", "llama"):
        sys.exit(f"error: {a.config}: model_type must be qwen2 or llama")
    tensors = tensor_list(c, a.type)
    for name, shape, t in tensors:
        if shape[-1] % G.block_size(t):
            sys.exit(f"error: {name}: rows of {shape[-1]} values are not whole {G.type_name(t)} blocks")
    kvs = [G.encode_kv(k, t, v) for k, t, v in metadata(c, a.type)]
    if a.tokenizer_from:
        src = G.read_gguf(a.tokenizer_from)
        kvs += [G.encode_kv(k, t, v) for k, (t, v) in src.metadata.items() if k.startswith("tokenizer.")]
    infos, off = [], 0
    for name, shape, t in tensors:
        n = int(np.prod(shape))
        infos.append(G.encode_tensor_info(name, list(reversed(shape)), t, off))
        off = G.align_up(off + G.nbytes(t, n), 32)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(infos)
    rng = np.random.default_rng(a.seed)
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as f:  # written aside and renamed: a killed run leaves no half file under the name
        f.write(head + bytes(G.align_up(len(head), 32) - len(head)))
        for name, shape, t in tensors:
            n = int(np.prod(shape))
            if len(shape) == 1:
                raw = (np.ones(n) if "norm" in name else np.zeros(n)).astype("<f4").tobytes()
            else:
                raw = random_blocks(t, n, rng)
            f.write(raw + bytes(G.align_up(len(raw), 32) - len(raw)))
    os.replace(tmp, a.out)
    print(f"{a.out}: {len(tensors)} tensors, {os.path.getsize(a.out) / 2**30:.2f} GiB ({a.type})")


if __name__ == "__main__":
    main()
