/* model.c: parameter table, arena layout, and the decoder's forward and backward passes
 * (llm.c's gpt2_forward / gpt2_backward). The operations themselves live in ops.c. */
#include "model.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "dtype.h"
#include "ops.h"
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
};

void param_name(ParamKind kind, int layer, char *buf, size_t size) { snprintf(buf, size, param_names[kind], layer); }

size_t param_layout(const ModelConfig *c, ParamInfo info[P_KINDS]) {
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
    size_t off = 0;
    for (int k = 0; k < P_KINDS; k++) {
        ParamInfo *p = &info[k];
        p->present = s[k].present;
        p->per_layer = s[k].per_layer;
        p->ndim = s[k].cols ? 2 : 1;
        p->rows = s[k].rows;
        p->cols = s[k].cols;
        p->numel = s[k].cols ? s[k].rows * s[k].cols : s[k].rows;
        p->offset = off;
        if (p->present) off += p->numel * (p->per_layer ? (size_t)c->n_layers : 1);
    }
    return off;
}

size_t param_offset(const Model *m, ParamKind kind, int layer) {
    if (kind == P_LM_HEAD && m->cfg.tie_embeddings) kind = P_EMBED;
    const ParamInfo *p = &m->info[kind];
    if (!p->present) return (size_t)-1;
    return p->offset + (p->per_layer ? (size_t)layer * p->numel : 0);
}

float *param_ptr(const Model *m, float *base, ParamKind kind, int layer) {
    size_t off = param_offset(m, kind, layer);
    return off == (size_t)-1 ? NULL : base + off;
}

/* ---------------------------------------------------------------- arena layout */

/* Carve the forward's buffers with `slots` copies of each per-layer tensor (n_layers when
 * kept for backward, 1 when each layer overwrites the last) and `x_slots` copies of the
 * residual stream x: layer l reads x[l] and writes x[l+1] (mod 2 in the shared case).
 * With --recompute the kept forward has n_layers + 1 x slots but one slot of the rest. */
static void carve_forward(Carver *cv, ForwardBufs *f, const ModelConfig *c, size_t N, int slots, int x_slots) {
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
    f->xf = carve_floats(cv, N * E);
    f->rstdf = carve_floats(cv, N);
    f->lm_lse = carve_floats(cv, N);
}

static void carve_forward_temps(Carver *cv, ForwardBufs *f, const ModelConfig *c, size_t N, int threads,
                                int head_rows) {
    f->tmp = carve_floats(cv, N * c->dim);
    f->attn_buf = carve_floats(cv, (size_t)threads * ATTN_BUF_REALS(c->head_dim));
    f->lm_chunk = carve_floats(cv, LMHEAD_CHUNK_REALS(c->dim, c->vocab_size, head_rows));
}

/* A preference pair's scored tokens are at most its two sequences, 2T rows: room for them
 * costs (2T - LMHEAD_CHUNK) x V floats more than SFT's tile and saves making the pair's
 * logits a second time in the backward. Longer pairs fall back to that. */
int model_head_tile_rows(const RunShape *s) {
    if (!s->pairs) return LMHEAD_CHUNK;
    size_t rows = 2 * (size_t)s->seq_len;
    return rows < LMHEAD_CHUNK ? LMHEAD_CHUNK : rows > LMHEAD_ROWS ? LMHEAD_ROWS : (int)rows;
}

