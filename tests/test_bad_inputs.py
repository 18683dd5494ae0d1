"""Bad input gets one clear line, never a crash.

Each case breaks one thing in an otherwise good model directory or data file, runs
`./train --stage eval`, and checks: exit status 1 (not a signal), exactly one line on
stderr, starting with "error:", naming the file, and saying what is wrong. The same cases
run through the AddressSanitizer/UBSan build (build/asan/train), so an out-of-bounds read
that happens not to crash still fails the test. An --out file that existed before a failed
run must be left as it was.
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARIES = [os.path.join(ROOT, "train"), os.path.join(ROOT, "build", "asan", "train")]

CFG = dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=16, num_hidden_layers=2,
           num_attention_heads=2, num_key_value_heads=1, intermediate_size=24, vocab_size=50, rope_theta=10000.0,
           rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu")


def good_tensors():
    rng = np.random.default_rng(0)
    E, F, V, D = 16, 24, 50, 8
    t = {"model.embed_tokens.weight": rng.normal(0, 0.1, (V, E)), "model.norm.weight": np.ones(E)}
    for l in range(2):
        p = f"model.layers.{l}."
        t.update({p + "input_layernorm.weight": np.ones(E), p + "post_attention_layernorm.weight": np.ones(E),
                  p + "self_attn.q_proj.weight": rng.normal(0, 0.1, (2 * D, E)),
                  p + "self_attn.q_proj.bias": np.zeros(2 * D),
                  p + "self_attn.k_proj.weight": rng.normal(0, 0.1, (D, E)), p + "self_attn.k_proj.bias": np.zeros(D),
                  p + "self_attn.v_proj.weight": rng.normal(0, 0.1, (D, E)), p + "self_attn.v_proj.bias": np.zeros(D),
                  p + "self_attn.o_proj.weight": rng.normal(0, 0.1, (E, 2 * D)),
                  p + "mlp.gate_proj.weight": rng.normal(0, 0.1, (F, E)),
                  p + "mlp.up_proj.weight": rng.normal(0, 0.1, (F, E)),
                  p + "mlp.down_proj.weight": rng.normal(0, 0.1, (E, F))})
    return t


def make_model(d, cfg=CFG, tensors=None):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    st_numpy.write(os.path.join(d, "model.safetensors"), tensors if tensors is not None else good_tensors(), "F32",
                   {"format": "pt"})


def rewrite_header(path, edit):
    """Apply edit(header_dict) and write the file back with the same data bytes."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    h = json.loads(data[8:8 + n])
    edit(h)
    hb = json.dumps(h).encode()
    hb += b" " * ((8 - len(hb) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(hb)) + hb + data[8 + n:])


ADAPTER_DIMS = {"q_proj": (16, 16), "k_proj": (16, 8), "v_proj": (16, 8), "o_proj": (16, 16), "gate_proj": (16, 24),
                "up_proj": (16, 24), "down_proj": (24, 16)}  # (in, out) on CFG


def make_adapter(d, r=4, targets=("q_proj", "v_proj"), shape_r=None, extra_tensor=None, drop_tensor=None,
                 dtype="F32", **cfg):
    """A PEFT adapter directory for CFG, broken as asked."""
    os.makedirs(d, exist_ok=True)
    c = dict(peft_type="LORA", r=r, lora_alpha=8, target_modules=list(targets), bias="none")
    c.update(cfg)
    json.dump(c, open(os.path.join(d, "adapter_config.json"), "w"))
    rng = np.random.default_rng(1)
    k = shape_r or r
    t = {}
    for l in range(2):
        for m in targets:
            i, o = ADAPTER_DIMS[m]
            part = "self_attn" if m[0] in "qkvo" else "mlp"
            t[f"base_model.model.model.layers.{l}.{part}.{m}.lora_A.weight"] = rng.normal(0, 0.1, (k, i))
            t[f"base_model.model.model.layers.{l}.{part}.{m}.lora_B.weight"] = rng.normal(0, 0.1, (o, k))
    if extra_tensor:
        t[extra_tensor] = np.zeros((4, 16))
    if drop_tensor:
        del t[drop_tensor]
    if dtype == "I32":
        path = os.path.join(d, "adapter_model.safetensors")
        st_numpy.write(path, t, "F32", {"format": "pt"})
        rewrite_header(path, lambda h: h[next(x for x in h if "lora_A" in x)].update(dtype="I32"))
    else:
        st_numpy.write(os.path.join(d, "adapter_model.safetensors"), t, dtype, {"format": "pt"})
    return d


