/* model_io.c: see model_io.h. */
#include "model_io.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "quant.h"
#include "vocab.h"

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

/* Whether `name` is one of the model's parameters, in a format's naming (name_of). */
static int names_a_param(const ParamInfo info[P_KINDS], int n_layers, const char *name,
                         void (*name_of)(ParamKind, int, char *, size_t)) {
    char buf[160];
    for (int k = 0; k < P_BASE_KINDS; k++) {
        if (!info[k].present) continue;
        for (int l = 0; l < (info[k].per_layer ? n_layers : 1); l++) {
            name_of((ParamKind)k, l, buf, sizeof buf);
            if (strcmp(buf, name) == 0) return 1;
        }
    }
    return 0;
}

/* Tensors that checkpoints sometimes carry and that mean nothing to this model. */
static int ignorable(const char *name) {
    return strstr(name, "rotary_emb.inv_freq") != NULL;
}

/* Every tensor the config needs is there with the right shape, and nothing else is:
 * checked from the headers alone, before anything is allocated or read. */
static void check_safetensors(const StSet *s, const ModelConfig *c, const char *path) {
    ParamInfo info[P_KINDS];
    param_layout(c, NULL, 0, info);
    int L = c->n_layers;
    char name[160];
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            param_name((ParamKind)k, l, name, sizeof name);
            const StTensor *t = st_find(s, name);
            if (!t) die("%s: tensor \"%s\" is missing (config.json expects it)", path, name);
            int64_t want[2] = {(int64_t)p->rows, (int64_t)p->cols};
            int ok = t->ndim == p->ndim;
            for (int d = 0; ok && d < p->ndim; d++) ok = t->shape[d] == want[d];
            if (!ok) {
                char got_s[96], want_s[96];
                shape_str(got_s, sizeof got_s, t->ndim, t->shape);
                shape_str(want_s, sizeof want_s, p->ndim, want);
                die("%s: tensor \"%s\" has shape %s but config.json implies %s", st_file_of(s, t), name, got_s,
                    want_s);
            }
            if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16)
                die("%s: tensor \"%s\" has dtype %s; weights must be F32, F16 or BF16", st_file_of(s, t), name,
                    t->dtype_name);
        }
    }
    /* Anything left over means the config and the weights disagree (more layers, a bias
     * the config does not declare, an untied head in a tied config ...). A tied model may
     * still ship a copy of the head; transformers ignores it too. */
    for (int i = 0; i < s->n_tensors; i++) {
        const char *n = s->tensors[i].name;
        if (ignorable(n)) continue;
        if (c->tie_embeddings && strcmp(n, "lm_head.weight") == 0) continue;
        if (!names_a_param(info, L, n, param_name))
            die("%s: tensor \"%s\" is not part of the model config.json describes", st_file_of(s, &s->tensors[i]), n);
    }
}

/* ggml's name for a safetensors float type (check_safetensors admits only these three). */
static uint32_t st_ggml_type(StDtype d) { return d == ST_BF16 ? GGML_BF16 : d == ST_F16 ? GGML_F16 : GGML_F32; }

/* Tensor t into dst, a tensor of `rows` x `cols` stored in dst_type: bytes as they are when
 * the types agree, else through fp32 a row at a time (fp32 itself needs no staging). */
static void st_load_tensor(const StSet *s, const StTensor *t, uint32_t dst_type, void *dst, size_t rows, size_t cols) {
    uint32_t src_type = st_ggml_type(t->dtype);
    if (dst_type == src_type) {
        st_read_raw(s, t, dst);
        return;
    }
    if (dst_type == GGML_F32) {
        st_read_f32(s, t, dst);
        return;
    }
    size_t row_bytes = ggml_nbytes(dst_type, (int64_t[]){(int64_t)cols}, 1);
    float *row = xmalloc(sizeof(float) * cols);
    for (size_t r = 0; r < rows; r++) {
        st_read_f32_at(s, t, (uint64_t)(r * cols), (uint64_t)cols, row);
        quantize_row(dst_type, row, (char *)dst + r * row_bytes, (int64_t)cols);
    }
    free(row);
}

