/* sgemm against the plain triple loop (in double), for every combination of transposed
 * operands, shapes that are not multiples of the tiles, K across several packed slices,
 * and both accumulate modes. Relative error must stay below 1e-5. sgemm_b16 (B in bf16)
 * must equal sgemm on the widened B bit for bit: widening is exact. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dtype.h"
#include "gemm.h"

static float urand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffffff) / 8388608.0f - 1.0f;
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
                    sgemm_b16(M, N, K, A, a_rs, a_cs, B16, b_rs, b_cs, C, ldc, accum);
                    sgemm(M, N, K, A, a_rs, a_cs, B, b_rs, b_cs, R, ldc, accum);
                    long differ = 0;
                    for (long i = 0; i < (long)M * (N + 3); i++) differ += C[i] != R[i];
                    if (differ) fails++;
                    printf("%s: sgemm_b16 %dx%dx%d, A%s B%s, %s: %ld elements differ from sgemm on the widened B\n",
                           differ ? "FAIL" : "PASS", M, N, K, ta ? "^T" : "", tb ? "^T" : "",
                           accum ? "accumulate" : "overwrite", differ);
                    free(A), free(B), free(C), free(R), free(B16);
                }
    return fails ? 1 : 0;
}
