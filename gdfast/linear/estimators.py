"""scikit-learn estimators over gdfast.fit: GDClassifier and GDRegressor (needs scikit-learn).

They follow scikit-learn's conventions where they differ from gdfast.fit's: X is validated and converted as
scikit-learn does (to float64, or kept float32; dense or CSR), ``max_iter`` counts epochs, and the penalty
defaults to ``alpha=1e-4``. A two-class GDClassifier uses its ``loss`` ("logistic" or "hinge"); with more
classes the logistic loss becomes the multinomial one ("softmax").
"""
import functools

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _validate, checkpoint
from .._validate import COUNT, FRACTION, Integer, NoneOr
from ..optim import schedules
from . import trainer as _train
from .model import LinearModel
from .strategies import EarlyStopping, GradientNoise


class _GDEstimator(BaseEstimator):
    # The parameters that reach gdfast.fit under another name or form, checked under their own names (fit
    # checks lr, alpha and n_threads).
    _constraints = {"batch_size": NoneOr(COUNT), "max_iter": COUNT, "validation_fraction": FRACTION,
                    "n_iter_no_change": Integer(0)}

    def __init__(self, loss=None, optimizer="adam", *, lr=0.01, alpha=1e-4, batch_size=32, max_iter=50,
                 schedule=None, fit_intercept=True, shuffle=True, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, gradient_noise=None, random_state=None, progress=False, optimizer_params=None,
                 n_threads=None):
        self.loss, self.optimizer, self.lr, self.alpha = loss, optimizer, lr, alpha
        self.batch_size, self.max_iter, self.schedule = batch_size, max_iter, schedule
        self.fit_intercept = fit_intercept
        self.shuffle, self.early_stopping, self.validation_fraction = shuffle, early_stopping, validation_fraction
        self.n_iter_no_change, self.gradient_noise, self.random_state = n_iter_no_change, gradient_noise, random_state
        self.progress, self.optimizer_params, self.n_threads = progress, optimizer_params, n_threads

    def _trainer(self, loss, classes=None, init=None, early=False, batch_size=None):
        """A Trainer with this estimator's parameters (early: with early stopping, for fit; batch_size: the
        estimator's, at most that many)."""
        _validate.check(self._constraints, {name: getattr(self, name) for name in self._constraints})
        hyper = dict(self.optimizer_params or {})
        if self.lr is not None:
            hyper["lr"] = self.lr
        return _train.Trainer(
            loss, self.optimizer, alpha=self.alpha, fit_intercept=self.fit_intercept,
            schedule=self.schedule, shuffle=self.shuffle, gradient_noise=self.gradient_noise,
            random_state=self.random_state, progress=self.progress, classes=classes, init=init,
            n_threads=self.n_threads, early_stopping=EarlyStopping(self.n_iter_no_change) if early else None,
            batch_size=self.batch_size if self.batch_size is None or batch_size is None
            else min(self.batch_size, batch_size), **hyper)

    def _fit(self, X, y, loss, classes=None):
        """A new model: max_iter epochs (fewer with early stopping) of a new Trainer."""
        early = bool(self.early_stopping)
        self._gd_trainer = self._trainer(loss, classes, early=early, batch_size=len(y))
        self._gd_trainer_settings = self._settings()
        model = self._gd_trainer.fit(X, y, self.max_iter,
                                     validation_fraction=self.validation_fraction if early else None)
        return self._fitted(model)

    def _partial_fit(self, X, y, loss, classes=None):
        """One epoch over (X, y), continuing the model. The Trainer is kept between calls while the parameters
        stay as they are; after the first call, a model read from a checkpoint or a pickle, or a change of
        parameters (set_params), a new one continues the model with the parameters as they are now."""
        trainer, settings = getattr(self, "_gd_trainer", None), self._settings()
        if trainer is None or settings != self._gd_trainer_settings:
            trainer = self._gd_trainer = self._trainer(loss, classes, init=getattr(self, "model_", None))
            self._gd_trainer_settings = settings
        return self._fitted(trainer.partial_fit(X, y))

    def _settings(self):
        """The parameters as they stand, in the order of __init__."""
        return [getattr(self, name) for name in self._param_names()]

    @classmethod
    @functools.cache
    def _param_names(cls):
        """The names of the parameters, read once per class (scikit-learn reads the signature at every call)."""
        return cls._get_param_names()

    def _fitted(self, model):
        self.model_ = model
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self.n_iter_ = len(model.history_)
        return self

    def __getstate__(self):
        """Pickling: the model (which keeps what continuing it needs), not the trainer's C buffers."""
        state = super().__getstate__()
        state.pop("_gd_trainer", None)
        state.pop("_gd_trainer_settings", None)
        return state

    # --- serialization: its checkpoint (gdfast.checkpoint); pickling is scikit-learn's -------------------------

    _checkpoint_kind = "estimator"

    def _encode(self, prefix=""):
        """(meta, arrays): the class, its parameters (a schedule or gradient noise as its class and attributes)
        and, once fitted, its model's encoding (under ``model.``) and classes."""
        meta = {"class": type(self).__name__, "params": {k: _encode_param(v) for k, v in self.get_params().items()},
                "fitted": hasattr(self, "model_")}
        arrays = {}
        if meta["fitted"]:
            meta["model"], arrays = self.model_._encode(prefix + "model.")
            meta["n_features_in"] = int(self.n_features_in_)
            if hasattr(self, "classes_"):
                arrays[f"{prefix}est.classes"] = self.classes_
        return meta, arrays

    @classmethod
    def _decode(cls, meta, arrays, prefix=""):
        classes = {c.__name__: c for c in (GDClassifier, GDRegressor)}
        if meta["class"] not in classes:
            raise ValueError(f"unknown estimator {meta['class']!r}")
        est = classes[meta["class"]](**{k: _decode_param(v) for k, v in meta["params"].items()})
        if meta["fitted"]:
            est._fitted(LinearModel._decode(meta["model"], arrays, prefix + "model."))
            est.n_features_in_ = meta["n_features_in"]
            if f"{prefix}est.classes" in arrays:
                est.classes_ = arrays[f"{prefix}est.classes"]
        return est

    def save(self, path):
        """Write the estimator, its parameters and its fitted model to a checkpoint (``gd.load`` reads it)."""
        checkpoint.save(self, path)

    def _validated(self, X, reset):
        return validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=reset)

    def _validated_xy(self, X, y, reset):
        """X and y as scikit-learn validates them. A later chunk of a stream that is already what the Trainer
        takes (a float32/float64 ndarray or CSR matrix and a 1-D ndarray y) has only its width checked here:
        the Trainer checks the rest (finite values, one target per row, known classes) at a fraction of the
        cost (~1.4 ms per call of scikit-learn's checks)."""
        if not reset and _trainer_ready(X, y):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input.")
            return X, y
        return validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], reset=reset,
                             y_numeric=isinstance(self, RegressorMixin))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class GDClassifier(ClassifierMixin, _GDEstimator):
    """A linear classifier trained by gdfast.fit: loss "logistic" (the default; probabilities) or "hinge" (a
    linear SVM), any of the ten update rules (``optimizer`` and ``lr``, ``optimizer_params`` for the rest),
    mini-batches of ``batch_size`` (1: stochastic, None: the whole set), ``max_iter`` epochs, ``n_threads`` for
    Hogwild! on sparse data (gdfast.fit).

    >>> clf = GDClassifier(optimizer="adagrad", lr=0.1, batch_size=1).fit(X, y)   # doctest: +SKIP
    """

    def _loss(self, n_classes):
        loss = "logistic" if self.loss is None else self.loss
        if loss not in ("logistic", "hinge"):
            raise ValueError(f"loss must be 'logistic' or 'hinge', got {loss!r}")
        if n_classes > 2:
            if loss == "hinge":
                raise ValueError("the hinge loss separates two classes; use loss='logistic' (multinomial) for more")
            return "softmax"
        return loss

    def fit(self, X, y):
        X, y = self._validated_xy(X, y, reset=True)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("GDClassifier needs examples of two classes or more; y has 1 class")
        return self._fit(X, y, self._loss(len(self.classes_)), classes=self.classes_)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing the current model; the first call needs ``classes``."""
        first = not hasattr(self, "model_")
        X, y = self._validated_xy(X, y, reset=first)
        if first:  # later chunks: the Trainer refuses a target outside classes_
            check_classification_targets(y)
            if classes is None:
                raise ValueError("the first partial_fit needs classes= (every class the stream will hold)")
            self.classes_ = np.unique(classes)
        return self._partial_fit(X, y, self._loss(len(self.classes_)), classes=self.classes_)

    def decision_function(self, X):
        check_is_fitted(self)
        return self.model_.decision_function(self._validated(X, reset=False))

    def predict(self, X):
        check_is_fitted(self)
        return self.model_.predict(self._validated(X, reset=False))

    def predict_proba(self, X):
        """Class probabilities (the logistic loss only)."""
        check_is_fitted(self)
        if self.loss not in (None, "logistic"):
            raise AttributeError(f"predict_proba needs loss='logistic', not {self.loss!r}")
        return self.model_.predict_proba(self._validated(X, reset=False))

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))


class GDRegressor(RegressorMixin, _GDEstimator):
    """A linear least-squares regressor trained by gdfast.fit (loss "squared", the default and only one);
    parameters as GDClassifier."""

    def _checked_loss(self):
        if self.loss not in (None, "squared"):
            raise ValueError(f"GDRegressor's loss is 'squared', got {self.loss!r}")
        return "squared"

    def fit(self, X, y):
        X, y = self._validated_xy(X, y, reset=True)
        return self._fit(X, y, self._checked_loss())

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing the current model."""
        first = not hasattr(self, "model_")
        X, y = self._validated_xy(X, y, reset=first)
        return self._partial_fit(X, y, self._checked_loss())

    def predict(self, X):
        check_is_fitted(self)
        return self.model_.predict(self._validated(X, reset=False))


