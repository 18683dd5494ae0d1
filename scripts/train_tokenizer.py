#!/usr/bin/env python3
"""Train the default model's tokenizer: a 4096-token byte-level BPE in Hugging Face's
tokenizer.json format, shaped like Qwen2.5's (NFC normalizer, Qwen2 split regex + ByteLevel
pre-tokenizer, ByteLevel post-processor and decoder, ChatML special tokens).

Usage:
    python3 scripts/train_tokenizer.py [--data FILE.jsonl ...] [--out DIR] [--vocab-size N]

Defaults: --data data/sample-ultrachat.jsonl data/sample-ultrafeedback.jsonl,
          --out data/tokenizer, --vocab-size 4096.
Writes OUT/tokenizer.json and OUT/tokenizer_config.json. Needs only the Python standard library
(no `regex`, no `tokenizers`). Deterministic: the same inputs always give byte-identical files.

Vocabulary layout (vocab size V = 4096):
    0..255      the 256 single-byte symbols, id = byte value, written in the GPT-2
                bytes-to-unicode alphabet (FORMATS.md 6.1)
    256..V-4    learned merges, in merge order
    V-3, V-2, V-1   <|endoftext|>, <|im_start|>, <|im_end|>  (added tokens, special)

Training text: every row is rendered with the ChatML template of tokenizer_config.json (default
system prompt "You are a helpful assistant." + each message as <|im_start|>role\\ncontent<|im_end|>\\n);
for preference rows both the chosen and the rejected conversations are rendered (the shared
prompt part once). The rendered text is split at the special tokens, which are never learned as
merges; the rest is NFC-normalized, split with the Qwen2 pre-tokenizer regex (implemented by hand
below, FORMATS.md 6.3), and mapped to the byte alphabet.
BPE: count adjacent symbol pairs over all pre-tokens weighted by frequency, repeatedly merge the
most frequent pair (ties: the lexicographically smallest (left, right) pair of token strings),
merging non-overlapping occurrences left to right, until the vocabulary is full. Pair counts are
updated incrementally (only the words containing the merged pair are touched).
"""
import argparse
import heapq
import json
import os
import sys
import unicodedata
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
DEFAULT_SYSTEM = "You are a helpful assistant."
QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")

# Qwen2.5-style ChatML template (same shape as the base models' template, without the tools part).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}\n"
    "    {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "{%- else %}\n"
    "    {{- '<|im_start|>system\\n" + DEFAULT_SYSTEM + "<|im_end|>\\n' }}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    "    {%- if not (message['role'] == 'system' and loop.first) %}\n"
    "        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)


# ----------------------------------------------------------------------------- byte <-> unicode
def bytes_to_unicode():
    """byte value -> single-character string (GPT-2 / FORMATS.md 6.1)."""
    out, n = {}, 0
    for b in range(256):
        if 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


BYTE2CHR = bytes_to_unicode()


# ----------------------------------------------------------------------------- pre-tokenizer
# Unicode White_Space (what \s matches in Oniguruma, which HF tokenizers uses).
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {chr(c) for c in range(0x2000, 0x200B)}
_L, _N, _W, _O = 0, 1, 2, 3
_cls_cache = {}


def char_class(ch):
    c = _cls_cache.get(ch)
    if c is None:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            c = _L
        elif cat[0] == "N":
            c = _N
        elif ch in WHITE_SPACE:
            c = _W
        else:
            c = _O
        _cls_cache[ch] = c
    return c


