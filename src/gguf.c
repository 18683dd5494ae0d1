/* gguf.c: see gguf.h. The reader walks the file with a cursor that refuses to step past
 * its end; nothing is dereferenced before its bounds are known. */
#include "gguf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#define STBDS_NO_SHORT_NAMES
#include <stb/stb_ds.h>

static const GgmlTypeInfo type_table[] = {
    [0] = {"F32", 1, 4, 1},       [1] = {"F16", 1, 2, 1},       [2] = {"Q4_0", 32, 18, 1},
    [3] = {"Q4_1", 32, 20, 1},    [6] = {"Q5_0", 32, 22, 1},    [7] = {"Q5_1", 32, 24, 1},
    [8] = {"Q8_0", 32, 34, 1},    [9] = {"Q8_1", 32, 36, 0},    [10] = {"Q2_K", 256, 84, 0},
    [11] = {"Q3_K", 256, 110, 0}, [12] = {"Q4_K", 256, 144, 1}, [13] = {"Q5_K", 256, 176, 1},
    [14] = {"Q6_K", 256, 210, 1}, [15] = {"Q8_K", 256, 292, 0}, [16] = {"IQ2_XXS", 256, 66, 0},
    [17] = {"IQ2_XS", 256, 74, 0}, [18] = {"IQ3_XXS", 256, 98, 0}, [19] = {"IQ1_S", 256, 50, 0},
    [20] = {"IQ4_NL", 32, 18, 1}, [21] = {"IQ3_S", 256, 110, 0}, [22] = {"IQ2_S", 256, 82, 0},
    [23] = {"IQ4_XS", 256, 136, 0}, [24] = {"I8", 1, 1, 0},      [25] = {"I16", 1, 2, 0},
    [26] = {"I32", 1, 4, 0},      [27] = {"I64", 1, 8, 0},      [28] = {"F64", 1, 8, 0},
    [29] = {"IQ1_M", 256, 56, 0}, [30] = {"BF16", 1, 2, 1},     [34] = {"TQ1_0", 256, 54, 0},
    [35] = {"TQ2_0", 256, 66, 0}, [39] = {"MXFP4", 32, 17, 0},
};

const GgmlTypeInfo *ggml_type_info(uint32_t type) {
    static const GgmlTypeInfo unknown = {NULL, 0, 0, 0};
    if (type >= sizeof type_table / sizeof *type_table || !type_table[type].name) return &unknown;
    return &type_table[type];
}

uint64_t ggml_nbytes(uint32_t type, const int64_t *ne, uint32_t n_dims) {
    const GgmlTypeInfo *ti = ggml_type_info(type);
    uint64_t n = (uint64_t)ne[0] / (uint64_t)ti->block * (uint64_t)ti->bytes;
    for (uint32_t d = 1; d < n_dims; d++) n *= (uint64_t)ne[d];
    return n;
}

/* ---------------------------------------------------------------- reading */

typedef struct {
    const Gguf *g;
    uint64_t pos;
    const char *what; /* what is being read, for the error line */
} Cursor;

static _Noreturn void bad(const Cursor *c, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    die("%s: %s (at byte %llu, reading %s)", c->g->path, msg, (unsigned long long)c->pos, c->what);
}

static void need(const Cursor *c, uint64_t n) {
    if (n > c->g->size - c->pos)
        bad(c, "file ends %llu bytes too early (truncated?)", (unsigned long long)(n - (c->g->size - c->pos)));
}

static uint64_t rd(Cursor *c, int bytes) {
    need(c, (uint64_t)bytes);
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | c->g->map[c->pos + (uint64_t)i];
    c->pos += (uint64_t)bytes;
    return v;
}

/* A gguf_string: uint64 length, then bytes. Returns the offset of the bytes. */
static uint64_t rd_string(Cursor *c, uint64_t *len) {
    uint64_t n = rd(c, 8);
    if (n > c->g->size - c->pos)
        bad(c, "a string of %llu bytes runs past the end of the file", (unsigned long long)n);
    uint64_t at = c->pos;
    c->pos += n;
    *len = n;
    return at;
}

