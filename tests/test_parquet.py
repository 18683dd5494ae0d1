"""The hub's parquet files to the trainer's JSONL: scripts/parquet/parquet_to_jsonl.mjs.

The parquet files are written here by an independent writer, parquet-wasm (Apache Arrow's Rust
parquet writer, arrow-rs; tests/parquet_write.mjs), in the exact schemas of
HuggingFaceH4/ultrachat_200k and HuggingFaceH4/ultrafeedback_binarized (FORMATS.md 7.1, 7.2):
shards named as the hub names them, multi-turn conversations, CJK, emoji sequences, combining
marks, escapes, empty strings and lists, a megabyte of content, nulls, several row groups per
file, data pages v1 and v2, dictionary and plain encodings, a list's element named "element"
(pyarrow >= 13) and "item" (older pyarrow), and four codecs, each one read back from the file's
footer by the writer's own library. The converter's JSONL must equal the rows the test
generated, field for field and byte for byte (the line json.dumps(row, ensure_ascii=False)
writes), the rows the trainer could not read must be skipped and counted by reason, and ./train
--stage tokenize must read every line. Rows are streamed: a file of small row groups converts
with a JS heap far smaller than the file, which a file of one row group does not. A truncated
file, a file that is not parquet, a parquet file of another schema (and a few other wrong
inputs) each get one error line and leave no output.
"""
import hashlib
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import reporter, train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONVERTER = os.path.join(ROOT, "scripts", "parquet", "parquet_to_jsonl.mjs")
WRITER = os.path.join(ROOT, "tests", "parquet_write.mjs")
TOKENIZER = os.path.join(ROOT, "data", "tokenizer")

result, guard = reporter("parquet")

SFT_COLUMNS = [["prompt", "string"], ["prompt_id", "string"], ["messages", "messages"]]
PREF_COLUMNS = [["prompt", "string"], ["prompt_id", "string"], ["chosen", "messages"], ["rejected", "messages"],
                ["messages", "messages"], ["score_chosen", "double"], ["score_rejected", "double"]]

TEXTS = [
    "Hello! How are you today?",
    "日本語のテキストと中文的句子，还有한국어 문장。",
    "emoji: 👍🏽 🧑‍🚀 👨‍👩‍👧‍👦 🇯🇵 ❤️ 𝕏",
    "combining marks: e\u0301 a\u0308 n\u0303 \u1e9b\u0323 Z\u0351\u0352\u0353",
    "quotes \" and backslashes \\ and a slash / and tabs\tand\r\nnewlines\n",
    "control characters \x01 \x1f \x7f, line separators \u2028 \u2029, a BOM \ufeff, U+FFFD \ufffd",
    "right to left: שלום עולם and مرحبا بالعالم",
    "   leading and trailing spaces   ",
    "Write a haiku about parquet files.",
    "Step 1: read the footer. Step 2: read the row groups. Step 3: write the lines.",
]
LONG = ("A long answer. " + "長い答え。" * 3 + "🙂 ") * 20000  # about 1.1 MB of UTF-8


def text(rnd):
    return rnd.choice(TEXTS) + f" #{rnd.randrange(10**6)}"


def conversation(rnd, turns):
    msgs = []
    if rnd.random() < 0.2:
        msgs.append({"content": "You are a helpful assistant.", "role": "system"})
    for _ in range(turns):
        msgs.append({"content": text(rnd), "role": "user"})
        msgs.append({"content": text(rnd), "role": "assistant"})
    return msgs


def sft_row(msgs, prompt=None):
    prompt = prompt if prompt is not None else next((m["content"] for m in msgs if m["role"] == "user"), "")
    return {"prompt": prompt, "prompt_id": hashlib.sha256(prompt.encode()).hexdigest(), "messages": msgs}


