"""The arena plan and the program's front door.

- `--dry-run` for the shipped 7B / 8B configs reports the parameter counts computed from
  the published architectures (FORMATS.md 5.5) and a plan whose regions follow from them,
  and does so without allocating: its peak RSS stays tiny while the plan is >100 GiB.
- A run config whose model_config disagrees with --model's config.json is refused.
- With no --model and no --data, eval runs on the default model and sample data; a freshly
  initialised model (std 0.02) must score about ln(vocab) per token.
"""
import json
import math
import os
import re
import resource
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: plan {name}" + (f": {detail}" if detail else ""))


def run(*args):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.run([TRAIN, *args], capture_output=True, text=True, cwd=ROOT)
    return p, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before


def regions(text):
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\s+(\w+)\s+(\d+) bytes", text, re.M)}


def page(x):
    return (x + 4095) // 4096 * 4096


BLOCK = {"bf16": (1, 2), "q8_0": (32, 34), "q4_k": (256, 144), "q6_k": (256, 210)}  # elements, bytes (FORMATS 2)


def base_bytes(c, dtype):
    """The frozen base as the plan must carve it, from the config alone: each tensor 64-byte
    aligned, vectors fp32, matrices in dtype; q4_k_m is llama.cpp's mix (llama-quant.cpp's
    use_more_bits: Q6_K for the output and, in the first and last eighth of the layers and
    every third between, attn_v and ffn_down; Q4_K elsewhere)."""
    E, L, F, V = c["hidden_size"], c["num_hidden_layers"], c["intermediate_size"], c["vocab_size"]
    D = E // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
    al = lambda b: (b + 63) // 64 * 64  # noqa: E731

    def mat(rows, cols, t):
        n, b = BLOCK[t]
        return al(rows * cols // n * b)

    def pick(kind, l):
        if dtype != "q4_k_m":
            return dtype
        more = l < L // 8 or l >= 7 * L // 8 or (l - L // 8) % 3 == 2
        return "q6_k" if kind == "output" or (kind in ("v", "down") and more) else "q4_k"
    total = mat(V, E, pick("embed", 0)) + al(4 * E) + (0 if c["tie_word_embeddings"] else mat(V, E, pick("output", 0)))
    for l in range(L):
        total += 2 * al(4 * E) + mat(q, E, pick("q", l)) + mat(kv, E, pick("k", l)) + mat(kv, E, pick("v", l))
        total += mat(E, q, pick("o", l)) + mat(F, E, pick("gate", l)) + mat(F, E, pick("up", l)) + \
            mat(E, F, pick("down", l))
        if c["model_type"] == "qwen2":
            total += al(4 * q) + 2 * al(4 * kv)
    return total


def lora_plans(n_vectors):
    """The 7B/8B LoRA configs: PEFT's trainable count, the adapter alone trained, the base carved
    by type, and the whole run inside 24 GiB (a Q4_K base inside 10 GiB)."""
    published = {"configs/qwen2.5-7b-lora.json": 40370176, "configs/llama-3-8b-lora.json": 41943040}  # r 16, all-linear
    for cfg in ("configs/qwen2.5-7b-lora.json", "configs/llama-3-8b-lora.json", "configs/qwen2.5-7b-lora-pref.json",
                "configs/llama-3-8b-lora-pref.json"):
        c = json.load(open(os.path.join(ROOT, cfg)))["model_config"]
        E, F, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
        D = E // c["num_attention_heads"]
        q, kv = c["num_attention_heads"] * D, c["num_key_value_heads"] * D
        n_lora = 16 * L * ((E + q) * 2 + (E + kv) * 2 + (E + F) * 3)
        for dtype in ("bf16", "q8_0", "q4_k", "q4_k_m"):
            p, _, _ = run("--dry-run", "--config", cfg, "--base-dtype", dtype)
            r = regions(p.stdout)
            m = re.search(r"LoRA: r 16, alpha 32 .*: (\d+) trainable parameters", p.stdout)
            problems = []
            if p.returncode != 0 or not m:
                problems.append(p.stdout + p.stderr)
            else:
                if int(m.group(1)) != n_lora or published.get(cfg.replace("-pref", ""), n_lora) != n_lora:
                    problems.append(f"trainable {m.group(1)} vs {n_lora}")
                if not (r["params"] == r["grads"] == r["adam_m"] == r["adam_v"] == page(4 * n_lora)):
                    problems.append("params, grads and moments are not the adapter's size")
                if r["base"] != page(base_bytes(c, dtype)):
                    problems.append(f"base {r['base']} vs {page(base_bytes(c, dtype))} counted from the config")
                if r["ref_params"] != 0:
                    problems.append("a reference copy beside the base")
                limit = 10 if dtype.startswith("q4") else 24
                # a run from an SFT adapter also keeps that adapter, frozen, as the reference
                worst = r["total"] + (page(4 * n_lora) if "pref" in cfg else 0)
                if worst >= limit * 2 ** 30:
                    problems.append(f"{worst / 2**30:.2f} GiB is not under {limit} GiB")
            result(f"{cfg} --base-dtype {dtype}: the adapter alone trained ({n_lora} parameters), the base by type, "
                   f"{r.get('total', 0) / 2**30:.2f} GiB under {10 if dtype.startswith('q4') else 24} GiB",
                   not problems, "; ".join(problems)[:400])


def main():
    expected = {  # parameters, from FORMATS.md 5.5
        "configs/qwen2.5-7b.json": 7615616512,
        "configs/llama-3-8b.json": 8030261248,
    }
    n_vectors = {}  # norms and biases: L * (2E + biases) + E
    for cfg in expected:
        c = json.load(open(os.path.join(ROOT, cfg)))["model_config"]
        E, L, nh, nkv = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
        D = E // nh
        bias = (nh + 2 * nkv) * D if c["model_type"] == "qwen2" else 0
        n_vectors[cfg] = L * (2 * E + bias) + E
    for cfg, n_params in expected.items():
        for stage, ref in (("sft", None), ("pref", "fp32"), ("pref", "bf16")):
            args = ["--dry-run", "--config", cfg, "--stage", stage] + (["--ref-dtype", ref] if ref else [])
            p, maxrss_kb, _ = run(*args)
            m = re.search(r"parameters: (\d+)", p.stdout)
            r = regions(p.stdout)
            ok = p.returncode == 0 and m and int(m.group(1)) == n_params
            ok = ok and r["params"] == page(4 * n_params) and r["grads"] == r["params"] and r["adam_m"] == r["params"]
            # the reference copy keeps its matrices in bf16 and its vectors (norms, biases) in fp32
            want_ref = 0 if ref is None else page(4 * n_params if ref == "fp32" else
                                                  2 * (n_params - n_vectors[cfg]) + 4 * n_vectors[cfg])
            ok = ok and r["ref_params"] == want_ref and r["activations"] > 0
            ok = ok and r["total"] == sum(v for k, v in r.items() if k != "total")
            ok = ok and r["total"] > 100 * 2 ** 30
            detail = f"{n_params} parameters, total {r.get('total', 0) / 2**30:.1f} GiB" if ok else p.stdout + p.stderr
            result(f"{cfg} --stage {stage}{' --ref-dtype ' + ref if ref else ''}", ok, detail)
    # every dry-run above ran in a child; the largest peak RSS among them
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result("dry-run allocates nothing", peak_mb < 64, f"largest peak RSS of the dry runs {peak_mb:.1f} MiB")

    # --recompute keeps the residual stream of every layer and one layer's worth of the rest;
    # the activations region must be exactly that, counted here from the config
    c7 = json.load(open(os.path.join(ROOT, "configs", "qwen2.5-7b.json")))["model_config"]
    E, F, L, nh, nkv = (c7[k] for k in ("hidden_size", "intermediate_size", "num_hidden_layers",
                                        "num_attention_heads", "num_key_value_heads"))
    D = E // nh
    N = 2048

    def carved(*counts):  # each buffer is 64-byte aligned, the region a whole number of pages
        return page(sum((4 * n + 63) // 64 * 64 for n in counts))

    per_layer = [N * E, N, N * nh * D, N * nkv * D, N * nkv * D, N * nh * D, N * nh, N * E, N * E, N, N * F, N * F,
                 N * F]
    want = {False: carved((L + 1) * N * E, *[L * n for n in per_layer], N * E, N, N),
            True: carved((L + 1) * N * E, *per_layer, N * E, N, N)}
    got = {}
    for rc in (False, True):
        p, _, _ = run("--dry-run", "--config", "configs/qwen2.5-7b.json", "--stage", "sft",
                      *(["--recompute"] if rc else []))
        got[rc] = regions(p.stdout).get("activations", -1)
    ok = got == want and got[True] * 5 < got[False]
    result("--recompute keeps only layer inputs: Qwen2.5-7B SFT 1 x 2048 activations", ok,
           f"{got[False] / 2**30:.2f} GiB -> {got[True] / 2**30:.2f} GiB (counted from the config: "
           f"{want[False] / 2**30:.2f} -> {want[True] / 2**30:.2f})")

    lora_plans(n_vectors)

    # eval's plan has no gradients, moments, reference or kept activations
    p, _, _ = run("--dry-run", "--config", "configs/qwen2.5-7b.json", "--stage", "eval")
    r = regions(p.stdout)
    ok = p.returncode == 0 and all(r[k] == 0 for k in ("grads", "adam_m", "adam_v", "ref_params", "activations"))
    result("eval plans forward-only memory", ok and r["scratch"] > 0)

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "m")
        os.makedirs(model)
        cfg = json.load(open(os.path.join(ROOT, "configs", "default-model.json")))
        json.dump(dict(cfg, num_hidden_layers=3), open(os.path.join(model, "config.json"), "w"))
        p, _, _ = run("--stage", "eval", "--model", model, "--config", "configs/qwen2.5-7b.json")
        ok = p.returncode == 1 and "disagree" in p.stderr and "hidden_size" in p.stderr
        result("a run config that disagrees with the model's config.json is refused", ok, p.stderr.strip())

    p, _, _ = run("--stage", "eval")
    m = re.search(r"mean loss \(NLL per scored token\) ([\d.]+)", p.stderr)
    rows = [json.loads(l) for l in p.stdout.splitlines()]
    n_lines = sum(1 for _ in open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")))
    ln_v = math.log(cfg["vocab_size"])
    ok = p.returncode == 0 and m and abs(float(m.group(1)) - ln_v) < 0.1 and len(rows) == n_lines
    result("default eval: fresh model scores ~ln(vocab) per token", ok,
           f"{m.group(1) if m else '?'} vs ln({cfg['vocab_size']}) = {ln_v:.3f}, {len(rows)} rows")

    p, _, _ = run("--help")
    flags = ["--stage", "--model", "--data", "--out", "--config", "--dry-run", "--batch-size", "--seq-len",
             "--threads", "--seed", "--save-dtype", "--max-shard-size", "--report-memory"]
    missing = [f for f in flags if f not in p.stdout]
    result("--help describes every flag", p.returncode == 0 and not missing, str(missing))


if __name__ == "__main__":
    main()
