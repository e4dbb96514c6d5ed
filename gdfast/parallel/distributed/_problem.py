"""The learning problem the replicas share: the flat parameter vector theta = [W.ravel(), b] of a linear model,
and the examples, either in memory (:class:`Problem`) or in shard sources that each replica reads on its own
(:class:`ShardedProblem`: the driver holds only their width, dtype and classes).
"""
import os

import numpy as np

from ...data import SvmlightSource
from ...linear import losses


class _Linear:
    """A linear model's layout: loss, width d, dtype, classes and outputs K; theta = [W.ravel(), b]."""

    def zeros(self):
        return np.zeros(self.size, self.dtype)

    def unflatten(self, theta):
        """(W, b) of a flat theta: views, W C-contiguous (d, K)."""
        return theta[:self.d * self.K].reshape(self.d, self.K), theta[self.d * self.K:]

    def model(self, theta, history, eta0):
        from ...linear.model import LinearModel
        W, b = (a.copy() for a in self.unflatten(theta))
        return LinearModel(self.loss, W, b, self.classes, history, None, eta0)


class Problem(_Linear):
    """``loss`` on examples X (checked once here) with targets y (classes: a classifier's, None to take them
    from y) and weights; gradients and losses at a flat theta.

    Batches are gathered from the checked arrays without checking them again, so a replica's step costs its
    gradient and little more. Picklable: the Ray backend ships it to worker processes once per run."""

    def __init__(self, loss, X, y, classes=None, sample_weight=None, name="X"):
        self.loss = losses.loss_name(loss)
        self.arrays, self.n, self.d, self.dtype = losses.features(X, name)
        self.y, self.classes, self.K = losses.targets(self.loss, y, self.n, self.dtype, classes,
                                                      name.replace("X", "y"))
        self.weight = losses.example_weights(sample_weight, self.n)
        self.size = self.d * self.K + self.K

    @property
    def examples(self):
        """Every example as the C loss code reads them (made per call: a LinearData holds pointers, so it is not
        kept on this object, which Ray pickles)."""
        return losses.data(self.arrays, self.y, self.n, self.d, self.weight)

    def loss_gradient(self, rows, theta):
        """(the sum of the losses of examples ``rows`` at theta, the mean gradient of those losses, flat like
        theta)."""
        W, b = self.unflatten(theta)
        g = np.empty_like(theta)
        gW, gb = self.unflatten(g)
        out = np.empty(len(rows))
        rows = np.ascontiguousarray(rows, np.int64)  # in [0, n): the replicas' own orders
        losses._model(self.loss, np.ascontiguousarray(W), b.copy()).loss_gradient(self.examples, out, gW, gb, rows)
        return float(out.sum()), g

    def mean_loss(self, theta):
        W, b = self.unflatten(theta)
        return losses.mean_loss(self.loss, self.examples, np.ascontiguousarray(W), b.copy())


class ShardedProblem(_Linear):
    """``loss`` on examples the driver never reads: one shard source per replica (see :func:`shard_sources`),
    each of width ``d`` and dtype ``dtype``; a classifier's ``classes`` are given, since no shard is read before
    training. ``chunk`` checks each chunk a replica reads as a Problem of its own."""

    def __init__(self, loss, d, dtype, classes):
        self.loss, self.d, self.dtype = losses.loss_name(loss), d, np.dtype(dtype)
        if classes is None and self.loss in losses.CLASSIFICATION:
            raise ValueError(f"the {self.loss} loss on shard sources needs classes= (every class of every shard): "
                             "the driver reads no shard to find them")
        self.classes, self.K = None, 1
        if classes is not None:
            self.classes = np.unique(np.asarray(classes))
            if len(self.classes) < 2:
                raise ValueError(f"classes must name two classes or more, got {self.classes.tolist()}")
            _, _, self.K = losses.targets(self.loss, self.classes, len(self.classes), self.dtype, self.classes)
        self.size = self.d * self.K + self.K

    def chunk(self, shard, index, X, y, weight):
        """Chunk ``index`` of replica ``shard``'s source as a Problem, checked against the others' width and
        dtype."""
        name = f"chunk {index} of shard {shard}"
        if X.shape[1] != self.d or X.dtype != self.dtype:
            raise ValueError(f"{name} has {X.shape[1]} features and dtype {X.dtype}; the shards have {self.d} and "
                             f"{self.dtype}")
        return Problem(self.loss, X, y, self.classes, weight, name=f"X of {name}")


def shard_sources(X, n_features):
    """X's shard sources, or None if X is not a list of them: each an svmlight file's path (read with
    gd.data.svmlight(path, n_features)) or a re-iterable of (X, y) chunks that names its ``n_features`` and
    ``dtype`` (as gd.data.svmlight's sources do). All of one width and dtype: (sources, width, dtype)."""
    if not isinstance(X, (list, tuple)) or not X or not all(_is_shard(s) for s in X):
        return None
    if any(isinstance(s, (str, os.PathLike)) for s in X) and n_features is None:
        raise ValueError("shards given as svmlight paths need n_features= (the width of X)")
    sources = [SvmlightSource(s, n_features) if isinstance(s, (str, os.PathLike)) else s for s in X]
    kinds = {(s.n_features, np.dtype(s.dtype)) for s in sources}
    if len(kinds) > 1:
        raise ValueError(f"the shard sources differ in width or dtype: {sorted(map(str, kinds))}")
    (width, dtype), = kinds
    if n_features not in (None, width):
        raise ValueError(f"n_features={n_features} but the shard sources have {width} features")
    return sources, width, dtype


def _is_shard(source):
    return isinstance(source, (str, os.PathLike)) or (hasattr(source, "__iter__") and hasattr(source, "n_features")
                                                      and hasattr(source, "dtype"))
