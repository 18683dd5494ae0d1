/* bench_gemm: the machine's fp32 peak (a loop of independent FMAs in every register, the
 * way peak is usually measured) and sgemm's GFLOP/s on the products a training step makes,
 * for 1..max threads; where the CPU has AVX512_BF16, its bf16 peak (the same loop of
 * vdpbf16ps) and the products under gemm_set_dtype(GEMM_BF16) against it. Prints numbers;
 * asserts nothing. */
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

#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 10)
#include <immintrin.h>
#define HAVE_BF16_PEAK 1
/* The bf16 peak: the same 12 independent chains of vdpbf16ps (zmm: 16 fp32 lanes, each adding
 * two bf16 products, 64 FLOPs an instruction), compiled for AVX512_BF16 whatever -march says,
 * run only where the CPU has it. */
__attribute__((target("avx512f,avx512bf16"))) static double bf16_peak_one_thread(long iters) {
    __m512bh x = (__m512bh)_mm512_set1_epi16(0x3f80), y = (__m512bh)_mm512_set1_epi16(0x3a83); /* 1, ~1e-3 */
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
           a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
           a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    double t0 = now_seconds();
    for (long n = 0; n < iters; n++) {
#define DP(a) a = _mm512_dpbf16_ps(a, x, y)
#define STEP DP(a0), DP(a1), DP(a2), DP(a3), DP(a4), DP(a5), DP(a6), DP(a7), DP(a8), DP(a9), DP(a10), DP(a11)
        STEP; STEP; STEP; STEP; STEP; STEP; STEP; STEP;
#undef STEP
#undef DP
    }
    double dt = now_seconds() - t0;
    __m512 sum = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                               _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    sum = _mm512_add_ps(sum, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    if (_mm512_reduce_add_ps(sum) == 42) puts(""); /* use every chain, so none is optimised away */
    return (double)iters * 8 * 12 * 64 / dt;
}
#endif

/* The best of 5 runs of a peak loop on t threads, in GFLOP/s: the peak is the hardware's, and a
 * shared machine only ever takes from it (another process on a core halves a 2-thread run). */
static double best_of_5(double (*loop)(long), int t) {
    double best = 0;
    for (int run = 0; run < 5; run++) {
        double total = 0;
#pragma omp parallel num_threads(t) reduction(+ : total)
        total += loop(5000000);
        best = total > best ? total : best;
    }
    return best / 1e9;
}

/* GFLOP/s of one product, repeated for half a second after a warm-up call */
static double time_sgemm(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs,
                         long b_cs, float *C) {
    sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, N, 0);
    int reps = 0;
    double t0 = now_seconds(), dt;
    do {
        sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C, N, 0);
        reps++;
    } while ((dt = now_seconds() - t0) < 0.5);
    return 2.0 * M * N * K * reps / dt / 1e9;
}

static double time_sgemm_w(int M, int N, int K, const float *A, uint32_t type, const void *W, int trans, float *C) {
    sgemm_w(M, N, K, A, K, 1, type, W, trans, C, N, 0);
    int reps = 0;
    double t0 = now_seconds(), dt;
    do {
        sgemm_w(M, N, K, A, K, 1, type, W, trans, C, N, 0);
        reps++;
    } while ((dt = now_seconds() - t0) < 0.5);
    return 2.0 * M * N * K * reps / dt / 1e9;
}

/* a bf16 product's row: % of the bf16 peak where there is one (the portable path's ceiling is
 * the fp32 peak, so that too), and the speed-up over the same product in fp32 */
static void print_bf16_row(const char *label, int t, double gf, double bf16_peak, double peak, double f32_gf) {
    int portable = !strcmp(gemm_bf16_kernel_name(), "portable");
    printf("%s, %d thread(s): %.1f GFLOP/s = ", label, t, gf);
    if (bf16_peak) printf("%.0f%% of the bf16 peak%s", 100 * gf / bf16_peak, portable ? " (" : "");
    if (!bf16_peak || portable) printf("%.0f%% of the fp32 peak%s", 100 * gf / peak, bf16_peak ? ")" : "");
    printf(", %.2fx fp32\n", gf / f32_gf);
}

