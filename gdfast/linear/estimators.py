"""scikit-learn estimators over gdfast.fit: GDClassifier and GDRegressor (needs scikit-learn).

They follow scikit-learn's conventions where they differ from gdfast.fit's: X is validated and converted as
scikit-learn does (to float64, or kept float32; dense or CSR), ``max_iter`` counts epochs, and the penalty
defaults to ``alpha=1e-4``. A two-class GDClassifier uses its ``loss`` ("logistic" or "hinge"); with more
classes the logistic loss becomes the multinomial one ("softmax").
"""
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _validate
from .._validate import COUNT, FRACTION, Integer, NoneOr
from . import trainer as _train
from .strategies import EarlyStopping


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

    def _fit(self, X, y, loss, epochs, classes=None, init=None):
        _validate.check(self._constraints, {name: getattr(self, name) for name in self._constraints})
        hyper = dict(self.optimizer_params or {})
        if self.lr is not None:
            hyper["lr"] = self.lr
        early = self.early_stopping and init is None
        model = _train.fit(
            loss, X, y, self.optimizer, batch_size=None if self.batch_size is None else min(self.batch_size, len(y)),
            epochs=epochs, alpha=self.alpha, fit_intercept=self.fit_intercept, schedule=self.schedule,
            shuffle=self.shuffle, gradient_noise=self.gradient_noise, random_state=self.random_state,
            progress=self.progress, classes=classes, init=init, n_threads=self.n_threads,
            early_stopping=EarlyStopping(self.n_iter_no_change) if early else None,
            validation_fraction=self.validation_fraction if early else None, **hyper)
        self.model_ = model
        self.coef_, self.intercept_ = model.coef_, model.intercept_
        self.n_iter_ = len(model.history_)
        return self

    def save(self, path):
        """Write the estimator, its parameters and its fitted model to a checkpoint (``gd.load`` reads it)."""
        from ..checkpoint import save
        save(self, path)

    def _validated(self, X, reset):
        return validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=reset)

    def _validated_xy(self, X, y, reset):
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
        return self._fit(X, y, self._loss(len(self.classes_)), self.max_iter, classes=self.classes_)

    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing the current model; the first call needs ``classes``."""
        first = not hasattr(self, "model_")
        X, y = self._validated_xy(X, y, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("the first partial_fit needs classes= (every class the stream will hold)")
            self.classes_ = np.unique(classes)
        return self._fit(X, y, self._loss(len(self.classes_)), 1, classes=self.classes_,
                         init=None if first else self.model_)

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
        return self._fit(X, y, self._checked_loss(), self.max_iter)

    def partial_fit(self, X, y):
        """One epoch over (X, y), continuing the current model."""
        first = not hasattr(self, "model_")
        X, y = self._validated_xy(X, y, reset=first)
        return self._fit(X, y, self._checked_loss(), 1, init=None if first else self.model_)

    def predict(self, X):
        check_is_fitted(self)
        return self.model_.predict(self._validated(X, reset=False))