def pretokenize(text):
    """Split text exactly like the Qwen2 regex QWEN2_REGEX (leftmost-first alternation):
      1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
      2. [^\\r\\n\\p{L}\\p{N}]?\\p{L}+
      3. \\p{N}
      4.  ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*
      5. \\s*[\\r\\n]+          (ends right after the last CR/LF of the whitespace run)
      6. \\s+(?!\\S)            (a run followed by text gives back its last char)
      7. \\s+
    """
    n = len(text)
    cls = [char_class(ch) for ch in text]
    out = []
    i = 0
    while i < n:
        c = text[i]
        k = cls[i]
        j = -1
        # 1. contractions (ASCII apostrophe, case-insensitive suffix)
        if c == "'" and i + 1 < n:
            if text[i + 1] in "sStTmMdD":
                j = i + 2
            elif i + 2 < n and text[i + 1:i + 3].lower() in ("re", "ve", "ll") and text[i + 1:i + 3].isascii():
                j = i + 3
        # 2. optional non-letter/number/CR/LF, then letters
        if j < 0:
            if k == _L:
                j = i + 1
            elif k != _N and c not in "\r\n" and i + 1 < n and cls[i + 1] == _L:
                j = i + 2
            if j > 0:
                while j < n and cls[j] == _L:
                    j += 1
        # 3. a single number character
        if j < 0 and k == _N:
            j = i + 1
        # 4. optional space, run of "other" characters, trailing CR/LF
        if j < 0:
            s = i + 1 if (c == " " and i + 1 < n and cls[i + 1] == _O) else i
            if cls[s] == _O:
                j = s
                while j < n and cls[j] == _O:
                    j += 1
                while j < n and text[j] in "\r\n":
                    j += 1
        # 5-7. whitespace runs
        if j < 0:
            e = i
            while e < n and cls[e] == _W:
                e += 1
            last_nl = -1
            for q in range(e - 1, i - 1, -1):
                if text[q] in "\r\n":
                    last_nl = q
                    break
            if last_nl >= 0:
                j = last_nl + 1
            elif e == n or e - i == 1:
                j = e
            else:
                j = e - 1
        out.append(text[i:j])
        i = j
    return out


def split_specials(text):
    """Split text at the special-token strings: yields (is_special, piece)."""
    i, n = 0, len(text)
    while i < n:
        best = None
        for s in SPECIALS:
            p = text.find(s, i)
            if p >= 0 and (best is None or p < best[0]):
                best = (p, s)
        if best is None:
            yield False, text[i:]
            return
        if best[0] > i:
            yield False, text[i:best[0]]
        yield True, best[1]
        i = best[0] + len(best[1])


def render_chatml(messages):
    """What CHAT_TEMPLATE renders (add_generation_prompt=False)."""
    out = []
    if messages and messages[0]["role"] == "system":
        out.append(f"<|im_start|>system\n{messages[0]['content']}<|im_end|>\n")
        messages = messages[1:]
    else:
        out.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}<|im_end|>\n")
    for m in messages:
        out.append(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n")
    return "".join(out)


# ----------------------------------------------------------------------------- corpus
def training_texts(paths):
    """Rendered conversations: ultrachat rows -> messages; preference rows -> chosen, plus the
    rejected reply as its own assistant turn (so the shared prompt is counted once)."""
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                row = json.loads(line)
                if "chosen" in row:
                    yield render_chatml(row["chosen"])
                    yield f"<|im_start|>assistant\n{row['rejected'][-1]['content']}<|im_end|>\n"
                else:
                    yield render_chatml(row["messages"])


def count_words(paths):
    counts = Counter()
    for text in training_texts(paths):
        for special, piece in split_specials(text):
            if special:
                continue
            for tok in pretokenize(unicodedata.normalize("NFC", piece)):
                counts[tok] += 1
    return counts


# ----------------------------------------------------------------------------- BPE
def train_bpe(word_counts, n_regular):
    """Returns (tokens, merges): tokens[id] = string for ids 0..n_regular-1, merges = [(l, r), ...]."""
    tokens = [BYTE2CHR[b] for b in range(256)]
    tok_id = {t: i for i, t in enumerate(tokens)}
    words, freqs = [], []
    for w in sorted(word_counts):                     # sorted: independent of hash seeds
        words.append([b for b in w.encode("utf-8")])  # symbol ids; byte id = byte value
        freqs.append(word_counts[w])

    pair_count = Counter()
    where = {}
    for wi, syms in enumerate(words):
        f = freqs[wi]
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += f
            where.setdefault((a, b), set()).add(wi)

    heap = [(-c, tokens[a], tokens[b], a, b) for (a, b), c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    while len(tokens) < n_regular:
        if not heap:
            sys.exit(f"train_tokenizer: ran out of pairs at {len(tokens)} tokens; more training text needed")
        negc, ls, rs, a, b = heapq.heappop(heap)
        if pair_count.get((a, b), 0) != -negc or negc == 0:
            continue                                   # stale heap entry
        new_str = ls + rs
        new_id = tok_id.get(new_str)
        if new_id is None:
            new_id = len(tokens)
            tokens.append(new_str)
            tok_id[new_str] = new_id
        merges.append((ls, rs))
        changed = set()
        for wi in sorted(where.pop((a, b), ())):
            syms, f = words[wi], freqs[wi]
            for x, y in zip(syms, syms[1:]):
                pair_count[(x, y)] -= f
                changed.add((x, y))
            out, k = [], 0
            while k < len(syms):
                if k + 1 < len(syms) and syms[k] == a and syms[k + 1] == b:
                    out.append(new_id)
                    k += 2
                else:
                    out.append(syms[k])
                    k += 1
            words[wi] = out
            for x, y in zip(out, out[1:]):
                pair_count[(x, y)] += f
                where.setdefault((x, y), set()).add(wi)
                changed.add((x, y))
        for p in changed:
            c = pair_count.get(p, 0)
            if c > 0:
                heapq.heappush(heap, (-c, tokens[p[0]], tokens[p[1]], p[0], p[1]))
            else:
                pair_count.pop(p, None)
        pair_count.pop((a, b), None)
    return tokens, merges


# ----------------------------------------------------------------------------- output
def byte_level(**kw):
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False, **kw}


def tokenizer_json(tokens, merges):
    first_special = len(tokens)
    added = [{"id": first_special + i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i, s in enumerate(SPECIALS)]
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False},
            byte_level()]},
        "post_processor": byte_level(),
        "decoder": byte_level(),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {t: i for i, t in enumerate(tokens)}, "merges": [list(m) for m in merges]},
    }


