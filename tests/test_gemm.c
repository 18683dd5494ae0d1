/* sgemm against the plain triple loop (in double), for every combination of transposed
 * operands, shapes that are not multiples of the tiles, K across several packed slices,
 * and both accumulate modes. Relative error must stay below 1e-5. sgemm_w (a weight matrix
 * in a ggml type: bf16 here, then every block type below) must equal sgemm on the
 * dequantized matrix bit for bit, since it packs exactly those values.
 *
 * --dtype bf16 (gemm_set_dtype): both bf16 paths, the AVX512_BF16 kernel (where the CPU has it,
 * else a SKIP line) and the portable one (fp32 FMA on the rounded values), against the triple
 * loop on inputs rounded to bf16 first, and against each other, on the same shapes, on fp32
 * and typed B: relative error below 1e-5 (the products of bf16 values are exact in fp32; only
 * the order of the additions differs). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "gemm.h"
#include "gguf.h"
#include "quant.h"

static float urand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffffff) / 8388608.0f - 1.0f;
}

/* Random valid blocks of `type`: random quant bits, fp16 scale fields set to small finite
 * values (random bits there could be NaN or infinity). */
static void random_blocks(uint32_t type, uint8_t *dst, size_t n_blocks, unsigned *seed) {
    const GgmlTypeInfo *ti = ggml_type_info(type);
    for (size_t i = 0; i < n_blocks * (size_t)ti->bytes; i++) dst[i] = (uint8_t)(urand(seed) * 128 + 128);
    for (size_t b = 0; b < n_blocks; b++) {
        uint8_t *blk = dst + b * (size_t)ti->bytes;
        int at[2] = {0, -1}; /* where the block's fp16 scale (and min) live */
        if (type == GGML_Q4_1 || type == GGML_Q5_1 || type == GGML_Q4_K || type == GGML_Q5_K) at[1] = 2;
        if (type == GGML_Q6_K) at[0] = 208;
        if (type == GGML_F32 || type == GGML_F16 || type == GGML_BF16) continue;
        for (int j = 0; j < 2; j++) {
            if (at[j] < 0) continue;
            uint16_t h = f32_to_f16(urand(seed) * 0.01f);
            memcpy(blk + at[j], &h, 2);
        }
    }
    if (type == GGML_F16) /* finite halves: random bits with the exponent kept below the top */
        for (size_t i = 0; i < n_blocks; i++) {
            uint16_t h = f32_to_f16(urand(seed));
            memcpy(dst + 2 * i, &h, 2);
        }
    if (type == GGML_F32)
        for (size_t i = 0; i < n_blocks; i++) {
            float f = urand(seed);
            memcpy(dst + 4 * i, &f, 4);
        }
    if (type == GGML_BF16)
        for (size_t i = 0; i < n_blocks; i++) {
            uint16_t h = f32_to_bf16(urand(seed));
            memcpy(dst + 2 * i, &h, 2);
        }
}

/* The triple loop on A and B rounded to bf16, against gemm_set_dtype(GEMM_BF16) on the
 * unrounded ones, through each bf16 path; W (typed, NULL: B is fp32) replaces B. */
static double bf16_error(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs,
                         long b_cs, uint32_t type, const void *W, int trans, const float *C0, long ldc, int accum) {
    size_t na = (size_t)M * K, nb = (size_t)K * N;
    float *Ar = malloc(sizeof(float) * na), *Br = malloc(sizeof(float) * nb);
    float *C = malloc(sizeof(float) * (size_t)M * ldc), *R = malloc(sizeof(float) * (size_t)M * ldc);
    for (size_t i = 0; i < na; i++) Ar[i] = round_bf16(A[i]);
    for (size_t i = 0; i < nb; i++) Br[i] = round_bf16(B[i]); /* B: the typed W dequantized, as laid out */
    memcpy(C, C0, sizeof(float) * (size_t)M * ldc), memcpy(R, C0, sizeof(float) * (size_t)M * ldc);
    sgemm_reference(M, N, K, Ar, a_rs, a_cs, Br, b_rs, b_cs, R, ldc, accum);
    gemm_set_dtype(GEMM_BF16);
    if (W) sgemm_w(M, N, K, A, a_rs, a_cs, type, W, trans, C, ldc, accum);
    else sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accum);
    gemm_set_dtype(GEMM_F32);
    double err = 0, scale = 1e-6;
    for (long i = 0; i < (long)M * ldc; i++) err = fmax(err, fabs(C[i] - R[i])), scale = fmax(scale, fabs(R[i]));
    free(Ar), free(Br), free(C), free(R);
    return err / scale;
}

