/* quant.c: dequantization of every block type the loader reads, and the encoders the GGUF
 * writer needs. Formulas from FORMATS.md section 2; the float operations keep ggml's order
 * (d * scale first, then times q, then minus dmin * min) so results are bit-exact. */
#include "quant.h"

#include <math.h>
#include <string.h>
#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#endif

#include "common.h"
#include "dtype.h"
#include "gguf.h"

static inline float half_at(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2); /* fp16 fields may be only 2-byte aligned */
    return f16_to_f32(h);
}

/* ---- 32-element blocks */

static void deq_q8_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    for (int j = 0; j < 32; j++) y[j] = d * (float)(int8_t)b[2 + j];
}

static void deq_q4_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)((qs[j] & 0xf) - 8);
        y[j + 16] = d * (float)((qs[j] >> 4) - 8);
    }
}

static void deq_q4_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    const uint8_t *qs = b + 4;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)(qs[j] & 0xf) + m;
        y[j + 16] = d * (float)(qs[j] >> 4) + m;
    }
}

static void deq_q5_0(const uint8_t *b, float *y) {
    float d = half_at(b);
    uint32_t h;
    memcpy(&h, b + 2, 4);
    const uint8_t *qs = b + 6;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0xf) | (int)(((h >> j) & 1u) << 4);
        int hi = (qs[j] >> 4) | (int)(((h >> (j + 16)) & 1u) << 4);
        y[j] = d * (float)(lo - 16);
        y[j + 16] = d * (float)(hi - 16);
    }
}

static void deq_q5_1(const uint8_t *b, float *y) {
    float d = half_at(b), m = half_at(b + 2);
    uint32_t h;
    memcpy(&h, b + 4, 4);
    const uint8_t *qs = b + 8;
    for (int j = 0; j < 16; j++) {
        int lo = (qs[j] & 0xf) | (int)(((h >> j) & 1u) << 4);
        int hi = (qs[j] >> 4) | (int)(((h >> (j + 16)) & 1u) << 4);
        y[j] = d * (float)lo + m;
        y[j + 16] = d * (float)hi + m;
    }
}

