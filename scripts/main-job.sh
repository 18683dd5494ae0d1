#!/bin/sh
# The main job on the shipped default model and sample data (make run).
# The goal is SFT then SPO; until the training stages land, it runs what works today:
# scoring the sample chats and preference pairs with the default model and its tokenizer,
# and the memory plans of the full-size SFT and SPO runs.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev
make -s train
mkdir -p runs
echo "== eval: default model (initialised from --seed 42) on data/sample-ultrachat.jsonl"
./train --stage eval --out runs/eval-sft.jsonl --report-memory
echo "== eval: preference pairs, data/sample-ultrafeedback.jsonl"
./train --stage eval --data data/sample-ultrafeedback.jsonl --out runs/eval-pref.jsonl
echo "   per-row results in runs/eval-sft.jsonl and runs/eval-pref.jsonl"
echo "== memory plan: Qwen2.5-7B SFT (configs/qwen2.5-7b.json)"
./train --dry-run --config configs/qwen2.5-7b.json
echo "== memory plan: Qwen2.5-7B SPO (configs/qwen2.5-7b-pref.json)"
./train --dry-run --config configs/qwen2.5-7b-pref.json
