/* ops.c: forward and backward of every decoder operation, side by side. Loops are plain
 * and parallel over rows or heads with OpenMP; see ops.h for the contracts. */
#include "ops.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#ifndef OPS_DOUBLE
#include "gemm.h"
#include "quant.h"
#endif

/* e^x for the float build: 2^n * p(r) with x = n ln2 + r, |r| <= ln2/2, p a degree-6
 * Taylor polynomial (relative error ~2e-7, like expf); plain arithmetic, so loops over it
 * vectorize. The double build (the finite-difference check) keeps libm's exp. */
#ifndef OPS_DOUBLE
static inline float vexp(float x) {
    x = x > -87.3f ? x : -87.3f; /* two plain selects, so the loops around stay vectorizable */
    x = x < 88.7f ? x : 88.7f;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f; /* round to nearest: 1.5 * 2^23 */
    float r = x - n * 0.693145752f - n * 1.42860677e-6f; /* ln2 split for an exact n*ln2_hi */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (0.166666672f + r * (0.0416666679f + r * (8.33333377e-3f +
              r * 1.38888892e-3f)))));
    int bits = ((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return p * scale;
}
#else
static inline double vexp(double x) { return exp(x); }
#endif

static inline real dot(const real *a, const real *b, int n) {
    real s = 0;
#pragma omp simd reduction(+ : s)
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline void axpy(real *y, real a, const real *x, int n) {
#pragma omp simd
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* C[M,N] (+)= A[M,K] B[K,N] through strides (gemm.h): the packed sgemm in the float build,
 * the plain loop in the double one. */
static void mm(int M, int N, int K, const real *A, long ars, long acs, const real *B, long brs, long bcs, real *C,
               long ldc, int accumulate) {
#ifndef OPS_DOUBLE
    sgemm(M, N, K, A, ars, acs, B, brs, bcs, C, ldc, accumulate);
#else
#pragma omp parallel for collapse(2) schedule(static)
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            real s = 0;
            for (int k = 0; k < K; k++) s += A[(long)i * ars + (long)k * acs] * B[(long)k * brs + (long)j * bcs];
            C[(long)i * ldc + j] = (accumulate ? C[(long)i * ldc + j] : 0) + s;
        }
#endif
}

/* Bytes of one row of `cols` values of a weight, and the start of its row r. */
static inline size_t weight_row_bytes(Weight w, int cols) {
#ifndef OPS_DOUBLE
    const GgmlTypeInfo *t = ggml_type_info(w.type);
    return (size_t)(cols / t->block) * (size_t)t->bytes;
#else
    return (size_t)cols * sizeof(real);
#endif
}
static inline const void *weight_row(Weight w, size_t r, int cols) {
    return (const char *)w.data + r * weight_row_bytes(w, cols);
}

/* ---------------------------------------------------------------- embedding */

void embedding_forward(real *out, const int *tokens, Weight table, int N, int E) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const void *row = weight_row(table, (size_t)tokens[n], E);
#ifndef OPS_DOUBLE
        dequantize_row(table.type, row, out + (size_t)n * E, E);
#else
        memcpy(out + (size_t)n * E, row, (size_t)E * sizeof(real));
#endif
    }
}

void embedding_backward(real *dtable, const real *dout, const int *tokens, int N, int E) {
    /* Several rows may hold the same token, so threads split the columns, not the rows. */
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int c0 = (int)((long)E * id / nt), c1 = (int)((long)E * (id + 1) / nt);
        for (int n = 0; n < N; n++) {
            real *d = dtable + (size_t)tokens[n] * E;
            const real *g = dout + (size_t)n * E;
            for (int c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

/* ---------------------------------------------------------------- rmsnorm */

void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int E, real eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const real *xr = x + (size_t)n * E;
        double ss = 0;
        for (int i = 0; i < E; i++) ss += (double)xr[i] * xr[i];
        real r = (real)(1.0 / sqrt(ss / E + (double)eps));
        rstd[n] = r;
        real *o = out + (size_t)n * E;
        for (int i = 0; i < E; i++) o[i] = w[i] * (xr[i] * r);
    }
}

void residual_rmsnorm_forward(real *h, real *out, real *rstd, const real *a, const real *b, const real *w, int N,
                              int E, real eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const real *ar = a + (size_t)n * E, *br = b + (size_t)n * E;
        real *hr = h + (size_t)n * E, *o = out + (size_t)n * E;
        double ss = 0;
        for (int i = 0; i < E; i++) {
            real v = ar[i] + br[i];
            hr[i] = v;
            ss += (double)v * v;
        }
        real r = (real)(1.0 / sqrt(ss / E + (double)eps));
        rstd[n] = r;
        for (int i = 0; i < E; i++) o[i] = w[i] * (hr[i] * r);
    }
}