def adapter_cases(tmp, good_model, good_data):
    """Yield (name, model_dir, data_file, expected substrings, extra arguments) for --adapter and LoRA flags."""
    a = lambda name, **kw: make_adapter(os.path.join(tmp, "ad-" + name), **kw)  # noqa: E731
    yield ("adapter whose tensors have another rank than its config", good_model, good_data,
           ["adapter_model.safetensors", "lora_A.weight", "shape [8, 16]", "rank 4", "[4, 16]"],
           ["--adapter", a("rank", shape_r=8)])
    yield ("adapter with a tensor its target_modules do not name", good_model, good_data,
           ["adapter_model.safetensors", "up_proj.lora_A.weight", "not part of the adapter"],
           ["--adapter", a("extra", extra_tensor="base_model.model.model.layers.0.mlp.up_proj.lora_A.weight")])
    yield ("adapter missing one of its tensors", good_model, good_data,
           ["adapter_model.safetensors", "layers.1.self_attn.v_proj.lora_B.weight", "missing"],
           ["--adapter", a("missing", drop_tensor="base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight")])
    yield ("adapter targeting a module this program does not adapt", good_model, good_data,
           ["adapter_config.json", "lm_head", "not one this program adapts"],
           ["--adapter", a("lmhead", target_modules=["q_proj", "lm_head"])])
    yield ("adapter_config.json that is not LoRA", good_model, good_data,
           ["adapter_config.json", "PREFIX_TUNING", "only LoRA"], ["--adapter", a("prefix", peft_type="PREFIX_TUNING")])
    yield ("adapter of rank 0", good_model, good_data, ["adapter_config.json", "\"r\"", "positive integer"],
           ["--adapter", a("r0", r=0)])
    yield ("adapter of a rank larger than a layer", good_model, good_data,
           ["adapter_config.json", "rank 12", "k_proj", "16 -> 8"], ["--adapter", a("r12", r=12, targets=("k_proj",))])
    yield ("adapter asking for DoRA", good_model, good_data, ["adapter_config.json", "use_dora", "plain LoRA"],
           ["--adapter", a("dora", use_dora=True)])
    yield ("adapter tensors of an integer dtype", good_model, good_data,
           ["adapter_model.safetensors", "dtype I32", "F32, F16 or BF16"], ["--adapter", a("int", dtype="I32")])
    yield ("--adapter given a full model (a full fine-tuning checkpoint)", good_model, good_data,
           ["no adapter_config.json", "pass it as --model"], ["--adapter", good_model])
    yield ("--lora-r larger than a layer (training)", good_model, good_data, ["--lora-r", "rank 9", "k_proj"],
           ["--stage", "sft", "--lora-r", "9"])
    yield ("--lora-r contradicting --adapter's rank", good_model, good_data, ["--lora-r 2", "r 4"],
           ["--adapter", a("flag", r=4), "--lora-r", "2"])
    yield ("--lora-targets naming no known layer", good_model, good_data, ["--lora-targets", "attn"],
           ["--stage", "sft", "--lora-r", "2", "--lora-targets", "q,attn"])
    yield ("--base-dtype q4_k for F32 weights (a type this program cannot quantize to)", good_model, good_data,
           ["--base-dtype q4_k", "cannot quantize F32", "Q4_K"], ["--base-dtype", "q4_k"])
    yield ("--base-dtype q8_0 on rows that are not whole Q8_0 blocks", good_model, good_data,
           ["--base-dtype q8_0", "model.embed_tokens.weight", "rows of 16 values", "Q8_0"], ["--base-dtype", "q8_0"])
    yield ("--merge without --adapter", good_model, good_data, ["--merge needs --adapter"],
           ["--stage", "convert", "--merge"])
    yield ("--base-dtype on a full fine-tuning run", good_model, good_data, ["--base-dtype bf16", "--lora-r"],
           ["--stage", "sft", "--base-dtype", "bf16"])


