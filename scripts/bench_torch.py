#!/usr/bin/env python3
"""The PyTorch side of `make bench`: the same decoder as the engine (a plain implementation
written for the bench, from FORMATS.md section 5), one SFT training step (forward, backward
of the mean cross-entropy, AdamW) on a random batch, in fp32, with torch.set_num_threads.
Prints the median seconds over the repeats and tokens/s.

A preference step (mode "pref"): BATCH pairs, the frozen reference's forward without
gradients, the policy's forward over chosen and rejected together, DPO on the summed
log-probs, backward, AdamW.

With "lora:R" the base is frozen (no gradients, no optimizer state) and every linear layer of
the decoder (q, k, v, o, gate, up, down) gets PEFT's LoRA branch, y = W x + b + s B(A x),
written here as plain tensors (PEFT is not a Debian package); AdamW trains A and B only, and
the preference step's reference is the base with the branch off.

With "bf16" the step trains as TRL's bf16=True does on a CPU: the forward and the loss under
torch.autocast("cpu", dtype=torch.bfloat16) (the matrix products' inputs cast to bf16, through
oneDNN, which uses AVX512_BF16 where the CPU has it), the backward outside it, fp32 master
weights and fp32 AdamW; the preference step's reference forward is under autocast too. With
"fp32,bf16" the two kinds of step take turns, one line for each: both see the same moments of a
shared machine.

usage: bench_torch.py HIDDEN LAYERS HEADS KV_HEADS FFN VOCAB BATCH SEQ THREADS REPEAT [sft|pref] [lora:R]
                      [bf16|fp32,bf16]"""
import contextlib
import sys
import time

import torch

BLAS_OPS = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::addmv", "aten::mv", "aten::dot"}