static int scalar_size(uint32_t t) {
    static const int s[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < GGUF_TYPE_COUNT ? s[t] : 0;
}

static const char *const type_names[GGUF_TYPE_COUNT] = {"uint8", "int8", "uint16", "int16", "uint32", "int32",
                                                        "float32", "bool", "string", "array", "uint64", "int64",
                                                        "float64"};

void gguf_open(Gguf *g, const char *path) {
    memset(g, 0, sizeof *g);
    g->path = xstrdup(path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) die("%s: cannot stat: %s", path, strerror(errno));
    g->size = (uint64_t)st.st_size;
    if (g->size < 24) die("%s: too short to be a GGUF file (%llu bytes)", path, (unsigned long long)g->size);
    void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) die("%s: cannot map: %s", path, strerror(errno));
    g->map = m;

    Cursor c = {g, 0, "the header"};
    if (memcmp(g->map, "GGUF", 4) != 0) die("%s: not a GGUF file (magic bytes are not \"GGUF\")", path);
    c.pos = 4;
    g->version = (uint32_t)rd(&c, 4);
    if (g->version == 1) die("%s: GGUF version 1 is obsolete and not supported (need 2 or 3)", path);
    if ((g->version & 0xffffu) == 0) die("%s: GGUF file is big-endian; only little-endian files are supported", path);
    if (g->version != 2 && g->version != 3) die("%s: unsupported GGUF version %u (need 2 or 3)", path, g->version);
    uint64_t n_tensors = rd(&c, 8), n_kv = rd(&c, 8);
    /* each record takes at least 8 (key or name length) + 4 bytes: anything more is a lie */
    if (n_kv > (g->size - c.pos) / 12)
        bad(&c, "metadata count %llu runs past the end of the file (truncated?)", (unsigned long long)n_kv);
    if (n_tensors > (g->size - c.pos) / 12)
        bad(&c, "tensor count %llu runs past the end of the file (truncated?)", (unsigned long long)n_tensors);
    g->n_kv = n_kv;
    g->n_tensors = n_tensors;
    g->kv = xcalloc(n_kv ? n_kv : 1, sizeof *g->kv);
    g->tensors = xcalloc(n_tensors ? n_tensors : 1, sizeof *g->tensors);

    struct { char *key; int value; } *seen = NULL;
    stbds_sh_new_arena(seen);
    char what[160];
    for (uint64_t i = 0; i < n_kv; i++) {
        GgufKV *kv = &g->kv[i];
        snprintf(what, sizeof what, "metadata entry %llu", (unsigned long long)i);
        c.what = what;
        kv->start = c.pos;
        uint64_t klen, kat = rd_string(&c, &klen);
        kv->key = xmalloc(klen + 1);
        memcpy(kv->key, g->map + kat, klen);
        kv->key[klen] = 0;
        if (strlen(kv->key) != klen) bad(&c, "a metadata key contains a NUL byte");
        snprintf(what, sizeof what, "metadata \"%.100s\"", kv->key);
        if (stbds_shgeti(seen, kv->key) >= 0) bad(&c, "metadata key \"%s\" appears twice", kv->key);
        stbds_shput(seen, kv->key, 1);
        kv->type = (uint32_t)rd(&c, 4);
        kv->value_at = c.pos;
        if (kv->type >= GGUF_TYPE_COUNT) bad(&c, "unknown value type %u", kv->type);
        if (kv->type == GGUF_STRING) {
            uint64_t len;
            rd_string(&c, &len);
        } else if (kv->type == GGUF_ARRAY) {
            kv->elem_type = (uint32_t)rd(&c, 4);
            kv->count = rd(&c, 8);
            if (kv->elem_type >= GGUF_TYPE_COUNT || kv->elem_type == GGUF_ARRAY)
                bad(&c, "array element type %u is not allowed", kv->elem_type);
            if (kv->elem_type == GGUF_STRING) {
                if (kv->count > (g->size - c.pos) / 8)
                    bad(&c, "array of %llu strings runs past the end of the file", (unsigned long long)kv->count);
                kv->str_offsets = xmalloc(sizeof(uint64_t) * (kv->count ? kv->count : 1));
                for (uint64_t k = 0; k < kv->count; k++) {
                    kv->str_offsets[k] = c.pos;
                    uint64_t len;
                    rd_string(&c, &len);
                }
            } else {
                uint64_t es = (uint64_t)scalar_size(kv->elem_type);
                if (kv->count > (g->size - c.pos) / es)
                    bad(&c, "array of %llu values runs past the end of the file", (unsigned long long)kv->count);
                if (kv->elem_type == GGUF_BOOL)
                    for (uint64_t k = 0; k < kv->count; k++)
                        if (g->map[c.pos + k] > 1) bad(&c, "a bool array holds the value %u", g->map[c.pos + k]);
                c.pos += kv->count * es;
            }
        } else {
            int s = scalar_size(kv->type);
            need(&c, (uint64_t)s);
            if (kv->type == GGUF_BOOL && g->map[c.pos] > 1) bad(&c, "bool value %u (must be 0 or 1)", g->map[c.pos]);
            c.pos += (uint64_t)s;
        }
        kv->end = c.pos;
    }
    stbds_shfree(seen);

    g->alignment = 32;
    const GgufKV *al = gguf_find_kv(g, "general.alignment");
    if (al) {
        if (al->type != GGUF_UINT32) die("%s: general.alignment must be a uint32", path);
        uint64_t a = 0;
        for (int b = 3; b >= 0; b--) a = (a << 8) | g->map[al->value_at + (uint64_t)b];
        if (a == 0 || (a & (a - 1)) != 0) die("%s: general.alignment %llu is not a power of two", path, (unsigned long long)a);
        g->alignment = a;
    }

    struct { char *key; int value; } *names = NULL;
    stbds_sh_new_arena(names);
    for (uint64_t i = 0; i < n_tensors; i++) {
        GgufTensor *t = &g->tensors[i];
        snprintf(what, sizeof what, "tensor info %llu", (unsigned long long)i);
        c.what = what;
        uint64_t nlen, nat = rd_string(&c, &nlen);
        if (nlen >= sizeof t->name) bad(&c, "tensor name of %llu bytes is too long (at most 63)", (unsigned long long)nlen);
        memcpy(t->name, g->map + nat, nlen);
        t->name[nlen] = 0;
        if (strlen(t->name) != nlen) bad(&c, "a tensor name contains a NUL byte");
        snprintf(what, sizeof what, "tensor info \"%s\"", t->name);
        if (stbds_shgeti(names, t->name) >= 0) bad(&c, "tensor \"%s\" appears twice", t->name);
        stbds_shput(names, t->name, 1);
        t->n_dims = (uint32_t)rd(&c, 4);
        if (t->n_dims < 1 || t->n_dims > 4) bad(&c, "tensor \"%s\" has %u dimensions (1 to 4 allowed)", t->name, t->n_dims);
        for (int d = 0; d < 4; d++) t->ne[d] = 1;
        unsigned __int128 numel = 1;
        for (uint32_t d = 0; d < t->n_dims; d++) {
            t->ne[d] = (int64_t)rd(&c, 8);
            if (t->ne[d] < 0) bad(&c, "tensor \"%s\" has a negative dimension", t->name);
            numel *= (uint64_t)t->ne[d];
        }
        if (numel > ((unsigned __int128)1 << 60)) bad(&c, "tensor \"%s\" is impossibly large", t->name);
        t->type = (uint32_t)rd(&c, 4);
        const GgmlTypeInfo *ti = ggml_type_info(t->type);
        if (!ti->name) bad(&c, "tensor \"%s\" has unknown type %u", t->name, t->type);
        if (t->ne[0] % ti->block != 0)
            bad(&c, "tensor \"%s\": row length %lld is not a multiple of %s's block size %d", t->name,
                (long long)t->ne[0], ti->name, ti->block);
        t->offset = rd(&c, 8);
        t->nbytes = ggml_nbytes(t->type, t->ne, t->n_dims);
    }
    stbds_shfree(names);

    g->data_start = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
    for (uint64_t i = 0; i < n_tensors; i++) {
        const GgufTensor *t = &g->tensors[i];
        if (g->data_start > g->size || t->offset > g->size - g->data_start ||
            t->nbytes > g->size - g->data_start - t->offset)
            die("%s: tensor \"%s\" (%llu bytes at data offset %llu) runs past the end of the file (%llu bytes; "
                "truncated?)", path, t->name, (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                (unsigned long long)g->size);
    }
}

void gguf_close(Gguf *g) {
    if (g->map) munmap((void *)g->map, g->size);
    for (uint64_t i = 0; i < g->n_kv; i++) {
        free(g->kv[i].key);
        free(g->kv[i].str_offsets);
    }
    free(g->kv);
    free(g->tensors);
    free(g->path);
    memset(g, 0, sizeof *g);
}

const GgufKV *gguf_find_kv(const Gguf *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0) return &g->kv[i];
    return NULL;
}