static void read_safetensors(const StSet *s, Model *m, const Weight *views) {
    char name[160];
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layers : 1); l++) {
            param_name((ParamKind)k, l, name, sizeof name);
            Weight w = views[(size_t)k * m->cfg.n_layers + l];
            st_load_tensor(s, st_find(s, name), w.type, (void *)w.data, p->ndim == 2 ? p->rows : 1,
                           p->ndim == 2 ? p->cols : p->rows);
        }
    }
}

/* One tensor of a model being written: model_tensor_rows as StWriteTensor's row source. */
typedef struct {
    const Model *m;
    ParamKind kind;
    int layer, merge;
} TensorSource;

static void tensor_source_rows(const void *ctx, int64_t row0, int64_t n, float *dst) {
    const TensorSource *t = ctx;
    model_tensor_rows(t->m, t->kind, t->layer, (size_t)row0, (size_t)n, dst, t->merge);
}

void model_save_hf(const Model *m, const char *dir, StDtype dtype, uint64_t max_shard_bytes, int merge) {
    make_dir(dir);
    int L = m->cfg.n_layers, n = 0;
    StWriteTensor *t = xcalloc((size_t)(P_BASE_KINDS * L + 4), sizeof *t);
    TensorSource *src = xcalloc((size_t)(P_BASE_KINDS * L + 4), sizeof *src);
    char **names = xcalloc((size_t)(P_BASE_KINDS * L + 4), sizeof *names);
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            char name[160];
            param_name((ParamKind)k, l, name, sizeof name);
            names[n] = xstrdup(name);
            src[n] = (TensorSource){m, (ParamKind)k, l, merge};
            t[n] = (StWriteTensor){names[n], p->ndim, {(int64_t)p->rows, (int64_t)p->cols}, NULL, tensor_source_rows,
                                   &src[n]};
            n++;
        }
    }
    st_write_dir(dir, t, n, dtype, max_shard_bytes);
    const char *torch_dtype = dtype == ST_BF16 ? "bfloat16" : dtype == ST_F16 ? "float16" : "float32";
    cJSON *cj = config_to_json(&m->cfg, torch_dtype);
    char *json = cJSON_Print(cj);
    char *cp = path_join(dir, "config.json");
    write_file_atomic(cp, json, strlen(json));
    free(cp);
    free(json);
    cJSON_Delete(cj);
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    free(t);
    free(src);
}

/* ---------------------------------------------------------------- GGUF */

/* llama.cpp's tensor names for each parameter kind (FORMATS.md 1.6). */
static const char *const gguf_names[P_KINDS] = {
    [P_EMBED] = "token_embd.weight",         [P_ATTN_NORM] = "blk.%d.attn_norm.weight",
    [P_WQ] = "blk.%d.attn_q.weight",         [P_BQ] = "blk.%d.attn_q.bias",
    [P_WK] = "blk.%d.attn_k.weight",         [P_BK] = "blk.%d.attn_k.bias",
    [P_WV] = "blk.%d.attn_v.weight",         [P_BV] = "blk.%d.attn_v.bias",
    [P_WO] = "blk.%d.attn_output.weight",    [P_FFN_NORM] = "blk.%d.ffn_norm.weight",
    [P_WG] = "blk.%d.ffn_gate.weight",       [P_WU] = "blk.%d.ffn_up.weight",
    [P_WD] = "blk.%d.ffn_down.weight",       [P_FINAL_NORM] = "output_norm.weight",
    [P_LM_HEAD] = "output.weight",
};

static void gguf_param_name(ParamKind k, int layer, char *buf, size_t size) { snprintf(buf, size, gguf_names[k], layer); }

