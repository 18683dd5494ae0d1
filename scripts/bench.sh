#!/bin/sh
# make bench: what the engine costs today, measured, never asserted (the machine is shared
# and noisy). Forward+backward time and the arena plan next to the measured peak RSS.
# The shapes are the ones the performance issue names; kernels are still the simple ones.
set -e
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
shape() { # name hidden layers heads kv ffn vocab
    cat >"$tmp/$1.json" <<JSON
{"model_type": "qwen2", "hidden_size": $2, "num_hidden_layers": $3, "num_attention_heads": $4,
 "num_key_value_heads": $5, "intermediate_size": $6, "vocab_size": $7, "tie_word_embeddings": false,
 "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}
JSON
}
shape tiny 256 4 8 4 768 32000
shape qwen-4layers 896 4 14 2 4864 151936
for t in 1 2; do
    echo "== tiny (vocab 32000, dim 256, 4 layers, 8/4 heads, ffn 768), batch 4 x 256, $t thread(s)"
    ./build/engine_check --init "$tmp/tiny.json" --random-batch 4,256 --repeat 5 --threads $t
done
echo "== qwen-shape cut to 4 layers (vocab 151936, dim 896, 14/2 heads, ffn 4864), batch 2 x 256, 2 threads"
./build/engine_check --init "$tmp/qwen-4layers.json" --random-batch 2,256 --repeat 3 --threads 2
echo "== eval stage, default model and sample data"
./train --stage eval --report-memory --out "$tmp/eval.jsonl"
