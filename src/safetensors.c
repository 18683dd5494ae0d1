/* safetensors.c: see safetensors.h. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "dtype.h"
#define STBDS_NO_SHORT_NAMES
#include <stb/stb_ds.h>

struct StIndexEntry { char *key; int value; };

#define ST_MAX_HEADER (100u * 1024 * 1024) /* the reference reader's limit */

static const struct { const char *name; StDtype d; size_t size; } dtypes[] = {
    {"F32", ST_F32, 4}, {"F16", ST_F16, 2}, {"BF16", ST_BF16, 2}, {"F64", ST_F64, 8},  {"I64", ST_I64, 8},
    {"I32", ST_I32, 4}, {"I16", ST_I16, 2}, {"I8", ST_I8, 1},     {"U8", ST_U8, 1},    {"BOOL", ST_BOOL, 1},
    {"U16", ST_OTHER, 2}, {"U32", ST_OTHER, 4}, {"U64", ST_OTHER, 8}, {"C64", ST_OTHER, 8},
    {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1}, {"F8_E8M0", ST_OTHER, 1},
};

size_t st_dtype_size(StDtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].d == d) return dtypes[i].size;
    return 0;
}

const char *st_dtype_name(StDtype d) {
    for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
        if (dtypes[i].d == d) return dtypes[i].name;
    return "?";
}

int st_parse_dtype(const char *s, StDtype *out) {
    const char *n[] = {"F32", "F16", "BF16"};
    StDtype d[] = {ST_F32, ST_F16, ST_BF16};
    for (int i = 0; i < 3; i++)
        if (strcasecmp(s, n[i]) == 0) {
            *out = d[i];
            return 1;
        }
    return 0;
}

static void pread_full(int fd, void *dst, size_t len, uint64_t off, const char *path) {
    char *p = dst;
    while (len > 0) {
        ssize_t got = pread(fd, p, len, (off_t)off);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) die("%s: read error at byte %llu: %s", path, (unsigned long long)off, strerror(errno));
        if (got == 0) die("%s: unexpected end of file at byte %llu", path, (unsigned long long)off);
        p += got, len -= (size_t)got, off += (uint64_t)got;
    }
}

