"""The data sets the estimator benchmarks share (bench_sklearn.py, bench_defaults.py): each a dict with X_train,
y_train, X_test, y_test, a name and a task ("classification" or "regression").

* ``pypi_text()``: real text, the PyPI package list in /work/.library/env/packages/pypi.tsv (~886k packages; tab
  separated, header ``name version month rank_among_15000_most_downloaded summary``). Text = name + " " +
  summary; label 1 where the rank column is non-empty (the package is among the 15000 most downloaded, ~1.7%
  of the rows), else 0. Features: scikit-learn's HashingVectorizer(n_features=2^20, alternate_sign=False,
  norm="l2"), word unigrams of its default token pattern (a name such as "django-rest-framework" gives its
  words): non-negative term frequencies scaled to unit norm per row, as tf-style text features and as the
  power-law set are; with 2^20 buckets collisions are rare, so alternate_sign's cancellation buys nothing.
  float64 CSR, sorted indices. Split 80/20 by a permutation seeded 0. The CSR arrays are cached as .npz under
  ``cache_dir`` (default bench/.cache, git-ignored; hashing all rows takes ~30 s), keyed by the file's size and
  mtime and the settings.
* ``power_law()``: gd.datasets.make_classification(n_rows, 2^20) (power-law feature frequencies, ~40 nonzeros
  per row, unit-norm rows, labels from a linear model with logistic noise), the last 20% of rows held out.
* ``bundled()``: scikit-learn's digits and breast_cancer (classification) and diabetes (regression), each
  standardized by a StandardScaler fitted on its training part, split 75/25 (train_test_split, seed 0;
  stratified for the classifiers).
"""
import csv
import hashlib
import os
import sys
import time

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402

PYPI_TSV = "/work/.library/env/packages/pypi.tsv"
DEFAULT_CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache")
N_FEATURES = 2 ** 20


def _split(n, test_fraction, seed):
    """(train, test) row indices: a seeded permutation, its first (1 - test_fraction) share to train (sorted)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def _read_pypi(path):
    """(texts, labels) of the TSV: name + " " + summary; 1 where the rank column is non-empty."""
    texts, labels = [], []
    csv.field_size_limit(2 ** 30)
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(rows)
        col = {name: i for i, name in enumerate(header)}
        i_name, i_rank, i_summary = col["name"], col["rank_among_15000_most_downloaded"], col["summary"]
        width = len(header)
        for row in rows:
            if len(row) < width:  # a short row: what it has (a missing summary is an empty one)
                row = row + [""] * (width - len(row))
            texts.append(row[i_name] + " " + row[i_summary])
            labels.append(1 if row[i_rank].strip() else 0)
    return texts, np.asarray(labels, np.int64)


def _csr_load(f, prefix):
    return sp.csr_matrix((f[prefix + "data"], f[prefix + "indices"], f[prefix + "indptr"]),
                         shape=tuple(f[prefix + "shape"]))


def pypi_text(cache_dir=DEFAULT_CACHE, path=PYPI_TSV, n_rows=None, verbose=True):
    """The PyPI text set (see the module docstring); n_rows: only the first rows of the file's order, drawn
    before the split (for quick runs)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    stat = os.stat(path)
    key = hashlib.sha1(f"{os.path.abspath(path)}|{stat.st_size}|{stat.st_mtime_ns}|{n_rows}|{N_FEATURES}|"
                       "unigram,alternate_sign=False,l2,seed0,0.2,v1".encode()).hexdigest()[:12]
    cached = os.path.join(cache_dir, f"pypi-{key}.npz")
    if os.path.exists(cached):
        with np.load(cached, allow_pickle=False) as f:
            out = {"X_train": _csr_load(f, "train_"), "X_test": _csr_load(f, "test_"),
                   "y_train": f["y_train"], "y_test": f["y_test"]}
    else:
        start = time.perf_counter()
        texts, y = _read_pypi(path)
        if n_rows is not None:
            texts, y = texts[:n_rows], y[:n_rows]
        vectorizer = HashingVectorizer(n_features=N_FEATURES, alternate_sign=False, norm="l2", dtype=np.float64)
        X = vectorizer.transform(texts).tocsr()
        X.sort_indices()
        train, test = _split(X.shape[0], 0.2, 0)
        out = {"X_train": X[train], "X_test": X[test], "y_train": y[train], "y_test": y[test]}
        os.makedirs(cache_dir, exist_ok=True)
        tmp = cached + ".tmp.npz"
        np.savez(tmp, **{f"train_{k}": v for k, v in _csr_dict(out["X_train"]).items()},
                 **{f"test_{k}": v for k, v in _csr_dict(out["X_test"]).items()},
                 y_train=out["y_train"], y_test=out["y_test"])
        os.replace(tmp, cached)
        if verbose:
            print(f"pypi_text: hashed {X.shape[0]} rows in {time.perf_counter() - start:.1f} s, cached in {cached}",
                  flush=True)
    for k in ("X_train", "X_test"):
        out[k].sort_indices()
    return dict(out, name="pypi text", task="classification",
                description=f"PyPI names + summaries, HashingVectorizer 2^20 (unigrams, alternate_sign=False, l2), "
                            f"{out['X_train'].shape[0]} train / {out['X_test'].shape[0]} test rows, "
                            f"{out['X_train'].nnz / out['X_train'].shape[0]:.1f} nonzeros per row, "
                            f"{out['y_train'].mean():.2%} positive")


def _csr_dict(X):
    return {"data": X.data, "indices": X.indices, "indptr": X.indptr, "shape": np.asarray(X.shape)}


def power_law(n_rows=200_000, n_features=N_FEATURES, mean_nnz=40):
    """gd.datasets.make_classification, the last 20% of rows held out (its rows are drawn i.i.d.)."""
    X, y = gd.datasets.make_classification(n_rows=n_rows, n_features=n_features, mean_nnz=mean_nnz)
    X.sort_indices()
    cut = int(round(0.8 * n_rows))
    return {"X_train": X[:cut], "y_train": y[:cut], "X_test": X[cut:], "y_test": y[cut:], "name": "power-law",
            "task": "classification",
            "description": f"gd.datasets.make_classification({n_rows}, 2^{int(np.log2(n_features))}, "
                           f"mean_nnz={mean_nnz}), {X.nnz / n_rows:.1f} nonzeros per row, {y.mean():.1%} positive; "
                           f"80/20 split"}


def bundled():
    """[digits, breast_cancer, diabetes]: standardized (scaler fitted on the training part), 75/25 splits."""
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    out = []
    for name, loader, task in (("digits", load_digits, "classification"),
                               ("breast_cancer", load_breast_cancer, "classification"),
                               ("diabetes", load_diabetes, "regression")):
        X, y = loader(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=0, stratify=y if task == "classification" else None)
        scaler = StandardScaler().fit(X_train)
        out.append({"X_train": np.ascontiguousarray(scaler.transform(X_train)), "y_train": y_train,
                    "X_test": np.ascontiguousarray(scaler.transform(X_test)), "y_test": y_test, "name": name,
                    "task": task, "description": f"sklearn {name}, {X.shape[0]} x {X.shape[1]}, standardized, "
                                                 f"75/25 split"})
    return out


if __name__ == "__main__":  # build the cache and describe the sets
    for ds in [pypi_text(), power_law()] + bundled():
        print(f"{ds['name']}: {ds['description']}")
