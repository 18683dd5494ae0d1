/* safetensors.h: read and write the safetensors format (FORMATS.md section 4), one file or
 * a directory of shards with model.safetensors.index.json. Every header is validated before
 * any tensor byte is touched; problems end the run with one line naming file and tensor. */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_F64, ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL, ST_OTHER } StDtype;

typedef struct {
    char *name;
    StDtype dtype;
    char dtype_name[16];
    int ndim;
    int64_t shape[8];
    uint64_t begin, end;  /* relative to the file's data section */
    int file;             /* index into StSet.files */
} StTensor;

typedef struct {
    char *path;
    int fd;
    uint64_t data_start, size;
} StFile;

typedef struct {
    StFile *files;
    int n_files;
    StTensor *tensors;
    int n_tensors;
    struct StIndexEntry *index;  /* stb_ds string hash map: name -> tensor number */
} StSet;

/* Opens DIR/model.safetensors, or every shard named by DIR/model.safetensors.index.json,
 * or a single .safetensors file path. */
void st_open(StSet *s, const char *path);
void st_close(StSet *s);
const StTensor *st_find(const StSet *s, const char *name);
const char *st_file_of(const StSet *s, const StTensor *t);
size_t st_dtype_size(StDtype d);
/* Reads the tensor as fp32 into dst (numel floats), converting F16 / BF16. */
void st_read_f32(const StSet *s, const StTensor *t, float *dst);
/* The same for elements [first, first + count) of it. */
void st_read_f32_at(const StSet *s, const StTensor *t, uint64_t first, uint64_t count, float *dst);
/* Its bytes as they are stored. */
void st_read_raw(const StSet *s, const StTensor *t, void *dst);

/* Writing: tensors are given as fp32 and stored as F32, F16 or BF16: from memory (data), or,
 * when data is NULL, made a few rows at a time by rows(ctx, row0, n, dst), a row being the
 * last dimension (a vector is one row): a frozen model's tensors are dequantized that way
 * as they are written, never whole. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[4];
    const float *data;
    void (*rows)(const void *ctx, int64_t row0, int64_t n, float *dst);
    const void *ctx;
} StWriteTensor;

/* One file, written atomically. */
void st_write_file(const char *path, const StWriteTensor *t, int n, StDtype dtype);
/* A model directory: model.safetensors, or shards of at most max_shard_bytes each plus
 * model.safetensors.index.json when the tensors do not fit in one (max_shard_bytes 0 = one file). */
void st_write_dir(const char *dir, const StWriteTensor *t, int n, StDtype dtype, uint64_t max_shard_bytes);
int st_parse_dtype(const char *s, StDtype *out);
const char *st_dtype_name(StDtype d);
