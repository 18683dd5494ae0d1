/* model.c: parameter table, arena layout, and the decoder's forward and backward passes
 * (llm.c's gpt2_forward / gpt2_backward). The operations themselves live in ops.c. */
#include "model.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dist.h"
#include "dtype.h"
#include "ops.h"
#include "quant.h"
#include "rng.h"

/* ---------------------------------------------------------------- parameter table */

static const char *const param_names[P_KINDS] = {
    "model.embed_tokens.weight",
    "model.layers.%d.input_layernorm.weight",
    "model.layers.%d.self_attn.q_proj.weight",
    "model.layers.%d.self_attn.q_proj.bias",
    "model.layers.%d.self_attn.k_proj.weight",
    "model.layers.%d.self_attn.k_proj.bias",
    "model.layers.%d.self_attn.v_proj.weight",
    "model.layers.%d.self_attn.v_proj.bias",
    "model.layers.%d.self_attn.o_proj.weight",
    "model.layers.%d.post_attention_layernorm.weight",
    "model.layers.%d.mlp.gate_proj.weight",
    "model.layers.%d.mlp.up_proj.weight",
    "model.layers.%d.mlp.down_proj.weight",
    "model.norm.weight",
    "lm_head.weight",
    "base_model.model.model.layers.%d.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.%d.self_attn.q_proj.lora_B.weight",
    "base_model.model.model.layers.%d.self_attn.k_proj.lora_A.weight",
    "base_model.model.model.layers.%d.self_attn.k_proj.lora_B.weight",
    "base_model.model.model.layers.%d.self_attn.v_proj.lora_A.weight",
    "base_model.model.model.layers.%d.self_attn.v_proj.lora_B.weight",
    "base_model.model.model.layers.%d.self_attn.o_proj.lora_A.weight",
    "base_model.model.model.layers.%d.self_attn.o_proj.lora_B.weight",
    "base_model.model.model.layers.%d.mlp.gate_proj.lora_A.weight",
    "base_model.model.model.layers.%d.mlp.gate_proj.lora_B.weight",
    "base_model.model.model.layers.%d.mlp.up_proj.lora_A.weight",
    "base_model.model.model.layers.%d.mlp.up_proj.lora_B.weight",
    "base_model.model.model.layers.%d.mlp.down_proj.lora_A.weight",
    "base_model.model.model.layers.%d.mlp.down_proj.lora_B.weight",
};

const char *const lora_target_names[LORA_TARGETS] = {"q_proj", "k_proj", "v_proj", "o_proj",
                                                     "gate_proj", "up_proj", "down_proj"};

void param_name(ParamKind kind, int layer, char *buf, size_t size) { snprintf(buf, size, param_names[kind], layer); }

double lora_scale(const LoraConfig *l) { return l->rslora ? l->alpha / sqrt((double)l->r) : l->alpha / l->r; }

/* Each adapted layer's weight and bias kinds, and its input and output widths. */
static const struct { ParamKind w, b; } linear_kinds[LORA_TARGETS] = {
    [T_Q] = {P_WQ, P_BQ},  [T_K] = {P_WK, P_BK},  [T_V] = {P_WV, P_BV}, [T_O] = {P_WO, (ParamKind)-1},
    [T_GATE] = {P_WG, (ParamKind)-1}, [T_UP] = {P_WU, (ParamKind)-1}, [T_DOWN] = {P_WD, (ParamKind)-1},
};

size_t param_layout(const ModelConfig *c, const LoraConfig *lora, int frozen_base, ParamInfo info[P_KINDS]) {
    size_t E = c->dim, V = c->vocab_size, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim,
           Hkv = (size_t)c->n_kv_heads * c->head_dim;
    struct { size_t rows, cols; int per_layer, present; } s[P_KINDS] = {
        [P_EMBED] = {V, E, 0, 1},       [P_ATTN_NORM] = {E, 0, 1, 1},
        [P_WQ] = {Hq, E, 1, 1},         [P_BQ] = {Hq, 0, 1, c->qkv_bias},
        [P_WK] = {Hkv, E, 1, 1},        [P_BK] = {Hkv, 0, 1, c->qkv_bias},
        [P_WV] = {Hkv, E, 1, 1},        [P_BV] = {Hkv, 0, 1, c->qkv_bias},
        [P_WO] = {E, Hq, 1, 1},         [P_FFN_NORM] = {E, 0, 1, 1},
        [P_WG] = {F, E, 1, 1},          [P_WU] = {F, E, 1, 1},
        [P_WD] = {E, F, 1, 1},          [P_FINAL_NORM] = {E, 0, 0, 1},
        [P_LM_HEAD] = {V, E, 0, !c->tie_embeddings},
    };
    int r = lora ? lora->r : 0;
    for (int t = 0; t < LORA_TARGETS; t++) { /* A [r, in], B [out, r] of the layer W [out, in] */
        const size_t *w = &s[linear_kinds[t].w].rows;
        int on = r > 0 && (lora->targets >> t & 1u);
        s[lora_a_kind((LoraTarget)t)].rows = (size_t)r, s[lora_a_kind((LoraTarget)t)].cols = w[1];
        s[lora_b_kind((LoraTarget)t)].rows = w[0], s[lora_b_kind((LoraTarget)t)].cols = (size_t)r;
        for (int ab = 0; ab < 2; ab++) s[P_QA + 2 * t + ab].per_layer = 1, s[P_QA + 2 * t + ab].present = on;
    }
    size_t off = 0;
    for (int k = 0; k < P_KINDS; k++) {
        ParamInfo *p = &info[k];
        p->present = s[k].present;
        p->frozen = frozen_base && k < P_BASE_KINDS;
        p->per_layer = s[k].per_layer;
        p->ndim = s[k].cols ? 2 : 1;
        p->rows = s[k].rows;
        p->cols = s[k].cols;
        p->numel = s[k].cols ? s[k].rows * s[k].cols : s[k].rows;
        p->offset = off;
        if (p->present && !p->frozen) off += p->numel * (p->per_layer ? (size_t)c->n_layers : 1);
    }
    return off;
}

