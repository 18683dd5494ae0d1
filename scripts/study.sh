#!/bin/sh
# The SPO-against-DPO study on the digit-sorting task (scripts/task.py, data/task).
#
#   scripts/study.sh [--quick] [--out DIR]      (default DIR: runs/study, runs/study-quick)
#
# 1. SFT of the small default model from random weights on the task's chats: the checkpoint
#    every preference run starts from, and their frozen reference.
# 2. Preference pairs made on-policy, as UltraFeedback's were: 4 samples of the SFT model per
#    preference prompt (temperature 1), rated by the scorer through noise, chosen = the best
#    rated, rejected = a worse rated one (task.py pairs).
# 3. The learning-rate sweep: DPO and SPO at beta 0.1, seed 1, each learning rate; each loss
#    keeps the one whose model scores best on the validation prompts (never the test prompts).
# 4. The grid: DPO and SPO at each beta and seed with their learning rate; the same pairs,
#    steps and seeds for both. Every model answers the test prompts greedily.
# 5. Long runs: DPO and SPO on a few pairs for many epochs, the regime of the paper's claims
#    about margins and vanishing gradients, every visit of every pair logged; with and without
#    gradient clipping; their answers judged too.
# 6. The report (study_report.py): per beta the win-rate matrix of SFT, DPO and SPO judged by
#    scripts/judge.py (seeds pooled, bootstrap over prompts), task scores, what the per-pair
#    logs show about u, and the figures (plot_study.py). DIR/report.md and DIR/report.json.
#
# --quick runs the same pipeline on slices of the data, one beta, one seed and two learning
# rates, in a minute or two: a test of the harness, not of the paper's outcome.
set -e
cd "$(dirname "$0")/.."
quick=0
out=
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --out) out="$2"; shift ;;
    *) echo "usage: scripts/study.sh [--quick] [--out DIR]" >&2; exit 2 ;;
    esac
    shift
done
PY=/usr/bin/python3 # Debian's, the one that sees python3-matplotlib
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev python3 python3-matplotlib
make -s train

if [ $quick = 1 ]; then
    out=${out:-runs/study-quick}
    sft_rows=1500 pref_rows=300 test_rows=100 valid_rows=60 betas="0.1" seeds="1" lrs="1e-4 3e-4" boot=2000
    long_pairs=64 long_epochs=4 long_lr=3e-4 long_beta=0.5
else
    out=${out:-runs/study}
    sft_rows=8000 pref_rows=2000 test_rows=500 valid_rows=200 betas="0.05 0.1 0.5" seeds="1 2 3" lrs="1e-5 3e-5 1e-4 3e-4"
    boot=10000 long_pairs=256 long_epochs=12 long_lr=3e-4 long_beta=0.5
fi
threads=${THREADS:-0}
mkdir -p "$out/data"
data="$out/data"
head -n $sft_rows data/task/sft_train.jsonl >"$data/sft_train.jsonl"
head -n $pref_rows data/task/pref_prompts.jsonl >"$data/pref_prompts.jsonl"
head -n $test_rows data/task/test_prompts.jsonl >"$data/test_prompts.jsonl"
head -n $valid_rows data/task/valid_prompts.jsonl >"$data/valid_prompts.jsonl"
log="$out/study.log"
: >"$log"
say() { echo "== $*" | tee -a "$log" >&2; }
newest() { ls -d "$1"/checkpoint-* | sort -t- -k2 -n | tail -1; }
answer() { # answer MODEL PROMPTS OUT: greedy answers, one line per prompt
    ./train --stage generate --model "$1" --data "$2" --temperature 0 --max-new-tokens 24 --batch-size 64 \
        --threads $threads --out "$3" 2>>"$log"
}
t0=$(date +%s)

say "SFT: $sft_rows chats, from random weights -> $out/sft"
[ -f "$out/sft/done" ] || {
    rm -rf "$out/sft"
    ./train --stage sft --data "$data/sft_train.jsonl" --out "$out/sft" --batch-size 1 --seq-len 512 --packing \
        --lr 3e-3 --warmup 5 --epochs 1 --seed 1 --threads $threads 2>>"$log"
    touch "$out/sft/done"
}
sft=$(newest "$out/sft")
answer "$sft" "$data/test_prompts.jsonl" "$out/sft/test.jsonl"
answer "$sft" "$data/valid_prompts.jsonl" "$out/sft/valid.jsonl"

