#!/usr/bin/env python3
"""The study's report from a scripts/study.sh directory: per beta the win-rate matrix of SFT, DPO
and SPO (rows against columns, as the paper's Tables 1 and 2, judged by scripts/judge.py with
the seeds pooled and the bootstrap over prompts), the task scores, and what the per-pair logs
(pairs.jsonl) and metrics show about the paper's claims. Writes DIR/report.md, DIR/report.json
and the figures under DIR/figures (plot_study.py).

usage: study_report.py DIR --betas "0.05 0.1 0.5" --seeds "1 2 3" --lr-dpo LR --lr-spo LR
                       [--sweep-lrs "..."] [--bootstrap N]
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import task  # noqa: E402

MODELS = ("SFT", "DPO", "SPO")


def read_jsonl(path):
    return [json.loads(l) for l in open(path)]


def run_dir(d, loss, beta, lr, seed):
    return os.path.join(d, "runs", f"{loss}-b{beta}-lr{lr}-s{seed}")


def mean_score(path):
    rows = read_jsonl(path)
    return sum(task.score(r["prompt"], r["completion"]) for r in rows) / len(rows)


def pooled(d, name, files):
    """One generation file of several seeds' answers, each seed's lines as its own "sample"."""
    path = os.path.join(d, "pooled", name + ".jsonl")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for k, src in enumerate(files):
            for r in read_jsonl(src):
                r["sample"] = k
                f.write(json.dumps(r) + "\n")
    return path


def judge(a, b, boot):
    p = subprocess.run([sys.executable, os.path.join(HERE, "judge.py"), a, b, "--quiet", "--bootstrap", str(boot)],
                       capture_output=True, text=True, check=True)
    return json.loads(p.stdout.strip().splitlines()[-1])


def visits(pairs):
    """Each logged pair line with its epoch: the how-many-th visit of its row it is (1-based)."""
    seen = {}
    for p in pairs:
        seen[p["row"]] = seen.get(p["row"], 0) + 1
        p["epoch"] = seen[p["row"]]
    return pairs


def epoch_stats(part):
    u = sorted(p["u"] for p in part)
    return {"pairs": len(u), "u_mean": statistics.fmean(u), "u_median": u[len(u) // 2],
            "u_below_0": sum(x < 0 for x in u) / len(u), "u_below_minus1": sum(x < -1 for x in u) / len(u),
            "u_above_1": sum(x > 1 for x in u) / len(u), "u_min": u[0], "u_max": u[-1],
            "abs_dloss_du_mean": statistics.fmean(abs(p["dloss_du"]) for p in part),
            "chosen_shift": statistics.fmean(p["logp_chosen"] - p["ref_chosen"] for p in part),
            "rejected_shift": statistics.fmean(p["logp_rejected"] - p["ref_rejected"] for p in part)}


def pair_log_stats(run):
    """What one run's pairs.jsonl and metrics.jsonl show (see the README's study section)."""
    pairs = visits(read_jsonl(os.path.join(run, "pairs.jsonl")))
    metrics = read_jsonl(os.path.join(run, "metrics.jsonl"))
    n_epochs = max(p["epoch"] for p in pairs)
    out = {"epochs": [epoch_stats([p for p in pairs if p["epoch"] == e]) for e in range(1, n_epochs + 1)]}
    out["epoch1"], out["last"] = out["epochs"][0], out["epochs"][-1]
    last = [p for p in pairs if p["epoch"] == n_epochs]
    # claim 2: the pairs whose rejected answer the policy has pushed down most (pi(y_l) -> 0)
    by_drop = sorted(last, key=lambda p: p["logp_rejected"] - p["ref_rejected"])
    tail = by_drop[:max(1, len(by_drop) // 10)]
    out["rejected_most_pushed_down"] = {"pairs": len(tail),
                                        "rejected_shift": statistics.fmean(p["logp_rejected"] - p["ref_rejected"] for p in tail),
                                        "u_mean": statistics.fmean(p["u"] for p in tail),
                                        "abs_dloss_du_mean": statistics.fmean(abs(p["dloss_du"]) for p in tail)}
    # overshoot: a pair above u = 1 on one visit, and where it is on its next
    by_row = {}
    for p in pairs:
        by_row.setdefault(p["row"], []).append(p["u"])
    steps = [(a, b) for us in by_row.values() for a, b in zip(us, us[1:]) if a > 1]
    ever = [us for us in by_row.values() if any(x > 1 for x in us[:-1])]
    out["overshoot"] = {"visits_above_1": len(steps), "next_visit_lower": sum(b < a for a, b in steps),
                        "next_visit_at_or_below_1": sum(b <= 1 for a, b in steps),
                        "pairs_ever_above_1": len(ever), "of_them_ending_at_or_below_1": sum(us[-1] <= 1 for us in ever)}
    # spikes: do steps with a pair far below 0 have the large gradient norms?
    by_step = {}
    for p in pairs:
        by_step.setdefault(p["step"], []).append(p["u"])
    norms = {m["step"]: m["grad_norm"] for m in metrics}
    med = statistics.median(norms.values())
    spikes = [s for s, g in norms.items() if g > 3 * med]
    neg = [s for s in norms if min(by_step.get(s, [0])) < -1]
    out["grad_norm"] = {"median": med, "max": max(norms.values()), "spike_steps": len(spikes),
                        "steps": len(norms), "steps_with_u_below_minus1": len(neg),
                        "spikes_with_u_below_minus1": len(set(spikes) & set(neg)),
                        "median_norm_steps_with_u_below_minus1": statistics.median(norms[s] for s in neg) if neg else None,
                        "loss_max": max(m["loss"] for m in metrics)}
    xs = [math.log(norms[s]) for s in sorted(norms) if s in by_step]
    ys = [max(-min(by_step[s]), 0) for s in sorted(norms) if s in by_step]
    out["grad_norm"]["corr_log_norm_vs_most_negative_u"] = statistics.correlation(xs, ys) if len(set(ys)) > 1 else None
    return out


def log_row(name, runs):
    def m(f):
        vals = [v for v in (f(r) for r in runs) if v is not None]
        return statistics.fmean(vals) if vals else float("nan")
    o = [r["overshoot"] for r in runs]
    g = [r["grad_norm"] for r in runs]
    return (f"| {name} | {m(lambda r: r['epoch1']['u_mean']):.3f} -> {m(lambda r: r['last']['u_mean']):.3f} | "
            f"{100 * m(lambda r: r['last']['u_above_1']):.1f}% | "
            f"{100 * m(lambda r: r['epoch1']['u_below_0']):.1f}% / {100 * m(lambda r: r['last']['u_below_0']):.1f}% | "
            f"{m(lambda r: r['last']['chosen_shift']):.3f} | {m(lambda r: r['last']['rejected_shift']):.3f} | "
            f"{m(lambda r: r['last']['abs_dloss_du_mean']):.3f} | "
            f"{m(lambda r: r['rejected_most_pushed_down']['rejected_shift']):.2f}, "
            f"{m(lambda r: r['rejected_most_pushed_down']['abs_dloss_du_mean']):.3f} | "
            f"{sum(x['next_visit_lower'] for x in o)} / {sum(x['next_visit_at_or_below_1'] for x in o)} of "
            f"{sum(x['visits_above_1'] for x in o)} | {m(lambda r: r['grad_norm']['median']):.2f} / "
            f"{max(x['max'] for x in g):.1f}; {sum(x['spikes_with_u_below_minus1'] for x in g)} of "
            f"{sum(x['spike_steps'] for x in g)} | {m(lambda r: r['grad_norm']['corr_log_norm_vs_most_negative_u']):.2f} |")


def long_run_section(d, long_dir, rep, boot):
    """The long runs: visit by visit, their overshoots, and their answers judged."""
    stats = {r: pair_log_stats(os.path.join(long_dir, r)) for r in ("dpo", "spo", "dpo-noclip", "spo-noclip")}
    rep["long"] = stats
    info = json.load(open(os.path.join(long_dir, "info.json")))
    md = ["", f"## Long runs: {info['pairs']} pairs, {info['epochs']} epochs, beta {info['beta']}, lr {info['lr']} "
          f"for both: the pairs of the run, visit by visit (clipped at grad norm 1)", "",
          "| epoch | DPO u mean / median | DPO u > 1 | DPO chosen / rejected shift | DPO abs dL/du | "
          "SPO u mean / median | SPO u > 1 | SPO chosen / rejected shift | SPO abs dL/du |", "|---|" + "---|" * 8]
    for e, (x_dpo, x_spo) in enumerate(zip(stats["dpo"]["epochs"], stats["spo"]["epochs"]), 1):
        md.append(f"| {e} | " + " | ".join(
            f"{x['u_mean']:.3f} / {x['u_median']:.3f} | {100 * x['u_above_1']:.1f}% | {x['chosen_shift']:.2f} / "
            f"{x['rejected_shift']:.2f} | {x['abs_dloss_du_mean']:.3f}" for x in (x_dpo, x_spo)) + " |")
    files = {"SFT": os.path.join(d, "sft", "test.jsonl")}
    files.update({r.upper(): os.path.join(long_dir, r, "test.jsonl") for r in stats})
    md += ["", "| long run | test score | win rate against SFT | visits above u = 1: next lower / back <= 1 | "
           "pairs ever above 1: ending <= 1 | 10% most pushed-down rejected: shift, abs dL/du | grad norm median / max "
           "| max step loss | steps with a u < -1 pair: spikes among them / median grad norm |", "|---|" + "---|" * 8]
    rep["long_judged"] = {}
    for r, st in stats.items():
        o, t, g = st["overshoot"], st["rejected_most_pushed_down"], st["grad_norm"]
        j = judge(files[r.upper()], files["SFT"], boot)
        rep["long_judged"][r] = {"score": mean_score(files[r.upper()]), "vs_sft": j}
        neg = g["median_norm_steps_with_u_below_minus1"]
        md.append(f"| {r.upper()} | {mean_score(files[r.upper()]):.4f} | {fmt_cell(j)} | {o['next_visit_lower']} / "
                  f"{o['next_visit_at_or_below_1']} of {o['visits_above_1']} | {o['of_them_ending_at_or_below_1']} of "
                  f"{o['pairs_ever_above_1']} | {t['rejected_shift']:.2f}, {t['abs_dloss_du_mean']:.3f} | "
                  f"{g['median']:.2f} / {g['max']:.1f} | {g['loss_max']:.2f} | {g['spikes_with_u_below_minus1']} of "
                  f"{g['steps_with_u_below_minus1']} / {'-' if neg is None else f'{neg:.1f}'} |")
    for a_, b_ in (("SPO", "DPO"), ("SPO-NOCLIP", "DPO-NOCLIP"), ("SPO-NOCLIP", "SPO")):
        j = judge(files[a_], files[b_], boot)
        rep["long_judged"][f"{a_} vs {b_}"] = j
        md.append(f"\n{a_} against {b_} (long runs, test prompts): {fmt_cell(j)}")
    return md


def fmt_cell(j):
    return f"{100 * j['win_rate']:.1f}% [{100 * j['ci95'][0]:.1f}, {100 * j['ci95'][1]:.1f}]"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--betas", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--lr-dpo", required=True)
    ap.add_argument("--lr-spo", required=True)
    ap.add_argument("--sweep-lrs", default="")
    ap.add_argument("--bootstrap", type=int, default=10000)
    a = ap.parse_args()
    d, betas, seeds = a.dir, a.betas.split(), a.seeds.split()
    lrs = {"dpo": a.lr_dpo, "spo": a.lr_spo}
    sft_test = os.path.join(d, "sft", "test.jsonl")
    rep = {"betas": betas, "seeds": seeds, "lr": lrs, "pairs": json.load(open(os.path.join(d, "data", "pairs-info.json"))),
           "sft_test_score": mean_score(sft_test), "sweep": {}, "tables": {}, "scores": {}, "logs": {}}
    for loss in ("dpo", "spo"):
        for lr in a.sweep_lrs.split():
            r = run_dir(d, loss, "0.1", lr, seeds[0])
            if os.path.exists(os.path.join(r, "valid.jsonl")):
                rep["sweep"][f"{loss} lr {lr}"] = mean_score(os.path.join(r, "valid.jsonl"))
    rep["sweep"]["sft"] = mean_score(os.path.join(d, "sft", "valid.jsonl"))
    md = ["# SPO against DPO on the digit-sorting task", "",
          f"SFT test score {rep['sft_test_score']:.4f}; DPO lr {lrs['dpo']}, SPO lr {lrs['spo']} (chosen on the "
          f"validation prompts at beta 0.1); seeds {', '.join(seeds)} pooled in each cell; pairs: "
          f"{rep['pairs']['pairs']} on-policy, {100 * rep['pairs']['mislabelled_share']:.1f}% mislabelled.", ""]
    sft_pool = pooled(d, "sft", [sft_test] * len(seeds))
    for beta in betas:
        files = {"SFT": sft_pool}
        scores = {}
        for loss in ("dpo", "spo"):
            tests = [os.path.join(run_dir(d, loss, beta, lrs[loss], s), "test.jsonl") for s in seeds]
            files[loss.upper()] = pooled(d, f"{loss}-b{beta}", tests)
            per_seed = [mean_score(t) for t in tests]
            scores[loss.upper()] = {"mean": statistics.fmean(per_seed), "per_seed": per_seed}
            rep["logs"][f"{loss} beta {beta}"] = [pair_log_stats(run_dir(d, loss, beta, lrs[loss], s)) for s in seeds]
        table = {r: {c: judge(files[r], files[c], a.bootstrap) for c in MODELS if c != r} for r in MODELS}
        rep["tables"][beta], rep["scores"][beta] = table, scores
        md += [f"## beta {beta}: the row's win rate against the column (ties half), 95% bootstrap interval", "",
               "| | " + " | ".join(MODELS) + " |", "|---|" + "---|" * len(MODELS)]
        for r in MODELS:
            md.append(f"| **{r}** | " + " | ".join("—" if c == r else fmt_cell(table[r][c]) for c in MODELS) + " |")
        md += ["", "task score (mean over test prompts): SFT %.4f, DPO %.4f (seeds %s), SPO %.4f (seeds %s)" % (
            rep["sft_test_score"], scores["DPO"]["mean"], ", ".join(f"{x:.4f}" for x in scores["DPO"]["per_seed"]),
            scores["SPO"]["mean"], ", ".join(f"{x:.4f}" for x in scores["SPO"]["per_seed"])), ""]
    md += ["## What the per-pair logs show (seed means; the last epoch unless said)", "",
           "| run | u mean (epoch 1 -> last) | u > 1 | u < 0 (epoch 1 / last) | chosen shift | rejected shift | "
           "mean abs dL/du | the 10% most pushed-down rejected: shift, abs dL/du | visits above u = 1: next visit "
           "lower / back at or below 1 | grad norm median / max; spikes (> 3x median) with a u < -1 pair | "
           "corr(log grad norm, most negative u) |", "|---|" + "---|" * 10]
    for name, runs in rep["logs"].items():
        md.append(log_row(name, runs))
    long_dir = os.path.join(d, "long")
    if all(os.path.exists(os.path.join(long_dir, r, "test.jsonl")) for r in ("dpo", "spo", "dpo-noclip", "spo-noclip")):
        md += long_run_section(d, long_dir, rep, a.bootstrap)
    md += ["", "learning-rate sweep (validation score, beta 0.1, seed %s): " % seeds[0] +
           ", ".join(f"{k} {v:.4f}" for k, v in rep["sweep"].items()), ""]
    try:
        import plot_study
        figs = plot_study.draw(d, betas, seeds[0], lrs, os.path.join(d, "figures"))
        md += ["figures: " + ", ".join(os.path.relpath(f, d) for f in figs), ""]
        rep["figures"] = [os.path.relpath(f, d) for f in figs]
    except ImportError as e:  # matplotlib missing: the tables still stand
        md += [f"figures: not drawn ({e})", ""]
    open(os.path.join(d, "report.md"), "w").write("\n".join(md))
    json.dump(rep, open(os.path.join(d, "report.json"), "w"), indent=1)
    print("\n".join(md))


if __name__ == "__main__":
    main()
