/* Fuzz target: a GGUF file from a stranger (src/gguf.c) and what a model load reads of it:
 * gguf_open; every metadata value through the getter of its type, every element of every
 * array, every tensor's bytes (small tensors of readable types dequantized); then, each on
 * its own, the tokenizer keys (vocab_from_gguf + tokenizer_new, as tokenizer_load does) and
 * the model config (config_from_gguf). Invariants the reader promises (every offset and
 * length inside the file) are checked here, since ASan does not see into a memory map. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "fuzz.h"
#include "gguf.h"
#include "model_io.h"
#include "quant.h"
#include "tokenizer.h"

static const char *path;
static Gguf g;
static volatile uint8_t sink; /* bytes read from the map land here, so the reads happen */

static void touch(const uint8_t *p, uint64_t n) {
    uint8_t x = 0;
    for (uint64_t i = 0; i < n; i++) x ^= p[i];
    sink ^= x;
}

static void open_and_walk(void *unused) {
    gguf_open(&g, path);
    for (uint64_t i = 0; i < g.n_kv; i++) {
        const GgufKV *kv = &g.kv[i];
        FUZZ_CHECK(kv->start < kv->value_at && kv->value_at <= kv->end && kv->end <= g.size, "kv %llu out of the file",
                   (unsigned long long)i);
        FUZZ_CHECK(gguf_find_kv(&g, kv->key) == kv, "key \"%s\" found elsewhere", kv->key);
        int64_t iv;
        double dv;
        int bv;
        switch (kv->type) {
        case GGUF_FLOAT32: case GGUF_FLOAT64: gguf_get_float(&g, kv->key, &dv); break;
        case GGUF_BOOL: gguf_get_bool(&g, kv->key, &bv); break;
        case GGUF_STRING: free(gguf_get_string(&g, kv->key)); break;
        case GGUF_ARRAY:
            for (uint64_t k = 0; k < kv->count; k++) {
                if (kv->elem_type == GGUF_STRING) {
                    uint64_t len;
                    const char *s = gguf_array_string(&g, kv, k, &len);
                    FUZZ_CHECK((const uint8_t *)s >= g.map && len <= g.size - (uint64_t)((const uint8_t *)s - g.map),
                               "string %llu of \"%s\" runs past the file", (unsigned long long)k, kv->key);
                    touch((const uint8_t *)s, len);
                } else if (kv->elem_type != GGUF_FLOAT32 && kv->elem_type != GGUF_FLOAT64) {
                    gguf_array_int(&g, kv, k);
                }
            }
            break;
        default: gguf_get_int(&g, kv->key, &iv);
        }
    }
    for (uint64_t i = 0; i < g.n_tensors; i++) {
        const GgufTensor *t = &g.tensors[i];
        FUZZ_CHECK(gguf_find_tensor(&g, t->name) == t, "tensor \"%s\" found elsewhere", t->name);
        FUZZ_CHECK(g.data_start <= g.size && t->offset <= g.size - g.data_start &&
                       t->nbytes <= g.size - g.data_start - t->offset,
                   "tensor \"%s\" runs past the file", t->name);
        const uint8_t *d = gguf_tensor_data(&g, t);
        touch(d, t->nbytes);
        const GgmlTypeInfo *ti = ggml_type_info(t->type);
        uint64_t numel = (uint64_t)t->ne[0] * (uint64_t)t->ne[1] * (uint64_t)t->ne[2] * (uint64_t)t->ne[3];
        if (ti->readable && numel > 0 && numel <= (1 << 16)) { /* row by row, as the loader does */
            float *row = xmalloc(sizeof(float) * (size_t)t->ne[0]);
            uint64_t row_bytes = (uint64_t)t->ne[0] / (uint64_t)ti->block * (uint64_t)ti->bytes;
            for (uint64_t r = 0; r < numel / (uint64_t)t->ne[0]; r++) dequantize_row(t->type, d + r * row_bytes, row, t->ne[0]);
            free(row);
        }
        gguf_release(&g, t);
    }
}

static void tokenizer_keys(void *unused) {
    Vocab v;
    if (!vocab_from_gguf(&v, &g)) return;
    Tokenizer *t = tokenizer_new(&v, path);
    static const char text[] = "Hello world, it's 2024!\n<|im_start|>user caf\xc3\xa9 \xf0\x9f\x91\x8d";
    for (int match = 0; match < 2; match++) {
        TokenList l = {0};
        tokenizer_encode(t, text, sizeof text - 1, match, &l);
        size_t n;
        free(tokenizer_decode(t, l.ids, l.n, &n));
        token_list_free(&l);
    }
    tokenizer_free(t);
}

static void model_config(void *unused) {
    ModelConfig c;
    config_from_gguf(&c, &g);
    config_param_count(&c);
    cJSON_Delete(config_to_json(&c, "bfloat16"));
    cJSON_Delete(c.source);
    free(c.rope_freq_factors);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    path = fuzz_write("model.gguf", data, size);
    if (fuzz_try(open_and_walk, NULL, 0) == 0) {
        fuzz_try(tokenizer_keys, NULL, 0);
        fuzz_try(model_config, NULL, 0);
        gguf_close(&g);
    }
    fuzz_end();
    return 0;
}