/* bf16_error through both paths; a FAIL line per path over 1e-5 (one PASS line per case). */
static int check_bf16(const char *what, int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B,
                      long b_rs, long b_cs, uint32_t type, const void *W, int trans, const float *C0, long ldc,
                      int accum) {
    gemm_bf16_portable(1);
    double portable = bf16_error(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, type, W, trans, C0, ldc, accum);
    gemm_bf16_portable(0);
    int fast = strcmp(gemm_bf16_kernel_name(), "avx512bf16") == 0;
    double kernel = fast ? bf16_error(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, type, W, trans, C0, ldc, accum) : 0;
    int ok = portable < 1e-5 && kernel < 1e-5;
    printf("%s: bf16 %s %dx%dx%d, %s: relative error against the triple loop on rounded inputs: portable %.1e%s",
           ok ? "PASS" : "FAIL", what, M, N, K, accum ? "accumulate" : "overwrite", portable, fast ? ", " : "\n");
    if (fast) printf("avx512bf16 %.1e\n", kernel);
    return !ok;
}

/* C = A W^T (trans) or A W for W [rows, cols] in `type`, against sgemm on the dequantized W. */
static int check_typed(uint32_t type, int M, int rows, int cols, int trans, unsigned *seed) {
    const GgmlTypeInfo *ti = ggml_type_info(type);
    size_t row_bytes = (size_t)(cols / ti->block) * (size_t)ti->bytes;
    uint8_t *W = malloc(row_bytes * (size_t)rows);
    random_blocks(type, W, (size_t)rows * (size_t)(cols / ti->block), seed);
    float *Wf = malloc(sizeof(float) * (size_t)rows * cols);
    for (int r = 0; r < rows; r++) dequantize_row(type, W + (size_t)r * row_bytes, Wf + (size_t)r * cols, cols);
    int K = trans ? cols : rows, N = trans ? rows : cols;
    float *A = malloc(sizeof(float) * (size_t)M * K), *C = malloc(sizeof(float) * (size_t)M * N),
          *R = malloc(sizeof(float) * (size_t)M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = urand(seed);
    for (long i = 0; i < (long)M * N; i++) C[i] = R[i] = urand(seed);
    sgemm_w(M, N, K, A, K, 1, type, W, trans, C, N, 1);
    if (trans) sgemm(M, N, K, A, K, 1, Wf, 1, K, R, N, 1);
    else sgemm(M, N, K, A, K, 1, Wf, N, 1, R, N, 1);
    long differ = 0;
    for (long i = 0; i < (long)M * N; i++) differ += C[i] != R[i];
    printf("%s: sgemm_w %s W [%d, %d], A [%d, %d] x W%s: %ld of %ld elements differ from sgemm on the dequantized W\n",
           differ ? "FAIL" : "PASS", ti->name, rows, cols, M, K, trans ? "^T" : "", differ, (long)M * N);
    char what[64];
    snprintf(what, sizeof what, "a %s W%s", ti->name, trans ? "^T" : "");
    for (long i = 0; i < (long)M * N; i++) R[i] = urand(seed);
    if (trans) differ += check_bf16(what, M, N, K, A, K, 1, Wf, 1, K, type, W, 1, R, N, 1);
    else differ += check_bf16(what, M, N, K, A, K, 1, Wf, N, 1, type, W, 0, R, N, 1);
    free(W), free(Wf), free(A), free(C), free(R);
    return differ != 0;
}


int main(void) {
    int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {8, 32, 256}, {33, 65, 257}, {100, 31, 600}, {5, 2100, 40}, {130, 17, 1},
                       {400, 70, 300}, {390, 40, 20}}; /* 3 row blocks, the last one short */
    unsigned seed = 1;
    int fails = 0;
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int accum = 0; accum < 2; accum++) {
                    int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N);
                    float *C = malloc(sizeof(float) * (size_t)M * (N + 3)), *R = malloc(sizeof(float) * (size_t)M * (N + 3));
                    for (long i = 0; i < (long)M * K; i++) A[i] = urand(&seed);
                    for (long i = 0; i < (long)K * N; i++) B[i] = urand(&seed);
                    for (long i = 0; i < (long)M * (N + 3); i++) C[i] = R[i] = urand(&seed);
                    long a_rs = ta ? 1 : K, a_cs = ta ? M : 1, b_rs = tb ? 1 : N, b_cs = tb ? K : 1, ldc = N + 3;
                    sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, ldc, accum);
                    sgemm_reference(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, R, ldc, accum);
                    double err = 0, scale = 1e-6;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N + 3; j++) {
                            err = fmax(err, fabs(C[(long)i * ldc + j] - R[(long)i * ldc + j]));
                            scale = fmax(scale, fabs(R[(long)i * ldc + j]));
                        }
                    int ok = err / scale < 1e-5; /* also: the 3 padding columns must be untouched */
                    if (!ok) fails++;
                    printf("%s: sgemm (%s) %dx%dx%d, A%s B%s, %s: relative error %.1e\n", ok ? "PASS" : "FAIL",
                           sgemm_kernel_name(), M, N, K, ta ? "^T" : "", tb ? "^T" : "", accum ? "accumulate" : "overwrite",
                           err / scale);
                    /* bf16 B: round B, widen it back, and compare with sgemm on that */
                    uint16_t *B16 = malloc(sizeof(uint16_t) * (size_t)K * N);
                    for (long i = 0; i < (long)K * N; i++) B16[i] = f32_to_bf16(B[i]), B[i] = bf16_to_f32(B16[i]);
                    for (long i = 0; i < (long)M * (N + 3); i++) R[i] = C[i];
                    /* (a bf16 B through the typed path needs W row-major: B = W^T with W [N, K], or B = W) */
                    if (tb) sgemm_w(M, N, K, A, a_rs, a_cs, GGML_BF16, B16, 1, C, ldc, accum);
                    else sgemm_w(M, N, K, A, a_rs, a_cs, GGML_BF16, B16, 0, C, ldc, accum);
                    sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, R, ldc, accum);
                    long differ = 0;
                    for (long i = 0; i < (long)M * (N + 3); i++) differ += C[i] != R[i];
                    if (differ) fails++;
                    printf("%s: sgemm_b16 %dx%dx%d, A%s B%s, %s: %ld elements differ from sgemm on the widened B\n",
                           differ ? "FAIL" : "PASS", M, N, K, ta ? "^T" : "", tb ? "^T" : "",
                           accum ? "accumulate" : "overwrite", differ);
                    /* bf16 products, B fp32 and B a BF16 weight (stored as B16, widened in B) */
                    char what[64];
                    snprintf(what, sizeof what, "A%s B%s", ta ? "^T" : "", tb ? "^T" : "");
                    for (long i = 0; i < (long)K * N; i++) B[i] = urand(&seed);
                    fails += check_bf16(what, M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, 0, NULL, 0, C, ldc, accum);
                    for (long i = 0; i < (long)K * N; i++) B16[i] = f32_to_bf16(B[i]), B[i] = bf16_to_f32(B16[i]);
                    snprintf(what, sizeof what, "A%s, a BF16 W%s", ta ? "^T" : "", tb ? "^T" : "");
                    fails += check_bf16(what, M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, GGML_BF16, B16, tb, C, ldc, accum);
                    free(A), free(B), free(C), free(R), free(B16);
                }
    if (strcmp(gemm_bf16_kernel_name(), "avx512bf16") != 0)
        printf("SKIP: bf16: the AVX512_BF16 kernel: this CPU has no AVX512_BF16 (the portable bf16 path is tested)\n");
    /* every type a frozen base is kept in, through both packing paths: W^T panels (K across
     * three slices, a short last one) and rows of W (N across two NC-wide blocks) */
    const uint32_t types[] = {GGML_F32, GGML_F16, GGML_BF16, GGML_Q8_0, GGML_Q4_0, GGML_Q4_1, GGML_Q5_0,
                              GGML_Q5_1, GGML_IQ4_NL, GGML_Q4_K, GGML_Q5_K, GGML_Q6_K};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) {
        fails += check_typed(types[i], 37, 45, 768, 1, &seed);
        fails += check_typed(types[i], 9, 70, 512, 0, &seed);
        fails += check_typed(types[i], 13, 33, 2304, 0, &seed);
        fails += check_typed(types[i], 1, 3, 256, 1, &seed);
    }
    return fails ? 1 : 0;
}
