/* gemm.c: see gemm.h. The loop nest is the classic one (Goto, BLIS): for each KC-deep slice
 * of K, pack all of A's rows into MR-row panels and a block of B's columns into NR-column
 * panels, then run the micro-kernel over MR x NR tiles of C, whose accumulators stay in
 * registers for the whole slice. */
#include "gemm.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dtype.h"
#include "gguf.h"
#include "quant.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define MR 8
#define NR 32
#define KERNEL "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define MR 6
#define NR 16
#define KERNEL "avx2"
#else
#define MR 4
#define NR 16
#define KERNEL "portable"
#endif

#define KC 256   /* depth of a packed slice: an A panel (MR x KC) stays in L1 */
#define MC 192   /* rows of A packed at once (a multiple of every MR) */
#define NC 2048  /* columns of B packed at once: a KC x NC block stays in L2/L3 */

/* The packing buffers: fixed size (MC x KC and KC x NC floats, 2.2 MB), made once, so a
 * multiply allocates nothing and memory stays bounded whatever the matrix sizes. */
static float *packed_a, *packed_b;

void sgemm_reserve(void) {
    if (packed_a) return;
    packed_a = aligned_alloc(64, sizeof(float) * MC * KC);
    packed_b = aligned_alloc(64, sizeof(float) * (size_t)NC * KC);
    if (!packed_a || !packed_b) die("out of memory for the matrix-multiply buffers");
    memset(packed_a, 0, sizeof(float) * MC * KC); /* touched now, part of the fixed baseline */
    memset(packed_b, 0, sizeof(float) * (size_t)NC * KC);
}

const char *sgemm_kernel_name(void) { return KERNEL; }

/* ---------------------------------------------------------------- micro-kernels */

/* acc[MR][NR] = sum over k of a[k][0..MR) outer b[k][0..NR) (panels are k-major). */
#if defined(__AVX512F__)
static void kernel(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
           c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        __m512 a0 = _mm512_set1_ps(a[0]), a1 = _mm512_set1_ps(a[1]);
        c00 = _mm512_fmadd_ps(a0, b0, c00), c01 = _mm512_fmadd_ps(a0, b1, c01);
        c10 = _mm512_fmadd_ps(a1, b0, c10), c11 = _mm512_fmadd_ps(a1, b1, c11);
        a0 = _mm512_set1_ps(a[2]), a1 = _mm512_set1_ps(a[3]);
        c20 = _mm512_fmadd_ps(a0, b0, c20), c21 = _mm512_fmadd_ps(a0, b1, c21);
        c30 = _mm512_fmadd_ps(a1, b0, c30), c31 = _mm512_fmadd_ps(a1, b1, c31);
        a0 = _mm512_set1_ps(a[4]), a1 = _mm512_set1_ps(a[5]);
        c40 = _mm512_fmadd_ps(a0, b0, c40), c41 = _mm512_fmadd_ps(a0, b1, c41);
        c50 = _mm512_fmadd_ps(a1, b0, c50), c51 = _mm512_fmadd_ps(a1, b1, c51);
        a0 = _mm512_set1_ps(a[6]), a1 = _mm512_set1_ps(a[7]);
        c60 = _mm512_fmadd_ps(a0, b0, c60), c61 = _mm512_fmadd_ps(a0, b1, c61);
        c70 = _mm512_fmadd_ps(a1, b0, c70), c71 = _mm512_fmadd_ps(a1, b1, c71);
        a += MR, b += NR;
    }
    __m512 r[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int i = 0; i < MR; i++) {
        float *row = c + (long)i * ldc;
        if (accumulate) {
            r[i][0] = _mm512_add_ps(r[i][0], _mm512_loadu_ps(row));
            r[i][1] = _mm512_add_ps(r[i][1], _mm512_loadu_ps(row + 16));
        }
        _mm512_storeu_ps(row, r[i][0]);
        _mm512_storeu_ps(row + 16, r[i][1]);
    }
}
#elif defined(__AVX2__) && defined(__FMA__)
static void kernel(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
    __m256 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += MR, b += NR;
    }
    for (int i = 0; i < MR; i++) {
        float *row = c + (long)i * ldc;
        if (accumulate) {
            acc[i][0] = _mm256_add_ps(acc[i][0], _mm256_loadu_ps(row));
            acc[i][1] = _mm256_add_ps(acc[i][1], _mm256_loadu_ps(row + 8));
        }
        _mm256_storeu_ps(row, acc[i][0]);
        _mm256_storeu_ps(row + 8, acc[i][1]);
    }
}
#else
static void kernel(int kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
    float acc[MR][NR] = {{0}};
    for (int k = 0; k < kc; k++, a += MR, b += NR)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++) c[(long)i * ldc + j] = (accumulate ? c[(long)i * ldc + j] : 0) + acc[i][j];
}
#endif