static int cmp_by_begin(const void *a, const void *b) {
    const StTensor *x = *(StTensor *const *)a, *y = *(StTensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Parse and validate one file's header and append its tensors to the set. */
static void open_file(StSet *s, const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) die("%s: cannot stat: %s", path, strerror(errno));
    uint64_t size = (uint64_t)st.st_size;
    if (size < 8) die("%s: too short to be a safetensors file (%llu bytes)", path, (unsigned long long)size);
    uint8_t lenb[8];
    pread_full(fd, lenb, 8, 0, path);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | lenb[i];
    if (hlen > size - 8)
        die("%s: header length %llu runs past the end of the file (%llu bytes)", path, (unsigned long long)hlen,
            (unsigned long long)size);
    if (hlen > ST_MAX_HEADER) die("%s: header length %llu is over the 100 MB limit", path, (unsigned long long)hlen);
    char *text = xmalloc(hlen + 1);
    pread_full(fd, text, hlen, 8, path);
    text[hlen] = 0;
    const char *err_at = NULL;
    cJSON *h = cJSON_ParseWithLengthOpts(text, hlen, &err_at, 0);
    if (!h || !cJSON_IsObject(h)) {
        size_t off = err_at ? (size_t)(err_at - text) : 0;
        die("%s: header is not a valid JSON object (near byte %zu of the header)", path, off + 8);
    }
    int fi = s->n_files++;
    s->files = xrealloc(s->files, sizeof(StFile) * s->n_files);
    s->files[fi] = (StFile){xstrdup(path), fd, 8 + hlen, size};
    uint64_t data_len = size - 8 - hlen;

    int first = s->n_tensors;
    for (cJSON *e = h->child; e; e = e->next) {
        if (strcmp(e->string, "__metadata__") == 0) continue;
        const char *name = e->string;
        if (!cJSON_IsObject(e)) die("%s: tensor \"%s\": entry is not an object", path, name);
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsString(dt)) die("%s: tensor \"%s\": missing \"dtype\"", path, name);
        if (!cJSON_IsArray(sh)) die("%s: tensor \"%s\": missing \"shape\"", path, name);
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2)
            die("%s: tensor \"%s\": \"data_offsets\" must be [begin, end]", path, name);
        if (stbds_shgeti(s->index, name) >= 0) die("%s: tensor \"%s\" appears twice", path, name);
        StTensor t;
        memset(&t, 0, sizeof t);
        t.name = xstrdup(name);
        t.file = fi;
        t.dtype = ST_OTHER;
        size_t esize = 0;
        for (size_t i = 0; i < sizeof dtypes / sizeof *dtypes; i++)
            if (strcmp(dt->valuestring, dtypes[i].name) == 0) t.dtype = dtypes[i].d, esize = dtypes[i].size;
        if (!esize) die("%s: tensor \"%s\": unknown dtype \"%s\"", path, name, dt->valuestring);
        snprintf(t.dtype_name, sizeof t.dtype_name, "%s", dt->valuestring);
        t.ndim = cJSON_GetArraySize(sh);
        if (t.ndim > 8) die("%s: tensor \"%s\": %d dimensions is too many", path, name, t.ndim);
        unsigned __int128 numel = 1;
        int i = 0;
        for (const cJSON *d = sh->child; d; d = d->next, i++) {
            if (!cJSON_IsNumber(d) || d->valuedouble < 0 || d->valuedouble > 9.0e15 ||
                d->valuedouble != (double)(int64_t)d->valuedouble)
                die("%s: tensor \"%s\": shape entries must be non-negative integers", path, name);
            t.shape[i] = (int64_t)d->valuedouble;
            numel *= (uint64_t)t.shape[i];
            if (numel * esize > (unsigned __int128)UINT64_MAX) /* never a real tensor: say so, not "0 bytes" */
                die("%s: tensor \"%s\": shape's size overflows 64 bits (more than 2^64 bytes)", path, name);
        }
        const cJSON *b0 = cJSON_GetArrayItem(of, 0), *b1 = cJSON_GetArrayItem(of, 1);
        if (!cJSON_IsNumber(b0) || !cJSON_IsNumber(b1) || b0->valuedouble < 0 || b1->valuedouble < b0->valuedouble)
            die("%s: tensor \"%s\": bad data_offsets", path, name);
        if (b1->valuedouble > (double)data_len)
            die("%s: tensor \"%s\": data_offsets [%.0f, %.0f] run past the end of the data (%llu bytes; file "
                "truncated?)", path, name, b0->valuedouble, b1->valuedouble, (unsigned long long)data_len);
        t.begin = (uint64_t)b0->valuedouble;
        t.end = (uint64_t)b1->valuedouble;
        if (numel * esize != (unsigned __int128)(t.end - t.begin))
            die("%s: tensor \"%s\": shape and dtype need %llu bytes but data_offsets span %llu", path, name,
                (unsigned long long)(numel * esize), (unsigned long long)(t.end - t.begin));
        stbds_arrput(s->tensors, t);
        s->n_tensors++;
        stbds_shput(s->index, s->tensors[s->n_tensors - 1].name, s->n_tensors - 1);
    }
    /* Tensors must not overlap (the reference reader also refuses holes; we only need the
     * bytes of each tensor to be its own). */
    int n = s->n_tensors - first;
    StTensor **sorted = xmalloc(sizeof(StTensor *) * (size_t)(n ? n : 1));
    int m = 0;
    for (int k = 0; k < n; k++)
        if (s->tensors[first + k].end > s->tensors[first + k].begin) sorted[m++] = &s->tensors[first + k];
    n = m;
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_by_begin);
    for (int k = 1; k < n; k++)
        if (sorted[k]->begin < sorted[k - 1]->end)
            die("%s: tensors \"%s\" and \"%s\" overlap (bytes %llu..%llu and %llu..%llu)", path, sorted[k - 1]->name,
                sorted[k]->name, (unsigned long long)sorted[k - 1]->begin, (unsigned long long)sorted[k - 1]->end,
                (unsigned long long)sorted[k]->begin, (unsigned long long)sorted[k]->end);
    free(sorted);
    cJSON_Delete(h);
    free(text);
}