static void deq_iq4_nl(const uint8_t *b, float *y) {
    static const int8_t K[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    float d = half_at(b);
    const uint8_t *qs = b + 2;
    for (int j = 0; j < 16; j++) {
        y[j] = d * (float)K[qs[j] & 0xf];
        y[j + 16] = d * (float)K[qs[j] >> 4];
    }
}

/* ---- 256-element super-blocks */

/* The 6-bit scale and min of sub-block j (0..7) packed in 12 bytes (Q4_K, Q5_K). */
static void scale_min_k4(int j, const uint8_t *s, int *sc, int *mn) {
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 0xf) | ((s[j - 4] >> 6) << 4);
        *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

static void deq_q4_k(const uint8_t *b, float *y) {
    float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t *scales = b + 4, *qs = b + 16;
    for (int c = 0; c < 4; c++) { /* group c: sub-block 2c in low nibbles, 2c+1 in high */
        int sc, mn;
        scale_min_k4(2 * c, scales, &sc, &mn);
        float d1 = d * (float)sc, m1 = dmin * (float)mn;
        scale_min_k4(2 * c + 1, scales, &sc, &mn);
        float d2 = d * (float)sc, m2 = dmin * (float)mn;
        const uint8_t *q = qs + 32 * c;
        for (int l = 0; l < 32; l++) y[64 * c + l] = d1 * (float)(q[l] & 0xf) - m1;
        for (int l = 0; l < 32; l++) y[64 * c + 32 + l] = d2 * (float)(q[l] >> 4) - m2;
    }
}

static void deq_q5_k(const uint8_t *b, float *y) {
    float d = half_at(b), dmin = half_at(b + 2);
    const uint8_t *scales = b + 4, *qh = b + 16, *qs = b + 48;
    for (int c = 0; c < 4; c++) {
        int sc, mn;
        scale_min_k4(2 * c, scales, &sc, &mn);
        float d1 = d * (float)sc, m1 = dmin * (float)mn;
        scale_min_k4(2 * c + 1, scales, &sc, &mn);
        float d2 = d * (float)sc, m2 = dmin * (float)mn;
        const uint8_t *q = qs + 32 * c;
        for (int l = 0; l < 32; l++) {
            int lo = (q[l] & 0xf) + (((qh[l] >> (2 * c)) & 1) << 4);
            int hi = (q[l] >> 4) + (((qh[l] >> (2 * c + 1)) & 1) << 4);
            y[64 * c + l] = d1 * (float)lo - m1;
            y[64 * c + 32 + l] = d2 * (float)hi - m2;
        }
    }
}

static void deq_q6_k(const uint8_t *b, float *y) {
    const uint8_t *ql = b, *qh = b + 128;
    const int8_t *sc = (const int8_t *)(b + 192);
    float d = half_at(b + 208); /* d is last in Q6_K */
    for (int n = 0; n < 2; n++) {
        const uint8_t *L = ql + 64 * n, *H = qh + 32 * n;
        const int8_t *S = sc + 8 * n;
        float *out = y + 128 * n;
        for (int l = 0; l < 32; l++) {
            int i = l / 16;
            int q1 = (int)((L[l] & 0xf) | (((H[l] >> 0) & 3) << 4)) - 32;
            int q2 = (int)((L[l + 32] & 0xf) | (((H[l] >> 2) & 3) << 4)) - 32;
            int q3 = (int)((L[l] >> 4) | (((H[l] >> 4) & 3) << 4)) - 32;
            int q4 = (int)((L[l + 32] >> 4) | (((H[l] >> 6) & 3) << 4)) - 32;
            out[l] = d * (float)S[i + 0] * (float)q1;
            out[l + 32] = d * (float)S[i + 2] * (float)q2;
            out[l + 64] = d * (float)S[i + 4] * (float)q3;
            out[l + 96] = d * (float)S[i + 6] * (float)q4;
        }
    }
}

void dequantize_row(uint32_t type, const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    const GgmlTypeInfo *ti = ggml_type_info(type);
    void (*block)(const uint8_t *, float *) = NULL;
    switch (type) {
    case GGML_F32: memcpy(dst, src, (size_t)n * 4); return;
    case GGML_F16: {
        int64_t i = 0;
#if defined(__F16C__) && defined(__AVX__)
        for (; i + 8 <= n; i += 8) /* vcvtph2ps: exact, subnormals included */
            _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i))));
#endif
        for (; i < n; i++) dst[i] = half_at(p + 2 * i);
        return;
    }
    case GGML_BF16:
        for (int64_t i = 0; i < n; i++) { /* a shift: the loop vectorizes */
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            uint32_t bits = (uint32_t)h << 16;
            memcpy(dst + i, &bits, 4);
        }
        return;
    case GGML_Q8_0: block = deq_q8_0; break;
    case GGML_Q4_0: block = deq_q4_0; break;
    case GGML_Q4_1: block = deq_q4_1; break;
    case GGML_Q5_0: block = deq_q5_0; break;
    case GGML_Q5_1: block = deq_q5_1; break;
    case GGML_IQ4_NL: block = deq_iq4_nl; break;
    case GGML_Q4_K: block = deq_q4_k; break;
    case GGML_Q5_K: block = deq_q5_k; break;
    case GGML_Q6_K: block = deq_q6_k; break;
    default: die("internal: dequantize_row of type %u", type);
    }
    for (int64_t b = 0; b < n / ti->block; b++) block(p + b * ti->bytes, dst + b * ti->block);
}

void quantize_row(uint32_t type, const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    switch (type) {
    case GGML_F32: memcpy(dst, src, (size_t)n * 4); return;
    case GGML_F16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = f32_to_f16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        return;
    case GGML_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = f32_to_bf16(src[i]);
            memcpy(p + 2 * i, &h, 2);
        }
        return;
    case GGML_Q8_0:
        for (int64_t b = 0; b < n / 32; b++) {
            const float *x = src + 32 * b;
            uint8_t *blk = p + 34 * b;
            float amax = 0;
            for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
            float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
            uint16_t h = f32_to_f16(d);
            memcpy(blk, &h, 2);
            for (int j = 0; j < 32; j++) blk[2 + j] = (uint8_t)(int8_t)roundf(x[j] * id);
        }
        return;
    default: die("internal: quantize_row of type %u", type);
    }
}
