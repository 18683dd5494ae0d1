#!/usr/bin/env python3
"""Check the sample datasets and the default tokenizer in data/.

Usage:  python3 scripts/check_sample_data.py [--no-node]

1. data/sample-ultrachat.jsonl / data/sample-ultrafeedback.jsonl parse as JSONL in the exact
   ultrachat_200k / ultrafeedback_binarized schemas: key sets, types, prompt_id == sha256(prompt),
   roles alternating user/assistant, last message assistant, messages[0] == prompt, chosen[:-1] ==
   rejected[:-1], messages == chosen, score_chosen > score_rejected, unique prompts, no special
   token strings inside contents. Also counts the line-format variants (\\u escapes, \\/, key order).
2. data/tokenizer/: 4096 ids (bytes 0..255 by byte value, merges, 3 special tokens), every merge's
   parts and result in the vocab, config keys.
3. Encodes every message content and every ChatML-rendered row with a small reference encoder
   written here (FORMATS.md 6.2) and, unless --no-node, with the JS port of HF tokenizers
   (@lenml/tokenizers in tests/node_modules): the ids must agree, decoding must round-trip
   (to the NFC form of the text), and the chat template must render like render_chatml().
4. Prints token statistics for the ChatML rendering (what --seq-len has to hold).
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_tokenizer import BYTE2CHR, SPECIALS, pretokenize, render_chatml, split_specials  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SFT = os.path.join(ROOT, "data", "sample-ultrachat.jsonl")
PREF = os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")
TOK = os.path.join(ROOT, "data", "tokenizer")
problems = []


def fail(msg):
    problems.append(msg)
    print("FAIL:", msg)


def check_messages(where, msgs, prompt):
    if not isinstance(msgs, list) or not 2 <= len(msgs) <= 8 or len(msgs) % 2:
        return fail(f"{where}: {len(msgs)} messages")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or set(m) != {"content", "role"}:
            return fail(f"{where}: message {i} keys {sorted(m)}")
        if m["role"] != ("user" if i % 2 == 0 else "assistant"):
            return fail(f"{where}: message {i} role {m['role']}")
        if not isinstance(m["content"], str) or not m["content"].strip():
            return fail(f"{where}: message {i} empty")
        if any(s in m["content"] for s in SPECIALS):
            fail(f"{where}: message {i} contains a special token string")
    if msgs[0]["content"] != prompt:
        fail(f"{where}: messages[0] != prompt")


def read_jsonl(path, keys):
    rows, fmt = [], {"ascii": 0, "slash": 0, "key_order": 0}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            row = json.loads(line)
            if set(row) != set(keys):
                fail(f"{os.path.basename(path)}:{n}: keys {sorted(row)}")
            if line.isascii() and "\\u" in line:
                fmt["ascii"] += 1
            if "\\/" in line:
                fmt["slash"] += 1
            if list(row) != keys:
                fmt["key_order"] += 1
            if row.get("prompt_id") != hashlib.sha256(row["prompt"].encode("utf-8")).hexdigest():
                fail(f"{os.path.basename(path)}:{n}: prompt_id is not sha256(prompt)")
            rows.append(row)
    prompts = [r["prompt"] for r in rows]
    if len(set(prompts)) != len(prompts):
        fail(f"{os.path.basename(path)}: duplicate prompts")
    return rows, fmt


def check_datasets():
    sft, f1 = read_jsonl(SFT, ["prompt", "prompt_id", "messages"])
    for n, r in enumerate(sft, 1):
        check_messages(f"ultrachat:{n}", r["messages"], r["prompt"])
    pref, f2 = read_jsonl(PREF, ["prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen",
                                 "score_rejected"])
    for n, r in enumerate(pref, 1):
        check_messages(f"ultrafeedback:{n} chosen", r["chosen"], r["prompt"])
        check_messages(f"ultrafeedback:{n} rejected", r["rejected"], r["prompt"])
        if r["chosen"][:-1] != r["rejected"][:-1]:
            fail(f"ultrafeedback:{n}: chosen[:-1] != rejected[:-1]")
        if r["chosen"][-1]["content"] == r["rejected"][-1]["content"]:
            fail(f"ultrafeedback:{n}: identical responses")
        if r["messages"] != r["chosen"]:
            fail(f"ultrafeedback:{n}: messages != chosen")
        if not (type(r["score_chosen"]) is float and type(r["score_rejected"]) is float
                and r["score_chosen"] > r["score_rejected"]):
            fail(f"ultrafeedback:{n}: scores {r['score_chosen']!r} {r['score_rejected']!r}")
    for name, rows, fmt, key in (("ultrachat", sft, f1, "messages"), ("ultrafeedback", pref, f2, "chosen")):
        turns = {}
        for r in rows:
            turns[len(r[key])] = turns.get(len(r[key]), 0) + 1
        print(f"{name}: {len(rows)} rows, messages per row {dict(sorted(turns.items()))}, "
              f"ascii-escaped lines {fmt['ascii']}, with \\/ {fmt['slash']}, other key order {fmt['key_order']}")
    return sft, pref


class Encoder:
    """Reference byte-level BPE encoder (FORMATS.md 6.2), for cross-checking."""

    def __init__(self, tok_dir):
        tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
        self.tj = tj
        self.vocab = tj["model"]["vocab"]
        self.rank = {tuple(m if isinstance(m, list) else m.split(" ", 1)): i for i, m in enumerate(tj["model"]["merges"])}
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.inv = {i: t for t, i in self.vocab.items()} | {i: t for t, i in self.added.items()}
        self.byte_of = {c: b for b, c in BYTE2CHR.items()}
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        syms = list(word)
        while len(syms) > 1:
            best = None
            for k in range(len(syms) - 1):
                r = self.rank.get((syms[k], syms[k + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, k)
            if best is None:
                break
            k = best[1]
            a, b = syms[k], syms[k + 1]
            out, i = [], 0
            while i < len(syms):                       # merge every occurrence of the pair, left to right
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for special, piece in split_specials(text):
            if special:
                ids.append(self.added[piece])
                continue
            for w in pretokenize(unicodedata.normalize("NFC", piece)):
                ids += self.bpe("".join(BYTE2CHR[b] for b in w.encode("utf-8")))
        return ids

    def decode(self, ids):
        out, buf = [], bytearray()
        for i in ids:
            t = self.inv[i]
            if t in self.added:
                out.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                out.append(t)
            else:
                buf += bytes(self.byte_of[c] for c in t)
        out.append(buf.decode("utf-8", "replace"))
        return "".join(out)


def check_tokenizer():
    enc = Encoder(TOK)
    tj = enc.tj
    cfg = json.load(open(os.path.join(TOK, "tokenizer_config.json"), encoding="utf-8"))
    v = tj["model"]["vocab"]
    if len(v) != 4093 or sorted(v.values()) != list(range(4093)):
        fail(f"vocab: {len(v)} entries, ids not 0..4092")
    if any(v.get(BYTE2CHR[b]) != b for b in range(256)):
        fail("vocab: ids 0..255 are not the byte symbols in byte order")
    if [(a["id"], a["content"], a["special"], a["normalized"]) for a in tj["added_tokens"]] != \
            [(4093 + i, s, True, False) for i, s in enumerate(SPECIALS)]:
        fail("added tokens")
    bad = [m for m in tj["model"]["merges"] if m[0] not in v or m[1] not in v or m[0] + m[1] not in v]
    if bad:
        fail(f"{len(bad)} merges with parts/results outside the vocab")
    for k, want in (("eos_token", "<|im_end|>"), ("pad_token", "<|endoftext|>"), ("bos_token", None),
                    ("add_bos_token", False), ("tokenizer_class", "Qwen2Tokenizer"), ("model_max_length", 2048)):
        if cfg.get(k) != want:
            fail(f"tokenizer_config {k} = {cfg.get(k)!r}")
    print(f"tokenizer: {len(v)} regular tokens + {len(tj['added_tokens'])} special, "
          f"{len(tj['model']['merges'])} merges")
    return enc


NODE_SCRIPT = r"""
import { readFileSync, writeFileSync } from "node:fs";
import { TokenizerLoader } from "%s";
const [dir, inFile, outFile] = process.argv.slice(2);
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8")),
});
const job = JSON.parse(readFileSync(inFile, "utf8"));
const ids = job.strings.map((s) => tok.encode(s, { add_special_tokens: false }));
const decoded = ids.map((x) => (x.length ? tok.decode(x, { skip_special_tokens: false }) : ""));
const rendered = job.chats.map((m) => tok.apply_chat_template(m, { tokenize: false }));
const genprompt = tok.apply_chat_template(job.chats[0], { tokenize: false, add_generation_prompt: true });
writeFileSync(outFile, JSON.stringify({ ids, decoded, rendered, genprompt }));
"""


def cross_check(enc, sft, pref, use_node):
    chats = [r["messages"] for r in sft] + [r["chosen"] for r in pref] + [r["rejected"] for r in pref]
    contents = sorted({m["content"] for c in chats for m in c})
    rendered = [render_chatml(c) for c in chats]
    extra = ["Hello world", "What is 2+2?", "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\nhere",
             "I'm sure they'll've DONE it, we'D SEE", "Cafe\u0301 vs Café", "emoji 👍🏽 👨‍👩‍👧 🇫🇷", "", " ",
             "\u3000全角スペース", "x\u00a0y", "<|im_start|>user\nhi<|im_end|>\n", "a" * 50, "١٢٣ ٤٥", "Ⅻ ½ ²"]
    strings = extra + contents + rendered
    ours = [enc.encode(s) for s in strings]
    rt_bad = [s for s, ids in zip(strings, ours) if enc.decode(ids) != unicodedata.normalize("NFC", s)]
    if rt_bad:
        fail(f"python decode(encode(s)) != NFC(s) for {len(rt_bad)} strings, e.g. {rt_bad[0][:60]!r}")
    if use_node:
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "check.mjs")
            lib = os.path.join(ROOT, "tests", "node_modules", "@lenml", "tokenizers", "dist", "main.mjs")
            open(script, "w").write(NODE_SCRIPT % lib)
            job = os.path.join(tmp, "job.json")
            json.dump({"strings": strings, "chats": chats}, open(job, "w"))
            out = os.path.join(tmp, "out.json")
            p = subprocess.run(["node", script, TOK, job, out], capture_output=True, text=True)
            if p.returncode != 0:
                fail("node: " + p.stderr.strip()[-500:])
                return ours, strings
            res = json.load(open(out))
        mism = [(s, a, b) for s, a, b in zip(strings, ours, res["ids"]) if a != b]
        if mism:
            s, a, b = mism[0]
            fail(f"{len(mism)}/{len(strings)} strings encode differently in @lenml/tokenizers, e.g. {s[:60]!r}: "
                 f"{a[:20]} vs {b[:20]}")
        dec_bad = [s for s, d in zip(strings, res["decoded"]) if d != unicodedata.normalize("NFC", s)]
        if dec_bad:
            fail(f"@lenml decode(encode(s)) != NFC(s) for {len(dec_bad)} strings, e.g. {dec_bad[0][:60]!r}")
        tmpl_bad = sum(1 for a, b in zip(rendered, res["rendered"]) if a != b)
        if tmpl_bad:
            fail(f"chat template renders {tmpl_bad} conversations differently from render_chatml()")
        if res["genprompt"] != rendered[0] + "<|im_start|>assistant\n":
            fail("add_generation_prompt rendering")
        print(f"@lenml/tokenizers: {len(strings) - len(mism)}/{len(strings)} strings encode identically "
              f"({len(contents)} distinct contents, {len(rendered)} rendered conversations, {len(extra)} extras); "
              f"decode round-trips {len(strings) - len(dec_bad)}/{len(strings)}; chat template matches "
              f"{len(rendered) - tmpl_bad}/{len(rendered)}")
    return ours, strings


def stats(enc, sft, pref):
    def n(msgs):
        return len(enc.encode(render_chatml(msgs)))
    s = sorted(((n(r["messages"]), i) for i, r in enumerate(sft)), reverse=True)
    tot_chars = sum(len(render_chatml(r["messages"]).encode("utf-8")) for r in sft)
    tot = sum(x for x, _ in s)
    print(f"ultrachat ChatML tokens/row: mean {tot / len(s):.1f}, median {sorted(x for x, _ in s)[len(s) // 2]}, "
          f"max {s[0][0]} (row {s[0][1] + 1}: {sft[s[0][1]]['prompt'][:60]!r}), top-5 {[x for x, _ in s[:5]]}; "
          f"{tot_chars / tot:.2f} UTF-8 bytes/token")
    c = [n(r["chosen"]) for r in pref]
    rj = [n(r["rejected"]) for r in pref]
    p = [n(r["chosen"][:-1]) for r in pref]
    i = max(range(len(pref)), key=lambda k: max(c[k], rj[k]))
    print(f"ultrafeedback ChatML tokens/row: prompt mean {sum(p) / len(p):.1f}, prompt+chosen mean "
          f"{sum(c) / len(c):.1f}, prompt+rejected mean {sum(rj) / len(rj):.1f}, max {max(c[i], rj[i])} "
          f"(row {i + 1}: {pref[i]['prompt'][:60]!r}), top-5 {sorted(c + rj, reverse=True)[:5]}")
    for lim in (512, 1024, 2048):
        print(f"  rows longer than {lim} tokens: ultrachat {sum(x > lim for x, _ in s)}, "
              f"ultrafeedback {sum(max(a, b) > lim for a, b in zip(c, rj))}")


def main():
    use_node = "--no-node" not in sys.argv
    sft, pref = check_datasets()
    enc = check_tokenizer()
    cross_check(enc, sft, pref, use_node)
    stats(enc, sft, pref)
    print("OK" if not problems else f"{len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
