/* Finite-difference check of every operation's backward, in double precision: ops.c is
 * compiled here with -DOPS_DOUBLE. For an op y = f(x) and a random r, the scalar
 * L = sum r * y has dL/dx from the op's backward (fed dout = r) and from central
 * differences; they must agree to 1e-6 relative. Also checks attention's masking by
 * meaning: a packed sequence equals its segments run one by one, and padding changes
 * nothing for real tokens. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"

static int fails = 0;
static unsigned long long rs = 88172645463325252ull;
static double urand(void) { /* xorshift64*, uniform in (-1, 1) */
    rs ^= rs >> 12, rs ^= rs << 25, rs ^= rs >> 27;
    return (double)((rs * 2685821657736338717ull) >> 11) / 9007199254740992.0 * 2 - 1;
}
static double *rnd(size_t n, double scale) {
    double *a = malloc(n * sizeof *a);
    for (size_t i = 0; i < n; i++) a[i] = urand() * scale;
    return a;
}
static double *zeros(size_t n) { return calloc(n, sizeof(double)); }
static double *copy(const double *a, size_t n) {
    double *b = malloc(n * sizeof *b);
    memcpy(b, a, n * sizeof *b);
    return b;
}

/* The loss as a function of the inputs; fd() perturbs one input array in place. */
typedef double (*LossFn)(void *ctx);
static double fd_check(const char *what, LossFn loss, void *ctx, double *x, size_t n, const double *analytic) {
    double h = 1e-5, worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        double keep = x[i];
        x[i] = keep + h;
        double lp = loss(ctx);
        x[i] = keep - h;
        double lm = loss(ctx);
        x[i] = keep;
        double num = (lp - lm) / (2 * h);
        worst = fmax(worst, fabs(num - analytic[i]));
        scale = fmax(scale, fabs(num));
    }
    double rel = worst / (scale + 1e-12);
    int ok = rel < 1e-6 && scale > 0;
    printf("%s: finite differences %s: relative error %.2e\n", ok ? "PASS" : "FAIL", what, rel);
    fails += !ok;
    return rel;
}
static double weighted(const double *r, const double *y, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += r[i] * y[i];
    return s;
}

/* ------------------------------------------------------------ embedding */
typedef struct { int N, E, V; int *tok; double *table, *out, *r; } EmbCtx;
static double emb_loss(void *p) {
    EmbCtx *c = p;
    embedding_forward(c->out, c->tok, weight_f32(c->table), c->N, c->E);
    return weighted(c->r, c->out, (size_t)c->N * c->E);
}
static void check_embedding(void) {
    EmbCtx c = {6, 5, 4, NULL, NULL, NULL, NULL};
    int tok[6] = {1, 3, 1, 0, 3, 3};
    c.tok = tok;
    c.table = rnd(20, 1), c.out = zeros(30), c.r = rnd(30, 1);
    double *g = zeros(20);
    embedding_backward(g, c.r, tok, c.N, c.E);
    fd_check("embedding (repeated tokens)", emb_loss, &c, c.table, 20, g);
}

/* ------------------------------------------------------------ rmsnorm */
typedef struct { int N, E; double *x, *w, *out, *rstd, *r; } NormCtx;
static double norm_loss(void *p) {
    NormCtx *c = p;
    rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->E, 1e-5);
    return weighted(c->r, c->out, (size_t)c->N * c->E);
}
static void check_rmsnorm(void) {
    NormCtx c = {3, 7, rnd(21, 2), rnd(7, 1), zeros(21), zeros(3), rnd(21, 1)};
    double *gx = zeros(21), *gw = zeros(7);
    norm_loss(&c);
    rmsnorm_backward(gx, gw, c.r, c.x, c.w, c.rstd, c.N, c.E);
    fd_check("rmsnorm dx", norm_loss, &c, c.x, 21, gx);
    fd_check("rmsnorm dw", norm_loss, &c, c.w, 7, gw);
}

/* ------------------------------------------------------------ matmul */
typedef struct { int N, I, O; double *x, *w, *b, *out, *r; } MmCtx;
static double mm_loss(void *p) {
    MmCtx *c = p;
    matmul_forward(c->out, c->x, weight_f32(c->w), c->b, c->N, c->I, c->O);
    return weighted(c->r, c->out, (size_t)c->N * c->O);
}
static void check_matmul(void) {
    MmCtx c = {4, 5, 3, rnd(20, 1), rnd(15, 1), rnd(3, 1), zeros(12), rnd(12, 1)};
    double *gx = zeros(20), *gw = zeros(15), *gb = zeros(3);
    matmul_backward(gx, gw, gb, c.r, c.x, weight_f32(c.w), c.N, c.I, c.O);
    fd_check("matmul dx", mm_loss, &c, c.x, 20, gx);
    fd_check("matmul dw", mm_loss, &c, c.w, 15, gw);
    fd_check("matmul db", mm_loss, &c, c.b, 3, gb);
}