static int64_t meta_int(const Gguf *g, const char *arch, const char *suffix, int required, int64_t dflt) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    if (gguf_get_int(g, key, &v)) {
        if (v < 0 || v > 2147483647) die("%s: metadata %s = %lld is out of range", g->path, key, (long long)v);
        return v;
    }
    if (required) die("%s: metadata %s is missing", g->path, key);
    return dflt;
}

static double meta_float(const Gguf *g, const char *arch, const char *suffix, int required, double dflt) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    double v;
    if (gguf_get_float(g, key, &v)) return v;
    if (required) die("%s: metadata %s is missing", g->path, key);
    return dflt;
}

void config_from_gguf(ModelConfig *c, const Gguf *g) {
    memset(c, 0, sizeof *c);
    char *arch = gguf_get_string(g, "general.architecture");
    if (!arch) die("%s: metadata general.architecture is missing", g->path);
    if (strcmp(arch, "qwen2") == 0) c->arch = ARCH_QWEN2;
    else if (strcmp(arch, "llama") == 0) c->arch = ARCH_LLAMA;
    else die("%s: architecture \"%s\" is not supported (qwen2 or llama)", g->path, arch);
    c->dim = (int)meta_int(g, arch, "embedding_length", 1, 0);
    c->n_layers = (int)meta_int(g, arch, "block_count", 1, 0);
    c->ffn_dim = (int)meta_int(g, arch, "feed_forward_length", 1, 0);
    c->n_heads = (int)meta_int(g, arch, "attention.head_count", 1, 0);
    c->n_kv_heads = (int)meta_int(g, arch, "attention.head_count_kv", 0, c->n_heads);
    c->max_pos = (int)meta_int(g, arch, "context_length", 0, 0);
    c->norm_eps = meta_float(g, arch, "attention.layer_norm_rms_epsilon", 1, 0);
    c->rope_theta = meta_float(g, arch, "rope.freq_base", 0, 10000.0);
    if (c->dim <= 0 || c->n_layers <= 0 || c->ffn_dim <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0)
        die("%s: model dimensions in the metadata must be positive", g->path);
    if (c->n_heads % c->n_kv_heads != 0)
        die("%s: head_count (%d) is not a multiple of head_count_kv (%d)", g->path, c->n_heads, c->n_kv_heads);
    if (!(c->norm_eps > 0) || !(c->rope_theta > 0)) die("%s: rms epsilon and rope.freq_base must be positive", g->path);
    int64_t kl = meta_int(g, arch, "attention.key_length", 0, -1);
    if (kl < 0 && c->dim % c->n_heads != 0)
        die("%s: embedding_length (%d) is not a multiple of head_count (%d)", g->path, c->dim, c->n_heads);
    c->head_dim = kl > 0 ? (int)kl : c->dim / c->n_heads;
    int64_t vl = meta_int(g, arch, "attention.value_length", 0, c->head_dim);
    int64_t rot = meta_int(g, arch, "rope.dimension_count", 0, c->head_dim);
    if (vl != c->head_dim || rot != c->head_dim || c->head_dim % 2)
        die("%s: key/value/rotary dimensions differ (%d, %lld, %lld); partial RoPE is not supported", g->path,
            c->head_dim, (long long)vl, (long long)rot);

    const GgufTensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!emb) die("%s: tensor \"token_embd.weight\" is missing", g->path);
    c->vocab_size = (int)meta_int(g, arch, "vocab_size", 0, emb->n_dims == 2 ? emb->ne[1] : 0);
    if (c->vocab_size <= 0) die("%s: cannot tell the vocabulary size", g->path);
    /* No output.weight means a tied head (llama.cpp does the same). Some files carry a
     * byte-identical copy of the embedding; that is a tied head too. */
    const GgufTensor *out = gguf_find_tensor(g, "output.weight");
    c->tie_embeddings = !out || (out->type == emb->type && out->nbytes == emb->nbytes &&
                                 memcmp(gguf_tensor_data(g, out), gguf_tensor_data(g, emb), emb->nbytes) == 0);
    if (out) gguf_release(g, out), gguf_release(g, emb);
    c->qkv_bias = c->arch == ARCH_QWEN2 || gguf_find_tensor(g, "blk.0.attn_q.bias") != NULL;
    c->init_std = 0.02;

    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    char *st = gguf_get_string(g, key);
    if (st && strcmp(st, "linear") == 0) {
        c->rope_scaling = ROPE_SCALING_LINEAR;
        c->rope_factor = meta_float(g, arch, "rope.scaling.factor", 1, 0);
        if (!(c->rope_factor > 0)) die("%s: rope.scaling.factor must be positive", g->path);
    } else if (st && strcmp(st, "none") != 0) {
        die("%s: rope scaling type \"%s\" is not supported (none, linear; llama3 via rope_freqs)", g->path, st);
    }
    free(st);
    const GgufTensor *rf = gguf_find_tensor(g, "rope_freqs.weight");
    if (rf) {
        if (rf->type != GGML_F32 || rf->n_dims != 1 || rf->ne[0] != c->head_dim / 2)
            die("%s: tensor \"rope_freqs.weight\" must be F32 with head_dim/2 = %d entries", g->path, c->head_dim / 2);
        c->rope_freq_factors = xmalloc(sizeof(float) * (size_t)(c->head_dim / 2));
        memcpy(c->rope_freq_factors, gguf_tensor_data(g, rf), sizeof(float) * (size_t)(c->head_dim / 2));
        for (int i = 0; i < c->head_dim / 2; i++)
            if (!(c->rope_freq_factors[i] > 0)) die("%s: rope_freqs.weight[%d] is not positive", g->path, i);
    }
    int64_t id;
    c->bos_token_id = gguf_get_int(g, "tokenizer.ggml.bos_token_id", &id) ? (int)id : -1;
    c->eos_token_id = gguf_get_int(g, "tokenizer.ggml.eos_token_id", &id) ? (int)id : -1;

    /* a config.json equivalent, so checkpoints written from this model describe it */
    cJSON *j = cJSON_CreateObject();
    if (c->max_pos > 0) cJSON_AddNumberToObject(j, "max_position_embeddings", c->max_pos);
    if (c->arch == ARCH_QWEN2) cJSON_AddBoolToObject(j, "use_sliding_window", 0);
    cJSON_AddStringToObject(j, "torch_dtype", "bfloat16");
    c->source = j;
    free(arch);
}