def sft_rows(rnd, n):
    """n good rows plus the special ones; returns (rows in file order, what the converter skips)."""
    rows = [sft_row(conversation(rnd, rnd.randint(1, 4))) for _ in range(n)]
    rows[3]["messages"][1]["content"] = LONG                     # long content
    rows[5]["messages"][0]["content"] = ""                       # empty strings
    rows[5]["prompt"], rows[5]["prompt_id"] = "", ""
    rows[7] = sft_row([], prompt="an empty conversation")        # empty list: written; the trainer skips it
    rows[9]["prompt_id"] = None                                  # a null the trainer does not read: written
    bad = [
        (sft_row(None, prompt="no messages"), 'null "messages"'),
        (sft_row([{"content": "hi", "role": "user"}, None]), 'a null message in "messages"'),
        (sft_row([{"content": None, "role": "user"}, {"content": "x", "role": "assistant"}], prompt="null content"),
         'a null role or content in "messages"'),
        (sft_row([{"content": "hi", "role": None}, {"content": "x", "role": "assistant"}]),
         'a null role or content in "messages"'),
        (sft_row([{"content": "hi", "role": "robot"}, {"content": "x", "role": "assistant"}]),
         'a role other than system, user or assistant in "messages"'),
        (sft_row([{"content": "nul \x00 inside", "role": "user"}, {"content": "x", "role": "assistant"}]),
         "a string holding U+0000 (the trainer refuses it)"),
    ]
    for k, (row, _) in enumerate(bad):
        rows.insert(4 + 6 * k, row)
    return rows, [why for _, why in bad]


SCORES = [8.0, 7.5, 6.25, 1.0, 10.0, 0.1, 1e-05, 0.0001, 1e16, 12345678901234.5, -0.0, 3.141592653589793, 5e-324,
          2.5e-300, 9.999999999999999e+22]


def pref_rows(rnd, n):
    rows = []
    for i in range(n):
        prompt_msgs = conversation(rnd, rnd.randint(0, 2)) + [{"content": text(rnd), "role": "user"}]
        chosen = prompt_msgs + [{"content": text(rnd) + " (chosen)", "role": "assistant"}]
        rejected = [dict(m) for m in prompt_msgs] + [{"content": text(rnd) + " (rejected)", "role": "assistant"}]
        user = next(m["content"] for m in prompt_msgs if m["role"] == "user")
        rows.append({"prompt": user, "prompt_id": hashlib.sha256(user.encode()).hexdigest(), "chosen": chosen,
                     "rejected": rejected, "messages": [dict(m) for m in chosen],
                     "score_chosen": SCORES[i % len(SCORES)], "score_rejected": SCORES[(i * 7 + 3) % len(SCORES)]})
    rows[2]["chosen"][-1]["content"] = LONG[:300000]
    rows[4]["prompt"] = ""
    rows[4]["chosen"][-2]["content"] = rows[4]["rejected"][-2]["content"] = ""
    rows[6]["messages"] = None                                   # not read for preference rows: written
    rows[8]["score_chosen"] = None                               # likewise
    bad = [(dict(rows[0], chosen=None), 'null "chosen"'),
           (dict(rows[1], rejected=[{"content": None, "role": "user"}, {"content": "y", "role": "assistant"}]),
            'a null role or content in "rejected"')]
    for k, (row, _) in enumerate(bad):
        rows.insert(3 + 5 * k, row)
    return rows, [why for _, why in bad]


def write_parquet(spec, tmp):
    path = os.path.join(tmp, "spec.json")
    json.dump(spec, open(path, "w"))
    p = subprocess.run(["node", WRITER, path], capture_output=True, text=True, cwd=os.path.join(ROOT, "tests"))
    if p.returncode != 0:
        raise RuntimeError(f"parquet_write.mjs: {p.stderr.strip()[-600:]}")
    return {r["path"]: r for r in json.loads(p.stdout)}


def convert(*args):
    return subprocess.run(["node", CONVERTER, *args], capture_output=True, text=True)


def shard(d, split, i, n, h):
    return os.path.join(d, f"{split}-{i:05d}-of-{n:05d}-{h}.parquet")


