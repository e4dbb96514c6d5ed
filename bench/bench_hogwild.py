"""Hogwild! scaling: epoch throughput of gd.fit(n_threads=k) and gd.hogwild.factorize against one thread and
scikit-learn's SGDClassifier, same process.

Cases (float64, SGD with batch size 1, 5 epochs, the median epoch time):
* power-law   gdfast/datasets.py's 200k x 2^20 rows (~30 nonzeros, a few features in most rows), logistic;
* uniform     200k x 2^20 rows of 30 uniformly drawn features (few shared between examples), logistic;
* ratings     matrix factorization, 100k users x 20k items, 4M ratings of a rank-10 model, rank 10.
For each thread count from 1 to the machine's cores: M nonzeros (or ratings) per second, the speedup over one
thread and the training log-loss after the last epoch (test RMSE for the ratings); scikit-learn's
SGDClassifier (constant learning rate 0.1, alpha 1e-6; one thread, its only mode for two classes) on the two
classification cases.

Printed and written to bench/results/hogwild.md (printed only with --quick). Without scikit-learn
(``pip install -e ".[bench]"``) its rows read n/a.

Run:  python bench/bench_hogwild.py [--quick]
"""
import argparse
import os
import platform
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast.datasets import make_classification  # noqa: E402
from timing import git_head, machine, optional_import, write_result  # noqa: E402

sklearn = optional_import("sklearn")
if sklearn is not None:
    from sklearn.linear_model import SGDClassifier

EPOCHS = 5


def uniform(n, d=2 ** 20, k=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix((rng.random(n * k), (np.repeat(np.arange(n), k), rng.integers(0, d, n * k))), shape=(n, d))
    X.sum_duplicates()
    return X, (X @ rng.standard_normal(d) > 0).astype(np.int64)


def ratings(n_users, n_items, n_ratings, rank=10, seed=0):
    rng = np.random.default_rng(seed)
    L, R = rng.standard_normal((n_users, rank)), rng.standard_normal((n_items, rank))
    u, v = rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings)
    M = sp.coo_matrix((np.einsum("ij,ij->i", L[u], R[v]) / np.sqrt(rank) + 0.1 * rng.standard_normal(n_ratings),
                       (u, v)), shape=(n_users, n_items)).tocsr()
    M.sum_duplicates()
    coo = M.tocoo()
    test = rng.random(coo.nnz) < 0.1
    part = lambda keep: sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=M.shape)  # noqa: E731
    return part(~test), part(test)


def final_loss(proba, X, y):
    """The mean log-loss on (X, y) after training, the same measure for every peer."""
    return -np.mean(np.log(np.clip(proba(X)[np.arange(len(y)), y], 1e-15, 1)))


def classification_rows(name, X, y, threads):
    rows = []
    base = None
    for k in threads:
        model = gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=EPOCHS, lr=0.1, random_state=0,
                       progress=False, n_threads=k)
        seconds = float(np.median([h["seconds"] for h in model.history_]))
        base = base or seconds
        rows.append(f"| {name} | gdfast, {k} thread{'s' if k > 1 else ''} | {X.nnz / seconds / 1e6:.1f} | "
                    f"{base / seconds:.2f}x | {final_loss(model.predict_proba, X, y):.4f} |")
        print(rows[-1], flush=True)
    if sklearn is None:
        rows.append(f"| {name} | scikit-learn SGDClassifier | n/a | | n/a |")
        return rows
    times = []
    for epochs in (1, EPOCHS):
        clf = SGDClassifier(loss="log_loss", alpha=1e-6, learning_rate="constant", eta0=0.1, max_iter=epochs,
                            tol=None, random_state=0)
        start = time.perf_counter()
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, y)
        times.append(time.perf_counter() - start)
    seconds = (times[1] - times[0]) / (EPOCHS - 1)
    rows.append(f"| {name} | scikit-learn SGDClassifier | {X.nnz / seconds / 1e6:.1f} | | "
                f"{final_loss(clf.predict_proba, X, y):.4f} |")
    print(rows[-1], flush=True)
    return rows


def factorization_rows(train, test, threads):
    rows, base = [], None
    for k in threads:
        f = gd.hogwild.factorize(train, 10, "sgd", epochs=EPOCHS, lr=0.02, mu=0.02, n_threads=k, test=test,
                                 random_state=0, progress=False)
        seconds = float(np.median([h["seconds"] for h in f.history_]))
        base = base or seconds
        rows.append(f"| ratings | factorize, {k} thread{'s' if k > 1 else ''} | {train.nnz / seconds / 1e6:.1f} | "
                    f"{base / seconds:.2f}x | test RMSE {f.history_[-1]['test_rmse']:.4f} |")
        print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n = 50_000 if args.quick else 200_000
    threads = sorted({1, 2, os.cpu_count() or 1})
    lines = ["# gdfast Hogwild! benchmark", "", f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, numpy {np.__version__}; "
             f"SGD, batch size 1, lr 0.1, {EPOCHS} epochs, median epoch", "",
             "| data | run | M nonzeros/s | speedup | final train log-loss |", "|---|---|---:|---:|---:|"]
    X, y = make_classification(n_rows=n)
    lines += classification_rows("power-law", X, y, threads)
    X, y = uniform(n)
    lines += classification_rows("uniform", X, y, threads)
    train, test = ratings(n // 2, n // 10, 20 * n)
    lines += factorization_rows(train, test, threads)
    print("\n".join(lines))
    write_result("hogwild.md", lines, args.quick)


if __name__ == "__main__":
    sys.exit(main())