/* ------------------------------------------------------------ LoRA beside a frozen linear */
/* y = x W^T + b + s B A dropout(x), W and b frozen (no gradient asked), as model.c composes
 * it: the frozen product's dx, then the branch on the dropped-out input, its input gradient
 * back through the same mask. */
typedef struct { int N, I, O, R; double s, p; uint64_t key; double *x, *w, *b, *A, *B, *xd, *h, *out, *r; } LoraCtx;
static double lora_loss(void *p) {
    LoraCtx *c = p;
    matmul_forward(c->out, c->x, weight_f32(c->w), c->b, c->N, c->I, c->O);
    dropout_forward(c->xd, c->x, c->N, c->I, c->p, c->key);
    lora_forward(c->out, c->h, c->xd, c->A, c->B, c->s, c->N, c->I, c->O, c->R);
    return weighted(c->r, c->out, (size_t)c->N * c->O);
}
static void check_lora(double p) {
    int N = 6, I = 7, O = 5, R = 3;
    LoraCtx c = {N, I, O, R, 1.7, p, 12345, rnd(N * I, 1), rnd(O * I, 1), rnd(O, 1), rnd(R * I, 1), rnd(O * R, 1),
                 zeros(N * I), zeros(N * R), zeros(N * O), rnd(N * O, 1)};
    lora_loss(&c);
    double *gx = zeros(N * I), *gA = zeros(R * I), *gB = zeros(O * R), *g = zeros(N * R), *gxd = zeros(N * I);
    matmul_backward(gx, NULL, NULL, c.r, c.x, weight_f32(c.w), N, I, O);
    lora_backward(gxd, gA, gB, g, c.r, c.xd, c.h, c.A, c.B, c.s, N, I, O, R);
    dropout_backward(gx, gxd, N, I, p, c.key);
    char what[96];
    snprintf(what, sizeof what, "LoRA on a frozen linear, dropout %.1f: dx", p);
    fd_check(what, lora_loss, &c, c.x, (size_t)N * I, gx);
    snprintf(what, sizeof what, "LoRA on a frozen linear, dropout %.1f: dA", p);
    fd_check(what, lora_loss, &c, c.A, (size_t)R * I, gA);
    snprintf(what, sizeof what, "LoRA on a frozen linear, dropout %.1f: dB", p);
    fd_check(what, lora_loss, &c, c.B, (size_t)O * R, gB);
}

/* Dropout's masks by meaning: the kept share is 1 - p, kept values are scaled by 1/(1-p),
 * the same key gives the same mask, another key (or row) another one, p = 0 is the identity. */
static void check_dropout(void) {
    int N = 64, I = 1000;
    double p = 0.3, *x = zeros((size_t)N * I), *y = zeros((size_t)N * I), *y2 = zeros((size_t)N * I),
           *y3 = zeros((size_t)N * I);
    for (size_t i = 0; i < (size_t)N * I; i++) x[i] = 1;
    dropout_forward(y, x, N, I, p, 7);
    dropout_forward(y2, x, N, I, p, 7);
    dropout_forward(y3, x, N, I, p, 8);
    long kept = 0, bad = 0, same = 0, differ_key = 0, rows_equal = 0;
    for (size_t i = 0; i < (size_t)N * I; i++) {
        kept += y[i] != 0;
        bad += y[i] != 0 && fabs(y[i] - 1 / (1 - p)) > 1e-12;
        same += y[i] == y2[i];
        differ_key += y[i] != y3[i];
    }
    for (int n = 1; n < N; n++) rows_equal += memcmp(y, y + (size_t)n * I, sizeof(double) * I) == 0;
    double share = (double)kept / ((double)N * I);
    int ok = fabs(share - (1 - p)) < 0.01 && !bad && same == (long)N * I && differ_key > N * I / 4 && !rows_equal;
    dropout_forward(y, x, N, I, 0, 7);
    for (size_t i = 0; i < (size_t)N * I; i++) ok &= y[i] == x[i];
    printf("%s: dropout masks: kept share %.4f (1 - p = %.2f), scale 1/(1-p), same key same mask, another key %ld "
           "of %d differ, %ld repeated rows, p = 0 the identity\n", ok ? "PASS" : "FAIL", share, 1 - p, differ_key,
           N * I, rows_equal);
    fails += !ok;
    free(x), free(y), free(y2), free(y3);
}