const GgufTensor *gguf_find_tensor(const Gguf *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0) return &g->tensors[i];
    return NULL;
}

const uint8_t *gguf_tensor_data(const Gguf *g, const GgufTensor *t) { return g->map + g->data_start + t->offset; }

void gguf_release(const Gguf *g, const GgufTensor *t) {
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t a = (g->data_start + t->offset) / page * page, b = g->data_start + t->offset + t->nbytes;
    madvise((void *)(g->map + a), b - a, MADV_DONTNEED);
}

static uint64_t load_le(const uint8_t *p, int bytes) {
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static int64_t scalar_as_int(uint32_t type, const uint8_t *p, int *ok) {
    *ok = 1;
    switch (type) {
    case GGUF_UINT8: return p[0];
    case GGUF_INT8: return (int8_t)p[0];
    case GGUF_UINT16: return (int64_t)load_le(p, 2);
    case GGUF_INT16: return (int16_t)load_le(p, 2);
    case GGUF_UINT32: return (int64_t)load_le(p, 4);
    case GGUF_INT32: return (int32_t)load_le(p, 4);
    case GGUF_UINT64: return (int64_t)load_le(p, 8);
    case GGUF_INT64: return (int64_t)load_le(p, 8);
    case GGUF_BOOL: return p[0];
    default: *ok = 0; return 0;
    }
}

int gguf_get_int(const Gguf *g, const char *key, int64_t *out) {
    const GgufKV *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    int ok;
    *out = scalar_as_int(kv->type, g->map + kv->value_at, &ok);
    if (!ok || kv->type == GGUF_BOOL) die("%s: metadata %s has type %s, expected an integer", g->path, key, type_names[kv->type]);
    return 1;
}

int gguf_get_float(const Gguf *g, const char *key, double *out) {
    const GgufKV *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    const uint8_t *p = g->map + kv->value_at;
    if (kv->type == GGUF_FLOAT32) {
        uint32_t b = (uint32_t)load_le(p, 4);
        float f;
        memcpy(&f, &b, 4);
        *out = f;
    } else if (kv->type == GGUF_FLOAT64) {
        uint64_t b = load_le(p, 8);
        memcpy(out, &b, 8);
    } else {
        int ok;
        int64_t v = scalar_as_int(kv->type, p, &ok);
        if (!ok || kv->type == GGUF_BOOL) die("%s: metadata %s has type %s, expected a number", g->path, key, type_names[kv->type]);
        *out = (double)v;
    }
    return 1;
}

int gguf_get_bool(const Gguf *g, const char *key, int *out) {
    const GgufKV *kv = gguf_find_kv(g, key);
    if (!kv) return 0;
    if (kv->type != GGUF_BOOL) die("%s: metadata %s has type %s, expected a bool", g->path, key, type_names[kv->type]);
    *out = g->map[kv->value_at];
    return 1;
}

char *gguf_get_string(const Gguf *g, const char *key) {
    const GgufKV *kv = gguf_find_kv(g, key);
    if (!kv) return NULL;
    if (kv->type != GGUF_STRING) die("%s: metadata %s has type %s, expected a string", g->path, key, type_names[kv->type]);
    uint64_t len = load_le(g->map + kv->value_at, 8);
    char *s = xmalloc(len + 1);
    memcpy(s, g->map + kv->value_at + 8, len);
    s[len] = 0;
    return s;
}

const char *gguf_array_string(const Gguf *g, const GgufKV *kv, uint64_t i, uint64_t *len) {
    if (kv->type != GGUF_ARRAY || kv->elem_type != GGUF_STRING || i >= kv->count)
        die("%s: metadata %s is not an array of strings", g->path, kv->key);
    *len = load_le(g->map + kv->str_offsets[i], 8);
    return (const char *)g->map + kv->str_offsets[i] + 8;
}

int64_t gguf_array_int(const Gguf *g, const GgufKV *kv, uint64_t i) {
    int ok = 0;
    int64_t v = 0;
    if (kv->type == GGUF_ARRAY && i < kv->count) {
        int es = scalar_size(kv->elem_type);
        v = es ? scalar_as_int(kv->elem_type, g->map + kv->value_at + 12 + i * (uint64_t)es, &ok) : 0;
    }
    if (!ok) die("%s: metadata %s is not an array of integers", g->path, kv->key);
    return v;
}

/* ---------------------------------------------------------------- writing */

static void put(GgufWriter *w, const void *p, size_t n) {
    if (w->kv_len + n > w->kv_cap) {
        w->kv_cap = (w->kv_len + n) * 2 + 4096;
        w->kv = xrealloc(w->kv, w->kv_cap);
    }
    memcpy(w->kv + w->kv_len, p, n);
    w->kv_len += n;
}
static void put_u32(GgufWriter *w, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(w, b, 4);
}
static void put_u64(GgufWriter *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 8);
}
static void put_str(GgufWriter *w, const char *s, size_t n) {
    put_u64(w, n);
    put(w, s, n);
}
static void put_key(GgufWriter *w, const char *key, uint32_t type) {
    put_str(w, key, strlen(key));
    put_u32(w, type);
    w->n_kv++;
}

