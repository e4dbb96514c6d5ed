"""The C losses and gradients of linear models against NumPy formulas and finite differences."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd

LOSSES = list(gd.losses.LOSSES)


def problem(loss, dtype, sparse, seed=0, n=40, d=7):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.5)
    y = {"squared": rng.standard_normal(n), "logistic": rng.integers(0, 2, n), "hinge": rng.integers(0, 2, n),
         "softmax": rng.integers(0, 4, n)}[loss]
    K = 4 if loss == "softmax" else 1
    W, b = rng.standard_normal((d, K)).astype(dtype), rng.standard_normal(K).astype(dtype)
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), X.astype(np.float64), y, W, b


def numpy_losses(loss, X, y, W, b):
    """(losses, dL/dz) written from the table in gdfast.losses."""
    z = X @ W.astype(np.float64) + b
    if loss == "squared":
        return 0.5 * (z[:, 0] - y) ** 2, z - y[:, None]
    if loss == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(y)), y]), p - np.eye(W.shape[1])[y]
    s = np.where(y == 1, 1.0, -1.0)
    yz = s * z[:, 0]
    if loss == "logistic":
        return np.log1p(np.exp(-yz)), (-s / (1 + np.exp(yz)))[:, None]
    return np.maximum(0, 1 - yz), np.where(yz < 1, -s, 0.0)[:, None]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", LOSSES)
def test_matches_numpy(loss, dtype, sparse):
    X, X64, y, W, b = problem(loss, dtype, sparse)
    out, dW, db = gd.losses.loss_gradient(loss, X, y, W, b)
    expected, dz = numpy_losses(loss, X64, y, W, b)
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(out, expected, **tol)
    np.testing.assert_allclose(dW, X64.T @ dz / len(y), **tol)
    np.testing.assert_allclose(db, dz.mean(axis=0), **tol)


@pytest.mark.parametrize("loss", ["squared", "logistic", "softmax"])
def test_gradient_is_the_derivative(loss):
    """Central finite differences of the mean loss (hinge has kinks and is left out)."""
    X, _, y, W, b = problem(loss, np.float64, sparse=True, seed=1)
    _, dW, db = gd.losses.loss_gradient(loss, X, y, W, b)
    h = 1e-6
    for (j, k) in [(0, 0), (3, 0), (6, W.shape[1] - 1)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[j, k] += h
        Wm[j, k] -= h
        numeric = (gd.losses.loss_gradient(loss, X, y, Wp, b)[0].mean()
                   - gd.losses.loss_gradient(loss, X, y, Wm, b)[0].mean()) / (2 * h)
        assert abs(numeric - dW[j, k]) < 1e-7
    bp, bm = b.copy(), b.copy()
    bp[0] += h
    bm[0] -= h
    numeric = (gd.losses.loss_gradient(loss, X, y, W, bp)[0].mean()
               - gd.losses.loss_gradient(loss, X, y, W, bm)[0].mean()) / (2 * h)
    assert abs(numeric - db[0]) < 1e-7


def test_logistic_is_stable_for_large_scores():
    X = np.array([[1000.0], [-1000.0]])
    out, dW, _ = gd.losses.loss_gradient("logistic", X, np.array([0, 0]), np.ones((1, 1)), np.zeros(1),
                                         classes=np.array([0, 1]))
    np.testing.assert_allclose(out, [1000.0, 0.0])
    assert np.isfinite(dW).all()


@pytest.mark.parametrize("X, y, error, match", [
    (np.zeros((3, 2)), np.zeros(2), ValueError, r"one target per example \(3\)"),
    (np.zeros((3, 2), np.int64), np.zeros(3), TypeError, "does not cast"),
    (np.full((3, 2), np.nan), np.zeros(3), ValueError, "NaN or Inf"),
    (np.zeros((0, 2)), np.zeros(0), ValueError, "no examples"),
    ([[1.0, 2.0]], np.zeros(1), TypeError, "numpy.ndarray or a scipy.sparse"),
])
def test_bad_data(X, y, error, match):
    with pytest.raises(error, match=match):
        gd.losses.loss_gradient("squared", X, y, np.zeros((2, 1)), np.zeros(1))


def test_bad_labels():
    X = np.zeros((3, 2))
    with pytest.raises(ValueError, match="needs two classes, y has 3"):
        gd.losses.loss_gradient("logistic", X, [0, 1, 2], np.zeros((2, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="loss must be one of"):
        gd.losses.loss_gradient("cross", X, [0, 1, 2], np.zeros((2, 1)), np.zeros(1))
