/* Fuzz target: safetensors from a stranger (src/safetensors.c). An input that starts with '{'
 * is a model.safetensors.index.json, opened as a directory beside two fixed shards (written
 * once by st_write_file); any other input is one .safetensors file. Every tensor the header
 * lists is looked up and checked to lie inside its file's data, and the small ones are read
 * (st_read_raw, and st_read_f32 for F32 / F16 / BF16). */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "fuzz.h"
#include "safetensors.h"

static const char *path;

static void open_and_read(void *unused) {
    StSet s;
    st_open(&s, path);
    for (int i = 0; i < s.n_tensors; i++) {
        const StTensor *t = &s.tensors[i];
        FUZZ_CHECK(st_find(&s, t->name) == t, "tensor \"%s\" found elsewhere", t->name);
        FUZZ_CHECK(t->file >= 0 && t->file < s.n_files, "tensor \"%s\" has no file", t->name);
        const StFile *f = &s.files[t->file];
        FUZZ_CHECK(strcmp(st_file_of(&s, t), f->path) == 0, "st_file_of");
        FUZZ_CHECK(t->begin <= t->end && f->data_start <= f->size && t->end <= f->size - f->data_start,
                   "tensor \"%s\" [%llu, %llu) runs past its file's data", t->name, (unsigned long long)t->begin,
                   (unsigned long long)t->end);
        uint64_t bytes = t->end - t->begin;
        if (bytes > (1 << 20)) continue;
        void *raw = xmalloc(bytes);
        st_read_raw(&s, t, raw);
        free(raw);
        if (t->dtype == ST_F32 || t->dtype == ST_F16 || t->dtype == ST_BF16) {
            float *v = xmalloc(sizeof(float) * (bytes / st_dtype_size(t->dtype) + 1));
            st_read_f32(&s, t, v);
            free(v);
        }
    }
    st_close(&s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    /* the index's directory: two shards that hold "a" and "b", "c" */
    static const float x[6] = {1, 2, 3, 4, 5, 6};
    mkdir(fuzz_path("sharded"), 0755);
    StWriteTensor one[] = {{"a", 2, {2, 2}, x, NULL, NULL}};
    StWriteTensor two[] = {{"b", 1, {2}, x, NULL, NULL}, {"c", 2, {1, 3}, x, NULL, NULL}};
    st_write_file(fuzz_path("sharded/model-00001-of-00002.safetensors"), one, 1, ST_F32);
    st_write_file(fuzz_path("sharded/model-00002-of-00002.safetensors"), two, 2, ST_BF16);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 0 && data[0] == '{') {
        fuzz_write("sharded/model.safetensors.index.json", data, size);
        path = fuzz_path("sharded");
    } else {
        path = fuzz_write("model.safetensors", data, size);
    }
    fuzz_try(open_and_read, NULL, 0);
    fuzz_end();
    return 0;
}
