"""scripts/judge.py: verdicts on pairs whose outcome is known (wins, ties, an empty answer),
external verdicts and the pairs written for them, bad input, and the bootstrap interval
against the exact distribution of the resampled win rate on fixed cases.

The exact computation: resampling n prompts with replacement draws the counts of wins, ties and
losses from a multinomial with the observed shares, and the win rate is (2W + T) / 2n. Its
distribution is summed exactly here (a convolution over the n draws), and its 2.5% and 97.5%
quantiles must be the bootstrap's interval."""
import json
import os
import subprocess
import sys
import tempfile

from harness import ROOT, reporter

JUDGE = os.path.join(ROOT, "scripts", "judge.py")
result, guard = reporter("judge")
P = ["Sort the digits of 93715 from smallest to largest.", "Write the digits of 4411 in descending order.",
     "List the distinct digits of 3311 from smallest to largest.", "Order the digits of 50621 from lowest to highest.",
     "Arrange the digits of 987 in increasing order."]
# A's answer, B's answer, A's result: by the scorer's rule worked out by hand
KNOWN = [("13579", "13597", "win"),   # right against one swap
         ("4411", "4411", "tie"),     # the same answer
         ("", "1", "loss"),           # an empty answer scores 0, below partial credit
         ("", "no digits", "tie"),    # nothing against nothing
         ("78", "789", "loss")]       # 2/3 against 1


def write(d, name, rows):
    path = os.path.join(d, name)
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return path


def gens(d, name, answers, prompts=P):
    return write(d, name, [{"row": i, "sample": 0, "prompt": p, "completion": a} for i, (p, a) in enumerate(zip(prompts, answers))])


def judge(*args):
    return subprocess.run([sys.executable, JUDGE, *args], capture_output=True, text=True)


def summary(p):
    return json.loads(p.stdout.strip().splitlines()[-1])


def exact_quantiles(wins, ties, losses):
    """2.5% and 97.5% quantiles (inverse CDF) of (2W' + T') / 2n under multinomial resampling,
    and how far the CDF's steps next to them lie from 0.025 and 0.975."""
    n = wins + ties + losses
    probs = {2: wins / n, 1: ties / n, 0: losses / n}
    dist = [1.0]  # dist[k]: P(half-points = k) after the draws so far
    for _ in range(n):
        nxt = [0.0] * (len(dist) + 2)
        for k, pk in enumerate(dist):
            for pts, pp in probs.items():
                nxt[k + pts] += pk * pp
        dist = nxt
    cdf, acc = [], 0.0
    for pk in dist:
        acc += pk
        cdf.append(acc)
    out, margin = [], 1.0
    for q in (0.025, 0.975):
        k = next(i for i, c in enumerate(cdf) if c >= q)
        out.append(k / (2 * n))
        margin = min(margin, cdf[k] - q, q - (cdf[k - 1] if k else 0.0))
    return out, margin


def check_known():
    with tempfile.TemporaryDirectory() as d:
        a, b = gens(d, "a.jsonl", [k[0] for k in KNOWN]), gens(d, "b.jsonl", [k[1] for k in KNOWN])
        p = judge(a, b)
        lines = [json.loads(l) for l in p.stdout.splitlines()]
        per = [l["result"] for l in lines[:-1]]
        s = lines[-1]
        want = [k[2] for k in KNOWN]
        ok = (p.returncode == 0 and per == want and (s["wins"], s["ties"], s["losses"]) == (1, 2, 2) and
              abs(s["win_rate"] - 2 / 5) < 1e-9 and s["ci95"][0] <= s["win_rate"] <= s["ci95"][1])
        result("the scorer's verdicts on known pairs (a win, ties, an empty answer); ties count half", ok,
               f"{per}, {s}")
        s2 = summary(judge(b, a, "--quiet"))
        result("B against A is A against B mirrored", (s2["wins"], s2["ties"], s2["losses"]) == (2, 2, 1) and
               abs(s2["win_rate"] - 3 / 5) < 1e-9, str(s2))
        shuffled = write(d, "bs.jsonl", [json.loads(l) for l in open(b)][::-1])
        s3 = summary(judge(a, shuffled, "--quiet"))
        result("pairs are matched by prompt, not by line", (s3["wins"], s3["ties"], s3["losses"]) == (1, 2, 2), str(s3))


