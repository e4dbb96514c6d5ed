"""Peak memory of a fit beside the size of X: tracemalloc's peak (NumPy's allocations are traced) and the growth
of the process's peak RSS over what it held once X was loaded, each case in its own process.

The bound to check (README): X + O(d x K x (1 + state slots)) + O(n), with no copy of X: W, b and the rule's
state, per-thread scratch of O(batch x longest row) (plus, on Hogwild!, a 4-byte slot and a bit per feature),
and per epoch the order, the learning rates and the noise scales, O(n) each.

Cases: the PyPI text (bench/datasets.py), float64 CSR, 5 epochs; SGD and Adam, batch 1 and 32, one and two
threads, and validation_fraction=0.1.

Run:  python bench/bench_memory.py [--quick]      (written to bench/results/memory.md unless --quick)
"""
import argparse
import json
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
from timing import git_head, machine, write_result  # noqa: E402

CASES = [("sgd", 1, 1, None), ("sgd", 1, 2, None), ("adam", 32, 1, None), ("adam", 32, 2, None),
         ("sgd", 1, 1, 0.1)]


def one(rule, batch, threads, fraction, n_rows):
    """In this process: the fit's peaks, printed as JSON."""
    import tracemalloc
    import datasets
    import gdfast as gd
    ds = datasets.pypi_text(n_rows=n_rows, verbose=False)
    X, y = ds["X_train"], ds["y_train"]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    gd.fit("logistic", X, y, rule, batch_size=batch, n_threads=threads, epochs=5, random_state=0, progress=False,
           validation_fraction=fraction)
    peak = tracemalloc.get_traced_memory()[1]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    w_bytes = X.shape[1] * 8
    print(json.dumps({"x": x_bytes, "w": w_bytes, "n": X.shape[0], "traced": peak, "rss": rss * 1024}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k rows, printed only")
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    n_rows = 100_000 if args.quick else None
    if args.one:
        rule, batch, threads, fraction = args.one
        return one(rule, int(batch), int(threads), None if fraction == "None" else float(fraction), n_rows)
    mb = 2 ** 20
    lines = ["# Peak memory of a fit", "", f"- hardware: {machine()}", f"- gdfast commit {git_head()}; PyPI text, "
             "float64 CSR, logistic, 5 epochs; each case in a fresh process", "",
             "| rule | batch | threads | validation_fraction | X MB | W MB | traced peak MB | RSS growth MB |",
             "|---|---:|---:|---|---:|---:|---:|---:|"]
    for rule, batch, threads, fraction in CASES:
        out = subprocess.run([sys.executable, __file__, "--one", rule, str(batch), str(threads), str(fraction)]
                             + (["--quick"] if args.quick else []), capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(f"| {rule} | {batch} | {threads} | {fraction} | {r['x'] / mb:.1f} | {r['w'] / mb:.1f} | "
                     f"{r['traced'] / mb:.1f} | {r['rss'] / mb:.1f} |")
        print(lines[-1], flush=True)
    write_result("memory.md", lines, args.quick)


if __name__ == "__main__":
    main()
