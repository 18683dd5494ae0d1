/* Fuzz target: a PEFT adapter_config.json from a stranger (src/adapter.c): adapter_read_config,
 * then the checks a run makes of it against its base (lora_check_fits on a small fixed Qwen2
 * config) and the strings it prints. */
#include <stdlib.h>

#include "adapter.h"
#include "common.h"
#include "fuzz.h"

static void read_config(void *unused) {
    LoraConfig l;
    char *base = NULL;
    adapter_read_config(fuzz_path("adapter"), &l, &base);
    free(base);
    char buf[64];
    lora_targets_string(l.targets, buf, sizeof buf);
    lora_scale(&l);
    ModelConfig c = {.arch = ARCH_QWEN2, .dim = 16, .n_layers = 2, .n_heads = 2, .n_kv_heads = 1, .head_dim = 8,
                     .ffn_dim = 24, .vocab_size = 50, .qkv_bias = 1, .tie_embeddings = 1};
    lora_check_fits(&l, &c, "the base");
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    make_dir(fuzz_path("adapter"));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write("adapter/adapter_config.json", data, size);
    fuzz_try(read_config, NULL, 0);
    fuzz_end();
    return 0;
}
