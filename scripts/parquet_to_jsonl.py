#!/usr/bin/env python3
"""Turn the Hugging Face hub's parquet files of ultrachat_200k / ultrafeedback_binarized into
the JSONL this trainer reads (one JSON object per line, the datasets' own column names).

Needs pyarrow on your machine (pip install pyarrow); the trainer itself does not. No test runs
this script (pyarrow does not install on this project's machines): the tested converter is
scripts/parquet/parquet_to_jsonl.mjs (Node.js, npm ci --prefix scripts/parquet), which also
checks each file's schema and skips the rows the trainer could not read. Use this one where
pyarrow is at hand and Node.js is not.

    huggingface-cli download HuggingFaceH4/ultrachat_200k --repo-type dataset --local-dir uc200k
    huggingface-cli download HuggingFaceH4/ultrafeedback_binarized --repo-type dataset --local-dir ufb
    python3 scripts/parquet_to_jsonl.py 'uc200k/data/train_sft-*.parquet' ultrachat_train_sft.jsonl
    python3 scripts/parquet_to_jsonl.py 'ufb/data/train_prefs-*.parquet' ufb_train_prefs.jsonl

The output is written to OUT.tmp and renamed when complete, so a half-written file never
looks finished. Rows are streamed batch by batch; memory stays small.
"""
import glob
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pattern, out = sys.argv[1], sys.argv[2]
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit("error: this script needs pyarrow (pip install pyarrow)")
    paths = sorted(glob.glob(pattern))
    if not paths:
        sys.exit(f"error: no file matches {pattern}")
    tmp, rows = out + ".tmp", 0
    with open(tmp, "w", encoding="utf-8") as f:
        for path in paths:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    f.write(json.dumps(row, ensure_ascii=False) + "\n")
                    rows += 1
    os.replace(tmp, out)
    print(f"{out}: {rows} rows from {len(paths)} file(s)")


if __name__ == "__main__":
    main()
