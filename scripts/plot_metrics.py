#!/usr/bin/env python3
"""Any run's curves from its metrics.jsonl: loss, gradient norm, learning rate and, for preference
runs, rewards (chosen, rejected), margins, accuracies, log-probs and u. Several run directories
are drawn on the same axes, one colour each; a panel is drawn when some run logged its metric.

usage: plot_metrics.py RUN_DIR [RUN_DIR ...] [--out FILE.png] [--smooth N]
(default --out: metrics.png in the first run directory; --smooth: running mean over N steps)"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PANELS = [("loss", ["loss"]), ("grad norm", ["grad_norm"]), ("learning rate", ["learning_rate"]),
          ("rewards", ["rewards/chosen", "rewards/rejected"]), ("reward margin", ["rewards/margins"]),
          ("reward accuracy", ["rewards/accuracies"]), ("log-probs", ["logps/chosen", "logps/rejected"]),
          ("u = beta * margin", ["u/mean", "u/min", "u/max"]), ("tokens / s", ["tokens_per_second"])]
STYLE = ["-", "--", ":"]


def read(run):
    path = os.path.join(run, "metrics.jsonl") if os.path.isdir(run) else run
    try:
        lines = open(path).read().splitlines()
    except OSError as e:
        sys.exit(f"plot_metrics.py: {path}: cannot open: {e.strerror}")
    rows = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                sys.exit(f"plot_metrics.py: {path}:{n}: not JSON: {e.msg}")
    if not rows:
        sys.exit(f"plot_metrics.py: {path}: no steps logged")
    return rows


def smooth(v, n):
    if n <= 1:
        return v
    out, acc = [], 0.0
    for i, x in enumerate(v):
        acc += x - (v[i - n] if i >= n else 0)
        out.append(acc / min(i + 1, n))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--out")
    ap.add_argument("--smooth", type=int, default=1)
    a = ap.parse_args()
    data = [(r.rstrip("/"), read(r)) for r in a.runs]
    panels = [(t, [k for k in keys if any(k in row for _, rows in data for row in rows)]) for t, keys in PANELS]
    panels = [(t, keys) for t, keys in panels if keys]
    cols = 3
    nrows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.3 * cols, 3.1 * nrows), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for i, (name, rows) in enumerate(data):
            for j, k in enumerate(keys):
                pts = [(r["step"], r[k]) for r in rows if k in r]
                if pts:
                    ax.plot([p[0] for p in pts], smooth([p[1] for p in pts], a.smooth), color=f"C{i}", ls=STYLE[j % 3],
                            lw=0.9, label=f"{os.path.basename(name)} {k}" if len(keys) > 1 or len(data) > 1 else None)
        if title == "grad norm":
            ax.set_yscale("log")
        ax.set(title=title, xlabel="step")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    out = a.out or os.path.join(a.runs[0] if os.path.isdir(a.runs[0]) else os.path.dirname(a.runs[0]), "metrics.png")
    fig.savefig(out, dpi=100)
    print(out)


if __name__ == "__main__":
    main()
