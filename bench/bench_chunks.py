"""Training on chunks: a Trainer's partial_fit over consecutive chunks of a data set against one in-memory epoch
of the same Trainer, same process.

Data: gdfast.datasets.make_classification(20000, 2^20) (CSR, float64, ~40 nonzeros per row); SGD, batches of
one example, one thread, shuffled. Rates are rows per second of wall time, best of ROUNDS interleaved rounds:

* in memory: ``trainer.fit(X, y, epochs=1)`` on a trainer already set up (one epoch, its per-epoch work
  included: the order, the learning rates, the history entry);
* Trainer.partial_fit: one pass over the chunks of 64, 256 and 4096 rows (sliced beforehand), each chunk
  checked, shuffled and trained on;
* fit(init=model): the same chunks through ``gd.fit(..., epochs=1, init=model)``, which builds a new Trainer per
  chunk (the path GDClassifier.partial_fit took before the Trainer);
* GDClassifier.partial_fit: the estimator (alpha=0 as above; its first chunk validated by scikit-learn, the
  later ones by the Trainer), when scikit-learn is installed;
* with an L2 penalty (alpha=1e-4): SGD on CSR rows scales W as a whole and folds the scale back into W at the
  end of each pass (O(n_features), as scikit-learn's SGD does at the end of each partial_fit), in memory and on
  256-row chunks.

Printed and written to bench/results/chunks.md (printed only with --quick).

Run:  python bench/bench_chunks.py [--quick]
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast.datasets import make_classification  # noqa: E402
from timing import git_head, machine, optional_import, write_result  # noqa: E402

sklearn = optional_import("sklearn")
CHUNKS = (64, 256, 4096)
ROUNDS = 5
OPTIONS = dict(batch_size=1, n_threads=1, progress=False, random_state=0, lr=0.05)


def chunked(X, y, rows):
    return [(X[i:i + rows], y[i:i + rows]) for i in range(0, X.shape[0], rows)]


def in_memory(X, y, **options):
    trainer = gd.Trainer("logistic", "sgd", **OPTIONS, **options)
    trainer.fit(X, y, 1)  # set up (and a first epoch) outside the timing
    return lambda: trainer.fit(X, y, 1)


def trainer_chunks(chunks, **options):
    trainer = gd.Trainer("logistic", "sgd", classes=[0, 1], **OPTIONS, **options)
    trainer.partial_fit(*chunks[0])

    def run():
        for Xc, yc in chunks:
            trainer.partial_fit(Xc, yc)
    return run


def refit_chunks(chunks):
    model = gd.fit("logistic", *chunks[0], "sgd", epochs=1, classes=[0, 1], **OPTIONS)

    def run():
        nonlocal model
        for Xc, yc in chunks:
            model = gd.fit("logistic", Xc, yc, "sgd", epochs=1, init=model, **OPTIONS)
    return run


def estimator_chunks(chunks):
    clf = gd.GDClassifier("log_loss", penalty=None, learning_rate="constant", eta0=OPTIONS["lr"], tol=None,
                          random_state=0)  # scikit-learn's SGD (its defaults: sgd, batches of one, one thread)
    clf.partial_fit(*chunks[0], classes=[0, 1])

    def run():
        for Xc, yc in chunks:
            clf.partial_fit(Xc, yc)
    return run


def best_seconds(runs):
    """{name: seconds}: each run timed in ROUNDS interleaved rounds, the lowest kept (noise only adds)."""
    times = {name: [] for name in runs}
    for _ in range(ROUNDS):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 5_000 if args.quick else 20_000
    X, y = make_classification(n_rows=n, n_features=2 ** 20)
    X.sort_indices()  # canonical CSR, as scipy and HashingVectorizer make it: no chunk needs a sorted copy
    runs = {"in memory": in_memory(X, y)}
    for rows in CHUNKS:
        chunks = chunked(X, y, rows)
        runs[f"Trainer.partial_fit, {rows} rows"] = trainer_chunks(chunks)
        runs[f"fit(init=model), {rows} rows"] = refit_chunks(chunks)
        if sklearn is not None:
            runs[f"GDClassifier.partial_fit, {rows} rows"] = estimator_chunks(chunks)
    runs["in memory, L2 alpha=1e-4"] = in_memory(X, y, alpha=1e-4)
    runs["Trainer.partial_fit, 256 rows, L2 alpha=1e-4"] = trainer_chunks(chunked(X, y, 256), alpha=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        seconds = best_seconds(runs)
    base = n / seconds["in memory"]
    lines = [f"- hardware: {machine()}", f"- gdfast commit {git_head()}",
             f"- data: make_classification({n}, 2^20), {X.nnz / n:.1f} nonzeros per row, float64 CSR; SGD, batch 1, "
             f"one thread; rows/s of wall time, best of {ROUNDS} rounds", "",
             "| how | rows/s | / in-memory epoch |", "|---|---:|---:|"]
    for name, s in seconds.items():
        lines.append(f"| {name} | {n / s / 1e6:.2f}M | {n / s / base:.2f}x |")
    print("\n".join(lines))
    write_result("chunks.md", lines, args.quick)


if __name__ == "__main__":
    main()
