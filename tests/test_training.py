"""The training stages as a user runs them, on a tiny model (the default tokenizer, a
2-layer config initialised from the seed) and a few dozen sample rows:

- metrics.jsonl carries TRL's names; checkpoints are Hugging Face directories numpy and
  the program read back; --keep-last prunes;
- at step 0 the policy is the reference: DPO's loss is ln 2 and SPO's 0, every reward 0;
- resume: N steps + --resume + N steps give the same losses as 2N steps straight (SFT, and
  preference training with the reference in memory or precomputed);
- kill -9 while a checkpoint is being written leaves the previous one whole and resumable;
- a short run learns (SFT loss down, preference accuracy and margin up);
- eval with --ref-model reports rewards and losses that follow from its log-probs;
- generate is deterministic at temperature 0.
"""
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402
from harness import ROOT, TRAIN, metrics, reporter, train  # noqa: E402

TINY = {"model_config": {"model_type": "qwen2", "hidden_size": 64, "num_hidden_layers": 2,
                         "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
                         "vocab_size": 4096, "tie_word_embeddings": True, "rope_theta": 1000000.0,
                         "rms_norm_eps": 1e-6},
        "seq-len": 256, "batch-size": 4, "lr": 3e-3, "warmup": 2, "threads": 2}


result, guard = reporter("training")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "tiny.json")
        json.dump(TINY, open(cfg, "w"))
        sft_rows = os.path.join(tmp, "sft.jsonl")
        pref_rows = os.path.join(tmp, "pref.jsonl")
        with open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")) as f, open(sft_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        with open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")) as f, open(pref_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        A = os.path.join(tmp, "A")
        base = ["--config", cfg, "--stage", "sft", "--data", sft_rows]

        def sft_straight():
            train(*base, "--max-steps", "6", "--save-every", "3", "--out", A)
            m = metrics(A)
            keys = {"step", "loss", "grad_norm", "learning_rate", "tokens_per_second", "epoch"}
            result("SFT writes metrics.jsonl with TRL's names, one line per step",
                   len(m) == 6 and all(keys <= set(x) for x in m) and [x["step"] for x in m] == list(range(1, 7)))
            ck = os.path.join(A, "checkpoint-6")
            W, _ = st_numpy.read(os.path.join(ck, "model.safetensors"))
            c = json.load(open(os.path.join(ck, "config.json")))
            ok = c["model_type"] == "qwen2" and c["hidden_size"] == 64 and W["model.embed_tokens.weight"].shape == \
                (4096, 64) and all(os.path.isfile(os.path.join(ck, f)) for f in
                                   ("tokenizer.json", "tokenizer_config.json", "optimizer.safetensors",
                                    "trainer_state.json"))
            st = json.load(open(os.path.join(ck, "trainer_state.json")))
            ok = ok and st["global_step"] == 6
            p = train("--stage", "eval", "--model", ck, "--data", sft_rows, "--seq-len", "256")
            result("a checkpoint is a Hugging Face directory numpy and the program load back", ok and
                   len(p.stdout.splitlines()) == 40)
        guard("SFT run", sft_straight)

        def sft_resume():
            B = os.path.join(tmp, "B")
            train("--resume", os.path.join(A, "checkpoint-3"), "--out", B)
            a, b = metrics(A), metrics(B)
            same = [x["loss"] for x in a[3:]] == [x["loss"] for x in b] and \
                [x["grad_norm"] for x in a[3:]] == [x["grad_norm"] for x in b]
            result("SFT: 3 steps + --resume + 3 steps equal 6 steps straight (losses, grad norms)",
                   same and [x["step"] for x in b] == [4, 5, 6], f"{[x['loss'] for x in a[3:]]} vs {[x['loss'] for x in b]}")
        guard("SFT resume", sft_resume)

        def resume_contradicted():
            ck = os.path.join(A, "checkpoint-3")
            bad = []
            other = os.path.join(tmp, "other.jsonl")
            shutil.copy(sft_rows, other)
            for flag, value, saved in (("--lr", "0.5", "0.003"), ("--stage", "pref", '"sft"'), ("--seq-len", "128", "256"),
                                       ("--lora-r", "4", "0"), ("--data", other, json.dumps(sft_rows)),
                                       ("--epochs", "2", "1")):
                p = train("--resume", ck, flag, value, "--out", os.path.join(tmp, "X"), check=False)
                line = p.stderr.strip()
                want = f"--{flag[2:]} "
                if p.returncode != 1 or len(line.splitlines()) != 1 or ck not in line or want not in line or \
                        f"which has {saved}" not in line or os.path.exists(os.path.join(tmp, "X")):
                    bad.append(f"{flag} {value}: {line[-200:]}")
            ok_same = train("--resume", ck, "--lr", "3e-3", "--data", os.path.relpath(sft_rows), "--threads", "1",
                            "--max-steps", "6", "--out", os.path.join(tmp, "Y"), check=False)
            result("--resume with a flag that contradicts the checkpoint's run: one line naming the flag, both values "
                   "and the checkpoint, nothing written; the same values (a path written another way) and flags that "
                   "may change are accepted", not bad and ok_same.returncode == 0,
                   "; ".join(bad) or ok_same.stderr.strip()[-200:])
        guard("resume contradicted", resume_contradicted)

        def sft_recompute():
            R = os.path.join(tmp, "R")
            p = train(*base, "--max-steps", "6", "--out", R, "--recompute", "--report-memory")
            a, b = metrics(A), metrics(R)
            same = [(x["loss"], x["grad_norm"]) for x in a] == [(x["loss"], x["grad_norm"]) for x in b]
            result("SFT --recompute: the same 6 losses and grad norms as keeping every activation",
                   same and "arena plan" in p.stderr, f"{[x['loss'] for x in a]} vs {[x['loss'] for x in b]}")
        guard("SFT recompute", sft_recompute)

        start = os.path.join(A, "checkpoint-6")
        for loss, extra in (("dpo", []), ("spo", ["--precompute-ref"]), ("dpo", ["--ref-dtype", "bf16"])):
            tag = f"{loss}{' ' + ' '.join(extra) if extra else ''}"

            def pref_run(loss=loss, extra=extra, tag=tag):
                D = os.path.join(tmp, f"D-{loss}-{len(extra)}-{extra[-1] if extra else ''}")
                common = ["--config", cfg, "--stage", "pref", "--model", start, "--data", pref_rows, "--loss", loss,
                          "--beta", "0.1", "--lr", "1e-3", *extra]
                train(*common, "--max-steps", "6", "--save-every", "3", "--out", D)
                m = metrics(D)
                first = m[0]
                want = math.log(2) if loss == "dpo" else 0.0
                keys = ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen",
                        "logps/rejected", "u/mean", "u/min", "u/max", "u/frac_above_1"]
                tol = 1e-6 if "bf16" not in extra else 5e-2  # a bf16 reference is not bit-equal to the policy
                ok = abs(first["loss"] - want) < tol and all(k in first for k in keys) and \
                    (abs(first["rewards/chosen"]) < tol and abs(first["rewards/rejected"]) < tol and
                     first["rewards/accuracies"] == 0.0 if "bf16" not in extra else True)
                result(f"pref {tag}: at step 0 the loss is {'ln 2' if loss == 'dpo' else '0'} and the rewards 0",
                       ok, f"loss {first['loss']!r}, rewards {first['rewards/chosen']!r} {first['rewards/rejected']!r}")
                E = D + "-resumed"
                train("--resume", os.path.join(D, "checkpoint-3"), "--out", E)
                a, b = m, metrics(E)
                same = [x["loss"] for x in a[3:]] == [x["loss"] for x in b]
                result(f"pref {tag}: 3 steps + --resume + 3 steps equal 6 steps straight", same,
                       f"{[x['loss'] for x in a[3:]]} vs {[x['loss'] for x in b]}")
            guard(f"pref {tag}", pref_run)

        def pair_log_resume():
            G = os.path.join(tmp, "G")
            train("--config", cfg, "--stage", "pref", "--model", start, "--data", pref_rows, "--loss", "spo", "--beta",
                  "0.1", "--lr", "1e-3", "--log-pairs", "--max-steps", "6", "--save-every", "3", "--out", G)
            straight = open(os.path.join(G, "pairs.jsonl")).read()
            shutil.rmtree(os.path.join(G, "checkpoint-6"))
            train("--resume", G)
            again = open(os.path.join(G, "pairs.jsonl")).read()
            steps = sorted({json.loads(l)["step"] for l in straight.splitlines()})
            result("--log-pairs: a run resumed in its directory rewrites pairs.jsonl from its checkpoint to the same "
                   "lines as the straight run", again == straight and steps == [1, 2, 3, 4, 5, 6],
                   f"{len(straight.splitlines())} lines, steps {steps}")
        guard("pair log resume", pair_log_resume)

        def sigterm():
            S, T = os.path.join(tmp, "S"), os.path.join(tmp, "T")
            run = ["--config", cfg, "--stage", "pref", "--model", start, "--data", pref_rows, "--loss", "spo", "--beta",
                   "0.1", "--lr", "1e-3", "--max-steps", "40", "--batch-size", "1"]
            train(*run, "--out", S)
            p = subprocess.Popen([TRAIN, *run, "--out", T], stderr=subprocess.PIPE, text=True)
            path = os.path.join(T, "metrics.jsonl")
            while p.poll() is None and not (os.path.exists(path) and len(open(path).read().splitlines()) >= 3):
                time.sleep(0.005)
            p.send_signal(signal.SIGTERM)
            err = p.communicate()[1]
            cks = [d for d in os.listdir(T) if d.startswith("checkpoint-")]
            stopped = int(cks[0].split("-")[1]) if len(cks) == 1 else -1
            ok = p.returncode == 0 and 3 <= stopped < 40 and f"continue with: ./train --resume {T}" in err
            result("SIGTERM mid-run: the step under way finishes, a checkpoint is written, exit 0 with the resume "
                   "command", ok, f"exit {p.returncode}, checkpoints {cks}, {err.strip().splitlines()[-1][:160]}")
            train("--resume", T)
            a, b = metrics(S), metrics(T)
            result("... and --resume continues to the losses of the uninterrupted run", [x["loss"] for x in a] ==
                   [x["loss"] for x in b], f"stopped after step {stopped}; {len(a)} and {len(b)} steps")
            q = subprocess.Popen([TRAIN, *run, "--max-steps", "4000", "--out", os.path.join(tmp, "U")],
                                 stderr=subprocess.PIPE, text=True)
            upath = os.path.join(tmp, "U", "metrics.jsonl")
            while q.poll() is None and not (os.path.exists(upath) and len(open(upath).read().splitlines()) >= 2):
                time.sleep(0.005)
            # two different signals: two of the same kind may merge into one while pending
            q.send_signal(signal.SIGINT)
            q.send_signal(signal.SIGTERM)
            q.communicate()
            result("a second signal exits at once (status 128 + the signal)",
                   q.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM), f"exit {q.returncode}")
        guard("SIGTERM", sigterm)

        def killed():
            F = os.path.join(tmp, "F")
            train(*base, "--max-steps", "6", "--save-every", "3", "--out", F, "--seed", "42")
            shutil.rmtree(os.path.join(F, "checkpoint-6"))
            before = {f: open(os.path.join(F, "checkpoint-3", f), "rb").read()
                      for f in os.listdir(os.path.join(F, "checkpoint-3"))}
            env = dict(os.environ, TRAIN_TEST_KILL_DURING_CHECKPOINT="6")
            p = train("--resume", F, env=env, check=False)
            partial = [d for d in os.listdir(F) if ".tmp-" in d]
            after = {f: open(os.path.join(F, "checkpoint-3", f), "rb").read()
                     for f in os.listdir(os.path.join(F, "checkpoint-3"))}
            ok = p.returncode == -9 and partial and not os.path.exists(os.path.join(F, "checkpoint-6")) and \
                before == after
            result("kill -9 while checkpoint-6 is written leaves checkpoint-3 byte for byte as it was", ok,
                   f"exit {p.returncode}, partial {partial}")
            train("--resume", F)
            a, b = metrics(A), metrics(F)
            ok = [x["loss"] for x in a] == [x["loss"] for x in b] and \
                not [d for d in os.listdir(F) if ".tmp-" in d] and os.path.isdir(os.path.join(F, "checkpoint-6"))
            result("... and the run resumes from it to the same losses, the partial write cleared away", ok)
        guard("kill -9", killed)

        def keep_last():
            K = os.path.join(tmp, "K")
            train(*base, "--max-steps", "4", "--save-every", "1", "--keep-last", "2", "--out", K)
            left = sorted(d for d in os.listdir(K) if d.startswith("checkpoint-"))
            result("--keep-last 2 keeps the newest two checkpoints", left == ["checkpoint-3", "checkpoint-4"], str(left))
        guard("keep-last", keep_last)

        def learns():
            L = os.path.join(tmp, "L")
            train(*base, "--max-steps", "40", "--lr", "1e-2", "--out", L)
            m = metrics(L)
            a, b = sum(x["loss"] for x in m[:5]) / 5, sum(x["loss"] for x in m[-5:]) / 5
            result("SFT learns: mean loss of the last 5 of 40 steps well below the first 5", b < a - 1.0,
                   f"{a:.3f} -> {b:.3f}")
            P = os.path.join(tmp, "P")
            train("--config", cfg, "--stage", "pref", "--model", os.path.join(L, "checkpoint-40"), "--data", pref_rows,
                  "--loss", "dpo", "--lr", "3e-3", "--max-steps", "30", "--batch-size", "4", "--out", P)
            m = metrics(P)
            a = sum(x["rewards/margins"] for x in m[:10]) / 10
            b = sum(x["rewards/margins"] for x in m[-10:]) / 10
            acc = sum(x["rewards/accuracies"] for x in m[-10:]) / 10
            result("DPO learns: mean reward margin rises and the last 10 steps rank most pairs right", b > a and acc > 0.6,
                   f"margin {a:.3f} -> {b:.3f}, accuracy {acc:.2f}")
            rows = train("--stage", "eval", "--model", os.path.join(P, "checkpoint-30"), "--ref-model",
                         os.path.join(L, "checkpoint-40"), "--data", pref_rows, "--seq-len", "256", "--loss", "dpo")
            out = [json.loads(l) for l in rows.stdout.splitlines()]
            used = int(rows.stderr.split(" rows used")[0].split()[-1])
            ok = len(out) == used > 30
            for r in out:
                wc, wr = 0.1 * (r["chosen_logp"] - r["ref_chosen_logp"]), 0.1 * (r["rejected_logp"] - r["ref_rejected_logp"])
                want = math.log1p(math.exp(-(wc - wr)))
                ok = ok and abs(r["chosen_reward"] - wc) < 1e-4 and abs(r["rejected_reward"] - wr) < 1e-4 and \
                    abs(r["loss"] - want) < 1e-5
            acc = sum(r["chosen_reward"] > r["rejected_reward"] for r in out) / len(out)
            result("eval --ref-model: rewards are beta * (logp - ref logp) and each row's loss is -log sigmoid of "
                   "their margin", ok and f"rewards/accuracies {acc:.4f}" in rows.stderr,
                   rows.stderr.strip().replace("\n", " | ")[-200:])
            g1 = train("--stage", "generate", "--model", os.path.join(P, "checkpoint-30"), "--prompt", "Hello there",
                       "--temperature", "0", "--max-new-tokens", "12", "--seq-len", "256")
            g2 = train("--stage", "generate", "--model", os.path.join(P, "checkpoint-30"), "--prompt", "Hello there",
                       "--temperature", "0", "--max-new-tokens", "12", "--seq-len", "256")
            j = json.loads(g1.stdout)
            result("generate is deterministic at temperature 0 and stops within --max-new-tokens",
                   g1.stdout == g2.stdout and j["prompt"] == "Hello there" and j["tokens"] <= 12, g1.stdout.strip())
        guard("learning", learns)

        def bad_resume():
            p = train("--resume", os.path.join(tmp, "nowhere"), check=False)
            lines = p.stderr.strip().splitlines()
            result("--resume of a directory without a checkpoint is one clear error", p.returncode == 1 and
                   len(lines) == 1 and "nowhere" in lines[0], p.stderr.strip())
        guard("bad resume", bad_resume)


if __name__ == "__main__":
    main()
