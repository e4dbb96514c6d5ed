"""The losses of linear models z = x W + b, computed in C (csrc/linear.h) on dense or CSR rows.

=========  ==========================================  ======================================  ==================
loss       L(z, y)                                     dL/dz                                   targets
=========  ==========================================  ======================================  ==================
squared    (z - y)^2 / 2                               z - y                                   real numbers
logistic   log(1 + exp(-y z)),  y = +-1                -y / (1 + exp(y z))                     two classes
hinge      max(0, 1 - y z),  y = +-1                   -y where y z < 1, else 0                two classes
softmax    -log p_y,  p_k = exp(z_k) / sum_j exp(z_j)  p_k - [k = y]                           two or more classes
=========  ==========================================  ======================================  ==================

For the two-class losses the second of the sorted classes is y = +1. The gradient with respect to W of the mean
loss over rows x_i is mean_i x_i^T dL/dz_i, with respect to b mean_i dL/dz_i; an L2 penalty alpha/2 ||W||^2
adds alpha W.
"""
import numpy as np

from .. import _kernels, _validate

LOSSES = tuple(_kernels.LOSSES)
CLASSIFICATION = ("logistic", "hinge", "softmax", "perceptron", "squared_hinge", "modified_huber")
SKLEARN_NAMES = {"log_loss": "logistic", "squared_error": "squared"}  # scikit-learn's names of gdfast's losses


def loss_name(loss):
    """The loss's name, checked: one of LOSSES or scikit-learn's name of one (a ValueError lists them)."""
    loss = SKLEARN_NAMES.get(loss, loss) if isinstance(loss, str) else loss
    if loss not in _kernels.LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES) + list(SKLEARN_NAMES)}, got {loss!r}")
    return loss


def features(X, name="X"):
    """X as the C loop reads it: (array or CSR arrays, n_rows, n_features, dtype). A float32/float64 2-D ndarray
    (copied once if not C-contiguous) or scipy.sparse matrix (CSR, checked), finite, at least one row."""
    if _validate.is_sparse(X):
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D, got shape {X.shape}")
        _float_dtype(X.dtype, name)
        indptr, indices, data, _, _ = _validate.csr(X, name)
        arrays, values = (indptr, indices, data), data[:int(indptr[-1])]
    else:
        if not isinstance(X, np.ndarray):
            raise TypeError(f"{name} must be a numpy.ndarray or a scipy.sparse matrix, got {type(X).__name__}")
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (examples x features), got shape {X.shape}")
        _float_dtype(X.dtype, name)
        arrays = values = np.ascontiguousarray(X)
    if X.shape[0] == 0:
        raise ValueError(f"{name} has no examples")
    if not np.isfinite(values).all():
        raise ValueError(f"{name} contains NaN or Inf")
    return arrays, X.shape[0], X.shape[1], X.dtype


def _float_dtype(dtype, name):
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} has dtype {dtype}; gdfast trains on float32 or float64 and does not cast: "
                        f"pass {name}.astype(np.float32) or np.float64")


def targets(loss, y, n_rows, dtype, classes=None, name="y"):
    """(encoded targets as the C loop reads them, classes or None, number of outputs K).

    A classification loss, or any loss given classes, makes a classifier: two classes are y = -1, +1 (one output),
    more are class indices with one output per class (the softmax loss's, or one-vs-rest for the others).
    classes: the classes a classifier already knows (a later fit, or validation data); None to take them
    from y."""
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != n_rows:
        raise ValueError(f"{name} must be 1-D with one target per example ({n_rows}), got shape {y.shape}")
    if loss not in CLASSIFICATION and classes is None:
        if y.dtype.kind not in "iuf" or not np.isfinite(y).all():
            raise ValueError(f"{name} must hold finite numbers for the {loss} loss")
        return np.ascontiguousarray(y, dtype), None, 1
    if classes is None:
        classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(f"the {loss} loss needs two classes or more, {name} has {len(classes)}: "
                             f"{classes[:10].tolist()}")
    index = np.searchsorted(classes, y)
    np.minimum(index, len(classes) - 1, out=index)  # past the last class: not a class (caught below)
    if not (classes[index] == y).all():
        unknown = np.setdiff1d(y, classes)[:10].tolist()
        raise ValueError(f"{name} has classes {unknown} not among {classes.tolist()}")
    if loss == "softmax" or len(classes) > 2:
        return index.astype(np.int64), classes, len(classes)
    return np.where(index == 1, 1, -1).astype(dtype), classes, 1


