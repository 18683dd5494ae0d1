/* ops.h: the decoder's operations, each forward declared beside its backward.
 *
 * All tensors are flat row-major arrays; N = B*T token rows. Backward functions ADD into
 * weight gradients (so gradients accumulate over micro-batches) and, unless noted, ADD into
 * input gradients too. `real` is float in the program; the finite-difference test compiles
 * this same file with -DOPS_DOUBLE to check every backward in double precision. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

#ifdef OPS_DOUBLE
typedef double real;
#else
typedef float real;
#endif

/* A weight matrix as it is stored: row-major rows (the caller knows the shape), each row
 * encoded in a ggml type (gguf.h): GGML_F32 for the weights being trained, and F16, BF16 or
 * quantized blocks for a frozen base or reference kept as its file stores it. Products
 * widen or dequantize it a panel at a time as they pack it (gemm.h sgemm_w), so no fp32
 * copy of a frozen matrix ever exists. In the double build GGML_F32 means reals and is the
 * only type. Vectors (norms, biases) are always plain reals. */
typedef struct {
    uint32_t type;
    const void *data;
} Weight;
static inline Weight weight_f32(const real *w) { return (Weight){GGML_F32, w}; }

/* Token embedding: out[n] = table[tokens[n]], the row widened or dequantized. */
void embedding_forward(real *out, const int *tokens, Weight table, int N, int E);
void embedding_backward(real *dtable, const real *dout, const int *tokens, int N, int E);

/* RMSNorm: out = w * x / sqrt(mean(x^2) + eps); rstd[n] = 1/sqrt(...) is kept for backward.
 * dw may be NULL (a frozen norm). */
void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int E, real eps);
void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, const real *rstd,
                      int N, int E);

/* Residual add and the RMSNorm after it in one pass over each row (the row is still in
 * cache for the norm): h = a + b (h may alias a), then out and rstd as rmsnorm_forward of h,
 * to the bit. Its backward is rmsnorm_backward's, with dh flowing on unchanged into a and b. */
void residual_rmsnorm_forward(real *h, real *out, real *rstd, const real *a, const real *b, const real *w, int N,
                              int E, real eps);

/* Linear layer as nn.Linear: out[N,O] = x[N,I] W[O,I]^T (+ b[O]). dx, dw and db may be NULL:
 * a frozen W of any type still passes its gradient on (dx += dout W), and has no dw. */
void matmul_forward(real *out, const real *x, Weight w, const real *b, int N, int I, int O);
void matmul_backward(real *dx, real *dw, real *db, const real *dout, const real *x, Weight w, int N, int I, int O);

/* LoRA's branch beside a linear layer (PEFT, FORMATS.md 9.1): out[N,O] += s * (x A^T) B^T with
 * A [r, I] and B [O, r]; x is the layer's input after LoRA dropout. h[N, r] keeps s * x A^T
 * for the backward. The backward adds into dA and dB, and into dx (which may be NULL) the
 * branch's share of the input gradient; g is room for N x r reals. */
void lora_forward(real *out, real *h, const real *x, const real *A, const real *B, real s, int N, int I, int O,
                  int r);
void lora_backward(real *dx, real *dA, real *dB, real *g, const real *dout, const real *x, const real *h,
                   const real *A, const real *B, real s, int N, int I, int O, int r);

/* Inverted dropout with a mask that is a pure function of (key, row, column): each element is
 * kept with probability 1 - p and then scaled by 1 / (1 - p), as torch.nn.Dropout. So a mask
 * need never be stored: the backward (and a resumed run) makes the same one again from the
 * same key. The forward writes out = mask * x; the backward ADDS mask * dout into dx. */
void dropout_forward(real *out, const real *x, int N, int I, real p, uint64_t key);
void dropout_backward(real *dx, const real *dout, int N, int I, real p, uint64_t key);

/* RoPE, rotate_half convention, in place on x[N, H*D]. cos/sin tables are [pos][D/2]. The
 * backward applies the transposed rotation in place. */
void rope_forward(real *x, const int *pos, const real *cos_t, const real *sin_t, int N, int H, int D);
void rope_backward(real *dx, const int *pos, const real *cos_t, const real *sin_t, int N, int H, int D);

/* Causal grouped-query attention over B sequences of T tokens. q[N, nh*D], k/v[N, nkv*D];
 * query head h reads kv head h / (nh/nkv). Key u is visible to query t when u <= t and both
 * carry the same segment id >= 0 (padding has seg -1 and sees only itself; packed rows
 * have one segment each). out[N, nh*D]; lse[N, nh] keeps each softmax's log-sum-exp so the
 * backward recomputes probabilities instead of storing T x T of them. Both directions work
 * in tiles of ATTN_TQ queries x ATTN_TK keys (an online softmax in the forward), so no more
 * than a tile of scores exists per thread; buf: threads * ATTN_BUF_REALS(D) reals.
 * The backward OVERWRITES dq, dk, dv. */