/* ---------------------------------------------------------------- packing */

#if defined(__AVX2__)
/* Transpose eight 8-wide rows in registers: afterwards r[k] holds element k of every row. */
static inline void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]),
           t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]),
           t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]),
           t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    /* u_k holds column k (rows 0-3 of its 4-row half) in its low lane and column k + 4 in its high */
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20), r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20), r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31), r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31), r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* dst[k * ldd + j] = src[j * cs + k] for an 8 x 8 block: eight of B's columns, each 8 floats
 * contiguous along k, become eight 8-wide rows of the panel. */
static inline void transpose8x8(float *dst, long ldd, const float *src, long cs) {
    __m256 r[8];
    for (int j = 0; j < 8; j++) r[j] = _mm256_loadu_ps(src + j * cs);
    transpose8(r);
    for (int k = 0; k < 8; k++) _mm256_store_ps(dst + k * ldd, r[k]);
}
#endif

/* Rows [i0, i0+MR) x depth [p0, p0+kc) of A into an MR-interleaved panel, zero past M. */
static void pack_a(float *dst, const float *A, long rs, long cs, int i0, int M, int p0, int kc) {
    int rows = M - i0 < MR ? M - i0 : MR;
#if defined(__AVX2__) && !defined(__AVX512F__)
    _Static_assert(MR == 6, "the AVX2 panel below is 6 rows");
    if (cs == 1 && rows == MR && kc % 8 == 0) { /* 6 whole rows, 8 depths at a time in registers */
        const float *src = A + (long)i0 * rs + p0;
        for (int k = 0; k < kc; k += 8, dst += 8 * MR) {
            __m256 r[8];
            for (int i = 0; i < MR; i++) r[i] = _mm256_loadu_ps(src + i * rs + k);
            r[6] = r[7] = _mm256_setzero_ps();
            transpose8(r); /* r[kk] = the 6 rows at depth k + kk, then 2 zeros */
            /* each 8-wide store spills 2 zeros into the next depth's slot, which the next
             * store overwrites; the last one stores exactly 6 (nothing past the block) */
            for (int kk = 0; kk < 7; kk++) _mm256_storeu_ps(dst + kk * MR, r[kk]);
            _mm_storeu_ps(dst + 7 * MR, _mm256_castps256_ps128(r[7]));
            _mm_storel_pi((__m64 *)(dst + 7 * MR + 4), _mm256_extractf128_ps(r[7], 1));
        }
        return;
    }
#endif
    if (cs == 1) { /* rows of A are contiguous: read each along its length */
        for (int i = 0; i < MR; i++) {
            const float *src = A + (long)(i0 + i) * rs + p0;
            if (i < rows)
                for (int k = 0; k < kc; k++) dst[(size_t)k * MR + i] = src[k];
            else
                for (int k = 0; k < kc; k++) dst[(size_t)k * MR + i] = 0;
        }
        return;
    }
    for (int k = 0; k < kc; k++, dst += MR) { /* A transposed: its columns are contiguous */
        const float *src = A + (long)(p0 + k) * cs + (long)i0 * rs;
        int i = 0;
        for (; i < rows; i++) dst[i] = src[(long)i * rs];
        for (; i < MR; i++) dst[i] = 0;
    }
}