/* ------------------------------------------------------------ rope */
typedef struct { int N, H, D; int *pos; double *cos_t, *sin_t, *x, *y, *r; } RopeCtx;
static double rope_loss(void *p) {
    RopeCtx *c = p;
    size_t n = (size_t)c->N * c->H * c->D;
    memcpy(c->y, c->x, n * sizeof(double));
    rope_forward(c->y, c->pos, c->cos_t, c->sin_t, c->N, c->H, c->D);
    return weighted(c->r, c->y, n);
}
static void check_rope(void) {
    int N = 5, H = 2, D = 6, pos[5] = {0, 1, 2, 0, 4};
    double cos_t[5 * 3], sin_t[5 * 3];
    for (int p = 0; p < 5; p++)
        for (int i = 0; i < 3; i++) {
            double a = p * pow(10000.0, -2.0 * i / D);
            cos_t[p * 3 + i] = cos(a), sin_t[p * 3 + i] = sin(a);
        }
    size_t n = (size_t)N * H * D;
    RopeCtx c = {N, H, D, pos, cos_t, sin_t, rnd(n, 1), zeros(n), rnd(n, 1)};
    double *g = copy(c.r, n);
    rope_backward(g, pos, cos_t, sin_t, N, H, D);
    fd_check("rope", rope_loss, &c, c.x, n, g);
}

/* ------------------------------------------------------------ attention */
typedef struct { int B, T, nh, nkv, D; int *seg; double *q, *k, *v, *out, *lse, *buf, *r; } AttCtx;
static double att_loss(void *p) {
    AttCtx *c = p;
    attention_forward(c->out, c->lse, c->q, c->k, c->v, c->seg, c->B, c->T, c->nh, c->nkv, c->D, c->buf);
    return weighted(c->r, c->out, (size_t)c->B * c->T * c->nh * c->D);
}
static double *attention_buf(int D) { return zeros((size_t)omp_get_max_threads() * ATTN_BUF_REALS(D)); }

/* Finite differences of attention's three input gradients on one set of shapes and
 * segments; returns the context (its outputs those of the unperturbed inputs). */
static AttCtx fd_attention(const char *label, int B, int T, int nh, int nkv, int D, int *seg) {
    size_t nq = (size_t)B * T * nh * D, nk = (size_t)B * T * nkv * D;
    AttCtx c = {B, T, nh, nkv, D, seg, rnd(nq, 1), rnd(nk, 1), rnd(nk, 1), zeros(nq), zeros((size_t)B * T * nh),
                attention_buf(D), rnd(nq, 1)};
    double *gq = zeros(nq), *gk = zeros(nk), *gv = zeros(nk);
    char name[128];
    att_loss(&c);
    attention_backward(gq, gk, gv, c.r, c.out, c.lse, c.q, c.k, c.v, seg, B, T, nh, nkv, D, c.buf);
    snprintf(name, sizeof name, "attention dq (%s)", label);
    fd_check(name, att_loss, &c, c.q, nq, gq);
    snprintf(name, sizeof name, "attention dk (%s)", label);
    fd_check(name, att_loss, &c, c.k, nk, gk);
    snprintf(name, sizeof name, "attention dv (%s)", label);
    fd_check(name, att_loss, &c, c.v, nk, gv);
    att_loss(&c); /* fd_check leaves the outputs of its last perturbed evaluation */
    return c;
}

/* Sequences longer than a tile: T = 3 query tiles, with a packed segment boundary and
 * padding that fall inside tiles, so the online softmax crosses key tiles. */
