"""The C losses and gradients of linear models against NumPy formulas and finite differences."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd

LOSSES = list(gd.losses.LOSSES)


REGRESSION = ("squared", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
SMOOTH = ("squared", "logistic", "softmax", "squared_hinge", "modified_huber", "huber", "squared_epsilon_insensitive")
EPSILON = 0.3


def problem(loss, dtype, sparse, seed=0, n=40, d=7, classes=None):
    """Data, W and b for a loss: real targets for the regression losses, two classes (four for softmax, or
    ``classes`` for one-vs-rest) for the others."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.5)
    classes = classes or (4 if loss == "softmax" else 2)
    y = rng.standard_normal(n) if loss in REGRESSION else rng.integers(0, classes, n)
    K = 1 if loss in REGRESSION or classes == 2 else classes
    W, b = rng.standard_normal((d, K)).astype(dtype), rng.standard_normal(K).astype(dtype)
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), X.astype(np.float64), y, W, b


def one_output(loss, z, y):
    """(L, dL/dz) of one output, written from the table in csrc/linear.h."""
    yz, r, e = y * z, z - y, EPSILON
    m, excess = 1 - yz, np.abs(r) - e
    return {
        "squared": (0.5 * r**2, r),
        "logistic": (np.log1p(np.exp(-yz)), -y / (1 + np.exp(yz))),
        "hinge": (np.maximum(0, m), np.where(yz <= 1, -y, 0.0)),
        "perceptron": (np.maximum(0, -yz), np.where(yz <= 0, -y, 0.0)),
        "squared_hinge": (np.maximum(0, m) ** 2, -2 * y * np.maximum(0, m)),
        "modified_huber": (np.where(yz >= 1, 0, np.where(yz >= -1, m**2, -4 * yz)),
                           np.where(yz >= 1, 0, np.where(yz >= -1, -2 * y * m, -4 * y))),
        "huber": (np.where(np.abs(r) <= e, 0.5 * r**2, e * (np.abs(r) - e / 2)), np.clip(r, -e, e)),
        "epsilon_insensitive": (np.maximum(0, excess), np.where(excess > 0, np.sign(r), 0.0)),
        "squared_epsilon_insensitive": (np.maximum(0, excess) ** 2, 2 * np.sign(r) * np.maximum(0, excess)),
    }[loss]


def numpy_losses(loss, X, y, W, b):
    """(losses, dL/dz) of every example: one output, softmax, or one output per class (one-vs-rest, a sum)."""
    z = X @ W.astype(np.float64) + b
    K = W.shape[1]
    if loss == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return -np.log(p[np.arange(len(y)), y]), p - np.eye(K)[y]
    if K > 1:
        targets = np.where(np.eye(K)[y] == 1, 1.0, -1.0)
        value, dz = one_output(loss, z, targets)
        return value.sum(axis=1), dz
    target = y if loss in REGRESSION else np.where(y == 1, 1.0, -1.0)
    value, dz = one_output(loss, z[:, 0], target)
    return value, dz[:, None]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss,classes", [(loss, None) for loss in LOSSES]
                         + [(loss, 3) for loss in LOSSES if loss not in REGRESSION + ("softmax",)],
                         ids=lambda v: "ovr" if v == 3 else str(v) if v else "")
