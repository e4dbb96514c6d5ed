"""Training from files larger than memory: gd.data.svmlight against scikit-learn's load_svmlight_file +
SGDClassifier.partial_fit loop and Vowpal Wabbit on the same rows; chunks in memory against the in-memory epoch.

Data: the PyPI text set (bench/datasets.py: 709k training rows, 2^20 hashed features, 8.8 nonzeros per row)
written once by scikit-learn's dump_svmlight_file (``base.svm``), and ``big.svm``, that file repeated to >= 1 GB
(``--quick``: 50k rows, 4 copies); Vowpal Wabbit's own format of the same rows beside it (labels -1/1, one
namespace, the same indices and values). Every file measurement runs in a child process of its own, so its
peak RSS (VmHWM) is its own; one pass over big.svm each:

* parse: gdfast's reader (C parser, no training, no reader thread), scikit-learn's load_svmlight_file over
  byte ranges (offset=, length= of 1 MB), VW with --noop;
* train: gd.fit on the stream with fit's defaults for a classifier (Adam, lr 0.01, batches of 32), shuffle
  windows of 65536 rows, on 1 thread and on every core, the reader thread one chunk ahead; the same with the
  reader off (prefetch=False: parse + train in sequence); scikit-learn's loop (load_svmlight_file over 1 MB
  byte ranges, SGDClassifier(loss="log_loss").partial_fit); VW (--loss_function logistic -b 20);
* overlap: 1 - (train from file - max(parse, train in memory)) / min(parse, train in memory), 1 when an epoch
  from the file costs max(parse, train), 0 when it costs their sum;
* memory: peak RSS training from base.svm and from a file of 4 copies of it.

In memory (this process): one shuffled epoch of gd.fit on X (the train rate), and the same rows as chunks of
4096 rows, shuffled by windows and in order, best of 3 rounds each.

Printed and written to bench/results/stream.md (printed only with --quick).

Run:  python bench/bench_stream.py [--quick]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from datasets import pypi_text  # noqa: E402
from timing import git_head, machine, optional_import, write_result  # noqa: E402

FOLDER = os.path.join(HERE, ".cache", "stream")
N_FEATURES = 2**20
BIG_BYTES = 10**9
ROUNDS = 3


# --------------------------------------------------------------------------------------------- the measurements

def parse_gdfast(paths):
    rows = 0
    for X, _ in gd.data.svmlight(paths, N_FEATURES, prefetch=False):
        rows += X.shape[0]
    return rows


def _byte_ranges(path, step=1 << 20):
    size = os.path.getsize(path)
    return [(offset, min(step, size - offset)) for offset in range(0, size, step)]


def parse_sklearn(paths, learner=None):
    from sklearn.datasets import load_svmlight_file
    rows = 0
    for path in paths:
        for offset, length in _byte_ranges(path):
            X, y = load_svmlight_file(path, n_features=N_FEATURES, zero_based=False, offset=offset, length=length)
            rows += X.shape[0]
            if learner is not None and X.shape[0]:  # SGDClassifier takes int32 indices only
                X.indices, X.indptr = X.indices.astype(np.int32), X.indptr.astype(np.int32)
                learner.partial_fit(X, y, classes=[0.0, 1.0])
    return rows


def train_sklearn(paths):
    from sklearn.linear_model import SGDClassifier
    return parse_sklearn(paths, SGDClassifier(loss="log_loss", alpha=1e-6, random_state=0))


def train_gdfast(paths, n_threads=1, prefetch=True):
    source = gd.data.svmlight(paths, N_FEATURES, prefetch=prefetch)
    model = gd.fit("logistic", source, None, epochs=1, n_threads=n_threads, progress=False, random_state=0,
                   classes=[0.0, 1.0])
    return model.history_[-1]["examples"]


def run_vw(paths, options):
    from vowpalwabbit import Workspace
    rows = 0
    for path in paths:
        workspace = Workspace(f"-d {path} --quiet {options}")
        workspace.run_parser()
        rows += int(workspace.get_weighted_examples())
        workspace.finish()
    return rows


KINDS = {
    "parse gdfast": parse_gdfast,
    "parse scikit-learn": parse_sklearn,
    "parse VW": lambda paths: run_vw(paths, "--noop"),
    "train gdfast, 1 thread": train_gdfast,
    "train gdfast, every core": lambda paths: train_gdfast(paths, n_threads=os.cpu_count()),
    "train gdfast, 1 thread, reader off": lambda paths: train_gdfast(paths, prefetch=False),
    "train scikit-learn": train_sklearn,
    "train VW": lambda paths: run_vw(paths, "--loss_function logistic -b 20"),
}


def child(kind, paths):
    """One measurement in this (child) process: prints {rows, seconds, rss_mb}."""
    warnings.simplefilter("ignore")
    start = time.perf_counter()
    rows = KINDS[kind](paths)
    seconds = time.perf_counter() - start
    rss = _peak_rss_mb()
    print(json.dumps({"rows": rows, "seconds": seconds, "rss_mb": rss}))


def _peak_rss_mb():
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent across fork + exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def measure(kind, paths):
    out = subprocess.run([sys.executable, __file__, "--child", kind, *paths], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{kind}: {out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"{kind}: {result['rows'] / result['seconds'] / 1e6:.2f}M rows/s, {result['seconds']:.1f} s, "
          f"peak RSS {result['rss_mb']:.0f} MB", flush=True)
    return result


# ---------------------------------------------------------------------------------------------------- the files

def files(quick):
    """(base.svm, [big.svm], [big.vw], rows of base): written once into bench/.cache/stream."""
    folder = os.path.join(FOLDER, "quick" if quick else "full")
    base, big, vw = (os.path.join(folder, name) for name in ("base.svm", "big.svm", "big.vw"))
    data = pypi_text()
    X, y = data["X_train"], data["y_train"]
    if quick:
        X, y = X[:50_000], y[:50_000]
    if not os.path.exists(vw):
        from sklearn.datasets import dump_svmlight_file
        os.makedirs(folder, exist_ok=True)
        dump_svmlight_file(X, y, base, zero_based=False)
        copies = 4 if quick else -(-BIG_BYTES // os.path.getsize(base))
        _repeat(base, big, copies)
        _to_vw(big, vw + ".tmp")
        os.replace(vw + ".tmp", vw)
    return base, big, vw, X, y


def _repeat(path, out, copies):
    with open(out, "wb") as f:
        for _ in range(copies):
            with open(path, "rb") as part:
                shutil.copyfileobj(part, f, 1 << 24)


def _to_vw(path, out):
    """VW's format of a svmlight file: '<-1|1> | <index>:<value> ...'."""
    with open(path, "rb") as f, open(out, "wb") as g:
        for line in f:
            label, _, features = line.partition(b" ")
            g.write((b"1 | " if float(label) > 0 else b"-1 | ") + features)