size_t param_offset(const Model *m, ParamKind kind, int layer) {
    if (kind == P_LM_HEAD && m->cfg.tie_embeddings) kind = P_EMBED;
    const ParamInfo *p = &m->info[kind];
    if (!p->present || p->frozen) return (size_t)-1;
    return p->offset + (p->per_layer ? (size_t)layer * p->numel : 0);
}

float *param_ptr(const Model *m, float *base, ParamKind kind, int layer) {
    size_t off = param_offset(m, kind, layer);
    return off == (size_t)-1 || !base ? NULL : base + off;
}

static size_t weight_index(const Model *m, ParamKind kind, int layer) {
    if (kind == P_LM_HEAD && m->cfg.tie_embeddings) kind = P_EMBED;
    return (size_t)kind * (size_t)m->cfg.n_layers + (size_t)(m->info[kind].per_layer ? layer : 0);
}

Weight model_weight(const Model *m, ParamKind kind, int layer) { return m->w[weight_index(m, kind, layer)]; }

size_t tensor_bytes(const ParamInfo *p, uint32_t type) {
    if (p->ndim == 1) return p->rows * sizeof(float);
    const GgmlTypeInfo *t = ggml_type_info(type);
    return p->rows * (p->cols / (size_t)t->block) * (size_t)t->bytes;
}

/* ---------------------------------------------------------------- arena layout */

/* The widest input of an adapted layer: room for its dropped-out copy. */
static size_t lora_max_in(const ModelConfig *c) {
    size_t E = c->dim, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim;
    return MAX(MAX(E, F), Hq);
}

static int has_dropout(const RunShape *s) { return s->train && s->lora.r > 0 && s->lora.dropout > 0; }

/* Carve the forward's buffers with `slots` copies of each per-layer tensor (n_layers when
 * kept for backward, 1 when each layer overwrites the last) and `x_slots` copies of the
 * residual stream x: layer l reads x[l] and writes x[l+1] (mod 2 in the shared case).
 * With --recompute the kept forward has n_layers + 1 x slots but one slot of the rest. */
static void carve_forward(Carver *cv, ForwardBufs *f, const ModelConfig *c, const RunShape *s, size_t N, int slots,
                          int x_slots) {
    size_t E = c->dim, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim,
           Hkv = (size_t)c->n_kv_heads * c->head_dim, S = (size_t)slots;
    f->x = carve_floats(cv, (size_t)x_slots * N * E);
    f->a = carve_floats(cv, S * N * E);
    f->rstd1 = carve_floats(cv, S * N);
    f->q = carve_floats(cv, S * N * Hq);
    f->k = carve_floats(cv, S * N * Hkv);
    f->v = carve_floats(cv, S * N * Hkv);
    f->att = carve_floats(cv, S * N * Hq);
    f->lse = carve_floats(cv, S * N * c->n_heads);
    f->h_mid = carve_floats(cv, S * N * E);
    f->m = carve_floats(cv, S * N * E);
    f->rstd2 = carve_floats(cv, S * N);
    f->g = carve_floats(cv, S * N * F);
    f->u = carve_floats(cv, S * N * F);
    f->s = carve_floats(cv, S * N * F);
    f->lh = s->lora.r > 0 ? carve_floats(cv, S * LORA_TARGETS * N * (size_t)s->lora.r) : NULL;
    f->xf = carve_floats(cv, N * E);
    f->rstdf = carve_floats(cv, N);
    f->lm_lse = carve_floats(cv, N);
}

static void carve_forward_temps(Carver *cv, ForwardBufs *f, const ModelConfig *c, const RunShape *s, size_t N,
                                int head_rows, int dropout) {
    f->tmp = carve_floats(cv, N * c->dim);
    f->attn_buf = carve_floats(cv, (size_t)s->threads * ATTN_BUF_REALS(c->head_dim));
    f->lm_chunk = carve_floats(cv, LMHEAD_CHUNK_REALS(c->dim, c->vocab_size, head_rows));
    f->lora_x = dropout ? carve_floats(cv, N * lora_max_in(c)) : NULL;
}

/* A preference pair's scored tokens are at most its two sequences, 2T rows: room for them
 * costs (2T - LMHEAD_CHUNK) x V floats more than SFT's tile and saves making the pair's
 * logits a second time in the backward. Longer pairs fall back to that. */
int model_head_tile_rows(const RunShape *s) {
    if (!s->pairs) return LMHEAD_CHUNK;
    size_t rows = 2 * (size_t)s->seq_len;
    return rows < LMHEAD_CHUNK ? LMHEAD_CHUNK : rows > LMHEAD_ROWS ? LMHEAD_ROWS : (int)rows;
}

static void carve_backward(Carver *cv, BackwardBufs *b, const ModelConfig *c, const RunShape *s, size_t N) {
    size_t E = c->dim, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim,
           Hkv = (size_t)c->n_kv_heads * c->head_dim;
    b->dres = carve_floats(cv, N * E);
    b->dtmp = carve_floats(cv, N * E);
    b->dq = carve_floats(cv, N * Hq);
    b->datt = carve_floats(cv, N * Hq);
    b->dk = carve_floats(cv, N * Hkv);
    b->dv = carve_floats(cv, N * Hkv);
    b->dff1 = carve_floats(cv, N * F);
    b->dff2 = carve_floats(cv, N * F);
    b->lora_g = s->lora.r > 0 ? carve_floats(cv, N * (size_t)s->lora.r) : NULL;
    b->lora_dx = has_dropout(s) ? carve_floats(cv, N * lora_max_in(c)) : NULL;
}

/* The decoder's tensors: views into the fp32 parameters (types == NULL), or carved one by
 * one out of a frozen region, each in its type. Adds each type's bytes into by_type. */