def cases(tmp):
    """Yield (name, model_dir, data_file, expected substrings of the error line)."""
    good_data = os.path.join(tmp, "good.jsonl")
    with open(good_data, "w") as f:
        f.write(json.dumps({"input_ids": [1, 2, 3, 4], "labels": [-100, 2, 3, 4]}) + "\n")
    n = [0]

    def fresh(cfg=CFG, tensors=None):
        n[0] += 1
        d = os.path.join(tmp, f"m{n[0]}")
        make_model(d, cfg, tensors)
        return d

    def st(d):
        return os.path.join(d, "model.safetensors")

    d = fresh(); os.remove(os.path.join(d, "config.json"))
    yield "missing config.json", d, good_data, ["config.json", "no such file"]
    d = fresh(); open(os.path.join(d, "config.json"), "w").write('{"model_type": "qwen2",\n "hidden_size": 16,,}')
    yield "malformed config.json", d, good_data, ["config.json:2:", "invalid JSON"]
    d = fresh(); open(os.path.join(d, "config.json"), "a").write('\n{"model_type": "llama"}\n')
    yield "config.json with a second value after the first", d, good_data, ["config.json:", "more after the end"]
    d = fresh(dict(CFG, hidden_size=None))
    yield "config.json without hidden_size", d, good_data, ["config.json", "hidden_size"]
    d = fresh(dict(CFG, num_attention_heads="two"))
    yield "config.json field of the wrong type", d, good_data, ["config.json", "num_attention_heads", "integer"]
    d = fresh(dict(CFG, num_key_value_heads=3))
    yield "config.json heads not a multiple of kv heads", d, good_data, ["config.json", "num_key_value_heads"]
    d = fresh(dict(CFG, model_type="gpt2"))
    yield "config.json of another architecture", d, good_data, ["config.json", "gpt2", "not supported"]

    d = fresh(); data = open(st(d), "rb").read()
    open(st(d), "wb").write(struct.pack("<Q", len(data) * 2) + data[8:])
    yield "safetensors header past the end of the file", d, good_data, ["model.safetensors", "header length",
                                                                        "past the end"]
    d = fresh(); data = open(st(d), "rb").read(); open(st(d), "wb").write(data[:len(data) - 100])
    yield "safetensors file truncated", d, good_data, ["model.safetensors", "past the end", "truncated"]
    d = fresh(); open(st(d), "wb").write(b"\x05\x00")
    yield "safetensors file shorter than its length field", d, good_data, ["model.safetensors", "too short"]
    d = fresh(); data = open(st(d), "rb").read()
    open(st(d), "wb").write(struct.pack("<Q", 16) + b"{not json at all" + data[8:])
    yield "safetensors header not JSON", d, good_data, ["model.safetensors", "not a valid JSON"]

    def off_range(h):
        h["model.norm.weight"]["data_offsets"] = [10 ** 9, 10 ** 9 + 64]
    d = fresh(); rewrite_header(st(d), off_range)
    yield "safetensors offsets out of range", d, good_data, ["model.safetensors", "model.norm.weight", "past the end"]

    def overlap(h):
        a = h["model.layers.0.input_layernorm.weight"]["data_offsets"]
        h["model.layers.1.input_layernorm.weight"]["data_offsets"] = [a[0] + 8, a[1] + 8]
    d = fresh(); rewrite_header(st(d), overlap)
    yield "safetensors overlapping tensors", d, good_data, ["model.safetensors", "overlap"]

    def bad_dtype(h):
        h["model.norm.weight"]["dtype"] = "F7"
    d = fresh(); rewrite_header(st(d), bad_dtype)
    yield "safetensors unknown dtype", d, good_data, ["model.safetensors", "model.norm.weight", "unknown dtype \"F7\""]

    def int_dtype(h):
        h["model.norm.weight"]["dtype"] = "I32"
    d = fresh(); rewrite_header(st(d), int_dtype)
    yield "safetensors integer weights", d, good_data, ["model.safetensors", "model.norm.weight", "I32"]

    def size_mismatch(h):
        h["model.norm.weight"]["shape"] = [17]
    d = fresh(); rewrite_header(st(d), size_mismatch)
    yield "safetensors shape disagrees with its byte span", d, good_data, ["model.safetensors", "model.norm.weight",
                                                                           "bytes"]
    def huge(h):
        h["model.norm.weight"]["shape"] = [2 ** 40, 2 ** 40]
    d = fresh(); rewrite_header(st(d), huge)
    yield "safetensors shape whose size overflows 64 bits", d, good_data, ["model.safetensors", "model.norm.weight",
                                                                          "overflows 64 bits"]
    t = good_tensors(); t["model.layers.1.mlp.up_proj.weight"] = np.zeros((20, 16))
    d = fresh(tensors=t)
    yield "shape contradicts config.json", d, good_data, ["model.safetensors", "model.layers.1.mlp.up_proj.weight",
                                                           "[20, 16]", "[24, 16]"]
    d = fresh(dict(CFG, vocab_size=60))
    yield "vocab_size contradicts the embedding", d, good_data, ["model.embed_tokens.weight", "[50, 16]", "[60, 16]"]
    t = good_tensors(); del t["model.layers.1.self_attn.k_proj.bias"]
    d = fresh(tensors=t)
    yield "missing tensor", d, good_data, ["model.layers.1.self_attn.k_proj.bias", "missing"]
    d = fresh(dict(CFG, num_hidden_layers=1))
    yield "config with fewer layers than the weights", d, good_data, ["model.layers.1.", "not part of the model"]

    d = fresh()  # a header whose JSON repeats a key: the tensor appears twice; data = open(st(d), "rb").read()
    (hn,) = struct.unpack("<Q", data[:8])
    head = data[8:8 + hn].rstrip()
    entry = b'"model.norm.weight": ' + json.dumps(json.loads(head)["model.norm.weight"]).encode()
    head2 = head[:-1] + b", " + entry + b"}"
    head2 += b" " * ((8 - len(head2) % 8) % 8)
    open(st(d), "wb").write(struct.pack("<Q", len(head2)) + head2 + data[8 + hn:])
    yield "duplicate tensor name", d, good_data, ["model.safetensors", "model.norm.weight", "twice"]

    d = fresh(); os.rename(st(d), os.path.join(d, "model-00001-of-00002.safetensors"))
    json.dump({"weight_map": {"model.norm.weight": "model-00002-of-00002.safetensors"}},
              open(os.path.join(d, "model.safetensors.index.json"), "w"))
    yield "index names a shard that does not exist", d, good_data, ["model-00002-of-00002.safetensors",
                                                                     "cannot open"]

    d = fresh()
    bad = os.path.join(tmp, "bad_json.jsonl")
    open(bad, "w").write('{"input_ids": [1, 2]}\n{"input_ids": [1, 2\n')
    yield "malformed JSONL line", d, bad, ["bad_json.jsonl:2:", "invalid JSON"]
    bad = os.path.join(tmp, "bad_id.jsonl")
    open(bad, "w").write('{"input_ids": [1, 2]}\n\n{"input_ids": [1, 50]}\n')
    yield "token id outside the vocabulary", d, bad, ["bad_id.jsonl:3:", "input_ids[1] = 50", "outside"]
    bad = os.path.join(tmp, "bad_labels.jsonl")
    open(bad, "w").write('{"input_ids": [1, 2, 3], "labels": [1, 2]}\n')
    yield "labels of the wrong length", d, bad, ["bad_labels.jsonl:1:", "labels"]
    bad = os.path.join(tmp, "bad_key.jsonl")
    open(bad, "w").write('{"prompt_input_ids": [1], "chosen_input_ids": [2]}\n')
    yield "preference row missing a key", d, bad, ["bad_key.jsonl:1:", "rejected_input_ids"]
    bad = os.path.join(tmp, "nul.jsonl")
    open(bad, "wb").write(b'{"input_ids": [1, 2]}\n{"input_ids": [1, 2]}\x00{"x": 1}\n')
    yield "a NUL byte inside a JSONL line", d, bad, ["nul.jsonl:2:22:", "NUL byte"]
    bad = os.path.join(tmp, "bad_type.jsonl")
    open(bad, "w").write('{"input_ids": "1 2 3"}\n')
    yield "input_ids of the wrong type", d, bad, ["bad_type.jsonl:1:", "input_ids", "array"]


