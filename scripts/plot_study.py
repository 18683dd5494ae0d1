#!/usr/bin/env python3
"""The study's figures (PNG) from its runs' pairs.jsonl and metrics.jsonl, DPO against SPO,
one column per beta: u's distribution over training, the chosen and rejected log-prob shifts,
the gradient norm, each pair's |dL/du| against its u, and u's distribution in the last epoch.

usage: plot_study.py STUDY_DIR --betas "0.05 0.1 0.5" --seed 1 --lr-dpo LR --lr-spo LR [--out DIR]
(study_report.py calls draw() itself.)"""
import argparse
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLOR = {"dpo": "tab:blue", "spo": "tab:red"}


def load(d, loss, beta, lr, seed):
    run = os.path.join(d, "runs", f"{loss}-b{beta}-lr{lr}-s{seed}")
    pairs = [json.loads(l) for l in open(os.path.join(run, "pairs.jsonl"))]
    metrics = [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
    return pairs, metrics


def binned(pairs, key, width):
    """(step centre, values) per bin of `width` steps."""
    bins = {}
    for p in pairs:
        bins.setdefault((p["step"] - 1) // width, []).append(key(p))
    return [((b + 0.5) * width, sorted(v)) for b, v in sorted(bins.items())]


def q(v, f):
    return v[min(len(v) - 1, int(f * len(v)))]


def grid(betas, title):
    fig, axes = plt.subplots(1, len(betas), figsize=(max(6.5, 4.2 * len(betas)), 3.6), squeeze=False)
    fig.suptitle(title, fontsize=10)
    return fig, axes[0]


def save(fig, out, name, files):
    fig.tight_layout()
    path = os.path.join(out, name)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    files.append(path)


def draw(d, betas, seed, lrs, out):
    os.makedirs(out, exist_ok=True)
    runs = {(loss, b): load(d, loss, b, lrs[loss], seed) for b in betas for loss in ("dpo", "spo")}
    files = []

    fig, axes = grid(betas, f"u = beta * margin over training (median, 10-90% band; seed {seed})")
    for ax, b in zip(axes, betas):
        for loss in ("dpo", "spo"):
            rows = binned(runs[loss, b][0], lambda p: p["u"], 10)
            x = [r[0] for r in rows]
            ax.fill_between(x, [q(r[1], 0.1) for r in rows], [q(r[1], 0.9) for r in rows], color=COLOR[loss], alpha=0.2)
            ax.plot(x, [q(r[1], 0.5) for r in rows], color=COLOR[loss], label=loss.upper())
        ax.axhline(1, color="k", lw=0.6, ls="--")
        ax.axhline(0, color="k", lw=0.6)
        ax.set(title=f"beta {b}", xlabel="step", ylabel="u")
        ax.legend()
    save(fig, out, "u_over_training.png", files)

    fig, axes = grid(betas, "log-prob shift from the reference, chosen (solid) and rejected (dashed), mean per 10 steps")
    for ax, b in zip(axes, betas):
        for loss in ("dpo", "spo"):
            for key, ls in (("chosen", "-"), ("rejected", "--")):
                rows = binned(runs[loss, b][0], lambda p, k=key: p[f"logp_{k}"] - p[f"ref_{k}"], 10)
                ax.plot([r[0] for r in rows], [sum(r[1]) / len(r[1]) for r in rows], color=COLOR[loss], ls=ls,
                        label=f"{loss.upper()} {key}")
        ax.axhline(0, color="k", lw=0.6)
        ax.set(title=f"beta {b}", xlabel="step", ylabel="log pi - log pi_ref (nats)")
        ax.legend(fontsize=7)
    save(fig, out, "logp_shifts.png", files)

    fig, axes = grid(betas, "gradient norm before clipping (clipped to 1)")
    for ax, b in zip(axes, betas):
        for loss in ("dpo", "spo"):
            m = runs[loss, b][1]
            ax.plot([r["step"] for r in m], [r["grad_norm"] for r in m], color=COLOR[loss], lw=0.6, label=loss.upper())
        ax.set(title=f"beta {b}", xlabel="step", ylabel="grad norm", yscale="log")
        ax.legend()
    save(fig, out, "grad_norm.png", files)

    fig, axes = grid(betas, "each pair's |dL/du| against its u (every visit), with the losses' curves")
    for ax, b in zip(axes, betas):
        lo = min(p["u"] for loss in ("dpo", "spo") for p in runs[loss, b][0])
        hi = max(p["u"] for loss in ("dpo", "spo") for p in runs[loss, b][0])
        us = [lo + (hi - lo) * i / 200 for i in range(201)]
        for loss in ("dpo", "spo"):
            pairs = runs[loss, b][0]
            ax.scatter([p["u"] for p in pairs], [abs(p["dloss_du"]) for p in pairs], s=2, alpha=0.3, color=COLOR[loss],
                       label=loss.upper())
        ax.plot(us, [1 / (1 + math.exp(u)) for u in us], color=COLOR["dpo"], lw=0.8)
        ax.plot(us, [abs(max(u, -20) - 1) * math.exp(-max(u, -20)) for u in us], color=COLOR["spo"], lw=0.8)  # clamped as loss.c
        ax.axvline(1, color="k", lw=0.6, ls="--")
        ax.set(title=f"beta {b}", xlabel="u", ylabel="|dL/du|")
        ax.legend()
    save(fig, out, "dloss_du_vs_u.png", files)

    fig, axes = grid(betas, "u in the second epoch (every pair's second visit)")
    for ax, b in zip(axes, betas):
        for loss in ("dpo", "spo"):
            pairs, m = runs[loss, b]
            half = m[-1]["step"] // 2
            ax.hist([p["u"] for p in pairs if p["step"] > half], bins=60, alpha=0.5, color=COLOR[loss], label=loss.upper())
        ax.axvline(1, color="k", lw=0.6, ls="--")
        ax.set(title=f"beta {b}", xlabel="u", ylabel="pairs")
        ax.legend()
    save(fig, out, "u_last_epoch.png", files)
    if all(os.path.exists(os.path.join(d, "long", loss, "pairs.jsonl")) for loss in ("dpo", "spo")):
        draw_long(d, out, files)
    return files


def draw_long(d, out, files):
    """The long runs: every pair's u visit by visit, and the log-prob shifts by epoch."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    fig.suptitle("long runs (few pairs, many epochs): each pair's u at each visit; log-prob shifts", fontsize=10)
    for k, loss in enumerate(("dpo", "spo")):
        pairs = [json.loads(l) for l in open(os.path.join(d, "long", loss, "pairs.jsonl"))]
        by_row = {}
        for p in pairs:
            by_row.setdefault(p["row"], []).append(p)
        ax = axes[k]
        for row in sorted(by_row)[:60]:
            ax.plot(range(1, len(by_row[row]) + 1), [p["u"] for p in by_row[row]], color=COLOR[loss], lw=0.4, alpha=0.5)
        n = max(len(v) for v in by_row.values())
        med = [sorted(v[e]["u"] for v in by_row.values() if len(v) > e) for e in range(n)]
        ax.plot(range(1, n + 1), [q(m, 0.5) for m in med], color="k", lw=1.5, label="median")
        ax.axhline(1, color="k", lw=0.6, ls="--")
        ax.axhline(0, color="k", lw=0.6)
        ax.set(title=f"{loss.upper()}: u per pair (60 of {len(by_row)})", xlabel="epoch (visit)", ylabel="u")
        ax.legend()
        for key, ls in (("chosen", "-"), ("rejected", "--")):
            shift = [sum(v[e][f"logp_{key}"] - v[e][f"ref_{key}"] for v in by_row.values() if len(v) > e) /
                     sum(1 for v in by_row.values() if len(v) > e) for e in range(n)]
            axes[2].plot(range(1, n + 1), shift, color=COLOR[loss], ls=ls, label=f"{loss.upper()} {key}")
    axes[2].axhline(0, color="k", lw=0.6)
    axes[2].set(title="mean log pi - log pi_ref", xlabel="epoch (visit)", ylabel="nats")
    axes[2].legend(fontsize=7)
    save(fig, out, "long_runs.png", files)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--betas", required=True)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--lr-dpo", required=True)
    ap.add_argument("--lr-spo", required=True)
    ap.add_argument("--out")
    a = ap.parse_args()
    for f in draw(a.dir, a.betas.split(), a.seed, {"dpo": a.lr_dpo, "spo": a.lr_spo}, a.out or os.path.join(a.dir, "figures")):
        print(f)


if __name__ == "__main__":
    main()