int main(int argc, char **argv) {
    int max_threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
    double peak[64] = {0}, bf16_peak[64] = {0}; /* by thread count; bf16: 0 where the CPU has no AVX512_BF16 */
    if (max_threads > 63) max_threads = 63;
    for (int t = 1; t <= max_threads; t *= 2) {
        peak[t] = best_of_5(peak_one_thread, t);
        printf("fp32 peak (FMA loop), %d thread(s): %.1f GFLOP/s\n", t, peak[t]);
    }
#ifdef HAVE_BF16_PEAK
    if (__builtin_cpu_supports("avx512bf16"))
        for (int t = 1; t <= max_threads; t *= 2) {
            bf16_peak[t] = best_of_5(bf16_peak_one_thread, t);
            printf("bf16 peak (vdpbf16ps loop), %d thread(s): %.1f GFLOP/s = %.2fx the fp32 peak\n", t, bf16_peak[t],
                   bf16_peak[t] / peak[t]);
        }
#endif
    if (!bf16_peak[1]) printf("bf16 peak: no AVX512_BF16 on this CPU (the bf16 products run the fp32 kernel)\n");
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
        double f32_gf[64] = {0};
        for (int t = 1; t <= max_threads; t *= 2) {
            omp_set_num_threads(t);
            double gf = f32_gf[t] = time_sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C);
            printf("sgemm (%s) %5d x %5d x %5d %s, %d thread(s): %.1f GFLOP/s = %.0f%% of the peak\n",
                   sgemm_kernel_name(), M, N, K, kind_name[kind], t, gf, 100 * gf / peak[t]);
        }
        /* the same product in bf16 (--dtype bf16: inputs rounded to bf16 as they are packed,
         * fp32 accumulation): the vdpbf16ps kernel where the CPU has one, then the portable
         * path (the fp32 kernel on the rounded values) */
        gemm_set_dtype(GEMM_BF16);
        for (int portable = bf16_peak[1] ? 0 : 1; portable < 2; portable++) {
            gemm_bf16_portable(portable);
            for (int t = 1; t <= max_threads; t *= 2) {
                omp_set_num_threads(t);
                double gf = time_sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, C);
                char label[96];
                snprintf(label, sizeof label, "bf16 sgemm (%-10s) %5d x %5d x %5d %s", gemm_bf16_kernel_name(), M, N, K,
                         kind_name[kind]);
                print_bf16_row(label, t, gf, bf16_peak[t], peak[t], f32_gf[t]);
            }
        }
        gemm_bf16_portable(0);
        gemm_set_dtype(GEMM_F32);
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
                double f32_gf[64] = {0};
                for (int t = 1; t <= max_threads; t *= 2) {
                    omp_set_num_threads(t);
                    double gf = f32_gf[t] = time_sgemm_w(M, N, K, A, types[ti], W, !dx, C);
                    printf("frozen %-4s W [%5d, %5d], %3d tokens, %s, %d thread(s): %.1f GFLOP/s = %.0f%% of the peak\n",
                           info->name, O, I, M, dx ? "dout W  " : "x W^T   ", t, gf, 100 * gf / peak[t]);
                }
                /* a BF16 base under --dtype bf16 (packed as it is stored, no rounding), training shapes only */
                if (types[ti] == GGML_BF16 && M >= 512) {
                    gemm_set_dtype(GEMM_BF16);
                    for (int t = 1; t <= max_threads; t *= 2) {
                        omp_set_num_threads(t);
                        double gf = time_sgemm_w(M, N, K, A, types[ti], W, !dx, C);
                        char label[128];
                        snprintf(label, sizeof label, "frozen BF16 W [%5d, %5d], %3d tokens, %s, bf16 (%s)", O, I, M,
                                 dx ? "dout W  " : "x W^T   ", gemm_bf16_kernel_name());
                        print_bf16_row(label, t, gf, bf16_peak[t], peak[t], f32_gf[t]);
                    }
                    gemm_set_dtype(GEMM_F32);
                }
                free(W), free(A), free(C);
            }
    return 0;
}
