"""LoRA against PyTorch autograd, and a frozen quantized base against its dequantized copy.

The torch decoder of test_oracle.py (float64, written from FORMATS.md 5) carries PEFT's LoRA
formula (FORMATS.md 9.1): y = W x + b + s B A dropout(x), s = alpha / r (alpha / sqrt(r) with
rsLoRA). Random tiny models of both families (tied and untied heads, GQA, q/k/v biases) get a
random adapter (A and B both non-zero, so every gradient path carries something), written
here in PEFT's layout; build/engine_check runs one training step of it on a frozen base and
writes the loss, log-probs, logits, the gradient of every A and B, and the dropout masks it
drew (torch applies the same masks). Variants: SFT (the fused and the separate LM head),
every preference loss with the reference the base (adapter off) or a frozen adapter,
subsets of targets, r 1 and 8, rsLoRA, dropout, --recompute, a BF16 base. Pass: each tensor
within 1e-4 relative (max |c - t| / max |t|).

A GGUF base in Q8_0 and Q4_K blocks must give the same step as the F32 GGUF of its
dequantized values: the products dequantize panel by panel what the F32 file holds whole.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_numpy as G  # noqa: E402
import st_numpy  # noqa: E402
from test_oracle import ENGINE, LLAMA, QWEN, TOL, batch_tensors, kind_of, make_params, make_rows, pair_losses, \
    reference_forward, rounded, sequences, token_logps, write_model  # noqa: E402

torch.set_default_dtype(torch.float64)
MODULES = {"q": "self_attn.q_proj", "k": "self_attn.k_proj", "v": "self_attn.v_proj", "o": "self_attn.o_proj",
           "gate": "mlp.gate_proj", "up": "mlp.up_proj", "down": "mlp.down_proj"}


def module_shapes(cfg):
    """(in, out) of each adaptable linear layer."""
    E, F, nh, nkv, D = (cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"],
                        cfg["num_key_value_heads"], cfg["head_dim"])
    return {"q": (E, nh * D), "k": (E, nkv * D), "v": (E, nkv * D), "o": (nh * D, E), "gate": (E, F), "up": (E, F),
            "down": (F, E)}


def random_adapter(cfg, r, targets, rng, scale=0.3):
    """{module name: (A [r, in], B [out, r])}, float32."""
    shapes = module_shapes(cfg)
    out = {}
    for l in range(cfg["num_hidden_layers"]):
        for t in targets:
            i, o = shapes[t]
            out[f"model.layers.{l}.{MODULES[t]}"] = (rng.normal(0, scale, (r, i)).astype(np.float32),
                                                     rng.normal(0, scale, (o, r)).astype(np.float32))
    return out


def write_adapter(d, adapter, r, alpha, targets, rslora, dtype="F32"):
    """PEFT's save_pretrained layout, written here from FORMATS.md 9.2 (not by the program)."""
    os.makedirs(d, exist_ok=True)
    cfg = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": None, "r": r,
           "lora_alpha": alpha, "lora_dropout": 0.0, "target_modules": [MODULES[t].split(".")[1] for t in targets],
           "bias": "none", "use_rslora": rslora, "fan_in_fan_out": False, "inference_mode": True}
    json.dump(cfg, open(os.path.join(d, "adapter_config.json"), "w"), indent=2, sort_keys=True)
    tensors = {}
    for name, (A, B) in adapter.items():
        tensors[f"base_model.model.{name}.lora_A.weight"] = A
        tensors[f"base_model.model.{name}.lora_B.weight"] = B
    st_numpy.write(os.path.join(d, "adapter_model.safetensors"), tensors, dtype, {"format": "pt"})


