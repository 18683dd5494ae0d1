#!/usr/bin/env python3
"""Write data/sample-tokenized-{sft,pref}.jsonl: small pre-tokenized datasets in the
Hugging Face names (input_ids/labels; prompt_/chosen_/rejected_input_ids) for the default
model (vocab 4096). The ids are synthetic (seeded random), not text: they exist so that
`./train --stage eval` runs out of the box before the tokenizer exists. Deterministic:
running this again rewrites the same files."""
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VOCAB = 4096


def main():
    rnd = random.Random(1234)
    with open(os.path.join(ROOT, "data", "sample-tokenized-sft.jsonl"), "w") as f:
        for _ in range(48):
            n = rnd.randint(8, 200)
            prompt = rnd.randint(1, n // 2)
            ids = [rnd.randrange(VOCAB) for _ in range(n)]
            f.write(json.dumps({"input_ids": ids, "labels": [-100] * prompt + ids[prompt:]}) + "\n")
    with open(os.path.join(ROOT, "data", "sample-tokenized-pref.jsonl"), "w") as f:
        for _ in range(32):
            row = {key: [rnd.randrange(VOCAB) for _ in range(rnd.randint(lo, hi))]
                   for key, lo, hi in (("prompt_input_ids", 4, 60), ("chosen_input_ids", 2, 90),
                                       ("rejected_input_ids", 2, 90))}
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
