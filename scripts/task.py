#!/usr/bin/env python3
"""The study's task: put the digits of a number in order, a program grades the answer.

A prompt asks for one of three things about the digits of a 5-12 digit number: sort them
ascending, sort them descending, or give the distinct ones in ascending order, in one of
several phrasings ("Sort the digits of 93715 from smallest to largest" -> "13579"). Each digit
is one token for Qwen2's and Llama-3's pre-tokenizers, and the answer depends on which digits
occur, not where, which a small model can learn in minutes (copying numbers from the prompt
it cannot, in that time). The scorer gives partial credit: the length of the longest common
subsequence of the answer's digits and the right ones, over the longer of the two (1 for the
right answer; a swapped pair, a dropped or an extra digit each cost about one digit's share;
no digits at all score 0). Deterministic, no model involved.

Preference pairs are built as UltraFeedback's were: several candidate answers per prompt
(here from a noisy solver: right, a few swaps, a number dropped, repeated or changed, the
order reversed, left unsorted, duplicates kept), each rated by the scorer through noise
(a rater's scores on a 1-10 scale with a Gaussian error), chosen = the best rated and
rejected = a randomly drawn worse rated one. The rating noise makes some labels wrong, as
real preference data's are; the files record how many.

The pairs can also be made on-policy, as UltraFeedback's candidates were sampled from models:
`task.py pairs` takes a model's samples (./train --stage generate --num-samples K) of the
preference prompts and rates them the same way.

usage:
  task.py make OUT_DIR [--sft N] [--pref N] [--test N] [--valid N] [--seed S]   write the datasets
  task.py pairs SAMPLES.jsonl OUT.jsonl [--seed S]                   pairs from a model's samples
  task.py score GENERATIONS.jsonl                                    mean score of a generate output
"""
import argparse
import hashlib
import json
import os
import random
import re
import sys

OPS = {
    "asc": ["Sort the digits of {} from smallest to largest.",
            "Write the digits of {} in ascending order.",
            "Arrange the digits of {} in increasing order.",
            "Order the digits of {} from lowest to highest."],
    "desc": ["Sort the digits of {} from largest to smallest.",
             "Write the digits of {} in descending order.",
             "Arrange the digits of {} in decreasing order.",
             "Order the digits of {} from highest to lowest."],
    "uniq": ["List the distinct digits of {} from smallest to largest.",
             "Write each digit of {} once, in ascending order.",
             "Which digits occur in {}? Give them in increasing order.",
             "Remove repeated digits from {} and sort the rest ascending."],
}
_PATTERNS = [(op, re.compile("^" + re.escape(t).replace(r"\{\}", r"(\d+)") + "$")) for op, ts in OPS.items() for t in ts]


def solve(op, nums):
    if op == "asc":
        return sorted(nums)
    if op == "desc":
        return sorted(nums, reverse=True)
    return sorted(set(nums))


def parse_prompt(prompt):
    """(op, numbers) of a task prompt; None if it is not one."""
    for op, pat in _PATTERNS:
        m = pat.match(prompt.strip())
        if m:
            return op, [int(x) for x in m.group(1)]
    return None


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b):
            cur.append(prev[j] + 1 if x == y else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def score(prompt, answer):
    """The answer's credit in [0, 1] for a task prompt (see the module's docstring)."""
    parsed = parse_prompt(prompt)
    if parsed is None:
        raise ValueError(f"not a task prompt: {prompt!r}")
    want = solve(*parsed)
    got = [int(x) for x in re.findall(r"\d", answer)]
    if not got:
        return 0.0
    return lcs(got, want) / max(len(got), len(want))


def render(nums):
    return "".join(str(n) for n in nums)


def draw_prompt(rng):
    op = rng.choice(sorted(OPS))
    n = rng.randint(5, 12)
    nums = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(n - 1)]  # a number: no leading 0
    return rng.choice(OPS[op]).format(render(nums)), op, nums


def candidate(rng, op, nums):
    """One answer of a noisy solver."""
    right = solve(op, nums)
    kind = rng.choice(["right", "right", "swap", "swap2", "drop", "repeat", "change", "reverse", "unsorted", "dupes"])
    a = list(right)
    if kind == "swap" and len(a) > 1:
        i = rng.randrange(len(a) - 1)
        a[i], a[i + 1] = a[i + 1], a[i]
    elif kind == "swap2" and len(a) > 2:
        for _ in range(2):
            i, j = rng.sample(range(len(a)), 2)
            a[i], a[j] = a[j], a[i]
    elif kind == "drop" and len(a) > 1:
        del a[rng.randrange(len(a))]
    elif kind == "repeat":
        i = rng.randrange(len(a))
        a.insert(i, a[i])
    elif kind == "change":
        i = rng.randrange(len(a))
        a[i] = min(9, max(0, a[i] + rng.choice([-2, -1, 1, 2])))
    elif kind == "reverse":
        a = a[::-1]
    elif kind == "unsorted":
        a = list(nums)
    elif kind == "dupes":
        a = sorted(nums, reverse=op == "desc")
    return render(a)


def chat(prompt, answer):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]


def prompt_id(prompt):
    return hashlib.sha256(prompt.encode()).hexdigest()


def rate(rng, prompt, answer):
    """The rater: the scorer's credit on a 1-10 scale, seen through Gaussian noise."""
    true = score(prompt, answer)
    return min(10.0, max(1.0, 1 + 9 * true + rng.gauss(0, 1.5))), true


