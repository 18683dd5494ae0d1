#!/bin/sh
# The main job (make run): the mission in miniature on the digit-sorting task that ships in
# data/task (scripts/task.py): SFT of the small default model from random weights, then SPO from
# that checkpoint on pairs made from its own samples, then the two judged against each other on
# held-out test prompts by the task's scorer (scripts/judge.py). About 3 minutes on 2 cores.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev python3
PY=/usr/bin/python3
make -s train
mkdir -p runs/task
rm -rf runs/sft runs/pref-spo
echo "== SFT: ./train --stage sft --config configs/task-sft.json  (8000 task chats -> runs/sft)"
./train --stage sft --config configs/task-sft.json
sft=$(ls -d runs/sft/checkpoint-* | sort -t- -k2 -n | tail -1)
echo "== pairs: 4 samples of $sft per preference prompt, rated by the scorer through noise"
./train --stage generate --model "$sft" --data data/task/pref_prompts.jsonl --num-samples 4 --temperature 1 --top-p 1 \
    --max-new-tokens 24 --batch-size 256 --seed 1 --out runs/task/samples.jsonl
$PY scripts/task.py pairs runs/task/samples.jsonl runs/task/pairs.jsonl --seed 1
echo "== SPO: ./train --stage pref --loss spo --beta 0.1 --config configs/task-spo.json  (from $sft -> runs/pref-spo)"
./train --stage pref --loss spo --beta 0.1 --config configs/task-spo.json --data runs/task/pairs.jsonl
spo=$(ls -d runs/pref-spo/checkpoint-* | sort -t- -k2 -n | tail -1)
echo "== answers: SFT and SPO, greedy, on the 500 held-out test prompts"
./train --stage generate --data data/task/test_prompts.jsonl --temperature 0 --max-new-tokens 24 --batch-size 64 \
    --seed 1 --out runs/task/test-untrained.jsonl 2>/dev/null # the same model before SFT: its random weights
for m in sft:$sft spo:$spo; do
    ./train --stage generate --model "${m#*:}" --data data/task/test_prompts.jsonl --temperature 0 --max-new-tokens 24 \
        --batch-size 64 --out runs/task/test-${m%%:*}.jsonl 2>/dev/null
done
$PY scripts/judge.py runs/task/test-spo.jsonl runs/task/test-sft.jsonl >runs/task/judge-spo-sft.jsonl
$PY - <<'PY'
import json, sys
sys.path.insert(0, "scripts")
import task
j = json.loads(open("runs/task/judge-spo-sft.jsonl").read().splitlines()[-1])
rows = {m: [json.loads(l) for l in open(f"runs/task/test-{m}.jsonl")] for m in ("untrained", "sft", "spo")}
score = {m: sum(task.score(r["prompt"], r["completion"]) for r in v) / len(v) for m, v in rows.items()}
exact = {m: sum(task.score(r["prompt"], r["completion"]) == 1 for r in v) / len(v) for m, v in rows.items()}
print("\n== SPO against SFT on 500 held-out prompts (scripts/judge.py, the task's scorer; score: mean partial "
      "credit, exact: share of answers entirely right)")
print(f"{'model':9} {'score':>6} {'exact':>6}   {'SPO wins':>8} {'ties':>5} {'SFT wins':>8}   SPO win rate [95% CI]")
print(f"{'untrained':9} {score['untrained']:6.3f} {100 * exact['untrained']:5.1f}%")
print(f"{'SFT':9} {score['sft']:6.3f} {100 * exact['sft']:5.1f}%")
print(f"{'SPO':9} {score['spo']:6.3f} {100 * exact['spo']:5.1f}%   {j['wins']:8d} {j['ties']:5d} {j['losses']:8d}   "
      f"{100 * j['win_rate']:.1f}% [{100 * j['ci95'][0]:.1f}, {100 * j['ci95'][1]:.1f}]")
for r in rows["spo"][:3]:
    print(f"  {r['prompt']!r} -> SPO {r['completion']!r} (score {task.score(r['prompt'], r['completion']):.2f})")
PY
echo "metrics: runs/sft/metrics.jsonl, runs/pref-spo/metrics.jsonl (per-pair: runs/pref-spo/pairs.jsonl); answers: runs/task/"
echo "curves: $PY scripts/plot_metrics.py runs/pref-spo  (needs python3-matplotlib); the study: scripts/study.sh"
