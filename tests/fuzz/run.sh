#!/bin/sh
# usage: tests/fuzz/run.sh SECONDS TARGET...   (make fuzz runs it, after building build/fuzz/*)
# Runs each libFuzzer target for SECONDS (FUZZ_RUNS=N instead: N executions), one after
# another, never more than one process at a time: seeds from tests/fuzz/corpus/<target>, new
# inputs kept in build/fuzz/corpus/<target>, crash/leak reproducers written to
# build/fuzz/artifacts/<target>/, the whole log to build/fuzz/logs/<target>.log. Prints one line
# per target (executions, seconds, rate, clean or not); exits 1 if any target found something.
cd "$(dirname "$0")/../.." || exit 1
secs=$1
shift
status=0
for t in "$@"; do
    mkdir -p "build/fuzz/corpus/$t" "build/fuzz/artifacts/$t" build/fuzz/logs
    dict="build/fuzz/$t.dict" # the target's keys, and JSON's syntax for the targets that read JSON
    case $t in
    gguf | bpe) cat "tests/fuzz/dict/$t.dict" >"$dict" ;;
    *) cat tests/fuzz/dict/json.dict "tests/fuzz/dict/$t.dict" >"$dict" ;;
    esac
    case $t in # the longest input tried: past the largest seed
    gguf | safetensors) max_len=65536 ;;
    tokenizer_json) max_len=16384 ;;
    *) max_len=8192 ;;
    esac
    if [ -n "$FUZZ_RUNS" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$secs"; fi
    log="build/fuzz/logs/$t.log"
    start=$(date +%s)
    "build/fuzz/$t" "$limit" -max_len=$max_len -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 \
        -dict="$dict" -artifact_prefix="build/fuzz/artifacts/$t/" \
        "build/fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
    rc=$?
    end=$(date +%s)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        verdict="clean"
    else
        verdict="FOUND SOMETHING (exit $rc): see $log and build/fuzz/artifacts/$t/"
        status=1
    fi
    printf '%-15s %10s executions in %5ss (%s/s): %s\n' "$t" "${runs:-?}" "$((end - start))" "${rate:-?}" "$verdict"
done
exit $status