#define ATTN_TQ 32
#define ATTN_TK 32
#define ATTN_BUF_REALS(D) (2 * (size_t)ATTN_TQ * ATTN_TK + 2 * (size_t)(D) * ATTN_TK + (size_t)ATTN_TQ * (D) + \
                           2 * (size_t)ATTN_TQ)
void attention_forward(real *out, real *lse, const real *q, const real *k, const real *v, const int *seg, int B,
                       int T, int nh, int nkv, int D, real *buf);
/* Generation's attention: n new queries (row i of sequence seq[i] at position pos[i]) over
 * their sequences' cached keys and values, kc / vc [sequences][T][nkv*D], which hold row i's
 * own key and value already; query i sees positions 0..pos[i]. Each row equals the row
 * attention_forward makes for that position of the whole sequence, bit for bit. */
void attention_cached(real *out, const real *q, const real *kc, const real *vc, const int *seq, const int *pos, int n,
                      int T, int nh, int nkv, int D, real *buf);
void attention_backward(real *dq, real *dk, real *dv, const real *dout, const real *out, const real *lse,
                        const real *q, const real *k, const real *v, const int *seg, int B, int T, int nh, int nkv,
                        int D, real *buf);

/* SwiGLU: out = silu(g) * u. The backward OVERWRITES dg and du; du may alias dout. */
void swiglu_forward(real *out, const real *g, const real *u, size_t n);
void swiglu_backward(real *dg, real *du, const real *dout, const real *g, const real *u, size_t n);

/* Residual add: out = a + b (out may alias a). Its backward is the identity. */
void residual_forward(real *out, const real *a, const real *b, size_t n);

/* LM head fused with log-softmax: for rows with targets[n] >= 0,
 * logp[n] = log softmax(x[n] W^T)[targets[n]], lse[n] its log-sum-exp; other rows get 0.
 * Logits exist only a tile at a time in `chunk` (LMHEAD_CHUNK_REALS(E, V, tile_rows) reals:
 * up to LMHEAD_ROWS gathered rows, their gradient and three per-row sums, then the tile of
 * tile_rows x V logits, LMHEAD_CHUNK <= tile_rows <= LMHEAD_ROWS), so V-wide logits never
 * sit in memory whole. Every forward takes up to LMHEAD_CHUNK (fused: tile_rows) rows by
 * the whole vocabulary, so log-probs do not depend on which pass made them; the separate
 * backward recomputes the logits, up to LMHEAD_ROWS rows by a slice of the vocabulary.
 * Backward: dlogp[n] = dLoss/dlogp[n]; adds into dx and dw. */
#define LMHEAD_CHUNK 256
#define LMHEAD_ROWS 1024
#define LMHEAD_CHUNK_REALS(E, V, tile_rows) \
    ((size_t)LMHEAD_ROWS * (2 * (size_t)(E) + 3) + (size_t)(tile_rows) * (size_t)(V))
void lmhead_logprob_forward(real *logp, real *lse, const real *x, Weight w, const int *targets, int N, int E, int V,
                            real *chunk);
/* dw may be NULL: a frozen head still passes its gradient into dx. */
void lmhead_logprob_backward(real *dx, real *dw, const real *dlogp, const real *x, Weight w, const int *targets,
                             const real *lse, int N, int E, int V, real *chunk);

/* Groups of rows whose dlogp is known only once their own log-probs are: a preference
 * pair's gradient needs the pair's summed log-probs. Group g is positions [bounds[g],
 * bounds[g + 1]), in order, and the groups cover all N rows; grad(ctx, g) is called once
 * logp over the group is final and must fill dlogp over it. */
typedef struct {
    const int *bounds;
    int n;
    void (*grad)(void *ctx, int group);
    void *ctx;
} LmGroups;

/* Forward and backward in one pass, each tile's logits made once: up to tile_rows rows by
 * the whole vocabulary, so each row's log-sum-exp is known before its gradient.
 *  - groups == NULL: dlogp is known before the forward (SFT's loss gradient is -1/count for
 *    every trained token); rows are taken tile_rows at a time.
 *  - otherwise whole groups share a tile, as many as fit; their grad callbacks run between
 *    the tile's forward and backward. A group with more scored rows than tile_rows runs the
 *    forward over its rows, its callback, then the backward (recomputing its logits). */
void lmhead_logprob_fused(real *logp, real *lse, real *dx, real *dw, const real *dlogp, const real *x, Weight w,
                          const int *targets, int N, int E, int V, int tile_rows, real *chunk,
                          const LmGroups *groups);