def pick_pair(rng, prompt, answers):
    """(chosen, rejected, rating_c, rating_r, mislabelled) from one prompt's candidates, or None when
    the ratings do not separate any two different answers."""
    rated = sorted(((*rate(rng, prompt, a), a) for a in dict.fromkeys(answers)), key=lambda r: -r[0])
    best = rated[0]
    rest = [r for r in rated[1:] if r[0] < best[0] and r[2] != best[2]]
    if not rest:
        return None
    worse = rng.choice(rest)
    return best[2], worse[2], best[0], worse[0], best[1] < worse[1]


def pref_row(prompt, chosen, rejected, rc, rr):
    return {"prompt": prompt, "prompt_id": prompt_id(prompt), "chosen": chat(prompt, chosen),
            "rejected": chat(prompt, rejected), "messages": chat(prompt, chosen), "score_chosen": round(rc, 2),
            "score_rejected": round(rr, 2)}


def pairs_from_samples(samples, out, seed):
    """Pairs from a generate output with several samples per prompt (grouped by "row")."""
    rng = random.Random(seed)
    by_row = {}
    empty = 0
    for line in open(samples):
        r = json.loads(line)
        answers = by_row.setdefault(r["row"], (r["prompt"], []))[1]
        if r["completion"].strip():
            answers.append(r["completion"])
        else:  # the model ended its turn at once: a pair with an empty side is not trained on
            empty += 1
    written = wrong = 0
    with open(out, "w") as f:
        for row in sorted(by_row):
            prompt, answers = by_row[row]
            pick = pick_pair(rng, prompt, answers) if answers else None
            if pick is None:
                continue
            c, r, rc, rr, bad = pick
            wrong += bad
            written += 1
            f.write(json.dumps(pref_row(prompt, c, r, rc, rr)) + "\n")
    return {"prompts": len(by_row), "pairs": written, "mislabelled": wrong,
            "mislabelled_share": round(wrong / max(1, written), 4), "empty_samples_left_out": empty}


def make(out, n_sft, n_pref, n_test, seed, n_valid=200):
    rng = random.Random(seed)
    seen = set()

    def fresh():
        while True:
            p, op, nums = draw_prompt(rng)
            if p not in seen:
                seen.add(p)
                return p, op, nums
    os.makedirs(out, exist_ok=True)
    # test and validation prompts are drawn first: no training prompt can repeat one. The
    # validation set picks hyperparameters (the study's learning rate), the test set judges.
    for name, n in (("test_prompts.jsonl", n_test), ("valid_prompts.jsonl", n_valid)):
        with open(os.path.join(out, name), "w") as f:
            for p, op, nums in [fresh() for _ in range(n)]:
                f.write(json.dumps({"prompt": p, "prompt_id": prompt_id(p), "messages": chat(p, render(solve(op, nums)))}) + "\n")
    with open(os.path.join(out, "sft_train.jsonl"), "w") as f:
        for _ in range(n_sft):
            p, op, nums = fresh()
            f.write(json.dumps({"prompt": p, "prompt_id": prompt_id(p), "messages": chat(p, render(solve(op, nums)))}) + "\n")
    wrong = written = 0
    with open(os.path.join(out, "pref_prompts.jsonl"), "w") as fp, open(os.path.join(out, "pref_offpolicy.jsonl"), "w") as f:
        while written < n_pref:
            p, op, nums = fresh()
            pick = pick_pair(rng, p, [candidate(rng, op, nums) for _ in range(4)])
            if pick is None:
                continue
            c, r, rc, rr, bad = pick
            wrong += bad  # the rater preferred the truly worse answer
            written += 1
            fp.write(json.dumps({"prompt": p, "prompt_id": prompt_id(p), "messages": chat(p, render(solve(op, nums)))}) + "\n")
            f.write(json.dumps(pref_row(p, c, r, rc, rr)) + "\n")
    info = {"seed": seed, "sft_rows": n_sft, "pref_prompts": n_pref, "test_prompts": n_test, "valid_prompts": n_valid,
            "offpolicy_pairs_mislabelled": wrong, "offpolicy_mislabelled_share": round(wrong / max(1, n_pref), 4),
            "rating_noise": "1 + 9 * score + N(0, 1.5), clipped to [1, 10]"}
    json.dump(info, open(os.path.join(out, "README.json"), "w"), indent=1)
    return info


def score_file(path):
    """Mean score of a generate output (one JSON line per prompt with "prompt" and "completion")."""
    rows = [json.loads(l) for l in open(path)]
    return sum(score(r["prompt"], r["completion"]) for r in rows) / max(1, len(rows)), len(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--sft", type=int, default=4000)
    m.add_argument("--pref", type=int, default=2000)
    m.add_argument("--test", type=int, default=200)
    m.add_argument("--valid", type=int, default=200)
    m.add_argument("--seed", type=int, default=1)
    pr = sub.add_parser("pairs")
    pr.add_argument("samples")
    pr.add_argument("out")
    pr.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("score")
    s.add_argument("generations")
    a = ap.parse_args()
    if a.cmd == "make":
        print(json.dumps(make(a.out, a.sft, a.pref, a.test, a.seed, a.valid)))
    elif a.cmd == "pairs":
        print(json.dumps(pairs_from_samples(a.samples, a.out, a.seed)))
    else:
        mean, n = score_file(a.generations)
        print(json.dumps({"mean_score": round(mean, 4), "prompts": n}))


if __name__ == "__main__":
    sys.exit(main())