void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *rstd, int N,
                      int E) {
    /* y_i = w_i x_i r, r = (mean x^2 + eps)^-1/2:
     * dx_i = r w_i dy_i - x_i r^3 / E * sum_j w_j dy_j x_j;  dw_i = sum_n dy_i x_i r */
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const real *xr = x + (size_t)n * E, *dy = dout + (size_t)n * E;
        real r = rstd[n];
        double s = 0;
        for (int i = 0; i < E; i++) s += (double)w[i] * dy[i] * xr[i];
        real c = (real)(s * r * r * r / E);
        real *d = dx + (size_t)n * E;
        for (int i = 0; i < E; i++) d[i] += r * w[i] * dy[i] - xr[i] * c;
    }
    if (!dw) return;
#pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int c0 = (int)((long)E * id / nt), c1 = (int)((long)E * (id + 1) / nt);
        for (int n = 0; n < N; n++) {
            const real *xr = x + (size_t)n * E, *dy = dout + (size_t)n * E;
            real r = rstd[n];
            for (int i = c0; i < c1; i++) dw[i] += dy[i] * xr[i] * r;
        }
    }
}

/* ---------------------------------------------------------------- matmul (nn.Linear) */

static void add_bias(real *out, const real *b, int N, int O) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) out[(size_t)n * O + o] += b[o];
}

#ifndef OPS_DOUBLE
/* The float build multiplies through the packed, vectorized sgemm (src/gemm.c), which
 * dequantizes a typed W as it packs it. The double build keeps the plain loops below: it
 * exists to check the backward formulas. */
void matmul_forward(real *out, const real *x, Weight w, const real *b, int N, int I, int O) {
    sgemm_w(N, O, I, x, I, 1, w.type, w.data, 1, out, O, 0); /* out = x W^T */
    if (b) add_bias(out, b, N, O);
}

void matmul_backward(real *dx, real *dw, real *db, const real *dout, const real *x, Weight w, int N, int I, int O) {
    if (dx) sgemm_w(N, I, O, dout, O, 1, w.type, w.data, 0, dx, I, 1); /* dx += dout W */
    if (dw) sgemm(O, I, N, dout, 1, O, x, I, 1, dw, I, 1);               /* dW += dout^T x */
#else
void matmul_forward(real *out, const real *x, Weight wt, const real *b, int N, int I, int O) {
    const real *w = wt.data;
#pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) out[(size_t)n * O + o] = dot(x + (size_t)n * I, w + (size_t)o * I, I);
    if (b) add_bias(out, b, N, O);
}

void matmul_backward(real *dx, real *dw, real *db, const real *dout, const real *x, Weight wt, int N, int I, int O) {
    const real *w = wt.data;
    if (dx) { /* dx[n] += sum_o dout[n,o] W[o] */
#pragma omp parallel for schedule(static)
        for (int n = 0; n < N; n++)
            for (int o = 0; o < O; o++) axpy(dx + (size_t)n * I, dout[(size_t)n * O + o], w + (size_t)o * I, I);
    }
    if (dw) { /* dW[o] += sum_n dout[n,o] x[n] */
#pragma omp parallel for schedule(static)
        for (int o = 0; o < O; o++)
            for (int n = 0; n < N; n++) axpy(dw + (size_t)o * I, dout[(size_t)n * O + o], x + (size_t)n * I, I);
    }
#endif
    if (db) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < O; o++) {
            real s = 0;
            for (int n = 0; n < N; n++) s += dout[(size_t)n * O + o];
            db[o] += s;
        }
    }
}

/* ---------------------------------------------------------------- LoRA */

void lora_forward(real *out, real *h, const real *x, const real *A, const real *B, real s, int N, int I, int O,
                  int r) {
    mm(N, r, I, x, I, 1, A, 1, I, h, r, 0); /* h = x A^T */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < (size_t)N * r; i++) h[i] *= s;
    mm(N, O, r, h, r, 1, B, 1, r, out, O, 1); /* out += h B^T */
}

void lora_backward(real *dx, real *dA, real *dB, real *g, const real *dout, const real *x, const real *h,
                   const real *A, const real *B, real s, int N, int I, int O, int r) {
    /* out = h B^T with h = s x A^T: dB += dout^T h; dh = dout B; dA += s dh^T x; dx += s dh A */
    mm(O, r, N, dout, 1, O, h, r, 1, dB, r, 1);
    mm(N, r, O, dout, O, 1, B, r, 1, g, r, 0);
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < (size_t)N * r; i++) g[i] *= s;
    mm(r, I, N, g, 1, r, x, I, 1, dA, I, 1);
    if (dx) mm(N, I, r, g, r, 1, A, I, 1, dx, I, 1);
}

/* ---------------------------------------------------------------- dropout */

/* Element (n, i) is dropped when a 24-bit hash of (key, n, i) falls below p * 2^24: the row's
 * 64-bit seed from splitmix64, then murmur3's 32-bit finalizer (a bijection) of the column. */
static inline uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint32_t fmix32(uint32_t x) {
    x ^= x >> 16, x *= 0x85ebca6bu, x ^= x >> 13, x *= 0xc2b2ae35u;
    return x ^ (x >> 16);
}