static void carve_weights(Model *m, Carver *cv, const uint32_t *types, Weight *views, double by_type[64]) {
    int L = m->cfg.n_layers;
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        for (int l = 0; l < L; l++) views[(size_t)k * L + l] = (Weight){GGML_F32, NULL};
        if (!p->present) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            size_t i = (size_t)k * L + l;
            if (!types) {
                views[i] = (Weight){GGML_F32, m->params ? m->params + p->offset + (size_t)l * p->numel : NULL};
                continue;
            }
            uint32_t t = p->ndim == 1 ? GGML_F32 : types[i];
            size_t bytes = tensor_bytes(p, t);
            views[i] = (Weight){t, carve(cv, bytes)};
            by_type[t < 64 ? t : 63] += (double)bytes;
        }
    }
}

/* "Q4_K 3.62 GiB, Q6_K 0.74 GiB, F32 1.1 MiB" */
static void describe_types(char *buf, size_t size, const double by_type[64]) {
    size_t used = 0;
    buf[0] = 0;
    for (int t = 0; t < 64 && used < size; t++)
        if (by_type[t] > 0)
            used += (size_t)snprintf(buf + used, size - used, "%s%s %s", used ? ", " : "", ggml_type_info((uint32_t)t)->name,
                                     fmt_bytes(by_type[t]));
}

/* Every 2-D tensor of a frozen base in a type whose blocks tile its rows. */
static void check_base_types(const Model *m) {
    int L = m->cfg.n_layers;
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present || p->ndim != 2) continue;
        for (int l = 0; l < (p->per_layer ? L : 1); l++) {
            uint32_t t = m->base_types[(size_t)k * L + l];
            const GgmlTypeInfo *ti = ggml_type_info(t);
            char name[160];
            param_name((ParamKind)k, l, name, sizeof name);
            if (!ti->readable) die("%s: a frozen base cannot be kept as type %u", name, t);
            if (p->cols % (size_t)ti->block)
                die("%s: rows of %zu values cannot be stored as %s (blocks of %d)", name, p->cols, ti->name, ti->block);
        }
    }
}

/* The one place that decides where everything lives. With m->arena.base == NULL it only
 * measures, which is how the plan is made. */
static void layout(Model *m, ArenaPlan *plan) {
    const ModelConfig *c = &m->cfg;
    const RunShape *s = &m->shape;
    size_t N = (size_t)s->batch * s->seq_len;
    int have = m->arena.base != NULL;
    Carver cv[REGION_COUNT];
    for (int r = 0; r < REGION_COUNT; r++) cv[r] = (Carver){have ? arena_region(&m->arena, r) : NULL, 0};
    memset(plan, 0, sizeof *plan);

    m->params = carve_floats(&cv[REGION_PARAMS], m->n_params);
    if (s->train) m->grads = carve_floats(&cv[REGION_GRADS], m->n_params);
    if (s->adam) {
        m->adam_m = carve_floats(&cv[REGION_ADAM_M], m->n_params);
        m->adam_v = carve_floats(&cv[REGION_ADAM_V], m->n_params);
    }
    double by_type[64] = {0};
    carve_weights(m, &cv[REGION_BASE], m->base_types, m->w, by_type);
    describe_types(plan->detail[REGION_BASE], sizeof plan->detail[REGION_BASE], by_type);
    if (s->lora.r > 0)
        snprintf(plan->detail[REGION_PARAMS], sizeof plan->detail[REGION_PARAMS], "the adapter, r %d: %zu fp32 values",
                 s->lora.r, m->n_params);
    if (s->ref == REF_FP32 || s->ref == REF_BF16) { /* a copy of the decoder, its matrices fp32 or bf16 */
        uint32_t *ref_types = xmalloc(sizeof(uint32_t) * P_BASE_KINDS * (size_t)c->n_layers);
        for (size_t i = 0; i < P_BASE_KINDS * (size_t)c->n_layers; i++) ref_types[i] = s->ref == REF_BF16 ? GGML_BF16 : GGML_F32;
        double ref_by_type[64] = {0};
        carve_weights(m, &cv[REGION_REF_PARAMS], ref_types, m->ref_w, ref_by_type);
        describe_types(plan->detail[REGION_REF_PARAMS], sizeof plan->detail[REGION_REF_PARAMS], ref_by_type);
        free(ref_types);
    } else if (s->ref == REF_ADAPTER) {
        m->ref_adapter = carve_floats(&cv[REGION_REF_PARAMS], m->n_params);
        snprintf(plan->detail[REGION_REF_PARAMS], sizeof plan->detail[REGION_REF_PARAMS], "the reference's adapter");
    } else if (s->ref == REF_BASE) {
        snprintf(plan->detail[REGION_REF_PARAMS], sizeof plan->detail[REGION_REF_PARAMS],
                 "none: the reference is the base with the adapter off");
    }

    if (s->train) {
        carve_forward(&cv[REGION_ACTIVATIONS], &m->keep, c, s, N, s->recompute ? 1 : c->n_layers, c->n_layers + 1);
        /* scratch during a training step: forward temporaries, then backward buffers */
        carve_forward_temps(&cv[REGION_SCRATCH], &m->keep, c, s, N, model_head_tile_rows(s), has_dropout(s));
        carve_backward(&cv[REGION_SCRATCH], &m->bwd, c, s, N);
    }
    /* A forward that keeps nothing (eval, or the frozen reference's forward before the
     * policy's) reuses scratch from its start; a run that never does one plans no room. */
    if (model_has_inference(s)) {
        Carver inf = {cv[REGION_SCRATCH].base, 0};
        carve_forward(&inf, &m->infer, c, s, N, 1, 2);
        carve_forward_temps(&inf, &m->infer, c, s, N, LMHEAD_CHUNK, 0);
        if (inf.used > cv[REGION_SCRATCH].used) cv[REGION_SCRATCH].used = inf.used;
    }

    if (s->kv_seqs > 0) { /* generation's cache */
        size_t per = (size_t)c->n_layers * s->kv_seqs * s->seq_len * c->n_kv_heads * c->head_dim;
        m->kv_k = carve_floats(&cv[REGION_KV_CACHE], per);
        m->kv_v = carve_floats(&cv[REGION_KV_CACHE], per);
        m->gen_logits = carve_floats(&cv[REGION_KV_CACHE], (size_t)s->kv_seqs * c->vocab_size);
        snprintf(plan->detail[REGION_KV_CACHE], sizeof plan->detail[REGION_KV_CACHE], "%d sequences x %d tokens",
                 s->kv_seqs, s->seq_len);
    }

    Carver *b = &cv[REGION_BATCH];
    size_t half = (size_t)c->head_dim / 2;
    m->batch.tokens = carve_ints(b, N);
    m->batch.targets = carve_ints(b, N);
    m->batch.pos = carve_ints(b, N);
    m->batch.seg = carve_ints(b, N);
    m->batch.logp = carve_floats(b, N);
    m->batch.dlogp = carve_floats(b, N);
    m->batch.ref_logp = carve_floats(b, N);
    m->inv_freq = carve_floats(b, half);
    m->rope_cos = carve_floats(b, (size_t)s->seq_len * half);
    m->rope_sin = carve_floats(b, (size_t)s->seq_len * half);

    for (int r = 0; r < REGION_COUNT; r++) plan->bytes[r] = cv[r].used;
    arena_plan_finish(plan);
}

