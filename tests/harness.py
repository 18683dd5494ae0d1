"""What the tests that run ./train as a user does share: running it, reading a run's
metrics.jsonl, and printing PASS / FAIL lines under a prefix."""
import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRAIN = os.path.join(ROOT, "train")


def reporter(prefix):
    """result(name, ok, detail) prints one check's line; guard(name, fn) runs fn and turns an
    exception into that check's failure, so one broken case does not stop the others."""
    def result(name, ok, detail=""):
        print(f"{'PASS' if ok else 'FAIL'}: {prefix} {name}" + (f": {detail}" if detail else ""))

    def guard(name, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            result(name, False, f"{type(e).__name__}: {str(e)[-400:]}")
    return result, guard


def train(*args, env=None, cwd=None, check=True):
    p = subprocess.run([TRAIN, *args], capture_output=True, text=True, env=env, cwd=cwd)
    if check and p.returncode != 0:
        raise RuntimeError(f"./train {' '.join(args)}: {p.stderr.strip()[-400:]}")
    return p


def metrics(run):
    return [json.loads(l) for l in open(os.path.join(run, "metrics.jsonl"))]
