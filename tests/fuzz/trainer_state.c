/* Fuzz target: a checkpoint's trainer_state.json (src/checkpoint.c), read as --resume reads
 * it (train.c's main): checkpoint_read_state, then the saved flags against a command line
 * (options_check_resume), applied (options_apply_json) and validated (options_validate). */
#include <stdlib.h>

#include "args.h"
#include "checkpoint.h"
#include "common.h"
#include "fuzz.h"

static Options cmdline; /* flags given now: each is compared with the saved run's */
static TrainerState st;

static void read_state(void *unused) { checkpoint_read_state(fuzz_path("ckpt"), &st); }

static void apply_flags(void *unused) {
    Options o = cmdline;
    options_check_resume(&o, st.args, fuzz_path("ckpt"));
    options_apply_json(&o, st.args, fuzz_path("ckpt"));
    options_validate(&o);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    /* what the seeds' runs had (tests/fuzz/make_corpus.py), and two flags a resumed run may change */
    char *args[] = {"train", "--seq-len", "64", "--lr", "1e-3", "--batch-size", "2", "--out", "runs/x",
                    "--threads", "1"};
    options_parse(&cmdline, sizeof args / sizeof *args, args); /* also starts OpenMP, once, outside any try */
    make_dir(fuzz_path("ckpt"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write("ckpt/trainer_state.json", data, size);
    if (fuzz_try(read_state, NULL, 0) == 0) {
        /* the Options strings live as long as the program: given back whatever happens */
        fuzz_try(apply_flags, NULL, 1);
        cJSON_Delete(st.args);
        free(st.ref_cache);
    }
    fuzz_end();
    return 0;
}