def tokenizer_config(first_special, max_len):
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": {str(first_special + i): {"content": s, "lstrip": False, "normalized": False,
                                                          "rstrip": False, "single_word": False, "special": True}
                                 for i, s in enumerate(SPECIALS)},
        "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": "<|im_end|>",
        "errors": "replace",
        "model_max_length": max_len,
        "pad_token": "<|endoftext|>",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def write_json(path, obj):
    """Pretty JSON like HF's files, but each merge pair on one line."""
    text = json.dumps(obj, ensure_ascii=False, indent=2)
    if "model" in obj:
        merges = obj["model"]["merges"]
        compact = ",\n".join("      " + json.dumps(m, ensure_ascii=False) for m in merges)
        start = text.index('"merges": [') + len('"merges": [')
        end = text.index("\n    ]", start) + len("\n    ]")
        text = text[:start] + ("\n" + compact + "\n    ]" if merges else "]") + text[end:]
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", nargs="+", default=[os.path.join(ROOT, "data", "sample-ultrachat.jsonl"),
                                                  os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")])
    ap.add_argument("--out", default=os.path.join(ROOT, "data", "tokenizer"))
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--model-max-length", type=int, default=2048)
    args = ap.parse_args()
    n_regular = args.vocab_size - len(SPECIALS)
    if n_regular <= 256:
        sys.exit("train_tokenizer: --vocab-size must leave room for merges")

    counts = count_words(args.data)
    tokens, merges = train_bpe(counts, n_regular)
    tj = tokenizer_json(tokens, merges)
    # self-checks: vocab ids dense, every merge part and result in the vocab
    vocab = tj["model"]["vocab"]
    assert sorted(vocab.values()) == list(range(n_regular)) and len(vocab) == n_regular
    assert all(l in vocab and r in vocab and l + r in vocab for l, r in merges)

    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "tokenizer.json"), tj)
    write_json(os.path.join(args.out, "tokenizer_config.json"), tokenizer_config(n_regular, args.model_max_length))
    print(f"train_tokenizer: {sum(counts.values())} pre-tokens ({len(counts)} distinct) -> {len(tokens)} tokens, "
          f"{len(merges)} merges, {len(SPECIALS)} special tokens; wrote {args.out}/tokenizer.json, tokenizer_config.json")


if __name__ == "__main__":
    main()