/* GGUF keeps Llama's Q/K rows in Meta's interleaved order: within each head of D rows,
 * gguf row 2i+j holds HF row j*D/2 + i (FORMATS.md 3.2). */
static size_t gguf_row_of_hf(size_t hf, int D) {
    size_t h = hf / (size_t)D, r = hf % (size_t)D, half = (size_t)D / 2;
    return h * (size_t)D + 2 * (r % half) + r / half;
}

/* Put rows (of row_bytes each, in any type: rows are whole blocks) back in HF order. */
static void permute_rows_to_hf(void *w, int n_heads, int D, size_t row_bytes) {
    char *base = w, *tmp = xmalloc(row_bytes * (size_t)D);
    for (int h = 0; h < n_heads; h++) {
        char *head = base + (size_t)h * D * row_bytes;
        memcpy(tmp, head, row_bytes * (size_t)D);
        for (size_t hf = 0; hf < (size_t)D; hf++)
            memcpy(head + hf * row_bytes, tmp + gguf_row_of_hf(hf, D) * row_bytes, row_bytes);
    }
    free(tmp);
}

static int is_qk(ParamKind k) { return k == P_WQ || k == P_BQ || k == P_WK || k == P_BK; }
static int qk_heads(const ModelConfig *c, ParamKind k) { return (k == P_WQ || k == P_BQ) ? c->n_heads : c->n_kv_heads; }