/* Depth [p0, p0+kc) x columns [j0, j0+NR) of B into an NR-interleaved panel, zero past N. */
static void pack_b(float *dst, const float *B, long rs, long cs, int j0, int N, int p0, int kc) {
    int cols = N - j0 < NR ? N - j0 : NR;
    if (cs == 1 && cols == NR) { /* rows of B are contiguous: copy them (a constant size: inlined) */
        for (int k = 0; k < kc; k++, dst += NR) memcpy(dst, B + (long)(p0 + k) * rs + j0, sizeof(float) * NR);
        return;
    }
    if (cs == 1) {
        for (int k = 0; k < kc; k++, dst += NR) {
            memcpy(dst, B + (long)(p0 + k) * rs + j0, sizeof(float) * (size_t)cols);
            for (int j = cols; j < NR; j++) dst[j] = 0;
        }
        return;
    }
    /* B is a transposed matrix (columns contiguous, as W in x W^T): read each column along
     * its length and scatter into the panel, which is small enough to stay in L1 */
#if defined(__AVX2__)
    if (rs == 1 && cols == NR && kc % 8 == 0) { /* whole 8 x 8 blocks: transposed in registers */
        for (int k = 0; k < kc; k += 8)
            for (int j = 0; j < NR; j += 8) transpose8x8(dst + (size_t)k * NR + j, NR, B + (long)(j0 + j) * cs + p0 + k, cs);
        return;
    }
#endif
    for (int j = 0; j < NR; j++) {
        const float *src = B + (long)(j0 + j) * cs + (long)p0 * rs;
        if (j < cols)
            for (int k = 0; k < kc; k++) dst[(size_t)k * NR + j] = src[(long)k * rs];
        else
            for (int k = 0; k < kc; k++) dst[(size_t)k * NR + j] = 0;
    }
}

/* Panels of a weight matrix W stored in a ggml type (gemm.h's sgemm_w): each panel is
 * dequantized into fp32 first, then packed by the fp32 code above, so the panel equals the
 * one packed from the dequantized matrix, value for value, and so does every product. */
typedef struct {
    uint32_t type;
    const uint8_t *w;
    size_t row_bytes;   /* bytes of one row of W */
    int block, bytes;   /* elements and bytes of one block of the type */
    int trans;          /* 1: B(k, j) = W[j][k] (x W^T); 0: B(k, j) = W[k][j] (dy W) */
} TypedB;

/* Elements [i0, i0 + n) of row r of W into fp32 (i0 and n whole blocks). */
static inline void typed_row(const TypedB *t, long r, long i0, int n, float *dst) {
    dequantize_row(t->type, t->w + (size_t)r * t->row_bytes + (size_t)(i0 / t->block) * (size_t)t->bytes, dst, n);
}

/* B = W^T: panel columns are rows of W; dequantize the panel's rows over [p0, p0 + kc) and
 * pack them as the transposed fp32 matrix they now are. */
static void pack_b_typed_trans(float *dst, const TypedB *t, int j0, int N, int p0, int kc) {
    float rows[NR * KC] __attribute__((aligned(64)));
    int cols = N - j0 < NR ? N - j0 : NR;
    for (int j = 0; j < cols; j++) typed_row(t, j0 + j, p0, kc, rows + (size_t)j * KC);
    pack_b(dst, rows, 1, KC, 0, cols, 0, kc);
}

/* B = W: row k of the block is row p0 + k of W over columns [j0, j0 + nc): dequantize it
 * once and hand NR-wide pieces to every panel. */
static void pack_b_typed_row(float *dst, const TypedB *t, int k, int kc, int j0, int nc, int p0) {
    float row[NC] __attribute__((aligned(64)));
    typed_row(t, p0 + k, j0, nc, row);
    for (int jp = 0; jp * NR < nc; jp++) {
        float *d = dst + (size_t)jp * NR * kc + (size_t)k * NR;
        int cols = nc - jp * NR < NR ? nc - jp * NR : NR;
        memcpy(d, row + (size_t)jp * NR, sizeof(float) * (size_t)cols);
        for (int j = cols; j < NR; j++) d[j] = 0;
    }
}

