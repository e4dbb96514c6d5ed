"""The serial epoch loop against its floor: gdfast's one-thread epochs on shuffled rows beside two C loops that do
the least an epoch can (bench/floor/floor.c, built here with the extension's own compiler flags from setup.py):
``dot`` computes x_i . w for every row (the rows' and weights' memory latency), ``dot+write`` also writes the
touched weights (a squared-loss SGD step and nothing else). Both prefetch as the library's loop does.

Cases: the PyPI text (bench/datasets.py) and the power-law set; float64 CSR; the same shuffled order for every
loop; the median of 5 epochs. gdfast rows: gd.fit(..., n_threads=1, shuffle=True) per rule and batch size, its
history's epoch seconds (the C loop only; the per-epoch permutation and rates are timed apart as "order").

Printed and written to bench/results/floor.md (printed only with --quick).

Run:  python bench/bench_floor.py [--quick]
"""
import argparse
import ast
import ctypes
import os
import subprocess
import sys
import sysconfig
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
import datasets  # noqa: E402
from timing import git_head, machine, write_result  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCHS = 5
RULES = [("sgd", 1), ("adagrad", 1), ("adam", 1), ("sgd", 32), ("adagrad", 32), ("adam", 32)]


def build_floor():
    """floor.c as a shared library, compiled with setup.py's BASE_FLAGS (read from it: one list of flags)."""
    with open(os.path.join(os.path.dirname(HERE), "setup.py")) as f:
        tree = ast.parse(f.read())
    flags = next(ast.literal_eval(node.value) for node in tree.body if isinstance(node, ast.Assign)
                 and getattr(node.targets[0], "id", None) == "BASE_FLAGS")
    out = os.path.join(tempfile.mkdtemp(), "floor.so")
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    subprocess.run(cc + flags + ["-shared", "-fPIC", os.path.join(HERE, "floor", "floor.c"), "-o", out], check=True)
    lib = ctypes.CDLL(out)
    p = ctypes.c_void_p
    lib.floor_dot.argtypes = [p, p, p, p, ctypes.c_int64, p, ctypes.c_int]
    lib.floor_dot_write.argtypes = [p, p, p, p, ctypes.c_int64, p, p, ctypes.c_double, ctypes.c_int]
    lib.floor_dot.restype = lib.floor_dot_write.restype = ctypes.c_double
    return lib


def floor_seconds(lib, X, y, orders, write, prefetch):
    """Median seconds of the floor loop over each order."""
    w = np.zeros(X.shape[1])
    y = np.where(y > 0, 1.0, -1.0)
    ptr = lambda a: a.ctypes.data  # noqa: E731
    times = []
    for order in orders:
        start = time.perf_counter()
        if write:
            lib.floor_dot_write(ptr(X.indptr), ptr(X.indices), ptr(X.data), ptr(order), len(order), ptr(w), ptr(y),
                                0.01, prefetch)
        else:
            lib.floor_dot(ptr(X.indptr), ptr(X.indices), ptr(X.data), ptr(order), len(order), ptr(w), prefetch)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gdfast_seconds(X, y, rule, batch):
    model = gd.fit("logistic", X, y, rule, batch_size=batch, epochs=EPOCHS, n_threads=1, random_state=0,
                   progress=False)
    return float(np.median([h["seconds"] for h in model.history_]))


def order_seconds(n):
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(EPOCHS):
        rng.permutation(n)
    return (time.perf_counter() - start) / EPOCHS


def case(lib, name, X, y):
    orders = [np.random.default_rng(s).permutation(X.shape[0]) for s in range(EPOCHS)]
    dot = floor_seconds(lib, X, y, orders, False, 1)
    write = floor_seconds(lib, X, y, orders, True, 1)
    rows = [(name, "floor: dot, no prefetch", floor_seconds(lib, X, y, orders, False, 0)),
            (name, "floor: dot", dot),
            (name, "floor: dot+write, no prefetch", floor_seconds(lib, X, y, orders, True, 0)),
            (name, "floor: dot+write", write),
            (name, "order (rng.permutation)", order_seconds(X.shape[0]))]
    rows += [(name, f"gdfast {rule}, batch {batch}", gdfast_seconds(X, y, rule, batch)) for rule, batch in RULES]
    return [(n, what, s, s / write, X.nnz / s / 1e6) for n, what, s in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 100k-row power-law set only, printed")
    args = parser.parse_args()
    lib = build_floor()
    sets = [datasets.power_law(100_000)] if args.quick else [datasets.pypi_text(), datasets.power_law()]
    lines = ["# gdfast's serial epoch against its floor", "",
             f"- hardware: {machine()}", f"- gdfast commit {git_head()}; float64 CSR, shuffled order, one thread, "
             f"logistic loss for gdfast, median of {EPOCHS} epochs", "",
             "| data | loop | s per epoch | x dot+write | M nonzeros/s |", "|---|---|---:|---:|---:|"]
    for ds in sets:
        X, y = ds["X_train"], ds["y_train"]
        for name, what, s, ratio, rate in case(lib, ds["name"], X, y):
            lines.append(f"| {name} | {what} | {s:.4f} | {ratio:.2f}x | {rate:.1f} |")
            print(lines[-1], flush=True)
    write_result("floor.md", lines, args.quick)


if __name__ == "__main__":
    main()