def check_external():
    with tempfile.TemporaryDirectory() as d:
        a, b = gens(d, "a.jsonl", [k[0] for k in KNOWN]), gens(d, "b.jsonl", [k[1] for k in KNOWN])
        pairs = os.path.join(d, "pairs.jsonl")
        v = write(d, "v.jsonl", [{"verdict": x} for x in ["b", "b", "a", "tie", "b"]])
        p = judge(a, b, "--write-pairs", pairs, "--verdicts", v)
        written = [json.loads(l) for l in open(pairs)]
        ok_pairs = [(w["prompt"], w["answer_a"], w["answer_b"]) for w in written] == [(p_, k[0], k[1]) for p_, k in zip(P, KNOWN)]
        result("--write-pairs writes (prompt, answer_a, answer_b) in pair order", ok_pairs, f"{len(written)} pairs")
        s = summary(p)
        result("--verdicts replaces the scorer: the summary counts the external verdicts",
               p.returncode == 0 and (s["wins"], s["ties"], s["losses"]) == (1, 1, 3) and abs(s["win_rate"] - 0.3) < 1e-9,
               str(s))
        other = write(d, "o.jsonl", [{"row": 0, "prompt": "Tell me a joke.", "completion": "No."}])
        pairs2 = os.path.join(d, "pairs2.jsonl")
        p2 = judge(other, other, "--write-pairs", pairs2)
        p3 = judge(other, other, "--verdicts", write(d, "v1.jsonl", [{"verdict": "tie"}]))
        result("prompts the scorer cannot grade: a clear error, the pairs still written; --verdicts judges them",
               p2.returncode != 0 and "not a task prompt" in p2.stderr and os.path.getsize(pairs2) > 0 and
               p3.returncode == 0 and summary(p3)["ties"] == 1, p2.stderr.strip())


def check_bad_input():
    with tempfile.TemporaryDirectory() as d:
        a = gens(d, "a.jsonl", [k[0] for k in KNOWN])
        short = gens(d, "short.jsonl", ["1", "2"], P[:2])
        broken = os.path.join(d, "broken.jsonl")
        open(broken, "w").write(open(a).read() + "{not json\n")
        bad_v = write(d, "bv.jsonl", [{"verdict": "a"}] * 4 + [{"verdict": "A"}])
        few_v = write(d, "fv.jsonl", [{"verdict": "a"}] * 3)
        cases = [((a, short), "short.jsonl: not the prompts of"), ((broken, a), "broken.jsonl:6: not JSON"),
                 ((a, a, "--verdicts", bad_v), "bv.jsonl:5: \"verdict\" must be"),
                 ((a, a, "--verdicts", few_v), "3 verdicts for 5 pairs"),
                 ((a, os.path.join(d, "missing.jsonl")), "missing.jsonl: cannot open")]
        bad = []
        for args, want in cases:
            p = judge(*args)
            err = p.stderr.strip()
            if p.returncode == 0 or want not in err or len(err.splitlines()) != 1:
                bad.append((want, err))
        result("bad input: a one-line error naming the file (and line)", not bad, f"{len(cases)} cases" if not bad else str(bad))


def check_interval():
    bad = []
    for wins, ties, losses in [(26, 0, 14), (10, 16, 4), (11, 9, 10)]:
        (lo, hi), margin = exact_quantiles(wins, ties, losses)
        assert margin > 0.004, f"case {wins, ties, losses}: a CDF step lies too near 2.5%/97.5% to compare"
        with tempfile.TemporaryDirectory() as d:
            n = wins + ties + losses
            prompts = [f"Sort the digits of {10000 + i} from smallest to largest." for i in range(n)]
            right = ["".join(sorted(str(10000 + i))) for i in range(n)]
            a = right[:wins] + right[wins:wins + ties] + ["9"] * losses
            b = ["9"] * wins + right[wins:wins + ties] + right[wins + ties:]
            s = summary(judge(gens(d, "a.jsonl", a, prompts), gens(d, "b.jsonl", b, prompts), "--quiet",
                              "--bootstrap", "40000", "--seed", "5"))
        got = (s["wins"], s["ties"], s["losses"])
        if got != (wins, ties, losses) or abs(s["ci95"][0] - lo) > 1e-6 or abs(s["ci95"][1] - hi) > 1e-6:
            bad.append(f"{wins}/{ties}/{losses}: judge {s['ci95']}, exact [{lo}, {hi}]")
    result("the 95% bootstrap interval is the exact resampling distribution's 2.5% and 97.5% quantiles",
           not bad, "3 cases (W/T/L 26/0/14, 10/16/4, 11/9/10), 40000 resamples" if not bad else "; ".join(bad))


for name, fn in [("known verdicts", check_known), ("external verdicts", check_external), ("bad input", check_bad_input),
                 ("interval", check_interval)]:
    guard(name, fn)
