#!/bin/sh
# The main job (make run): SFT of the small default model on the sample chats, then SPO
# from that checkpoint on the sample preference pairs, then a look at the result.
# Everything ships in the repository; nothing is downloaded. About 3.5 minutes on 2 cores.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev
make -s train
echo "== SFT: ./train --stage sft  (configs/default-sft.json, data/sample-ultrachat.jsonl -> runs/sft)"
./train --stage sft
echo "== SPO: ./train --stage pref --loss spo --beta 0.1  (from the newest runs/sft checkpoint -> runs/pref-spo)"
./train --stage pref --loss spo --beta 0.1
sft=$(ls -d runs/sft/checkpoint-* | sort -t- -k2 -n | tail -1)
spo=$(ls -d runs/pref-spo/checkpoint-* | sort -t- -k2 -n | tail -1)
echo "== eval: $spo against its reference $sft on the sample pairs"
./train --stage eval --model "$spo" --ref-model "$sft" --data data/sample-ultrafeedback.jsonl --loss spo \
    --beta 0.1 --seq-len 512 --out runs/eval-pref-spo.jsonl
echo "== generate: one greedy answer from $spo"
./train --stage generate --model "$spo" --prompt "What is 7 + 5?" --temperature 0 --max-new-tokens 32
echo "metrics: runs/sft/metrics.jsonl, runs/pref-spo/metrics.jsonl; per-pair rewards: runs/eval-pref-spo.jsonl"
