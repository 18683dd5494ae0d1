"""What a run of days meets that a short test does not, on the tiny model of test_training.py:

- a NaN in one step's gradient (TRAIN_TEST_NAN_LINES, a test-only switch naming data lines) is
  skipped, counted and never applied: the run equals one whose data lacks that batch, bit for
  bit, and no checkpoint after it holds a NaN; --max-bad-steps stops the run naming the step
  and the lines, the checkpoints before it untouched;
- a full disk (a small tmpfs): refused before training when one checkpoint does not fit, and
  during a save the partial checkpoint is removed, the previous one stays whole and resumes to
  the uninterrupted run's weights; an --out that cannot be written is refused before training;
- --resume on a data file changed since the checkpoint is one clear line; --max-steps may move
  a resumed run's end;
- kill -9 at random moments, ten times in a row, during steps and during checkpoint writes:
  each time the newest complete checkpoint resumes, and the final losses and weights equal an
  uninterrupted run's bit for bit.

The tmpfs cases need mount (root, as in CI); where it is refused they say SKIP.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402
from harness import ROOT, TRAIN, metrics, reporter, train  # noqa: E402
from test_training import TINY  # noqa: E402

result, guard = reporter("faults")


def files_of(d):
    """Every file under d by relative path, with its bytes."""
    out = {}
    for top, _, names in os.walk(d):
        for f in names:
            path = os.path.join(top, f)
            out[os.path.relpath(path, d)] = open(path, "rb").read()
    return out


def same_checkpoint(a, b):
    """Byte for byte, but for the run directory the trainer state names."""
    fa, fb = files_of(a), files_of(b)
    sa, sb = (json.loads(f.pop("trainer_state.json")) for f in (fa, fb))
    sa["args"].pop("out"), sb["args"].pop("out")
    return fa == fb and sa == sb


def weights(ck):
    """The checkpoint's model and optimizer tensors, as arrays."""
    W, _ = st_numpy.read(os.path.join(ck, "model.safetensors"))
    O, _ = st_numpy.read(os.path.join(ck, "optimizer.safetensors"))
    return W, O


def all_finite(ck):
    W, O = weights(ck)
    return all(np.isfinite(a).all() for a in list(W.values()) + list(O.values()))


def same_weights(a, b):
    return files_of(a)["model.safetensors"] == files_of(b)["model.safetensors"] and \
        files_of(a)["optimizer.safetensors"] == files_of(b)["optimizer.safetensors"]


