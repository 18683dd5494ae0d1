/* gemm.h: single-precision matrix multiply for every product of the forward and backward.
 *
 *   C[M,N] = (C +) A[M,K] B[K,N]
 *
 * A and B are read through strides, so transposed operands cost nothing extra: element
 * (i,k) of A is A[i*a_rs + k*a_cs], element (k,j) of B is B[k*b_rs + j*b_cs]; C is
 * row-major with leading dimension ldc. Blocks of A and B are packed into contiguous
 * panels and multiplied by a register-blocked micro-kernel (AVX-512 where the compiler
 * targets it, AVX2 otherwise, portable C as the reference); threads split the tiles of C. */
#pragma once
#include <stdint.h>

void sgemm(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs, float *C,
           long ldc, int accumulate);
/* The same with B a weight matrix W stored row-major in a ggml type (gguf.h: F32, F16, BF16
 * or quantized blocks, as a frozen base or reference keeps it): trans = 1 multiplies by W^T
 * (W is [N, K], as x W^T), trans = 0 by W (W is [K, N], as dy W). W is widened or
 * dequantized a panel at a time as it is packed, never whole, so the result equals sgemm's
 * on the dequantized W bit for bit. Rows of W are whole blocks of its type. */
void sgemm_w(int M, int N, int K, const float *A, long a_rs, long a_cs, uint32_t type, const void *W, int trans,
             float *C, long ldc, int accumulate);
/* Make the fixed packing buffers now (2.2 MB), before memory is measured against a plan. */
void sgemm_reserve(void);
/* The plain triple loop, for tests. */
void sgemm_reference(int M, int N, int K, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs,
                     float *C, long ldc, int accumulate);
/* Which micro-kernel this build uses: "avx512", "avx2" or "portable". */
const char *sgemm_kernel_name(void);

/* The products' input precision, for the whole program (--dtype): GEMM_F32, or GEMM_BF16:
 * every product's inputs (A and B, weights and activations alike) are rounded to bf16, round
 * to nearest even, as they are packed, and the products are accumulated in fp32 into the
 * fp32 C, as PyTorch's bf16 autocast multiplies. A BF16 weight is packed as it is stored, no
 * widening. Where the CPU has AVX512_BF16 (checked at run time) a vdpbf16ps micro-kernel
 * multiplies bf16 pairs along K; elsewhere the fp32 kernel multiplies the rounded values
 * (exact products of bf16 values, so the two differ only in the order of the additions and
 * in vdpbf16ps flushing denormals to zero). */
typedef enum { GEMM_F32, GEMM_BF16 } GemmDtype;
void gemm_set_dtype(GemmDtype d);
GemmDtype gemm_get_dtype(void);
/* GEMM_BF16's path: "avx512bf16" or "portable". gemm_bf16_portable(1) forces the portable
 * path even where the CPU has AVX512_BF16 (tests, benchmarks). */
const char *gemm_bf16_kernel_name(void);
void gemm_bf16_portable(int on);
/* x rounded to the nearest bf16 (ties to even), as a float; NaN stays NaN. */
float round_bf16(float x);
