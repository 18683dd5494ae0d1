#!/usr/bin/env python3
"""Side by side, in one run: the engine (build/engine_check) and PyTorch (scripts/bench_torch.py)
on the same model shape, batch, step and thread count. Prints tokens/s for each, their
ratio, the engine's model GFLOP/s and its fraction of the machine's measured fp32 peak, and
the engine's peak RSS next to its arena plan.

usage: bench_compare.py NAME HIDDEN LAYERS HEADS KV FFN VOCAB BATCH SEQ REPEAT PEAK1 PEAK2 [modes] [threads]
  PEAK1/PEAK2: measured fp32 peak GFLOP/s with 1 and 2 threads (build/bench_gemm).
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
    name = sys.argv[1]
    E, L, H, KV, F, V, B, T, repeat = map(int, sys.argv[2:11])
    peaks = {1: float(sys.argv[11]), 2: float(sys.argv[12])}
    modes = sys.argv[13].split(",") if len(sys.argv) > 13 else ["sft", "pref"]
    threads = [int(t) for t in sys.argv[14].split(",")] if len(sys.argv) > 14 else [1, 2]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"model_type": "qwen2", "hidden_size": E, "num_hidden_layers": L, "num_attention_heads": H,
                   "num_key_value_heads": KV, "intermediate_size": F, "vocab_size": V, "tie_word_embeddings": False,
                   "rope_theta": 1000000.0, "rms_norm_eps": 1e-6}, f)
        cfg = f.name
    print(f"== {name}: vocab {V}, dim {E}, {L} layers, {H}/{KV} heads, ffn {F}; "
          f"{B} {'pairs' if 'pref' in modes else 'rows'} x {T} tokens")
    for mode in modes:
        seqs = 2 * B if mode.endswith("pref") else B
        lora = mode.startswith("lora")
        flops = model_flops(E, L, H, KV, F, V, B, T, mode)
        engine_s = {}
        for t in threads:
            env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
            e = subprocess.run([os.path.join(ROOT, "build", "engine_check"), "--init", cfg, "--random-batch",
                                f"{B},{T}", "--repeat", str(repeat), "--threads", str(t)] +
                               (["--pref"] if mode.endswith("pref") else []) +
                               (["--lora-r", str(LORA_R)] if lora else []), capture_output=True, text=True, env=env)
            p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "scripts", "bench_torch.py"),
                                *map(str, (E, L, H, KV, F, V, B, T, t, repeat)), mode.replace("lora-", "")] +
                               ([f"lora:{LORA_R}"] if lora else []), capture_output=True, text=True, env=env)
            em = re.search(r"median ([\d.]+) s", e.stdout)
            pm = re.search(r"median ([\d.]+) s", p.stdout)
            pb = re.search(r"products: ([\d.]+) s of a ([\d.]+) s", p.stdout)
            mem = re.search(r"arena plan (.*?), baseline.*?peak RSS (.*?):.*?= ([+-][\d.]+%)", e.stdout)
            if not em or not pm:
                print(f"  {mode} {t} thread(s): failed: {e.stderr.strip()[-200:]} {p.stderr.strip()[-200:]}")
                continue
            es, ps = float(em.group(1)), float(pm.group(1))
            engine_s[t] = es
            tok = seqs * T
            gf = flops / es / 1e9
            print(f"  {mode:9s} {t} thread(s): engine {tok / es:8.0f} tokens/s, pytorch {tok / ps:8.0f} tokens/s, "
                  f"ratio {ps / es:5.2f}x | engine {gf:6.1f} GFLOP/s = {100 * gf / peaks[t]:4.1f}% of the "
                  f"{peaks[t]:.0f} GFLOP/s peak | peak RSS {mem.group(2)} vs plan {mem.group(1)} ({mem.group(3)})")
            if pb:  # where PyTorch's time goes, and what 2x PyTorch would take of this machine
                print(f"       PyTorch's BLAS products: {100 * float(pb.group(1)) / float(pb.group(2)):.0f}% of its "
                      f"step; 2x PyTorch needs the engine's whole step at "
                      f"{100 * 2 * flops / ps / 1e9 / peaks[t]:.0f}% of the peak")
        if 1 in engine_s and len(engine_s) > 1:
            print(f"  {mode:9s} engine thread scaling: " + ", ".join(
                f"{t} threads {engine_s[1] / engine_s[t]:.2f}x" for t in sorted(engine_s) if t > 1) + " one thread's speed")
    os.unlink(cfg)


if __name__ == "__main__":
    main()
