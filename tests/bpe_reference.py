"""A small, independent Python model of Hugging Face byte-level BPE (GPT-2 style), written from
/work/shared/FORMATS.md section 6, used by tests/test_tokenizer.py as a second reference beside the
JS port (@lenml/tokenizers): the two must agree, and where the JS port is known to differ from
Hugging Face (its regex `\\s` is JavaScript's, not Unicode White_Space) this one gives the expected ids.

Pipeline: added-token split (leftmost-longest, raw text) -> normalizer (NFC or none) -> pre-tokenizer
(the Llama-3 / Qwen2 regex, matched by hand) -> byte map (6.1) -> BPE (lowest merge rank, leftmost;
Llama-3's ignore_merges) ; decode = inverse byte map, UTF-8 with replacement, then
clean_up_tokenization when tokenizer_config says so.

Only the standard library. Unicode categories come from Python's unicodedata (its own Unicode
version), so callers keep to code points assigned there.
"""
import heapq
import json
import os
import re
import unicodedata

# Unicode White_Space (what \s means in Oniguruma / Rust regex, so in HF tokenizers).
UNICODE_WS = frozenset([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                        0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
# JavaScript's \s (ECMAScript WhiteSpace + LineTerminator): no U+0085, plus U+FEFF.
JS_WS = (UNICODE_WS - {0x85}) | {0xFEFF}


def bytes_to_unicode():
    out, n = {}, 0
    for b in range(256):
        keep = 33 <= b <= 126 or 161 <= b <= 172 or 174 <= b <= 255
        out[b] = chr(b) if keep else chr(256 + n)
        n += 0 if keep else 1
    return out


BYTE2CH = bytes_to_unicode()
CH2BYTE = {c: b for b, c in BYTE2CH.items()}


def _letter(c):
    return unicodedata.category(c)[0] == "L"


def _number(c):
    return unicodedata.category(c)[0] == "N"


class Tokenizer:
    def __init__(self, tok_dir, whitespace="unicode"):
        tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
        tc = json.load(open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8"))
        m = tj["model"]
        assert m["type"] == "BPE"
        self.vocab = m["vocab"]
        self.ranks = {}
        for i, mg in enumerate(m["merges"]):
            a, b = mg if isinstance(mg, list) else mg.split(" ", 1)
            self.ranks.setdefault((a, b), i)
        self.ignore_merges = bool(m.get("ignore_merges"))
        self.added = {a["content"]: a["id"] for a in tj["added_tokens"]}
        self.id2tok = {i: t for t, i in self.vocab.items()}
        self.id2tok.update({i: t for t, i in self.added.items()})
        self.added_re = re.compile("|".join(re.escape(t) for t in sorted(self.added, key=len, reverse=True)))
        norm = tj.get("normalizer")
        self.nfc = bool(norm) and norm.get("type") == "NFC"
        if norm and not self.nfc:
            raise ValueError(f"unsupported normalizer {norm}")
        pats = [p["pattern"]["Regex"] for p in tj["pre_tokenizer"]["pretokenizers"] if p["type"] == "Split"]
        self.digits = 3 if "\\p{N}{1,3}" in pats[0] else 1
        self.ws = UNICODE_WS if whitespace == "unicode" else JS_WS
        self.cleanup = bool(tc.get("clean_up_tokenization_spaces", False))
        self.cache = {}

    # ---- pre-tokenizer: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,K}|
    #      ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
    def pretokenize(self, s):
        ws = self.ws
        n, pos, out = len(s), 0, []
        isws = [ord(c) in ws for c in s]
        isl = [_letter(c) for c in s]
        isn = [_number(c) for c in s]

        def other(i):  # [^\s\p{L}\p{N}]
            return not (isws[i] or isl[i] or isn[i])
        while pos < n:
            c = s[pos]
            end = None
            if c == "'" and pos + 1 < n:  # ASCII case-insensitive, as llama.cpp expands (?i:...)
                c1, c2 = s[pos + 1], s[pos + 2] if pos + 2 < n else ""
                if c1 in "sStTmMdD":
                    end = pos + 2
                elif (c1 in "rRvV" and c2 in ("e", "E")) or (c1 in "lL" and c2 in ("l", "L")):
                    end = pos + 3
            if end is None and (isl[pos] or (c not in "\r\n" and not isn[pos] and pos + 1 < n and isl[pos + 1])):
                end = pos + 1
                while end < n and isl[end]:
                    end += 1
            if end is None and isn[pos]:
                end = pos + 1
                while end < n and end - pos < self.digits and isn[end]:
                    end += 1
            if end is None:
                start = pos + 1 if (c == " " and pos + 1 < n and other(pos + 1)) else pos
                if other(start):
                    end = start
                    while end < n and other(end):
                        end += 1
                    while end < n and s[end] in "\r\n":
                        end += 1
            if end is None:  # whitespace run
                run = pos
                while run < n and isws[run]:
                    run += 1
                last_nl = max((i for i in range(pos, run) if s[i] in "\r\n"), default=-1)
                if last_nl >= 0:
                    end = last_nl + 1
                elif run == n or run - pos == 1:
                    end = run
                else:
                    end = run - 1
            out.append(s[pos:end])
            pos = end
        return out

    def bpe(self, word):
        if self.ignore_merges and word in self.vocab:
            return [word]
        if word in self.cache:
            return self.cache[word]
        sym = list(word)
        nxt = list(range(1, len(sym) + 1))
        prv = list(range(-1, len(sym) - 1))
        alive = [True] * len(sym)
        heap = []
        ranks = self.ranks

        def push(i):
            j = nxt[i]
            if j < len(sym):
                r = ranks.get((sym[i], sym[j]))
                if r is not None:
                    heapq.heappush(heap, (r, i, sym[i], sym[j]))
        for i in range(len(sym) - 1):
            push(i)
        while heap:
            r, i, a, b = heapq.heappop(heap)
            j = nxt[i] if alive[i] else len(sym)
            if not alive[i] or j >= len(sym) or sym[i] != a or sym[j] != b:
                continue  # stale entry
            sym[i] = a + b
            alive[j] = False
            nxt[i] = nxt[j]
            if nxt[i] < len(sym):
                prv[nxt[i]] = i
            if prv[i] >= 0:
                push(prv[i])
            push(i)
        out = [sym[i] for i in range(len(sym)) if alive[i]]
        if len(word) < 256:
            self.cache[word] = out
        return out

    def tokenize(self, text):
        """-> list of token strings (convert_ids_to_tokens of the ids)."""
        pieces, pos = [], 0
        segs = []
        for m in self.added_re.finditer(text):
            segs.append((text[pos:m.start()], False))
            segs.append((m.group(0), True))
            pos = m.end()
        segs.append((text[pos:], False))
        for seg, is_added in segs:
            if is_added:
                pieces.append(seg)
                continue
            if self.nfc:
                seg = unicodedata.normalize("NFC", seg)
            for pt in self.pretokenize(seg):
                mapped = "".join(BYTE2CH[b] for b in pt.encode("utf-8"))
                pieces.extend(self.bpe(mapped))
        return pieces

    def encode(self, text):
        pieces = self.tokenize(text)
        return [self.added[p] if p in self.added else self.vocab[p] for p in pieces], pieces

    def decode(self, ids):
        out, buf = [], bytearray()
        for i in ids:
            t = self.id2tok[i]
            if t in self.added:
                out.append(buf.decode("utf-8", "replace"))
                buf = bytearray()
                out.append(t)
            else:
                buf.extend(CH2BYTE[c] for c in t)
        out.append(buf.decode("utf-8", "replace"))
        text = "".join(out)
        if self.cleanup:
            for a, b in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                         (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
                text = text.replace(a, b)
        return text
