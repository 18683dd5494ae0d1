"""The study's pipeline end to end: scripts/study.sh --quick (SFT, on-policy pairs, the
learning-rate sweep, DPO and SPO, long runs, the report and its figures), each number of its
report checked against a computation of its own here: the per-pair logs against the loss
formulas and metrics.jsonl, the matrix's cells against the scorer and against each other, the
sweep's choice against the validation scores. Also scripts/plot_metrics.py. (It tests the
harness, not the paper's outcome.)"""
import json
import math
import os
import subprocess
import sys
import tempfile

from harness import ROOT, reporter

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import task  # noqa: E402

result, guard = reporter("study")
PY = "/usr/bin/python3"


def rows(path):
    return [json.loads(l) for l in open(path)]


def mean_score(path):
    r = rows(path)
    return sum(task.score(x["prompt"], x["completion"]) for x in r) / len(r)


def check_pair_log(run, loss, beta, n_pairs, epochs):
    pairs, metrics = rows(os.path.join(run, "pairs.jsonl")), rows(os.path.join(run, "metrics.jsonl"))
    bad_u = max(abs(p["u"] - beta * ((p["logp_chosen"] - p["ref_chosen"]) - (p["logp_rejected"] - p["ref_rejected"])))
                for p in pairs)
    want = (lambda u: (u - 1) * math.exp(-u)) if loss == "spo" else (lambda u: -1 / (1 + math.exp(u)))
    bad_g = max(abs(p["dloss_du"] - want(p["u"])) for p in pairs)
    per_step = {}
    for p in pairs:
        per_step.setdefault(p["step"], []).append(p["u"])
    bad_mean = max(abs(sum(per_step[m["step"]]) / len(per_step[m["step"]]) - m["u/mean"]) for m in metrics)
    visits = {}
    for p in pairs:
        visits[p["row"]] = visits.get(p["row"], 0) + 1
    ok = (bad_u < 1e-4 and bad_g < 1e-6 and bad_mean < 1e-6 and len(visits) == n_pairs and
          set(visits.values()) == {epochs} and sorted(per_step) == [m["step"] for m in metrics])
    result(f"{os.path.basename(run)}: pairs.jsonl has every pair once per epoch, u = beta * margin, dL/du = the "
           f"{loss.upper()} formula, and each step's mean u is metrics.jsonl's u/mean", ok,
           f"{len(pairs)} lines, |u err| {bad_u:.1e}, |dL/du err| {bad_g:.1e}, |u/mean err| {bad_mean:.1e}")


def check_study(out):
    p = subprocess.run(["sh", os.path.join(ROOT, "scripts", "study.sh"), "--quick", "--out", out], capture_output=True,
                       text=True)
    result("scripts/study.sh --quick runs end to end", p.returncode == 0, p.stderr.strip()[-300:] if p.returncode else "")
    if p.returncode:
        return
    rep = json.load(open(os.path.join(out, "report.json")))
    beta, seed, lrs = rep["betas"][0], rep["seeds"][0], rep["lr"]
    data = os.path.join(out, "data")
    n_pairs = len(rows(os.path.join(data, "pairs.jsonl")))
    run = lambda loss, lr: os.path.join(out, "runs", f"{loss}-b{beta}-lr{lr}-s{seed}")  # noqa: E731
    for loss in ("dpo", "spo"):
        check_pair_log(run(loss, lrs[loss]), loss, float(beta), n_pairs, 2)
    info = json.load(open(os.path.join(out, "long", "info.json")))
    check_pair_log(os.path.join(out, "long", "spo"), "spo", float(info["beta"]), info["pairs"], info["epochs"])

    sweep = {}
    for loss in ("dpo", "spo"):
        scores = {lr: mean_score(os.path.join(run(loss, lr), "valid.jsonl")) for lr in ("1e-4", "3e-4")}
        sweep[loss] = max(scores, key=lambda lr: (scores[lr], lr == "1e-4"))  # the first of equals, as study.sh
    result("each loss keeps the learning rate whose model scores best on the validation prompts",
           sweep == lrs, f"chosen {lrs}, recomputed {sweep}")

    table = rep["tables"][beta]
    pooled = {m: os.path.join(out, "pooled", f) for m, f in (("SFT", "sft.jsonl"), ("DPO", f"dpo-b{beta}.jsonl"),
                                                             ("SPO", f"spo-b{beta}.jsonl"))}
    bad = []
    for a in table:
        for b in table[a]:
            ra, rb = {r["prompt"]: r["completion"] for r in rows(pooled[a])}, {r["prompt"]: r["completion"] for r in rows(pooled[b])}
            w = sum(task.score(q, ra[q]) > task.score(q, rb[q]) for q in ra)
            t = sum(task.score(q, ra[q]) == task.score(q, rb[q]) for q in ra)
            c, m = table[a][b], table[b][a]
            if (c["wins"], c["ties"]) != (w, t) or (c["wins"], c["ties"], c["losses"]) != (m["losses"], m["ties"], m["wins"]) \
                    or abs(c["win_rate"] + m["win_rate"] - 1) > 1e-6 or not c["ci95"][0] <= c["win_rate"] <= c["ci95"][1]:
                bad.append(f"{a} vs {b}: {c}")
    result("the win-rate matrix: every cell's counts as the scorer gives them, each cell the mirror of its "
           "transpose, each rate inside its interval", not bad, "; ".join(bad) if bad else "6 cells")
    s = rep["scores"][beta]
    ok = (abs(s["DPO"]["mean"] - mean_score(os.path.join(run("dpo", lrs["dpo"]), "test.jsonl"))) < 1e-9 and
          abs(rep["sft_test_score"] - mean_score(os.path.join(out, "sft", "test.jsonl"))) < 1e-9)
    result("the task scores in the report are the test answers' mean scores", ok, f"SFT {rep['sft_test_score']:.4f}")
    md = open(os.path.join(out, "report.md")).read()
    figs = [os.path.join(out, f) for f in rep.get("figures", [])]
    pngs = [f for f in figs if open(f, "rb").read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(f) > 10000]
    result("report.md holds the matrix and the figures are PNG files", "| **SPO** |" in md and len(pngs) == len(figs) == 6,
           f"{len(pngs)} figures")


def check_plot_metrics(d):
    run = os.path.join(d, "runs", sorted(os.listdir(os.path.join(d, "runs")))[0])
    png = os.path.join(d, "m.png")
    p = subprocess.run([PY, os.path.join(ROOT, "scripts", "plot_metrics.py"), run, os.path.join(d, "sft"), "--out", png,
                        "--smooth", "5"], capture_output=True, text=True)
    ok = p.returncode == 0 and open(png, "rb").read(4) == b"\x89PNG"
    q = subprocess.run([PY, os.path.join(ROOT, "scripts", "plot_metrics.py"), os.path.join(d, "nothing")],
                       capture_output=True, text=True)
    result("plot_metrics.py draws a preference and an SFT run together; a missing run is a one-line error",
           ok and q.returncode != 0 and "cannot open" in q.stderr and len(q.stderr.strip().splitlines()) == 1,
           (p.stderr + q.stderr).strip()[-200:])


with tempfile.TemporaryDirectory() as d:
    guard("study", lambda: check_study(d))
    guard("plot_metrics", lambda: check_plot_metrics(d))