# The objects an estimator's parameters may hold, by class name, for its checkpoint.
_PARAMETER_CLASSES = {cls.__name__: cls for cls in (*schedules.SCHEDULES.values(), GradientNoise)}


def _encode_param(value):
    """An estimator parameter as JSON: plain values as they are, a schedule or GradientNoise as its class and
    attributes (its state included)."""
    if isinstance(value, (schedules.Schedule, GradientNoise)):
        return {"__object__": type(value).__name__, "attributes": value._encode()}
    if isinstance(value, dict):
        return {k: _encode_param(v) for k, v in value.items()}
    return value


def _decode_param(value):
    if isinstance(value, dict) and "__object__" in value:
        if value["__object__"] not in _PARAMETER_CLASSES:
            raise ValueError(f"unknown parameter object {value['__object__']!r}")
        return _PARAMETER_CLASSES[value["__object__"]]._decode(value["attributes"])
    if isinstance(value, dict):
        return {k: _decode_param(v) for k, v in value.items()}
    return value


def _trainer_ready(X, y):
    """Whether (X, y) is a chunk the Trainer takes as it is: X a 2-D float32/float64 ndarray or CSR matrix (native
    byte order), y a 1-D ndarray."""
    if type(y) is not np.ndarray or y.ndim != 1:
        return False
    if type(X) is np.ndarray:
        return X.ndim == 2 and X.dtype in _validate.FLOAT_DTYPES
    return _validate.is_sparse(X) and X.format == "csr" and X.dtype in _validate.FLOAT_DTYPES