/* y[n, i] (+)= mask(n, i) * x[n, i] over the whole matrix */
static void dropout_apply(real *y, const real *x, int N, int I, real p, uint64_t key, int accumulate) {
    uint32_t threshold = (uint32_t)((double)p * 16777216.0 + 0.5);
    real keep_scale = (real)(1.0 / (1.0 - (double)p));
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        uint64_t rk = mix64(key + 0x9e3779b97f4a7c15ull * (uint64_t)(n + 1));
        uint32_t lo = (uint32_t)rk, hi = (uint32_t)(rk >> 32);
        real *yr = y + (size_t)n * I;
        const real *xr = x + (size_t)n * I;
#pragma omp simd
        for (int i = 0; i < I; i++) {
            uint32_t hsh = fmix32((lo ^ ((uint32_t)i * 0x9e3779b1u)) + hi);
            real v = (hsh >> 8) >= threshold ? keep_scale * xr[i] : 0;
            yr[i] = accumulate ? yr[i] + v : v;
        }
    }
}

void dropout_forward(real *out, const real *x, int N, int I, real p, uint64_t key) {
    dropout_apply(out, x, N, I, p, key, 0);
}

void dropout_backward(real *dx, const real *dout, int N, int I, real p, uint64_t key) {
    dropout_apply(dx, dout, N, I, p, key, 1);
}

/* ---------------------------------------------------------------- rope */

void rope_forward(real *x, const int *pos, const real *cos_t, const real *sin_t, int N, int H, int D) {
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const real *c = cos_t + (size_t)pos[n] * half, *s = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < H; h++) {
            real *v = x + (size_t)n * H * D + (size_t)h * D;
            for (int i = 0; i < half; i++) {
                real x1 = v[i], x2 = v[i + half];
                v[i] = x1 * c[i] - x2 * s[i];
                v[i + half] = x2 * c[i] + x1 * s[i];
            }
        }
    }
}

void rope_backward(real *dx, const int *pos, const real *cos_t, const real *sin_t, int N, int H, int D) {
    int half = D / 2;
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const real *c = cos_t + (size_t)pos[n] * half, *s = sin_t + (size_t)pos[n] * half;
        for (int h = 0; h < H; h++) {
            real *v = dx + (size_t)n * H * D + (size_t)h * D;
            for (int i = 0; i < half; i++) {
                real d1 = v[i], d2 = v[i + half];
                v[i] = d1 * c[i] + d2 * s[i];
                v[i + half] = d2 * c[i] - d1 * s[i];
            }
        }
    }
}

/* ---------------------------------------------------------------- attention */

/* Attention works in tiles of ATTN_TQ queries x ATTN_TK keys of one (sequence, head): a
 * tile of scores is all of T x T that ever exists. Keys are transposed into the tile
 * buffer so every inner loop runs along a contiguous row (vectorizes, no horizontal sums). */

/* dst[d][j] = src[j][d] for the tile's nk keys (rows `stride` apart); columns past nk are 0. */
static void load_transposed(real *dst, const real *src, size_t stride, int nk, int D) {
    for (int d = 0; d < D; d++) {
        real *row = dst + (size_t)d * ATTN_TK;
        for (int j = 0; j < nk; j++) row[j] = src[(size_t)j * stride + d];
        for (int j = nk; j < ATTN_TK; j++) row[j] = 0;
    }
}

/* Every product of attention's tiles has one shape: out[r][0..W) += sum over c < nc of
 * coef(r, c) * in[c][0..W), coef(r, c) = coef[r * cr + c * cc] (so a transposed coefficient
 * matrix costs nothing). TILE_RB rows by TILE_WB columns of out stay in registers across the
 * whole sum, so each element of `in` loaded feeds TILE_RB multiply-adds (an axpy per
 * coefficient would load and store out for every one). */
