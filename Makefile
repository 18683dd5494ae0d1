# make            build ./train
# make test       the README's test command: installs missing Debian packages, builds, runs every test
# make run        the main job on the default model and sample data
# make bench      measurements (speed, memory against the plan); never part of the tests
CC      ?= gcc
CFLAGS  ?= -O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp -std=c11 -Wall -Wextra -Wno-unused-parameter -g
CPPFLAGS = -D_GNU_SOURCE -Iinclude $(shell pkg-config --cflags libcjson 2>/dev/null || echo -I/usr/include/cjson)
LDLIBS   = -lcjson -lstb -lutf8proc -lm -fopenmp

LIB_SRC  = $(filter-out src/train.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=build/%.o)
HEADERS  = $(wildcard include/*.h)

.PHONY: all deps test bench run clean
all: train

train: build/train.o build/libtrainer.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

build/libtrainer.a: $(LIB_OBJ)
	ar rcs $@ $^

build/%.o: src/%.c $(HEADERS) | build
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build:
	mkdir -p build

# Test programs, linked against the same library.
build/engine_check: tests/engine_check.c build/libtrainer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The operations compiled in double precision for the finite-difference check.
build/test_ops_fd: tests/test_ops_fd.c src/ops.c include/ops.h | build
	$(CC) $(CPPFLAGS) $(CFLAGS) -DOPS_DOUBLE -o $@ tests/test_ops_fd.c src/ops.c -lm -fopenmp

build/optim_check: tests/optim_check.c build/libtrainer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The gemm test once per micro-kernel, each build pinned to its instruction set (not
# -march=native, which would test whichever one this machine picks twice): AVX-512,
# AVX2+FMA, and portable C (no SIMD target).
# (gemm.c packs typed weights through the dequantizers: quant.c, gguf.c's type table, dtype.c.)
GEMM_SRC = src/gemm.c src/quant.c src/gguf.c src/dtype.c src/common.c
GEMM_DEP = $(GEMM_SRC) include/gemm.h include/quant.h include/gguf.h

build/test_gemm_avx512: tests/test_gemm.c $(GEMM_DEP) | build
	$(CC) $(CPPFLAGS) -O3 -march=x86-64-v4 -fopenmp -std=c11 -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

build/test_gemm_avx2: tests/test_gemm.c $(GEMM_DEP) | build
	$(CC) $(CPPFLAGS) -O3 -march=haswell -fopenmp -std=c11 -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

build/test_gemm_portable: tests/test_gemm.c $(GEMM_DEP) | build
	$(CC) $(CPPFLAGS) -O3 -march=x86-64 -fopenmp -std=c11 -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

build/bench_gemm: tests/bench_gemm.c $(GEMM_DEP) | build
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/bench_gemm.c $(GEMM_SRC) $(LDLIBS)

build/test_losses: tests/test_losses.c src/loss.c include/loss.h | build
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/test_losses.c src/loss.c -lm

# The program built with AddressSanitizer and UBSan, for feeding it bad files.
build/asan/train: $(wildcard src/*.c) $(HEADERS)
	mkdir -p build/asan
	$(CC) $(CPPFLAGS) -O1 -g -fopenmp -std=c11 -fsanitize=address,undefined -fno-omit-frame-pointer \
	  -o $@ $(wildcard src/*.c) $(LDLIBS)

deps:
	@./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev

test:
	@./scripts/test.sh

bench: deps
	@./scripts/bench.sh

run:
	@./scripts/main-job.sh

clean:
	rm -rf build train

# make fuzz: the libFuzzer targets (clang, ASan + UBSan); rules in their own file.
-include tests/fuzz/fuzz.mk