/* As check_safetensors: names, shapes, readable types, nothing unexpected. */
static void check_gguf(const Gguf *g, const ModelConfig *c) {
    ParamInfo info[P_KINDS];
    param_layout(c, NULL, 0, info);
    int L = c->n_layers;
    char name[96];
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            gguf_param_name((ParamKind)k, l, name, sizeof name);
            const GgufTensor *t = gguf_find_tensor(g, name);
            if (!t) die("%s: tensor \"%s\" is missing", g->path, name);
            int64_t want[2] = {(int64_t)(p->ndim == 2 ? p->cols : p->rows), (int64_t)p->rows}; /* ne order */
            int ok = (int)t->n_dims == p->ndim && t->ne[0] == want[0] && (p->ndim == 1 || t->ne[1] == want[1]);
            if (!ok)
                die("%s: tensor \"%s\" has ne [%lld, %lld] but the metadata implies [%lld%s%lld]", g->path, name,
                    (long long)t->ne[0], (long long)t->ne[1], (long long)want[0], p->ndim == 2 ? ", " : "",
                    p->ndim == 2 ? (long long)want[1] : 0LL);
            const GgmlTypeInfo *ti = ggml_type_info(t->type);
            if (!ti->readable)
                die("%s: tensor \"%s\" has type %s (%u), which this program cannot read (F32, F16, BF16, Q8_0, Q4_0, "
                    "Q4_1, Q5_0, Q5_1, IQ4_NL, Q4_K, Q5_K, Q6_K)", g->path, name, ti->name, t->type);
        }
    }
    /* anything else in the file means the metadata and the tensors disagree */
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const char *n = g->tensors[i].name;
        if (strcmp(n, "rope_freqs.weight") == 0 || strstr(n, "attn_rot_embd")) continue;
        if (c->tie_embeddings && strcmp(n, "output.weight") == 0) continue;
        if (!names_a_param(info, L, n, gguf_param_name)) die("%s: tensor \"%s\" is not part of the model the metadata describes", g->path, n);
    }
}

/* Each tensor from the map into its view: block bytes copied as they are when the view keeps
 * the file's type, else dequantized row by row (and re-encoded for a 16-bit or Q8_0 view);
 * then its pages are let go. */
static void read_gguf(const Gguf *g, Model *m, const Weight *views) {
    const ModelConfig *c = &m->cfg;
    char name[96];
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? c->n_layers : 1); l++) {
            gguf_param_name((ParamKind)k, l, name, sizeof name);
            const GgufTensor *t = gguf_find_tensor(g, name);
            Weight w = views[(size_t)k * c->n_layers + l];
            char *dst = (char *)w.data;
            const uint8_t *src = gguf_tensor_data(g, t);
            int64_t rows = p->ndim == 2 ? (int64_t)p->rows : 1, cols = t->ne[0];
            uint64_t src_row = t->nbytes / (uint64_t)rows, dst_row = ggml_nbytes(w.type, &cols, 1);
            if (w.type == t->type) {
                memcpy(dst, src, t->nbytes);
            } else if (w.type == GGML_F32) {
#pragma omp parallel for schedule(static)
                for (int64_t r = 0; r < rows; r++) dequantize_row(t->type, src + (uint64_t)r * src_row, (float *)(dst + r * dst_row), cols);
            } else {
#pragma omp parallel
                {
                    float *row = xmalloc(sizeof(float) * (size_t)cols);
#pragma omp for schedule(static)
                    for (int64_t r = 0; r < rows; r++) {
                        dequantize_row(t->type, src + (uint64_t)r * src_row, row, cols);
                        quantize_row(w.type, row, dst + r * dst_row, cols);
                    }
                    free(row);
                }
            }
            gguf_release(g, t); /* the mapped bytes are copied: drop them from our resident set */
            if (c->arch == ARCH_LLAMA && is_qk((ParamKind)k)) /* vectors: rows of one value */
                permute_rows_to_hf(dst, qk_heads(c, (ParamKind)k), c->head_dim, p->ndim == 2 ? dst_row : sizeof(float));
        }
    }
}

