"""A trained linear model: its parameters, optimizer and history, predictions, and its serialization."""
import numpy as np

from ..optim.optimizers import OPTIMIZERS
from . import losses


class LinearModel:
    """A trained linear model z = x W + b: ``coef_`` (n_features,) for the squared loss, (K, n_features) for a
    classifier (K = 1 for two classes), ``intercept_`` (K,), ``classes_`` (classifiers), ``history_`` (one dict
    per epoch: epoch, train_loss, val_loss, lr, seconds, examples_per_second) and ``optimizer_``."""

    def __init__(self, loss, W, b, classes, history, optimizer, eta0):
        self.loss, self.classes_, self.history_, self.optimizer_ = loss, classes, history, optimizer
        self._W, self._b, self._eta0 = W, b, eta0  # eta0: the lr a schedule starts from
        self._trainer = None  # the Trainer training it (gdfast.linear.trainer), which knows how to continue it
        self._saved_resume = None  # the same, for a model read back without its trainer
        self.coef_ = W[:, 0] if loss == "squared" else W.T
        self.intercept_ = b

    @property
    def _resume(self):
        """What continuing its training exactly needs (Trainer.resume_state), or None."""
        return self._trainer.resume_state() if self._trainer is not None else self._saved_resume

    @_resume.setter
    def _resume(self, state):
        self._trainer, self._saved_resume = None, state

    def __getstate__(self):
        """Pickling: W, b and the optimizer's state; unpickling rebuilds the optimizer over the same W and b."""
        opt = self.optimizer_  # None for a model trained elsewhere (gdfast.distributed)
        return {"loss": self.loss, "W": self._W, "b": self._b, "classes": self.classes_, "history": self.history_,
                "eta0": self._eta0, "rule": opt and opt.rule.name, "optimizer": opt and opt.state_dict(),
                "resume": self._resume}

    def __setstate__(self, state):
        W, b = (a if a.flags.writeable else a.copy() for a in (state["W"], state["b"]))
        opt = None
        if state["rule"] is not None:
            opt = OPTIMIZERS[state["rule"]]([W, b], convention=str(state["optimizer"].get("convention", "survey")))
            opt.load_state_dict(state["optimizer"])
        self.__init__(state["loss"], W, b, state["classes"], state["history"], opt, state["eta0"])
        self._resume = state.get("resume")

    def save(self, path):
        """Write the model, its optimizer and what continuing its fit needs to a checkpoint (``gd.load``
        reads it; see gdfast.checkpoint)."""
        from ..checkpoint import save
        save(self, path)

    def decision_function(self, X):
        """x W + b: (n,) for one output, (n, K) for softmax."""
        _, _, d, dtype = losses.features(X)
        if d != self._W.shape[0]:
            raise ValueError(f"X has {d} features, the model {self._W.shape[0]}")
        z = np.asarray(X @ self._W.astype(dtype, copy=False)) + self._b
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X):
        z = self.decision_function(X)
        if self.loss == "squared":
            return z
        if self.loss == "softmax":
            return self.classes_[np.argmax(z, axis=1)]
        return self.classes_[(z > 0).astype(int)]

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), for the logistic and softmax losses."""
        if self.loss not in ("logistic", "softmax"):
            raise AttributeError(f"predict_proba needs the logistic or softmax loss, not {self.loss!r}")
        z = self.decision_function(X)
        if self.loss == "logistic":
            p = 1.0 / (1.0 + np.exp(-z))
            return np.column_stack([1 - p, p])
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def __repr__(self):
        return f"LinearModel(loss={self.loss!r}, n_features={self._W.shape[0]}, epochs={len(self.history_)})"