#define TILE_RB 4
typedef real tile_vec __attribute__((vector_size(32))); /* 8 floats (4 doubles): a GNU C vector */
#define TILE_VL ((int)(sizeof(tile_vec) / sizeof(real)))
#define TILE_WB (2 * TILE_VL) /* columns of out at once: two vectors per row */
static inline tile_vec vload(const real *p) {
    tile_vec v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void vstore(real *p, tile_vec v) { memcpy(p, &v, sizeof v); }

static void tile_multiply(real *out, size_t os, const real *coef, size_t cr, size_t cc, int nr, int nc,
                          const real *in, size_t is, int W) {
    int r = 0;
    for (; r + TILE_RB <= nr; r += TILE_RB) {
        int w0 = 0;
        for (; w0 + TILE_WB <= W; w0 += TILE_WB) {
            tile_vec acc[TILE_RB][2];
            for (int x = 0; x < TILE_RB; x++) {
                acc[x][0] = vload(out + (size_t)(r + x) * os + w0);
                acc[x][1] = vload(out + (size_t)(r + x) * os + w0 + TILE_VL);
            }
            for (int c = 0; c < nc; c++) {
                tile_vec in0 = vload(in + (size_t)c * is + w0), in1 = vload(in + (size_t)c * is + w0 + TILE_VL);
                for (int x = 0; x < TILE_RB; x++) {
                    real f = coef[(size_t)(r + x) * cr + (size_t)c * cc];
                    acc[x][0] += f * in0;
                    acc[x][1] += f * in1;
                }
            }
            for (int x = 0; x < TILE_RB; x++) {
                vstore(out + (size_t)(r + x) * os + w0, acc[x][0]);
                vstore(out + (size_t)(r + x) * os + w0 + TILE_VL, acc[x][1]);
            }
        }
        if (w0 < W) /* columns past the last whole block */
            for (int x = 0; x < TILE_RB; x++)
                for (int c = 0; c < nc; c++)
                    axpy(out + (size_t)(r + x) * os + w0, coef[(size_t)(r + x) * cr + (size_t)c * cc],
                         in + (size_t)c * is + w0, W - w0);
    }
    for (; r < nr; r++) /* rows past the last whole block */
        for (int c = 0; c < nc; c++)
            axpy(out + (size_t)r * os, coef[(size_t)r * cr + (size_t)c * cc], in + (size_t)c * is, W);
}

/* s[i][j] = a_i . bt[.][j] over the tile: a's rows `stride` apart, bt from load_transposed. */
static void tile_products(real *s, const real *a, size_t stride, const real *bt, int nq, int D) {
    memset(s, 0, sizeof(real) * (size_t)nq * ATTN_TK);
    tile_multiply(s, ATTN_TK, a, stride, 1, nq, D, bt, ATTN_TK, ATTN_TK);
}

/* Scale the tile's scores and hide (-inf) keys a query may not see: later positions, other
 * segments, padding. Queries are rows t0.., keys u0.. of sequence b. The test is written
 * with & and | on the key segments copied out first, so it vectorizes (no branch per score).
 * seg == NULL: the whole sequence is one segment (a generation's cache). */
static void tile_mask(real *s, real scale, const int *seg, size_t base, int t0, int nq, int u0, int nk) {
    int kseg[ATTN_TK];
    for (int j = 0; j < ATTN_TK; j++) kseg[j] = j < nk ? (seg ? seg[base + (size_t)(u0 + j)] : 0) : -2;
    for (int i = 0; i < nq; i++) {
        real *row = s + (size_t)i * ATTN_TK;
        int t = t0 + i, st = seg ? seg[base + (size_t)t] : 0;
#pragma omp simd
        for (int j = 0; j < ATTN_TK; j++) {
            int u = u0 + j; /* u <= t implies j < nk: a tile ends at the last query's position */
            int see = (u <= t) & ((u == t) | ((st >= 0) & (kseg[j] == st)));
            row[j] = see ? scale * row[j] : -INFINITY;
        }
    }
}

/* One tile of nq queries (rows of q0, Hq apart; query i at position t0 + i) of one head over
 * the keys and values of its sequence (kh's columns of k0 and v0, rows Hkv apart from
 * position 0): an online softmax over key tiles of ATTN_TK, written to out (rows Hq apart)
 * and, unless NULL, each row's log-sum-exp to lse (rows nh apart). A row's result depends on
 * nothing but its own position and keys, so the full pass and a generation's cached one
 * (query tiles starting anywhere, one token or a prompt at a time) agree to the bit. */
static void attend_tile(real *out, real *lse, const real *q0, const real *k0, const real *v0, const int *seg,
                        size_t base, int t0, int nq, int Hq, int Hkv, int nh, int D, real scale, real *s) {
    real *kt = s + ATTN_TQ * ATTN_TK, *acc = kt + (size_t)D * ATTN_TK, *mx = acc + (size_t)ATTN_TQ * D,
         *sum = mx + ATTN_TQ;
    for (int i = 0; i < nq; i++) mx[i] = -INFINITY, sum[i] = 0;
    memset(acc, 0, sizeof(real) * (size_t)ATTN_TQ * D);
    /* online softmax over key tiles: running max mx, running sum, unnormalised acc */
    for (int u0 = 0; u0 < t0 + nq; u0 += ATTN_TK) {
        int nk = t0 + nq - u0 < ATTN_TK ? t0 + nq - u0 : ATTN_TK;
        load_transposed(kt, k0 + (size_t)u0 * Hkv, Hkv, nk, D);
        tile_products(s, q0, Hq, kt, nq, D);
        tile_mask(s, scale, seg, base, t0, nq, u0, nk);
        for (int i = 0; i < nq; i++) {
            real *row = s + (size_t)i * ATTN_TK, m = -INFINITY;
            for (int j = 0; j < ATTN_TK; j++) m = row[j] > m ? row[j] : m;
            if (m == -INFINITY) { /* nothing visible in this tile */
                memset(row, 0, sizeof(real) * ATTN_TK);
                continue;
            }
            real mnew = m > mx[i] ? m : mx[i];
            real c = mx[i] == -INFINITY ? 0 : (real)vexp(mx[i] - mnew), tsum = 0;
#pragma omp simd reduction(+ : tsum)
            for (int j = 0; j < ATTN_TK; j++) {
                real e = row[j] == -INFINITY ? 0 : (real)vexp(row[j] - mnew);
                row[j] = e;
                tsum += e;
            }
            sum[i] = sum[i] * c + tsum;
            mx[i] = mnew;
            real *a = acc + (size_t)i * D;
            if (c != 1)
                for (int d = 0; d < D; d++) a[d] *= c;
        }
        /* acc += p v over the tile */
        tile_multiply(acc, D, s, ATTN_TK, 1, nq, nk, v0 + (size_t)u0 * Hkv, Hkv, D);
    }
    for (int i = 0; i < nq; i++) {
        real inv = 1 / sum[i], *o = out + (size_t)i * Hq;
        for (int d = 0; d < D; d++) o[d] = acc[(size_t)i * D + d] * inv;
        if (lse) lse[(size_t)i * nh] = mx[i] + (real)log((double)sum[i]);
    }
}

void attention_forward(real *out, real *lse, const real *q, const real *k, const real *v, const int *seg, int B,
                       int T, int nh, int nkv, int D, real *buf) {
    int Hq = nh * D, Hkv = nkv * D, group = nh / nkv, tiles = (T + ATTN_TQ - 1) / ATTN_TQ;
    real scale = (real)(1.0 / sqrt((double)D));
#pragma omp parallel for collapse(3) schedule(dynamic, 1)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < nh; h++)
            for (int qt = 0; qt < tiles; qt++) {
                int kh = h / group, t0 = qt * ATTN_TQ, nq = T - t0 < ATTN_TQ ? T - t0 : ATTN_TQ;
                size_t base = (size_t)b * T, n0 = base + (size_t)t0;
                attend_tile(out + n0 * Hq + (size_t)h * D, lse + n0 * nh + h, q + n0 * Hq + (size_t)h * D,
                            k + base * Hkv + (size_t)kh * D, v + base * Hkv + (size_t)kh * D, seg, base, t0, nq, Hq,
                            Hkv, nh, D, scale, buf + (size_t)omp_get_thread_num() * ATTN_BUF_REALS(D));
            }
}

void attention_cached(real *out, const real *q, const real *kc, const real *vc, const int *seq, const int *pos, int n,
                      int T, int nh, int nkv, int D, real *buf) {
    int Hq = nh * D, Hkv = nkv * D, group = nh / nkv;
    real scale = (real)(1.0 / sqrt((double)D));
    /* runs of up to ATTN_TQ rows of one sequence at consecutive positions share a query tile */
    int *start = malloc(sizeof(int) * (size_t)(n + 1)), runs = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || seq[i] != seq[i - 1] || pos[i] != pos[i - 1] + 1 || i - start[runs - 1] == ATTN_TQ) start[runs++] = i;
    start[runs] = n;
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int r = 0; r < runs; r++)
        for (int h = 0; h < nh; h++) {
            int i = start[r], kh = h / group;
            size_t cache = (size_t)seq[i] * T * Hkv + (size_t)kh * D;
            attend_tile(out + (size_t)i * Hq + (size_t)h * D, NULL, q + (size_t)i * Hq + (size_t)h * D, kc + cache,
                        vc + cache, NULL, 0, pos[i], start[r + 1] - i, Hq, Hkv, nh, D, scale,
                        buf + (size_t)omp_get_thread_num() * ATTN_BUF_REALS(D));
        }
    free(start);
}