void model_export_gguf(const Model *m, const char *path, uint32_t type, const ModelFiles *tok_src, int merge) {
    const ModelConfig *c = &m->cfg;
    const char *arch = config_arch_name(c->arch);
    if (type != GGML_F32 && type != GGML_F16 && type != GGML_BF16 && type != GGML_Q8_0)
        die("--export-gguf writes F32, F16, BF16 or Q8_0");
    GgufWriter w;
    gguf_w_init(&w);
    char key[128];
#define K(suffix) (snprintf(key, sizeof key, "%s.%s", arch, suffix), key)
    gguf_w_str(&w, "general.architecture", arch);
    gguf_w_str(&w, "general.name", "fine-tuned");
    uint32_t file_type = type == GGML_F32 ? 0 : type == GGML_F16 ? 1 : type == GGML_BF16 ? 32 : 7;
    gguf_w_u32(&w, "general.file_type", file_type);
    if (type == GGML_Q8_0) gguf_w_u32(&w, "general.quantization_version", 2);
    gguf_w_u32(&w, K("context_length"), (uint32_t)(c->max_pos > 0 ? c->max_pos : 4096));
    gguf_w_u32(&w, K("embedding_length"), (uint32_t)c->dim);
    gguf_w_u32(&w, K("block_count"), (uint32_t)c->n_layers);
    gguf_w_u32(&w, K("feed_forward_length"), (uint32_t)c->ffn_dim);
    gguf_w_u32(&w, K("attention.head_count"), (uint32_t)c->n_heads);
    gguf_w_u32(&w, K("attention.head_count_kv"), (uint32_t)c->n_kv_heads);
    gguf_w_f32(&w, K("attention.layer_norm_rms_epsilon"), (float)c->norm_eps);
    gguf_w_f32(&w, K("rope.freq_base"), (float)c->rope_theta);
    if (c->head_dim != c->dim / c->n_heads) {
        gguf_w_u32(&w, K("attention.key_length"), (uint32_t)c->head_dim);
        gguf_w_u32(&w, K("attention.value_length"), (uint32_t)c->head_dim);
    }
    if (c->arch == ARCH_LLAMA) {
        gguf_w_u32(&w, K("rope.dimension_count"), (uint32_t)c->head_dim);
        gguf_w_u32(&w, K("vocab_size"), (uint32_t)c->vocab_size);
    }
    if (c->rope_scaling == ROPE_SCALING_LINEAR) {
        gguf_w_str(&w, K("rope.scaling.type"), "linear");
        gguf_w_f32(&w, K("rope.scaling.factor"), (float)c->rope_factor);
    }
#undef K
    /* the tokenizer: a GGUF source's keys verbatim; a directory's tokenizer.json converted */
    if (tok_src && tok_src->is_gguf) {
        for (uint64_t i = 0; i < tok_src->gguf.n_kv; i++)
            if (strncmp(tok_src->gguf.kv[i].key, "tokenizer.", 10) == 0) gguf_w_raw_kv(&w, &tok_src->gguf, &tok_src->gguf.kv[i]);
    } else if (tok_src) {
        char *tj = path_join(tok_src->path, "tokenizer.json");
        if (path_is_file(tj)) {
            Vocab v;
            vocab_from_hf(&v, tok_src->path);
            vocab_check_fits(&v, c, tj);
            vocab_pad_to(&v, c->vocab_size);
            vocab_to_gguf(&v, &w);
            vocab_free(&v);
        }
        free(tj);
    }

    /* llama3 scaling travels as the rope_freqs tensor of divisors (FORMATS.md 3.3) */
    int half = c->head_dim / 2;
    float *freqs = NULL;
    if (c->rope_scaling == ROPE_SCALING_LLAMA3 || c->rope_freq_factors) {
        freqs = xmalloc(sizeof(float) * (size_t)half);
        if (c->rope_freq_factors) memcpy(freqs, c->rope_freq_factors, sizeof(float) * (size_t)half);
        else {
            ModelConfig plain = *c;
            plain.rope_scaling = ROPE_SCALING_NONE;
            float *a = xmalloc(sizeof(float) * (size_t)half);
            config_rope_inv_freq(&plain, a);
            config_rope_inv_freq(c, freqs);
            for (int i = 0; i < half; i++) freqs[i] = a[i] / freqs[i];
            free(a);
        }
        int64_t ne[1] = {half};
        gguf_w_tensor(&w, "rope_freqs.weight", 1, ne, GGML_F32);
    }
    char name[96];
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? c->n_layers : 1); l++) {
            gguf_param_name((ParamKind)k, l, name, sizeof name);
            int64_t ne[2] = {(int64_t)(p->ndim == 2 ? p->cols : p->rows), (int64_t)p->rows};
            uint32_t t = p->ndim == 2 ? type : GGML_F32;
            if (t == GGML_Q8_0 && ne[0] % 32 != 0) t = GGML_F16; /* rows Q8_0 cannot tile */
            gguf_w_tensor(&w, name, (uint32_t)p->ndim, ne, t);
        }
    }
    AtomicFile af = atomic_open(path);
    gguf_w_header(&w, af.f, path);
    uint64_t ti = 0;
    if (freqs) {
        if (fwrite(freqs, 4, (size_t)half, af.f) != (size_t)half) die("%s: write failed: %s", path, strerror(errno));
        gguf_w_pad(af.f, w.tensors[ti++].nbytes, path);
    }
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? c->n_layers : 1); l++, ti++) {
            const GgufOutTensor *t = &w.tensors[ti];
            size_t rows = p->ndim == 2 ? p->rows : 1, cols = (size_t)t->ne[0];
            int qk = c->arch == ARCH_LLAMA && is_qk((ParamKind)k); /* back to the interleaved order */
            uint64_t row_bytes = t->nbytes / rows;
            uint8_t *buf = xmalloc(row_bytes);
            float *row = xmalloc(sizeof(float) * cols);
            if (p->ndim == 1 && qk) { /* a bias: its values permuted */
                float *hf = xmalloc(sizeof(float) * cols);
                model_tensor_rows(m, (ParamKind)k, l, 0, 1, hf, merge);
                for (size_t i = 0; i < cols; i++) row[gguf_row_of_hf(i, c->head_dim)] = hf[i];
                free(hf);
                quantize_row(t->type, row, buf, (int64_t)cols);
                if (fwrite(buf, 1, row_bytes, af.f) != row_bytes) die("%s: write failed: %s", path, strerror(errno));
            }
            for (size_t r = 0; r < rows && !(p->ndim == 1 && qk); r++) {
                size_t src = r;
                if (qk) /* gguf row r holds HF row hf with gguf_row_of_hf(hf) = r */
                    src = (r / (size_t)c->head_dim) * (size_t)c->head_dim + (r % 2) * (size_t)(c->head_dim / 2) +
                          (r % (size_t)c->head_dim) / 2;
                model_tensor_rows(m, (ParamKind)k, l, src, 1, row, merge);
                quantize_row(t->type, row, buf, (int64_t)cols);
                if (fwrite(buf, 1, row_bytes, af.f) != row_bytes) die("%s: write failed: %s", path, strerror(errno));
            }
            gguf_w_pad(af.f, t->nbytes, path);
            free(buf);
            free(row);
        }
    }
    atomic_commit(&af);
    gguf_w_free(&w);
    free(freqs);
}

