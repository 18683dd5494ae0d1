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
static double peak_one_thread(long iters) {
    __m512 a[24], x = _mm512_set1_ps(1.0000001f), y = _mm512_set1_ps(0.9999999f);
    for (int i = 0; i < 24; i++) a[i] = _mm512_set1_ps((float)i);
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++)
        for (int i = 0; i < 24; i++) a[i] = _mm512_fmadd_ps(a[i], x, y);
    double dt = now_seconds() - t0;
    float sink = 0;
    for (int i = 0; i < 24; i++) sink += _mm512_reduce_add_ps(a[i]);
    if (sink == 42) puts("");
    return (double)iters * 24 * 16 * 2 / dt;
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
        total += peak_one_thread(20000000);
        printf("fp32 peak (FMA loop), %d thread(s): %.1f GFLOP/s\n", t, total / 1e9);
    }
    int shapes[][3] = {{1024, 1024, 1024}, {1024, 768, 256}, {1024, 256, 768}, {768, 256, 1024}, {512, 4864, 896},
                       {128, 32000, 256}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *A = calloc((size_t)M * K, 4), *B = calloc((size_t)K * N, 4), *C = calloc((size_t)M * N, 4);
        for (int t = 1; t <= max_threads; t *= 2) {
            omp_set_num_threads(t);
            sgemm(M, N, K, A, K, 1, B, 1, K, C, N, 0);
            int reps = 0;
            double t0 = now_seconds(), dt;
            do {
                sgemm(M, N, K, A, K, 1, B, 1, K, C, N, 0);
                reps++;
            } while ((dt = now_seconds() - t0) < 0.5);
            printf("sgemm (%s) %5d x %5d x %5d, %d thread(s): %.1f GFLOP/s\n", sgemm_kernel_name(), M, N, K, t,
                   2.0 * M * N * K * reps / dt / 1e9);
        }
        free(A), free(B), free(C);
    }
    return 0;
}
