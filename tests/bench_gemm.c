/* bench_gemm: the machine's fp32 peak (a loop of independent FMAs in every register, the
 * way peak is usually measured) and sgemm's GFLOP/s on the products a training step makes,
 * for 1..max threads. Prints numbers; asserts nothing. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "gemm.h"

#if defined(__AVX512F__)
#include <immintrin.h>
/* 12 independent FMA chains in named registers (an array may be kept in memory), 8
 * iterations unrolled per loop trip: enough in flight to hide the FMA latency on both pipes. */
static double peak_one_thread(long iters) {
    __m512 x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
           a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
           a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++) {
#define STEP a0 = _mm512_fmadd_ps(a0, x, y), a1 = _mm512_fmadd_ps(a1, x, y), a2 = _mm512_fmadd_ps(a2, x, y), \
             a3 = _mm512_fmadd_ps(a3, x, y), a4 = _mm512_fmadd_ps(a4, x, y), a5 = _mm512_fmadd_ps(a5, x, y), \
             a6 = _mm512_fmadd_ps(a6, x, y), a7 = _mm512_fmadd_ps(a7, x, y), a8 = _mm512_fmadd_ps(a8, x, y), \
             a9 = _mm512_fmadd_ps(a9, x, y), a10 = _mm512_fmadd_ps(a10, x, y), a11 = _mm512_fmadd_ps(a11, x, y)
        STEP; STEP; STEP; STEP; STEP; STEP; STEP; STEP;
#undef STEP
    }
    double dt = now_seconds() - t0;
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    if (_mm512_reduce_add_ps(s) == 42) puts("");
    return (double)iters * 8 * 12 * 16 * 2 / dt;
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
/* The same with 8-wide registers: 12 chains, 8 steps a trip (an array of accumulators, as
 * the portable loop below uses, is kept in memory and measures loads and stores instead). */
static double peak_one_thread(long iters) {
    __m256 x = _mm256_set1_ps(1.0000001f), y = _mm256_set1_ps(0.9999999f);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
           a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
           a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++) {
#define STEP a0 = _mm256_fmadd_ps(a0, x, y), a1 = _mm256_fmadd_ps(a1, x, y), a2 = _mm256_fmadd_ps(a2, x, y), \
             a3 = _mm256_fmadd_ps(a3, x, y), a4 = _mm256_fmadd_ps(a4, x, y), a5 = _mm256_fmadd_ps(a5, x, y), \
             a6 = _mm256_fmadd_ps(a6, x, y), a7 = _mm256_fmadd_ps(a7, x, y), a8 = _mm256_fmadd_ps(a8, x, y), \
             a9 = _mm256_fmadd_ps(a9, x, y), a10 = _mm256_fmadd_ps(a10, x, y), a11 = _mm256_fmadd_ps(a11, x, y)
        STEP; STEP; STEP; STEP; STEP; STEP; STEP; STEP;
#undef STEP
    }
    double dt = now_seconds() - t0;
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    if (lanes[0] + lanes[7] == 42) puts("");
    return (double)iters * 8 * 12 * 8 * 2 / dt;
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
    for (int t = 1; t <= max_threads; t *= 2) {
        double total = 0;
#pragma omp parallel num_threads(t) reduction(+ : total)
        total += peak_one_thread(5000000);
        printf("fp32 peak (FMA loop), %d thread(s): %.1f GFLOP/s\n", t, total / 1e9);
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
            printf("sgemm (%s) %5d x %5d x %5d %s, %d thread(s): %.1f GFLOP/s\n", sgemm_kernel_name(), M, N, K,
                   kind_name[kind], t, 2.0 * M * N * K * reps / dt / 1e9);
        }
        free(A), free(B), free(C);
    }
    return 0;
}
