"""--dtype bf16 (issue 16) against PyTorch, against the fp32 engine, and in training.

The semantics: every matrix product's two inputs rounded to bf16 (round to nearest even), the
product summed in fp32 into an fp32 output; everything else as in the fp32 engine (embedding,
RMSNorm, RoPE, attention's own score and value loops, SwiGLU, softmax, the loss, biases).

1. Against PyTorch (PASS/FAIL per variant). test_oracle.py's decoder with every weight product
   x W^T (q, k, v, o, gate, up, down, the LM head tied or not, LoRA's two) made by BF16MM, a
   torch.autograd.Function: forward round(x) round(W)^T, backward dx = round(dy) round(W) and
   dW = round(dy)^T round(x), round() being torch's .to(torch.bfloat16). The products are taken
   in float64 on the rounded values (float64 elsewhere too), so the reference is the semantics
   with exact sums. Variants: both families (qwen2 with biases and a tied head, llama untied
   with GQA 7 and llama3 RoPE), the LM head separate and fused, a row-sum loss, DPO and SPO
   steps with --ref-model (whose forward rounds too; one with --ref-bf16), LoRA (SFT with
   dropout; DPO with the base as reference; SPO with a frozen reference adapter), three with
   --recompute, which must give the same outputs bit for bit as keeping every activation.
   The models are test_oracle.py's with the linear layers' weights at std 0.15 instead of 0.3
   (near unit gain; at 0.3 the step is so ill-conditioned that bf16 moves gradients by 70%).
   The metric is test_oracle.py's, per tensor: max|engine - torch| / (max|torch| + 1e-6) (the
   loss against the largest term it averages: a mean of pair losses can sit near 0).
   Near-ties. Where the engine is right it matches this reference to ~1e-7 except when an
   activation lies within the engine's fp32 noise (~1e-7 relative) of a midpoint between two
   bf16 values: the engine may round it the other way, one bf16 step (2^-8 relative) on that
   element, and the step's outputs then move by up to ~3e-2 in this metric (measured over 24
   seeds: a flip in an early layer travels through attention and the backward). About half the
   variants have one. So the reference records every activation within 2^-15 (relative) of a
   midpoint and resolves them: it reruns with such a near-tie rounded the other way and keeps
   the one that best explains the engine's result, until the worst error is under TOL_TIES
   (1e-4) or none helps (at most 8). Measured: 0-3 near-ties per variant, after which the worst
   error is 2.1e-5 (DPO's cancellation of fp32 noise; most are ~1e-7). The issue's 1e-2 on the
   raw metric would be neither robust (a right engine measures up to 1.3e-2 here, 2.8e-2 on
   other seeds) nor sharp: with the dW product of every linear layer left unrounded the raw
   metric stays at 4e-3..8e-3 and passes, while the resolved one fails at 4e-3..5.5e-3 in every
   variant it touches. A bf16 mode that rounded nothing would be 1.5e-2..7e-2 away.
2. Against the fp32 engine (engine_check without --dtype, same steps). Rounding moves each input
   by at most u = 2^-9 relative (RNE, 8 significant bits), so one product's output moves by about
   u * sqrt(2/3) ~ 1.6e-3 relative in RMS (two inputs, independent errors), ~3e-3 at a tensor's
   worst element against its largest; the forward compounds that over the products in series
   (about 9 here: sqrt(9) * 3e-3 ~ 1e-2), the backward adds the rounding of dy in each product and
   compounds further, and preference losses amplify both by |logp| / |logp_policy - logp_ref|,
   since the loss sees the small difference of two large sums. Measured worst over the variants:
   logits and log-probs 4.5e-3..1.3e-2, gradients 1.4e-2..6.8e-2, losses up to 7.4e-2 (SPO beta
   0.5). The check: logits and log-probs in (1e-3, 4e-2) (the lower bound catches a bf16 mode
   that rounds nothing, ~1e-7 from fp32, or only the weights), losses and gradients under 0.2,
   3x the worst measured; a broken product (wrong operand, truncated to a few bits) is O(1).
3. For information: the same steps under real torch.autocast("cpu", dtype=torch.bfloat16) on
   float32 weights, which also rounds every product's output to bf16 and runs the attention
   products in bf16: the worst differences of the bf16 and of the fp32 engine from it, printed.
4. Training (PASS/FAIL): 200 steps of the default SFT run (./train --stage sft: the default
   model from random weights on the sample chats, configs/default-sft.json) and of the default
   SPO run (configs/default-pref.json, SPO beta 0.1 on the sample pairs), each fp32 and --dtype
   bf16, same seed and batches; both SPO runs start from the fp32 SFT run's final checkpoint.
   Shrunk to about 3.5 minutes for the four on 2 cores: SFT one packed 1024-token sequence per step
   instead of two, SPO the default 8 pairs per step but cut to 128 tokens instead of 512 (4 pairs
   of 256 made the run swing between losses of -0.3 and +8 and the two runs' accuracies differ by
   0.075). Compared: means over the last 20 steps (single steps differ by up to 1.8% where the
   means differ by 1.5%). The default SFT recipe (lr 1e-2 from random weights) is chaotic: an
   fp32 run whose initial weights moved by one ulp (1.5e-7) ends 0.3% (1 x 1024) to 4.1%
   (2 x 512) away from the unmoved one, bf16 1.5% and 5.5%; with the shape here bf16's gap
   measured -1.5% (seed 42) and -0.1% (seed 7), so SFT's tolerance is 3%, not the issue's 2%.
   SPO from a trained checkpoint is calm: loss within 2% (measured 0.6%, 1.0%), pair accuracy
   (rewards/accuracies) within 0.03 (measured 0.0, 0.0). Under SANITIZED (the ASan suite) only 3
   bf16 steps of each, to check they run cleanly; the comparison prints SKIP.

ENGINE and TRAIN in the environment point the test at other builds (a deliberately broken one).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402
import test_oracle as O  # noqa: E402
from harness import ROOT, reporter  # noqa: E402
from test_lora import MODULES, random_adapter, write_adapter  # noqa: E402

ENGINE = os.environ.get("ENGINE", O.ENGINE)
TRAIN = os.environ.get("TRAIN", os.path.join(ROOT, "train"))
TOL_TIES = 1e-4  # check 1, per tensor, once near-ties are resolved (measured worst 2.1e-5)
TIE_EPS = 2.0 ** -15  # a near-tie: within this (relative) of a bf16 midpoint (the engine's farthest seen: 4.9e-6)
MAX_FLIPS, MAX_TRIES = 8, 400  # near-ties resolved per step at most; candidates tried per resolution
WEIGHT_STD, LORA_STD = 0.15, 0.1  # the linear layers' and the adapters' random weights (near unit gain)
FORWARD = ("logits", "logp")  # check 2: these in (LOW, FWD); losses and gradients under REST
TOL_FP32_LOW, TOL_FP32_FWD, TOL_FP32_REST = 1e-3, 4e-2, 0.2
torch.set_default_dtype(torch.float64)
result, guard = reporter("bf16")


# ----------------------------------------------------------------------------- the bf16 reference

def bf16(t):
    """t rounded to the nearest bf16 (ties to even), kept in t's dtype (through float32, as
    torch converts to bf16 from float: the engine too rounds fp32 values)."""
    return t.float().to(torch.bfloat16).to(t.dtype)


class Rounding:
    """The activations' roundings of one reference step (the inputs x of the forward products,
    dy of the backward's), numbered in call order, forward then backward (the same order on
    every run of the same step). Weights are rounded by bf16() alone: the engine holds the
    same fp32 weights, so the two always round them alike. An activation element whose value
    lies within TIE_EPS (relative) of the midpoint between two bf16 values is a near-tie: the
    engine's fp32 value of it differs from this float64 one by its fp32 noise and may fall on
    the other side. ties lists them as (distance, site, index); flips {(site, index)} makes
    this run round those elements to the other neighbour, and with each every element of the
    site that holds the very same value (the shared prompt of a pair's two sequences is the
    same computation twice, in the engine too)."""

    def __init__(self, flips=()):
        self.flips = {}
        for site, i in flips:
            self.flips.setdefault(site, []).append(i)
        self.site, self.ties, self.seen = 0, [], {}

    def __call__(self, t):
        if id(t) in self.seen:  # one tensor into several products (q, k and v; gate and up): one site, as the
            return self.seen[id(t)][1]  # engine rounds the same fp32 values alike (kept alive: ids stay unique)
        site, self.site = self.site, self.site + 1
        x = t.detach().reshape(-1).double().numpy()
        r = torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16).float().numpy()
        bits = r.view(np.uint32) >> 16
        nonzero = r != 0
        away = np.abs(x) > np.abs(r)  # the other neighbour: one bf16 step away from zero, or towards it
        alt_bits = np.where(away, bits + 1, np.where(nonzero, bits - 1, bits)).astype(np.uint32)
        alt = (alt_bits << 16).view(np.float32)
        mid = (r.astype(np.float64) + alt) / 2
        dist = np.abs(x - mid) / np.maximum(np.abs(x), 1e-300)
        near = nonzero & np.isfinite(alt) & (dist <= TIE_EPS)
        seen = set()
        for i in np.nonzero(near)[0]:
            if x[i] not in seen:  # equal values (a pair's shared prompt, in both its sequences): one near-tie
                seen.add(x[i])
                self.ties.append((dist[i], site, int(i)))
        for i in self.flips.get(site, ()):
            same = x == x[i]
            r[same] = alt[same]
        out = torch.from_numpy(r.astype(np.float64)).reshape(t.shape).to(t.dtype)
        self.seen[id(t)] = (t, out)
        return out


ROUND = Rounding()


class BF16MM(torch.autograd.Function):
    """y = round(x) round(W)^T, x [..., K], W [N, K]; backward dx = round(dy) round(W),
    dW = round(dy)^T round(x): the engine's three products of a linear layer in bf16, the
    products themselves taken in float64 on the rounded values."""

    @staticmethod
    def forward(ctx, x, w):
        xr, wr = ROUND(x), bf16(w)
        ctx.save_for_backward(xr, wr)
        return xr @ wr.T

    @staticmethod
    def backward(ctx, dy):
        xr, wr = ctx.saved_tensors
        dyr = ROUND(dy)
        dx = dyr @ wr
        dw = dyr.reshape(-1, dyr.shape[-1]).T @ xr.reshape(-1, xr.shape[-1])
        return dx, dw


def mm_bf16(x, w):
    return BF16MM.apply(x, w)


def reference(mode, cfg, P32, seqs, loss, weights=None, lora=None, R32=None, beta=0.1, flips=()):
    """One step in torch. mode "bf16": float64 with mm_bf16 (flips: near-ties rounded the other
    way, see Rounding); "autocast": float32 weights under torch.autocast("cpu", bfloat16) with
    plain products. loss: ce | rowsum | dpo | spo | ... (preference: R32 the reference model's
    weights, or with LoRA lora["ref"]: None (the base) or a frozen adapter). lora: None or
    dict(adapter={module: (A, B)}, scale, masks, ref).
    Returns ({engine output name: numpy array}, the run's near-ties)."""
    global ROUND
    ROUND = Rounding(flips)
    dt = torch.float64 if mode == "bf16" else torch.float32
    mm = mm_bf16 if mode == "bf16" else None
    old = torch.get_default_dtype()
    torch.set_default_dtype(dt)
    try:
        train_base = lora is None
        P = {k: torch.tensor(v, dtype=dt, requires_grad=train_base) for k, v in P32.items()}
        L_ = None
        if lora is not None:
            A = {k: torch.tensor(a, dtype=dt, requires_grad=True) for k, (a, b) in lora["adapter"].items()}
            B = {k: torch.tensor(b, dtype=dt, requires_grad=True) for k, (a, b) in lora["adapter"].items()}
            masks = None if lora.get("masks") is None else {k: m.to(dt) for k, m in lora["masks"].items()}
            L_ = dict(A=A, B=B, scale=lora["scale"], masks=masks)
        ids, pos, valid, labels = O.batch_tensors(seqs)

        def forward(params, lr):
            if mode == "autocast":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    lg = O.reference_forward(params, cfg, ids, pos, valid, lr)
                lg = lg.to(dt)
            else:
                lg = O.reference_forward(params, cfg, ids, pos, valid, lr, mm=mm)
            lp, sc = O.token_logps(lg, labels)
            return lg, lp, sc

        out = {}
        if loss in ("ce", "rowsum"):
            logits, tok_logp, scored = forward(P, L_)
            if loss == "ce":
                Lv = -tok_logp.sum() / scored.sum()
                out["loss_scale"] = abs(Lv.item())
            else:
                terms = torch.tensor(weights, dtype=dt) * tok_logp.sum(1)
                Lv = terms.sum()
                out["loss_scale"] = terms.abs().sum().item()
        else:  # the reference's forward first, as the engine runs them
            with torch.no_grad():
                if lora is None:
                    ref = forward({k: torch.tensor(v, dtype=dt) for k, v in R32.items()}, None)[1].sum(1)
                else:
                    ra = lora.get("ref")
                    rl = None if ra is None else dict(
                        A={k: torch.tensor(a, dtype=dt) for k, (a, b) in ra.items()},
                        B={k: torch.tensor(b, dtype=dt) for k, (a, b) in ra.items()}, scale=lora["scale"], masks=None)
                    ref = forward(P, rl)[1].sum(1)
            logits, tok_logp, scored = forward(P, L_)
            pol, n = tok_logp.sum(1), scored.sum(1)
            pair = O.pair_losses(loss, beta, pol[0::2] - ref[0::2], pol[1::2] - ref[1::2], n[0::2], n[1::2])
            Lv = pair.mean()
            out["pair_loss"] = pair.detach().double().numpy()
            out["loss_scale"] = pair.abs().max().item()
        Lv.backward()
        out["loss"] = np.array([Lv.item()])
        out["logp"] = tok_logp.detach().double().numpy()
        out["logits"] = logits.detach().double().numpy()[valid.numpy()]
        if lora is None:
            for k, p in P.items():
                out["grad." + k] = p.grad.double().numpy()
        else:
            for k in A:
                out[f"grad.base_model.model.{k}.lora_A.weight"] = A[k].grad.double().numpy()
                out[f"grad.base_model.model.{k}.lora_B.weight"] = B[k].grad.double().numpy()
        return out, ROUND.ties
    finally:
        torch.set_default_dtype(old)


def resolve_ties(C, run):
    """The engine's result C against the bf16 reference, near-ties resolved: run(flips) gives
    the reference (outputs, near-ties) with those near-ties rounded the other way. Tries the
    near-ties of the trajectory so far, nearest first, and takes the first that cuts the summed
    per-tensor error by half (else the best that cuts it by a fifth), until the worst error is
    under TOL_TIES or nothing helps. Returns (errors of the plain reference, errors after, flips)."""
    R, ties = run([])
    raw = errs = rel_errors(C, R)
    flips = []
    while max(errs.values()) >= TOL_TIES and len(flips) < MAX_FLIPS:
        total, best = sum(errs.values()), None
        for _, site, i in sorted(ties)[:MAX_TRIES]:
            if (site, i) in flips:
                continue
            Rc, tc = run(flips + [(site, i)])
            ec = rel_errors(C, Rc)
            if best is None or sum(ec.values()) < sum(best[0].values()):
                best = (ec, (site, i), tc)
            if sum(ec.values()) < 0.5 * total:
                break
        if best is None or sum(best[0].values()) > 0.8 * total:
            break
        errs, ties = best[0], best[2]
        flips.append(best[1])
    return raw, errs, flips


# ----------------------------------------------------------------------------- one variant

def make_params(cfg, rng):
    """test_oracle.py's random model with its linear layers' weights at WEIGHT_STD instead of
    0.3, near unit gain at these widths (0.15 sqrt(32..56) = 0.85..1.1): at 0.3 every layer
    doubles its input and the step is so ill-conditioned that bf16 moves gradients by up to 70%."""
    P = O.make_params(cfg, rng)
    lin = ("_proj.weight",)
    return {k: (v * (WEIGHT_STD / 0.3)).astype(np.float32) if k.endswith(lin) else v for k, v in P.items()}


def engine(args, dtype, tmp, tag):
    out = os.path.join(tmp, f"{tag}.safetensors")
    cmd = [ENGINE] + args + ["--out", out] + (["--dtype", "bf16"] if dtype == "bf16" else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"engine_check {' '.join(cmd[1:])}: {p.stderr.strip()[-300:]}")
    C, _ = st_numpy.read(out)
    return C


def outputs(C, valid):
    """An engine result as the reference's: float64, logits of real tokens only, no masks."""
    out = {k: np.asarray(v, np.float64) for k, v in C.items() if not k.startswith("mask.")}
    out["logits"] = out["logits"][valid]
    out["loss"] = out["loss"].reshape(1)
    return out


def rel_errors(C, R):
    """{tensor kind: worst max|c - r| / (max|r| + 1e-6)} over the tensors of R; the loss against
    the size of the terms it sums (R's "loss_scale"), as a mean of pair losses or a weighted sum
    of log-probs can come out near 0 while each term is not."""
    errs = {}
    for k, r in R.items():
        if k == "loss_scale":
            continue
        c = C[k].reshape(r.shape)
        scale = max(np.abs(r).max(), R["loss_scale"] if k == "loss" else 0.0)
        e = float(np.abs(c - r).max() / (scale + 1e-6))
        kind = O.kind_of(k)
        errs[kind] = max(errs.get(kind, 0.0), e if np.isfinite(e) else float("inf"))
    return errs


def run_variant(name, cfg, kind="sft", loss="ce", fused=False, beta=0.1, lora_r=0, lora_targets=None, dropout=0.0,
                ref_adapter=False, ref_bf16=False, recompute=False, seed=0):
    rng = np.random.default_rng(seed)
    P32 = make_params(cfg, rng)
    rows = O.make_rows(cfg, rng, kind)
    seqs = O.sequences(rows, kind)
    weights = rng.normal(0, 1, len(seqs)).round(3).tolist()
    pref = loss not in ("ce", "rowsum")
    R32 = None
    if pref and not lora_r:
        R32 = {k: (v + rng.normal(0, 0.05, v.shape)).astype(np.float32) for k, v in P32.items()}
    targets = lora_targets or tuple(MODULES)
    adapter = random_adapter(cfg, lora_r, targets, rng, LORA_STD) if lora_r else None
    radapter = random_adapter(cfg, lora_r, targets, rng, LORA_STD * 0.7) if lora_r and ref_adapter else None
    with tempfile.TemporaryDirectory() as tmp:
        mdir = os.path.join(tmp, "model")
        O.write_model(mdir, cfg, P32, "F32", 1)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        loss_arg = f"pref:{loss}:{beta}" if pref else ("ce-fused" if fused else "ce") if loss == "ce" else \
            "rowsum:" + ",".join(str(w) for w in weights)
        args = ["--model", mdir, "--data", data, "--loss", loss_arg]
        if R32 is not None:
            O.write_model(os.path.join(tmp, "ref"), cfg, R32, "F32", 1)
            args += ["--ref-model", os.path.join(tmp, "ref")] + (["--ref-bf16"] if ref_bf16 else [])
        if lora_r:
            alpha = 2.0 * lora_r
            write_adapter(os.path.join(tmp, "adapter"), adapter, lora_r, alpha, targets, False)
            args += ["--lora-r", str(lora_r), "--lora-alpha", str(alpha), "--lora-targets", ",".join(targets),
                     "--adapter", os.path.join(tmp, "adapter"), "--lora-dropout", str(dropout)]
            if pref:
                if radapter:
                    write_adapter(os.path.join(tmp, "refad"), radapter, lora_r, alpha, targets, False)
                args += ["--ref-adapter", os.path.join(tmp, "refad") if radapter else "base"]
        Cb = engine(args, "bf16", tmp, "bf16")
        Cf = engine(args, "fp32", tmp, "fp32")
        if recompute:  # bf16 with --recompute: the same outputs bit for bit as keeping every activation
            Cr = engine(args + ["--recompute"], "bf16", tmp, "recompute")
            differ = [k for k in Cb if k not in Cr or not np.array_equal(Cb[k], Cr[k])]
            result(f"{name}: --recompute gives the same {len(Cb)} outputs bit for bit as keeping every activation",
                   not differ and set(Cb) == set(Cr), f"differ: {', '.join(differ[:4])}" if differ else "")
    if ref_bf16:  # the reference's matrices kept in bf16 (vectors fp32), as the engine keeps them
        R32 = {k: st_numpy.bf16_bits_to_f32(st_numpy.f32_to_bf16_bits(v)) if v.ndim == 2 else v for k, v in R32.items()}
    lora = None
    if lora_r:
        ids = O.batch_tensors(seqs)[0]
        masks = None
        if dropout > 0:  # the engine's masks [N, in] per (layer, module), as [B, T, in]
            masks = {}
            for key, v in Cb.items():
                if key.startswith("mask."):
                    _, l, mod = key.split(".")
                    masks[(int(l), mod)] = torch.tensor(v.astype(np.float64)).reshape(ids.shape[0], ids.shape[1], -1)
        lora = dict(adapter=adapter, scale=2.0, masks=masks, ref=radapter)
    valid = O.batch_tensors(seqs)[2].numpy()
    Cb, Cf = outputs(Cb, valid), outputs(Cf, valid)
    raw, errs_ref, flips = resolve_ties(Cb, lambda fl: reference("bf16", cfg, P32, seqs, loss, weights, lora, R32, beta,
                                                                 fl))
    Rb = reference("bf16", cfg, P32, seqs, loss, weights, lora, R32, beta)[0]
    Ra = reference("autocast", cfg, P32, seqs, loss, weights, lora, R32, beta)[0]
    want = set(Rb) - {"loss_scale"}
    if set(Cb) != want or set(Cf) != want:
        raise RuntimeError(f"outputs differ from the reference's names: {sorted(set(Cb) ^ want)[:4]}")
    Cf["loss_scale"] = Rb["loss_scale"]  # the fp32 engine's outputs as the yardstick of the second check
    errs = {"raw": raw, "ref": errs_ref, "fp32": rel_errors(Cb, Cf), "autocast": rel_errors(Cb, Ra),
            "fp32 autocast": rel_errors(Cf, Ra), "fp32 ref": rel_errors(Cf, Rb)}
    w_raw, w_ref = (max(errs[k].values()) for k in ("raw", "ref"))
    result(f"{name}: against the bf16 torch reference", w_ref < TOL_TIES,
           f"worst relative error {w_ref:.2e} over {len(want)} tensors with {len(flips)} near-tie(s) rounded the "
           f"engine's way (tolerance {TOL_TIES:g}; {w_raw:.2e} before, in {max(raw, key=raw.get)}); the fp32 engine "
           f"against the same reference: {max(errs['fp32 ref'].values()):.2e}")
    fwd = max(v for k, v in errs["fp32"].items() if k in FORWARD)
    rest_k = max((k for k in errs["fp32"] if k not in FORWARD), key=errs["fp32"].get)
    rest = errs["fp32"][rest_k]
    result(f"{name}: against the fp32 engine", TOL_FP32_LOW < fwd < TOL_FP32_FWD and rest < TOL_FP32_REST,
           f"logits and log-probs {fwd:.2e} (expected in ({TOL_FP32_LOW:g}, {TOL_FP32_FWD:g})), losses and gradients "
           f"{rest:.2e} ({rest_k}; expected under {TOL_FP32_REST:g})")
    errs["flips"] = len(flips)
    return errs


QWEN, LLAMA = O.QWEN, O.LLAMA
VARIANTS = [
    ("qwen2 tied, GQA 2, bias, SFT, separate LM head", QWEN, dict(seed=0)),
    ("qwen2 untied, 3 layers, SFT, fused LM head, --recompute", dict(QWEN, tie_word_embeddings=False, num_hidden_layers=3),
     dict(fused=True, recompute=True, seed=1)),
    ("llama untied, GQA 7, llama3 rope, SFT, separate LM head", LLAMA, dict(seed=2)),
    ("llama untied, GQA 7, SFT, fused LM head", LLAMA, dict(fused=True, seed=3)),
    ("llama tied, preference rows, row-sum loss", dict(LLAMA, tie_word_embeddings=True),
     dict(kind="pref", loss="rowsum", seed=4)),
    ("qwen2 tied, bias, DPO step (--ref-model)", QWEN, dict(kind="pref", loss="dpo", seed=5)),
    ("llama untied, GQA 7, DPO step (--ref-model)", LLAMA, dict(kind="pref", loss="dpo", seed=6)),
    ("qwen2 tied, SPO beta 0.5 step, reference in bf16 (--ref-bf16), --recompute", QWEN,
     dict(kind="pref", loss="spo", beta=0.5, ref_bf16=True, recompute=True, seed=7)),
    ("LoRA r 8 all-linear, qwen2 tied, SFT fused, dropout 0.2", QWEN, dict(lora_r=8, fused=True, dropout=0.2, seed=8)),
    ("LoRA r 4 q,v,down, llama untied, DPO step, reference = the base", LLAMA,
     dict(kind="pref", loss="dpo", lora_r=4, lora_targets=("q", "v", "down"), seed=9)),
    ("LoRA r 8 all-linear, llama untied, SPO step, reference = a frozen adapter, --recompute", LLAMA,
     dict(kind="pref", loss="spo", lora_r=8, ref_adapter=True, recompute=True, seed=10)),
]


def oracle():
    if not os.path.exists(ENGINE):
        result("oracle", False, f"{ENGINE} is not built")
        return
    worst, flips_total = {}, 0
    t0 = time.time()
    for name, cfg, kw in VARIANTS:
        try:
            errs = run_variant(name, cfg, **kw)
        except Exception as e:  # noqa: BLE001  a crash fails this variant only
            result(name, False, f"{type(e).__name__}: {str(e)[-400:]}")
            continue
        flips_total += errs.pop("flips")
        for col, d in errs.items():
            for k, e in d.items():
                worst.setdefault(k, {})
                worst[k][col] = max(worst[k].get(col, 0.0), e)
    print(f"worst relative difference per tensor kind over the {len(VARIANTS)} variants ({time.time() - t0:.0f} s):")
    cols = (("raw", "vs ref"), ("ref", "ties res."), ("fp32", "vs fp32"), ("fp32 ref", "fp32-ref"),
            ("autocast", "vs autoc."), ("fp32 autocast", "fp32-autoc."))
    print(f"  {'tensor kind':52s}" + "".join(f" {c[1]:>11s}" for c in cols))
    for k in sorted(worst):
        print(f"  {k.replace('base_model.model.model.layers', 'adapter.layers'):52s}" + "".join(f" {worst[k].get(c[0], 0):11.2e}"
                                                                           for c in cols))
    print(f"  (bf16 engine against: the bf16 torch reference, float64 on rounded inputs; the same with the engine's "
          f"{flips_total} near-tie(s) rounded its way; the fp32 engine; real torch.autocast(\"cpu\", bfloat16), for "
          f"information. fp32-: the fp32 engine against the same)")


# ----------------------------------------------------------------------------- training quality

SFT_ARGS = ["--stage", "sft", "--batch-size", "1"]  # the default runs, shrunk (see the docstring)
SPO_ARGS = ["--stage", "pref", "--config", os.path.join(ROOT, "configs", "default-pref.json"), "--seq-len", "128"]
STEPS, LAST = 200, 20
TOL_SFT_LOSS, TOL_SPO_LOSS, TOL_ACC = 0.03, 0.02, 0.03


def train_run(args, out, dtype, steps):
    t0 = time.time()
    cmd = [TRAIN] + args + ["--max-steps", str(steps), "--save-every", "0", "--out", out] + \
        (["--dtype", "bf16"] if dtype == "bf16" else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr.strip()[-400:]}")
    m = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))]
    if len(m) != steps or not all(np.isfinite(x["loss"]) for x in m):
        raise RuntimeError(f"{out}: {len(m)} metric lines of {steps}, or a loss not finite")
    return m, time.time() - t0