/* A tokenizer with more tokens than the embedding has rows cannot belong to this model. */
void vocab_check_fits(const Vocab *v, const ModelConfig *c, const char *where) {
    if (v->n_tokens > c->vocab_size)
        die("%s: the tokenizer has %d tokens but the model's embedding has %d rows; they do not belong together",
            where, v->n_tokens, c->vocab_size);
}

void model_save_tokenizer_hf(const ModelFiles *src, const ModelConfig *c, const char *dir) {
    if (!src || !src->path) return;
    if (!src->is_gguf) {
        static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                            "generation_config.json", "vocab.json", "merges.txt", "added_tokens.json"};
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
            char *from = path_join(src->path, names[i]);
            if (path_is_file(from)) {
                size_t len;
                char *data = read_text_file(from, &len);
                char *to = path_join(dir, names[i]);
                write_file_atomic(to, data, len);
                free(to);
                free(data);
            }
            free(from);
        }
        return;
    }
    Vocab v;
    if (!vocab_from_gguf(&v, &src->gguf)) return;
    vocab_check_fits(&v, c, src->path);
    vocab_write_hf(&v, dir);
    vocab_free(&v);
}

/* ---------------------------------------------------------------- either format */

void model_files_open(ModelFiles *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    size_t n = strlen(path);
    if (n > 5 && strcmp(path + n - 5, ".gguf") == 0 && !path_is_dir(path)) {
        f->is_gguf = 1;
        gguf_open(&f->gguf, path);
        config_from_gguf(&f->cfg, &f->gguf);
        f->config_name = xstrdup(path);
        check_gguf(&f->gguf, &f->cfg);
        return;
    }
    if (!path_is_dir(path)) {
        if (!path_is_file(path)) die("%s: no such file or directory", path);
        die("%s: not a model (a Hugging Face directory with config.json and *.safetensors, or a .gguf file)", path);
    }
    f->config_name = path_join(path, "config.json");
    config_load_file(&f->cfg, f->config_name);
    st_open(&f->st, path);
    check_safetensors(&f->st, &f->cfg, path);
}