/* ---------------------------------------------------------------- bf16 products (--dtype bf16) */

static GemmDtype dtype = GEMM_F32;
static int bf16_forced_portable;

void gemm_set_dtype(GemmDtype d) { dtype = d; }
GemmDtype gemm_get_dtype(void) { return dtype; }
void gemm_bf16_portable(int on) { bf16_forced_portable = on; }
float round_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

static void round_panel(float *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = round_bf16(p[i]);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define BF16_KERNEL
#endif

#ifdef BF16_KERNEL
static int bf16_kernel_on(void) {
    static int has = -1;
    if (has < 0) has = __builtin_cpu_supports("avx512bf16");
    return has && !bf16_forced_portable;
}
const char *gemm_bf16_kernel_name(void) { return bf16_kernel_on() ? "avx512bf16" : "portable"; }
#else
const char *gemm_bf16_kernel_name(void) { return "portable"; }
#endif

#ifdef BF16_KERNEL
#include <immintrin.h>
/* vdpbf16ps multiplies bf16 pairs along K: lane j of acc += a.lo * b.lo + a.hi * b.hi. So the
 * panels hold pairs (A(i, 2q), A(i, 2q + 1)) and (B(2q, j), B(2q + 1, j)) as one 32-bit word,
 * low half the even depth: A's panel [q][BMR] words, B's [q][BNR], zero past the edges (a zero
 * pair adds nothing). A slice is BKC deep, twice the fp32 one, so the bf16 panels fill the
 * fp32 ones' buffers exactly: no memory beyond theirs. */
#define BMR 8
#define BNR 32
#define BKC (2 * KC)
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

static inline uint32_t pair_bf16(float lo, float hi) {
    return (uint32_t)f32_to_bf16(lo) | (uint32_t)f32_to_bf16(hi) << 16;
}

/* The micro-kernel: acc[BMR][BNR] over kp pairs, accumulators in 16 registers. */
BF16_TARGET static void kernel_bf16(int kp, const uint32_t *a, const uint32_t *b, float *c, long ldc, int accumulate) {
    __m512 acc[BMR][2];
    for (int i = 0; i < BMR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int q = 0; q < kp; q++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(b), b1 = (__m512bh)_mm512_load_si512(b + 16);
        for (int i = 0; i < BMR; i++) {
            __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
        a += BMR, b += BNR;
    }
    for (int i = 0; i < BMR; i++) {
        float *row = c + (long)i * ldc;
        if (accumulate) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_loadu_ps(row));
            acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_loadu_ps(row + 16));
        }
        _mm512_storeu_ps(row, acc[i][0]);
        _mm512_storeu_ps(row + 16, acc[i][1]);
    }
}

/* 16 fp32 of each of two depths rounded and paired: word j = (lo[j], hi[j]). */
BF16_TARGET static inline __m512i pairs_from_f32(const float *lo, const float *hi) {
    __m512i l = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(lo)));
    __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(hi)));
    return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

/* The same from 16 bf16 of each depth, as stored: no rounding, no widening. */
BF16_TARGET static inline __m512i pairs_from_bf16(const uint16_t *lo, const uint16_t *hi) {
    __m512i l = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)lo));
    __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)hi));
    return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

/* Transpose 16 x 16 words: afterwards r[k] holds word k of every input row. */
BF16_TARGET static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_unpacklo_epi64(t[i], t[i + 2]);
        r[i + 1] = _mm512_unpackhi_epi64(t[i], t[i + 2]);
        r[i + 2] = _mm512_unpacklo_epi64(t[i + 1], t[i + 3]);
        r[i + 3] = _mm512_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    /* each 128-bit lane now holds a 4 x 4 block transposed; move the blocks into place */
    for (int i = 0; i < 4; i++) {
        t[i] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0x88);
        t[i + 4] = _mm512_shuffle_i32x4(r[i], r[i + 4], 0xdd);
        t[i + 8] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0x88);
        t[i + 12] = _mm512_shuffle_i32x4(r[i + 8], r[i + 12], 0xdd);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0x88);
        r[i + 8] = _mm512_shuffle_i32x4(t[i], t[i + 8], 0xdd);
        r[i + 4] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0x88);
        r[i + 12] = _mm512_shuffle_i32x4(t[i + 4], t[i + 12], 0xdd);
    }
}