def check_dataset(name, written_rows, reasons, out, p, files, expect_used):
    """The converter's run p wrote out from files; rows were generated, written_rows are those it keeps."""
    result(f"{name}: the converter exits 0 and leaves no {os.path.basename(out)}.tmp",
           p.returncode == 0 and os.path.exists(out) and not os.path.exists(out + ".tmp"), p.stderr.strip()[-300:])
    lines = open(out, encoding="utf-8").read().split("\n")
    ok_end = lines[-1] == ""
    lines = lines[:-1]

    def parse(l):
        try:
            return json.loads(l)
        except ValueError as e:
            return f"invalid JSON: {e}"
    got = [parse(l) for l in lines]
    bad = [i for i in range(max(len(got), len(written_rows)))
           if i >= len(got) or i >= len(written_rows) or got[i] != written_rows[i]
           or not isinstance(got[i], dict) or list(got[i]) != list(written_rows[i])]
    result(f"{name}: {len(written_rows)} JSONL rows equal the generated rows field for field, keys in the "
           f"file's order", ok_end and not bad,
           f"{len(got)} rows; first difference at row {bad[0]}: {lines[bad[0]][:200] if bad[0] < len(lines) else '-'}"
           if bad else "" if ok_end else "the file does not end with a newline")
    exact = [i for i in range(min(len(lines), len(written_rows)))
             if lines[i] != json.dumps(written_rows[i], ensure_ascii=False)]
    result(f"{name}: every line is byte for byte what json.dumps(row, ensure_ascii=False) writes", not exact,
           f"row {exact[0]}: {lines[exact[0]][:160]!r}" if exact else "")
    counts = {}
    for why in reasons:
        counts[why] = counts.get(why, 0) + 1
    want = [f"{out}: {len(written_rows)} rows written, {len(reasons)} skipped, from {len(files)} file(s)"] + \
        [f"skipped {n}: {why}" for why, n in counts.items()]
    ok = all(w in p.stdout for w in want)
    result(f"{name}: rows written and rows skipped are reported, with why", ok, "" if ok else p.stdout.strip()[-500:])
    t = train("--stage", "tokenize", "--model", TOKENIZER, "--data", out, check=False)
    n_out = len(t.stdout.splitlines())
    ok = t.returncode == 0 and f"{expect_used} rows used of {len(written_rows)} lines" in t.stderr and n_out == expect_used
    result(f"{name}: ./train --stage tokenize --data reads all {len(written_rows)} lines ({expect_used} used)", ok,
           "" if ok else t.stderr.strip()[-300:])
    return got


def make_files(tmp):
    """The two datasets' shards, as the hub lays them out; checks what their footers say."""
    rnd = random.Random(17)
    uc = os.path.join(tmp, "uc200k", "data")
    ufb = os.path.join(tmp, "ufb", "data")
    os.makedirs(uc)
    os.makedirs(ufb)
    sft, sft_bad = sft_rows(rnd, 60)
    prefs, pref_bad = pref_rows(rnd, 40)
    sft_files = [shard(uc, "train_sft", i, 3, h) for i, h in enumerate(("a1b2c3", "d4e5f6", "0789ab"))]
    pref_files = [shard(ufb, "train_prefs", i, 2, h) for i, h in enumerate(("1f2e3d", "4c5b6a"))]
    test_sft = os.path.join(uc, "test_sft-00000-of-00001.parquet")
    cut = [0, 25, 46, len(sft)]
    spec = [
        {"path": sft_files[0], "columns": SFT_COLUMNS, "rows": sft[cut[0]:cut[1]], "codec": "SNAPPY",
         "row_group_size": 7},
        {"path": sft_files[1], "columns": SFT_COLUMNS, "rows": sft[cut[1]:cut[2]], "codec": "UNCOMPRESSED",
         "row_group_size": 5, "dictionary": False, "page_size": 1024, "list_element": "item"},
        {"path": sft_files[2], "columns": SFT_COLUMNS, "rows": sft[cut[2]:cut[3]], "codec": "ZSTD",
         "row_group_size": 6, "writer_version": "V2", "page_size": 4096},
        {"path": test_sft, "columns": SFT_COLUMNS, "rows": sft[:8], "codec": "GZIP", "row_group_size": 3},
        {"path": pref_files[0], "columns": PREF_COLUMNS, "rows": prefs[:23], "codec": "GZIP", "row_group_size": 6,
         "page_size": 2048},
        {"path": pref_files[1], "columns": PREF_COLUMNS, "rows": prefs[23:], "codec": "SNAPPY", "row_group_size": 4,
         "list_element": "item", "writer_version": "V2"},
    ]
    meta = write_parquet(spec, tmp)
    problems = []
    for s in spec:
        m = meta[s["path"]]
        if m["codecs"] != [s["codec"]]:
            problems.append(f"{os.path.basename(s['path'])}: codecs {m['codecs']}, asked {s['codec']}")
        if len(m["row_groups"]) < 2 or m["rows"] != len(s["rows"]):
            problems.append(f"{os.path.basename(s['path'])}: row groups {m['row_groups']}")
        el = s.get("list_element", "element")
        if f"messages.list.{el}.content" not in m["column_paths"]:
            problems.append(f"{os.path.basename(s['path'])}: columns {m['column_paths']}")
    codecs = sorted({s["codec"] for s in spec})
    result(f"the test files, as their footers say: codecs {', '.join(codecs)}; "
           f"{sum(len(m['row_groups']) for m in meta.values())} row groups in {len(spec)} files; lists named "
           f"'element' and 'item'; written by {next(iter(meta.values()))['created_by']}", not problems,
           "; ".join(problems))
    return {"uc": uc, "ufb": ufb, "sft_files": sft_files, "pref_files": pref_files, "sft": sft, "prefs": prefs,
            "sft_bad": sft_bad, "pref_bad": pref_bad, "meta": meta}


