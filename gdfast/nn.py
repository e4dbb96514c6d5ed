"""A small multilayer perceptron in NumPy, trained by gdfast's optimizers, for the survey's batch-normalization
strategy (Ruder, arXiv:1609.04747, section 6: "Batch normalization"; Ioffe & Szegedy, 2015).

The model's parameters are plain float32/float64 C-contiguous arrays, so they bind to any optimizer like any
other array, and its gradients live in arrays allocated once, so every step hands the optimizer the same list:

    from gdfast import nn
    model = nn.MLP([64, 128, 10], batch_norm=True, seed=0)
    opt = gd.Adam(model.parameters(), lr=1e-3)
    loss = model.loss_and_gradients(X_batch, y_batch)   # forward, softmax cross-entropy, backward
    opt.step(model.gradients())                         # the model's arrays, updated in place

or ``nn.train_mlp(model, X, y, optimizer="sgd", lr=0.1, epochs=10)`` for shuffled mini-batch training, and
``nn.batchnorm_comparison()`` for the survey's claim that batch normalization allows much higher learning rates.

Every layer maps a batch x (m rows, one example each) to y, caches what its backward needs, and its
``backward(dL/dy)`` returns dL/dx and writes dL/d(parameter) into the layer's gradient arrays.
"""
import math
import time
import warnings

import numpy as np

from . import _validate
from ._progress import progress_bar
from ._validate import COUNT, FLOAT_DTYPES, Real
from .optim.optimizers import OPTIMIZER_NAMES, OPTIMIZERS