def example_weights(weight, n_rows, name="sample_weight"):
    """Per-example weights as the C loop reads them: None (every weight 1), or n_rows finite numbers >= 0,
    float64."""
    if weight is None:
        return None
    weight = np.asarray(weight)
    if weight.dtype.kind not in "iuf" or weight.shape != (n_rows,):
        raise ValueError(f"{name} must be {n_rows} numbers, one per example, got shape {weight.shape} and "
                         f"dtype {weight.dtype}")
    weight = np.ascontiguousarray(weight, np.float64)
    if not np.isfinite(weight).all() or (weight < 0).any():
        raise ValueError(f"{name} must be finite and >= 0")
    return weight


def data(X, y_encoded, n_rows, n_features, weight=None):
    """Checked examples as the C loop reads them (a LinearData): X from :func:`features`, y from :func:`targets`,
    weight from :func:`example_weights` (or None)."""
    return _kernels.LinearData(X, y_encoded, n_rows, n_features, weight)


def _model(loss, W, b, epsilon=0.1):
    """A kernel-side model for evaluation only (rule and state unused)."""
    K = b.shape[0]
    scratch = {"grad_w": np.zeros(0, W.dtype), "grad_b": np.zeros(0, W.dtype), "z": np.zeros(K, W.dtype),
               "dz": np.zeros(K, W.dtype), "values": np.zeros(0, W.dtype), "touched": np.zeros(0, np.int64),
               "table": np.full(2, -1, np.int32), "rng": np.ones(4, np.uint64),
               "replica": np.zeros(0, W.dtype)}
    return _kernels.LinearModel(0, _kernels.LOSSES[loss], W, b, (), (), [scratch], True, 1.0, epsilon=epsilon)


def loss_gradient(loss, X, y, W, b, classes=None, sample_weight=None, epsilon=0.1):
    """The loss of each example at (W, b), and the gradient of the mean weighted loss: (losses, dW, db).

    X: n x d (dense or sparse, float32/float64); W: d x K and b: K of X's dtype (K = 1 but for more than two
    classes, where it is the number of classes); y: targets as for :func:`gdfast.fit` (classes in sorted
    order); sample_weight: n weights (None: 1); epsilon: the huber and epsilon-insensitive losses'."""
    loss = loss_name(loss)
    epsilon = _validate.check({"epsilon": _validate.NONNEGATIVE}, {"epsilon": epsilon})["epsilon"]
    arrays, n, d, dtype = features(X)
    y_enc, _, K = targets(loss, y, n, dtype, classes)
    weight = example_weights(sample_weight, n)
    W, b = np.ascontiguousarray(W), np.ascontiguousarray(b)
    if W.dtype != dtype or b.dtype != dtype:
        raise TypeError(f"W and b must have X's dtype {dtype}, got {W.dtype} and {b.dtype}")
    if W.shape != (d, K) or b.shape != (K,):
        raise ValueError(f"W must have shape {(d, K)} and b {(K,)}, got {W.shape} and {b.shape}")
    out, dW, db = np.empty(n), np.empty((d, K), dtype), np.empty(K, dtype)
    _model(loss, W, b, epsilon).loss_gradient(data(arrays, y_enc, n, d, weight), out, dW, db)
    return out, dW, db


def mean_loss(loss, examples, W, b, epsilon=0.1, rows=None):
    """The mean loss over checked examples (a LinearData; or its rows ``rows``, int64, in place) at (W, b), no
    penalty."""
    out = np.empty(examples.n_rows if rows is None else len(rows))
    _model(loss, W, b, epsilon).loss_gradient(examples, out, rows=rows)
    return float(out.mean())