void st_open(StSet *s, const char *path) {
    memset(s, 0, sizeof *s);
    stbds_sh_new_arena(s->index);
    if (!path_is_dir(path)) {
        if (!path_is_file(path)) die("%s: no such file or directory", path);
        open_file(s, path);
        return;
    }
    char *index_path = path_join(path, "model.safetensors.index.json");
    char *single = path_join(path, "model.safetensors");
    if (path_is_file(index_path)) {
        cJSON *j = json_parse_file(index_path);
        const cJSON *wm = cJSON_GetObjectItemCaseSensitive(j, "weight_map");
        if (!cJSON_IsObject(wm)) die("%s: missing \"weight_map\" object", index_path);
        char **shards = NULL; /* distinct file names, in order of first appearance */
        for (const cJSON *e = wm->child; e; e = e->next) {
            if (!cJSON_IsString(e)) die("%s: weight_map[\"%s\"] must be a file name", index_path, e->string);
            if (strchr(e->valuestring, '/'))
                die("%s: weight_map[\"%s\"] names a file outside the directory", index_path, e->string);
            int seen = 0;
            for (int k = 0; k < stbds_arrlen(shards); k++) seen |= strcmp(shards[k], e->valuestring) == 0;
            if (!seen) stbds_arrput(shards, e->valuestring);
        }
        for (int k = 0; k < stbds_arrlen(shards); k++) {
            char *p = path_join(path, shards[k]);
            open_file(s, p);
            free(p);
        }
        for (const cJSON *e = wm->child; e; e = e->next) {
            const StTensor *t = st_find(s, e->string);
            if (!t) die("%s: tensor \"%s\" is listed for %s but that file does not hold it", index_path, e->string,
                        e->valuestring);
            if (strcmp(strrchr(s->files[t->file].path, '/') + 1, e->valuestring) != 0)
                die("%s: tensor \"%s\" is listed for %s but found in %s", index_path, e->string, e->valuestring,
                    s->files[t->file].path);
        }
        stbds_arrfree(shards);
        cJSON_Delete(j);
    } else if (path_is_file(single)) {
        open_file(s, single);
    } else {
        die("%s: no model.safetensors or model.safetensors.index.json in this directory", path);
    }
    free(index_path);
    free(single);
}

void st_close(StSet *s) {
    for (int i = 0; i < s->n_files; i++) {
        close(s->files[i].fd);
        free(s->files[i].path);
    }
    for (int i = 0; i < s->n_tensors; i++) free(s->tensors[i].name);
    free(s->files);
    stbds_arrfree(s->tensors);
    stbds_shfree(s->index);
    memset(s, 0, sizeof *s);
}

const StTensor *st_find(const StSet *s, const char *name) {
    struct StIndexEntry *idx = s->index;
    ptrdiff_t i = stbds_shgeti(idx, name);
    return i >= 0 ? &s->tensors[idx[i].value] : NULL;
}

const char *st_file_of(const StSet *s, const StTensor *t) { return s->files[t->file].path; }

void st_read_raw(const StSet *s, const StTensor *t, void *dst) {
    const StFile *f = &s->files[t->file];
    pread_full(f->fd, dst, t->end - t->begin, f->data_start + t->begin, f->path);
}

void st_read_f32_at(const StSet *s, const StTensor *t, uint64_t first, uint64_t count, float *dst) {
    const StFile *f = &s->files[t->file];
    size_t es = st_dtype_size(t->dtype);
    uint64_t off = f->data_start + t->begin + first * es;
    if (t->dtype == ST_F32) { /* straight into place, no staging copy */
        pread_full(f->fd, dst, count * 4, off, f->path);
        return;
    }
    if (t->dtype != ST_F16 && t->dtype != ST_BF16)
        die("%s: tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16", f->path, t->name, t->dtype_name);
    /* 16-bit: stream through a small staging buffer, so peak memory stays the arena's */
    enum { STAGE = 1 << 18 };
    static _Thread_local uint16_t stage[STAGE];
    uint64_t done = 0;
    while (done < count) {
        uint64_t n = MIN(count - done, (uint64_t)STAGE);
        pread_full(f->fd, stage, n * 2, off + done * 2, f->path);
        if (t->dtype == ST_BF16)
            for (uint64_t i = 0; i < n; i++) dst[done + i] = bf16_to_f32(stage[i]);
        else
            for (uint64_t i = 0; i < n; i++) dst[done + i] = f16_to_f32(stage[i]);
        done += n;
    }
}

void st_read_f32(const StSet *s, const StTensor *t, float *dst) {
    st_read_f32_at(s, t, 0, (t->end - t->begin) / st_dtype_size(t->dtype), dst);
}

/* ---------------------------------------------------------------- writing */

static uint64_t tensor_numel(const StWriteTensor *t) {
    uint64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= (uint64_t)t->shape[d];
    return n;
}