void attention_backward(real *dq, real *dk, real *dv, const real *dout, const real *out, const real *lse,
                        const real *q, const real *k, const real *v, const int *seg, int B, int T, int nh, int nkv,
                        int D, real *buf) {
    /* Recompute p = exp(s - lse) tile by tile. With Dt = dout_t . out_t:
     * ds_u = p_u (dout_t . v_u - Dt); dq_t = scale sum_u ds_u k_u; dk_u += scale ds_u q_t; dv_u += p_u dout_t.
     * One task per (sequence, kv head) owns every row it writes, so no two threads collide. */
    int Hq = nh * D, Hkv = nkv * D, group = nh / nkv, tiles = (T + ATTN_TQ - 1) / ATTN_TQ;
    real scale = (real)(1.0 / sqrt((double)D));
#pragma omp parallel for collapse(2) schedule(dynamic, 1)
    for (int b = 0; b < B; b++)
        for (int kh = 0; kh < nkv; kh++) {
            real *p = buf + (size_t)omp_get_thread_num() * ATTN_BUF_REALS(D);
            real *ds = p + ATTN_TQ * ATTN_TK, *kt = ds + ATTN_TQ * ATTN_TK, *vt = kt + (size_t)D * ATTN_TK,
                 *Dt = vt + (size_t)D * ATTN_TK;
            size_t base = (size_t)b * T;
            for (int t = 0; t < T; t++) {
                size_t n = base + t;
                memset(dk + n * Hkv + (size_t)kh * D, 0, (size_t)D * sizeof(real));
                memset(dv + n * Hkv + (size_t)kh * D, 0, (size_t)D * sizeof(real));
                memset(dq + n * Hq + (size_t)kh * group * D, 0, (size_t)group * D * sizeof(real));
            }
            for (int h = kh * group; h < (kh + 1) * group; h++)
                for (int qt = 0; qt < tiles; qt++) {
                    int t0 = qt * ATTN_TQ, nq = T - t0 < ATTN_TQ ? T - t0 : ATTN_TQ;
                    const real *q0 = q + (base + t0) * Hq + (size_t)h * D, *go0 = dout + (base + t0) * Hq + (size_t)h * D;
                    for (int i = 0; i < nq; i++)
                        Dt[i] = dot(go0 + (size_t)i * Hq, out + (base + t0 + i) * Hq + (size_t)h * D, D);
                    for (int u0 = 0; u0 < t0 + nq; u0 += ATTN_TK) {
                        int nk = t0 + nq - u0 < ATTN_TK ? t0 + nq - u0 : ATTN_TK;
                        const real *k0 = k + (base + u0) * Hkv + (size_t)kh * D, *v0 = v + (base + u0) * Hkv + (size_t)kh * D;
                        load_transposed(kt, k0, Hkv, nk, D);
                        load_transposed(vt, v0, Hkv, nk, D);
                        tile_products(p, q0, Hq, kt, nq, D);
                        tile_mask(p, scale, seg, base, t0, nq, u0, nk);
                        tile_products(ds, go0, Hq, vt, nq, D); /* dout_t . v_u */
                        for (int i = 0; i < nq; i++) {
                            real *pr = p + (size_t)i * ATTN_TK, *dr = ds + (size_t)i * ATTN_TK;
                            real L = lse[(base + t0 + i) * nh + h], Di = Dt[i];
#pragma omp simd
                            for (int j = 0; j < ATTN_TK; j++) {
                                real e = pr[j] == -INFINITY ? 0 : (real)vexp(pr[j] - L);
                                pr[j] = e;
                                dr[j] = scale * e * (dr[j] - Di); /* scale: the score's, for dq and dk */
                            }
                        }
                        real *gq = dq + (base + t0) * Hq + (size_t)h * D;
                        real *gk = dk + (base + u0) * Hkv + (size_t)kh * D;
                        real *gv = dv + (base + u0) * Hkv + (size_t)kh * D;
                        tile_multiply(gq, Hq, ds, ATTN_TK, 1, nq, nk, k0, Hkv, D);  /* ds k */
                        tile_multiply(gk, Hkv, ds, 1, ATTN_TK, nk, nq, q0, Hq, D); /* ds^T q */
                        tile_multiply(gv, Hkv, p, 1, ATTN_TK, nk, nq, go0, Hq, D);  /* p^T dout */
                    }
                }
        }
}

