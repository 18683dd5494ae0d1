"""Oracle test: the C engine against PyTorch autograd.

A reference decoder is written here in PyTorch (float64) straight from the math in
FORMATS.md section 5, independently of the C code. Random tiny models of both families are
written as safetensors; the C program (build/engine_check) runs one forward and backward on
a padded batch; logits, loss, per-token log-probs and the gradient of every parameter are
compared. Pass: for each tensor, max|c - torch| / (max|torch| + 1e-6) < 1e-4.

Prints one PASS/FAIL line per model variant and a table of the worst error per tensor kind.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINE = os.path.join(ROOT, "build", "engine_check")
TOL = 1e-4
torch.set_default_dtype(torch.float64)


# ----------------------------------------------------------------------------- reference model

def rope_inv_freq(cfg):
    D = cfg["head_dim"]
    inv = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    rs = cfg.get("rope_scaling")
    if rs and rs["rope_type"] == "linear":
        inv = inv / rs["factor"]
    elif rs and rs["rope_type"] == "llama3":
        old = rs["original_max_position_embeddings"]
        lo, hi, fac = rs["low_freq_factor"], rs["high_freq_factor"], rs["factor"]
        out = []
        for f in inv.tolist():
            wl = 2 * np.pi / f
            if wl < old / hi:
                out.append(f)
            elif wl > old / lo:
                out.append(f / fac)
            else:
                s = (old / wl - lo) / (hi - lo)
                out.append((1 - s) * f / fac + s * f)
        inv = torch.tensor(out)
    return inv


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def rms_norm(x, w, eps):
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def reference_forward(P, cfg, ids, pos, valid, lora=None, mm=None):
    """P: dict HF name -> tensor. ids/pos: [B, T] long. valid: [B, T] bool (False = padding).
    lora: None, or PEFT's LoRA (FORMATS.md 9.1) on some linear layers: dict with "A" and "B"
    (module name, e.g. "model.layers.0.self_attn.q_proj" -> tensor), "scale", and "masks"
    (None, or (layer, module suffix) -> dropout's mask [B, T, in], 0 or 1/(1-p)).
    mm(x, W): every weight product x W^T (linear layers, LoRA's two, the LM head); default the
    plain one (tests/test_bf16.py passes one that rounds its inputs to bf16). RoPE's cos and
    sin take the embedding's dtype (float64 here; float32 under test_bf16.py's autocast).
    Returns logits [B, T, V]."""
    mm = mm or (lambda x, w: x @ w.T)
    B, T = ids.shape
    E, nh, nkv, D = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    eps = cfg["rms_norm_eps"]
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    inv = rope_inv_freq(cfg)
    ang = pos[..., None].double() * inv  # [B, T, D/2]
    fdt = P["model.embed_tokens.weight"].dtype
    cos = torch.cat([ang.cos(), ang.cos()], -1)[:, :, None, :].to(fdt)
    sin = torch.cat([ang.sin(), ang.sin()], -1)[:, :, None, :].to(fdt)
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool))
    allowed = causal[None] & valid[:, None, :] & valid[:, :, None]
    allowed = allowed | torch.eye(T, dtype=torch.bool)[None]  # padding sees itself only
    h = P["model.embed_tokens.weight"][ids]
    for l in range(cfg["num_hidden_layers"]):
        pre = f"model.layers.{l}."
        a = rms_norm(h, P[pre + "input_layernorm.weight"], eps)

        def lin(x, name, with_bias):
            y = mm(x, P[pre + name + ".weight"])
            y = y + P[pre + name + ".bias"] if with_bias else y
            if lora is not None and pre + name in lora["A"]:  # y = W x + b + s B A dropout(x)
                masks = lora.get("masks")
                xd = x * masks[(l, name.split(".")[-1])] if masks is not None else x
                y = y + mm(lora["scale"] * mm(xd, lora["A"][pre + name]), lora["B"][pre + name])
            return y

        q = lin(a, "self_attn.q_proj", bias).view(B, T, nh, D)
        k = lin(a, "self_attn.k_proj", bias).view(B, T, nkv, D)
        v = lin(a, "self_attn.v_proj", bias).view(B, T, nkv, D)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        g = nh // nkv
        k = k.repeat_interleave(g, dim=2)  # kv head j serves query heads j*g .. j*g+g-1
        v = v.repeat_interleave(g, dim=2)
        s = torch.einsum("bthd,buhd->bhtu", q, k) / np.sqrt(D)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        o = torch.einsum("bhtu,buhd->bthd", torch.softmax(s, -1), v).reshape(B, T, nh * D)
        h = h + lin(o, "self_attn.o_proj", False)
        m = rms_norm(h, P[pre + "post_attention_layernorm.weight"], eps)
        gate = lin(m, "mlp.gate_proj", False)
        up = lin(m, "mlp.up_proj", False)
        h = h + lin(torch.nn.functional.silu(gate) * up, "mlp.down_proj", False)
    hf = rms_norm(h, P["model.norm.weight"], eps)
    head = P["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else P["lm_head.weight"]
    return mm(hf, head)


# ----------------------------------------------------------------------------- model and batch

def make_params(cfg, rng):
    E, F, V, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"], cfg["num_hidden_layers"]
    nh, nkv, D = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["head_dim"]
    bias = cfg["model_type"] == "qwen2" or cfg.get("attention_bias", False)
    P = {"model.embed_tokens.weight": rng.normal(0, 0.5, (V, E))}
    for l in range(L):
        pre = f"model.layers.{l}."
        P[pre + "input_layernorm.weight"] = 1 + rng.normal(0, 0.2, E)
        P[pre + "self_attn.q_proj.weight"] = rng.normal(0, 0.3, (nh * D, E))
        P[pre + "self_attn.k_proj.weight"] = rng.normal(0, 0.3, (nkv * D, E))
        P[pre + "self_attn.v_proj.weight"] = rng.normal(0, 0.3, (nkv * D, E))
        if bias:
            P[pre + "self_attn.q_proj.bias"] = rng.normal(0, 0.3, nh * D)
            P[pre + "self_attn.k_proj.bias"] = rng.normal(0, 0.3, nkv * D)
            P[pre + "self_attn.v_proj.bias"] = rng.normal(0, 0.3, nkv * D)
        P[pre + "self_attn.o_proj.weight"] = rng.normal(0, 0.3, (E, nh * D))
        P[pre + "post_attention_layernorm.weight"] = 1 + rng.normal(0, 0.2, E)
        P[pre + "mlp.gate_proj.weight"] = rng.normal(0, 0.3, (F, E))
        P[pre + "mlp.up_proj.weight"] = rng.normal(0, 0.3, (F, E))
        P[pre + "mlp.down_proj.weight"] = rng.normal(0, 0.3, (E, F))
    P["model.norm.weight"] = 1 + rng.normal(0, 0.2, E)
    if not cfg["tie_word_embeddings"]:
        P["lm_head.weight"] = rng.normal(0, 0.3, (V, E))
    return {k: v.astype(np.float32) for k, v in P.items()}


def rounded(P, dtype):
    """The values the C side will see after reading `dtype` from disk."""
    if dtype == "F32":
        return P
    if dtype == "F16":
        return {k: v.astype(np.float16).astype(np.float32) for k, v in P.items()}
    return {k: st_numpy.bf16_bits_to_f32(st_numpy.f32_to_bf16_bits(v)) for k, v in P.items()}


def write_model(dirname, cfg, P, dtype, shards):
    os.makedirs(dirname, exist_ok=True)
    hf_cfg = {k: v for k, v in cfg.items() if k != "head_dim" or cfg.get("explicit_head_dim")}
    hf_cfg.pop("explicit_head_dim", None)
    with open(os.path.join(dirname, "config.json"), "w") as f:
        json.dump(hf_cfg, f, indent=1)
    names = list(P)
    if shards == 1:
        st_numpy.write(os.path.join(dirname, "model.safetensors"), P, dtype, {"format": "pt"})
        return
    weight_map = {}
    for s in range(shards):
        part = names[s::shards]
        fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
        st_numpy.write(os.path.join(dirname, fname), {k: P[k] for k in part}, dtype, {"format": "pt"})
        weight_map.update({k: fname for k in part})
    with open(os.path.join(dirname, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)


def make_rows(cfg, rng, kind):
    V = cfg["vocab_size"]
    rows = []
    if kind == "sft":
        for n, prompt in [(11, 4), (7, 0), (16, 9), (3, 1)]:
            ids = rng.integers(0, V, n).tolist()
            labels = [-100] * prompt + ids[prompt:]
            rows.append({"input_ids": ids, "labels": labels})
    else:
        for np_, nc, nr in [(5, 4, 7), (3, 6, 2)]:
            rows.append({"prompt_input_ids": rng.integers(0, V, np_).tolist(),
                         "chosen_input_ids": rng.integers(0, V, nc).tolist(),
                         "rejected_input_ids": rng.integers(0, V, nr).tolist()})
    return rows


def sequences(rows, kind):
    """The batch the C side builds: (tokens, labels) per sequence; labels aligned with tokens."""
    seqs = []
    if kind == "sft":
        for r in rows:
            seqs.append((r["input_ids"], r["labels"]))
    else:
        for r in rows:  # each pair's chosen and rejected sequences side by side
            for part in ("chosen_input_ids", "rejected_input_ids"):
                p = r["prompt_input_ids"]
                seqs.append((p + r[part], [-100] * len(p) + r[part]))
    return seqs


def batch_tensors(seqs):
    """The padded batch of (tokens, labels) sequences: ids, positions, valid (not padding), labels [B, T]."""
    B, T = len(seqs), max(len(s[0]) for s in seqs)
    ids = torch.zeros(B, T, dtype=torch.long)
    pos = torch.zeros(B, T, dtype=torch.long)
    valid = torch.zeros(B, T, dtype=torch.bool)
    labels = torch.full((B, T), -100, dtype=torch.long)
    for j, (tok, lab) in enumerate(seqs):
        n = len(tok)
        ids[j, :n], pos[j, :n], valid[j, :n], labels[j, :n] = torch.tensor(tok), torch.arange(n), True, torch.tensor(lab)
    return ids, pos, valid, labels


def token_logps(logits, labels):
    """HF's causal-LM shift: position t scores label t+1. Per-position log-probs [B, T] (0 where
    nothing is scored) and the scored mask [B, T-1]."""
    tgt = labels[:, 1:]
    scored = tgt != -100
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, tgt.clamp(min=0)[..., None])[..., 0]
    out = torch.zeros(labels.shape)
    out[:, :-1] = torch.where(scored, lp, torch.zeros_like(lp))
    return out, scored


def pair_losses(loss, beta, c, r, n_c, n_r):
    """Per-pair preference losses (../shared/LOSSES.md) of the policy-minus-reference summed log-probs
    c (chosen) and r (rejected), n_* their scored tokens (IPO length-averages)."""
    u = beta * (c - r)
    if loss == "dpo":
        return -torch.nn.functional.logsigmoid(u)
    if loss == "spo":
        return -u * torch.exp(-u)
    if loss == "ipo":
        return ((c / n_c - r / n_r) - 1 / (2 * beta)) ** 2
    return torch.relu(1 - u)


# tiny models of both families, the variants' starting points
QWEN = dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], hidden_size=32, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, head_dim=8, intermediate_size=48, vocab_size=97,
            rope_theta=10000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu")
LLAMA = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=56, num_hidden_layers=2,
             num_attention_heads=7, num_key_value_heads=1, head_dim=8, intermediate_size=40, vocab_size=83,
             rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False, attention_bias=False,
             hidden_act="silu",
             rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                               original_max_position_embeddings=64))


# ----------------------------------------------------------------------------- one comparison

def kind_of(name):
    return re.sub(r"\.\d+\.", ".N.", name)


def run_variant(name, cfg, dtype="F32", shards=1, kind="sft", loss="ce", seed=0, fused=False, recompute=False):
    rng = np.random.default_rng(seed)
    P32 = make_params(cfg, rng)
    rows = make_rows(cfg, rng, kind)
    with tempfile.TemporaryDirectory() as tmp:
        mdir = os.path.join(tmp, "model")
        write_model(mdir, cfg, P32, dtype, shards)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        seqs = sequences(rows, kind)
        weights = rng.normal(0, 1, len(seqs)).round(3).tolist()
        loss_arg = ("ce-fused" if fused else "ce") if loss == "ce" else "rowsum:" + ",".join(str(w) for w in weights)
        out = os.path.join(tmp, "out.safetensors")
        subprocess.run([ENGINE, "--model", mdir, "--data", data, "--out", out, "--loss", loss_arg] +
                       (["--recompute"] if recompute else []), check=True)
        C, _ = st_numpy.read(out)
        if recompute:  # the same step keeping every activation must agree bit for bit
            kept = os.path.join(tmp, "kept.safetensors")
            subprocess.run([ENGINE, "--model", mdir, "--data", data, "--out", kept, "--loss", loss_arg], check=True)
            K, _ = st_numpy.read(kept)
            differ = [k for k in K if not np.array_equal(K[k], C[k])]
            print(f"{'FAIL' if differ or set(K) != set(C) else 'PASS'}: oracle {name}: --recompute gives the same "
                  f"{len(C)} outputs bit for bit as keeping every activation{' (differ: ' + ', '.join(differ[:4]) + ')' if differ else ''}")
        # the user-facing stage on the same rows: one JSON line per row with summed log-probs
        ev = subprocess.run([os.path.join(ROOT, "train"), "--stage", "eval", "--model", mdir, "--data", data,
                             "--batch-size", "3"], check=True, capture_output=True, text=True)
        eval_rows = [json.loads(line) for line in ev.stdout.splitlines()]

    # torch side, float64, on exactly the values the C program loaded
    P = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in rounded(P32, dtype).items()}
    ids, pos, valid, labels = batch_tensors(seqs)
    logits = reference_forward(P, cfg, ids, pos, valid)
    tok_logp, scored = token_logps(logits, labels)  # HF causal-LM loss: position t predicts label t+1
    if loss == "ce":
        L = -tok_logp.sum() / scored.sum()
    else:
        L = (torch.tensor(weights) * tok_logp.sum(1)).sum()
    L.backward()

    errors = {}

    def compare(label, c, t, mask=None):
        c, t = np.asarray(c, dtype=np.float64), np.asarray(t, dtype=np.float64)
        if mask is not None:
            c, t = c[mask], t[mask]
        err = np.abs(c - t).max() / (np.abs(t).max() + 1e-6)
        k = kind_of(label)
        errors[k] = max(errors.get(k, 0.0), err)

    compare("loss", C["loss"].reshape(()), L.item())
    compare("logits", C["logits"], logits.detach().numpy(), valid.numpy())
    compare("logp", C["logp"], tok_logp.detach().numpy())
    for k, p in P.items():
        compare(k, C["grad." + k], p.grad.numpy())
    # --stage eval: per-row sums and token counts (batches of 3 rows, so padding differs)
    sums = tok_logp.detach().sum(1).numpy()
    counts = scored.sum(1).numpy()
    if kind == "sft":
        got = np.array([r["logp"] for r in eval_rows])
        want, n_ok = sums, all(r["tokens"] == counts[i] for i, r in enumerate(eval_rows))
    else:
        got = np.array([[r["chosen_logp"], r["rejected_logp"]] for r in eval_rows])
        want = np.stack([sums[0::2], sums[1::2]], 1)
        n_ok = all(r["chosen_tokens"] == counts[2 * i] and r["rejected_tokens"] == counts[2 * i + 1]
                   for i, r in enumerate(eval_rows))
    compare("eval row logp", got, want)
    if not n_ok or len(eval_rows) != len(rows):
        errors["eval token counts"] = float("inf")
    worst = max(errors.values())
    ok = worst < TOL and np.isfinite(worst)
    print(f"{'PASS' if ok else 'FAIL'}: oracle {name}: worst relative error {worst:.2e} (tolerance {TOL:g})")
    return ok, errors


def run_pref_step(name, cfg, loss, beta, seed, recompute=False, ref_bf16=False):
    """One preference training step: the reference's log-probs, the policy's forward and
    backward with the loss averaged over pairs, against torch autograd of the same formula
    (../shared/LOSSES.md) on the same weights."""
    rng = np.random.default_rng(seed)
    P32 = make_params(cfg, rng)
    R32 = {k: (v + rng.normal(0, 0.05, v.shape)).astype(np.float32) for k, v in P32.items()}  # a nearby reference
    rows = make_rows(cfg, rng, "pref")
    with tempfile.TemporaryDirectory() as tmp:
        write_model(os.path.join(tmp, "policy"), cfg, P32, "F32", 1)
        write_model(os.path.join(tmp, "ref"), cfg, R32, "F32", 1)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
        out = os.path.join(tmp, "out.safetensors")
        subprocess.run([ENGINE, "--model", os.path.join(tmp, "policy"), "--ref-model", os.path.join(tmp, "ref"),
                        "--data", data, "--out", out, "--loss", f"pref:{loss}:{beta}"] +
                       (["--recompute"] if recompute else []) + (["--ref-bf16"] if ref_bf16 else []), check=True)
        C, _ = st_numpy.read(out)
    if ref_bf16:  # the engine keeps the reference's matrices rounded to bf16 (vectors fp32): so must torch
        R32 = {k: st_numpy.bf16_bits_to_f32(st_numpy.f32_to_bf16_bits(v)) if v.ndim == 2 else v for k, v in R32.items()}
    ids, pos, valid, labels = batch_tensors(sequences(rows, "pref"))

    def seq_logps(params):
        lp, scored = token_logps(reference_forward(params, cfg, ids, pos, valid), labels)
        return lp.sum(1), scored.sum(1)

    P = {k: torch.tensor(v.astype(np.float64), requires_grad=True) for k, v in P32.items()}
    Rf = {k: torch.tensor(v.astype(np.float64)) for k, v in R32.items()}
    pol, n = seq_logps(P)
    with torch.no_grad():
        ref, _ = seq_logps(Rf)
    L = pair_losses(loss, beta, pol[0::2] - ref[0::2], pol[1::2] - ref[1::2], n[0::2], n[1::2])
    L.mean().backward()
    errors = {}

    def compare(label, cv, tv):
        cv, tv = np.asarray(cv, dtype=np.float64), np.asarray(tv, dtype=np.float64)
        errors[kind_of(label)] = max(errors.get(kind_of(label), 0.0), np.abs(cv - tv).max() / (np.abs(tv).max() + 1e-6))

    compare("pair losses", C["pair_loss"], L.detach().numpy())
    compare("loss", C["loss"].reshape(()), L.mean().item())
    for k, p in P.items():
        compare(k, C["grad." + k], p.grad.numpy())
    worst = max(errors.values())
    ok = worst < TOL
    print(f"{'PASS' if ok else 'FAIL'}: oracle preference step {name} ({loss}, beta {beta}): every parameter's "
          f"gradient, worst relative error {worst:.2e}; pair losses {L.detach().numpy().round(4).tolist()}")
    return ok, errors


def main():
    if not os.path.exists(ENGINE):
        print(f"FAIL: oracle: {ENGINE} is not built")
        return
    qwen, llama = QWEN, LLAMA
    variants = [
        ("qwen2 tied, GQA 2, bias, F32", qwen, {}),
        ("qwen2 untied, GQA 1, bias, BF16 in 3 shards",
         dict(qwen, tie_word_embeddings=False, num_key_value_heads=4, hidden_size=24, head_dim=6),
         dict(dtype="BF16", shards=3, seed=1)),
        ("llama untied, GQA 7, no bias, llama3 rope scaling", llama, dict(seed=2)),
        # head_dim 20: attention's tile products run one whole 16-wide column block and a tail
        ("llama tied, GQA 2, attention_bias, linear rope scaling, explicit head_dim 20, F16",
         dict(llama, tie_word_embeddings=True, num_attention_heads=4, num_key_value_heads=2, head_dim=20,
              explicit_head_dim=True, hidden_size=40, rope_scaling=dict(rope_type="linear", factor=2.0),
              attention_bias=True),
         dict(dtype="F16", seed=3)),
        ("llama no rope scaling, 3 layers, preference rows, row-sum loss",
         dict(llama, num_hidden_layers=3, rope_scaling=None, num_attention_heads=4, num_key_value_heads=2,
              hidden_size=32),
         dict(kind="pref", loss="rowsum", seed=4)),
        ("qwen2 tied, preference rows, row-sum loss", qwen, dict(kind="pref", loss="rowsum", seed=5)),
        ("qwen2 untied, LM head forward and backward fused (the SFT path)",
         dict(qwen, tie_word_embeddings=False), dict(seed=6, fused=True)),
        ("llama tied, LM head fused (the SFT path)", dict(llama, tie_word_embeddings=True), dict(seed=7, fused=True)),
        ("qwen2 untied, 3 layers, --recompute, LM head fused",
         dict(qwen, tie_word_embeddings=False, num_hidden_layers=3), dict(seed=8, fused=True, recompute=True)),
        ("llama 3 layers, --recompute, preference rows, row-sum loss", dict(llama, num_hidden_layers=3),
         dict(kind="pref", loss="rowsum", seed=9, recompute=True)),
    ]
    worst_by_kind = {}
    for name, cfg, kw in variants:
        try:
            _, errs = run_variant(name, cfg, **kw)
        except Exception as e:  # a crash is a failure of this variant, not of the whole run
            print(f"FAIL: oracle {name}: {type(e).__name__}: {e}")
            continue
        for k, e in errs.items():
            worst_by_kind[k] = max(worst_by_kind.get(k, 0.0), e)
    for loss, beta in (("dpo", 0.1), ("spo", 0.1), ("spo", 0.5), ("ipo", 0.1), ("hinge", 0.1)):
        for name, cfg in (("qwen2 tied", qwen), ("llama GQA 7, llama3 rope", llama)):
            try:
                _, errs = run_pref_step(name, cfg, loss, beta, seed=11)
            except Exception as e:  # noqa: BLE001
                print(f"FAIL: oracle preference step {name} ({loss}): {type(e).__name__}: {e}")
                continue
            for k, e in errs.items():
                worst_by_kind[k] = max(worst_by_kind.get(k, 0.0), e)
    try:  # the preference path (reference forward in scratch, then policy) with --recompute
        _, errs = run_pref_step("llama GQA 7, --recompute", llama, "spo", 0.1, seed=12, recompute=True)
        for k, e in errs.items():
            worst_by_kind[k] = max(worst_by_kind.get(k, 0.0), e)
        _, errs = run_pref_step("qwen2 tied, bias, reference in bf16", qwen, "dpo", 0.1, seed=13, ref_bf16=True)
        for k, e in errs.items():
            worst_by_kind[k] = max(worst_by_kind.get(k, 0.0), e)
    except Exception as e:  # noqa: BLE001
        print(f"FAIL: oracle preference step with --recompute: {type(e).__name__}: {e}")
    print("worst relative error per tensor kind, over all variants:")
    for k in sorted(worst_by_kind):
        print(f"  {k:55s} {worst_by_kind[k]:.2e}")


if __name__ == "__main__":
    main()