/* A's rows [i0, i0 + BMR) x depths [p0, p0 + kc) as pairs, rounded; zero past M and kc. */
BF16_TARGET static void pack_a_bf16(uint32_t *dst, const float *A, long rs, long cs, int i0, int M, int p0, int kc) {
    int rows = M - i0 < BMR ? M - i0 : BMR, kp = (kc + 1) / 2, q = 0;
    if (rs == 1 && rows == BMR) { /* A transposed: each depth's BMR rows are contiguous */
        for (; 2 * q + 1 < kc; q++) {
            const float *lo = A + (long)(p0 + 2 * q) * cs + i0, *hi = lo + cs;
            __m128i l = (__m128i)_mm256_cvtneps_pbh(_mm256_loadu_ps(lo)), h = (__m128i)_mm256_cvtneps_pbh(_mm256_loadu_ps(hi));
            _mm_storeu_si128((__m128i *)(dst + (size_t)q * BMR), _mm_unpacklo_epi16(l, h));
            _mm_storeu_si128((__m128i *)(dst + (size_t)q * BMR + 4), _mm_unpackhi_epi16(l, h));
        }
    }
    if (cs == 1 && rows == BMR) { /* rows along k: 32 depths of each row, transposed in registers */
        for (; q + 16 <= kc / 2; q += 16) {
            __m512i r[16];
            for (int i = 0; i < BMR; i++) {
                const float *src = A + (long)(i0 + i) * rs + p0 + 2 * q;
                r[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + 16), _mm512_loadu_ps(src));
            }
            for (int i = BMR; i < 16; i++) r[i] = _mm512_setzero_si512();
            transpose16(r); /* r[k]: pair q + k of the BMR rows, in the low half */
            for (int k = 0; k < 16; k++) _mm256_storeu_si256((__m256i *)(dst + (size_t)(q + k) * BMR), _mm512_castsi512_si256(r[k]));
        }
    }
    for (int i = 0; i < BMR; i++) { /* what is left: the edges, other strides */
        const float *src = A + (long)(i0 + i) * rs + (long)p0 * cs;
        for (int k = q; k < kp; k++) {
            float lo = i < rows ? src[(long)(2 * k) * cs] : 0, hi = i < rows && 2 * k + 1 < kc ? src[(long)(2 * k + 1) * cs] : 0;
            dst[(size_t)k * BMR + i] = pair_bf16(lo, hi);
        }
    }
}

/* B's depths [p0, p0 + kc) x columns [j0, j0 + BNR) as pairs into dst [kp][BNR]. Sources:
 * fp32 through strides (B32), or the typed W (a BF16 W read as stored; other types
 * dequantized into fp32 first, as the fp32 path does). */