def run_case(binary, name, model, data, expect, out_file, extra=()):
    with open(out_file, "w") as f:
        f.write("precious\n")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0", UBSAN_OPTIONS="halt_on_error=1")
    p = subprocess.run([binary, "--stage", "eval", "--model", model, "--data", data, "--out", out_file, *extra],
                       capture_output=True, text=True, env=env, timeout=120)
    lines = p.stderr.strip().splitlines()
    problems = []
    if p.returncode != 1:
        problems.append(f"exit status {p.returncode}")
    if len(lines) != 1 or not lines[0].startswith("error: "):
        problems.append(f"stderr is not one error line: {p.stderr.strip()[:300]!r}")
    else:
        missing = [s for s in expect if s not in lines[0]]
        if missing:
            problems.append(f"error line lacks {missing}: {lines[0]!r}")
    if open(out_file).read() != "precious\n":
        problems.append("the existing --out file was changed")
    leftovers = [f for f in os.listdir(os.path.dirname(out_file)) if ".tmp-" in f]
    if leftovers:
        problems.append(f"temporary files left behind: {leftovers}")
    tag = "asan" if "asan" in binary else "train"
    if problems:
        print(f"FAIL: bad input ({tag}) {name}: {'; '.join(problems)}")
    else:
        print(f"PASS: bad input ({tag}) {name}: {lines[0]}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        outdir = os.path.join(tmp, "out")
        os.makedirs(outdir)
        all_cases = [c + ([],) for c in cases(tmp)]
        # the good model and data must work, or every case above would pass for the wrong reason
        d = os.path.join(tmp, "good_model")
        make_model(d)
        all_cases += list(adapter_cases(tmp, d, os.path.join(tmp, "good.jsonl")))
        for binary in BINARIES:
            if not os.path.exists(binary):
                print(f"FAIL: bad input: {binary} is not built")
                continue
            p = subprocess.run([binary, "--stage", "eval", "--model", d, "--data", os.path.join(tmp, "good.jsonl")],
                               capture_output=True, text=True, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
            ok = p.returncode == 0 and '"row": 0' in p.stdout
            print(f"{'PASS' if ok else 'FAIL'}: bad input control: the unbroken model and data evaluate "
                  f"({os.path.basename(os.path.dirname(binary)) if 'asan' in binary else 'train'})"
                  + ("" if ok else f": {p.stderr.strip()[:300]}"))
            ad = make_adapter(os.path.join(tmp, "good_adapter"))
            p = subprocess.run([binary, "--stage", "eval", "--model", d, "--data", os.path.join(tmp, "good.jsonl"),
                                "--adapter", ad], capture_output=True, text=True,
                               env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
            ok = p.returncode == 0 and '"row": 0' in p.stdout
            print(f"{'PASS' if ok else 'FAIL'}: bad input control: the unbroken adapter applies"
                  + ("" if ok else f": {p.stderr.strip()[:300]}"))
            for name, model, data, expect, extra in all_cases:
                run_case(binary, name, model, data, expect, os.path.join(outdir, "result.jsonl"), extra)


if __name__ == "__main__":
    main()