static void carve_backward(Carver *cv, BackwardBufs *b, const ModelConfig *c, size_t N) {
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

    m->params = carve_floats(&cv[REGION_PARAMS], m->n_params);
    if (s->train) m->grads = carve_floats(&cv[REGION_GRADS], m->n_params);
    if (s->adam) {
        m->adam_m = carve_floats(&cv[REGION_ADAM_M], m->n_params);
        m->adam_v = carve_floats(&cv[REGION_ADAM_V], m->n_params);
    }
    if (s->ref != REF_NONE) m->ref_params = carve(&cv[REGION_REF_PARAMS], m->n_params * (s->ref == REF_BF16 ? 2 : 4));

    if (s->train) {
        carve_forward(&cv[REGION_ACTIVATIONS], &m->keep, c, N, s->recompute ? 1 : c->n_layers, c->n_layers + 1);
        /* scratch during a training step: forward temporaries, then backward buffers */
        carve_forward_temps(&cv[REGION_SCRATCH], &m->keep, c, N, s->threads, model_head_tile_rows(s));
        carve_backward(&cv[REGION_SCRATCH], &m->bwd, c, N);
    }
    /* A forward that keeps nothing (eval, or the frozen reference's forward before the
     * policy's) reuses scratch from its start; a run that never does one plans no room. */
    if (model_has_inference(s)) {
        Carver inf = {cv[REGION_SCRATCH].base, 0};
        carve_forward(&inf, &m->infer, c, N, 1, 2);
        carve_forward_temps(&inf, &m->infer, c, N, s->threads, LMHEAD_CHUNK);
        if (inf.used > cv[REGION_SCRATCH].used) cv[REGION_SCRATCH].used = inf.used;
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

    memset(plan, 0, sizeof *plan);
    for (int r = 0; r < REGION_COUNT; r++) plan->bytes[r] = cv[r].used;
    arena_plan_finish(plan);
}

ArenaPlan model_plan(const ModelConfig *c, const RunShape *s) {
    Model m;
    memset(&m, 0, sizeof m);
    m.cfg = *c;
    m.shape = *s;
    m.n_params = param_layout(c, m.info);
    ArenaPlan plan;
    layout(&m, &plan);
    return plan;
}

void model_create(Model *m, const ModelConfig *c, const RunShape *s) {
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    m->shape = *s;
    if (s->batch <= 0 || s->seq_len <= 0) die("batch size and sequence length must be positive");
    m->n_params = param_layout(c, m->info);
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
    memset(m, 0, sizeof *m);
}

void model_init_random(Model *m, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (int k = 0; k < P_KINDS; k++) {
        const ParamInfo *p = &m->info[k];
        if (!p->present) continue;
        size_t count = p->numel * (p->per_layer ? (size_t)m->cfg.n_layers : 1);
        float *w = m->params + p->offset;
        int is_norm = k == P_ATTN_NORM || k == P_FFN_NORM || k == P_FINAL_NORM;
        int is_bias = k == P_BQ || k == P_BK || k == P_BV;
        for (size_t i = 0; i < count; i++)
            w[i] = is_norm ? 1.0f : is_bias ? 0.0f : (float)(rng_normal(&rng) * m->cfg.init_std);
    }
}

/* ---------------------------------------------------------------- forward / backward */

static LayerBufs layer_bufs(const Model *m, int l, int keep) {
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    const ModelConfig *c = &m->cfg;
    size_t N = (size_t)m->shape.batch * m->shape.seq_len; /* slot stride: the planned maximum */
    size_t E = c->dim, F = c->ffn_dim, Hq = (size_t)c->n_heads * c->head_dim,
           Hkv = (size_t)c->n_kv_heads * c->head_dim;
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
    return b;
}

int model_has_inference(const RunShape *s) { return !s->train || s->ref != REF_NONE; }

/* The weights a forward reads: the policy's (fp32) or the frozen reference's (fp32 or bf16),
 * all laid out like the parameters. */
typedef struct {
    const float *f;
    const uint16_t *h;
} Weights;

static void w_embed(const Model *m, const Weights *W, float *out, const int *tokens, int N) {
    size_t o = param_offset(m, P_EMBED, 0);
    if (W->h) embedding_forward_w16(out, tokens, W->h + o, N, m->cfg.dim);
    else embedding_forward(out, tokens, W->f + o, N, m->cfg.dim);
}

static void w_norm(const Model *m, const Weights *W, ParamKind k, int l, float *out, float *rstd, const float *x,
                   int N) {
    size_t o = param_offset(m, k, l);
    if (W->h) rmsnorm_forward_w16(out, rstd, x, W->h + o, N, m->cfg.dim, (float)m->cfg.norm_eps);
    else rmsnorm_forward(out, rstd, x, W->f + o, N, m->cfg.dim, (float)m->cfg.norm_eps);
}

static void w_linear(const Model *m, const Weights *W, ParamKind wk, ParamKind bk, int l, float *out, const float *x,
                     int N, int I, int O) {
    size_t ow = param_offset(m, wk, l), ob = (int)bk >= 0 ? param_offset(m, bk, l) : (size_t)-1;
    if (W->h) matmul_forward_w16(out, x, W->h + ow, ob == (size_t)-1 ? NULL : W->h + ob, N, I, O);
    else matmul_forward(out, x, W->f + ow, ob == (size_t)-1 ? NULL : W->f + ob, N, I, O);
}

static void w_head(const Model *m, const Weights *W, const ForwardBufs *f, const Batch *bt, int N) {
    size_t o = param_offset(m, P_LM_HEAD, 0);
    if (W->h)
        lmhead_logprob_forward_w16(bt->logp, f->lm_lse, f->xf, W->h + o, bt->targets, N, m->cfg.dim,
                                   m->cfg.vocab_size, f->lm_chunk);
    else
        lmhead_logprob_forward(bt->logp, f->lm_lse, f->xf, W->f + o, bt->targets, N, m->cfg.dim, m->cfg.vocab_size,
                               f->lm_chunk);
}

/* One decoder layer, x_out = layer(x_in), leaving in b what its backward reads. */
static void layer_forward(Model *m, const Weights *W, int l, const LayerBufs *b, const ForwardBufs *f) {
    const ModelConfig *c = &m->cfg;
    const Batch *bt = &m->batch;
    int B = bt->B, T = bt->T, N = B * T, E = c->dim, F = c->ffn_dim, D = c->head_dim;
    int nh = c->n_heads, nkv = c->n_kv_heads, Hq = nh * D, Hkv = nkv * D;
    /* attention block: h_mid = x + o_proj(attention(rope(q), rope(k), v)) on rmsnorm(x) */
    w_norm(m, W, P_ATTN_NORM, l, b->a, b->rstd1, b->x_in, N);
    w_linear(m, W, P_WQ, P_BQ, l, b->q, b->a, N, E, Hq);
    w_linear(m, W, P_WK, P_BK, l, b->k, b->a, N, E, Hkv);
    w_linear(m, W, P_WV, P_BV, l, b->v, b->a, N, E, Hkv);
    rope_forward(b->q, bt->pos, m->rope_cos, m->rope_sin, N, nh, D);
    rope_forward(b->k, bt->pos, m->rope_cos, m->rope_sin, N, nkv, D);
    attention_forward(b->att, b->lse, b->q, b->k, b->v, bt->seg, B, T, nh, nkv, D, f->attn_buf);
    w_linear(m, W, P_WO, (ParamKind)-1, l, f->tmp, b->att, N, Hq, E);
    /* MLP block: x_out = h_mid + down(silu(gate(n)) * up(n)), n = rmsnorm(h_mid) */
    if (W->h) { /* bf16 reference weights: the two passes */
        residual_forward(b->h_mid, b->x_in, f->tmp, (size_t)N * E);
        w_norm(m, W, P_FFN_NORM, l, b->m, b->rstd2, b->h_mid, N);
    } else {
        residual_rmsnorm_forward(b->h_mid, b->m, b->rstd2, b->x_in, f->tmp, W->f + param_offset(m, P_FFN_NORM, l), N,
                                 E, (float)c->norm_eps);
    }
    w_linear(m, W, P_WG, (ParamKind)-1, l, b->g, b->m, N, E, F);
    w_linear(m, W, P_WU, (ParamKind)-1, l, b->u, b->m, N, E, F);
    swiglu_forward(b->s, b->g, b->u, (size_t)N * F);
    w_linear(m, W, P_WD, (ParamKind)-1, l, f->tmp, b->s, N, F, E);
    residual_forward(b->x_out, b->h_mid, f->tmp, (size_t)N * E);
}

static void forward(Model *m, int keep, const Weights *W, int fused_head, const LmGroups *groups) {
    const ModelConfig *c = &m->cfg;
    const Batch *bt = &m->batch;
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    int N = bt->B * bt->T, E = c->dim;

    w_embed(m, W, layer_bufs(m, 0, keep).x_in, bt->tokens, N);
    for (int l = 0; l < c->n_layers; l++) {
        LayerBufs b = layer_bufs(m, l, keep);
        layer_forward(m, W, l, &b, f);
    }
    float *x_last = layer_bufs(m, c->n_layers - 1, keep).x_out;
    w_norm(m, W, P_FINAL_NORM, 0, f->xf, f->rstdf, x_last, N);
    if (fused_head) { /* the head's backward now, into dtmp (kept until model_backward) */
        memset(m->bwd.dtmp, 0, sizeof(float) * (size_t)N * E);
        lmhead_logprob_fused(bt->logp, f->lm_lse, m->bwd.dtmp, param_ptr(m, m->grads, P_LM_HEAD, 0), bt->dlogp, f->xf,
                             param_ptr(m, m->params, P_LM_HEAD, 0), bt->targets, N, E, c->vocab_size,
                             model_head_tile_rows(&m->shape), f->lm_chunk, groups);
        m->head_done = 1;
    } else {
        w_head(m, W, f, bt, N);
        m->head_done = 0;
    }
}

void model_forward(Model *m, int keep) {
    if (keep && !m->shape.train) die("internal: forward with kept activations on an inference-only model");
    if (!keep && !model_has_inference(&m->shape)) die("internal: this run planned no room for a forward without keeping");
    Weights W = {m->params, NULL};
    forward(m, keep, &W, 0, NULL);
}

void model_forward_fused(Model *m, const LmGroups *groups) {
    if (!m->shape.train) die("internal: a fused forward needs a training plan");
    int N = m->batch.B * m->batch.T;
    if (groups && (groups->n < 1 || groups->bounds[0] != 0 || groups->bounds[groups->n] != N))
        die("internal: LM head groups must cover the batch");
    for (int g = 0; groups && g < groups->n; g++)
        if (groups->bounds[g] > groups->bounds[g + 1]) die("internal: LM head groups out of order");
    Weights W = {m->params, NULL};
    forward(m, 1, &W, 1, groups);
}

void model_forward_ref(Model *m) {
    if (m->shape.ref == REF_NONE) die("internal: no reference weights in this run's plan");
    Weights W = {m->shape.ref == REF_FP32 ? m->ref_params : NULL, m->shape.ref == REF_BF16 ? m->ref_params : NULL};
    forward(m, 0, &W, 0, NULL);
    memcpy(m->batch.ref_logp, m->batch.logp, sizeof(float) * (size_t)m->batch.B * m->batch.T);
}

void model_ref_from_params(Model *m) {
    if (m->shape.ref == REF_FP32) memcpy(m->ref_params, m->params, m->n_params * sizeof(float));
    else if (m->shape.ref == REF_BF16) {
        uint16_t *h = m->ref_params;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < m->n_params; i++) h[i] = f32_to_bf16(m->params[i]);
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
    float *P = m->params, *G = m->grads;

    /* LM head (unless the fused forward did it) and final norm: dres = dLoss/dx_L */
    memset(d->dres, 0, NE * sizeof(float));
    if (!m->head_done) {
        memset(d->dtmp, 0, NE * sizeof(float));
        lmhead_logprob_backward(d->dtmp, param_ptr(m, G, P_LM_HEAD, 0), bt->dlogp, f->xf, param_ptr(m, P, P_LM_HEAD, 0),
                                bt->targets, f->lm_lse, N, E, c->vocab_size, f->lm_chunk);
    }
    m->head_done = 0;
    float *x_last = layer_bufs(m, c->n_layers - 1, 1).x_out;
    rmsnorm_backward(d->dres, param_ptr(m, G, P_FINAL_NORM, 0), d->dtmp, x_last, param_ptr(m, P, P_FINAL_NORM, 0),
                     f->rstdf, N, E);

    Weights W = {P, NULL};
    for (int l = c->n_layers - 1; l >= 0; l--) {
        LayerBufs b = layer_bufs(m, l, 1);
        /* --recompute kept only x_in: rebuild this layer's activations (x_out, rewritten
         * with the same value, is no longer read) */
        if (m->shape.recompute) layer_forward(m, &W, l, &b, f);
        /* MLP block; dres flows unchanged through the residual into h_mid */
        memset(d->dff1, 0, (size_t)N * F * sizeof(float));
        matmul_backward(d->dff1, param_ptr(m, G, P_WD, l), NULL, d->dres, b.s, param_ptr(m, P, P_WD, l), N, F, E);
        swiglu_backward(d->dff2, d->dff1, d->dff1, b.g, b.u, (size_t)N * F); /* dff2 = dgate, dff1 = dup */
        memset(d->dtmp, 0, NE * sizeof(float));
        matmul_backward(d->dtmp, param_ptr(m, G, P_WG, l), NULL, d->dff2, b.m, param_ptr(m, P, P_WG, l), N, E, F);
        matmul_backward(d->dtmp, param_ptr(m, G, P_WU, l), NULL, d->dff1, b.m, param_ptr(m, P, P_WU, l), N, E, F);
        rmsnorm_backward(d->dres, param_ptr(m, G, P_FFN_NORM, l), d->dtmp, b.h_mid, param_ptr(m, P, P_FFN_NORM, l),
                         b.rstd2, N, E);
        /* attention block; dres now holds dLoss/dh_mid and flows on into x_in */
        memset(d->datt, 0, (size_t)N * Hq * sizeof(float));
        matmul_backward(d->datt, param_ptr(m, G, P_WO, l), NULL, d->dres, b.att, param_ptr(m, P, P_WO, l), N, Hq, E);
        attention_backward(d->dq, d->dk, d->dv, d->datt, b.att, b.lse, b.q, b.k, b.v, bt->seg, B, T, nh, nkv, D,
                           f->attn_buf);
        rope_backward(d->dq, bt->pos, m->rope_cos, m->rope_sin, N, nh, D);
        rope_backward(d->dk, bt->pos, m->rope_cos, m->rope_sin, N, nkv, D);
        memset(d->dtmp, 0, NE * sizeof(float));
        matmul_backward(d->dtmp, param_ptr(m, G, P_WQ, l), param_ptr(m, G, P_BQ, l), d->dq, b.a,
                        param_ptr(m, P, P_WQ, l), N, E, Hq);
        matmul_backward(d->dtmp, param_ptr(m, G, P_WK, l), param_ptr(m, G, P_BK, l), d->dk, b.a,
                        param_ptr(m, P, P_WK, l), N, E, Hkv);
        matmul_backward(d->dtmp, param_ptr(m, G, P_WV, l), param_ptr(m, G, P_BV, l), d->dv, b.a,
                        param_ptr(m, P, P_WV, l), N, E, Hkv);
        rmsnorm_backward(d->dres, param_ptr(m, G, P_ATTN_NORM, l), d->dtmp, b.x_in, param_ptr(m, P, P_ATTN_NORM, l),
                         b.rstd1, N, E);
    }
    embedding_backward(param_ptr(m, G, P_EMBED, 0), d->dres, bt->tokens, N, E);
}

void model_zero_grad(Model *m) {
    if (m->grads) memset(m->grads, 0, m->n_params * sizeof(float));
}

void model_logits(Model *m, int keep, float *out) {
    const ForwardBufs *f = keep ? &m->keep : &m->infer;
    int N = m->batch.B * m->batch.T;
    matmul_forward(out, f->xf, param_ptr(m, m->params, P_LM_HEAD, 0), NULL, N, m->cfg.dim, m->cfg.vocab_size);
}

void model_position_logits(Model *m, int n, float *out) {
    const ForwardBufs *f = &m->infer;
    matmul_forward(out, f->xf + (size_t)n * m->cfg.dim, param_ptr(m, m->params, P_LM_HEAD, 0), NULL, 1, m->cfg.dim,
                   m->cfg.vocab_size);
}
