/* Fuzz target: a model's config.json from a stranger (src/config.c): config_load_file, then
 * what is done with a config before any weight is read: the parameter count, config_to_json
 * (written into every checkpoint), the RoPE frequencies, config_check_same. */
#include <stdlib.h>

#include "common.h"
#include "config.h"
#include "fuzz.h"

static const char *path;

static void load(void *unused) {
    ModelConfig c;
    config_load_file(&c, path);
    config_param_count(&c);
    config_check_same(&c, "a", &c, "b");
    cJSON_Delete(config_to_json(&c, "float32"));
    if (c.head_dim <= (1 << 16)) {
        float *f = xmalloc(sizeof(float) * (size_t)(c.head_dim / 2 + 1));
        config_rope_inv_freq(&c, f);
        free(f);
    }
    cJSON_Delete(c.source);
    free(c.rope_freq_factors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    path = fuzz_write("config.json", data, size);
    fuzz_try(load, NULL, 0);
    fuzz_end();
    return 0;
}
