#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora, tests/fuzz/corpus/<target>/, from files the project
makes: the trainer's own outputs (./train --stage convert / sft / pref: config.json,
model.safetensors, GGUF exports, trainer_state.json, adapter_config.json), the tests' writers
(tests/gguf_numpy.py for GGUF files with every value and tensor type), the repository's
tokenizer cut down to a few hundred tokens, and the shortest rows of data/*.jsonl. Each seed is
as small as still parses. Run from anywhere after `make train`; it replaces the corpora
(tests/fuzz/crashes/ is left alone).

usage: make_corpus.py"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import gguf_numpy as G  # noqa: E402
import st_numpy  # noqa: E402

CORPUS = os.path.join(HERE, "corpus")
TRAIN = os.path.join(ROOT, "train")


def seed(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def train(*args, cwd=None):
    p = subprocess.run([TRAIN, *args], capture_output=True, text=True, cwd=cwd)
    if p.returncode != 0:
        sys.exit(f"./train {' '.join(args)} failed:\n{p.stderr}")


# ---------------------------------------------------------------- tiny tokenizers

def tiny_tokenizers(n_merges=120):
    """The repository's tokenizer with its 256 byte tokens and first n_merges merges (a BPE's
    first merges only use bytes and earlier merges), as Qwen2 (NFC, ChatML tokens) and as
    Llama-3 (digits in threes, ignore_merges, header tokens)."""
    t = json.load(open(os.path.join(ROOT, "data", "tokenizer", "tokenizer.json")))
    inv = {i: s for s, i in t["model"]["vocab"].items()}
    tokens = [inv[i] for i in range(256)]
    merges = t["model"]["merges"][:n_merges]
    for a, b in merges:
        if a + b not in tokens:
            tokens.append(a + b)
    vocab = {s: i for i, s in enumerate(tokens)}
    out = {}
    for fam, specials in (("qwen2", ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
                          ("llama3", ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                                      "<|end_header_id|>", "<|eot_id|>"])):
        added = [dict(id=len(tokens) + k, content=s, single_word=False, lstrip=False, rstrip=False,
                      normalized=False, special=True) for k, s in enumerate(specials)]
        tj = dict(t, added_tokens=added, model=dict(t["model"], vocab=vocab, merges=merges))
        cfg = dict(add_bos_token=False, bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                   clean_up_tokenization_spaces=False, tokenizer_class="Qwen2Tokenizer",
                   chat_template=json.load(open(os.path.join(ROOT, "data", "tokenizer",
                                                             "tokenizer_config.json")))["chat_template"])
        if fam == "llama3":
            regex = tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"].replace("\\p{N}|", "\\p{N}{1,3}|")
            tj["pre_tokenizer"] = json.loads(json.dumps(tj["pre_tokenizer"]))
            tj["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = regex
            tj["normalizer"] = None
            tj["model"] = dict(tj["model"], ignore_merges=True)
            bos = "<|begin_of_text|>"
            tj["post_processor"] = {"type": "TemplateProcessing",
                                    "single": [{"SpecialToken": {"id": bos, "type_id": 0}},
                                               {"Sequence": {"id": "A", "type_id": 0}}],
                                    "special_tokens": {bos: {"id": bos, "ids": [vocab.__len__()],
                                                             "tokens": [bos]}}}
            cfg = dict(bos_token=bos, eos_token="<|eot_id|>", clean_up_tokenization_spaces=True,
                       tokenizer_class="PreTrainedTokenizerFast",
                       chat_template="{% for message in messages %}<|start_header_id|>{{ message['role'] }}"
                                     "<|end_header_id|>\n\n{{ message['content'] | trim }}<|eot_id|>{% endfor %}")
        out[fam] = (json.dumps(tj, ensure_ascii=False, separators=(",", ":")),
                    json.dumps(cfg, ensure_ascii=False, indent=1), len(tokens) + len(specials))
    return out


# ---------------------------------------------------------------- GGUF by the tests' writer

def synthetic_ggufs():
    rng = np.random.default_rng(7)
    # every metadata value type, arrays of each, a v2 file and an alignment of 64
    meta = {"general.name": (G.STRING, "fuzz seed"), "a.u8": (G.UINT8, 7), "a.i8": (G.INT8, -7),
            "a.u16": (G.UINT16, 700), "a.i16": (G.INT16, -700), "a.u32": (G.UINT32, 70000),
            "a.i32": (G.INT32, -70000), "a.f32": (G.FLOAT32, 0.5), "a.bool": (G.BOOL, True),
            "a.u64": (G.UINT64, 1 << 40), "a.i64": (G.INT64, -(1 << 40)), "a.f64": (G.FLOAT64, 0.25),
            "a.strs": (G.ARRAY, (G.STRING, ["x", "", "yz"])), "a.ints": (G.ARRAY, (G.INT32, [1, -2, 3])),
            "a.u8s": (G.ARRAY, (G.UINT8, [1, 2])), "a.bools": (G.ARRAY, (G.BOOL, [True, False])),
            "a.f32s": (G.ARRAY, (G.FLOAT32, [1.5])), "a.i64s": (G.ARRAY, (G.INT64, [-1])),
            "a.empty": (G.ARRAY, (G.STRING, []))}
    tensors = [(f"t.{G.type_name(t)}", t, [G.block_size(t)], G.quantize_random_blocks(t, G.block_size(t), rng))
               for t in G.SUPPORTED]
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "x.gguf")
        G.write_gguf(p, "qwen2", meta, tensors)
        seed("gguf", "every-type.gguf", open(p, "rb").read())
        G.write_gguf(p, "qwen2", {"general.name": (G.STRING, "v2")}, tensors[:2], version=2, alignment=64)
        seed("gguf", "v2-align64.gguf", open(p, "rb").read())
        # a Llama config in metadata: every key config_from_gguf reads, rope_freqs (llama3 scaling)
        D, E, V = 8, 16, 8
        lm = {"llama.embedding_length": (G.UINT32, E), "llama.block_count": (G.UINT32, 1),
              "llama.feed_forward_length": (G.UINT32, 32), "llama.attention.head_count": (G.UINT32, 2),
              "llama.attention.head_count_kv": (G.UINT32, 1), "llama.context_length": (G.UINT32, 64),
              "llama.attention.layer_norm_rms_epsilon": (G.FLOAT32, 1e-5), "llama.rope.freq_base": (G.FLOAT32, 5e5),
              "llama.attention.key_length": (G.UINT32, D), "llama.attention.value_length": (G.UINT32, D),
              "llama.rope.dimension_count": (G.UINT32, D), "llama.vocab_size": (G.UINT32, V),
              "llama.rope.scaling.type": (G.STRING, "none"),
              "tokenizer.ggml.bos_token_id": (G.UINT32, 0), "tokenizer.ggml.eos_token_id": (G.UINT32, 1)}
        ft = [("token_embd.weight", G.F16, [V, E], G.quantize_random_blocks(G.F16, V * E, rng)),
              ("rope_freqs.weight", G.F32, [D // 2], np.array([1, 1, 8, 8], "<f4").tobytes()),
              ("output.weight", G.Q8_0, [V, 32], G.quantize_random_blocks(G.Q8_0, V * 32, rng))]
        G.write_gguf(p, "llama", lm, ft)
        seed("gguf", "llama-config.gguf", open(p, "rb").read())


# ---------------------------------------------------------------- the trainer's own files

def tiny_config(vocab, arch="qwen2"):
    c = dict(model_type=arch, architectures=["Qwen2ForCausalLM" if arch == "qwen2" else "LlamaForCausalLM"],
             hidden_size=32, num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1,
             intermediate_size=32, vocab_size=vocab, max_position_embeddings=128, rope_theta=10000.0,
             rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu")
    if arch == "llama":
        c.update(tie_word_embeddings=False, attention_bias=False, bos_token_id=0, eos_token_id=[1, 2],
                 rope_theta=500000.0, head_dim=16,
                 rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                   original_max_position_embeddings=8192))
    return c


def trainer_files(toks, tmp):
    tj, tc, n_tok = toks["qwen2"]
    run_cfg = os.path.join(tmp, "run.json")
    json.dump({"model_config": tiny_config(n_tok), "seq-len": 64, "batch-size": 2, "threads": 1}, open(run_cfg, "w"))
    base = os.path.join(tmp, "base")
    train("--stage", "convert", "--config", run_cfg, "--out", base, "--save-dtype", "bf16")
    seed("config_json", "qwen2-trainer.json", open(os.path.join(base, "config.json")).read())
    seed("safetensors", "trainer-bf16.safetensors", open(os.path.join(base, "model.safetensors"), "rb").read())
    open(os.path.join(base, "tokenizer.json"), "w").write(tj)
    open(os.path.join(base, "tokenizer_config.json"), "w").write(tc)
    # GGUF exports: with the tokenizer's keys (Q8_0), and without a tokenizer (F16, llama: permuted Q/K)
    g = os.path.join(tmp, "m.gguf")
    train("--stage", "convert", "--model", base, "--export-gguf", g, "--save-dtype", "q8_0")
    seed("gguf", "trainer-q8_0-tokenizer.gguf", open(g, "rb").read())
    lcfg = os.path.join(tmp, "llama.json")
    json.dump({"model_config": tiny_config(64, "llama")}, open(lcfg, "w"))
    train("--stage", "convert", "--config", lcfg, "--export-gguf", g, "--save-dtype", "f16")
    seed("gguf", "trainer-llama-f16.gguf", open(g, "rb").read())
    # a short LoRA run and a short preference run: their checkpoints' state and adapter files
    rows = os.path.join(tmp, "rows.jsonl")
    shortest = sorted(open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")).readlines(), key=len)[:4]
    open(rows, "w").writelines(shortest)
    lora = os.path.join(tmp, "lora")
    train("--config", run_cfg, "--stage", "sft", "--model", base, "--data", rows, "--lora-r", "2",
          "--lora-targets", "q,v", "--max-steps", "1", "--out", lora, "--lr", "1e-3")
    ck = os.path.join(lora, "checkpoint-1")
    seed("trainer_state", "lora-sft.json", open(os.path.join(ck, "trainer_state.json")).read())
    seed("adapter_config", "trainer-lora.json", open(os.path.join(ck, "adapter_config.json")).read())
    seed("safetensors", "trainer-adapter.safetensors", open(os.path.join(ck, "adapter_model.safetensors"), "rb").read())
    train("--stage", "convert", "--model", base, "--adapter", ck, "--export-gguf", g)
    seed("gguf", "trainer-lora-adapter.gguf", open(g, "rb").read())
    prow = os.path.join(tmp, "pref.jsonl")
    shortest = sorted(open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")).readlines(), key=len)[:2]
    open(prow, "w").writelines(shortest)
    pref = os.path.join(tmp, "pref")
    train("--config", run_cfg, "--stage", "pref", "--model", base, "--data", prow, "--loss", "spo",
          "--precompute-ref", "--max-steps", "1", "--out", pref, "--lr", "1e-3")
    seed("trainer_state", "pref-precomputed-ref.json",
         open(os.path.join(pref, "checkpoint-1", "trainer_state.json")).read())
    # a sharded write's index, renamed onto the fuzz target's fixed shards ("a"; "b", "c")
    sh = os.path.join(tmp, "sharded")
    train("--stage", "convert", "--model", base, "--out", sh, "--max-shard-size", "20KB")
    idx = json.load(open(os.path.join(sh, "model.safetensors.index.json")))
    idx["weight_map"] = {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors",
                         "c": "model-00002-of-00002.safetensors"}
    seed("safetensors", "index.json", json.dumps(idx, indent=2))


def main():
    if not os.path.isfile(TRAIN):
        sys.exit("build ./train first (make train)")
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    toks = tiny_tokenizers()
    for fam, (tj, tc, _) in toks.items():
        seed("tokenizer_json", f"tiny-{fam}.json", tj + "\0" + tc)
    seed("tokenizer_json", "tiny-qwen2-no-config.json", toks["qwen2"][0])
    synthetic_ggufs()
    with tempfile.TemporaryDirectory() as tmp:
        trainer_files(toks, tmp)
    # config.json: the big models' own (configs/*.json carry them), and a Llama with every option
    for name in ("qwen2.5-7b", "llama-3-8b"):
        seed("config_json", f"{name}.json", json.dumps(json.load(open(os.path.join(ROOT, "configs", f"{name}.json")))
                                                        ["model_config"], indent=1))
    seed("config_json", "llama-rope-scaling.json", json.dumps(tiny_config(64, "llama"), indent=1))
    # adapter_config.json: PEFT's other spellings
    seed("adapter_config", "peft-all-linear.json", json.dumps(
        dict(peft_type="LORA", r=4, lora_alpha=16, lora_dropout=0.05, target_modules="all-linear", bias="none",
             use_rslora=True, base_model_name_or_path="Qwen/Qwen2.5-0.5B", use_dora=False, rank_pattern={},
             modules_to_save=None, task_type="CAUSAL_LM")))
    seed("adapter_config", "peft-dotted-names.json", json.dumps(
        dict(peft_type="LORA", r=2, target_modules=["self_attn.q_proj", "mlp.down_proj", "k"])))
    # JSONL rows: the shortest of each sample, pre-tokenized rows, the study's data
    tiny_vocab = toks["qwen2"][2]
    for src, name in (("sample-ultrachat.jsonl", "ultrachat"), ("sample-ultrafeedback.jsonl", "ultrafeedback"),
                      ("task/sft_train.jsonl", "task-sft"), ("task/pref_offpolicy.jsonl", "task-pref")):
        lines = sorted(open(os.path.join(ROOT, "data", src)).readlines(), key=len)[:2]
        seed("jsonl", f"{name}.jsonl", "".join(lines))
    seed("jsonl", "tokenized-sft.jsonl", "\n".join(json.dumps(r) for r in (
        dict(input_ids=[1, 2, 3, 4], labels=[-100, -100, 3, 4]), dict(input_ids=[5, 6, tiny_vocab - 1]),
        dict(input_ids=list(range(120)), labels=None))) + "\n\n")
    seed("jsonl", "tokenized-pref.jsonl", "\r\n".join(json.dumps(r) for r in (
        dict(prompt_input_ids=[1, 2], chosen_input_ids=[3], rejected_input_ids=[4, 5]),
        dict(prompt_input_ids=list(range(80)), chosen_input_ids=list(range(30)), rejected_input_ids=[7]))))
    seed("jsonl", "chat-system-and-skips.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in (
        dict(messages=[dict(role="system", content="Be brief."), dict(role="user", content="2+2? caf\u00e9"),
                       dict(role="assistant", content="  4  ")]),
        dict(messages=[dict(role="user", content="hi")]),
        dict(prompt="q", chosen=[dict(role="user", content="q"), dict(role="assistant", content="a")],
             rejected=[dict(role="user", content="q"), dict(role="assistant", content="b")]))))
    # BPE: text of every kind the pre-tokenizer splits, and bytes that are not UTF-8
    for name, text in (("english", "Hello world, it's 2024! We'll see   you\tthere.\n\n"),
                       ("unicode", "caf\u00e9 Cafe\u0301 \u00e9t\u00e9 \U0001F44D\U0001F3FD \u4e2d\u6587 \u0928\u092e"
                                   "\u0938\u094d\u0924\u0947 \u00a0\u2028x\u3000y"),
                       ("digits", "123456789 3.14159 1,000,000 \u0661\u0662\u0663"),
                       ("special", "<|im_start|>user\nhi<|im_end|><|endoftext|><|im_start"),
                       ("code", "def f(x):\r\n    return x**2  # sq\r\n\r\n\t}\n")):
        seed("bpe", f"{name}.txt", text)
    seed("bpe", "not-utf8.bin", b"ok \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 \xf4\x90\x80\x80 \xc0\xaf end\x00nul")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(CORPUS) for f in fs)
    print(f"{CORPUS}: {sum(len(fs) for _, _, fs in os.walk(CORPUS))} files, {total} bytes")


if __name__ == "__main__":
    main()