BF16_TARGET static void pack_b_bf16(uint32_t *dst, const float *B32, long rs, long cs, const TypedB *W, int j0, int N,
                                    int p0, int kc) {
    int cols = N - j0 < BNR ? N - j0 : BNR, kp = (kc + 1) / 2;
    float tmp[BNR * BKC] __attribute__((aligned(64))); /* dequantized rows of a typed W */
    if (W && W->type != GGML_BF16) { /* W^T of another type: dequantize, then pack as fp32
                                      * (W itself goes through pack_b_bf16_typed_rows) */
        for (int j = 0; j < cols; j++) typed_row(W, j0 + j, p0, kc, tmp + (size_t)j * BKC);
        B32 = tmp, rs = 1, cs = BKC, j0 = 0, p0 = 0, N = cols, W = NULL;
    }
    const uint16_t *W16 = W ? (const uint16_t *)W->w : NULL;
    long wr = W ? (long)(W->row_bytes / 2) : 0; /* a BF16 W's row length in elements */
    int q = 0;
    if (cols == BNR) {
        if (W16 && !W->trans) { /* B(k, j) = W[k][j]: two rows of W make 16 pairs at a time */
            for (; 2 * q + 1 < kc; q++)
                for (int j = 0; j < BNR; j += 16) {
                    const uint16_t *lo = W16 + (long)(p0 + 2 * q) * wr + j0 + j;
                    _mm512_store_si512(dst + (size_t)q * BNR + j, pairs_from_bf16(lo, lo + wr));
                }
        } else if (!W16 && cs == 1) { /* rows of B contiguous along j */
            for (; 2 * q + 1 < kc; q++)
                for (int j = 0; j < BNR; j += 16) {
                    const float *lo = B32 + (long)(p0 + 2 * q) * rs + j0 + j;
                    _mm512_store_si512(dst + (size_t)q * BNR + j, pairs_from_f32(lo, lo + rs));
                }
        } else if (W16 || rs == 1) { /* columns contiguous along k (x W^T): pairs are adjacent
                                      * in a column; 16 columns x 16 pairs transposed at a time */
            for (; q + 16 <= kc / 2; q += 16)
                for (int j = 0; j < BNR; j += 16) {
                    __m512i r[16];
                    for (int jj = 0; jj < 16; jj++) {
                        if (W16) {
                            r[jj] = _mm512_loadu_si512(W16 + (long)(j0 + j + jj) * wr + p0 + 2 * q);
                        } else {
                            const float *src = B32 + (long)(j0 + j + jj) * cs + p0 + 2 * q;
                            __m256i lo = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src));
                            __m256i hi = (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + 16));
                            r[jj] = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
                        }
                    }
                    transpose16(r);
                    for (int k = 0; k < 16; k++) _mm512_store_si512(dst + (size_t)(q + k) * BNR + j, r[k]);
                }
        }
    }
    for (int k = q; k < kp; k++) /* what is left: the edges, other strides */
        for (int j = 0; j < BNR; j++) {
            float lo = 0, hi = 0;
            if (j < cols) {
                if (W16) {
                    long at0 = W->trans ? (long)(j0 + j) * wr + p0 + 2 * k : (long)(p0 + 2 * k) * wr + j0 + j;
                    long step = W->trans ? 1 : wr;
                    lo = bf16_to_f32(W16[at0]);
                    hi = 2 * k + 1 < kc ? bf16_to_f32(W16[at0 + step]) : 0;
                } else {
                    lo = B32[(long)(p0 + 2 * k) * rs + (long)(j0 + j) * cs];
                    hi = 2 * k + 1 < kc ? B32[(long)(p0 + 2 * k + 1) * rs + (long)(j0 + j) * cs] : 0;
                }
            }
            dst[(size_t)k * BNR + j] = pair_bf16(lo, hi);
        }
}

/* B = W of a type other than BF16 (dy W for a frozen quantized or F16 base): pair q of the
 * block is rows p0 + 2q and p0 + 2q + 1 of W over columns [j0, j0 + nc); dequantize both once
 * and hand BNR-wide pieces to every panel. */
static void pack_b_bf16_typed_rows(uint32_t *dst, const TypedB *W, int q, int kp, int kc, int j0, int nc, int p0) {
    float lo[NC] __attribute__((aligned(64))), hi[NC] __attribute__((aligned(64)));
    typed_row(W, p0 + 2 * q, j0, nc, lo);
    if (2 * q + 1 < kc) typed_row(W, p0 + 2 * q + 1, j0, nc, hi);
    else memset(hi, 0, sizeof(float) * (size_t)nc);
    for (int jp = 0; jp * BNR < nc; jp++) {
        uint32_t *d = dst + (size_t)jp * BNR * kp + (size_t)q * BNR;
        for (int j = 0; j < BNR; j++) {
            int c = jp * BNR + j;
            d[j] = c < nc ? pair_bf16(lo[c], hi[c]) : 0;
        }
    }
}

