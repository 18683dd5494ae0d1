"""The study's task (scripts/task.py): the scorer on hand-written answers with known scores, the
prompts' phrasings, the datasets it writes (schemas, held-out test prompts, the pairs' ratings
and their mislabelled share), the shipped data/task files being exactly what it writes, and
pairs built from a model's samples."""
import json
import os
import subprocess
import sys
import tempfile

from harness import ROOT, reporter

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import task  # noqa: E402

result, guard = reporter("task")

ASC, DESC, UNIQ = ("Sort the digits of 93715 from smallest to largest.",
                   "Sort the digits of 93715 from largest to smallest.",
                   "List the distinct digits of 3311 from smallest to largest.")
# (prompt, answer, score): worked out by hand from the rule "LCS of the answer's digits and the
# right ones, over the longer of the two"
CASES = [
    (ASC, "13579", 1.0),
    (ASC, "The digits in order: 1, 3, 5, 7, 9.", 1.0),   # digits read out of prose
    (ASC, "13597", 4 / 5),                               # one swapped pair
    (ASC, "1357", 4 / 5),                                # one digit dropped
    (ASC, "135799", 5 / 6),                              # one digit extra
    (ASC, "97531", 1 / 5),                               # reversed: one digit in order
    (ASC, "93715", 2 / 5),                               # unsorted: "35", "37" or "15" in order
    (ASC, "", 0.0),                                      # empty answer
    (ASC, "I cannot sort digits.", 0.0),                 # no digits at all
    (DESC, "97531", 1.0),
    (DESC, "13579", 1 / 5),
    (UNIQ, "13", 1.0),
    (UNIQ, "1133", 2 / 4),                               # duplicates kept
    (UNIQ, "31", 1 / 2),
    ("Which digits occur in 5050? Give them in increasing order.", "05", 1.0),
    ("Write each digit of 1000000 once, in ascending order.", "01", 1.0),
]


def check_scores():
    bad = [(p, a, s, task.score(p, a)) for p, a, s in CASES if abs(task.score(p, a) - s) > 1e-12]
    result("scorer: hand-written answers get their known scores", not bad,
           f"{len(CASES)} answers" if not bad else f"wrong: {bad}")


def check_prompts():
    ok = all(task.parse_prompt(t.format("40213")) == (op, [4, 0, 2, 1, 3]) for op, ts in task.OPS.items() for t in ts)
    try:
        task.score("What is 7 + 5?", "12")
        refused = False
    except ValueError:
        refused = True
    result("every phrasing parses to its operation and digits; a prompt of another task is refused",
           ok and refused, f"{sum(len(t) for t in task.OPS.values())} phrasings")


def check_datasets():
    with tempfile.TemporaryDirectory() as d:
        info = task.make(d, 300, 200, 50, 7, 40)
        rows = {n: [json.loads(l) for l in open(os.path.join(d, n))] for n in
                ("sft_train.jsonl", "pref_prompts.jsonl", "pref_offpolicy.jsonl", "test_prompts.jsonl", "valid_prompts.jsonl")}
    sft, pref, test = rows["sft_train.jsonl"], rows["pref_offpolicy.jsonl"], rows["test_prompts.jsonl"]
    valid = rows["valid_prompts.jsonl"]
    schema = all(set(r) == {"prompt", "prompt_id", "messages"} and [m["role"] for m in r["messages"]] ==
                 ["user", "assistant"] and task.score(r["prompt"], r["messages"][1]["content"]) == 1.0 for r in sft + test)
    result("SFT and test rows: the ultrachat_200k schema, the right answer as the assistant's turn", schema,
           f"{len(sft)} + {len(test)} rows")
    pref_schema = all({"prompt", "prompt_id", "chosen", "rejected", "messages", "score_chosen", "score_rejected"} <= set(r)
                      and r["chosen"][0]["content"] == r["prompt"] == r["rejected"][0]["content"] and
                      r["score_chosen"] > r["score_rejected"] and r["chosen"][1] != r["rejected"][1] for r in pref)
    result("preference rows: the ultrafeedback_binarized schema, chosen rated above rejected, different answers",
           pref_schema and len(pref) == 200, f"{len(pref)} pairs")
    truly_worse = sum(task.score(r["prompt"], r["chosen"][1]["content"]) < task.score(r["prompt"], r["rejected"][1]["content"])
                      for r in pref)
    share = truly_worse / len(pref)
    result("the rater's noise mislabels a realistic share of the pairs, and README.json counts it",
           truly_worse == info["offpolicy_pairs_mislabelled"] and 0.05 < share < 0.35, f"{truly_worse} of {len(pref)}")
    train_prompts = {r["prompt"] for r in sft} | {r["prompt"] for r in pref}
    held_out = {r["prompt"] for r in test}, {r["prompt"] for r in valid}
    result("held-out test and validation prompts occur in no training row and not in each other",
           not (held_out[0] & train_prompts) and not (held_out[1] & train_prompts) and not (held_out[0] & held_out[1])
           and len(valid) == 40, f"{len(test)} test, {len(valid)} validation, {len(train_prompts)} training prompts")


def check_shipped():
    shipped = os.path.join(ROOT, "data", "task")
    info = json.load(open(os.path.join(shipped, "README.json")))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "task.py"), "make", d, "--sft", str(info["sft_rows"]),
                        "--pref", str(info["pref_prompts"]), "--test", str(info["test_prompts"]),
                        "--valid", str(info["valid_prompts"]), "--seed",
                        str(info["seed"])], check=True, capture_output=True)
        same = [n for n in sorted(os.listdir(d)) if open(os.path.join(d, n), "rb").read() ==
                open(os.path.join(shipped, n), "rb").read()]
        result("data/task is exactly what scripts/task.py make writes (seed and sizes from its README.json)",
               len(same) == len(os.listdir(d)) == 6, f"same: {same}")


def check_pairs_from_samples():
    prompt = ASC
    samples = [{"row": 0, "sample": i, "prompt": prompt, "completion": c} for i, c in
               enumerate(["13579", "13579", "97531", "1357"])]
    samples += [{"row": 1, "sample": i, "prompt": DESC, "completion": "97531"} for i in range(4)]  # all alike
    samples += [{"row": 2, "sample": i, "prompt": UNIQ, "completion": c} for i, c in enumerate(["13", "", " ", "13"])]
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "s.jsonl"), os.path.join(d, "p.jsonl")
        open(src, "w").write("".join(json.dumps(s) + "\n" for s in samples))
        info = task.pairs_from_samples(src, out, 3)
        pairs = [json.loads(l) for l in open(out)]
    ok = (info["prompts"] == 3 and info["pairs"] == 1 and info["empty_samples_left_out"] == 2 and len(pairs) == 1 and
          pairs[0]["prompt"] == prompt and
          pairs[0]["chosen"][1]["content"] != pairs[0]["rejected"][1]["content"])
    result("on-policy pairs: one per prompt whose samples differ, none where all samples are alike or the others "
           "are empty (an empty answer is left out: the trainer skips a pair with an empty side)", ok, str(info))


for name, fn in [("scorer", check_scores), ("prompts", check_prompts), ("datasets", check_datasets),
                 ("shipped data", check_shipped), ("pairs from samples", check_pairs_from_samples)]:
    guard(name, fn)