def _float_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_batch(x, n_features, dtype, name="x"):
    """x: a 2-D ndarray of exactly this dtype (no silent cast) with n_features columns."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of {dtype}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{name} has dtype {x.dtype} but the model is {dtype}; gdfast does not cast: "
                        f"pass {name}.astype(np.{dtype})")
    if x.ndim != 2 or x.shape[1] != n_features:
        raise ValueError(f"{name} must have shape (n, {n_features}), got {x.shape}")
    return x


def _check_labels(y, n, n_classes, name="y"):
    """y: n integer class labels in [0, n_classes)."""
    if not isinstance(y, np.ndarray) or y.dtype.kind not in "iu":
        what = y.dtype if isinstance(y, np.ndarray) else type(y).__name__
        raise TypeError(f"{name} must be a numpy.ndarray of integer class labels, got {what}")
    if y.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), one label per row, got {y.shape}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in [0, {n_classes}), got [{y.min()}, {y.max()}]")
    return y


class Dense:
    """Affine layer y = x W + b, W of shape (n_in, n_out).

    init "he": W_ij ~ N(0, 2 / n_in), for a layer feeding a ReLU (He et al., 2015);
    "glorot": W_ij ~ U(-a, a), a = sqrt(6 / (n_in + n_out)) (Glorot & Bengio, 2010). b starts at 0.
    bias=False drops b: before a BatchNorm it is redundant, the batch mean subtracts it.

    Backward, with G = dL/dy: dL/dW = x^T G, dL/db = sum_i G_i, dL/dx = G W^T.
    """

    _constraints = {"n_in": COUNT, "n_out": COUNT}

    def __init__(self, n_in, n_out, rng, init="he", bias=True, dtype=np.float64):
        n_in, n_out = _validate.check(self._constraints, {"n_in": n_in, "n_out": n_out}).values()
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        dtype = _float_dtype(dtype)
        if init == "he":
            W = rng.normal(0.0, math.sqrt(2.0 / n_in), (n_in, n_out))
        elif init == "glorot":
            bound = math.sqrt(6.0 / (n_in + n_out))
            W = rng.uniform(-bound, bound, (n_in, n_out))
        else:
            raise ValueError(f"init must be 'he' or 'glorot', got {init!r}")
        self.W = W.astype(dtype)
        self.dW = np.zeros_like(self.W)
        self.b = np.zeros(n_out, dtype) if bias else None
        self.db = np.zeros(n_out, dtype) if bias else None
        self._x = None

    def parameters(self):
        return [self.W] if self.b is None else [self.W, self.b]

    def gradients(self):
        return [self.dW] if self.b is None else [self.dW, self.db]

    def forward(self, x, training=True):
        self._x = _check_batch(x, self.W.shape[0], self.W.dtype)
        y = x @ self.W
        if self.b is not None:
            y += self.b
        return y

    def backward(self, grad_out):
        if self._x is None:
            raise RuntimeError("backward before forward")
        np.matmul(self._x.T, grad_out, out=self.dW)
        if self.b is not None:
            np.sum(grad_out, axis=0, out=self.db)
        return grad_out @ self.W.T

    def __repr__(self):
        return f"Dense({self.W.shape[0]}, {self.W.shape[1]}, bias={self.b is not None})"


class ReLU:
    """y = max(x, 0); dL/dx = dL/dy where x > 0, else 0 (0 at the kink)."""

    def __init__(self):
        self._positive = None

    def parameters(self):
        return []

    def gradients(self):
        return []

    def forward(self, x, training=True):
        self._positive = x > 0
        return np.maximum(x, 0)

    def backward(self, grad_out):
        if self._positive is None:
            raise RuntimeError("backward before forward")
        return grad_out * self._positive

    def __repr__(self):
        return "ReLU()"


class BatchNorm:
    """Batch normalization of n features (Ioffe & Szegedy, 2015, Algorithm 1), per feature over a batch of m:

        mu_B = 1/m sum_i x_i,   var_B = 1/m sum_i (x_i - mu_B)^2,
        x_hat_i = (x_i - mu_B) / sqrt(var_B + eps),   y_i = gamma x_hat_i + beta,

    gamma (starts at 1) and beta (starts at 0) learned. Training mode normalizes with the batch's statistics
    (m >= 2) and updates the running statistics by an exponential moving average, with torch's convention
    (momentum = the weight of the new batch, default 0.1; Keras' momentum 0.99 is our 0.01):

        running_mean <- (1 - momentum) running_mean + momentum mu_B
        running_var  <- (1 - momentum) running_var  + momentum m / (m - 1) var_B   (unbiased, as the paper's
                                                                                       inference step and torch)

    Eval mode normalizes with running_mean and running_var instead (start: 0 and 1), a fixed affine map.

    Backward, training mode, with g_i = dL/dy_i (the batch statistics depend on every x_i):

        dL/dbeta = sum_i g_i,   dL/dgamma = sum_i g_i x_hat_i,
        dL/dx_i = gamma / sqrt(var_B + eps) * (g_i - 1/m sum_k g_k - x_hat_i 1/m sum_k g_k x_hat_k);

    eval mode: dL/dx_i = gamma / sqrt(running_var + eps) g_i.
    """

    _constraints = {"n": COUNT, "momentum": Real(0, 1), "eps": Real(0, None, "neither")}

    def __init__(self, n, momentum=0.1, eps=1e-5, dtype=np.float64):
        n, self.momentum, self.eps = _validate.check(self._constraints,
                                                     {"n": n, "momentum": momentum, "eps": eps}).values()
        dtype = _float_dtype(dtype)
        self.gamma, self.beta = np.ones(n, dtype), np.zeros(n, dtype)
        self.dgamma, self.dbeta = np.zeros(n, dtype), np.zeros(n, dtype)
        self.running_mean, self.running_var = np.zeros(n, dtype), np.ones(n, dtype)
        self._cache = None

    def parameters(self):
        return [self.gamma, self.beta]

    def gradients(self):
        return [self.dgamma, self.dbeta]

    def forward(self, x, training=True):
        _check_batch(x, len(self.gamma), self.gamma.dtype)
        if training:
            m = len(x)
            if m < 2:
                raise ValueError(f"BatchNorm in training mode needs a batch of at least 2 rows, got {m}")
            mean, var = x.mean(axis=0), x.var(axis=0)
            self._update_running(mean, var, m)
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self._cache = (x_hat, inv_std, training)
        return self.gamma * x_hat + self.beta

    def _update_running(self, mean, var, m):
        keep = 1.0 - self.momentum
        self.running_mean *= keep
        self.running_mean += self.momentum * mean
        self.running_var *= keep
        self.running_var += self.momentum * m / (m - 1) * var

    def backward(self, grad_out):
        if self._cache is None:
            raise RuntimeError("backward before forward")
        x_hat, inv_std, training = self._cache
        np.sum(grad_out, axis=0, out=self.dbeta)
        np.sum(grad_out * x_hat, axis=0, out=self.dgamma)
        scale = self.gamma * inv_std
        if not training:
            return grad_out * scale
        m = len(grad_out)
        return scale * (grad_out - self.dbeta / m - x_hat * (self.dgamma / m))

    def __repr__(self):
        return f"BatchNorm({len(self.gamma)}, momentum={self.momentum}, eps={self.eps})"


def softmax_cross_entropy(logits, y):
    """(mean loss, dL/dlogits) of the softmax cross-entropy over a batch of m rows:

        L = 1/m sum_i (logsumexp(z_i) - z_i[y_i]),   dL/dz_i = (softmax(z_i) - onehot(y_i)) / m,

    with the row maximum subtracted first, so exp never overflows for finite logits. Non-finite logits give a
    non-finite loss (a diverged model), not an exception."""
    m = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    total = exp.sum(axis=1, keepdims=True)
    rows = np.arange(m)
    loss = float(np.mean(np.log(total[:, 0]) - shifted[rows, y]))
    grad = exp / total
    grad[rows, y] -= 1.0
    grad /= m
    return loss, grad


class MLP:
    """A multilayer perceptron classifier: for sizes [d, h_1, ..., h_k, K], k hidden blocks
    Dense(He init) -> [BatchNorm] -> ReLU, then Dense(Glorot init) to K logits, trained on the softmax
    cross-entropy. With batch_norm the hidden Dense layers have no bias (BatchNorm's beta shifts instead).

    parameters(): the arrays an optimizer binds, in layer order (W, [b], gamma, beta, ..., W, b);
    gradients(): their gradients in the same order, the same arrays after every :meth:`loss_and_gradients`.
    train() / eval(): the mode of the BatchNorm layers (batch statistics / running statistics).
    """

    def __init__(self, sizes, batch_norm=True, seed=0, dtype=np.float64, momentum=0.1, eps=1e-5):
        if not isinstance(sizes, (list, tuple)) or len(sizes) < 2:
            raise ValueError(f"sizes must be a list [n_features, hidden..., n_classes], got {sizes!r}")
        sizes = [COUNT.checked(f"sizes[{i}]", s) for i, s in enumerate(sizes)]
        if sizes[-1] < 2:
            raise ValueError(f"sizes[-1] is the number of classes, at least 2, got {sizes[-1]}")
        self.dtype = _float_dtype(dtype)
        self.sizes, self.batch_norm = sizes, bool(batch_norm)
        rng = np.random.default_rng(seed)
        self.layers = []
        for n_in, n_out in zip(sizes[:-2], sizes[1:-1]):
            self.layers.append(Dense(n_in, n_out, rng, "he", bias=not self.batch_norm, dtype=self.dtype))
            if self.batch_norm:
                self.layers.append(BatchNorm(n_out, momentum, eps, self.dtype))
            self.layers.append(ReLU())
        self.layers.append(Dense(sizes[-2], sizes[-1], rng, "glorot", dtype=self.dtype))
        self.training = True

    @property
    def n_classes(self):
        return self.sizes[-1]

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def train(self, mode=True):
        """Training mode (BatchNorm uses batch statistics and updates its running ones); returns self."""
        self.training = bool(mode)
        return self

    def eval(self):
        """Eval mode (BatchNorm uses its running statistics); returns self."""
        return self.train(False)

    def forward(self, X, training=None):
        """The logits of X (n x d, the model's dtype); training=None: the model's mode."""
        x = _check_batch(X, self.sizes[0], self.dtype, "X")
        training = self.training if training is None else training
        for layer in self.layers:
            x = layer.forward(x, training)
        return x

    def backward(self, grad_logits):
        """Back-propagate dL/dlogits of the last forward; fills gradients()."""
        for layer in reversed(self.layers):
            grad_logits = layer.backward(grad_logits)
        return grad_logits

    def loss_and_gradients(self, X, y):
        """The mean softmax cross-entropy of the batch (X, y) in the model's mode; fills gradients()."""
        logits = self.forward(X)
        loss, grad = softmax_cross_entropy(logits, _check_labels(y, len(X), self.n_classes))
        self.backward(grad)
        return loss

    def loss(self, X, y):
        """The mean softmax cross-entropy of (X, y) in eval mode (running statistics; nothing updated)."""
        logits = self.forward(X, training=False)
        return softmax_cross_entropy(logits, _check_labels(y, len(X), self.n_classes))[0]

    def predict_proba(self, X):
        """Class probabilities (eval mode), n x K."""
        logits = self.forward(X, training=False)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, X):
        """The most probable class of each row (eval mode)."""
        return np.argmax(self.forward(X, training=False), axis=1)

    def score(self, X, y):
        """Accuracy of predict(X) against y."""
        return float(np.mean(self.predict(X) == _check_labels(y, len(X), self.n_classes)))

    def __repr__(self):
        return f"MLP({self.sizes}, batch_norm={self.batch_norm}, dtype={self.dtype}, training={self.training})"


def _batch_bounds(n, batch_size):
    """Start/end offsets of an epoch's batches. A lone last example is merged into the batch before it: in
    training mode BatchNorm cannot normalize one row (its batch variance is 0)."""
    bounds = list(range(0, n, batch_size)) + [n]
    if batch_size > 1 and len(bounds) > 2 and bounds[-1] - bounds[-2] == 1:
        del bounds[-2]
    return bounds


def _train_epoch(model, opt, X, y, order, batch_size):
    """(sum of the batch losses times their sizes, examples seen) over one epoch in this order; stops at the
    first non-finite batch loss (returned as the total) without stepping on it."""
    total, seen = 0.0, 0
    bounds = _batch_bounds(len(order), batch_size)
    for start, end in zip(bounds[:-1], bounds[1:]):
        idx = order[start:end]
        loss = model.loss_and_gradients(X[idx], y[idx])
        seen += end - start
        if not math.isfinite(loss):
            return loss, seen
        opt.step(model.gradients())
        total += loss * (end - start)
    return total, seen


# train_mlp's numbers and optimizer (gdfast._validate; lr and the other hyperparameters are the optimizer's);
# batch_size's bounds from the data and BatchNorm are checked once the data is.
TRAIN_MLP_CONSTRAINTS = {"optimizer": OPTIMIZER_NAMES, "epochs": COUNT, "batch_size": COUNT}


def train_mlp(model, X, y, optimizer="sgd", lr=0.01, epochs=10, batch_size=32, seed=0, validation_data=None,
              progress=False, **hyperparameters):
    """Shuffled mini-batch training of an MLP in place; returns the history, one dict per epoch:
    epoch, train_loss (mean of the epoch's batch losses, training mode), val_loss (eval mode, on
    validation_data=(X_val, y_val), else None), lr, seconds, examples_per_second, as gdfast.fit's history.

    optimizer: a name in gd.OPTIMIZERS, with lr and its other ``**hyperparameters`` (gamma=0.9, ...).
    A non-finite batch loss (diverged training) ends training: that epoch's train_loss is nan or inf, a
    RuntimeWarning says so. The model returns to the mode it was in.
    """
    if not isinstance(model, MLP):
        raise TypeError(f"model must be a gdfast.nn.MLP, got {type(model).__name__}")
    optimizer, epochs, batch_size = _validate.check(
        TRAIN_MLP_CONSTRAINTS, {"optimizer": optimizer, "epochs": epochs, "batch_size": batch_size}).values()
    X, y = _checked_data(model, X, y, "X", "y")
    n = len(X)
    if batch_size > n or (model.batch_norm and batch_size < 2):
        raise ValueError(f"batch_size must be in [{2 if model.batch_norm else 1}, {n}] (BatchNorm needs 2 rows), "
                         f"got {batch_size}")
    if validation_data is not None:
        if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, y_val)")
        validation_data = _checked_data(model, *validation_data, "validation_data[0]", "validation_data[1]")
    opt = OPTIMIZERS[optimizer](model.parameters(), lr=lr, **hyperparameters)
    rng = np.random.default_rng(seed)
    was_training, history = model.training, []
    bar = progress_bar(progress, epochs, "gdfast.nn")
    model.train()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # divergence shows in the loss
            for epoch in range(1, epochs + 1):
                start = time.perf_counter()
                total, seen = _train_epoch(model, opt, X, y, rng.permutation(n), batch_size)
                seconds = time.perf_counter() - start
                train_loss = total / seen if math.isfinite(total) else total
                entry = {"epoch": epoch, "train_loss": train_loss,
                         "val_loss": model.loss(*validation_data) if validation_data else None,
                         "lr": float(opt.lr), "seconds": seconds, "examples_per_second": seen / max(seconds, 1e-12)}
                history.append(entry)
                if bar is not None:
                    bar.set_postfix(loss=f"{train_loss:.4g}")
                    bar.update()
                if not math.isfinite(train_loss):
                    warnings.warn(f"gdfast.nn.train_mlp: the loss became {train_loss} at epoch {epoch}; "
                                  "stopping (lower lr?)", RuntimeWarning, stacklevel=2)
                    break
    finally:
        model.train(was_training)
        if bar is not None:
            bar.close()
    return history


def _checked_data(model, X, y, x_name, y_name):
    X = _check_batch(X, model.sizes[0], model.dtype, x_name)
    if len(X) == 0:
        raise ValueError(f"{x_name} has no rows")
    if not np.isfinite(X).all():
        raise ValueError(f"{x_name} holds NaN or inf")
    return X, _check_labels(y, len(X), model.n_classes, y_name)


_TEST_FRACTION = Real(0, 1, "left")  # 0: no test rows


def load_digits_split(seed=0, test_fraction=0.25, dtype=np.float64):
    """scikit-learn's bundled 8x8 digits (1797 x 64, 10 classes; no download), split at random by seed into
    (X_train, y_train, X_test, y_test), each pixel standardized by the training rows' mean and standard
    deviation (1 where a pixel is constant there)."""
    test_fraction = _TEST_FRACTION.checked("test_fraction", test_fraction)
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise ImportError('the digits data comes with scikit-learn: pip install "gdfast[sklearn]"') from error
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(X))
    n_test = int(round(test_fraction * len(X)))
    test, train = order[:n_test], order[n_test:]
    mean, std = X[train].mean(axis=0), X[train].std(axis=0)
    std[std == 0] = 1.0
    X = ((X - mean) / std).astype(dtype)
    return X[train], y[train], X[test], y[test]