def run(name, cfg, r=8, targets=("q", "k", "v", "o", "gate", "up", "down"), alpha=None, rslora=False, dropout=0.0,
        kind="sft", loss="ce-fused", beta=0.1, ref="base", recompute=False, dtype="F32", seed=0):
    """One engine step against torch. loss: ce-fused | ce | rowsum | dpo | spo | ipo | hinge;
    ref (preference): "base" (adapter off) or "adapter" (a second, frozen adapter)."""
    rng = np.random.default_rng(seed)
    alpha = alpha if alpha is not None else 2.0 * r
    P32 = make_params(cfg, rng)
    rows = make_rows(cfg, rng, kind)
    adapter = random_adapter(cfg, r, targets, rng)
    ref_adapter = random_adapter(cfg, r, targets, rng, 0.2) if ref == "adapter" else None
    seqs = sequences(rows, kind)
    weights = rng.normal(0, 1, len(seqs)).round(3).tolist()
    with tempfile.TemporaryDirectory() as tmp:
        mdir, adir, rdir = (os.path.join(tmp, n) for n in ("model", "adapter", "ref"))
        write_model(mdir, cfg, P32, dtype, 1)
        write_adapter(adir, adapter, r, alpha, targets, rslora)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        loss_arg = {"rowsum": "rowsum:" + ",".join(str(w) for w in weights)}.get(loss, loss)
        if kind == "pref":
            loss_arg = f"pref:{loss}:{beta}"
        args = [ENGINE, "--model", mdir, "--data", data, "--out", os.path.join(tmp, "out.safetensors"), "--loss",
                loss_arg, "--lora-r", str(r), "--lora-alpha", str(alpha), "--lora-targets", ",".join(targets),
                "--adapter", adir, "--lora-dropout", str(dropout)] + (["--rslora"] if rslora else []) + \
               (["--recompute"] if recompute else [])
        if kind == "pref":
            if ref_adapter:
                write_adapter(rdir, ref_adapter, r, alpha, targets, rslora)
            args += ["--ref-adapter", rdir if ref_adapter else "base"]
        subprocess.run(args, check=True)
        C, _ = st_numpy.read(os.path.join(tmp, "out.safetensors"))

    P = {k: torch.tensor(v.astype(np.float64)) for k, v in rounded(P32, dtype).items()}
    s = alpha / np.sqrt(r) if rslora else alpha / r
    A = {k: torch.tensor(a.astype(np.float64), requires_grad=True) for k, (a, b) in adapter.items()}
    B = {k: torch.tensor(b.astype(np.float64), requires_grad=True) for k, (a, b) in adapter.items()}
    ids, pos, valid, labels = batch_tensors(seqs)
    masks = None
    if dropout > 0:  # the engine's masks, [N, in] per (layer, module), as [B, T, in]
        masks = {}
        for key, v in C.items():
            if key.startswith("mask."):
                _, l, mod = key.split(".")
                masks[(int(l), mod)] = torch.tensor(v.astype(np.float64)).reshape(ids.shape[0], ids.shape[1], -1)
    logits = reference_forward(P, cfg, ids, pos, valid, dict(A=A, B=B, scale=s, masks=masks))
    tok_logp, scored = token_logps(logits, labels)
    if kind == "sft":
        L = -tok_logp.sum() / scored.sum() if loss.startswith("ce") else (torch.tensor(weights) * tok_logp.sum(1)).sum()
        pair = None
    else:
        pol = tok_logp.sum(1)
        n = scored.sum(1)
        with torch.no_grad():
            rl = None if ref_adapter is None else dict(
                A={k: torch.tensor(a.astype(np.float64)) for k, (a, b) in ref_adapter.items()},
                B={k: torch.tensor(b.astype(np.float64)) for k, (a, b) in ref_adapter.items()}, scale=s, masks=None)
            refl = token_logps(reference_forward(P, cfg, ids, pos, valid, rl), labels)[0].sum(1)
        pair = pair_losses(loss, beta, pol[0::2] - refl[0::2], pol[1::2] - refl[1::2], n[0::2], n[1::2])
        L = pair.mean()
    L.backward()

    errors = {}

    def compare(label, cv, tv, mask=None):
        cv, tv = np.asarray(cv, dtype=np.float64), np.asarray(tv, dtype=np.float64)
        if mask is not None:
            cv, tv = cv[mask], tv[mask]
        errors[kind_of(label)] = max(errors.get(kind_of(label), 0.0), np.abs(cv - tv).max() / (np.abs(tv).max() + 1e-6))

    compare("loss", C["loss"].reshape(()), L.item())
    compare("logp", C["logp"], tok_logp.detach().numpy())
    compare("logits", C["logits"], logits.detach().numpy(), valid.numpy())
    if pair is not None:
        compare("pair losses", C["pair_loss"], pair.detach().numpy())
    grads = [k for k in C if k.startswith("grad.")]
    want = {f"grad.base_model.model.{k}.lora_{ab}.weight" for k in adapter for ab in "AB"}
    for k in adapter:
        compare(f"grad.{k}.lora_A", C[f"grad.base_model.model.{k}.lora_A.weight"], A[k].grad.numpy())
        compare(f"grad.{k}.lora_B", C[f"grad.base_model.model.{k}.lora_B.weight"], B[k].grad.numpy())
    worst = max(errors.values())
    ok = worst < TOL and set(grads) == want and np.isfinite(worst)
    print(f"{'PASS' if ok else 'FAIL'}: LoRA oracle {name}: worst relative error {worst:.2e} over loss, log-probs, "
          f"logits and {len(grads)} adapter gradients (tolerance {TOL:g})"
          + ("" if set(grads) == want else f"; gradients {sorted(set(grads) ^ want)[:3]} unexpected or missing"))
    return errors


