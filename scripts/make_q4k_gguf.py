#!/usr/bin/env python3
"""Bench helper: rewrite a GGUF with every 2-D tensor as random valid Q4_K blocks (same names,
shapes and metadata), for measuring the loader's dequantization throughput.
Usage: make_q4k_gguf.py IN.gguf OUT.gguf"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
import gguf_numpy as G  # noqa: E402


def main():
    src, dst = sys.argv[1:3]
    f = G.read_gguf(src)
    rng = np.random.default_rng(0)
    tensors = []
    for t in f.tensors:
        if t["n_dims"] == 2 and t["ne"][0] % 256 == 0:
            n = int(np.prod(t["shape"]))
            tensors.append((t["name"], G.Q4_K, t["shape"], G.quantize_random_blocks(G.Q4_K, n, rng)))
        else:
            tensors.append((t["name"], t["type"], t["shape"], f.raw(t["name"])))
    meta = {k: v for k, v in f.metadata.items() if k != "general.architecture"}
    G.write_gguf(dst, f.value("general.architecture"), meta, tensors)


if __name__ == "__main__":
    main()
