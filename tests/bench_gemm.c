/* bench_gemm: the machine's fp32 peak (a loop of independent FMAs in every register, the
 * way peak is usually measured) and sgemm's GFLOP/s on the products a training step makes,
 * for 1..max threads. Prints numbers; asserts nothing. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "gemm.h"
#include "gguf.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#if defined(__AVX512F__)
typedef __m512 vec;
#define LANES 16
#define VSET _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VSTORE _mm512_storeu_ps
#else
typedef __m256 vec;
#define LANES 8
#define VSET _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VSTORE _mm256_storeu_ps
#endif
/* 12 independent FMA chains in named registers (an array of accumulators may be kept in
 * memory, and then the loop measures loads and stores), 8 steps unrolled per loop trip:
 * enough in flight to hide the FMA latency on both pipes. */
static double peak_one_thread(long iters) {
    vec x = VSET(1.0000001f), y = VSET(0.9999999f);
    vec a0 = VSET(0), a1 = VSET(1), a2 = VSET(2), a3 = VSET(3), a4 = VSET(4), a5 = VSET(5), a6 = VSET(6), a7 = VSET(7),
        a8 = VSET(8), a9 = VSET(9), a10 = VSET(10), a11 = VSET(11);
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++) {
#define STEP a0 = VFMA(a0, x, y), a1 = VFMA(a1, x, y), a2 = VFMA(a2, x, y), a3 = VFMA(a3, x, y), \
             a4 = VFMA(a4, x, y), a5 = VFMA(a5, x, y), a6 = VFMA(a6, x, y), a7 = VFMA(a7, x, y), \
             a8 = VFMA(a8, x, y), a9 = VFMA(a9, x, y), a10 = VFMA(a10, x, y), a11 = VFMA(a11, x, y)
        STEP; STEP; STEP; STEP; STEP; STEP; STEP; STEP;
#undef STEP
    }
    double dt = now_seconds() - t0;
    float lanes[12][LANES], sum = 0; /* use every chain, so none is optimised away */
    VSTORE(lanes[0], a0), VSTORE(lanes[1], a1), VSTORE(lanes[2], a2), VSTORE(lanes[3], a3), VSTORE(lanes[4], a4);
    VSTORE(lanes[5], a5), VSTORE(lanes[6], a6), VSTORE(lanes[7], a7), VSTORE(lanes[8], a8), VSTORE(lanes[9], a9);
    VSTORE(lanes[10], a10), VSTORE(lanes[11], a11);
    for (int i = 0; i < 12; i++) sum += lanes[i][0] + lanes[i][LANES - 1];
    if (sum == 42) puts("");
    return (double)iters * 8 * 12 * LANES * 2 / dt;
}
#else
static double peak_one_thread(long iters) {
    float a[8][8] = {{0}};
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++)
        for (int i = 0; i < 8; i++)