void gguf_w_init(GgufWriter *w) { memset(w, 0, sizeof *w); }
void gguf_w_u32(GgufWriter *w, const char *key, uint32_t v) { put_key(w, key, GGUF_UINT32), put_u32(w, v); }
void gguf_w_i32(GgufWriter *w, const char *key, int32_t v) { put_key(w, key, GGUF_INT32), put_u32(w, (uint32_t)v); }
void gguf_w_f32(GgufWriter *w, const char *key, float v) {
    uint32_t b;
    memcpy(&b, &v, 4);
    put_key(w, key, GGUF_FLOAT32);
    put_u32(w, b);
}
void gguf_w_bool(GgufWriter *w, const char *key, int v) {
    uint8_t b = v ? 1 : 0;
    put_key(w, key, GGUF_BOOL);
    put(w, &b, 1);
}
void gguf_w_str(GgufWriter *w, const char *key, const char *v) {
    put_key(w, key, GGUF_STRING);
    put_str(w, v, strlen(v));
}
void gguf_w_str_array(GgufWriter *w, const char *key, const char *const *v, const size_t *lens, uint64_t n) {
    put_key(w, key, GGUF_ARRAY);
    put_u32(w, GGUF_STRING);
    put_u64(w, n);
    for (uint64_t i = 0; i < n; i++) put_str(w, v[i], lens ? lens[i] : strlen(v[i]));
}
void gguf_w_i32_array(GgufWriter *w, const char *key, const int32_t *v, uint64_t n) {
    put_key(w, key, GGUF_ARRAY);
    put_u32(w, GGUF_INT32);
    put_u64(w, n);
    for (uint64_t i = 0; i < n; i++) put_u32(w, (uint32_t)v[i]);
}
void gguf_w_raw_kv(GgufWriter *w, const Gguf *src, const GgufKV *kv) {
    put(w, src->map + kv->start, kv->end - kv->start);
    w->n_kv++;
}