class Tmpfs:
    """A small file system of `size` bytes, for a disk that fills; None where mount is refused."""
    def __init__(self, path, size):
        os.makedirs(path)
        self.path = path
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", path], capture_output=True, text=True)
        self.ok = p.returncode == 0
        self.why = p.stderr.strip()

    def remount_ro(self):
        subprocess.run(["mount", "-o", "remount,ro", self.path], check=True)

    def close(self):
        if self.ok:
            subprocess.run(["umount", self.path])


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "tiny.json")
        json.dump(TINY, open(cfg, "w"))
        lines = open(os.path.join(ROOT, "data", "sample-ultrachat.jsonl")).readlines()[:40]
        sft_rows = os.path.join(tmp, "sft.jsonl")
        open(sft_rows, "w").writelines(lines)
        base = ["--config", cfg, "--stage", "sft", "--data", sft_rows]

        def nan_step():
            # in file order, so that leaving lines out of the file leaves the other batches as they were
            run = [*base, "--shuffle=false", "--max-steps", "5", "--save-every", "1"]
            N, C = os.path.join(tmp, "N"), os.path.join(tmp, "C")
            p = train(*run, "--out", N, env=dict(os.environ, TRAIN_TEST_NAN_LINES="9"))
            skip = [l for l in p.stderr.splitlines() if "skipped:" in l]
            held = skip[0].split("(lines ")[1].split(" of ")[0].split(", ") if len(skip) == 1 else []
            clean = os.path.join(tmp, "clean.jsonl")
            open(clean, "w").writelines(l for i, l in enumerate(lines, 1) if str(i) not in held)
            train("--config", cfg, "--stage", "sft", "--data", clean, "--shuffle=false", "--max-steps", "5",
                  "--save-every", "1", "--out", C)
            a, b = metrics(N), metrics(C)
            ok = len(skip) == 1 and "step 3/5 skipped: loss" in skip[0] and "gradient norm nan" in skip[0] and \
                held == ["9", "10", "11", "12"] and "| skipped 1" in p.stderr.splitlines()[-2]
            result("a NaN gradient: the step is skipped, its lines named, the count on the progress line", ok,
                   skip[0] if skip else p.stderr[-300:])
            keys = ("loss", "grad_norm", "learning_rate")
            same = [[x[k] for k in keys] for x in a] == [[x[k] for k in keys] for x in b] and \
                [x["step"] for x in a] == [1, 2, 3, 4, 5]
            counted = [x.get("bad_steps") for x in a] == [None, None, 1, 1, 1] and \
                json.load(open(os.path.join(N, "checkpoint-5", "trainer_state.json")))["bad_steps"] == 1
            result("... and the run equals one whose data lacks that batch: the same losses, learning rates and "
                   "final weights and moments bit for bit; bad_steps in metrics.jsonl and the checkpoint",
                   same and counted and same_weights(os.path.join(N, "checkpoint-5"), os.path.join(C, "checkpoint-5")),
                   f"{[x['loss'] for x in a]} vs {[x['loss'] for x in b]}")
            result("... and the checkpoints after it hold no NaN or Inf",
                   all(all_finite(os.path.join(N, f"checkpoint-{s}")) for s in (3, 4, 5)))
        guard("NaN step", nan_step)

        def max_bad_steps():
            M = os.path.join(tmp, "M")
            run = [*base, "--shuffle=false", "--max-steps", "8", "--save-every", "1", "--max-bad-steps", "1"]
            p = train(*run, "--out", M, env=dict(os.environ, TRAIN_TEST_NAN_LINES="9,21"), check=False)
            err = [l for l in p.stderr.splitlines() if l.startswith("error:")]
            ok = p.returncode == 1 and len(err) == 1 and "step 5: loss" in err[0] and \
                "on lines 21, 22, 23, 24 of" in err[0] and "2 steps skipped, more than --max-bad-steps 1" in err[0]
            cks = sorted(d for d in os.listdir(M) if d.startswith("checkpoint-"))
            R = os.path.join(tmp, "M-resumed")
            train("--resume", os.path.join(M, "checkpoint-4"), "--max-bad-steps", "5", "--out", R,
                  env=dict(os.environ, TRAIN_TEST_NAN_LINES="9,21"))
            result("--max-bad-steps 1: the second bad step stops the run with one line naming the step and the "
                   "batch's lines; checkpoints 1-4 stay and resume (with a larger --max-bad-steps) to the end",
                   ok and cks == [f"checkpoint-{i}" for i in range(1, 5)] and
                   [x["step"] for x in metrics(R)] == [5, 6, 7, 8] and all_finite(os.path.join(R, "checkpoint-8")),
                   (err[0] if err else p.stderr[-300:]) + f"; {cks}")
        guard("max-bad-steps", max_bad_steps)

        def data_changed():
            D = os.path.join(tmp, "D")
            data = os.path.join(tmp, "changing.jsonl")
            open(data, "w").writelines(lines)
            train("--config", cfg, "--stage", "sft", "--data", data, "--max-steps", "6", "--save-every", "3",
                  "--out", D)
            shutil.rmtree(os.path.join(D, "checkpoint-6"))
            before = files_of(D)
            open(data, "w").writelines(lines[1:] + lines[:1])  # the same rows, in another order
            p = train("--resume", D, check=False)
            line = p.stderr.strip().splitlines()[-1]
            ok = p.returncode == 1 and p.stderr.count("error:") == 1 and data in line and "differ from those the run" \
                in line and "data hash" in line and files_of(D) == before
            result("--resume after the data file changed: one line naming the file and the checkpoint, nothing "
                   "written", ok, line[-300:])
            open(data, "w").writelines(lines)
            p = train("--resume", D, "--max-steps", "8")
            m = metrics(D)
            state = json.load(open(os.path.join(D, "checkpoint-8", "trainer_state.json")))
            low = train("--resume", os.path.join(D, "checkpoint-3"), "--max-steps", "2", "--out",
                        os.path.join(tmp, "D2"), check=False)
            result("... restored, it resumes; --max-steps 8 moves the run's end (said on stderr, kept in the "
                   "checkpoint); --max-steps below the checkpoint's step is refused",
                   [x["step"] for x in m] == list(range(1, 9)) and "ends at step 8 instead of 6" in p.stderr and
                   state["args"]["max-steps"] == 8 and state["total_steps"] == 8 and low.returncode == 1 and
                   "at step 3 already" in low.stderr, low.stderr.strip().splitlines()[-1][-200:])
        guard("data changed", data_changed)

        def unwritable_out():
            blocker = os.path.join(tmp, "a-file")
            open(blocker, "w").write("x")
            p = train(*base, "--max-steps", "2", "--out", os.path.join(blocker, "run"), check=False)
            line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
            ok = p.returncode == 1 and line.startswith("error: ") and blocker in line and "Not a directory" in line and \
                "step 1" not in p.stderr
            result("an --out under a file: one error line before training", ok, line[-200:])
            fs = Tmpfs(os.path.join(tmp, "ro"), "4M")
            if not fs.ok:
                print(f"SKIP: faults read-only --out: mount refused ({fs.why})")
                return
            try:
                os.makedirs(os.path.join(fs.path, "run"))
                fs.remount_ro()
                p = train(*base, "--max-steps", "2", "--out", os.path.join(fs.path, "run"), check=False)
                line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
                result("an --out on a read-only file system: one error line before training", p.returncode == 1 and
                       "cannot write into this --out" in line and "Read-only" in line and "step 1" not in p.stderr,
                       line[-200:])
            finally:
                fs.close()
        guard("unwritable --out", unwritable_out)

        def disk_full():
            small = Tmpfs(os.path.join(tmp, "small"), "2M")
            if not small.ok:
                print(f"SKIP: faults full disk: mount refused ({small.why})")
                return
            try:
                p = train(*base, "--max-steps", "2", "--out", os.path.join(small.path, "run"), check=False)
                line = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
                result("a disk with less room than one checkpoint: refused before training, saying how much is free "
                       "and needed", p.returncode == 1 and "free on its file system, but one checkpoint takes" in line
                       and "step 1" not in p.stderr, line[-200:])
            finally:
                small.close()
            # room for one checkpoint and a half: the second save runs out of space
            R = os.path.join(tmp, "full-ref")
            run = [*base, "--max-steps", "4", "--save-every", "2"]
            train(*run, "--out", R)
            one = sum(os.path.getsize(os.path.join(R, "checkpoint-2", f)) for f in os.listdir(os.path.join(R,
                                                                                                          "checkpoint-2")))
            fs = Tmpfs(os.path.join(tmp, "full"), str(int(one * 1.6) // 4096 * 4096))
            try:
                F = os.path.join(fs.path, "run")
                p = train(*run, "--out", F, check=False)
                err = [l for l in p.stderr.splitlines() if l.startswith("error:")]
                left = sorted(os.listdir(F))
                ok = p.returncode == 1 and len(err) == 1 and "No space left on device" in err[0] and \
                    "checkpoint-4" in err[0] and "checkpoint-4 was not written" in p.stderr and \
                    [d for d in left if "checkpoint" in d] == ["checkpoint-2"] and \
                    same_checkpoint(os.path.join(F, "checkpoint-2"), os.path.join(R, "checkpoint-2"))
                result("the disk fills during a save: the run stops naming the file and the reason, the partial "
                       "checkpoint is removed and the previous one is byte for byte the uninterrupted run's", ok,
                       f"{(err or [p.stderr[-200:]])[0][-200:]}; left {left}")
                G = os.path.join(tmp, "full-resumed")
                train("--resume", os.path.join(F, "checkpoint-2"), "--out", G)
                result("... and it resumes elsewhere to the uninterrupted run's final weights",
                       same_weights(os.path.join(G, "checkpoint-4"), os.path.join(R, "checkpoint-4")))
            finally:
                fs.close()
        guard("disk full", disk_full)

        def kill_nine():
            # a checkpoint every step, so that many of the kills land inside a write
            run = [*base, "--max-steps", "60", "--save-every", "1", "--batch-size", "2"]
            R, K = os.path.join(tmp, "kill-ref"), os.path.join(tmp, "kill")
            t0 = time.time()
            train(*run, "--out", R)
            span = time.time() - t0
            per_step = span / 60
            rng = random.Random(14)
            outcomes = []
            log = os.path.join(K, "metrics.jsonl")
            for i in range(10):
                cks = sorted(int(d.split("-")[1]) for d in os.listdir(K) if d.startswith("checkpoint-")) \
                    if os.path.isdir(K) else []
                resume = bool(cks)
                cmd = [TRAIN, "--resume", K] if resume else [TRAIN, *run, "--out", K]
                target = (cks[-1] if cks else 0) + rng.randint(1, 5)
                env = dict(os.environ)
                if i % 2:  # inside the write of checkpoint `target`: its model files written, the rest not yet
                    env["TRAIN_TEST_KILL_DURING_CHECKPOINT"] = str(target)
                q = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
                if not i % 2:  # a moment spread over the run: a few steps on, then anywhere within a step and its save
                    while q.poll() is None and (not os.path.exists(log) or
                                                len(open(log).read().splitlines()) < target):
                        time.sleep(0.001)
                    time.sleep(rng.uniform(0, 1.5) * per_step)
                    q.kill()
                err = q.communicate()[1]
                cks = sorted(int(d.split("-")[1]) for d in os.listdir(K) if d.startswith("checkpoint-")) \
                    if os.path.isdir(K) else []
                partial = [d for d in os.listdir(K) if ".tmp-" in d or ".old-" in d] if os.path.isdir(K) else []
                outcomes.append(f"kill {i + 1}: {'resumed' if resume else 'started'}, "
                                f"{'done before the kill' if q.returncode == 0 else 'killed'}"
                                f"{' during a checkpoint write' if partial else ''}, newest checkpoint "
                                f"{cks[-1] if cks else None}")
                if q.returncode not in (0, -9):
                    raise RuntimeError(f"exit {q.returncode}: {err[-300:]}")
            train("--resume", K)
            a, b = metrics(R), metrics(K)
            ok = [(x["loss"], x["grad_norm"]) for x in a] == [(x["loss"], x["grad_norm"]) for x in b] and \
                same_weights(os.path.join(R, "checkpoint-60"), os.path.join(K, "checkpoint-60")) and \
                not [d for d in os.listdir(K) if ".tmp-" in d or ".old-" in d]
            for o in outcomes:
                print("   ", o)
            during = sum("during a checkpoint write" in o for o in outcomes)
            result(f"kill -9 ten times at random moments ({during} inside a checkpoint write): each time the newest "
                   "complete checkpoint resumes, and the final losses, weights and moments equal the uninterrupted "
                   "run's bit for bit", ok and during >= 1, f"{len(a)} vs {len(b)} steps")
        guard("kill -9 x10", kill_nine)


if __name__ == "__main__":
    main()