/* The parts of a Model that exist before its arena: the table, the views' room. */
static void model_setup(Model *m, const ModelConfig *c, const RunShape *s) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->shape = *s;
    if (s->lora.r > 0 && !s->base_types) die("internal: an adapter needs a frozen base");
    m->n_params = param_layout(c, &s->lora, s->base_types != NULL, m->info);
    size_t nw = P_BASE_KINDS * (size_t)c->n_layers;
    m->w = xcalloc(nw, sizeof(Weight));
    m->ref_w = xcalloc(nw, sizeof(Weight));
    if (s->base_types) {
        m->base_types = xmalloc(sizeof(uint32_t) * nw);
        memcpy(m->base_types, s->base_types, sizeof(uint32_t) * nw);
        m->shape.base_types = m->base_types;
        check_base_types(m);
    }
}

static void model_teardown(Model *m) {
    free(m->w), free(m->ref_w), free(m->base_types);
}

ArenaPlan model_plan(const ModelConfig *c, const RunShape *s) {
    Model m;
    model_setup(&m, c, s);
    ArenaPlan plan;
    layout(&m, &plan);
    model_teardown(&m);
    return plan;
}

void model_create(Model *m, const ModelConfig *c, const RunShape *s) {
    if (s->batch <= 0 || s->seq_len <= 0) die("batch size and sequence length must be positive");
    model_setup(m, c, s);
    ArenaPlan plan;
    layout(m, &plan);
    arena_alloc(&m->arena, &plan);
    ArenaPlan again;
    layout(m, &again);
    /* RoPE tables: angle = pos * inv_freq as an fp32 product (as transformers does), then
     * cos/sin of that angle. Positions never reach seq_len (they restart per sequence). */
    config_rope_inv_freq(c, m->inv_freq);
    size_t half = (size_t)c->head_dim / 2;
    for (int p = 0; p < s->seq_len; p++)
        for (size_t i = 0; i < half; i++) {
            float angle = (float)p * m->inv_freq[i];
            m->rope_cos[p * half + i] = (float)cos((double)angle);
            m->rope_sin[p * half + i] = (float)sin((double)angle);
        }
}

void model_destroy(Model *m) {
    arena_free(&m->arena);
    model_teardown(m);
    memset(m, 0, sizeof *m);
}

void model_init_random(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    float *row = xmalloc(sizeof(float) * (size_t)MAX(m->cfg.dim, MAX(m->cfg.ffn_dim, m->cfg.n_heads * m->cfg.head_dim)));
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        int is_norm = k == P_ATTN_NORM || k == P_FFN_NORM || k == P_FINAL_NORM;
        int is_bias = k == P_BQ || k == P_BK || k == P_BV;
        size_t rows = p->ndim == 2 ? p->rows : 1, cols = p->ndim == 2 ? p->cols : p->rows;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layers : 1); l++) { /* row by row, into its type */
            Weight w = m->w[(size_t)k * m->cfg.n_layers + l];
            size_t row_bytes = tensor_bytes(p, w.type) / rows;
            for (size_t r = 0; r < rows; r++) {
                for (size_t i = 0; i < cols; i++)
                    row[i] = is_norm ? 1.0f : is_bias ? 0.0f : (float)(rng_normal(&rng) * m->cfg.init_std);
                quantize_row(w.type, row, (char *)w.data + r * row_bytes, (int64_t)cols);
            }
        }
    }
    free(row);
}

void model_init_adapter(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed ^ 0x4c6f5241ull); /* a stream apart from the base's */
    for (int t = 0; t < LORA_TARGETS; t++) {
        const ParamInfo *a = &m->info[lora_a_kind((LoraTarget)t)];
        if (!a->present) continue;
        double bound = 1.0 / sqrt((double)a->cols);
        for (int l = 0; l < m->cfg.n_layers; l++) {
            float *A = param_ptr(m, m->params, lora_a_kind((LoraTarget)t), l);
            float *B = param_ptr(m, m->params, lora_b_kind((LoraTarget)t), l);
            for (size_t i = 0; i < a->numel; i++) A[i] = (float)((2 * rng_uniform(&rng) - 1) * bound);
            memset(B, 0, sizeof(float) * m->info[lora_b_kind((LoraTarget)t)].numel);
        }
    }
}

/* ---------------------------------------------------------------- forward / backward */

