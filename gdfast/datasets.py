"""Synthetic data sets for examples, tests and benchmarks: a deterministic sparse binary classification
problem shaped like text or click logs (power-law feature frequencies, a few dozen nonzeros per row, labels
from a linear model with logistic noise)."""
import numpy as np
import scipy.sparse as sp

from . import _validate
from ._validate import COUNT, Integer, Real

# The generators' numbers (gdfast._validate).
CONSTRAINTS = {"n_rows": COUNT, "n_features": COUNT, "size": Integer(0), "mean_nnz": Real(1, None),
               "exponent": Real(0, None)}


def power_law_features(rng, n_features, size, exponent):
    """Feature ids with P(rank r) proportional to r^-exponent (r = 1..n_features, inverse-CDF sampling of the
    continuous law), ranks scattered over the ids by a fixed permutation."""
    n_features, size, exponent = _validate.check(
        CONSTRAINTS, {"n_features": n_features, "size": size, "exponent": exponent}).values()
    if exponent == 1.0:  # the sampler below divides by 1 - exponent
        raise ValueError("exponent must not be 1 (its inverse CDF is another formula); take 1.01 or 0.99")
    a = 1.0 - exponent
    u = rng.random(size)
    rank = ((n_features ** a - 1.0) * u + 1.0) ** (1.0 / a)
    rank = np.minimum(rank.astype(np.int64) - 1, n_features - 1)
    return np.random.default_rng(12345).permutation(n_features)[rank]


def make_classification(n_rows=200_000, n_features=2 ** 20, mean_nnz=40, exponent=1.2, seed=0,
                        dtype=np.float64):
    """(X, y): X a CSR matrix n_rows x n_features with ~mean_nnz distinct features per row, each row scaled to
    unit norm; y in {0, 1} from a linear model w (normal on the 20% most frequent features) plus logistic
    noise."""
    n_rows, n_features, mean_nnz, exponent = _validate.check(
        CONSTRAINTS, {"n_rows": n_rows, "n_features": n_features, "mean_nnz": mean_nnz, "exponent": exponent}).values()
    rng = np.random.default_rng(seed)
    counts = rng.poisson(mean_nnz - 1, n_rows) + 1
    cols = power_law_features(rng, n_features, int(counts.sum()), exponent)
    rows = np.repeat(np.arange(n_rows), counts)
    X = sp.csr_matrix((np.ones(len(cols), dtype), (rows, cols)), shape=(n_rows, n_features))
    X.sum_duplicates()
    X.data = rng.exponential(1.0, X.nnz).astype(dtype)  # tf-idf-like positive weights
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / norms).astype(dtype) @ X
    w = rng.standard_normal(n_features) * 3.0
    z = X @ w + rng.logistic(size=n_rows)
    return X.tocsr(), (z > 0).astype(np.int64)