def check_conversions(tmp, d):
    uc, sft_files, pref_files, meta = d["uc"], d["sft_files"], d["pref_files"], d["meta"]
    sft, prefs, sft_bad, pref_bad = d["sft"], d["prefs"], d["sft_bad"], d["pref_bad"]

    # SFT: a glob, as the README's command gives it (quoted: the converter expands it)
    out = os.path.join(tmp, "ultrachat_train_sft.jsonl")
    p = convert(os.path.join(uc, "train_sft-*.parquet"), out)
    skipped = {id(r) for r in sft if r["messages"] is None or any(
        m is None or not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str)
        or m["role"] not in ("system", "user", "assistant") or "\x00" in m["content"] for m in r["messages"])}
    sft_kept = [r for r in sft if id(r) not in skipped]
    empty = sum(1 for r in sft_kept if not r["messages"])
    check_dataset("ultrachat_200k train_sft (3 shards, a glob)", sft_kept, sft_bad, out, p, sft_files,
                  len(sft_kept) - empty)
    ok = all(f"{f}: {meta[f]['rows']} rows in {len(meta[f]['row_groups'])} row group(s)" in p.stdout for f in sft_files)
    result("ultrachat_200k: each shard's line gives its rows and row groups", ok, "" if ok else p.stdout.strip()[:400])

    # preference: a directory of one split's shards
    out = os.path.join(tmp, "ufb_train_prefs.jsonl")
    p = convert(d["ufb"], out)
    skipped = {id(r) for r in prefs if r["chosen"] is None or any(m["content"] is None for m in r["rejected"])}
    pref_kept = [r for r in prefs if id(r) not in skipped]
    got = check_dataset("ultrafeedback_binarized train_prefs (2 shards, a directory)", pref_kept, pref_bad,
                        out, p, pref_files, len(pref_kept))
    floats = [(g.get(k) if isinstance(g, dict) else g, w[k]) for g, w in zip(got, pref_kept) for k in ("score_chosen", "score_rejected")
              if w[k] is not None]
    ok = floats and all(type(a) is float and a == b and math.copysign(1, a) == math.copysign(1, b) for a, b in floats)
    result(f"ultrafeedback_binarized: {len(floats)} float64 scores come back as the same doubles, written as floats "
           f"(8.0, 1e-05, -0.0, 5e-324, ...)", ok, "" if ok else str(floats[:6]))


def check_memory(tmp):
    """Streaming: with the JS heap capped at 32 MB, a 27 MB file of 400-row groups converts; the
    same rows as one row group do not (so the cap would catch a reader that held a file whole)."""
    small = os.path.join(tmp, "stream-400.parquet")
    whole = os.path.join(tmp, "stream-whole.parquet")
    n = 20000
    meta = write_parquet([{"path": f, "columns": SFT_COLUMNS, "synthetic": {"rows": n, "words": 180}, "codec": "SNAPPY",
                           "row_group_size": g} for f, g in ((small, 400), (whole, n))], tmp)
    mb = os.path.getsize(small) / 2**20
    out = os.path.join(tmp, "stream.jsonl")
    cap = ["node", "--max-old-space-size=32", CONVERTER]
    p = subprocess.run(cap + [small, out], capture_output=True, text=True)
    lines = open(out, encoding="utf-8").read().splitlines() if p.returncode == 0 else []
    ok = p.returncode == 0 and len(lines) == n and json.loads(lines[-1])["prompt_id"] == str(n - 1)
    result(f"a {mb:.0f} MB file in {len(meta[small]['row_groups'])} row groups converts with the JS heap capped at "
           f"32 MB", ok, "" if ok else f"rc {p.returncode}, {len(lines)} lines, {p.stderr.strip()[-300:]}")
    p = subprocess.run(cap + [whole, out + "2"], capture_output=True, text=True)
    result("the same rows as one row group do not fit that heap (so the cap would catch a whole-file read)",
           p.returncode != 0 and not os.path.exists(out + "2"), f"rc {p.returncode}")