def quantized_base(name, arch, qtype, seed, kind="sft", loss="ce-fused"):
    """The same LoRA step on a GGUF base in qtype blocks and on the F32 GGUF of its dequantized
    values: every output must agree (they are the same products of the same fp32 values)."""
    rng = np.random.default_rng(seed)
    E, L, H, KV, F, V = 256, 2, 4, 2, 512, 67  # rows of 256: whole Q4_K super-blocks everywhere
    D = E // H
    shapes = [("token_embd.weight", (V, E)), ("output_norm.weight", (E,))]
    if arch == "llama":
        shapes.append(("output.weight", (V, E)))
    for l in range(L):
        p = f"blk.{l}."
        shapes += [(p + "attn_norm.weight", (E,)), (p + "attn_q.weight", (H * D, E)), (p + "attn_k.weight", (KV * D, E)),
                   (p + "attn_v.weight", (KV * D, E)), (p + "attn_output.weight", (E, H * D)),
                   (p + "ffn_norm.weight", (E,)), (p + "ffn_gate.weight", (F, E)), (p + "ffn_up.weight", (F, E)),
                   (p + "ffn_down.weight", (E, F))]
        if arch == "qwen2":
            shapes += [(p + "attn_q.bias", (H * D,)), (p + "attn_k.bias", (KV * D,)), (p + "attn_v.bias", (KV * D,))]
    quant, plain = [], []
    for g, shape in shapes:
        n = int(np.prod(shape))
        if len(shape) == 1:
            raw = (rng.normal(1, 0.1, n) if "norm" in g else rng.normal(0, 0.1, n)).astype("<f4").tobytes()
            quant.append((g, G.F32, shape, raw))
            plain.append((g, G.F32, shape, raw))
            continue
        raw = G.quantize_random_blocks(qtype, n, rng)
        quant.append((g, qtype, shape, raw))
        plain.append((g, G.F32, shape, G.dequantize(qtype, raw, n).astype("<f4").tobytes()))
    meta = {f"{arch}.{k}": (G.UINT32, v) for k, v in (("context_length", 4096), ("embedding_length", E),
                                                      ("block_count", L), ("feed_forward_length", F),
                                                      ("attention.head_count", H), ("attention.head_count_kv", KV))}
    meta[f"{arch}.attention.layer_norm_rms_epsilon"] = (G.FLOAT32, 1e-6)
    meta[f"{arch}.rope.freq_base"] = (G.FLOAT32, 10000.0)
    cfg = dict(model_type=arch, hidden_size=E, num_hidden_layers=L, num_attention_heads=H, num_key_value_heads=KV,
               head_dim=D, intermediate_size=F, vocab_size=V)
    rows = make_rows(cfg, rng, kind)
    adapter = random_adapter(cfg, 8, list(MODULES), rng, 0.05)
    outs = []
    with tempfile.TemporaryDirectory() as tmp:
        adir = os.path.join(tmp, "adapter")
        write_adapter(adir, adapter, 8, 16, list(MODULES), False)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            f.writelines(json.dumps(row) + "\n" for row in rows)
        for label, tensors in (("quantized", quant), ("f32", plain)):
            path = os.path.join(tmp, label + ".gguf")
            G.write_gguf(path, arch, meta, tensors)
            out = os.path.join(tmp, label + ".safetensors")
            loss_arg = f"pref:{loss}:0.1" if kind == "pref" else loss
            subprocess.run([ENGINE, "--model", path, "--data", data, "--out", out, "--loss", loss_arg, "--lora-r", "8",
                            "--lora-alpha", "16", "--adapter", adir] + (["--ref-adapter", "base"] if kind == "pref" else []),
                           check=True)
            outs.append(st_numpy.read(out)[0])
    Q, Fp = outs
    worst, differ = 0.0, 0
    for k in Fp:
        q, f = np.asarray(Q[k], np.float64), np.asarray(Fp[k], np.float64)
        worst = max(worst, np.abs(q - f).max() / (np.abs(f).max() + 1e-30))
        differ += int(np.sum(Q[k] != Fp[k]))
    ok = set(Q) == set(Fp) and worst < 1e-6
    print(f"{'PASS' if ok else 'FAIL'}: LoRA on a {G.type_name(qtype)} base ({name}): loss, log-probs, logits and "
          f"{sum(k.startswith('grad.') for k in Fp)} adapter gradients against the F32 GGUF of the dequantized "
          f"values: worst relative difference {worst:.1e}, {differ} values differ")


