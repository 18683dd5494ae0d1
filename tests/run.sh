#!/bin/sh
# Runs every test; each prints one "PASS: ..." or "FAIL: ..." line per check. A test
# program that crashes, exits non-zero without a FAIL line, or checks nothing counts as a
# failure of its own. Ends with the summary line "N passed, N failed".
cd "$(dirname "$0")/.." || exit 1
PY=/usr/bin/python3   # Debian's python3, the one that sees python3-torch
log=$(mktemp)
trap 'rm -f "$log" "$log.one"' EXIT

run() { # name, command...
    name=$1; shift
    echo "== $name"
    "$@" >"$log.one" 2>&1
    status=$?
    cat "$log.one"
    cat "$log.one" >>"$log"
    checks=$(grep -c -E '^(PASS|FAIL):' "$log.one")
    fails=$(grep -c '^FAIL:' "$log.one")
    skips=$(grep -c '^SKIP:' "$log.one")
    if [ "$status" -ne 0 ] && [ "$fails" -eq 0 ]; then
        echo "FAIL: $name exited with status $status" | tee -a "$log"
    elif [ "$checks" -eq 0 ] && [ "$skips" -eq 0 ]; then
        echo "FAIL: $name ran no checks" | tee -a "$log"
    fi
}

skip() { # name, why: a check this machine cannot run, said out loud, counted apart
    echo "== $1"
    echo "SKIP: $2" | tee -a "$log"
}

run "finite differences (double precision, C)" ./build/test_ops_fd
if grep -qw avx512f /proc/cpuinfo; then
    run "matrix multiply: AVX-512 kernel against the triple loop" ./build/test_gemm_avx512
else
    skip "matrix multiply: AVX-512 kernel against the triple loop" "this CPU has no AVX-512"
fi
run "matrix multiply: AVX2 kernel against the triple loop" ./build/test_gemm_avx2
run "matrix multiply: portable kernel against the triple loop" ./build/test_gemm_portable
run "PyTorch oracle (forward, backward, preference steps)" $PY tests/test_oracle.py
run "bf16 products against PyTorch's bf16 semantics; bf16 training tracks fp32" $PY tests/test_bf16.py
run "LoRA against PyTorch; a quantized base against its dequantized copy" $PY tests/test_lora.py
run "preference losses against closed-form vectors (C)" ./build/test_losses
run "optimizer against torch.optim.AdamW" $PY tests/test_optim.py
run "bad input" $PY tests/test_bad_inputs.py
run "fuzz corpora: seeds and crash reproducers under ASan + UBSan (gcc)" $PY tests/test_fuzz_corpus.py
run "weights in and out" $PY tests/test_weights_io.py
run "GGUF in and out" $PY tests/test_gguf.py
run "tokenizer files in both formats" $PY tests/test_tokenizer_files.py
run "tokenizer conformance (ids as the reference tokenizers)" $PY tests/test_tokenizer.py
run "chat templates and datasets" $PY tests/test_chat_data.py
run "the hub's parquet files to JSONL: both datasets' schemas, four codecs, bad files" $PY tests/test_parquet.py
run "generation: the KV cache against the full forward, torch and --no-kv-cache" $PY tests/test_generate.py
run "the study's task: scorer, datasets, pairs" $PY tests/test_task.py
run "the pairwise judge: known verdicts, external verdicts, exact intervals" $PY tests/test_judge.py
run "the study's pipeline: study.sh --quick, per-pair logs, report, figures" $PY tests/test_study.py
run "training: metrics, checkpoints, resume, kill -9, learning" $PY tests/test_training.py
run "LoRA runs: PEFT files, resume, step 0, merge, llama.cpp LoRA GGUF" $PY tests/test_lora_runs.py
run "faults: a NaN step, a full disk, changed data, kill -9 ten times" $PY tests/test_faults.py
run "data parallel over Open MPI: ranks against one process, resume, a killed or hung rank" $PY tests/test_mpi.py
run "arena plan and defaults" $PY tests/test_plan.py
if [ -n "${SANITIZED:-}" ]; then
    skip "peak memory against the plan" "a sanitized build's shadow memory and quarantine are not the plan's to account for"
else
    run "peak memory against the plan" $PY tests/test_memory.py
fi

passed=$(grep -c '^PASS:' "$log")
failed=$(grep -c '^FAIL:' "$log")
skipped=$(grep -c '^SKIP:' "$log")
[ "$skipped" -eq 0 ] || echo "$skipped skipped (see SKIP: above)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