def one_error(name, args, out, *needles):
    p = convert(*args, out)
    lines = p.stderr.strip().splitlines()
    left = [f for f in (out, out + ".tmp") if os.path.exists(f)]
    for f in left:  # so that one case's leftovers do not fail the next
        os.remove(f)
    ok = p.returncode == 1 and len(lines) == 1 and all(n in lines[0] for n in needles) and not left
    result(f"{name}: one error line, and neither the output nor its .tmp", ok,
           lines[0] if ok else f"rc {p.returncode}, stderr {p.stderr.strip()[-300:]!r}, left {left}")


def check_errors(tmp, d):
    bad = os.path.join(tmp, "bad")
    os.makedirs(bad)
    out = os.path.join(tmp, "out.jsonl")
    src = open(d["sft_files"][0], "rb").read()
    zstd = open(d["sft_files"][2], "rb").read()

    truncated = os.path.join(bad, "train_sft-truncated.parquet")
    open(truncated, "wb").write(src[:len(src) * 2 // 3])
    one_error("a truncated parquet file", [truncated], out, truncated, "truncated")

    not_parquet = os.path.join(bad, "notes.parquet")
    shutil.copy(os.path.join(ROOT, "README.md"), not_parquet)
    one_error("a file that is not parquet", [not_parquet], out, not_parquet, "not a parquet file")

    other = os.path.join(bad, "other.parquet")
    typed = os.path.join(bad, "typed.parquet")
    write_parquet([
        {"path": other, "columns": [["text", "string"], ["label", "int64"]], "rows": [{"text": "a", "label": 1}] * 5,
         "codec": "SNAPPY", "row_group_size": 2},
        {"path": typed, "columns": [["prompt", "string"], ["prompt_id", "string"], ["messages", "list<string>"]],
         "rows": [{"prompt": "a", "prompt_id": "b", "messages": ["hi", "there"]}] * 3, "codec": "SNAPPY",
         "row_group_size": 2}], tmp)
    one_error("a parquet file of another schema", [other], out, other, "neither the ultrachat_200k schema",
              "text: string, label: int64")
    one_error("a parquet file with the right names but a wrong type", [typed], out, typed,
              '"messages" is list<string>, not list<struct<content: string, role: string>>')

    # the error comes from the second file, after the first was converted: the .tmp goes too
    corrupt = os.path.join(bad, "train_sft-corrupt.parquet")
    mid = len(zstd) // 2
    open(corrupt, "wb").write(zstd[:mid] + b"\xff" * 64 + zstd[mid + 64:])
    one_error("a file with a corrupt row group, read after a good file", [d["sft_files"][1], corrupt], out,
              corrupt, "row group")

    before = "an older conversion\n"
    open(out, "w").write(before)
    p = convert(d["sft_files"][0], d["pref_files"][0], out)
    one = p.stderr.strip().splitlines()
    result("files of the two schemas in one output: one error line, the old output left as it was",
           p.returncode == 1 and len(one) == 1 and "one output is one dataset" in one[0]
           and open(out).read() == before and not os.path.exists(out + ".tmp"), p.stderr.strip()[-300:])
    os.remove(out)

    one_error("a directory holding several splits", [d["uc"]], out, d["uc"], "2 splits (test_sft, train_sft)")
    one_error("a glob missing a shard", [os.path.join(d["uc"], "train_sft-0000[02]-*.parquet")], out,
              "1 of 3 shards missing (00001)")


def main():
    if shutil.which("node") is None:
        result("node is on PATH", False, "scripts/test.sh installs it")
        return
    for what, p in (("npm ci --prefix scripts/parquet", os.path.join(ROOT, "scripts", "parquet", "node_modules",
                                                                      "hyparquet")),
                    ("npm ci --prefix tests", os.path.join(ROOT, "tests", "node_modules", "parquet-wasm"))):
        if not os.path.isdir(p):
            result(f"{p} is installed", False, f"run {what} (scripts/test.sh does)")
            return
    with tempfile.TemporaryDirectory() as tmp:
        d = {}
        guard("test files", lambda: d.update(make_files(tmp)))
        if d:
            guard("conversions", lambda: check_conversions(tmp, d))
            guard("errors", lambda: check_errors(tmp, d))
        guard("memory", lambda: check_memory(tmp))


if __name__ == "__main__":
    main()
