"""The fuzz targets' seeds and crash reproducers, replayed: every file of tests/fuzz/corpus/<target>/
and tests/fuzz/crashes/<target>/ through its target built with gcc, ASan and UBSan (make
fuzz-replay: no clang or libFuzzer needed), each file once, with a leak check after each. One
PASS/FAIL line per target: a sanitizer report, a leak, a crash or an empty corpus fails it.
(A crash reproducer may be refused with an error line or parse: either is right once its bug is
fixed; the point is that it no longer crashes.) The fuzzing itself is `make fuzz`."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGETS = ["gguf", "safetensors", "config_json", "tokenizer_json", "bpe", "jsonl", "trainer_state", "adapter_config"]


def result(name, ok, detail=""):
    print(f"{'PASS' if ok else 'FAIL'}: {name}" + (f": {detail}" if detail else ""), flush=True)


def files(d):
    return sorted(os.path.join(d, f) for f in os.listdir(d)) if os.path.isdir(d) else []


def main():
    p = subprocess.run(["make", "-s", "fuzz-replay"], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        result("fuzz replay build (make fuzz-replay)", False, (p.stdout + p.stderr).strip()[-2000:])
        return
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    for t in TARGETS:
        name = f"fuzz corpus {t}"
        seeds = files(os.path.join(ROOT, "tests", "fuzz", "corpus", t))
        crashes = files(os.path.join(ROOT, "tests", "fuzz", "crashes", t))
        if not seeds:
            result(name, False, f"tests/fuzz/corpus/{t}/ is empty or missing")
            continue
        try:
            p = subprocess.run([os.path.join(ROOT, "build", "fuzz-replay", t), *seeds, *crashes], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            result(name, False, "no result in 600 s")
            continue
        summary = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
        if p.returncode == 0:
            result(name, True, f"{len(seeds)} seeds, {len(crashes)} crash reproducers clean under ASan + UBSan "
                               f"({summary})")
        else:
            report = [l for l in p.stderr.splitlines() if "ERROR" in l or "runtime error" in l or "SUMMARY" in l or
                      "leaked" in l or "FUZZ FAILURE" in l or l.startswith("error:")]
            result(name, False, f"exit {p.returncode}: " + " | ".join(report[:4] or p.stderr.splitlines()[-3:]))


if __name__ == "__main__":
    main()
    sys.exit(0)
