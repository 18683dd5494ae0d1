#!/bin/sh
# The 7B LoRA runs of the mission, measured on this machine without downloading anything: a
# random-weight Qwen2.5-7B of the exact shape as a Q4_K GGUF (scripts/make_random_gguf.py),
# one optimizer step of LoRA SFT at 1 x 512 tokens and one of LoRA SPO on one pair of
# 2 x 512 tokens, both with --recompute and --report-memory (peak RSS against the arena plan),
# and an eval of the base. Takes about half an hour on 2 cores; needs ~5 GB of disk.
# usage: scripts/measure_lora_7b.sh [WORKDIR] [CONFIG] [TYPE]   (defaults: /tmp/lora-7b,
#        configs/qwen2.5-7b-lora.json, q4_k)
set -e
cd "$(dirname "$0")/.."
W=${1:-/tmp/lora-7b}
CFG=${2:-configs/qwen2.5-7b-lora.json}
TYPE=${3:-q4_k}
mkdir -p "$W"
make -s train
MODEL="$W/$(basename "$CFG" .json)-$TYPE.gguf"
[ -f "$MODEL" ] || /usr/bin/python3 scripts/make_random_gguf.py "$CFG" "$MODEL" --type "$TYPE"
/usr/bin/python3 - "$W" "$CFG" <<'PY'
import json, random, sys
w, cfg = sys.argv[1:3]
V = json.load(open(cfg))["model_config"]["vocab_size"]
rnd = random.Random(0)
ids = lambda n: [rnd.randrange(V) for _ in range(n)]
with open(f"{w}/sft.jsonl", "w") as f:  # every token trained
    f.write(json.dumps({"input_ids": ids(512)}) + "\n")
with open(f"{w}/pref.jsonl", "w") as f:  # short prompt: the pair's 2 x 512 tokens nearly all scored
    f.write(json.dumps({"prompt_input_ids": ids(2), "chosen_input_ids": ids(510), "rejected_input_ids": ids(510)}) + "\n")
PY
echo "== $MODEL: $(du -h "$MODEL" | cut -f1)"
./train --stage sft --config "$CFG" --model "$MODEL" --data "$W/sft.jsonl" --batch-size 1 --grad-accum 1 \
    --seq-len 512 --max-steps 1 --recompute --report-memory --out "$W/sft" 2>&1 | grep -v "^data:"
./train --stage pref --config "${CFG%.json}-pref.json" --model "$MODEL" --data "$W/pref.jsonl" --batch-size 1 \
    --grad-accum 1 --seq-len 512 --max-steps 1 --recompute --report-memory --out "$W/pref" 2>&1 | grep -v "^data:"
./train --stage eval --model "$MODEL" --data "$W/sft.jsonl" --seq-len 512 --batch-size 1 --report-memory 2>&1 >/dev/null | grep -v "^data:"
