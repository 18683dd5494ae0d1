#!/usr/bin/env python3
"""The PyTorch side of `make bench`: the same decoder as the engine (a plain implementation
written for the bench, from FORMATS.md section 5), one SFT training step (forward, backward
of the mean cross-entropy, AdamW) on a random batch, in fp32, with torch.set_num_threads.
Prints the median seconds over the repeats and tokens/s.

A preference step (mode "pref"): BATCH pairs, the frozen reference's forward without
gradients, the policy's forward over chosen and rejected together, DPO on the summed
log-probs, backward, AdamW.

usage: bench_torch.py HIDDEN LAYERS HEADS KV_HEADS FFN VOCAB BATCH SEQ THREADS REPEAT [sft|pref]"""
import sys
import time

import torch

BLAS_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv", "aten::dot"}


def main():
    E, L, H, KV, F, V, B, T, threads, repeat = map(int, sys.argv[1:11])
    mode = sys.argv[11] if len(sys.argv) > 11 else "sft"
    pairs = B
    if mode == "pref":
        B = 2 * pairs  # chosen and rejected in one forward
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    D = E // H
    p = lambda *s: torch.nn.Parameter(torch.randn(*s) * 0.02)  # noqa: E731
    params = {"emb": p(V, E), "norm": torch.nn.Parameter(torch.ones(E)), "head": p(V, E)}
    for l in range(L):
        params.update({f"{l}.n1": torch.nn.Parameter(torch.ones(E)), f"{l}.n2": torch.nn.Parameter(torch.ones(E)),
                       f"{l}.q": p(H * D, E), f"{l}.k": p(KV * D, E), f"{l}.v": p(KV * D, E), f"{l}.o": p(E, H * D),
                       f"{l}.qb": torch.nn.Parameter(torch.zeros(H * D)), f"{l}.kb": torch.nn.Parameter(torch.zeros(KV * D)),
                       f"{l}.vb": torch.nn.Parameter(torch.zeros(KV * D)),
                       f"{l}.g": p(F, E), f"{l}.u": p(F, E), f"{l}.d": p(E, F)})
    inv = 1.0 / (1e6 ** (torch.arange(0, D, 2).float() / D))
    ang = torch.arange(T).float()[:, None] * inv
    cos, sin = torch.cat([ang.cos()] * 2, -1)[None, :, None], torch.cat([ang.sin()] * 2, -1)[None, :, None]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def rms(x, w):
        return w * x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6)

    def rot(x):
        return torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1)

    def forward(ids, params=params):
        h = params["emb"][ids]
        for l in range(L):
            a = rms(h, params[f"{l}.n1"])
            q = (a @ params[f"{l}.q"].T + params[f"{l}.qb"]).view(B, T, H, D)
            k = (a @ params[f"{l}.k"].T + params[f"{l}.kb"]).view(B, T, KV, D)
            v = (a @ params[f"{l}.v"].T + params[f"{l}.vb"]).view(B, T, KV, D)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(H // KV, 2), v.repeat_interleave(H // KV, 2)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, D]
            s = (q @ k.transpose(-1, -2)) * D ** -0.5
            o = torch.softmax(s.masked_fill(causal, float("-inf")), -1) @ v
            h = h + o.transpose(1, 2).reshape(B, T, H * D) @ params[f"{l}.o"].T
            m = rms(h, params[f"{l}.n2"])
            h = h + (torch.nn.functional.silu(m @ params[f"{l}.g"].T) * (m @ params[f"{l}.u"].T)) @ params[f"{l}.d"].T
        return rms(h, params["norm"]) @ params["head"].T

    opt = torch.optim.AdamW(params.values(), lr=1e-4)
    ref = {k: v.detach().clone() for k, v in params.items()}
    ids = torch.randint(0, V, (B, T))

    def seq_logps(logits):
        lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
        return lp.sum(1)

    def step():
        if mode == "pref":
            with torch.no_grad():
                r = seq_logps(forward(ids, ref))
            p = seq_logps(forward(ids))
            m = (p[:pairs] - r[:pairs]) - (p[pairs:] - r[pairs:])
            loss = -torch.nn.functional.logsigmoid(0.1 * m).mean()
        else:
            logits = forward(ids)
            loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    times = []
    for _ in range(repeat + 1):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times = sorted(times[1:])  # the first step warms up
    med = times[len(times) // 2]
    print(f"pytorch {torch.__version__}: {mode.upper()} step {B} x {T} tokens, {threads} threads: median {med:.3f} s "
          f"(min {times[0]:.3f}, max {times[-1]:.3f} over {repeat}), {B * T / med:.0f} tokens/s")
    # One more step under the profiler: how much of PyTorch's step is its BLAS matrix products
    # (self time of the ops that call sgemm). No engine whose products are no faster than these
    # can beat PyTorch by more than step / products.
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        step()
        wall = time.perf_counter() - t0
    blas = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in BLAS_OPS) / 1e6
    print(f"pytorch matrix products: {blas:.3f} s of a {wall:.3f} s profiled step ({100 * blas / wall:.0f}%)")


if __name__ == "__main__":
    main()