/* The loop nest of gemm() below with bf16 panels and the vdpbf16ps kernel. */
BF16_TARGET static void gemm_bf16(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B32,
                                  const TypedB *W, long b_rs, long b_cs, float *C, long ldc, int accumulate) {
    uint32_t *Ap = (uint32_t *)packed_a, *Bp = (uint32_t *)packed_b;
    for (int p0 = 0; p0 < K; p0 += BKC) {
        int kc = K - p0 < BKC ? K - p0 : BKC, kp = (kc + 1) / 2, acc = accumulate || p0 > 0;
        for (int j0 = 0; j0 < N; j0 += NC) {
            int nc = N - j0 < NC ? N - j0 : NC, np = (nc + BNR - 1) / BNR;
            if (W && !W->trans && W->type != GGML_BF16) {
#pragma omp parallel for schedule(static)
                for (int q = 0; q < kp; q++) pack_b_bf16_typed_rows(Bp, W, q, kp, kc, j0, nc, p0);
            } else {
#pragma omp parallel for schedule(static)
                for (int jp = 0; jp < np; jp++)
                    pack_b_bf16(Bp + (size_t)jp * BNR * kp, B32, b_rs, b_cs, W, j0 + jp * BNR, N, p0, kc);
            }
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC, mp = (mc + BMR - 1) / BMR;
#pragma omp parallel for schedule(static)
                for (int ip = 0; ip < mp; ip++) pack_a_bf16(Ap + (size_t)ip * BMR * kp, A, a_rs, a_cs, i0 + ip * BMR, M, p0, kc);
#pragma omp parallel for collapse(2) schedule(static)
                for (int ip = 0; ip < mp; ip++)
                    for (int jp = 0; jp < np; jp++) {
                        int i = i0 + ip * BMR, j = j0 + jp * BNR;
                        const uint32_t *a = Ap + (size_t)ip * BMR * kp, *b = Bp + (size_t)jp * BNR * kp;
                        if (i + BMR <= M && j + BNR <= N) {
                            kernel_bf16(kp, a, b, C + (long)i * ldc + j, ldc, acc);
                        } else {
                            float tile[BMR * BNR] __attribute__((aligned(64)));
                            int rows = M - i < BMR ? M - i : BMR, cols = N - j < BNR ? N - j : BNR;
                            for (int r = 0; r < rows; r++)
                                for (int c = 0; c < cols; c++) tile[r * BNR + c] = acc ? C[(long)(i + r) * ldc + j + c] : 0;
                            kernel_bf16(kp, a, b, tile, BNR, 1);
                            for (int r = 0; r < rows; r++)
                                for (int c = 0; c < cols; c++) C[(long)(i + r) * ldc + j + c] = tile[r * BNR + c];
                        }
                    }
            }
        }
    }
}
#endif

/* ---------------------------------------------------------------- the loop nest */

