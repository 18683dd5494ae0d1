# make            build ./train
# make test       the README's test command: installs missing Debian packages, builds, runs every test
# make run        the main job on the default model and sample data
# make bench      measurements (speed, memory against the plan); never part of the tests
# make test-asan  the whole test suite again, against AddressSanitizer + UBSan builds
# make fuzz       the libFuzzer targets (tests/fuzz/fuzz.mk)
CC      ?= gcc
CFLAGS  ?= -O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp -std=c11 -Wall -Wextra -Wno-unused-parameter -g
CPPFLAGS = -D_GNU_SOURCE $(MPI_DEF) -Iinclude $(shell pkg-config --cflags libcjson 2>/dev/null || echo -I/usr/include/cjson)
LDLIBS   = -lcjson -lstb -lutf8proc -lm -fopenmp

# B: where objects and test programs go; BIN: the program; SAN: sanitizer flags added to every
# compile and link (make test-asan builds everything again with them into build/asan-tree).
# USE_MPI=1: data parallelism over Open MPI (mpicc; objects in build/mpi, the program ./train).
ifeq ($(USE_MPI),1)
CC       = mpicc
B       ?= build/mpi
MPI_DEF  = -DUSE_MPI
endif
B   ?= build
BIN ?= train
SAN ?=
override CFLAGS += $(SAN)
# ./train is relinked whenever it was last built the other way (with or without MPI)
ifeq ($(BIN),train)
FLAVOR := $(if $(MPI_DEF),mpi,plain)
$(shell mkdir -p build; [ "$$(cat build/.flavor 2>/dev/null)" = "$(FLAVOR)" ] || echo $(FLAVOR) > build/.flavor)
FLAVOR_STAMP = build/.flavor
endif

LIB_SRC  = $(filter-out src/train.c,$(wildcard src/*.c))
LIB_OBJ  = $(LIB_SRC:src/%.c=$(B)/%.o)
HEADERS  = $(wildcard include/*.h)

.PHONY: all deps test test-asan bench run clean
all: $(BIN)

$(BIN): $(B)/train.o $(B)/libtrainer.a $(FLAVOR_STAMP)
	$(CC) $(CFLAGS) -o $@ $(B)/train.o $(B)/libtrainer.a $(LDLIBS)

$(B)/libtrainer.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/%.o: src/%.c $(HEADERS) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

# Test programs, linked against the same library.
$(B)/engine_check: tests/engine_check.c $(B)/libtrainer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The operations compiled in double precision for the finite-difference check.
$(B)/test_ops_fd: tests/test_ops_fd.c src/ops.c include/ops.h | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -DOPS_DOUBLE -o $@ tests/test_ops_fd.c src/ops.c -lm -fopenmp

$(B)/optim_check: tests/optim_check.c $(B)/libtrainer.a
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ $^ $(LDLIBS)

# The gemm test once per micro-kernel, each build pinned to its instruction set (not
# -march=native, which would test whichever one this machine picks twice): AVX-512,
# AVX2+FMA, and portable C (no SIMD target).
# (gemm.c packs typed weights through the dequantizers: quant.c, gguf.c's type table, dtype.c.)
GEMM_SRC = src/gemm.c src/quant.c src/gguf.c src/dtype.c src/common.c
GEMM_DEP = $(GEMM_SRC) include/gemm.h include/quant.h include/gguf.h

$(B)/test_gemm_avx512: tests/test_gemm.c $(GEMM_DEP) | $(B)
	$(CC) $(CPPFLAGS) -O3 -march=x86-64-v4 -fopenmp -std=c11 $(SAN) -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

$(B)/test_gemm_avx2: tests/test_gemm.c $(GEMM_DEP) | $(B)
	$(CC) $(CPPFLAGS) -O3 -march=haswell -fopenmp -std=c11 $(SAN) -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

$(B)/test_gemm_portable: tests/test_gemm.c $(GEMM_DEP) | $(B)
	$(CC) $(CPPFLAGS) -O3 -march=x86-64 -fopenmp -std=c11 $(SAN) -o $@ tests/test_gemm.c $(GEMM_SRC) $(LDLIBS)

$(B)/bench_gemm: tests/bench_gemm.c $(GEMM_DEP) | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/bench_gemm.c $(GEMM_SRC) $(LDLIBS)

$(B)/test_losses: tests/test_losses.c src/loss.c include/loss.h | $(B)
	$(CC) $(CPPFLAGS) $(CFLAGS) -o $@ tests/test_losses.c src/loss.c -lm

# The program built with AddressSanitizer and UBSan, for feeding it bad files.
SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
build/asan/train: $(wildcard src/*.c) $(HEADERS)
	mkdir -p build/asan
	$(CC) $(CPPFLAGS) -O1 -g -fopenmp -std=c11 $(SANITIZE) -o $@ $(wildcard src/*.c) $(LDLIBS)

# Every program the tests run, sanitized, in a tree of links to this one (scripts/test.sh --asan).
ASAN_TREE = build/asan-tree
TEST_PROGRAMS = engine_check test_ops_fd test_losses optim_check test_gemm_avx512 test_gemm_avx2 test_gemm_portable
asan-tree:
	$(MAKE) -s B=$(ASAN_TREE)/build BIN=$(ASAN_TREE)/train SAN="$(SANITIZE)" $(ASAN_TREE)/train \
	  $(TEST_PROGRAMS:%=$(ASAN_TREE)/build/%)

deps:
	@./scripts/install-deps.sh gcc make pkg-config libc6-dev libcjson-dev libstb-dev libutf8proc-dev

test:
	@./scripts/test.sh

test-asan:
	@./scripts/test.sh --asan

bench: deps
	@./scripts/bench.sh

run:
	@./scripts/main-job.sh

clean:
	rm -rf build train

# make fuzz: the libFuzzer targets (clang, ASan + UBSan); rules in their own file.
-include tests/fuzz/fuzz.mk