def batchnorm_comparison(lrs=(0.01, 0.1, 0.3, 1.0, 3.0), epochs=20, hidden=(64, 64, 64), batch_size=32,
                         optimizer="sgd", seed=0, progress=False, **hyperparameters):
    """The survey's claim for batch normalization, that it "allows us to use much higher learning rates and be
    less careful about parameter initialization": the same MLP [64, *hidden, 10] (same seed) trained on the
    digits (load_digits_split(seed)) with and without BatchNorm, by ``optimizer`` at each learning rate.

    Returns one dict per (lr, batch_norm): lr, batch_norm, train_loss (the last epoch's mean batch loss, in
    training mode: with BatchNorm on batch statistics), test_accuracy (eval mode), seconds, diverged (the loss
    became nan/inf; training stopped there). The defaults take about 2 s on one core.
    """
    X_train, y_train, X_test, y_test = load_digits_split(seed)
    rows = []
    for lr in lrs:
        for batch_norm in (False, True):
            model = MLP([X_train.shape[1], *hidden, 10], batch_norm=batch_norm, seed=seed)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # divergence is a result here, in the row
                history = train_mlp(model, X_train, y_train, optimizer, lr, epochs, batch_size, seed,
                                    progress=progress, **hyperparameters)
            seconds = time.perf_counter() - start
            with np.errstate(invalid="ignore", over="ignore"):
                accuracy = model.score(X_test, y_test)
            loss = history[-1]["train_loss"]
            rows.append({"lr": lr, "batch_norm": batch_norm, "train_loss": loss, "test_accuracy": accuracy,
                         "seconds": seconds, "diverged": not math.isfinite(loss)})
    return rows


def comparison_table(rows, title=None):
    """The rows of :func:`batchnorm_comparison` as a markdown table (a string), under ``## title`` if given."""
    lines = [f"## {title}", ""] if title else []
    lines += ["| lr | BatchNorm | final train loss | test accuracy | diverged | seconds |",
              "|---:|:---:|---:|---:|:---:|---:|"]
    for row in rows:
        loss = row["train_loss"]
        lines.append(f"| {row['lr']:g} | {'yes' if row['batch_norm'] else 'no'} | "
                     f"{loss:.4f} | {row['test_accuracy']:.4f} | {'yes' if row['diverged'] else 'no'} | "
                     f"{row['seconds']:.2f} |")
    return "\n".join(lines)
