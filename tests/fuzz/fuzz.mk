# Fuzz targets for every parser of files from strangers (tests/fuzz/*.c, one per target);
# included by the top-level Makefile.
#
#   make fuzz          build each target with clang (libFuzzer, ASan, UBSan) and run it
#                      FUZZ_SECONDS (default 60) on its seed corpus, one after another, one
#                      process at a time; prints each target's executions and verdict and fails
#                      on any crash, leak or sanitizer report. FUZZ_TARGETS="gguf bpe" runs some,
#                      FUZZ_RUNS=1000000 a number of executions instead of a time (tests/fuzz/run.sh)
#   make fuzz-deps     the Debian packages that needs (clang and its runtimes)
#   make fuzz-replay   the same targets built with gcc (ASan, UBSan) around a main() that runs
#                      each file given once: what tests/test_fuzz_corpus.py runs the corpora with
#
# Built with -DFUZZ, die() hands control back to the target (src/common.c); the --wrap flags
# let the targets close what a refused file left open (tests/fuzz/fuzz.h).

FUZZ_TARGETS ?= gguf safetensors config_json tokenizer_json bpe jsonl trainer_state adapter_config
FUZZ_ALL      = gguf safetensors config_json tokenizer_json bpe jsonl trainer_state adapter_config
FUZZ_SECONDS ?= 60
FUZZ_CLANG   ?= clang

FUZZ_LIB_SRC = $(filter-out src/train.c,$(wildcard src/*.c))
FUZZ_HDRS    = $(HEADERS) tests/fuzz/fuzz.h
FUZZ_WRAP    = -Wl,--wrap=open,--wrap=close,--wrap=fopen,--wrap=fclose,--wrap=mmap,--wrap=munmap
FUZZ_DEFS   ?=   # extra -D flags for the fuzz builds
FUZZ_COMMON  = -std=c11 -g -O1 -fno-omit-frame-pointer -fopenmp -DFUZZ $(FUZZ_DEFS) -Wall -Wextra \
               -Wno-unused-parameter -Wno-psabi -Itests/fuzz

# libFuzzer: coverage-instrumented objects, UBSan reports abort (-fno-sanitize-recover)
FUZZ_SAN   = -fsanitize=address,undefined -fno-sanitize-recover=undefined -Wno-pass-failed
FUZZ_OBJ   = $(FUZZ_LIB_SRC:src/%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/obj/fuzz_support.o: tests/fuzz/fuzz_support.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libtrainer.a: $(FUZZ_OBJ) build/fuzz/obj/fuzz_support.o
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libtrainer.a
	$(FUZZ_CLANG) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< build/fuzz/libtrainer.a \
	  $(FUZZ_WRAP) $(LDLIBS)

# the replay build: gcc, every check fatal (gcc leaves float-cast-overflow out of "undefined")
FUZZ_RSAN  = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
FUZZ_ROBJ  = $(FUZZ_LIB_SRC:src/%.c=build/fuzz-replay/obj/%.o)

build/fuzz-replay/obj/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_RSAN) -c -o $@ $<

build/fuzz-replay/obj/fuzz_%.o: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_RSAN) -c -o $@ $<

build/fuzz-replay/obj/replay_main.o: tests/fuzz/replay_main.c tests/fuzz/fuzz.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_RSAN) -c -o $@ $<

build/fuzz-replay/libtrainer.a: $(FUZZ_ROBJ) build/fuzz-replay/obj/fuzz_support.o build/fuzz-replay/obj/replay_main.o
	ar rcs $@ $^

build/fuzz-replay/%: tests/fuzz/%.c build/fuzz-replay/libtrainer.a
	$(CC) $(CPPFLAGS) $(FUZZ_COMMON) $(FUZZ_RSAN) -o $@ $< build/fuzz-replay/obj/replay_main.o \
	  build/fuzz-replay/libtrainer.a $(FUZZ_WRAP) $(LDLIBS)

.PHONY: fuzz fuzz-deps fuzz-build fuzz-replay
.PRECIOUS: build/fuzz/obj/%.o build/fuzz-replay/obj/%.o

fuzz-deps:
	@./scripts/install-deps.sh clang libclang-rt-14-dev libomp-dev gcc make pkg-config libc6-dev libcjson-dev \
	  libstb-dev libutf8proc-dev

fuzz-build: $(FUZZ_TARGETS:%=build/fuzz/%)

fuzz: fuzz-deps
	@$(MAKE) --no-print-directory fuzz-build FUZZ_TARGETS="$(FUZZ_TARGETS)"
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: $(FUZZ_ALL:%=build/fuzz-replay/%)