/* ---------------------------------------------------------------- swiglu */

void swiglu_forward(real *out, const real *g, const real *u, size_t n) {
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        real sig = 1 / (1 + (real)vexp(-g[i]));
        out[i] = g[i] * sig * u[i];
    }
}

void swiglu_backward(real *dg, real *du, const real *dout, const real *g, const real *u, size_t n) {
    /* d/dg silu(g) = sig (1 + g (1 - sig)) */
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        real d = dout[i];
        real sig = 1 / (1 + (real)vexp(-g[i]));
        real gd = d * u[i] * sig * (1 + g[i] * (1 - sig));
        du[i] = d * g[i] * sig;
        dg[i] = gd;
    }
}

/* ---------------------------------------------------------------- residual */

void residual_forward(real *out, const real *a, const real *b, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* ---------------------------------------------------------------- LM head + log-softmax */

/* The head works on tiles of the logits: `count` target rows (gathered into xg) by `vc`
 * vocabulary columns. Forward tiles take whole rows of the vocabulary (up to LMHEAD_CHUNK
 * rows, or the fused pass's tile_rows), so each row's log-sum-exp is one pass over its
 * logits, made the same way by every forward: the reference's log-probs equal the policy's
 * to the bit while the two weights are equal. The separate backward, which only recomputes
 * logits, takes up to LMHEAD_ROWS rows by a slice of the vocabulary (count * vc <=
 * LMHEAD_CHUNK * V), so W is packed and dW written once per LMHEAD_ROWS rows. The per-row
 * buffers come first in the chunk and the logits last, so the separate passes need not
 * know how many rows the fused pass was given room for. */
typedef struct {
    real *z;            /* the logits tile, count x vc, becomes its gradient in place */
    real *xg, *dxg;     /* the tile's rows of x, and their gradient, count x E each */
    real *mx, *sum, *zt; /* per row: max logit, sum of exp(z - mx), the target's logit */
} LmTile;

static LmTile lm_tile(real *chunk, int E) {
    LmTile t;
    t.xg = chunk;
    t.dxg = t.xg + (size_t)LMHEAD_ROWS * E;
    t.mx = t.dxg + (size_t)LMHEAD_ROWS * E;
    t.sum = t.mx + LMHEAD_ROWS;
    t.zt = t.sum + LMHEAD_ROWS;
    t.z = t.zt + LMHEAD_ROWS;
    return t;
}

/* Columns per tile for `count` rows: the whole vocabulary if it fits, else the most that
 * fit, in whole 64-column panels where there is room for one. */
static int tile_columns(int count, int V) {
    size_t vc = (size_t)LMHEAD_CHUNK * V / (size_t)count;
    if (vc >= (size_t)V) return V;
    if (vc >= 64) vc -= vc % 64;
    return vc ? (int)vc : 1;
}

/* Collect the next (up to max) rows that carry a target, starting at *next, and gather
 * them into xg so each tile's product is one contiguous matrix multiply. */
static int next_target_rows(const int *targets, int N, int *next, int *rows, int max, real *xg, const real *x,
                            int E) {
    int count = 0;
    while (*next < N && count < max) {
        if (targets[*next] >= 0) rows[count++] = *next;
        (*next)++;
    }
    for (int r = 0; r < count; r++) memcpy(xg + (size_t)r * E, x + (size_t)rows[r] * E, sizeof(real) * (size_t)E);
    return count;
}

/* z[r, v] = xg[r] . W[v0 + v] for the tile's vc columns, W of any stored type. */
static void tile_logits(const LmTile *t, Weight w, int count, int v0, int vc, int E) {
    const void *wt = weight_row(w, (size_t)v0, E);
#ifndef OPS_DOUBLE
    sgemm_w(count, vc, E, t->xg, E, 1, w.type, wt, 1, t->z, vc, 0);
#else
    const real *wr = wt;
#pragma omp parallel for collapse(2) schedule(static)
    for (int r = 0; r < count; r++)
        for (int v = 0; v < vc; v++) t->z[(size_t)r * vc + v] = dot(t->xg + (size_t)r * E, wr + (size_t)v * E, E);
#endif
}

/* Each row's max and sum of exp(z - max) over the whole vocabulary, and its target's logit. */
static void tile_softmax_stats(const LmTile *t, const int *rows, int count, int V, const int *targets) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < count; r++) {
        const real *z = t->z + (size_t)r * V;
        real mx = z[0];
#pragma omp simd reduction(max : mx)
        for (int v = 0; v < V; v++) mx = z[v] > mx ? z[v] : mx;
        real sum = 0;
#pragma omp simd reduction(+ : sum)
        for (int v = 0; v < V; v++) sum += (real)vexp(z[v] - mx);
        t->sum[r] = sum;
        t->mx[r] = mx;
        t->zt[r] = z[targets[rows[r]]];
    }
}

