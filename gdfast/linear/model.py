"""A trained linear model: its parameters, optimizer and history, predictions, and its serialization."""
import numpy as np

from .. import checkpoint
from ..optim.optimizers import Optimizer
from . import losses


class LinearModel:
    """A trained linear model z = x W + b: ``coef_`` (n_features,) for the squared loss, (K, n_features) for a
    classifier (K = 1 for two classes), ``intercept_`` (K,), ``classes_`` (classifiers), ``history_`` (one dict
    per epoch: epoch, train_loss, val_loss, lr, seconds, examples_per_second) and ``optimizer_``."""

    def __init__(self, loss, W, b, classes, history, optimizer, eta0, penalty_state=None):
        self.loss, self.classes_, self.history_, self.optimizer_ = loss, classes, history, optimizer
        self._W, self._b, self._eta0 = W, b, eta0  # eta0: the lr a schedule starts from
        self._trainer = None  # the Trainer training it (gdfast.linear.trainer), which knows how to continue it
        self._saved_resume = None  # the same, for a model read back without its trainer
        # The L1 penalty's and the averages' arrays (the Trainer's, live): l1_u, l1_q, avg_w, avg_b, avg_stamp
        self._penalty_state = dict(penalty_state or {})
        self._average_from = None  # averaging: the model's parameters are the means once a step t >= this is taken

    @property
    def _params(self):
        """(W, b) the model predicts with: the averages once averaging has begun, else the iterate."""
        start, state = self._average_from, self._penalty_state
        if start is not None and self.optimizer_ is not None and self.optimizer_.t >= start:
            return state["avg_w"], state["avg_b"]
        return self._W, self._b

    @property
    def coef_(self):
        W = self._params[0]
        return W[:, 0] if self.classes_ is None else W.T

    @property
    def intercept_(self):
        return self._params[1]

    @property
    def _resume(self):
        """What continuing its training exactly needs (Trainer.resume_state), or None."""
        return self._trainer.resume_state() if self._trainer is not None else self._saved_resume

    @_resume.setter
    def _resume(self, state):
        self._trainer, self._saved_resume = None, state

    # --- serialization: one encoding, used by pickling and checkpoints (gdfast.checkpoint) ------------------

    _checkpoint_kind = "model"

    def _encode(self, prefix=""):
        """(meta, arrays): W, b, classes, history, the optimizer's encoding (its arrays under ``opt.``, but for
        W and b) and what continuing the training needs (the trainer's streams, schedule and records)."""
        meta = {"loss": self.loss, "history": self.history_, "eta0": self._eta0, "optimizer": None, "resume": None,
                "penalty_state": sorted(self._penalty_state), "average_from": self._average_from}
        arrays = {f"{prefix}W": self._W, f"{prefix}b": self._b}
        arrays.update({f"{prefix}state.{name}": a for name, a in self._penalty_state.items()})
        if self.classes_ is not None:
            arrays[f"{prefix}classes"] = self.classes_
        if self.optimizer_ is not None:
            meta["optimizer"], opt_arrays = self.optimizer_._encode(prefix + "opt.", params=False)  # W, b above
            arrays.update(opt_arrays)
        resume = self._resume
        if resume is not None:
            meta["resume"], resume_arrays = _encode_resume(resume, prefix)
            arrays.update(resume_arrays)
        return meta, arrays

    @classmethod
    def _decode(cls, meta, arrays, prefix=""):
        W, b = checkpoint.writeable(arrays[f"{prefix}W"]), checkpoint.writeable(arrays[f"{prefix}b"])
        opt = None
        if meta["optimizer"] is not None:
            opt = Optimizer._decode(meta["optimizer"], arrays, prefix + "opt.", [W, b])
        state = {name: checkpoint.writeable(arrays[f"{prefix}state.{name}"]) for name in meta.get("penalty_state", ())}
        model = cls(meta["loss"], W, b, arrays.get(f"{prefix}classes"), meta["history"], opt, meta["eta0"], state)
        model._average_from = meta.get("average_from")
        if meta["resume"] is not None:
            model._resume = _decode_resume(meta["resume"], arrays, prefix)
        return model

    def __reduce__(self):
        """Pickling: the encoding; unpickling rebuilds the optimizer over the same W and b."""
        return checkpoint.decoded, (type(self),) + self._encode()

    def save(self, path):
        """Write the model, its optimizer and what continuing its fit needs to a checkpoint (``gd.load``
        reads it; see gdfast.checkpoint)."""
        checkpoint.save(self, path)

    def decision_function(self, X):
        """x W + b: (n,) for one output, (n, K) for K classes (more than two)."""
        _, _, d, dtype = losses.features(X)
        if d != self._params[0].shape[0]:
            raise ValueError(f"X has {d} features, the model {self._W.shape[0]}")
        W, b = self._params
        z = np.asarray(X @ W.astype(dtype, copy=False)) + b
        return z[:, 0] if z.shape[1] == 1 else z

    def predict(self, X):
        z = self.decision_function(X)
        if self.classes_ is None:
            return z
        if z.ndim == 2:
            return self.classes_[np.argmax(z, axis=1)]
        return self.classes_[(z > 0).astype(int)]

    def predict_proba(self, X):
        """Class probabilities (n, n_classes), for the logistic loss (one-vs-rest with more than two classes:
        each class's probability, normalized, as scikit-learn) and the softmax loss."""
        if self.loss not in ("logistic", "softmax"):
            raise AttributeError(f"predict_proba needs the logistic or softmax loss, not {self.loss!r}")
        z = self.decision_function(X)
        if self.loss == "logistic":
            p = 1.0 / (1.0 + np.exp(-z))
            return np.column_stack([1 - p, p]) if p.ndim == 1 else p / p.sum(axis=1, keepdims=True)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def __repr__(self):
        return f"LinearModel(loss={self.loss!r}, n_features={self._W.shape[0]}, epochs={len(self.history_)})"


def _encode_resume(resume, prefix):
    """(meta, arrays) of a Trainer's resume_state: the random streams, the schedule's state, the early-stopping
    record (value, W, b, epoch) and where training stood when the model took its best epoch's parameters."""
    best, last = resume["best"], resume["last"]
    meta = {"rng": resume["rng"], "schedule": resume["schedule"], "best": None if best is None else [best[0], best[3]],
            "n_streams": len(resume["streams"]), "last": last is not None}
    arrays = {f"{prefix}stream.{i}": stream for i, stream in enumerate(resume["streams"])}
    if best is not None:
        arrays[f"{prefix}best.W"], arrays[f"{prefix}best.b"] = best[1], best[2]
    if last is not None:
        arrays[f"{prefix}last.W"], arrays[f"{prefix}last.b"] = last
    return meta, arrays


def _decode_resume(meta, arrays, prefix):
    best = meta["best"]
    return {"rng": meta["rng"], "schedule": meta["schedule"],
            "streams": [np.array(arrays[f"{prefix}stream.{i}"]) for i in range(meta["n_streams"])],
            "best": None if best is None else
            (best[0], np.array(arrays[f"{prefix}best.W"]), np.array(arrays[f"{prefix}best.b"]), best[1]),
            "last": (np.array(arrays[f"{prefix}last.W"]), np.array(arrays[f"{prefix}last.b"]))
            if meta["last"] else None}
