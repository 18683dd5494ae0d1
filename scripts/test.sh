#!/bin/sh
# The test command (README, .ci/run): install what is missing on a fresh Debian 12 machine,
# build the program and the test programs, run every test. Ends with "N passed, N failed".
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev python3 python3-numpy python3-torch python3-matplotlib libopenmpi-dev openmpi-bin
# Node.js runs the reference implementations the tests compare against (npm packages pinned
# in tests/package.json): any node >= 18 on PATH will do, else Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || ./scripts/install-deps.sh nodejs npm
[ -d tests/node_modules/@lenml/tokenizers ] && [ -d tests/node_modules/@huggingface/gguf ] &&
    [ -d tests/node_modules/parquet-wasm ] && [ -d tests/node_modules/apache-arrow ] ||
    npm ci --prefix tests --no-audit --no-fund --loglevel=error
# the parquet-to-JSONL converter's own packages (scripts/parquet/package.json), as a user installs them
[ -d scripts/parquet/node_modules/hyparquet ] && [ -d scripts/parquet/node_modules/hyparquet-compressors ] ||
    npm ci --prefix scripts/parquet --no-audit --no-fund --loglevel=error
make -s train build/engine_check build/test_ops_fd build/test_losses build/optim_check build/test_gemm_avx512 build/test_gemm_avx2 build/test_gemm_portable build/asan/train
# the data-parallel build too (tests/test_mpi.py), beside the plain one
make -s USE_MPI=1 BIN=build/mpi/train
[ "${1:-}" = "--asan" ] || exec ./tests/run.sh

# --asan (make test-asan): the same tests against AddressSanitizer + UBSan builds of the program
# and of every test program, in build/asan-tree: links to this tree's files, with its own
# ./train and build/ (each test finds the program next to its own directory). Any sanitizer
# report aborts the program, which its test then counts as a failure; leaks are reported too.
make -s asan-tree
tree=build/asan-tree
for f in configs data scripts tests include src Makefile README.md; do ln -sfn "../../$f" "$tree/$f"; done
mkdir -p "$tree/build/asan"
ln -f "$tree/train" "$tree/build/asan/train"
export SANITIZED=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
exec "$tree/tests/run.sh"