def tail_mean(m, key):
    return float(np.mean([x[key] for x in m[-LAST:]]))


def training():
    with tempfile.TemporaryDirectory() as tmp:
        if os.environ.get("SANITIZED"):  # a few bf16 steps of each, on a few pairs: do they run cleanly
            def short():
                sft, _ = train_run(SFT_ARGS, os.path.join(tmp, "sft"), "bf16", 3)
                pairs = os.path.join(tmp, "pairs.jsonl")
                with open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")) as f, open(pairs, "w") as g:
                    g.writelines(f.readlines()[:16])
                spo, _ = train_run(SPO_ARGS + ["--model", os.path.join(tmp, "sft", "checkpoint-3"), "--data", pairs],
                                   os.path.join(tmp, "spo"), "bf16", 3)
                result("training: 3 steps of SFT and 3 of SPO with --dtype bf16 run cleanly", True,
                       f"SFT losses {[round(x['loss'], 4) for x in sft]}, SPO {[round(x['loss'], 4) for x in spo]}")
            guard("training: short bf16 runs", short)
            print("SKIP: bf16 training against fp32 (200 steps of SFT and SPO) runs in the normal suite, not under "
                  "the sanitizers")
            return
        runs, secs = {}, {}

        def sft():
            for dt in ("fp32", "bf16"):
                runs["sft", dt], secs["sft", dt] = train_run(SFT_ARGS, os.path.join(tmp, "sft-" + dt), dt, STEPS)
            a, b = (tail_mean(runs["sft", dt], "loss") for dt in ("fp32", "bf16"))
            fa, fb = (runs["sft", dt][-1]["loss"] for dt in ("fp32", "bf16"))
            result(f"training: SFT, {STEPS} steps: bf16's loss tracks fp32's", abs(b - a) <= TOL_SFT_LOSS * abs(a),
                   f"mean of the last {LAST} steps {b:.4f} against {a:.4f} ({100 * (b - a) / a:+.2f}%, tolerance "
                   f"{100 * TOL_SFT_LOSS:g}%); last step {fb:.4f} against {fa:.4f}; {secs['sft', 'bf16']:.0f} s and "
                   f"{secs['sft', 'fp32']:.0f} s")
        guard("training: SFT", sft)

        def spo():
            start = os.path.join(tmp, "sft-fp32", f"checkpoint-{STEPS}")  # both from the fp32 SFT's checkpoint
            for dt in ("fp32", "bf16"):
                runs["spo", dt], secs["spo", dt] = train_run(SPO_ARGS + ["--model", start],
                                                             os.path.join(tmp, "spo-" + dt), dt, STEPS)
            a, b = (tail_mean(runs["spo", dt], "loss") for dt in ("fp32", "bf16"))
            aa, ab = (tail_mean(runs["spo", dt], "rewards/accuracies") for dt in ("fp32", "bf16"))
            fa, fb = (runs["spo", dt][-1]["loss"] for dt in ("fp32", "bf16"))
            result(f"training: SPO, {STEPS} steps: bf16's loss tracks fp32's", abs(b - a) <= TOL_SPO_LOSS * abs(a),
                   f"mean of the last {LAST} steps {b:.4f} against {a:.4f} ({100 * (b - a) / abs(a):+.2f}%, tolerance "
                   f"{100 * TOL_SPO_LOSS:g}%); last step {fb:.4f} against {fa:.4f}; {secs['spo', 'bf16']:.0f} s and "
                   f"{secs['spo', 'fp32']:.0f} s")
            result(f"training: SPO, {STEPS} steps: bf16's pair accuracy tracks fp32's", abs(ab - aa) <= TOL_ACC,
                   f"rewards/accuracies over the last {LAST} steps {ab:.3f} against {aa:.3f} (tolerance {TOL_ACC:g})")
        if ("sft", "fp32") in runs:
            guard("training: SPO", spo)
        print(f"training: {sum(secs.values()):.0f} s for the {len(secs)} runs")


def main():
    oracle()
    training()


if __name__ == "__main__":
    main()