def test_matches_numpy(loss, dtype, sparse, classes):
    X, X64, y, W, b = problem(loss, dtype, sparse, classes=classes)
    weight = np.random.default_rng(1).uniform(0, 2, len(y))
    out, dW, db = gd.losses.loss_gradient(loss, X, y, W, b, sample_weight=weight, epsilon=EPSILON)
    expected, dz = numpy_losses(loss, X64, y, W, b)
    dz = dz * weight[:, None]
    tol = dict(rtol=1e-10, atol=1e-12) if dtype == np.float64 else dict(rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(out, expected, **tol)
    np.testing.assert_allclose(dW, X64.T @ dz / len(y), **tol)
    np.testing.assert_allclose(db, dz.mean(axis=0), **tol)


@pytest.mark.parametrize("loss", SMOOTH)
def test_gradient_is_the_derivative(loss):
    """Central finite differences of the mean loss (the losses with kinks are left out)."""
    X, _, y, W, b = problem(loss, np.float64, sparse=True, seed=1)
    _, dW, db = gd.losses.loss_gradient(loss, X, y, W, b, epsilon=EPSILON)
    h = 1e-6

    def mean_loss(W, b):
        return gd.losses.loss_gradient(loss, X, y, W, b, epsilon=EPSILON)[0].mean()
    for (j, k) in [(0, 0), (3, 0), (6, W.shape[1] - 1)]:
        Wp, Wm = W.copy(), W.copy()
        Wp[j, k] += h
        Wm[j, k] -= h
        assert abs((mean_loss(Wp, b) - mean_loss(Wm, b)) / (2 * h) - dW[j, k]) < 1e-7
    bp, bm = b.copy(), b.copy()
    bp[0] += h
    bm[0] -= h
    assert abs((mean_loss(W, bp) - mean_loss(W, bm)) / (2 * h) - db[0]) < 1e-7


@pytest.mark.parametrize("loss", [name for name in LOSSES if name != "softmax"])
def test_losses_equal_scikit_learns(loss):
    """Each loss and derivative against scikit-learn's own SGD loss objects, at scores on both sides of every
    kink."""
    pytest.importorskip("sklearn")
    from sklearn._loss._loss import CyHalfBinomialLoss, CyHalfSquaredError, CyHuberLoss
    from sklearn.linear_model import _sgd_fast as f

    def half(loss_class, *args):  # the common loss objects fill arrays: (y_true, raw, sample_weight, out, threads)
        obj = loss_class(*args)

        def value_and_gradient(p, y):
            y, p, value, gradient = np.array([y]), np.array([p]), np.empty(1), np.empty(1)
            obj.loss(y, p, None, value, 1)
            obj.gradient(y, p, None, gradient, 1)
            return value[0], gradient[0]
        return value_and_gradient

    peers = {"hinge": f.Hinge(1.0), "perceptron": f.Hinge(0.0), "squared_hinge": f.SquaredHinge(1.0),
             "modified_huber": f.ModifiedHuber(), "epsilon_insensitive": f.EpsilonInsensitive(EPSILON),
             "squared_epsilon_insensitive": f.SquaredEpsilonInsensitive(EPSILON)}
    funcs = {"logistic": half(CyHalfBinomialLoss), "squared": half(CyHalfSquaredError),
             "huber": half(CyHuberLoss, EPSILON)}
    peer = funcs.get(loss) or (lambda p, y: (peers[loss].py_loss(p, y), peers[loss].py_dloss(p, y)))
    code = gd._kernels.LOSSES[loss]
    for z in (-3.0, -1.0, -0.5, -0.2, 0.0, 0.1, 0.5, 1.0, 1.7, 4.0):
        for y in ((-1.0, 1.0) if loss not in REGRESSION else (-0.4, 0.0, 2.0)):
            ours = gd._kernels.loss_value(code, z, y, EPSILON)
            target = (y > 0) * 1.0 if loss == "logistic" else y  # scikit-learn's log loss reads 0/1 labels
            np.testing.assert_allclose(ours, peer(z, target), rtol=1e-12, atol=1e-14)


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
    with pytest.raises(ValueError, match="needs two classes or more, y has 1"):
        gd.losses.loss_gradient("logistic", X, [1, 1, 1], np.zeros((2, 1)), np.zeros(1))
    with pytest.raises(ValueError, match=r"W must have shape \(2, 3\)"):  # three classes: one-vs-rest outputs
        gd.losses.loss_gradient("logistic", X, [0, 1, 2], np.zeros((2, 1)), np.zeros(1))
    with pytest.raises(ValueError, match="sample_weight must be finite and >= 0"):
        gd.losses.loss_gradient("squared", X, [0, 1, 2], np.zeros((2, 1)), np.zeros(1), sample_weight=[1, -1, 0])
    with pytest.raises(ValueError, match="loss must be one of"):
        gd.losses.loss_gradient("cross", X, [0, 1, 2], np.zeros((2, 1)), np.zeros(1))