static LayerBufs layer_bufs(const Model *m, int l, int keep) {
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    const ModelConfig *c = &m->cfg;
    size_t N = (size_t)m->shape.batch * m->shape.seq_len; /* slot stride: the planned maximum */
    size_t E = c->dim, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim,
           Hkv = (size_t)c->n_kv_heads * c->head_dim, R = (size_t)m->shape.lora.r;
    size_t i = keep && !m->shape.recompute ? (size_t)l : 0;
    size_t xi = keep ? (size_t)l : (size_t)(l % 2), xo = keep ? (size_t)l + 1 : (size_t)((l + 1) % 2);
    LayerBufs b = {
        .x_in = f->x + xi * N * E,   .a = f->a + i * N * E,     .rstd1 = f->rstd1 + i * N,
        .q = f->q + i * N * Hq,      .k = f->k + i * N * Hkv,   .v = f->v + i * N * Hkv,
        .att = f->att + i * N * Hq,  .lse = f->lse + i * N * c->n_heads,
        .h_mid = f->h_mid + i * N * E, .m = f->m + i * N * E,   .rstd2 = f->rstd2 + i * N,
        .g = f->g + i * N * F,       .u = f->u + i * N * F,     .s = f->s + i * N * F,
        .x_out = f->x + xo * N * E,
    };
    for (int t = 0; t < LORA_TARGETS && f->lh; t++) b.lh[t] = f->lh + (i * LORA_TARGETS + (size_t)t) * N * R;
    return b;
}

int model_has_inference(const RunShape *s) { return !s->train || s->ref != REF_NONE; }

/* The weights a forward reads: the decoder's tensors (the policy's own, or a reference
 * copy's) and the adapter, on or off. */
typedef struct {
    const Weight *w;      /* index kind * n_layers + layer */
    const float *adapter; /* LoRA's A and B laid out like the parameters; NULL: adapters off */
    int dropout;          /* LoRA dropout on the adapted layers' inputs (the training forward) */
} WeightSet;

static Weight ws_weight(const Model *m, const WeightSet *W, ParamKind k, int l) { return W->w[weight_index(m, k, l)]; }
static const float *ws_vec(const Model *m, const WeightSet *W, ParamKind k, int l) {
    return (int)k < 0 || !m->info[k].present ? NULL : ws_weight(m, W, k, l).data;
}

/* Layer l's target t draws its own dropout mask (PEFT: one nn.Dropout per adapted layer). */
static uint64_t dropout_key(const Model *m, int l, LoraTarget t) {
    uint64_t z = m->dropout_key ^ (0xd1b54a32d192ed03ull * (uint64_t)(l * LORA_TARGETS + (int)t + 1));
    z = (z ^ (z >> 31)) * 0x9e3779b97f4a7c15ull;
    return z ^ (z >> 29);
}

void model_dropout_mask(const Model *m, int layer, LoraTarget t, int N, int I, float *out) {
    for (size_t i = 0; i < (size_t)N * I; i++) out[i] = 1;
    dropout_forward(out, out, N, I, (float)m->shape.lora.dropout, dropout_key(m, layer, t));
}

/* One adapted (or plain) linear layer: out = x W^T + b, plus s * B (A dropout(x)) where
 * target t has an adapter and the weight set turns it on. The policy and the reference,
 * full fine-tuning and LoRA, all multiply here. */
static void linear_forward(const Model *m, const WeightSet *W, LoraTarget t, int l, float *lh, const ForwardBufs *f,
                           float *out, const float *x, int N, int I, int O) {
    matmul_forward(out, x, ws_weight(m, W, linear_kinds[t].w, l), ws_vec(m, W, linear_kinds[t].b, l), N, I, O);
    ParamKind ak = lora_a_kind(t), bk = lora_b_kind(t);
    if (!W->adapter || !m->info[ak].present) return;
    const LoraConfig *lc = &m->shape.lora;
    if (W->dropout) {
        dropout_forward(f->lora_x, x, N, I, (float)lc->dropout, dropout_key(m, l, t));
        x = f->lora_x;
    }
    lora_forward(out, lh, x, W->adapter + param_offset(m, ak, l), W->adapter + param_offset(m, bk, l),
                 (float)lora_scale(lc), N, I, O, lc->r);
}

/* Its backward, for the policy: dx += dout W (+ the adapter's share), and the gradients of
 * whatever is trained: W and b (full fine-tuning), or A and B (LoRA). dx may be NULL. */
static void linear_backward(Model *m, LoraTarget t, int l, const float *lh, float *dx, const float *dout,
                            const float *x, int N, int I, int O) {
    ParamKind wk = linear_kinds[t].w, bk = linear_kinds[t].b;
    dist_progress(); /* the gradient sums under way move on between the products */
    matmul_backward(dx, param_ptr(m, m->grads, wk, l), (int)bk >= 0 ? param_ptr(m, m->grads, bk, l) : NULL, dout, x,
                    model_weight(m, wk, l), N, I, O);
    ParamKind ak = lora_a_kind(t), bb = lora_b_kind(t);
    if (!m->info[ak].present) return;
    const LoraConfig *lc = &m->shape.lora;
    const float *A = param_ptr(m, m->params, ak, l), *B = param_ptr(m, m->params, bb, l);
    float *dA = param_ptr(m, m->grads, ak, l), *dB = param_ptr(m, m->grads, bb, l), s = (float)lora_scale(lc);
    if (!m->dropout_on) {
        lora_backward(dx, dA, dB, m->bwd.lora_g, dout, x, lh, A, B, s, N, I, O, lc->r);
        return;
    }
    /* dropout: the input the forward saw, made again from the same key; the branch's input
     * gradient goes back through the same mask */
    float p = (float)lc->dropout;
    uint64_t key = dropout_key(m, l, t);
    dropout_forward(m->keep.lora_x, x, N, I, p, key);
    if (dx) memset(m->bwd.lora_dx, 0, sizeof(float) * (size_t)N * I);
    lora_backward(dx ? m->bwd.lora_dx : NULL, dA, dB, m->bwd.lora_g, dout, m->keep.lora_x, lh, A, B, s, N, I, O, lc->r);
    if (dx) dropout_backward(dx, m->bwd.lora_dx, N, I, p, key);
}

