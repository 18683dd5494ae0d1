#!/bin/sh
# The test command (README, .ci/run): install what is missing on a fresh Debian 12 machine,
# build the program and the test programs, run every test. Ends with "N passed, N failed".
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev python3 python3-numpy python3-torch python3-matplotlib
# Node.js runs the reference implementations the tests compare against (npm packages pinned
# in tests/package.json): any node >= 18 on PATH will do, else Debian's.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || ./scripts/install-deps.sh nodejs npm
[ -d tests/node_modules/@lenml/tokenizers ] && [ -d tests/node_modules/@huggingface/gguf ] ||
    npm ci --prefix tests --no-audit --no-fund --loglevel=error
make -s train build/engine_check build/test_ops_fd build/test_losses build/optim_check build/test_gemm_avx512 build/test_gemm_avx2 build/test_gemm_portable build/asan/train
exec ./tests/run.sh