def main():
    if not os.path.exists(ENGINE):
        print(f"FAIL: LoRA oracle: {ENGINE} is not built")
        return
    qwen, llama = QWEN, LLAMA
    variants = [
        ("qwen2 tied, GQA 2, bias, r 8, all-linear, SFT (fused head)", qwen, {}),
        ("qwen2 untied, GQA 1, bias, r 1, q and v, rsLoRA, SFT (separate head)",
         dict(qwen, tie_word_embeddings=False, num_key_value_heads=4), dict(r=1, targets=("q", "v"), rslora=True,
                                                                            loss="ce", seed=1)),
        ("llama untied, GQA 7, llama3 rope, r 8, o, gate and down, row-sum loss", llama,
         dict(targets=("o", "gate", "down"), loss="rowsum", seed=2)),
        ("llama tied, attention_bias, r 4, dropout 0.3, SFT (fused head)",
         dict(llama, tie_word_embeddings=True, attention_bias=True, num_attention_heads=4, num_key_value_heads=2,
              hidden_size=32), dict(r=4, dropout=0.3, seed=3)),
        ("qwen2 untied, 3 layers, r 8, dropout 0.2, --recompute",
         dict(qwen, tie_word_embeddings=False, num_hidden_layers=3), dict(dropout=0.2, recompute=True, seed=4)),
        ("qwen2 tied, BF16 base, r 8, alpha 5, rsLoRA", qwen, dict(dtype="BF16", alpha=5.0, rslora=True, seed=5)),
    ]
    for loss, beta in (("dpo", 0.1), ("spo", 0.1), ("spo", 0.5), ("ipo", 0.1), ("hinge", 0.1)):
        variants.append((f"qwen2 tied, preference step, {loss} beta {beta}, reference = the base", qwen,
                         dict(kind="pref", loss=loss, beta=beta, ref="base", seed=11)))
        variants.append((f"llama GQA 7, preference step, {loss} beta {beta}, reference = a frozen adapter", llama,
                         dict(kind="pref", loss=loss, beta=beta, ref="adapter", targets=("q", "k", "down"), seed=12)))
    variants.append(("llama, preference step, spo, r 8, dropout 0.25, --recompute, reference adapter", llama,
                     dict(kind="pref", loss="spo", ref="adapter", dropout=0.25, recompute=True, seed=13)))
    worst = {}
    for name, cfg, kw in variants:
        try:
            for k, e in run(name, cfg, **kw).items():
                worst[k] = max(worst.get(k, 0.0), e)
        except Exception as e:  # noqa: BLE001  a crash fails this variant only
            print(f"FAIL: LoRA oracle {name}: {type(e).__name__}: {e}")
    for label, arch, qtype, seed, kw in (("llama SFT", "llama", G.Q4_K, 21, {}), ("qwen2 SFT", "qwen2", G.Q8_0, 22, {}),
                                         ("qwen2 DPO, reference = the base", "qwen2", G.Q4_K, 23,
                                          dict(kind="pref", loss="dpo"))):
        try:
            quantized_base(label, arch, qtype, seed, **kw)
        except Exception as e:  # noqa: BLE001
            print(f"FAIL: LoRA on a quantized base ({label}): {type(e).__name__}: {e}")
    print("worst relative error per tensor kind, over all LoRA variants:")
    for k in sorted(worst):
        print(f"  {k:60s} {worst[k]:.2e}")


if __name__ == "__main__":
    main()