static void check_attention_tiles(void) {
    int B = 2, T = 2 * ATTN_TQ + 7, nh = 2, nkv = 1, D = 19; /* D: two whole column blocks and a tail */
    int *seg = malloc(sizeof(int) * (size_t)B * T);
    for (int t = 0; t < T; t++) {
        seg[t] = t < ATTN_TK + 5 ? 0 : 1;       /* sequence 0: two packed segments */
        seg[T + t] = t < T - 9 ? 0 : -1;       /* sequence 1: 9 padding tokens */
    }
    AttCtx c = fd_attention("T spans 3 tiles", B, T, nh, nkv, D, seg);
    /* and the forward itself against the plain formula: softmax over visible keys */
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int t = 0; t < T; t++) {
                size_t n = (size_t)b * T + t;
                double w[2 * ATTN_TQ + 7], mx = -INFINITY, sum = 0;
                for (int u = 0; u <= t; u++) {
                    size_t m = (size_t)b * T + u;
                    int vis = u == t || (seg[n] >= 0 && seg[m] == seg[n]);
                    w[u] = -INFINITY;
                    if (vis) {
                        w[u] = 0;
                        for (int d = 0; d < D; d++) w[u] += c.q[n * nh * D + h * D + d] * c.k[m * nkv * D + d];
                        w[u] /= sqrt((double)D);
                    }
                    mx = fmax(mx, w[u]);
                }
                for (int u = 0; u <= t; u++) sum += w[u] == -INFINITY ? 0 : exp(w[u] - mx);
                for (int d = 0; d < D; d++) {
                    double o = 0;
                    for (int u = 0; u <= t; u++)
                        if (w[u] != -INFINITY) o += exp(w[u] - mx) / sum * c.v[((size_t)b * T + u) * nkv * D + d];
                    worst = fmax(worst, fabs(o - c.out[n * nh * D + h * D + d]));
                }
                worst = fmax(worst, fabs(mx + log(sum) - c.lse[n * nh + h]));
            }
    printf("%s: attention over 3 tiles equals the plain softmax formula (max diff %.1e)\n",
           worst < 1e-12 ? "PASS" : "FAIL", worst);
    fails += !(worst < 1e-12);
}

static void check_attention(void) {
    /* two sequences: the first packs two segments, the second is padded at the end */
    int B = 2, T = 6, nh = 4, nkv = 2, D = 4;
    int seg[12] = {0, 0, 0, 1, 1, 1, 0, 0, 0, 0, -1, -1};
    size_t nq = (size_t)B * T * nh * D;
    AttCtx c = fd_attention("GQA 2, packed and padded", B, T, nh, nkv, D, seg);

    /* Meaning of the mask: run segment 1 of sequence 0 (tokens 3..5) alone as a sequence
     * of 3; its outputs must equal the packed run's. And the padded sequence's real tokens
     * must not change when the padding's values change. */
    int seg1[3] = {0, 0, 0};
    double *q1 = zeros(3 * nh * D), *k1 = zeros(3 * nkv * D), *v1 = zeros(3 * nkv * D), *o1 = zeros(3 * nh * D),
           *l1 = zeros(3 * nh);
    memcpy(q1, c.q + 3 * nh * D, 3 * nh * D * sizeof(double));
    memcpy(k1, c.k + 3 * nkv * D, 3 * nkv * D * sizeof(double));
    memcpy(v1, c.v + 3 * nkv * D, 3 * nkv * D * sizeof(double));
    attention_forward(o1, l1, q1, k1, v1, seg1, 1, 3, nh, nkv, D, c.buf);
    double diff = 0;
    for (int i = 0; i < 3 * nh * D; i++) diff = fmax(diff, fabs(o1[i] - c.out[3 * nh * D + i]));
    printf("%s: attention packed segment equals the segment alone (max diff %.1e)\n", diff < 1e-12 ? "PASS" : "FAIL",
           diff);
    fails += !(diff < 1e-12);
    double *before = copy(c.out, nq);
    for (int t = 10; t < 12; t++)
        for (int i = 0; i < nkv * D; i++) c.k[t * nkv * D + i] += 5, c.v[t * nkv * D + i] -= 3;
    att_loss(&c);
    diff = 0;
    for (int i = 6 * nh * D; i < 10 * nh * D; i++) diff = fmax(diff, fabs(before[i] - c.out[i]));
    printf("%s: attention ignores padding (max diff %.1e)\n", diff == 0 ? "PASS" : "FAIL", diff);
    fails += diff != 0;
}

/* ------------------------------------------------------------ residual + rmsnorm, fused */
static void check_residual_rmsnorm(void) {
    int N = 3, E = 7;
    double *a = rnd(21, 2), *b = rnd(21, 1), *w = rnd(7, 1), *h1 = zeros(21), *o1 = zeros(21), *r1 = zeros(3),
           *h2 = zeros(21), *o2 = zeros(21), *r2 = zeros(3);
    residual_rmsnorm_forward(h1, o1, r1, a, b, w, N, E, 1e-6);
    residual_forward(h2, a, b, 21);
    rmsnorm_forward(o2, r2, h2, w, N, E, 1e-6);
    int same = !memcmp(h1, h2, 21 * sizeof(double)) && !memcmp(o1, o2, 21 * sizeof(double)) &&
               !memcmp(r1, r2, 3 * sizeof(double));
    printf("%s: residual + rmsnorm fused equals the two passes bit for bit\n", same ? "PASS" : "FAIL");
    fails += !same;
}