static void load_into(ModelFiles *f, Model *m, const Weight *views) {
    if (f->is_gguf) read_gguf(&f->gguf, m, views);
    else read_safetensors(&f->st, m, views);
}

void model_files_load(ModelFiles *f, Model *m) { load_into(f, m, m->w); }

void model_files_load_ref(ModelFiles *f, Model *m) {
    if (m->shape.ref != REF_FP32 && m->shape.ref != REF_BF16) die("internal: no reference copy in this run's plan");
    load_into(f, m, m->ref_w);
}

void model_files_types(const ModelFiles *f, uint32_t *types) {
    const ModelConfig *c = &f->cfg;
    ParamInfo info[P_KINDS];
    param_layout(c, NULL, 0, info);
    char name[160];
    for (int k = 0; k < P_BASE_KINDS; k++)
        for (int l = 0; l < c->n_layers; l++) {
            size_t i = (size_t)k * c->n_layers + l;
            types[i] = GGML_F32;
            if (!info[k].present || info[k].ndim != 2 || (!info[k].per_layer && l > 0)) continue;
            if (f->is_gguf) {
                gguf_param_name((ParamKind)k, l, name, sizeof name);
                types[i] = gguf_find_tensor(&f->gguf, name)->type;
            } else {
                param_name((ParamKind)k, l, name, sizeof name);
                types[i] = st_ggml_type(st_find(&f->st, name)->dtype);
            }
        }
}

void model_files_close(ModelFiles *f) {
    cJSON_Delete(f->cfg.source); /* the config's, shared by the copies a stage made of it */
    free(f->cfg.rope_freq_factors);
    if (f->is_gguf) gguf_close(&f->gguf);
    else if (f->path) st_close(&f->st);
    free(f->path);
    free(f->config_name);
    memset(f, 0, sizeof *f);
}