say "pairs: 4 samples of the SFT model per preference prompt, rated with noise -> $data/pairs.jsonl"
./train --stage generate --model "$sft" --data "$data/pref_prompts.jsonl" --num-samples 4 --temperature 1 --top-p 1 \
    --max-new-tokens 24 --batch-size 256 --seed 1 --threads $threads --out "$data/samples.jsonl" 2>>"$log"
$PY scripts/task.py pairs "$data/samples.jsonl" "$data/pairs.jsonl" --seed 1 | tee "$data/pairs-info.json"

pref() { # pref LOSS BETA LR SEED: one preference run from the SFT checkpoint, its answers
    run="$out/runs/$1-b$2-lr$3-s$4"
    if [ ! -f "$run/done" ]; then
        rm -rf "$run"
        ./train --stage pref --model "$sft" --data "$data/pairs.jsonl" --out "$run" --loss $1 --beta $2 --lr $3 \
            --seed $4 --batch-size 8 --seq-len 128 --epochs 2 --warmup 10 --precompute-ref --log-pairs \
            --threads $threads 2>>"$log"
        ck=$(newest "$run")
        answer "$ck" "$data/valid_prompts.jsonl" "$run/valid.jsonl"
        answer "$ck" "$data/test_prompts.jsonl" "$run/test.jsonl"
        rm -f "$ck/optimizer.safetensors" # the study needs no resume; keeps the run small
        touch "$run/done"
    fi
    echo "$run"
}
score() { $PY scripts/task.py score "$1" | sed 's/.*"mean_score": \([0-9.]*\).*/\1/'; }

say "learning-rate sweep at beta 0.1, seed 1: $lrs (chosen on the validation prompts)"
for loss in dpo spo; do
    best= best_score=-1
    for lr in $lrs; do
        run=$(pref $loss 0.1 $lr 1)
        s=$(score "$run/valid.jsonl")
        say "  $loss lr $lr: validation score $s"
        if $PY -c "import sys; sys.exit(0 if $s > $best_score else 1)"; then best=$lr best_score=$s; fi
    done
    eval "lr_$loss=$best"
    say "  $loss: lr $best"
done

say "grid: beta $betas, seeds $seeds, DPO lr $lr_dpo, SPO lr $lr_spo"
for beta in $betas; do
    for seed in $seeds; do
        for loss in dpo spo; do
            eval "lr=\$lr_$loss"
            run=$(pref $loss $beta $lr $seed)
            say "  $loss beta $beta seed $seed: test score $(score "$run/test.jsonl")"
        done
    done
done

# the regime the paper's claims are about: few pairs, many epochs, until the margins are large;
# once with gradient clipping at 1 (as every run here), once without, to see what SPO's
# e^(-u) gradient for u < 0 does when nothing bounds the step
say "long runs: DPO and SPO on $long_pairs pairs for $long_epochs epochs, beta $long_beta, lr $long_lr (the same for both), clipped and not"
head -n $long_pairs "$data/pairs.jsonl" >"$data/pairs-long.jsonl"
for run_name in dpo spo dpo-noclip spo-noclip; do
    run="$out/long/$run_name"
    if [ ! -f "$run/done" ]; then
        rm -rf "$run"
        clip=1
        case $run_name in *-noclip) clip=0 ;; esac
        ./train --stage pref --model "$sft" --data "$data/pairs-long.jsonl" --out "$run" --loss ${run_name%-noclip} \
            --beta $long_beta --lr $long_lr --max-grad-norm $clip --seed 1 --batch-size 8 --seq-len 128 \
            --epochs $long_epochs --warmup 10 --precompute-ref --log-pairs --threads $threads 2>>"$log"
        rm -f "$(newest "$run")/optimizer.safetensors"
        touch "$run/done"
    fi
    [ -f "$run/test.jsonl" ] || answer "$(newest "$run")" "$data/test_prompts.jsonl" "$run/test.jsonl"
done
echo "{\"pairs\": $long_pairs, \"epochs\": $long_epochs, \"beta\": $long_beta, \"lr\": $long_lr}" >"$out/long/info.json"

say "report: $out/report.md"
$PY scripts/study_report.py "$out" --betas "$betas" --seeds "$seeds" --lr-dpo $lr_dpo --lr-spo $lr_spo \
    --sweep-lrs "$lrs" --bootstrap $boot
t1=$(date +%s)
say "study done in $((t1 - t0)) s"
