/* fuzz.h: what the fuzz targets in tests/fuzz/ share.
 *
 * The code under test reports a bad file with die(), which exits. Built with -DFUZZ, die()
 * longjmps to fuzz_die_jmp instead (src/common.c) and fuzz_try() below catches it. What the
 * aborted parse still held is then given back, so a million bad files run in one process
 * with leak detection on:
 *   heap blocks   the sanitizers' malloc/free hooks note every block allocated during the try
 *                 and not yet freed: ours, cJSON's, stb_ds's, getline's, utf8proc's;
 *   files, fds    the targets are linked with -Wl,--wrap for fopen/fclose, open/close and
 *   and maps      mmap/munmap (fuzz.mk), which note what the try opened.
 * A try that returns gets no such help: its notes are dropped, so what it leaked is
 * LeakSanitizer's to report, and fuzz_end() fails the input if a file is still open.
 *
 * The rule that keeps this sound: no state a try may grow outlives the try unless the try
 * returned. A die frees what the try allocated; a block it had grown inside an older
 * structure (a tokenizer's cache) would be freed under that structure. So each try builds
 * what it uses, and code that only updates older structures runs outside fuzz_try, where a
 * die is a finding (the process exits and libFuzzer says so). */
#pragma once
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

extern jmp_buf *fuzz_die_jmp;     /* src/common.c, -DFUZZ */
extern char fuzz_die_message[];   /* the message of the last die() caught */

/* Run fn(arg) as one parse. Returns 0 when it returned (what it allocated is the caller's),
 * 1 when it died (everything it allocated, opened or mapped given back). release_all: also
 * free what a returning fn left, for results meant to live as long as the program. */
int fuzz_try(void (*fn)(void *), void *arg, int release_all);
/* After each input: fails it if a file, descriptor or map is still open. */
void fuzz_end(void);

/* Once per process: the hooks and a private temporary directory (in /dev/shm). */
void fuzz_setup(void);
/* tmpdir/name, and the same with data written into it (overwritten). Paths stay valid
 * until the next call of either (a small ring of buffers). */
const char *fuzz_path(const char *name);
const char *fuzz_write(const char *name, const void *data, size_t size);
/* rel (e.g. "data/tokenizer") in this repository, found from the binary's place
 * (build/fuzz/<target> or build/fuzz-replay/<target>). */
const char *fuzz_repo_path(const char *rel);

/* A broken promise of the code under test: print it and abort (libFuzzer keeps the input). */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define FUZZ_CHECK(cond, ...) ((cond) ? (void)0 : fuzz_fail(__VA_ARGS__))

/* Counts over the process, and the first message caught since the caller last emptied it:
 * for the replay's summary. */
extern long fuzz_tries, fuzz_deaths;
extern char fuzz_first_death[1024];