void st_write_file(const char *path, const StWriteTensor *t, int n, StDtype dtype) {
    size_t esize = st_dtype_size(dtype);
    if (dtype != ST_F32 && dtype != ST_F16 && dtype != ST_BF16) die("internal: cannot write dtype %d", dtype);
    cJSON *h = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(h, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_AddObjectToObject(h, t[i].name);
        cJSON_AddStringToObject(e, "dtype", st_dtype_name(dtype));
        cJSON *sh = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t[i].shape[d]));
        uint64_t bytes = tensor_numel(&t[i]) * esize;
        cJSON *of = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    char *json = cJSON_PrintUnformatted(h);
    cJSON_Delete(h);
    size_t jlen = strlen(json), padded = (jlen + 7) / 8 * 8; /* pad with spaces, as the reference writer */
    AtomicFile af = atomic_open(path);
    uint8_t lenb[8];
    for (int i = 0; i < 8; i++) lenb[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(lenb, 1, 8, af.f) == 8 && fwrite(json, 1, jlen, af.f) == jlen;
    for (size_t i = jlen; i < padded && ok; i++) ok = fputc(' ', af.f) != EOF;
    free(json);
    enum { STAGE = 1 << 16 };
    uint16_t *stage = xmalloc(STAGE * sizeof(uint16_t));
    float *rows = NULL;
    size_t rows_cap = 0;
    for (int i = 0; i < n && ok; i++) {
        uint64_t count = tensor_numel(&t[i]);
        if (t[i].data) { /* the values are in memory */
            if (dtype == ST_F32) {
                ok = fwrite(t[i].data, 4, count, af.f) == count;
                continue;
            }
            for (uint64_t done = 0; done < count && ok; done += STAGE) {
                uint64_t m = MIN(count - done, (uint64_t)STAGE);
                for (uint64_t k = 0; k < m; k++)
                    stage[k] = dtype == ST_BF16 ? f32_to_bf16(t[i].data[done + k]) : f32_to_f16(t[i].data[done + k]);
                ok = fwrite(stage, 2, m, af.f) == m;
            }
            continue;
        }
        /* made a few rows at a time by the tensor's own function */
        uint64_t row_len = (uint64_t)t[i].shape[t[i].ndim - 1], n_rows = count / row_len;
        uint64_t per = MAX(1, STAGE / row_len);
        if (rows_cap < per * row_len) rows = xrealloc(rows, sizeof(float) * (rows_cap = per * row_len));
        for (uint64_t r = 0; r < n_rows && ok; r += per) {
            uint64_t k = MIN(per, n_rows - r), m = k * row_len;
            t[i].rows(t[i].ctx, (int64_t)r, (int64_t)k, rows);
            if (dtype == ST_F32) {
                ok = fwrite(rows, 4, m, af.f) == m;
                continue;
            }
            for (uint64_t done = 0; done < m && ok; done += STAGE) {
                uint64_t c = MIN(m - done, (uint64_t)STAGE);
                for (uint64_t q = 0; q < c; q++)
                    stage[q] = dtype == ST_BF16 ? f32_to_bf16(rows[done + q]) : f32_to_f16(rows[done + q]);
                ok = fwrite(stage, 2, c, af.f) == c;
            }
        }
    }
    free(rows);
    free(stage);
    if (!ok) {
        int e = errno;
        atomic_abandon(&af);
        die("%s: write failed: %s", path, strerror(e));
    }
    atomic_commit(&af);
}

void st_write_dir(const char *dir, const StWriteTensor *t, int n, StDtype dtype, uint64_t max_shard_bytes) {
    make_dir(dir);
    size_t esize = st_dtype_size(dtype);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) total += tensor_numel(&t[i]) * esize;
    if (max_shard_bytes == 0 || total <= max_shard_bytes) {
        char *p = path_join(dir, "model.safetensors");
        st_write_file(p, t, n, dtype);
        free(p);
        char *idx = path_join(dir, "model.safetensors.index.json");
        unlink(idx); /* a stale index would point readers at old shards */
        free(idx);
        return;
    }
    /* Greedy shards in tensor order, as transformers' save_pretrained does. */
    int *shard_of = xmalloc(sizeof(int) * (size_t)n), n_shards = 0;
    uint64_t cur = 0;
    for (int i = 0; i < n; i++) {
        uint64_t b = tensor_numel(&t[i]) * esize;
        if (i == 0 || (cur > 0 && cur + b > max_shard_bytes)) n_shards++, cur = 0;
        shard_of[i] = n_shards - 1;
        cur += b;
    }
    cJSON *index = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(index, "metadata");
    cJSON_AddNumberToObject(meta, "total_size", (double)total);
    cJSON *wm = cJSON_AddObjectToObject(index, "weight_map");
    for (int s = 0, first = 0; s < n_shards; s++) {
        int last = first;
        while (last < n && shard_of[last] == s) last++;
        char *name = xsprintf("model-%05d-of-%05d.safetensors", s + 1, n_shards);
        char *p = path_join(dir, name);
        st_write_file(p, t + first, last - first, dtype);
        for (int i = first; i < last; i++) cJSON_AddStringToObject(wm, t[i].name, name);
        free(p);
        free(name);
        first = last;
    }
    char *json = cJSON_Print(index);
    char *ip = path_join(dir, "model.safetensors.index.json");
    write_file_atomic(ip, json, strlen(json));
    char *single = path_join(dir, "model.safetensors");
    unlink(single);
    free(single);
    free(ip);
    free(json);
    cJSON_Delete(index);
    free(shard_of);
}