def main():
    E, L, H, KV, F, V, B, T, threads, repeat = map(int, sys.argv[1:11])
    opts = sys.argv[11:]
    mode = "pref" if "pref" in opts else "sft"
    R = next((int(o.split(":")[1]) for o in opts if o.startswith("lora:")), 0)
    kinds = [False, True] if "fp32,bf16" in opts else [True] if "bf16" in opts else [False]  # autocast per kind
    seen = {}  # one output dtype of each kind, to show what autocast made of the step
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
    lora = {}
    if R:  # the base frozen; A (kaiming-uniform, PEFT's bound 1/sqrt(in)) and B = 0 per linear layer
        for v in params.values():
            v.requires_grad_(False)
        for l in range(L):
            for name, (i, o) in {"q": (E, H * D), "k": (E, KV * D), "v": (E, KV * D), "o": (H * D, E), "g": (E, F),
                                 "u": (E, F), "d": (F, E)}.items():
                lora[f"{l}.{name}.A"] = torch.nn.Parameter((torch.rand(R, i) * 2 - 1) / i ** 0.5)
                lora[f"{l}.{name}.B"] = torch.nn.Parameter(torch.zeros(o, R))
    scale = 2.0  # alpha = 2r

    def lin(x, l, name, params, adapter=True):
        y = x @ params[f"{l}.{name}"].T
        seen.setdefault("linear layers", y.dtype)
        if name in ("q", "k", "v"):
            y = y + params[f"{l}.{name}b"]  # bf16: the fp32 bias promotes q, k and v to fp32
        if R and adapter:
            y = y + (x @ lora[f"{l}.{name}.A"].T) @ lora[f"{l}.{name}.B"].T * scale
        return y

    inv = 1.0 / (1e6 ** (torch.arange(0, D, 2).float() / D))
    ang = torch.arange(T).float()[:, None] * inv
    cos, sin = torch.cat([ang.cos()] * 2, -1)[None, :, None], torch.cat([ang.sin()] * 2, -1)[None, :, None]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)

    def rms(x, w):
        return w * x * torch.rsqrt((x * x).mean(-1, keepdim=True) + 1e-6)

    def rot(x):
        return torch.cat([-x[..., D // 2:], x[..., :D // 2]], -1)

    def forward(ids, params=params, adapter=True):
        h = params["emb"][ids]
        for l in range(L):
            a = rms(h, params[f"{l}.n1"])
            q = lin(a, l, "q", params, adapter).view(B, T, H, D)
            k = lin(a, l, "k", params, adapter).view(B, T, KV, D)
            v = lin(a, l, "v", params, adapter).view(B, T, KV, D)
            q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
            k, v = k.repeat_interleave(H // KV, 2), v.repeat_interleave(H // KV, 2)
            q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # [B, H, T, D]
            s = (q @ k.transpose(-1, -2)) * D ** -0.5
            seen.setdefault("attention scores", s.dtype)
            o = torch.softmax(s.masked_fill(causal, float("-inf")), -1) @ v
            h = h + lin(o.transpose(1, 2).reshape(B, T, H * D), l, "o", params, adapter)
            m = rms(h, params[f"{l}.n2"])
            h = h + lin(torch.nn.functional.silu(lin(m, l, "g", params, adapter)) * lin(m, l, "u", params, adapter), l,
                        "d", params, adapter)
        logits = rms(h, params["norm"]) @ params["head"].T
        seen.setdefault("logits", logits.dtype)
        return logits

    opt = torch.optim.AdamW(lora.values() if R else params.values(), lr=1e-4)
    ref = params if R else {k: v.detach().clone() for k, v in params.items()}  # LoRA: the base, adapter off
    ids = torch.randint(0, V, (B, T))

    def seq_logps(logits):  # in fp32, as transformers' CausalLM upcasts the logits (bf16 sums of 255 would be noise)
        lp = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, ids[:, 1:, None])[..., 0]
        return lp.sum(1)

    def step(bf16):
        seen.clear()  # what this step made: the last timed step is of the last kind, bf16 if any
        autocast = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
        with autocast:  # bf16: the forward and the loss; the backward and AdamW outside
            if mode == "pref":
                with torch.no_grad():
                    r = seq_logps(forward(ids, ref, adapter=False))
                p = seq_logps(forward(ids))
                m = (p[:pairs] - r[:pairs]) - (p[pairs:] - r[pairs:])
                loss = -torch.nn.functional.logsigmoid(0.1 * m).mean()
            else:
                logits = forward(ids)
                loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))
            seen.setdefault("loss", loss.dtype)
        opt.zero_grad()
        loss.backward()
        opt.step()

    times = {bf16: [] for bf16 in kinds}
    for _ in range(repeat + 1):
        for bf16 in kinds:
            t0 = time.perf_counter()
            step(bf16)
            times[bf16].append(time.perf_counter() - t0)
    for bf16 in kinds:
        ts = sorted(times[bf16][1:])  # the first step warms up
        med = ts[len(ts) // 2]
        if bf16:
            grads = {p.grad.dtype for p in (lora.values() if R else params.values()) if p.grad is not None}
            print("pytorch bf16 autocast: " + ", ".join(f"{k} {str(v).replace('torch.', '')}" for k, v in seen.items()) +
                  f"; gradients and AdamW {'/'.join(str(g).replace('torch.', '') for g in grads)}; oneDNN "
                  f"{'available' if torch.backends.mkldnn.is_available() else 'NOT available'}")
        print(f"pytorch {torch.__version__}: {mode.upper()}{f' LoRA r {R}' if R else ''} step {B} x {T} tokens"
              f"{', bf16 autocast' if bf16 else ''}{', steps alternating' if len(kinds) > 1 else ''}, "
              f"{threads} threads: median {med:.3f} s "
              f"(min {ts[0]:.3f}, max {ts[-1]:.3f} over {repeat}), {B * T / med:.0f} tokens/s")
    # One more step of each kind under the profiler: how much of PyTorch's step is its BLAS
    # matrix products (self time of the ops that call sgemm). No engine whose products are no
    # faster than these can beat PyTorch by more than step / products.
    for bf16 in kinds:
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            step(bf16)
            wall = time.perf_counter() - t0
        ops = prof.key_averages()
        blas = sum(e.self_cpu_time_total for e in ops if e.key in BLAS_OPS) / 1e6
        # bf16: the casts autocast adds (fp32 weights and activations to bf16, gradients back), with what they call
        casts = sum(e.cpu_time_total for e in ops if e.key == "aten::_to_copy") / 1e6
        print(f"pytorch{' bf16' if bf16 else ''} matrix products: {blas:.3f} s of a {wall:.3f} s profiled step "
              f"({100 * blas / wall:.0f}%)" + (f"; dtype casts {casts:.3f} s ({100 * casts / wall:.0f}%)" if bf16 else ""))


if __name__ == "__main__":
    main()