/* ------------------------------------------------------------ swiglu */
typedef struct { size_t n; double *g, *u, *out, *r; } SwCtx;
static double sw_loss(void *p) {
    SwCtx *c = p;
    swiglu_forward(c->out, c->g, c->u, c->n);
    return weighted(c->r, c->out, c->n);
}
static void check_swiglu(void) {
    SwCtx c = {17, rnd(17, 4), rnd(17, 2), zeros(17), rnd(17, 1)};
    double *gg = zeros(17), *gu = zeros(17);
    swiglu_backward(gg, gu, c.r, c.g, c.u, c.n);
    fd_check("swiglu dgate", sw_loss, &c, c.g, 17, gg);
    fd_check("swiglu dup", sw_loss, &c, c.u, 17, gu);
}

/* ------------------------------------------------------------ LM head + log-softmax */
typedef struct { int N, E, V; int *tgt; double *x, *w, *logp, *lse, *chunk, *r; } LmCtx;
static double lm_loss(void *p) {
    LmCtx *c = p;
    lmhead_logprob_forward(c->logp, c->lse, c->x, weight_f32(c->w), c->tgt, c->N, c->E, c->V, c->chunk);
    return weighted(c->r, c->logp, (size_t)c->N);
}
static void check_lmhead_groups(const LmCtx *c);
static void check_lmhead(void) {
    /* more scored rows than one row block (LMHEAD_ROWS), with unscored rows between them: the
     * forward takes LMHEAD_CHUNK rows by all 11 vocabulary columns; the backward's first
     * block recomputes them in tiles 2 columns wide, so its gradient crosses six tiles */
    int N = LMHEAD_ROWS * 4 / 3 + 9, E = 5, V = 11;
    int *tgt = malloc(sizeof(int) * N);
    for (int n = 0; n < N; n++) tgt[n] = n % 4 == 3 ? -1 : (n * 7) % V;
    LmCtx c = {N, E, V, tgt, rnd((size_t)N * E, 1), rnd((size_t)V * E, 1), zeros(N), zeros(N),
               zeros(LMHEAD_CHUNK_REALS(E, V, LMHEAD_ROWS)), rnd(N, 1)};
    double *gx = zeros((size_t)N * E), *gw = zeros((size_t)V * E);
    lm_loss(&c);
    lmhead_logprob_backward(gx, gw, c.r, c.x, weight_f32(c.w), tgt, c.lse, N, E, V, c.chunk);
    fd_check("lm head log-softmax dx", lm_loss, &c, c.x, (size_t)N * E, gx);
    fd_check("lm head log-softmax dw", lm_loss, &c, c.w, (size_t)V * E, gw);
    /* and the values: logp must be a log-probability computed the slow way */
    lm_loss(&c); /* fd_check leaves the outputs of its last perturbed evaluation */
    double worst = 0;
    for (int n = 0; n < N; n++) {
        if (tgt[n] < 0) {
            worst = fmax(worst, fabs(c.logp[n]));
            continue;
        }
        double z[64], mx = -1e300, s = 0;
        for (int v = 0; v < V; v++) {
            z[v] = 0;
            for (int e = 0; e < E; e++) z[v] += c.x[n * E + e] * c.w[v * E + e];
            mx = fmax(mx, z[v]);
        }
        for (int v = 0; v < V; v++) s += exp(z[v] - mx);
        worst = fmax(worst, fabs(c.logp[n] - (z[tgt[n]] - mx - log(s))));
    }
    printf("%s: lm head log-probs equal a direct log-softmax (max diff %.1e)\n", worst < 1e-12 ? "PASS" : "FAIL", worst);
    fails += !(worst < 1e-12);
    /* the fused pass (SFT: whole-vocabulary tiles, forward and backward at once) gives the
     * separate passes' log-probs and gradients */
    double *logp2 = zeros(N), *lse2 = zeros(N), *gx2 = zeros((size_t)N * E), *gw2 = zeros((size_t)V * E), diff = 0;
    lmhead_logprob_fused(logp2, lse2, gx2, gw2, c.r, c.x, weight_f32(c.w), tgt, N, E, V, LMHEAD_CHUNK, c.chunk, NULL);
    for (int n = 0; n < N; n++) diff = fmax(diff, fabs(logp2[n] - c.logp[n]) + fabs(lse2[n] - c.lse[n]));
    for (size_t i = 0; i < (size_t)N * E; i++) diff = fmax(diff, fabs(gx2[i] - gx[i]));
    for (size_t i = 0; i < (size_t)V * E; i++) diff = fmax(diff, fabs(gw2[i] - gw[i]));
    printf("%s: lm head fused pass equals forward + backward (max diff %.1e)\n", diff < 1e-12 ? "PASS" : "FAIL", diff);
    fails += !(diff < 1e-12);
    check_lmhead_groups(&c);
}