/* One decoder layer, x_out = layer(x_in), leaving in b what its backward reads. kv_seq:
 * a generation step (model_forward_cached): row n is a token of sequence kv_seq[n], whose
 * key and value go into the cache before attention reads it. */
static void layer_forward(Model *m, const WeightSet *W, int l, const LayerBufs *b, const ForwardBufs *f,
                          const int *kv_seq) {
    const ModelConfig *c = &m->cfg;
    const Batch *bt = &m->batch;
    int B = bt->B, T = bt->T, N = B * T, E = c->dim, F = c->ffn_dim, D = c->head_dim;
    int nh = c->n_heads, nkv = c->n_kv_heads, Hq = nh * D, Hkv = nkv * D;
    float eps = (float)c->norm_eps;
    /* attention block: h_mid = x + o_proj(attention(rope(q), rope(k), v)) on rmsnorm(x) */
    rmsnorm_forward(b->a, b->rstd1, b->x_in, ws_vec(m, W, P_ATTN_NORM, l), N, E, eps);
    linear_forward(m, W, T_Q, l, b->lh[T_Q], f, b->q, b->a, N, E, Hq);
    linear_forward(m, W, T_K, l, b->lh[T_K], f, b->k, b->a, N, E, Hkv);
    linear_forward(m, W, T_V, l, b->lh[T_V], f, b->v, b->a, N, E, Hkv);
    rope_forward(b->q, bt->pos, m->rope_cos, m->rope_sin, N, nh, D);
    rope_forward(b->k, bt->pos, m->rope_cos, m->rope_sin, N, nkv, D);
    if (kv_seq) { /* append to the cache, then attend over it */
        int T_max = m->shape.seq_len;
        size_t layer = (size_t)l * m->shape.kv_seqs * T_max * Hkv;
        float *kc = m->kv_k + layer, *vc = m->kv_v + layer;
        for (int n = 0; n < N; n++) {
            size_t at = ((size_t)kv_seq[n] * T_max + (size_t)bt->pos[n]) * Hkv;
            memcpy(kc + at, b->k + (size_t)n * Hkv, sizeof(float) * (size_t)Hkv);
            memcpy(vc + at, b->v + (size_t)n * Hkv, sizeof(float) * (size_t)Hkv);
        }
        attention_cached(b->att, b->q, kc, vc, kv_seq, bt->pos, N, T_max, nh, nkv, D, f->attn_buf);
    } else {
        attention_forward(b->att, b->lse, b->q, b->k, b->v, bt->seg, B, T, nh, nkv, D, f->attn_buf);
    }
    linear_forward(m, W, T_O, l, b->lh[T_O], f, f->tmp, b->att, N, Hq, E);
    /* MLP block: x_out = h_mid + down(silu(gate(n)) * up(n)), n = rmsnorm(h_mid) */
    residual_rmsnorm_forward(b->h_mid, b->m, b->rstd2, b->x_in, f->tmp, ws_vec(m, W, P_FFN_NORM, l), N, E, eps);
    linear_forward(m, W, T_GATE, l, b->lh[T_GATE], f, b->g, b->m, N, E, F);
    linear_forward(m, W, T_UP, l, b->lh[T_UP], f, b->u, b->m, N, E, F);
    swiglu_forward(b->s, b->g, b->u, (size_t)N * F);
    linear_forward(m, W, T_DOWN, l, b->lh[T_DOWN], f, f->tmp, b->s, N, F, E);
    residual_forward(b->x_out, b->h_mid, f->tmp, (size_t)N * E);
}

static void forward(Model *m, int keep, const WeightSet *W, int fused_head, const LmGroups *groups,
                    const int *kv_seq) {
    const ModelConfig *c = &m->cfg;
    const Batch *bt = &m->batch;
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    int N = bt->B * bt->T, E = c->dim;

    embedding_forward(layer_bufs(m, 0, keep).x_in, bt->tokens, ws_weight(m, W, P_EMBED, 0), N, E);
    for (int l = 0; l < c->n_layers; l++) {
        LayerBufs b = layer_bufs(m, l, keep);
        layer_forward(m, W, l, &b, f, kv_seq);
    }
    float *x_last = layer_bufs(m, c->n_layers - 1, keep).x_out;
    rmsnorm_forward(f->xf, f->rstdf, x_last, ws_vec(m, W, P_FINAL_NORM, 0), N, E, (float)c->norm_eps);
    Weight head = ws_weight(m, W, P_LM_HEAD, 0);
    if (kv_seq) return; /* generation makes the logits it needs itself */
    if (fused_head) { /* the head's backward now, into dtmp (kept until model_backward) */
        memset(m->bwd.dtmp, 0, sizeof(float) * (size_t)N * E);
        lmhead_logprob_fused(bt->logp, f->lm_lse, m->bwd.dtmp, param_ptr(m, m->grads, P_LM_HEAD, 0), bt->dlogp, f->xf,
                             head, bt->targets, N, E, c->vocab_size, model_head_tile_rows(&m->shape), f->lm_chunk,
                             groups);
        m->head_done = 1;
    } else {
        lmhead_logprob_forward(bt->logp, f->lm_lse, f->xf, head, bt->targets, N, E, c->vocab_size, f->lm_chunk);
        m->head_done = 0;
    }
}

/* The policy's weights: its decoder and its adapter (if it has one). */
static WeightSet policy_weights(const Model *m, int dropout) {
    WeightSet W = {m->w, m->shape.lora.r > 0 ? m->params : NULL, dropout};
    return W;
}

void model_forward(Model *m, int keep) {
    if (keep && !m->shape.train) die("internal: forward with kept activations on an inference-only model");
    if (!keep && !model_has_inference(&m->shape)) die("internal: this run planned no room for a forward without keeping");
    WeightSet W = policy_weights(m, 0);
    if (keep) m->dropout_on = 0;
    forward(m, keep, &W, 0, NULL, NULL);
}

