"""make bench: data parallelism over Open MPI on this machine. The same global batch (rows
per step) at 1 rank of N threads and at N ranks of 1 thread (and more where there are cores):
tokens per second of the steps, and per step the seconds rank 0 spent in the gradient
allreduce and the other collectives (metrics.jsonl's allreduce_seconds: time inside MPI calls,
so with the sums overlapped it is what the overlap did not hide). At several ranks, both ways of
summing: each layer's sums started inside the backward (the default) and one sum after it
(--overlap-allreduce=false). Medians of the steps after the first.

usage: bench_mpi.py MPI_TRAIN CONFIG.json DATA.jsonl STEPS"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_btl_vader_single_copy_mechanism="none",
           OMPI_MCA_btl="self,vader")


def main():
    mpi_train, config, data, steps = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")  # the program beside the shipped files it reads
        os.makedirs(root)
        for d in ("data", "configs"):
            os.symlink(os.path.join(ROOT, d), os.path.join(root, d))
        train = os.path.join(root, "train")
        shutil.copy(mpi_train, train)
        layouts = [(1, cores, True)] + [(n, max(cores // n, 1), ov) for n in (2, 4, 8, 16) if n <= cores
                                        for ov in (True, False)]
        base = None
        for ranks, threads, ov in layouts:
            out = os.path.join(tmp, f"r{ranks}-{ov}")
            args = [train, "--config", config, "--stage", "sft", "--data", data, "--max-steps", steps,
                    "--threads", str(threads), "--out", out, f"--overlap-allreduce={'true' if ov else 'false'}"]
            cmd = args if ranks == 1 else ["mpirun", "-np", str(ranks), "--bind-to", "core", *args]
            p = subprocess.run(cmd, capture_output=True, text=True, env=dict(ENV, OMP_NUM_THREADS=str(threads)))
            if p.returncode != 0:
                print(f"{ranks} ranks: failed: {p.stderr.strip()[-300:]}")
                continue
            m = [json.loads(line) for line in open(os.path.join(out, "metrics.jsonl"))][1:]
            tps = statistics.median(x["tokens_per_second"] for x in m)
            comm = statistics.median(x.get("allreduce_seconds", 0.0) for x in m)
            step = statistics.median(x["num_tokens"] / x["tokens_per_second"] for x in m)
            base = base or tps
            how = "" if ranks == 1 else ", sums in the backward" if ov else ", one sum after the backward"
            print(f"{ranks} rank{'s' if ranks > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}{how}: "
                  f"{tps:.0f} tokens/s ({tps / base:.2f}x of 1 rank), step {step:.3f} s, of which collectives "
                  f"{comm:.4f} s ({100 * comm / step:.1f}%)")


if __name__ == "__main__":
    main()