#pragma omp simd
            for (int j = 0; j < 8; j++) a[i][j] = a[i][j] * 1.0000001f + 0.9999999f;
    double dt = now_seconds() - t0;
    if (a[3][3] == 42) puts("");
    return (double)iters * 64 * 2 / dt;
}
#endif

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    double peak[64] = {0}; /* by thread count */
    if (max_threads > 63) max_threads = 63;
    for (int t = 1; t <= max_threads; t *= 2) {
        /* the best of 5 runs: the peak is the hardware's, and a shared machine only ever
         * takes from it (another process on a core halves a 2-thread run) */
        double best = 0;
        for (int run = 0; run < 5; run++) {
            double total = 0;
#pragma omp parallel num_threads(t) reduction(+ : total)
            total += peak_one_thread(5000000);
            best = total > best ? total : best;
        }
        peak[t] = best / 1e9;
        printf("fp32 peak (FMA loop), %d thread(s): %.1f GFLOP/s\n", t, peak[t]);
    }
    /* the products of a step, with their operand layouts: forward out = x W^T, input
     * gradient dx = dout W, weight gradient dW = dout^T x (A read transposed) */
    enum { FWD, DX, DW };
    static const char *kind_name[] = {"x W^T   ", "dout W  ", "dout^T x"};
    int shapes[][4] = {{1024, 1024, 1024, FWD}, {512, 4864, 896, FWD},   {512, 896, 4864, DX},
                       {4864, 896, 512, DW},    {128, 32000, 256, FWD},  {256, 256, 32000, DX},
                       {32000, 256, 256, DW}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2], kind = shapes[s][3];
        float *A = calloc((size_t)M * K, 4), *B = calloc((size_t)K * N, 4), *C = calloc((size_t)M * N, 4);
        long a_rs = kind == DW ? 1 : K, a_cs = kind == DW ? M : 1; /* dW: A is dout [K rows of M] */
        long b_rs = kind == FWD ? 1 : N, b_cs = kind == FWD ? K : 1; /* forward: B is W [N rows of K] */
        for (int t = 1; t <= max_threads; t *= 2) {
            omp_set_num_threads(t);
            sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, N, 0);
            int reps = 0;
            double t0 = now_seconds(), dt;
            do {
                sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, N, 0);
                reps++;
            } while ((dt = now_seconds() - t0) < 0.5);
            double gf = 2.0 * M * N * K * reps / dt / 1e9;
            printf("sgemm (%s) %5d x %5d x %5d %s, %d thread(s): %.1f GFLOP/s = %.0f%% of the peak\n",
                   sgemm_kernel_name(), M, N, K, kind_name[kind], t, gf, 100 * gf / peak[t]);
        }
        free(A), free(B), free(C);
    }
    /* a frozen base's products (sgemm_w): W kept in its type and dequantized panel by panel,
     * forward x W^T and input gradient dout W, at the qwen-shape's FFN (rows of 896) and at
     * Qwen2.5-7B's (3584 x 18944: rows of whole 256-blocks, so the K-quants can be there) */
    static const uint32_t types[] = {GGML_F32, GGML_BF16, GGML_F16, GGML_Q8_0, GGML_Q4_K, GGML_Q6_K};
    int typed[][3] = {{512, 4864, 896}, {512, 18944, 3584}, {64, 18944, 3584}}; /* tokens, W rows (out), W columns (in) */
    for (size_t s = 0; s < sizeof typed / sizeof *typed; s++)
        for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++)
            for (int dx = 0; dx < 2; dx++) {
                const GgmlTypeInfo *info = ggml_type_info(types[ti]);
                int M = typed[s][0], O = typed[s][1], I = typed[s][2];
                if (I % info->block || O % info->block) continue;
                size_t bytes = (size_t)O * (size_t)(I / info->block) * (size_t)info->bytes;
                uint8_t *W = malloc(bytes); /* every field 0x3c: normal fp16 scales, finite values */
                memset(W, 0x3c, bytes);
                int K = dx ? O : I, N = dx ? I : O;
                float *A = calloc((size_t)M * K, 4), *C = calloc((size_t)M * N, 4);
                for (int t = 1; t <= max_threads; t *= 2) {
                    omp_set_num_threads(t);
                    sgemm_w(M, N, K, A, K, 1, types[ti], W, !dx, C, N, 0);
                    int reps = 0;
                    double t0 = now_seconds(), dt;
                    do {
                        sgemm_w(M, N, K, A, K, 1, types[ti], W, !dx, C, N, 0);
                        reps++;
                    } while ((dt = now_seconds() - t0) < 0.5);
                    double gf = 2.0 * M * N * K * reps / dt / 1e9;
                    printf("frozen %-4s W [%5d, %5d], %3d tokens, %s, %d thread(s): %.1f GFLOP/s = %.0f%% of the peak\n",
                           info->name, O, I, M, dx ? "dout W  " : "x W^T   ", t, gf, 100 * gf / peak[t]);
                }
                free(W), free(A), free(C);
            }
    return 0;
}