/* B is read from B32 (fp32, through b_rs and b_cs) or, when that is NULL, from the typed W. */
static void gemm(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B32, const TypedB *W,
                 long b_rs, long b_cs, float *C, long ldc, int accumulate) {
    if (M <= 0 || N <= 0) return;
    if (K <= 0) {
        if (!accumulate)
            for (int i = 0; i < M; i++) memset(C + (long)i * ldc, 0, sizeof(float) * (size_t)N);
        return;
    }
    sgemm_reserve();
#ifdef BF16_KERNEL
    if (dtype == GEMM_BF16 && bf16_kernel_on()) {
        gemm_bf16(M, N, K, A, a_rs, a_cs, B32, W, b_rs, b_cs, C, ldc, accumulate);
        return;
    }
#endif
    /* --dtype bf16 without the instruction: the same products, of the rounded values, by the
     * fp32 kernel (a BF16 weight widens exactly: nothing to round) */
    int bf16 = dtype == GEMM_BF16, round_b = bf16 && (B32 || W->type != GGML_BF16);
    float *Ap = packed_a, *Bp = packed_b;
    for (int p0 = 0; p0 < K; p0 += KC) {
        int kc = K - p0 < KC ? K - p0 : KC, acc = accumulate || p0 > 0;
        for (int j0 = 0; j0 < N; j0 += NC) {
            int nc = N - j0 < NC ? N - j0 : NC, np = (nc + NR - 1) / NR;
            if (B32 || W->trans) {
#pragma omp parallel for schedule(static)
                for (int jp = 0; jp < np; jp++) {
                    float *panel = Bp + (size_t)jp * NR * kc;
                    if (B32) pack_b(panel, B32, b_rs, b_cs, j0 + jp * NR, N, p0, kc);
                    else pack_b_typed_trans(panel, W, j0 + jp * NR, N, p0, kc);
                    if (round_b) round_panel(panel, (size_t)NR * kc);
                }
            } else { /* rows of a typed W: one dequantization per row of the block */
#pragma omp parallel for schedule(static)
                for (int k = 0; k < kc; k++) pack_b_typed_row(Bp, W, k, kc, j0, nc, p0);
                if (round_b) round_panel(Bp, (size_t)np * NR * kc);
            }
            for (int i0 = 0; i0 < M; i0 += MC) {
                int mc = M - i0 < MC ? M - i0 : MC, mp = (mc + MR - 1) / MR;
#pragma omp parallel for schedule(static)
                for (int ip = 0; ip < mp; ip++) {
                    pack_a(Ap + (size_t)ip * MR * kc, A, a_rs, a_cs, i0 + ip * MR, M, p0, kc);
                    if (bf16) round_panel(Ap + (size_t)ip * MR * kc, (size_t)MR * kc);
                }
                /* tiles of C, MR x NR each, split among the threads */
#pragma omp parallel for collapse(2) schedule(static)
                for (int ip = 0; ip < mp; ip++)
                    for (int jp = 0; jp < np; jp++) {
                        int i = i0 + ip * MR, j = j0 + jp * NR;
                        const float *a = Ap + (size_t)ip * MR * kc, *b = Bp + (size_t)jp * NR * kc;
                        if (i + MR <= M && j + NR <= N) {
                            kernel(kc, a, b, C + (long)i * ldc + j, ldc, acc);
                        } else { /* an edge tile: through a full-size buffer */
                            float tile[MR * NR] __attribute__((aligned(64)));
                            int rows = M - i < MR ? M - i : MR, cols = N - j < NR ? N - j : NR;
                            for (int r = 0; r < rows; r++)
                                for (int q = 0; q < cols; q++) tile[r * NR + q] = acc ? C[(long)(i + r) * ldc + j + q] : 0;
                            kernel(kc, a, b, tile, NR, 1);
                            for (int r = 0; r < rows; r++)
                                for (int q = 0; q < cols; q++) C[(long)(i + r) * ldc + j + q] = tile[r * NR + q];
                        }
                    }
            }
        }
    }
}

void sgemm(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs, float *C,
           long ldc, int accumulate) {
    gemm(M, N, K, A, a_rs, a_cs, B, NULL, b_rs, b_cs, C, ldc, accumulate);
}

void sgemm_w(int M, int N, int K, const float *A, long a_rs, long a_cs, uint32_t type, const void *W, int trans,
             float *C, long ldc, int accumulate) {
    if (type == GGML_F32) { /* fp32 weights are an fp32 matrix: read through strides */
        if (trans) gemm(M, N, K, A, a_rs, a_cs, W, NULL, 1, K, C, ldc, accumulate);
        else gemm(M, N, K, A, a_rs, a_cs, W, NULL, N, 1, C, ldc, accumulate);
        return;
    }
    const GgmlTypeInfo *ti = ggml_type_info(type);
    int row_len = trans ? K : N;
    if (!ti->readable || row_len % ti->block) die("internal: sgemm_w on type %u rows of %d", type, row_len);
    TypedB t = {type, W, (size_t)(row_len / ti->block) * (size_t)ti->bytes, ti->block, ti->bytes, trans};
    gemm(M, N, K, A, a_rs, a_cs, NULL, &t, 0, 0, C, ldc, accumulate);
}

void sgemm_reference(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs,
                     float *C, long ldc, int accumulate) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)A[(long)i * a_rs + (long)k * a_cs] * B[(long)k * b_rs + (long)j * b_cs];
            C[(long)i * ldc + j] = (float)((accumulate ? C[(long)i * ldc + j] : 0) + s);
        }
}
