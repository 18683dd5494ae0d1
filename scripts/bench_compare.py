#!/usr/bin/env python3
"""Side by side, in one run: the engine (build/engine_check) and PyTorch (scripts/bench_torch.py)
on the same model shape, batch, step and thread count. Prints tokens/s for each, their
ratio, the engine's model GFLOP/s and its fraction of the machine's measured fp32 peak, and
the engine's peak RSS next to its arena plan. With --bf16, each row is followed by the same
step with bf16 products on both sides (engine_check --dtype bf16; PyTorch under bf16 autocast,
fp32 master weights and AdamW), and the ratios of the bf16 step to the engine's fp32 step, to
PyTorch fp32 and to PyTorch bf16. Each side then runs its fp32 and bf16 steps in turn in one
process (engine_check --dtype fp32,bf16, bench_torch.py fp32,bf16), so the ratio of the two is
not taken between a quiet minute and a busy one of a shared machine. The two sides, separate
processes, run in BENCH_ROUNDS rounds (default 2), and each side's figures are from its
quietest round.

usage: bench_compare.py [--bf16 BPEAK1,BPEAK2] NAME HIDDEN LAYERS HEADS KV FFN VOCAB BATCH SEQ REPEAT PEAK1 PEAK2
                        [modes] [threads]
  PEAK1/PEAK2: measured fp32 peak GFLOP/s with 1 and 2 threads (build/bench_gemm); BPEAK1/BPEAK2 the
  bf16 (vdpbf16ps) peak, 0 where the CPU has no AVX512_BF16 (the bf16 rows are then against the fp32 peak).
  modes: sft, pref (full fine-tuning), lora-sft, lora-pref (LoRA r 16 on all seven linear layers of
  an fp32 base, both sides)."""
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


LORA_R = 16
# Rounds of (engine, PyTorch) per row; each side's figures come from its own quietest round (the
# smallest sum of its medians), the same rule for both.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))


def model_flops(E, L, H, KV, F, V, B, T, mode):
    """Matrix-multiply FLOPs of one step, counted as the model needs them (forward 2, backward
    4 per weight per token; attention's two causal products), not as an implementation
    happens to spend them. LoRA: a frozen weight needs 2 forward and 2 for the input gradient
    (no weight gradient), an adapter weight 6."""
    D = E // H
    weights = L * (2 * E * H * D + 2 * E * KV * D + 3 * E * F) + V * E
    attn = L * H * 2 * T * T * D  # QK^T and PV, causal half of T^2, 2 FLOPs per multiply-add, per sequence
    adapter = L * LORA_R * (2 * (E + H * D) + 2 * (E + KV * D) + 3 * (E + F))
    if mode == "sft":
        return 6 * weights * B * T + 3 * attn * B
    if mode == "lora-sft":
        return (4 * weights + 6 * adapter) * B * T + 3 * attn * B
    seqs = 2 * B  # pairs: chosen and rejected; the reference adds a forward
    if mode == "lora-pref":
        return (6 * weights + 6 * adapter) * seqs * T + 4 * attn * seqs
    return 8 * weights * seqs * T + 4 * attn * seqs


