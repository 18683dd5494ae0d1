#!/bin/sh
# The test command (README, .ci/run): install what is missing on a fresh Debian 12 machine,
# build the program and the test programs, run every test. Ends with "N passed, N failed".
set -e
cd "$(dirname "$0")/.."
./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev python3 python3-numpy python3-torch
make -s train build/engine_check build/test_ops_fd build/asan/train
exec ./tests/run.sh
