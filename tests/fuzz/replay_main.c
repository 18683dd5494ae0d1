/* replay_main.c: a fuzz target without libFuzzer (gcc, ASan + UBSan; fuzz.mk's replay build):
 * LLVMFuzzerTestOneInput once on each file named, with a leak check after each, so a leak is
 * pinned on its file. Exit status 0 when every file ran clean; a sanitizer report aborts.
 * Prints one summary line: files run, how many parsed, how many refused with an error line
 * (FUZZ_VERBOSE=1: each file's outcome). */
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

int main(int argc, char **argv) {
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    int verbose = getenv("FUZZ_VERBOSE") != NULL, refused = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "%s: cannot open\n", argv[i]);
            return 2;
        }
        size_t cap = 1 << 16, n = 0, got;
        uint8_t *buf = malloc(cap);
        while ((got = fread(buf + n, 1, cap - n, f)) > 0)
            if ((n += got) == cap) buf = realloc(buf, cap *= 2);
        fclose(f);
        long died = fuzz_deaths;
        fuzz_first_death[0] = 0;
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
        if (__lsan_do_recoverable_leak_check()) {
            fprintf(stderr, "%s: leaked memory (LeakSanitizer's report above)\n", argv[i]);
            return 1;
        }
        refused += fuzz_deaths > died;
        if (verbose) printf("%s: %s\n", argv[i], fuzz_deaths > died ? fuzz_first_death : "parsed");
    }
    printf("%d files: %d parsed, %d refused with an error line\n", argc - 1, argc - 1 - refused, refused);
    return 0;
}