/* The fused pass with groups (preference pairs): each group's dlogp is a function of its
 * own log-probs, known only after its forward. The groups below share a tile, are empty,
 * or hold more scored rows than a tile (the fallback that recomputes), at two tile sizes;
 * the result must equal the separate forward, the same dlogp, then the separate backward. */
typedef struct { const LmCtx *c; const int *bounds; double *logp, *dlogp; int *calls; } GroupCtx;
static void group_dlogp(const int *bounds, int g, const double *logp, const double *r, double *dlogp) {
    double sum = 0;
    for (int n = bounds[g]; n < bounds[g + 1]; n++) sum += logp[n];
    for (int n = bounds[g]; n < bounds[g + 1]; n++) dlogp[n] = r[n] * (1 + tanh(0.1 * sum));
}
static void group_grad(void *p, int g) {
    GroupCtx *k = p;
    k->calls[g]++;
    group_dlogp(k->bounds, g, k->logp, k->c->r, k->dlogp);
}
static void check_lmhead_groups(const LmCtx *c) {
    int N = c->N, E = c->E, V = c->V;
    int bounds[] = {0, 100, 130, 130, 500, 700, 1000, N}, G = 7;
    double *dlogp = zeros(N), *gx = zeros((size_t)N * E), *gw = zeros((size_t)V * E);
    lmhead_logprob_forward(c->logp, c->lse, c->x, weight_f32(c->w), c->tgt, N, E, V, c->chunk);
    for (int g = 0; g < G; g++) group_dlogp(bounds, g, c->logp, c->r, dlogp);
    lmhead_logprob_backward(gx, gw, dlogp, c->x, weight_f32(c->w), c->tgt, c->lse, N, E, V, c->chunk);
    int tiles[] = {LMHEAD_CHUNK, 300};
    for (int k = 0; k < 2; k++) {
        double *logp2 = zeros(N), *lse2 = zeros(N), *dlogp2 = zeros(N), *gx2 = zeros((size_t)N * E),
               *gw2 = zeros((size_t)V * E), diff = 0;
        int calls[7] = {0}, once = 1;
        GroupCtx ctx = {c, bounds, logp2, dlogp2, calls};
        LmGroups groups = {bounds, G, group_grad, &ctx};
        lmhead_logprob_fused(logp2, lse2, gx2, gw2, dlogp2, c->x, weight_f32(c->w), c->tgt, N, E, V, tiles[k], c->chunk, &groups);
        for (int n = 0; n < N; n++)
            diff = fmax(diff, fabs(logp2[n] - c->logp[n]) + fabs(lse2[n] - c->lse[n]) + fabs(dlogp2[n] - dlogp[n]));
        for (size_t i = 0; i < (size_t)N * E; i++) diff = fmax(diff, fabs(gx2[i] - gx[i]));
        for (size_t i = 0; i < (size_t)V * E; i++) diff = fmax(diff, fabs(gw2[i] - gw[i]));
        for (int g = 0; g < G; g++) once &= calls[g] == 1;
        printf("%s: lm head fused pass over groups, tiles of %d rows, equals forward + backward (max diff %.1e), "
               "each group's gradient asked for once: %s\n",
               diff < 1e-12 && once ? "PASS" : "FAIL", tiles[k], diff, once ? "yes" : "no");
        fails += !(diff < 1e-12 && once);
        free(logp2), free(lse2), free(dlogp2), free(gx2), free(gw2);
    }
    free(dlogp), free(gx), free(gw);
}

int main(void) {
    check_embedding();
    check_rmsnorm();
    check_residual_rmsnorm();
    check_matmul();
    check_lora(0);
    check_lora(0.4);
    check_dropout();
    check_rope();
    check_attention();
    check_attention_tiles();
    check_swiglu();
    check_lmhead();
    return fails ? 1 : 0;
}