def main():
    args = sys.argv[1:]
    bf16_peaks = None
    if args and args[0] == "--bf16":
        bf16_peaks = dict(zip((1, 2), map(float, args[1].split(","))))
        args = args[2:]
    name = args[0]
    E, L, H, KV, F, V, B, T, repeat = map(int, args[1:10])
    peaks = {1: float(args[10]), 2: float(args[11])}
    modes = args[12].split(",") if len(args) > 12 else ["sft", "pref"]
    threads = [int(t) for t in args[13].split(",")] if len(args) > 13 else [1, 2]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"model_type": "qwen2", "hidden_size": E, "num_hidden_layers": L, "num_attention_heads": H,
                   "num_key_value_heads": KV, "intermediate_size": F, "vocab_size": V, "tie_word_embeddings": False,
                   "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}, f)
        cfg = f.name
    print(f"== {name}: vocab {V}, dim {E}, {L} layers, {H}/{KV} heads, ffn {F}; "
          f"{B} {'pairs' if 'pref' in modes else 'rows'} x {T} tokens; medians of {repeat} steps, each side's "
          f"quietest of {ROUNDS} rounds")
    for mode in modes:
        seqs = 2 * B if mode.endswith("pref") else B
        lora = mode.startswith("lora")
        flops = model_flops(E, L, H, KV, F, V, B, T, mode)
        tok = seqs * T
        engine_s = {"fp32": {}, "bf16": {}}

        def run(t, dtype):
            """engine_check, then bench_torch.py, on t threads, in fp32 or bf16 or with "fp32,bf16" both
            in turn: the engine's stdout, its median seconds per dtype, PyTorch's stdout and its medians"""
            env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
            best = None
            for _ in range(ROUNDS):  # each side's quietest round: noise on a shared machine only ever slows
                r = run_once(t, dtype, env)
                if r is None:
                    return None
                if best is None:
                    best = list(r)
                if sum(r[1]) < sum(best[1]):
                    best[0], best[1] = r[0], r[1]
                if sum(r[3]) < sum(best[3]):
                    best[2], best[3] = r[2], r[3]
            return best

        def run_once(t, dtype, env):
            e = subprocess.run([os.path.join(ROOT, "build", "engine_check"), "--init", cfg, "--random-batch",
                                f"{B},{T}", "--repeat", str(repeat), "--threads", str(t)] +
                               (["--pref"] if mode.endswith("pref") else []) +
                               (["--lora-r", str(LORA_R)] if lora else []) +
                               ["--dtype", dtype], capture_output=True, text=True,
                               env=env)
            p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "bench_torch.py"),
                                *map(str, (E, L, H, KV, F, V, B, T, t, repeat)), mode.replace("lora-", "")] +
                               ([f"lora:{LORA_R}"] if lora else []) + ([dtype] if dtype != "fp32" else []),
                               capture_output=True, text=True, env=env)
            em = [float(x) for x in re.findall(r"median ([\d.]+) s", e.stdout)]  # in the order of dtype's list
            pm = [float(x) for x in re.findall(r"median ([\d.]+) s", p.stdout)]
            if len(em) != dtype.count(",") + 1 or len(pm) != len(em):
                print(f"  {mode} {dtype} {t} thread(s): failed: {e.stderr.strip()[-200:]} {p.stderr.strip()[-200:]}")
                return None
            return e.stdout, em, p.stdout, pm

        def memory(out):
            mem = re.search(r"arena plan (.*?), baseline.*?peak RSS (.*?):.*?= ([+-][\d.]+%)", out)
            return f"peak RSS {mem.group(2)} vs plan {mem.group(1)} ({mem.group(3)})" if mem else "no memory line"

        for t in threads:
            r = run(t, "fp32" if bf16_peaks is None else "fp32,bf16")
            if not r:
                continue
            eout, em, pout, pm = r
            es, ps = em[0], pm[0]
            engine_s["fp32"][t] = es
            gf = flops / es / 1e9
            print(f"  {mode:14s} {t} thread(s): engine {tok / es:8.0f} tokens/s, pytorch {tok / ps:8.0f} tokens/s, "
                  f"ratio {ps / es:5.2f}x | engine {gf:6.1f} GFLOP/s = {100 * gf / peaks[t]:4.1f}% of the "
                  f"{peaks[t]:.0f} GFLOP/s peak | {memory(eout)}")
            pb = re.search(r"pytorch matrix products: ([\d.]+) s of a ([\d.]+) s", pout)
            if pb:  # where PyTorch's time goes, and what 2x PyTorch would take of this machine
                print(f"       PyTorch's BLAS products: {100 * float(pb.group(1)) / float(pb.group(2)):.0f}% of its "
                      f"step; 2x PyTorch needs the engine's whole step at "
                      f"{100 * 2 * flops / ps / 1e9 / peaks[t]:.0f}% of the peak")
            if bf16_peaks is None:
                continue
            bout, bs, qout, qs = eout, em[1], pout, pm[1]
            engine_s["bf16"][t] = bs
            gf = flops / bs / 1e9
            peak, peak_name = (bf16_peaks[t], "bf16") if bf16_peaks.get(t) else (peaks[t], "fp32")
            print(f"  {mode + ' bf16':14s} {t} thread(s): engine {tok / bs:8.0f} tokens/s, pytorch bf16 autocast "
                  f"{tok / qs:8.0f} tokens/s"
                  f" | bf16 step: {es / bs:4.2f}x engine fp32, {ps / bs:4.2f}x PyTorch fp32, {qs / bs:4.2f}x PyTorch bf16"
                  f" | engine {gf:6.1f} GFLOP/s = {100 * gf / peak:4.1f}% of the {peak:.0f} GFLOP/s {peak_name} peak"
                  f" | {memory(bout)}")
            pb = re.search(r"bf16 matrix products: ([\d.]+) s of a ([\d.]+) s.*casts ([\d.]+) s", qout)
            dt = re.search(r"autocast: (.*); oneDNN (\S+)", qout)
            if pb:
                print(f"       PyTorch bf16: {100 * float(pb.group(1)) / float(pb.group(2)):.0f}% of its step in matrix "
                      f"products, {100 * float(pb.group(3)) / float(pb.group(2)):.0f}% in dtype casts; 2x PyTorch bf16 "
                      f"needs the engine's whole bf16 step at {100 * 2 * flops / qs / 1e9 / peak:.0f}% of the {peak_name}"
                      f" peak" + (f" ({dt.group(1)}; oneDNN {dt.group(2)})" if dt and t == threads[0] else ""))
        for dtype, secs in engine_s.items():
            if 1 in secs and len(secs) > 1:
                print(f"  {mode + (' bf16' if dtype == 'bf16' else ''):14s} engine thread scaling: " + ", ".join(
                    f"{t} threads {secs[1] / secs[t]:.2f}x" for t in sorted(secs) if t > 1) + " one thread's speed")
    os.unlink(cfg)


if __name__ == "__main__":
    main()
