#!/usr/bin/env python3
"""The matrix products of build/bench_gemm through PyTorch's BLAS (Debian's OpenBLAS), same
shapes, same operand layouts, so `make bench` shows the engine's sgemm next to the library
PyTorch's steps run on. The thread count comes from OPENBLAS_NUM_THREADS, set by the caller
(OpenBLAS reads it once, at load).

usage: OPENBLAS_NUM_THREADS=T bench_blas.py THREADS PEAK_GFLOPS"""
import sys
import time

import torch

SHAPES = [(1024, 1024, 1024, "x W^T   "), (512, 4864, 896, "x W^T   "), (512, 896, 4864, "dout W  "),
          (4864, 896, 512, "dout^T x"), (128, 32000, 256, "x W^T   "), (256, 256, 32000, "dout W  "),
          (32000, 256, 256, "dout^T x")]


def main():
    threads, peak = int(sys.argv[1]), float(sys.argv[2])
    torch.set_num_threads(threads)
    for M, N, K, kind in SHAPES:
        if kind.startswith("x W^T"):
            a, b = torch.randn(M, K), torch.randn(N, K)
            f = lambda: a @ b.t()  # noqa: E731
        elif kind.startswith("dout W"):
            a, b = torch.randn(M, K), torch.randn(K, N)
            f = lambda: a @ b  # noqa: E731
        else:  # dout [K rows of M] read transposed, times x [K rows of N]
            a, b = torch.randn(K, M), torch.randn(K, N)
            f = lambda: a.t() @ b  # noqa: E731
        f()
        reps, t0 = 0, time.perf_counter()
        while True:
            f()
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= 0.5:
                break
        gf = 2.0 * M * N * K * reps / dt / 1e9
        print(f"pytorch's BLAS {M:5d} x {N:5d} x {K:5d} {kind}, {threads} thread(s): {gf:.1f} GFLOP/s "
              f"= {100 * gf / peak:.0f}% of the peak")


if __name__ == "__main__":
    main()