void model_forward_fused(Model *m, const LmGroups *groups) {
    if (!m->shape.train) die("internal: a fused forward needs a training plan");
    int N = m->batch.B * m->batch.T;
    if (groups && (groups->n < 1 || groups->bounds[0] != 0 || groups->bounds[groups->n] != N))
        die("internal: LM head groups must cover the batch");
    for (int g = 0; groups && g < groups->n; g++)
        if (groups->bounds[g] > groups->bounds[g + 1]) die("internal: LM head groups out of order");
    m->dropout_on = has_dropout(&m->shape);
    WeightSet W = policy_weights(m, m->dropout_on);
    forward(m, 1, &W, 1, groups, NULL);
}

void model_forward_ref(Model *m) {
    WeightSet W = {m->w, NULL, 0};
    switch (m->shape.ref) {
    case REF_NONE: die("internal: no reference weights in this run's plan");
    case REF_FP32:
    case REF_BF16: W.w = m->ref_w; break;
    case REF_BASE: break;
    case REF_ADAPTER: W.adapter = m->ref_adapter; break;
    }
    forward(m, 0, &W, 0, NULL, NULL);
    memcpy(m->batch.ref_logp, m->batch.logp, sizeof(float) * (size_t)m->batch.B * m->batch.T);
}

void model_forward_cached(Model *m, int n, const int *tokens, const int *seq, const int *pos, const int *emit) {
    const RunShape *s = &m->shape;
    if (s->kv_seqs <= 0) die("internal: this run planned no cache of keys and values");
    if (n <= 0 || n > s->batch * s->seq_len) die("internal: %d tokens in one cached step", n);
    Batch *bt = &m->batch;
    bt->B = 1, bt->T = n;
    for (int i = 0; i < n; i++) {
        if (seq[i] < 0 || seq[i] >= s->kv_seqs || pos[i] < 0 || pos[i] >= s->seq_len)
            die("internal: cached token %d of sequence %d at position %d", i, seq[i], pos[i]);
        bt->tokens[i] = tokens[i], bt->pos[i] = pos[i], bt->seg[i] = 0, bt->targets[i] = -1;
    }
    WeightSet W = policy_weights(m, 0);
    forward(m, 0, &W, 0, NULL, seq);
    /* the emitted rows' final hidden states, gathered, times the head */
    const ForwardBufs *f = &m->infer;
    int E = m->cfg.dim, k = 0;
    for (int i = 0; i < n; i++)
        if (emit[i]) memcpy(f->tmp + (size_t)k++ * E, f->xf + (size_t)i * E, sizeof(float) * (size_t)E);
    if (k > s->kv_seqs) die("internal: %d rows of logits asked for room of %d", k, s->kv_seqs);
    if (k) matmul_forward(m->gen_logits, f->tmp, model_weight(m, P_LM_HEAD, 0), NULL, k, E, m->cfg.vocab_size);
}

void model_ref_from_params(Model *m) {
    if (m->shape.ref == REF_ADAPTER) {
        memcpy(m->ref_adapter, m->params, m->n_params * sizeof(float));
        return;
    }
    if (m->shape.ref != REF_FP32 && m->shape.ref != REF_BF16) return;
    for (int k = 0; k < P_BASE_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        size_t rows = p->ndim == 2 ? p->rows : 1, cols = p->ndim == 2 ? p->cols : p->rows;
        for (int l = 0; l < (p->per_layer ? m->cfg.n_layers : 1); l++) {
            const float *src = param_ptr(m, m->params, (ParamKind)k, l);
            Weight d = m->ref_w[(size_t)k * m->cfg.n_layers + l];
            size_t row_bytes = tensor_bytes(p, d.type) / rows;
#pragma omp parallel for schedule(static)
            for (size_t r = 0; r < rows; r++) quantize_row(d.type, src + r * cols, (char *)d.data + r * row_bytes, (int64_t)cols);
        }
    }
}