void gguf_w_tensor(GgufWriter *w, const char *name, uint32_t n_dims, const int64_t *ne, uint32_t type) {
    w->tensors = xrealloc(w->tensors, sizeof *w->tensors * (w->n_tensors + 1));
    GgufOutTensor *t = &w->tensors[w->n_tensors++];
    t->name = xstrdup(name);
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++) t->ne[d] = d < (int)n_dims ? ne[d] : 1;
    t->type = type;
    t->nbytes = ggml_nbytes(type, t->ne, n_dims);
}

#define GGUF_WRITE_ALIGN 32
static uint64_t pad_to(uint64_t x) { return (x + GGUF_WRITE_ALIGN - 1) / GGUF_WRITE_ALIGN * GGUF_WRITE_ALIGN; }

void gguf_w_header(GgufWriter *w, FILE *f, const char *path) {
    GgufWriter head;
    gguf_w_init(&head);
    put(&head, "GGUF", 4);
    put_u32(&head, 3);
    put_u64(&head, w->n_tensors);
    put_u64(&head, w->n_kv);
    put(&head, w->kv, w->kv_len);
    uint64_t off = 0;
    for (uint64_t i = 0; i < w->n_tensors; i++) {
        const GgufOutTensor *t = &w->tensors[i];
        put_str(&head, t->name, strlen(t->name));
        put_u32(&head, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(&head, (uint64_t)t->ne[d]);
        put_u32(&head, t->type);
        put_u64(&head, off);
        off += pad_to(t->nbytes);
    }
    size_t padded = (size_t)pad_to(head.kv_len);
    while (head.kv_len < padded) put(&head, "", 1);
    if (fwrite(head.kv, 1, head.kv_len, f) != head.kv_len) die("%s: write failed: %s", path, strerror(errno));
    free(head.kv);
}

void gguf_w_pad(FILE *f, uint64_t nbytes, const char *path) {
    static const uint8_t zeros[GGUF_WRITE_ALIGN];
    uint64_t n = pad_to(nbytes) - nbytes;
    if (n && fwrite(zeros, 1, n, f) != n) die("%s: write failed: %s", path, strerror(errno));
}

void gguf_w_free(GgufWriter *w) {
    for (uint64_t i = 0; i < w->n_tensors; i++) free(w->tensors[i].name);
    free(w->tensors);
    free(w->kv);
    memset(w, 0, sizeof *w);
}