/* lse and the target's log-probability of each row of the tile */
static void rows_logprobs(real *logp, real *lse, const LmTile *t, const int *rows, int count) {
    for (int r = 0; r < count; r++) {
        real L = t->mx[r] + (real)log((double)t->sum[r]);
        lse[rows[r]] = L;
        logp[rows[r]] = t->zt[r] - L;
    }
}

/* The tile's logits become their gradient, dz_v = g * ([v == y] - exp(z_v - lse)), and flow
 * into the rows' dx (dxg, started by the tile at v0 = 0) and, unless the head is frozen (dw
 * NULL), into dW's rows [v0, v0 + vc). */
static void tile_backward(const LmTile *t, real *dw, Weight w, const int *rows, int count, int v0, int vc,
                          const real *dlogp, const int *targets, const real *lse, int E) {
#pragma omp parallel for schedule(static)
    for (int r = 0; r < count; r++) {
        int n = rows[r], y = targets[n] - v0;
        real *z = t->z + (size_t)r * vc, g = dlogp[n], L = lse[n];
#pragma omp simd
        for (int v = 0; v < vc; v++) z[v] = -g * (real)vexp(z[v] - L);
        if (y >= 0 && y < vc) z[y] += g;
    }
    const void *wt = weight_row(w, (size_t)v0, E);
#ifndef OPS_DOUBLE
    sgemm_w(count, E, vc, t->z, vc, 1, w.type, wt, 0, t->dxg, E, v0 > 0);        /* dx rows (+)= dz W[v0:v0+vc] */
    if (dw) sgemm(vc, E, count, t->z, 1, vc, t->xg, E, 1, dw + (size_t)v0 * E, E, 1); /* dW[v0:v0+vc] += dz^T x */
#else
    const real *wr = wt;
    for (int r = 0; r < count; r++) {
        if (v0 == 0) memset(t->dxg + (size_t)r * E, 0, sizeof(real) * (size_t)E);
        for (int v = 0; v < vc; v++) axpy(t->dxg + (size_t)r * E, t->z[(size_t)r * vc + v], wr + (size_t)v * E, E);
    }
    if (dw) {
        real *dwt = dw + (size_t)v0 * E;
#pragma omp parallel for schedule(static)
        for (int v = 0; v < vc; v++)
            for (int r = 0; r < count; r++) axpy(dwt + (size_t)v * E, t->z[(size_t)r * vc + v], t->xg + (size_t)r * E, E);
    }
#endif
}

