#!/usr/bin/env python3
"""Pairwise judge: model A's answers against model B's, prompt by prompt.

A and B are generation files of the same prompts (./train --stage generate --out, one JSON line
per completion with "prompt", "completion" and, when it wrote them, "prompt_id" and "sample").
Each prompt gets a verdict for A, win / tie / loss; the summary is A's win rate, ties counted
half, with a 95% percentile bootstrap interval over prompts (the prompts are resampled with
replacement, B times, seeded; a prompt judged several times, as samples or as seeds pooled
under "sample", is resampled with all its verdicts).

Where the verdicts come from:
  default          the task's scorer (scripts/task.py): the higher score wins, equal scores tie
  --verdicts FILE  an external judge's, one JSON object per line, {"verdict": "a" | "b" | "tie"},
                   in the order of the pairs (a is A's answer); the scorer is not used
  --write-pairs F  also writes the pairs, {"prompt", "answer_a", "answer_b"}, as JSONL for such a
                   judge (an LLM judge, as the paper used GPT-4), before any verdict is taken

stdout: one JSON line per prompt ({"row", "prompt_id", "result", and the scores when the scorer
judged}), then the summary on a line of its own:
  {"wins": W, "ties": T, "losses": L, "win_rate": R, "ci95": [lo, hi]}

usage: judge.py A.jsonl B.jsonl [--verdicts FILE] [--write-pairs FILE] [--bootstrap N] [--seed S] [--quiet]
"""
import argparse
import json
import math
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import task  # noqa: E402  (the scorer)


def fail(msg):
    print(f"judge.py: {msg}", file=sys.stderr)
    sys.exit(1)


def json_lines(path):
    """(line number, object) for each non-blank line of a JSONL file; a clear error otherwise."""
    try:
        f = open(path, encoding="utf-8")
    except OSError as e:
        fail(f"{path}: cannot open: {e.strerror}")
    with f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as e:
                    fail(f"{path}:{n}: not JSON: {e.msg}")


def read_generations(path):
    """[(key, prompt, completion)] in file order; key = (prompt_id or prompt, sample)."""
    out, seen = [], set()
    for n, r in json_lines(path):
        if not isinstance(r, dict) or not isinstance(r.get("prompt"), str) or not isinstance(r.get("completion"), str):
            fail(f"{path}:{n}: needs string fields \"prompt\" and \"completion\"")
        key = (r.get("prompt_id") or r["prompt"], r.get("sample", 0))
        if key in seen:
            fail(f"{path}:{n}: the prompt (sample {key[1]}) occurs twice")
        seen.add(key)
        out.append((key, r["prompt"], r["completion"]))
    if not out:
        fail(f"{path}: no generations")
    return out


def pair_up(a_path, b_path):
    """[(prompt_id, prompt, answer_a, answer_b)] in A's order; both files must hold the same prompts."""
    a, b = read_generations(a_path), read_generations(b_path)
    b_by_key = {k: (p, c) for k, p, c in b}
    missing = [k for k, _, _ in a if k not in b_by_key]
    if missing or len(a) != len(b):
        extra = len(b) - (len(a) - len(missing))
        fail(f"{b_path}: not the prompts of {a_path}: {len(missing)} of A's missing, {extra} not in A")
    return [(k[0], p, c, b_by_key[k][1]) for k, p, c in a]


def read_verdicts(path, n_pairs):
    results = []
    for n, v in json_lines(path):
        verdict = v.get("verdict") if isinstance(v, dict) else None
        if verdict not in ("a", "b", "tie"):
            fail(f"{path}:{n}: \"verdict\" must be \"a\", \"b\" or \"tie\", not {json.dumps(verdict)}")
        results.append({"a": "win", "b": "loss", "tie": "tie"}[verdict])
    if len(results) != n_pairs:
        fail(f"{path}: {len(results)} verdicts for {n_pairs} pairs")
    return results


def verdict_by_score(score_a, score_b):
    return "win" if score_a > score_b else "loss" if score_a < score_b else "tie"


def win_rate(wins, ties, n):
    return (wins + 0.5 * ties) / n


def quantile(sorted_values, q):
    """The smallest value v with at least a share q of the values <= v (the inverse CDF)."""
    k = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values) - 1e-9) - 1))
    return sorted_values[k]


def bootstrap_ci(results, groups, resamples, seed):
    """95% percentile interval of the win rate over resamples of the prompts. A prompt judged
    more than once (several samples, or seeds pooled as samples) is resampled with all its
    verdicts, so they are not taken for independent prompts."""
    rng = random.Random(seed)
    by_prompt = {}
    for r, g in zip(results, groups):
        pts = by_prompt.setdefault(g, [0, 0])
        pts[0] += {"win": 2, "tie": 1, "loss": 0}[r]  # half-points: 2 W + T
        pts[1] += 1
    clusters = list(by_prompt.values())
    n = len(clusters)
    stats = []
    for _ in range(resamples):
        draw = rng.choices(clusters, k=n)
        stats.append(sum(c[0] for c in draw) / (2 * sum(c[1] for c in draw)))
    stats.sort()
    return quantile(stats, 0.025), quantile(stats, 0.975)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("a", help="generations of model A")
    ap.add_argument("b", help="generations of model B, for the same prompts")
    ap.add_argument("--verdicts", help="an external judge's verdicts, one {\"verdict\": \"a\"|\"b\"|\"tie\"} per pair")
    ap.add_argument("--write-pairs", help="write the pairs (prompt, answer_a, answer_b) as JSONL")
    ap.add_argument("--bootstrap", type=int, default=10000, help="bootstrap resamples (default 10000)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default 0)")
    ap.add_argument("--quiet", action="store_true", help="print only the summary line")
    args = ap.parse_args()
    if args.bootstrap < 1:
        fail("--bootstrap must be at least 1")

    pairs = pair_up(args.a, args.b)
    if args.write_pairs:
        tmp = args.write_pairs + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for pid, prompt, ca, cb in pairs:
                f.write(json.dumps({"prompt_id": pid, "prompt": prompt, "answer_a": ca, "answer_b": cb},
                                   ensure_ascii=False) + "\n")
        os.replace(tmp, args.write_pairs)

    lines = []
    if args.verdicts:
        results = read_verdicts(args.verdicts, len(pairs))
        for i, ((pid, _, _, _), r) in enumerate(zip(pairs, results)):
            lines.append({"row": i, "prompt_id": pid, "result": r})
    else:
        results = []
        for i, (pid, prompt, ca, cb) in enumerate(pairs):
            if task.parse_prompt(prompt) is None:
                fail(f"{args.a}: pair {i + 1}: not a task prompt, which the scorer cannot grade "
                     f"({prompt[:60]!r}); pass an external judge's --verdicts")
            sa, sb = task.score(prompt, ca), task.score(prompt, cb)
            results.append(verdict_by_score(sa, sb))
            lines.append({"row": i, "prompt_id": pid, "result": results[-1], "score_a": round(sa, 6),
                          "score_b": round(sb, 6)})

    n = len(results)
    wins, ties = results.count("win"), results.count("tie")
    losses = n - wins - ties
    lo, hi = bootstrap_ci(results, [p[0] for p in pairs], args.bootstrap, args.seed)
    if not args.quiet:
        for line in lines:
            print(json.dumps(line))
    print(json.dumps({"wins": wins, "ties": ties, "losses": losses, "win_rate": round(win_rate(wins, ties, n), 6),
                      "ci95": [round(lo, 6), round(hi, 6)]}))


if __name__ == "__main__":
    main()