# ------------------------------------------------------------------------------------------------------ in memory

def in_memory(X, y):
    """{name: rows/s}: one epoch of gd.fit on X, and on chunks of 4096 rows, best of ROUNDS."""
    chunks = [(X[i:i + 4096], y[i:i + 4096]) for i in range(0, X.shape[0], 4096)]
    options = dict(epochs=1, n_threads=1, progress=False, random_state=0, classes=[0, 1])
    runs = {"X in memory, shuffled": lambda: gd.fit("logistic", X, y, **options),
            "chunks of 4096, shuffle windows of 65536 rows": lambda: gd.fit("logistic", chunks, None, **options),
            "X in memory, in order": lambda: gd.fit("logistic", X, y, shuffle=False, **options),
            "chunks of 4096, in order": lambda: gd.fit("logistic", chunks, None, shuffle=False, **options)}
    best = {name: np.inf for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: X.shape[0] / seconds for name, seconds in best.items()}


# ------------------------------------------------------------------------------------------------------- the table

def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child[0], args.child[1:])
    vw_installed = optional_import("vowpalwabbit") is not None
    base, big, vw, X, y = files(args.quick)
    memory = in_memory(X, y)
    for name, rate in memory.items():
        print(f"{name}: {rate / 1e6:.2f}M rows/s", flush=True)
    results = {kind: measure(kind, [vw if "VW" in kind else big]) for kind in KINDS
               if vw_installed or "VW" not in kind}
    four = os.path.join(os.path.dirname(big), "four.svm")
    _repeat(base, four, 4)
    rss = {name: measure("train gdfast, 1 thread", [path]) for name, path in (("1x", base), ("4x", four))}
    os.remove(four)
    lines = _table(results, memory, rss, os.path.getsize(big), os.path.getsize(base))
    print("\n".join(lines))
    write_result("stream.md", lines, args.quick)


def _table(results, memory, rss, big_bytes, base_bytes):
    parse, train = results["parse gdfast"], memory["X in memory, shuffled"]
    rows = parse["rows"]
    file_s = results["train gdfast, 1 thread"]["seconds"]
    parse_s, train_s = parse["seconds"], rows / train
    overlap = 1 - (file_s - max(parse_s, train_s)) / min(parse_s, train_s)
    lines = [f"- hardware: {machine()}", f"- gdfast commit {git_head()}",
             f"- big.svm: {big_bytes / 1e9:.2f} GB, {rows} rows (the PyPI text's training rows repeated); "
             "one pass each, in a child process of its own", "",
             "| one pass over big.svm | rows/s | MB/s of the file | seconds | peak RSS (MB) |",
             "|---|---:|---:|---:|---:|"]
    for kind, r in results.items():
        lines.append(f"| {kind} | {r['rows'] / r['seconds'] / 1e6:.2f}M | {big_bytes / r['seconds'] / 1e6:.0f} | "
                     f"{r['seconds']:.1f} | {r['rss_mb']:.0f} |")
    lines += ["", f"Train in memory (1 thread, fit's defaults): {train / 1e6:.2f}M rows/s; "
              f"parse {rows / parse_s / 1e6:.2f}M "
              f"rows/s. From the file with the reader thread: {file_s:.1f} s against max(parse, train) = "
              f"{max(parse_s, train_s):.1f} s and their sum {parse_s + train_s:.1f} s: overlap {overlap:.2f}.", "",
              "| in memory, one epoch, 1 thread | rows/s | / X in memory |", "|---|---:|---:|"]
    for name, rate in memory.items():
        reference = memory["X in memory, " + ("in order" if "in order" in name else "shuffled")]
        lines.append(f"| {name} | {rate / 1e6:.2f}M | {rate / reference:.2f}x |")
    growth = rss["4x"]["rss_mb"] / rss["1x"]["rss_mb"] - 1
    lines += ["", f"Peak RSS training from base.svm ({base_bytes / 1e6:.0f} MB): {rss['1x']['rss_mb']:.0f} MB; "
              f"from 4 copies of it ({4 * base_bytes / 1e6:.0f} MB): {rss['4x']['rss_mb']:.0f} MB ({growth:+.1%})."]
    return lines


if __name__ == "__main__":
    main()