static void rows_add_dx(real *dx, const LmTile *t, const int *rows, int count, int E) {
    for (int r = 0; r < count; r++) axpy(dx + (size_t)rows[r] * E, 1, t->dxg + (size_t)r * E, E);
}

/* One tile of whole-vocabulary rows: logits, then each row's lse and log-probability. */
static void tile_forward(LmTile *t, real *logp, real *lse, Weight w, const int *rows, int count, const int *targets,
                         int E, int V) {
    tile_logits(t, w, count, 0, V, E);
    tile_softmax_stats(t, rows, count, V, targets);
    rows_logprobs(logp, lse, t, rows, count);
}

/* LMHEAD_CHUNK rows at a time */
void lmhead_logprob_forward(real *logp, real *lse, const real *x, Weight w, const int *targets, int N, int E, int V,
                            real *chunk) {
    for (int n = 0; n < N; n++) logp[n] = lse[n] = 0;
    LmTile t = lm_tile(chunk, E);
    int rows[LMHEAD_CHUNK], next = 0, count;
    while ((count = next_target_rows(targets, N, &next, rows, LMHEAD_CHUNK, t.xg, x, E)) > 0)
        tile_forward(&t, logp, lse, w, rows, count, targets, E, V);
}

void lmhead_logprob_backward(real *dx, real *dw, const real *dlogp, const real *x, Weight w, const int *targets,
                             const real *lse, int N, int E, int V, real *chunk) {
    LmTile t = lm_tile(chunk, E);
    int rows[LMHEAD_ROWS], next = 0, count;
    while ((count = next_target_rows(targets, N, &next, rows, LMHEAD_ROWS, t.xg, x, E)) > 0) {
        int width = tile_columns(count, V);
        for (int v0 = 0; v0 < V; v0 += width) {
            int vc = V - v0 < width ? V - v0 : width;
            tile_logits(&t, w, count, v0, vc, E); /* recomputed: cheaper than keeping N x V */
            tile_backward(&t, dw, w, rows, count, v0, vc, dlogp, targets, lse, E);
        }
        rows_add_dx(dx, &t, rows, count, E);
    }
}

/* The fused pass's backward of one forward tile, once dlogp is known for its rows. */
static void fused_tile_backward(LmTile *t, real *dx, real *dw, Weight w, const int *rows, int count,
                                const real *dlogp, const int *targets, const real *lse, int E, int V) {
    tile_backward(t, dw, w, rows, count, 0, V, dlogp, targets, lse, E);
    rows_add_dx(dx, t, rows, count, E);
}

static int scored_rows(const int *targets, int n0, int n1) {
    int count = 0;
    for (int n = n0; n < n1; n++) count += targets[n] >= 0;
    return count;
}

void lmhead_logprob_fused(real *logp, real *lse, real *dx, real *dw, const real *dlogp, const real *x, Weight w,
                          const int *targets, int N, int E, int V, int tile_rows, real *chunk,
                          const LmGroups *groups) {
    for (int n = 0; n < N; n++) logp[n] = lse[n] = 0;
    LmTile t = lm_tile(chunk, E);
    int rows[LMHEAD_ROWS], next = 0, count;
    if (tile_rows > LMHEAD_ROWS) tile_rows = LMHEAD_ROWS; /* the gathered rows' room */
    if (!groups) {
        while ((count = next_target_rows(targets, N, &next, rows, tile_rows, t.xg, x, E)) > 0) {
            tile_forward(&t, logp, lse, w, rows, count, targets, E, V);
            fused_tile_backward(&t, dx, dw, w, rows, count, dlogp, targets, lse, E, V);
        }
        return;
    }
    const int *b = groups->bounds;
    for (int g = 0; g < groups->n;) {
        if (scored_rows(targets, b[g], b[g + 1]) > tile_rows) { /* alone, with the logits made twice */
            size_t o = (size_t)b[g] * E;
            int n = b[g + 1] - b[g];
            lmhead_logprob_forward(logp + b[g], lse + b[g], x + o, w, targets + b[g], n, E, V, chunk);
            groups->grad(groups->ctx, g);
            lmhead_logprob_backward(dx + o, dw, dlogp + b[g], x + o, w, targets + b[g], lse + b[g], n, E, V, chunk);
            g++;
            continue;
        }
        int g1 = g, total = 0, c;
        while (g1 < groups->n && total + (c = scored_rows(targets, b[g1], b[g1 + 1])) <= tile_rows) total += c, g1++;
        next = b[g];
        count = next_target_rows(targets, b[g1], &next, rows, tile_rows, t.xg, x, E);
        if (count) tile_forward(&t, logp, lse, w, rows, count, targets, E, V);
        for (; g < g1; g++) groups->grad(groups->ctx, g);
        if (count) fused_tile_backward(&t, dx, dw, w, rows, count, dlogp, targets, lse, E, V);
    }
}
