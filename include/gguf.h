/* gguf.h: GGUF v2/v3 files (FORMATS.md sections 1-2), read through a memory map and
 * written by a streaming writer. Every count, length and offset is checked against the
 * file's size before use; a bad file ends the run with one line naming it. */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* metadata value types */
enum {
    GGUF_UINT8 = 0, GGUF_INT8 = 1, GGUF_UINT16 = 2, GGUF_INT16 = 3, GGUF_UINT32 = 4, GGUF_INT32 = 5,
    GGUF_FLOAT32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_UINT64 = 10, GGUF_INT64 = 11,
    GGUF_FLOAT64 = 12, GGUF_TYPE_COUNT
};

/* ggml tensor types this program knows by name (FORMATS.md 1.4) */
enum {
    GGML_F32 = 0, GGML_F16 = 1, GGML_Q4_0 = 2, GGML_Q4_1 = 3, GGML_Q5_0 = 6, GGML_Q5_1 = 7, GGML_Q8_0 = 8,
    GGML_Q2_K = 10, GGML_Q3_K = 11, GGML_Q4_K = 12, GGML_Q5_K = 13, GGML_Q6_K = 14, GGML_IQ4_NL = 20,
    GGML_BF16 = 30,
};

typedef struct {
    const char *name;   /* NULL: unknown id */
    int block;          /* elements per block */
    int bytes;          /* bytes per block */
    int readable;       /* dequantized by this program */
} GgmlTypeInfo;
const GgmlTypeInfo *ggml_type_info(uint32_t type);

typedef struct {
    char *key;
    uint32_t type;
    uint64_t start, end;     /* the whole record's bytes in the file (for copying it verbatim) */
    uint64_t value_at;       /* file offset of the value (after the type field) */
    uint32_t elem_type;      /* arrays */
    uint64_t count;          /* arrays */
    uint64_t *str_offsets;   /* arrays of strings: file offset of each gguf_string */
} GgufKV;

typedef struct {
    char name[64];
    uint32_t n_dims;
    int64_t ne[4];           /* ne[0] innermost; missing dims are 1 */
    uint32_t type;
    uint64_t offset;         /* relative to data_start */
    uint64_t nbytes;
} GgufTensor;

typedef struct {
    char *path;
    const uint8_t *map;
    uint64_t size;
    uint32_t version;
    uint64_t alignment, data_start;
    GgufKV *kv;
    uint64_t n_kv;
    GgufTensor *tensors;
    uint64_t n_tensors;
} Gguf;

void gguf_open(Gguf *g, const char *path);   /* dies with "path: ..." on a bad file */
void gguf_close(Gguf *g);
const GgufKV *gguf_find_kv(const Gguf *g, const char *key);
const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name);
const uint8_t *gguf_tensor_data(const Gguf *g, const GgufTensor *t);
/* Let the kernel drop a tensor's pages from this process once it has been copied out. */
void gguf_release(const Gguf *g, const GgufTensor *t);

/* Typed getters: return 0 when the key is absent; die when it has an unusable type. */
int gguf_get_int(const Gguf *g, const char *key, int64_t *out);
int gguf_get_float(const Gguf *g, const char *key, double *out);
int gguf_get_bool(const Gguf *g, const char *key, int *out);
/* Returns a malloc'd NUL-terminated copy, or NULL when absent. */
char *gguf_get_string(const Gguf *g, const char *key);
/* Element i of an array of strings: pointer into the map and its length. */
const char *gguf_array_string(const Gguf *g, const GgufKV *kv, uint64_t i, uint64_t *len);
/* Element i of an array of integers, widened. */
int64_t gguf_array_int(const Gguf *g, const GgufKV *kv, uint64_t i);

/* ---- writing: metadata first, then tensor infos, then data (GGUF v3, alignment 32) */
typedef struct {
    char *name;
    uint32_t n_dims;
    int64_t ne[4];
    uint32_t type;
    uint64_t nbytes;
} GgufOutTensor;

typedef struct {
    uint8_t *kv;             /* encoded metadata records */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    GgufOutTensor *tensors;
    uint64_t n_tensors;
} GgufWriter;

void gguf_w_init(GgufWriter *w);
void gguf_w_u32(GgufWriter *w, const char *key, uint32_t v);
void gguf_w_i32(GgufWriter *w, const char *key, int32_t v);
void gguf_w_f32(GgufWriter *w, const char *key, float v);
void gguf_w_bool(GgufWriter *w, const char *key, int v);
void gguf_w_str(GgufWriter *w, const char *key, const char *v);
void gguf_w_str_array(GgufWriter *w, const char *key, const char *const *v, const size_t *lens, uint64_t n);
void gguf_w_i32_array(GgufWriter *w, const char *key, const int32_t *v, uint64_t n);
/* Copy one record of another file verbatim (e.g. its tokenizer.* keys). */
void gguf_w_raw_kv(GgufWriter *w, const Gguf *src, const GgufKV *kv);
void gguf_w_tensor(GgufWriter *w, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type);
/* Write header, metadata and tensor infos to f; then the caller writes each tensor's bytes
 * in order with gguf_w_pad() after each. */
void gguf_w_header(GgufWriter *w, FILE *f, const char *path);
void gguf_w_pad(FILE *f, uint64_t nbytes, const char *path);
void gguf_w_free(GgufWriter *w);
uint64_t ggml_nbytes(uint32_t type, const int64_t *ne, uint32_t n_dims);