void model_backward(Model *m) {
    const ModelConfig *c = &m->cfg;
    const Batch *bt = &m->batch;
    const ForwardBufs *f = &m->keep;
    const BackwardBufs *d = &m->bwd;
    int B = bt->B, T = bt->T, N = B * T, E = c->dim, F = c->ffn_dim, D = c->head_dim;
    int nh = c->n_heads, nkv = c->n_kv_heads, Hq = nh * D, Hkv = nkv * D;
    size_t NE = (size_t)N * E;
    float *G = m->grads;
    /* with a frozen embedding nothing below layer 0's projections is trained: the input
     * gradient stops there */
    int want_dx0 = param_ptr(m, G, P_EMBED, 0) != NULL;

    /* LM head (unless the fused forward did it) and final norm: dres = dLoss/dx_L */
    memset(d->dres, 0, NE * sizeof(float));
    if (!m->head_done) {
        memset(d->dtmp, 0, NE * sizeof(float));
        lmhead_logprob_backward(d->dtmp, param_ptr(m, G, P_LM_HEAD, 0), bt->dlogp, f->xf, model_weight(m, P_LM_HEAD, 0),
                                bt->targets, f->lm_lse, N, E, c->vocab_size, f->lm_chunk);
    }
    m->head_done = 0;
    float *x_last = layer_bufs(m, c->n_layers - 1, 1).x_out;
    rmsnorm_backward(d->dres, param_ptr(m, G, P_FINAL_NORM, 0), d->dtmp, x_last, model_weight(m, P_FINAL_NORM, 0).data,
                     f->rstdf, N, E);
    if (m->share_grads) model_share_head_grads(m); /* final now: their sums go first */

    WeightSet W = policy_weights(m, m->dropout_on);
    for (int l = c->n_layers - 1; l >= 0; l--) {
        LayerBufs b = layer_bufs(m, l, 1);
        /* --recompute kept only x_in: rebuild this layer's activations (x_out, rewritten
         * with the same value, is no longer read) */
        if (m->shape.recompute) layer_forward(m, &W, l, &b, f, NULL);
        /* MLP block; dres flows unchanged through the residual into h_mid */
        memset(d->dff1, 0, (size_t)N * F * sizeof(float));
        linear_backward(m, T_DOWN, l, b.lh[T_DOWN], d->dff1, d->dres, b.s, N, F, E);
        swiglu_backward(d->dff2, d->dff1, d->dff1, b.g, b.u, (size_t)N * F); /* dff2 = dgate, dff1 = dup */
        memset(d->dtmp, 0, NE * sizeof(float));
        linear_backward(m, T_GATE, l, b.lh[T_GATE], d->dtmp, d->dff2, b.m, N, E, F);
        linear_backward(m, T_UP, l, b.lh[T_UP], d->dtmp, d->dff1, b.m, N, E, F);
        rmsnorm_backward(d->dres, param_ptr(m, G, P_FFN_NORM, l), d->dtmp, b.h_mid, model_weight(m, P_FFN_NORM, l).data,
                         b.rstd2, N, E);
        /* attention block; dres now holds dLoss/dh_mid and flows on into x_in */
        memset(d->datt, 0, (size_t)N * Hq * sizeof(float));
        linear_backward(m, T_O, l, b.lh[T_O], d->datt, d->dres, b.att, N, Hq, E);
        attention_backward(d->dq, d->dk, d->dv, d->datt, b.att, b.lse, b.q, b.k, b.v, bt->seg, B, T, nh, nkv, D,
                           f->attn_buf);
        rope_backward(d->dq, bt->pos, m->rope_cos, m->rope_sin, N, nh, D);
        rope_backward(d->dk, bt->pos, m->rope_cos, m->rope_sin, N, nkv, D);
        float *dx = l > 0 || want_dx0 ? d->dtmp : NULL;
        if (dx) memset(dx, 0, NE * sizeof(float));
        linear_backward(m, T_Q, l, b.lh[T_Q], dx, d->dq, b.a, N, E, Hq);
        linear_backward(m, T_K, l, b.lh[T_K], dx, d->dk, b.a, N, E, Hkv);
        linear_backward(m, T_V, l, b.lh[T_V], dx, d->dv, b.a, N, E, Hkv);
        if (dx)
            rmsnorm_backward(d->dres, param_ptr(m, G, P_ATTN_NORM, l), d->dtmp, b.x_in,
                             model_weight(m, P_ATTN_NORM, l).data, b.rstd1, N, E);
        if (m->share_grads) model_share_layer_grads(m, l); /* layer l is final: its sums can go */
    }
    float *demb = param_ptr(m, G, P_EMBED, 0);
    if (demb) embedding_backward(demb, d->dres, bt->tokens, N, E);
}

void model_share_layer_grads(Model *m, int l) {
    for (int k = 0; k < P_KINDS; k++) {
        float *g = m->info[k].present && m->info[k].per_layer ? param_ptr(m, m->grads, (ParamKind)k, l) : NULL;
        if (g) dist_sum_floats_start(g, m->info[k].numel);
    }
}

/* The final norm and an untied LM head are final once the backward has passed them; a tied
 * head's gradient is the embedding's, which the backward's last op adds to. */
static void share_kind(Model *m, ParamKind k) {
    float *g = m->info[k].present ? param_ptr(m, m->grads, k, 0) : NULL;
    if (g) dist_sum_floats_start(g, m->info[k].numel);
}

void model_share_head_grads(Model *m) {
    share_kind(m, P_FINAL_NORM);
    if (!m->cfg.tie_embeddings) share_kind(m, P_LM_HEAD);
}

void model_share_embed_grads(Model *m) { share_kind(m, P_EMBED); }

void model_tensor_rows(const Model *m, ParamKind kind, int layer, size_t r0, size_t n, float *dst, int merge) {
    const ParamInfo *p = &m->info[kind];
    size_t rows = p->ndim == 2 ? p->rows : 1, cols = p->ndim == 2 ? p->cols : p->rows;
    Weight w = m->w[(size_t)kind * m->cfg.n_layers + (p->per_layer ? layer : 0)];
    size_t row_bytes = tensor_bytes(p, w.type) / rows;
    for (size_t r = 0; r < n; r++) dequantize_row(w.type, (const char *)w.data + (r0 + r) * row_bytes, dst + r * cols, (int64_t)cols);
    for (int t = 0; merge && t < LORA_TARGETS; t++) {
        if (linear_kinds[t].w != kind || !m->info[lora_a_kind((LoraTarget)t)].present) continue;
        const LoraConfig *lc = &m->shape.lora;
        const float *A = param_ptr(m, m->params, lora_a_kind((LoraTarget)t), layer);
        const float *B = param_ptr(m, m->params, lora_b_kind((LoraTarget)t), layer);
        float s = (float)lora_scale(lc), *delta = xmalloc(sizeof(float) * cols);
        for (size_t r = 0; r < n; r++) { /* PEFT's order: (B A) row, times s, added */
            memset(delta, 0, sizeof(float) * cols);
            for (int j = 0; j < lc->r; j++) {
                float b = B[(r0 + r) * (size_t)lc->r + (size_t)j];
                const float *a = A + (size_t)j * cols;
                for (size_t i = 0; i < cols; i++) delta[i] += b * a[i];
            }
            for (size_t i = 0; i < cols; i++) dst[r * cols + i] += delta[i] * s;
        }
        free(delta);
    }
}

void model_zero_grad(Model *m) {
    if (m->grads) memset(m->grads, 0, m->n_params * sizeof(float));
}

void model_logits(Model *m, int keep, float *out) {
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    int N = m->batch.B * m->batch.T;
    matmul_forward(out, f->xf, model_weight(m, P_LM_HEAD, 0), NULL, N, m->cfg.dim, m->cfg.vocab_size);
}

void model_position_logits(Model *m, int n, float *out) {
    const ForwardBufs *f = &m->infer;
    matmul_forward(out, f->xf + (size_t)n * m->cfg.dim, model_weight(m, P_LM_HEAD, 0), NULL, 1, m->cfg.dim,
                   m->cfg.vocab_size);
}
