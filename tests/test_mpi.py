"""Data parallelism over Open MPI (make USE_MPI=1), on localhost, on the tiny model of
test_training.py:

- `mpirun -np 2` with --batch-size 4 against one process with --batch-size 2 --grad-accum 2 (the
  same rows in every step), and `-np 4` against --batch-size 1 --grad-accum 4: the same losses
  for 5 steps (relative difference below 1e-5) and final weights equal up to summation order;
  for SFT and SPO, full and LoRA, and SPO with the reference log-probs computed in shares;
- the per-pair log gathered from the ranks holds the single process's pairs;
- resume under MPI equals the uninterrupted MPI run;
- a rank killed with -9 ends the whole job, and a rank that hangs is caught by --mpi-timeout;
  the last checkpoint stays whole and resumes.

Skipped with the reason where mpirun or the MPI build is missing.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402
from harness import ROOT, metrics, reporter  # noqa: E402
from test_training import TINY  # noqa: E402

result, guard = reporter("mpi")
MPI_TRAIN = os.path.join(ROOT, "build", "mpi", "train")
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           OMPI_MCA_btl="self,vader")


def run(train, args, np_=1, check=True, timeout=600):
    cmd = [train, *args] if np_ == 1 else ["mpirun", "-np", str(np_), train, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}...: {p.stderr.strip()[-500:]}")
    return p


def losses(d):
    return [x["loss"] for x in metrics(d)]


def rel(a, b):
    return max(abs(x - y) / max(abs(x), abs(y), 1e-12) for x, y in zip(a, b))


def weights_close(a, b, tol=1e-5):
    """The largest difference of a tensor of a and b (model or adapter file), relative to its
    largest value; and whether that is under tol."""
    name = "adapter_model.safetensors" if os.path.exists(os.path.join(a, "adapter_model.safetensors")) \
        else "model.safetensors"
    A, _ = st_numpy.read(os.path.join(a, name))
    B, _ = st_numpy.read(os.path.join(b, name))
    worst = max(float(np.max(np.abs(A[k] - B[k]))) / max(float(np.max(np.abs(A[k]))), 1e-12) for k in A)
    return set(A) == set(B) and worst < tol, worst


def main():
    if not shutil.which("mpirun"):
        print("SKIP: mpi: no mpirun (Debian's openmpi-bin)")
        return
    if not os.path.exists(MPI_TRAIN):
        print("SKIP: mpi: build/mpi/train is not built (make USE_MPI=1 BIN=build/mpi/train)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        # the MPI program beside the shipped files it reads (the default tokenizer)
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        for d in ("data", "configs"):
            os.symlink(os.path.join(ROOT, d), os.path.join(root, d))
        train = os.path.join(root, "train")
        shutil.copy(MPI_TRAIN, train)
        cfg = os.path.join(tmp, "tiny.json")
        json.dump(dict(TINY, threads=1), open(cfg, "w"))
        sft_rows, pref_rows = os.path.join(tmp, "sft.jsonl"), os.path.join(tmp, "pref.jsonl")
        with open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")) as f, open(sft_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        with open(os.path.join(ROOT, "data", "sample-ultrafeedback.jsonl")) as f, open(pref_rows, "w") as g:
            g.writelines(f.readlines()[:40])
        start = os.path.join(tmp, "sft-start")
        run(train, ["--config", cfg, "--stage", "sft", "--data", sft_rows, "--max-steps", "4", "--out", start])
        start = os.path.join(start, "checkpoint-4")

        cases = [
            ("SFT", ["--stage", "sft", "--data", sft_rows]),
            ("SFT LoRA r 4", ["--stage", "sft", "--data", sft_rows, "--lora-r", "4", "--lr", "1e-2"]),
            ("SPO", ["--stage", "pref", "--model", start, "--data", pref_rows, "--loss", "spo", "--lr", "1e-3"]),
            ("SPO LoRA r 4", ["--stage", "pref", "--model", start, "--data", pref_rows, "--loss", "spo", "--lr",
                              "1e-2", "--lora-r", "4"]),
            ("SPO, reference precomputed in shares", ["--stage", "pref", "--model", start, "--data", pref_rows,
                                                      "--loss", "spo", "--lr", "1e-3", "--precompute-ref"]),
        ]
        # Weights: Adam's first steps divide each gradient entry by its own magnitude, so an entry
        # near zero whose last bits depend on the order of the additions moves by up to the
        # learning rate either way. The yardstick is one process itself with the same rows split
        # another way (--batch-size 1 --grad-accum 4 against 2 x 2): a change of summation order only.
        for n, (tag, args) in enumerate(cases):
            def case(tag=tag, args=args, n=n):
                common = ["--config", cfg, *args, "--max-steps", "5"]
                one = {}
                for split in ((2, 2), (1, 4)):
                    one[split] = os.path.join(tmp, f"s{n}-{split[0]}x{split[1]}")
                    run(train, [*common, "--batch-size", str(split[0]), "--grad-accum", str(split[1]), "--out",
                                one[split]])
                _, floor = weights_close(os.path.join(one[(2, 2)], "checkpoint-5"),
                                         os.path.join(one[(1, 4)], "checkpoint-5"))
                for ranks, split in ((2, (2, 2)), (4, (1, 4))):
                    if ranks == 4 and n not in (0, 2):
                        continue  # -np 4 on SFT and SPO; the rest at 2 ranks
                    D, S = os.path.join(tmp, f"d{n}-{ranks}"), one[split]
                    p = run(train, [*common, "--batch-size", "4", "--out", D], np_=ranks)
                    a, b = losses(D), losses(S)
                    _, worst = weights_close(os.path.join(D, "checkpoint-5"), os.path.join(S, "checkpoint-5"))
                    one_writer = p.stderr.count("saved ") == 1 and f"{ranks} ranks, each" in p.stderr
                    result(f"{tag}: -np {ranks} (--batch-size 4) gives the losses of one process with --batch-size "
                           f"{split[0]} --grad-accum {split[1]} for 5 steps (rel. < 1e-5), and final weights as close "
                           "as one process's own with the rows split another way",
                           len(a) == len(b) == 5 and rel(a, b) < 1e-5 and worst <= 5 * floor + 1e-6 and one_writer,
                           f"loss rel diff {rel(a, b):.1e}; weights {worst:.1e} (one process, split another way: "
                           f"{floor:.1e})")
            guard(tag, case)

        def overlap():
            # 42 rows in batches of 4: the epoch's 11th batch holds 2, so at 4 ranks two of them
            # have nothing to compute and start their layers' sums after the backward instead of
            # in it (the others' order); --overlap-allreduce=false sums once after the backward
            rows42 = os.path.join(tmp, "sft42.jsonl")
            with open(sft_rows) as f, open(rows42, "w") as g:
                lines = f.readlines()
                g.writelines(lines + lines[:2])
            # an untied LM head, whose sum starts before the layers' (the other cases are tied)
            untied = os.path.join(tmp, "untied.json")
            conf = dict(TINY, threads=1)
            conf["model_config"] = dict(conf["model_config"], tie_word_embeddings=False)
            json.dump(conf, open(untied, "w"))
            common = ["--config", untied, "--stage", "sft", "--data", rows42, "--batch-size", "4", "--max-steps", "12",
                      "--mpi-timeout", "20"]
            S, D, E = (os.path.join(tmp, f"ov-{x}") for x in ("one", "overlap", "end"))
            run(train, [*common, "--out", S])
            run(train, [*common, "--out", D], np_=4)
            run(train, [*common, "--overlap-allreduce=false", "--out", E], np_=4)
            a, b, c = losses(S), losses(D), losses(E)
            _, wd = weights_close(os.path.join(D, "checkpoint-12"), os.path.join(S, "checkpoint-12"))
            _, we = weights_close(os.path.join(D, "checkpoint-12"), os.path.join(E, "checkpoint-12"))
            short = [x["num_tokens"] for x in metrics(S)][10] < min(x["num_tokens"] for x in metrics(S)[:10])
            result("the gradient sums started inside the backward (an untied head), with two ranks empty in a short last "
                   "batch, equal one process and one sum after the backward (-np 4, 12 steps, losses rel. < 1e-5)",
                   len(a) == len(b) == len(c) == 12 and rel(a, b) < 1e-5 and rel(b, c) < 1e-5 and short and wd < 1e-3
                   and we < 1e-3, f"loss rel diff {rel(a, b):.1e} (against the sum after: {rel(b, c):.1e}); weights "
                   f"{wd:.1e} ({we:.1e}); step 11 short: {short}")
        guard("overlap", overlap)

        def pair_log():
            D, S = os.path.join(tmp, "pl-mpi"), os.path.join(tmp, "pl-one")
            common = ["--config", cfg, "--stage", "pref", "--model", start, "--data", pref_rows, "--loss", "spo",
                      "--lr", "1e-3", "--max-steps", "3", "--log-pairs"]
            run(train, [*common, "--batch-size", "4", "--out", D], np_=2)
            run(train, [*common, "--batch-size", "2", "--grad-accum", "2", "--out", S])
            rd = [json.loads(l) for l in open(os.path.join(D, "pairs.jsonl"))]
            rs = [json.loads(l) for l in open(os.path.join(S, "pairs.jsonl"))]
            ok = [(x["step"], x["row"]) for x in rd] == [(x["step"], x["row"]) for x in rs] and len(rd) == 12 and \
                rel([x["u"] for x in rd], [x["u"] for x in rs]) < 1e-4
            result("--log-pairs under MPI: every rank's pairs gathered, in the batch's order, as one process logs them",
                   ok, f"{len(rd)} and {len(rs)} lines")
        guard("pair log", pair_log)

        def resume():
            D, R = os.path.join(tmp, "res-straight"), os.path.join(tmp, "res")
            common = ["--config", cfg, "--stage", "sft", "--data", sft_rows, "--batch-size", "4", "--max-steps", "6",
                      "--save-every", "3"]
            run(train, [*common, "--out", D], np_=2)
            run(train, [*common, "--out", R], np_=2)
            shutil.rmtree(os.path.join(R, "checkpoint-6"))
            run(train, ["--resume", R], np_=2)
            result("resume under MPI: 3 steps + --resume + 3 steps at 2 ranks equal 6 straight", losses(D) == losses(R)
                   and [x["step"] for x in metrics(R)] == [1, 2, 3, 4, 5, 6])
        guard("resume", resume)

        def rank_killed():
            K = os.path.join(tmp, "killed")
            cmd = ["mpirun", "-np", "2", train, "--config", cfg, "--stage", "sft", "--data", sft_rows,
                   "--batch-size", "4", "--max-steps", "100000", "--save-every", "2", "--out", K]
            q = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
            log = os.path.join(K, "metrics.jsonl")
            t0 = time.time()
            while q.poll() is None and time.time() - t0 < 120 and \
                    not (os.path.exists(log) and len(open(log).read().splitlines()) >= 5):
                time.sleep(0.01)
            ranks = subprocess.run(["pgrep", "-f", "-P", str(q.pid), "root/train"], capture_output=True,
                                   text=True).stdout.split()
            os.kill(int(ranks[-1]), signal.SIGKILL)
            try:
                err = q.communicate(timeout=60)[1]
            except subprocess.TimeoutExpired:
                q.kill()
                err = "(still running 60 s after the kill)"
            cks = sorted(int(d.split("-")[1]) for d in os.listdir(K) if d.startswith("checkpoint-"))
            ok = q.returncode not in (0, None) and cks and "(still running" not in err
            if ok:
                R = os.path.join(tmp, "killed-resumed")
                run(train, ["--resume", os.path.join(K, f"checkpoint-{cks[-1]}"), "--max-steps", str(cks[-1] + 2),
                            "--out", R], np_=2)
            result("a rank killed with -9 ends the whole job (mpirun's exit non-zero) and the last checkpoint "
                   "resumes", ok, f"exit {q.returncode}, {len(ranks)} ranks found, checkpoints {cks[-3:]}, "
                   f"{err.strip().splitlines()[-1][:160] if err.strip() else ''}")
        guard("rank killed", rank_killed)

        def rank_hangs():
            H = os.path.join(tmp, "hang")
            env = dict(ENV, TRAIN_TEST_HANG="1:3")
            t0 = time.time()
            p = subprocess.run(["mpirun", "-np", "2", train, "--config", cfg, "--stage", "sft", "--data", sft_rows,
                                "--batch-size", "4", "--max-steps", "8", "--save-every", "1", "--mpi-timeout", "3",
                                "--out", H], capture_output=True, text=True, env=env, timeout=120)
            took = time.time() - t0
            cks = sorted(int(d.split("-")[1]) for d in os.listdir(H) if d.startswith("checkpoint-"))
            ok = p.returncode != 0 and "a collective waited 3 s (--mpi-timeout)" in p.stderr and cks == [1, 2] and \
                took < 60
            result("a rank that hangs (a test-only switch stops rank 1 at step 3): --mpi-timeout 3 ends the job with "
                   "a clear line, checkpoints 1 and 2 whole", ok, f"exit {p.returncode} after {took:.0f} s, "
                   f"checkpoints {cks}: " + " / ".join(l for l in p.stderr.splitlines() if "error" in l)[:300])
        guard("rank hangs", rank_hangs)


if __name__ == "__main__":
    main()
