"""The learning problem the replicas share: checked examples, encoded targets, and the flat parameter vector
theta = [W.ravel(), b] of a linear model."""
import numpy as np

from ...linear import losses


class Problem:
    """``loss`` on examples X (checked once here) with targets y; gradients and losses at a flat theta.

    Batches are gathered from the checked arrays without checking them again, so a replica's step costs its
    gradient and little more. Picklable: the Ray backend ships it to worker processes once per run."""

    def __init__(self, loss, X, y):
        self.loss = losses.loss_name(loss)
        self.arrays, self.n, self.d, self.dtype = losses.features(X)
        self.y, self.classes, self.K = losses.targets(self.loss, y, self.n, self.dtype)
        self.size = self.d * self.K + self.K

    @property
    def examples(self):
        """Every example as the C loss code reads them (made per call: a LinearData holds pointers, so it is not
        kept on this object, which Ray pickles)."""
        return losses.data(self.arrays, self.y, self.n, self.d)

    def zeros(self):
        return np.zeros(self.size, self.dtype)

    def unflatten(self, theta):
        """(W, b) of a flat theta: views, W C-contiguous (d, K)."""
        return theta[:self.d * self.K].reshape(self.d, self.K), theta[self.d * self.K:]

    def gradient(self, rows, theta):
        """The mean gradient of the losses of examples ``rows`` at theta, flat like theta."""
        W, b = self.unflatten(theta)
        g = np.empty_like(theta)
        gW, gb = self.unflatten(g)
        out = np.empty(len(rows))
        rows = np.ascontiguousarray(rows, np.int64)  # in [0, n): the replicas' own orders
        losses._model(self.loss, np.ascontiguousarray(W), b.copy()).loss_gradient(self.examples, out, gW, gb, rows)
        return g

    def mean_loss(self, theta):
        W, b = self.unflatten(theta)
        return losses.mean_loss(self.loss, self.examples, np.ascontiguousarray(W), b.copy())

    def model(self, theta, history, eta0):
        from ...linear.model import LinearModel
        W, b = (a.copy() for a in self.unflatten(theta))
        return LinearModel(self.loss, W, b, self.classes, history, None, eta0)
