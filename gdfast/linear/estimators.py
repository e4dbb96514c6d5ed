"""scikit-learn estimators: GDClassifier and GDRegressor, drop-in replacements for scikit-learn's SGDClassifier
and SGDRegressor (needs scikit-learn).

Their parameters are scikit-learn's, with its names, defaults and meaning, so that
``GDClassifier(**SGDClassifier(...).get_params())`` is the same estimator; gdfast's own sit beside them:
``optimizer`` (any rule of gd.OPTIMIZERS), ``batch_size``, ``n_threads`` (Hogwild! on sparse data),
``schedule``, ``gradient_noise``, ``curriculum``, ``convention``, ``optimizer_params`` and ``progress``.

Two paths compute a fit:

- scikit-learn's SGD (``optimizer="sgd"``, ``batch_size=1``, one thread, no schedule, noise or curriculum: the
  defaults) runs scikit-learn's own algorithm in C (gdfast.linear.plain_sgd): every loss, penalty, learning
  rate, averaging, sample and class weights, one-vs-rest (classes on ``n_jobs`` threads) and the tol and
  early-stopping rules, giving scikit-learn's coef_, intercept_, n_iter_ and t_ to rounding with shuffle=False
  (its shuffling draws other orders).
- any other setting trains by gdfast's :class:`gdfast.Trainer`: the rule ``optimizer`` at ``eta0`` under the
  schedule ``learning_rate`` names (or ``schedule``), mini-batches, threads; one-vs-rest in one pass over the
  data (every class's output at each example), sample x class weights, the L2 penalty, the tol rule as early
  stopping on the training loss; the L1 and elastic-net penalties (cumulative for sgd, momentum and nag, a
  proximal step of the rule's own rate for the adaptive rules) and averaging of any rule. The passive-aggressive
  rates are scikit-learn's SGD's only (a ValueError says so).

gdfast's loss names are aliases of scikit-learn's ("logistic" = "log_loss", "squared" = "squared_error");
"softmax" (the multinomial loss) is gdfast's, on the Trainer path.
"""
import functools
import math
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin, SparseCoefMixin
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit
from sklearn.utils import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _kernels, _validate, checkpoint
from .._validate import COUNT, FRACTION, N_THREADS, NONNEGATIVE, Integer, NoneOr, Options, Real
from ..optim import schedules
from ..optim.optimizers import OPTIMIZER_NAMES
from . import _stream, losses, plain_sgd
from . import trainer as _train
from .model import LinearModel
from .strategies import EarlyStopping, GradientNoise

ALIASES = {ours: theirs for theirs, ours in losses.SKLEARN_NAMES.items()}  # gdfast's name -> scikit-learn's
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive")
CLASSIFICATION_LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron") + REGRESSION_LOSSES
_SPARSE_INTERCEPT_DECAY = 0.01  # scikit-learn's intercept step factor on sparse data


class _Bool(_validate.Constraint):
    """True or False (a NumPy bool too), as scikit-learn's "boolean"."""

    def describe(self, error=TypeError):
        return "a bool"

    def convert(self, value):
        if not isinstance(value, (bool, np.bool_)):
            raise _validate._Refused(TypeError)
        return bool(value)


class _ClassWeight(_validate.Constraint):
    def describe(self, error=TypeError):
        return "None, 'balanced' or a dict class -> weight"

    def convert(self, value):
        if value is None or isinstance(value, dict) or (isinstance(value, str) and value == "balanced"):
            return value
        raise _validate._Refused(TypeError if not isinstance(value, str) else ValueError)


_BOOL = _Bool()
CONSTRAINTS = {
    "penalty": NoneOr(Options("l2", "l1", "elasticnet")), "alpha": NONNEGATIVE, "l1_ratio": NoneOr(Real(0, 1)),
    "fit_intercept": _BOOL, "max_iter": COUNT, "tol": NoneOr(NONNEGATIVE), "shuffle": _BOOL,
    "verbose": _validate.BoolOrInteger(0), "epsilon": NONNEGATIVE, "n_jobs": NoneOr(Integer()), "learning_rate":
    Options(*plain_sgd.LEARNING_RATES), "eta0": Real(0, None, "neither"), "power_t": Real(),
    "early_stopping": _BOOL, "validation_fraction": FRACTION, "n_iter_no_change": COUNT,
    "class_weight": _ClassWeight(), "warm_start": _BOOL, "average": _validate.AVERAGE, "optimizer": OPTIMIZER_NAMES,
    "batch_size": NoneOr(COUNT), "n_threads": N_THREADS,
}


class _GDEstimator(BaseEstimator):
    _losses = ()  # the subclass's losses, scikit-learn's names

    def _checked(self, for_partial_fit=False):
        """The parameters, checked (TypeError/ValueError naming the argument) and converted, before any fitting."""
        values = _validate.check(CONSTRAINTS, {name: getattr(self, name) for name in CONSTRAINTS})
        values["loss"] = self._loss_name()
        if self.early_stopping and for_partial_fit:
            raise ValueError("early_stopping should be False with partial_fit")
        if values["learning_rate"] == "optimal" and values["alpha"] == 0:
            raise ValueError("alpha must be > 0 since learning_rate is 'optimal': the rate is 1 / (alpha (t0 + t))")
        if values["learning_rate"] in ("pa1", "pa2") and values["loss"] != self._pa_loss:
            raise ValueError(f"learning_rate {values['learning_rate']!r} only works with loss {self._pa_loss!r}")
        if values["penalty"] == "elasticnet" and values["l1_ratio"] is None:
            raise ValueError("l1_ratio must be set when penalty is 'elasticnet'")
        return values

    def _loss_name(self):
        """The loss in scikit-learn's name (gdfast's names are aliases; "softmax" is gdfast's own)."""
        loss = ALIASES.get(self.loss, self.loss)
        if loss not in self._losses and not (loss == "softmax" and isinstance(self, ClassifierMixin)):
            names = list(self._losses) + [k for k, v in ALIASES.items() if v in self._losses]
            raise ValueError(f"loss must be one of {names}, got {self.loss!r}")
        return loss

    def _plain(self, X, values):
        """Whether this fit is scikit-learn's SGD (plain_sgd): the rule sgd on single examples, one thread."""
        one_thread = values["n_threads"] == 1 or not sp.issparse(X)
        return (values["optimizer"] == "sgd" and values["batch_size"] == 1 and one_thread and self.schedule is None
                and self.gradient_noise is None and self.curriculum is None and not self.optimizer_params
                and self.convention == "survey" and values["loss"] != "softmax")

    def _sample_weight(self, sample_weight, n):
        """sample_weight checked: None (ones) or n finite numbers >= 0, as float64."""
        if sample_weight is None:
            return np.ones(n)
        weight = np.asarray(sample_weight)
        weight = losses.example_weights(np.full(n, weight) if weight.ndim == 0 else weight, n)  # a scalar: everyone's
        if not self.early_stopping and not weight.any():
            raise ValueError("sample_weight must contain at least one non-zero number")
        return weight

    def _validation_mask(self, y, weight):
        """scikit-learn's held-out share for early stopping (StratifiedShuffleSplit for a classifier)."""
        mask = np.zeros(y.shape[0], bool)
        if not self.early_stopping:
            return mask
        splitter = StratifiedShuffleSplit if isinstance(self, ClassifierMixin) else ShuffleSplit
        train, val = next(splitter(test_size=self.validation_fraction, random_state=self.random_state)
                          .split(np.zeros((y.shape[0], 1)), y))
        if not np.any(weight[val] > 0):
            raise ValueError("The sample weights for validation set are all zero, consider using a different "
                             "random state.")
        if train.shape[0] == 0 or val.shape[0] == 0:
            raise ValueError(f"Splitting {y.shape[0]} samples with validation_fraction={self.validation_fraction} "
                             "led to an empty set; change validation_fraction or disable early_stopping")
        mask[val] = True
        return mask

    def _fit_vector(self, values, X, data, coef, intercept, average_coef, average_intercept, *, max_iter, mask,
                    y_score, weight, weights=(1.0, 1.0), seed=None):
        """One weight vector by scikit-learn's SGD (plain_sgd.fit_one), the validation rows mask held out."""
        train = np.flatnonzero(~mask).astype(np.int64)
        score = None
        if self.early_stopping:
            score = _score_function(isinstance(self, ClassifierMixin), X, np.flatnonzero(mask), y_score, weight)
        decay = _SPARSE_INTERCEPT_DECAY if sp.issparse(X) else 1.0
        return plain_sgd.fit_one(self, values["loss"], data, coef, intercept, average_coef, average_intercept,
                                 t=self.t_, max_iter=max_iter, train=train, score=score, weights=weights,
                                 intercept_decay=decay, rng=np.random.default_rng(seed))

    def _allocate(self, n_outputs, n_features, dtype, coef_init=None, intercept_init=None):
        """coef_ and intercept_ (from coef_init and intercept_init where given) and the averages' arrays, as
        scikit-learn's _allocate_parameter_mem lays them out (a regressor's coef_ is 1-D)."""
        shape = (n_outputs, n_features) if isinstance(self, ClassifierMixin) and n_outputs > 1 else (n_features,)
        self.coef_ = _initial(coef_init, shape, dtype, "coef_init", reshape=len(shape) == 1)
        self.intercept_ = _initial(intercept_init, (max(n_outputs, 1) if len(shape) == 2 else 1,), dtype,
                                   "intercept_init", reshape=len(shape) == 1)
        if self.average > 0:
            self._standard_coef, self._standard_intercept = self.coef_, self.intercept_
            self._average_coef = np.zeros(self.coef_.shape, dtype)
            self._average_intercept = np.zeros(self._standard_intercept.shape, dtype)

    def _warm(self, coef_init, intercept_init):
        """fit's starting point: warm_start continues coef_ and intercept_; otherwise they are cleared."""
        if self.warm_start and getattr(self, "coef_", None) is not None:
            return (self.coef_ if coef_init is None else coef_init,
                    self.intercept_ if intercept_init is None else intercept_init)
        self.coef_ = self.intercept_ = None
        return coef_init, intercept_init

    def _warn_unconverged(self):
        if self.tol is not None and self.n_iter_ == self.max_iter:
            warnings.warn("Maximum number of iteration reached before convergence. Consider increasing max_iter to "
                          "improve the fit.", ConvergenceWarning)

    # --- the Trainer path ------------------------------------------------------------------------------------

    def _trainer_options(self, values, classes=None, init=None):
        """A Trainer for this estimator's settings (the Trainer path)."""
        if values["learning_rate"] in ("pa1", "pa2"):
            raise ValueError(f"learning_rate={values['learning_rate']!r} (passive-aggressive) is scikit-learn's SGD's "
                             "only: use optimizer='sgd', batch_size=1 and one thread (n_threads=1) for it")
        hyper = dict(self.optimizer_params or {}, lr=values["eta0"])
        if self.convention != "survey":
            hyper["convention"] = self.convention
        loss = losses.loss_name(values["loss"])
        return _train.Trainer(
            loss, values["optimizer"], alpha=values["alpha"], penalty=values["penalty"],
            l1_ratio=values["l1_ratio"] if values["l1_ratio"] is not None else 0.15, average=self.average,
            fit_intercept=values["fit_intercept"], schedule=self._schedule(values), shuffle=values["shuffle"],
            gradient_noise=self.gradient_noise, curriculum=self.curriculum, random_state=self.random_state,
            progress=self.progress, classes=classes, init=init, n_threads=values["n_threads"],
            epsilon=values["epsilon"], batch_size=values["batch_size"],
            early_stopping=EarlyStopping(values["n_iter_no_change"], values["tol"] or 0.0, restore_best=False)
            if values["tol"] is not None or values["early_stopping"] else None, **hyper)

    def _schedule(self, values):
        """The schedule learning_rate names (a gdfast schedule given as ``schedule`` takes its place)."""
        if self.schedule is not None:
            return self.schedule
        rate = values["learning_rate"]
        if rate == "optimal":
            return schedules.Optimal(values["alpha"])
        if rate == "invscaling":
            return schedules.InverseTime(1.0, values["power_t"])
        if rate == "adaptive":
            return schedules.Threshold(factor=0.2, patience=values["n_iter_no_change"] - 1,
                                       threshold=values["tol"] or 0.0, min_lr=1e-6)
        return None

    def _trainer_fit(self, values, X, y, weight, classes, epochs, init=None):
        """The Trainer path: a new Trainer (fit), or the kept one while the parameters stay (partial_fit)."""
        trainer, settings = getattr(self, "_gd_trainer", None), self._settings()
        if init is False or trainer is None or settings != self._gd_trainer_settings:
            trainer = self._gd_trainer = self._trainer_options(values, classes,
                                                               None if init is False else self.__dict__.get("model_"))
            self._gd_trainer_settings = settings
        if epochs is None:
            model = trainer.partial_fit(X, y, sample_weight=weight)
        else:
            model = trainer.fit(X, y, epochs, sample_weight=weight,
                                validation_fraction=self.validation_fraction if self.early_stopping else None)
        self.model_ = model
        self.coef_ = model.coef_.copy() if model.coef_.ndim == 1 else np.ascontiguousarray(model.coef_)
        self.intercept_ = model.intercept_.copy()
        self.n_iter_ = len(model.history_) if epochs is not None else 1
        self.t_ = float(model.optimizer_.t + 1)
        return self

    def _settings(self):
        """The parameters as they stand, in the order of __init__."""
        return [getattr(self, name) for name in self._param_names()]

    @classmethod
    @functools.cache
    def _param_names(cls):
        """The names of the parameters, read once per class (scikit-learn reads the signature at every call)."""
        return cls._get_param_names()

    def __getstate__(self):
        """Pickling: the fitted attributes (a model keeps what continuing it needs), not the trainer's buffers."""
        state = super().__getstate__()
        state.pop("_gd_trainer", None)
        state.pop("_gd_trainer_settings", None)
        return state

    # --- serialization: its checkpoint (gdfast.checkpoint); pickling is scikit-learn's -------------------------

    _checkpoint_kind = "estimator"
    _fitted_arrays = ("coef_", "intercept_", "classes_", "_standard_coef", "_standard_intercept",
                      "_average_coef", "_average_intercept", "_expanded_class_weight")

    def _encode(self, prefix=""):
        """(meta, arrays): the class, its parameters (a schedule or gradient noise as its class and attributes),
        its fitted arrays and numbers and, from the Trainer path, its model's encoding (under ``model.``)."""
        meta = {"class": type(self).__name__, "params": {k: _encode_param(v) for k, v in self.get_params().items()},
                "fitted": hasattr(self, "coef_") and self.coef_ is not None, "layout": 2}
        arrays = {}
        if meta["fitted"]:
            meta.update(n_features_in=int(self.n_features_in_), n_iter=self.n_iter_, t=self.t_,
                        model=None, shared=_shared_arrays(self))
            for name in self._fitted_arrays:
                if getattr(self, name, None) is not None:
                    arrays[f"{prefix}est.{name}"] = getattr(self, name)
            if "model_" in self.__dict__:
                meta["model"], model_arrays = self.model_._encode(prefix + "model.")
                arrays.update(model_arrays)
        return meta, arrays

    @classmethod
    def _decode(cls, meta, arrays, prefix=""):
        classes = {c.__name__: c for c in (GDClassifier, GDRegressor)}
        if meta["class"] not in classes:
            raise ValueError(f"unknown estimator {meta['class']!r}")
        params = {k: _decode_param(v) for k, v in meta["params"].items()}
        cls_ = classes[meta["class"]]
        est = cls_(**(params if meta.get("layout") == 2 else _first_version_params(params, cls_)))
        if meta["fitted"] and meta.get("layout") == 2:
            for name in cls._fitted_arrays:
                if f"{prefix}est.{name}" in arrays:
                    setattr(est, name, checkpoint.writeable(arrays[f"{prefix}est.{name}"]))
            for alias, original in meta["shared"].items():
                setattr(est, alias, getattr(est, original))
            est.n_features_in_, est.n_iter_, est.t_ = meta["n_features_in"], meta["n_iter"], meta["t"]
            if meta["model"] is not None:
                est.model_ = LinearModel._decode(meta["model"], arrays, prefix + "model.")
        elif meta["fitted"]:  # the first version's estimator: a model of the Trainer path
            est.model_ = LinearModel._decode(meta["model"], arrays, prefix + "model.")
            est.n_features_in_ = meta["n_features_in"]
            if f"{prefix}est.classes" in arrays:
                est.classes_ = arrays[f"{prefix}est.classes"]
            est.coef_, est.intercept_ = est.model_.coef_, est.model_.intercept_
            est.n_iter_, est.t_ = len(est.model_.history_), float(est.model_.optimizer_.t + 1)
        return est

    def save(self, path):
        """Write the estimator, its parameters and its fitted state to a checkpoint (``gd.load`` reads it)."""
        checkpoint.save(self, path)

    def _validated(self, X, reset):
        return validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32], reset=reset,
                             order="C")

    def _validated_xy(self, X, y, reset):
        """X and y as scikit-learn validates them. A later chunk of a stream that is already what the C loops
        take (a float32/float64 ndarray or CSR matrix and a 1-D ndarray y) has only its width checked here: the
        loops' own checks do the rest at a fraction of the cost (~1.4 ms per call of scikit-learn's)."""
        if not reset and _trainer_ready(X, y):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input.")
            return X, y
        return validate_data(self, X, y, accept_sparse="csr", dtype=[np.float64, np.float32], reset=reset,
                             order="C", y_numeric=isinstance(self, RegressorMixin))

    def _partial_fit_stream(self, source, sample_weight, **first_call):
        """partial_fit over a stream (scikit-learn's out-of-core loop): each chunk one partial_fit, in order,
        its faults named by the chunk."""
        if sample_weight is not None:
            raise ValueError("sample_weight: a stream's chunks carry their own, as (X, y, sample_weight)")
        for index, X, y, weight in _stream.Stream(source).chunks():
            try:
                self.partial_fit(X, y, sample_weight=weight, **first_call)
            except (TypeError, ValueError) as e:
                raise type(e)(f"chunk {index} of X: {e}") from None
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


_PARAMS_DOC = """
    Parameters as scikit-learn's SGDClassifier/SGDRegressor: loss, penalty (l2, l1, elasticnet, None), alpha,
    l1_ratio, fit_intercept, max_iter (epochs), tol (None: no tol rule), shuffle, verbose, epsilon, n_jobs
    (classes of a one-vs-rest fit on threads), random_state, learning_rate (constant, optimal, invscaling,
    adaptive, pa1, pa2), eta0, power_t, early_stopping, validation_fraction, n_iter_no_change, class_weight
    (classifier), warm_start, average. gdfast's: optimizer (a rule of gd.OPTIMIZERS; "sgd" with batch_size=1
    on one thread is scikit-learn's algorithm), batch_size (1: stochastic, b: mini-batches, None: the whole
    set), n_threads (Hogwild! on sparse data), schedule (a gdfast schedule in place of learning_rate's),
    gradient_noise, curriculum, convention (the rule's form: "survey", "torch", "keras", "optax"),
    optimizer_params (the rule's other hyperparameters), progress (a progress bar of epochs).
"""

class GDClassifier(LinearClassifierMixin, SparseCoefMixin, _GDEstimator):
    """A linear classifier trained by stochastic gradient descent: scikit-learn's SGDClassifier, or any of
    gdfast's rules. ``GDClassifier()`` is ``SGDClassifier()`` (loss "hinge", l2 penalty alpha 1e-4, the
    optimal rate, at most 1000 epochs stopped by tol 1e-3) computed by gdfast; more than two classes are
    fitted one-vs-rest (loss "softmax": multinomial, on the Trainer path).

    >>> clf = GDClassifier(loss="log_loss", penalty="elasticnet", average=10).fit(X, y)   # doctest: +SKIP
    >>> clf = GDClassifier(optimizer="adagrad", eta0=0.1, learning_rate="constant").fit(X, y)  # doctest: +SKIP
    """
    _losses = CLASSIFICATION_LOSSES
    _pa_loss = "hinge"

    def __init__(self, loss="hinge", *, penalty="l2", alpha=0.0001, l1_ratio=0.15, fit_intercept=True,
                 max_iter=1000, tol=1e-3, shuffle=True, verbose=0, epsilon=0.1, n_jobs=None, random_state=None,
                 learning_rate="optimal", eta0=0.01, power_t=0.5, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=5, class_weight=None, warm_start=False, average=False, optimizer="sgd",
                 batch_size=1, n_threads=1, schedule=None, gradient_noise=None, curriculum=None,
                 convention="survey", optimizer_params=None, progress=False):
        self.loss, self.penalty, self.alpha, self.l1_ratio = loss, penalty, alpha, l1_ratio
        self.fit_intercept, self.max_iter, self.tol, self.shuffle = fit_intercept, max_iter, tol, shuffle
        self.verbose, self.epsilon, self.n_jobs, self.random_state = verbose, epsilon, n_jobs, random_state
        self.learning_rate, self.eta0, self.power_t = learning_rate, eta0, power_t
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.n_iter_no_change, self.class_weight, self.warm_start = n_iter_no_change, class_weight, warm_start
        self.average, self.optimizer, self.batch_size, self.n_threads = average, optimizer, batch_size, n_threads
        self.schedule, self.gradient_noise, self.curriculum = schedule, gradient_noise, curriculum
        self.convention, self.optimizer_params, self.progress = convention, optimizer_params, progress

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """max_iter epochs (fewer by the tol or early-stopping rule) from zero, or from coef_init and
        intercept_init, or with warm_start from the current coef_ and intercept_."""
        values = self._checked()
        X, y = self._validated_xy(X, y, reset=True)
        check_classification_targets(y)
        classes = np.unique(y)
        self.__dict__.pop("classes_", None)
        self.__dict__.pop("model_", None)
        coef_init, intercept_init = self._warm(coef_init, intercept_init)
        if self.average > 0:
            self._standard_coef, self._standard_intercept = self.coef_, self.intercept_
            self._average_coef = self._average_intercept = None
        self.t_ = 1.0
        self._partial(values, X, y, classes, sample_weight, coef_init, intercept_init, self.max_iter)
        self._warn_unconverged()
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y), continuing the current model; the first call needs ``classes`` (every class
        the stream will hold). X may be a stream of chunks (y None, as gd.fit takes): one partial_fit per chunk,
        in order."""
        if _stream.is_stream(X, y):
            return self._partial_fit_stream(X, sample_weight, classes=classes)
        first = not hasattr(self, "classes_")
        values = self._checked(for_partial_fit=first)
        X, y = self._validated_xy(X, y, reset=first)
        if first:
            check_classification_targets(y)
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(classes)
        elif classes is not None and not np.array_equal(self.classes_, np.unique(classes)):
            raise ValueError(f"`classes={classes!r}` is not the same as on last call to partial_fit, was: "
                             f"{self.classes_!r}")
        return self._partial(values, X, y, classes if first else self.classes_, sample_weight, None, None, None)

    def _partial(self, values, X, y, classes, sample_weight, coef_init, intercept_init, max_iter):
        """A fit (max_iter epochs) or one partial_fit epoch (max_iter None) over checked X, y."""
        if len(classes) < 2:
            raise ValueError(f"The number of classes has to be greater than one; got {len(classes)} class")
        if np.shape(y) != (X.shape[0],):
            raise ValueError(f"y must be 1-D with one target per example ({X.shape[0]}), got shape {np.shape(y)}")
        unknown = np.setdiff1d(np.unique(y), classes)
        if unknown.size:
            raise ValueError(f"y has classes {unknown[:10].tolist()} not among classes {classes.tolist()}")
        self.classes_ = classes
        if isinstance(self.class_weight, dict):
            missing = [c for c in self.class_weight if c not in set(classes.tolist())]
            if missing:
                raise ValueError(f"class_weight names classes {missing} that y does not have ({classes.tolist()})")
        self._expanded_class_weight = compute_class_weight(self.class_weight, classes=classes, y=y)
        weight = self._sample_weight(sample_weight, X.shape[0])
        if not self._plain(X, values):
            per_class = self._expanded_class_weight[np.searchsorted(classes, y)]
            return self._trainer_fit(values, X, y, weight * per_class, classes,
                                     max_iter, init=False if max_iter is not None and coef_init is None else None)
        n_outputs = len(classes) if len(classes) > 2 else 1
        self.t_ = getattr(self, "t_", 1.0)
        if getattr(self, "coef_", None) is None or coef_init is not None:
            self._allocate(n_outputs, X.shape[1], X.dtype, coef_init, intercept_init)
        elif self.coef_.shape[-1] != X.shape[1]:
            raise ValueError(f"Number of features {X.shape[1]} does not match previous data {self.coef_.shape[-1]}.")
        if n_outputs > 1:
            self._one_vs_rest(values, X, y, weight, max_iter or 1)
        else:
            self._binary(values, X, y, weight, max_iter or 1)
        return self

    def _class_problem(self, values, X, features, y, weight, i, max_iter, mask=None, seed=None, weights=(1.0, 1.0)):
        """Class i against the rest by scikit-learn's SGD, in place in the coefficient arrays (features: X as
        losses.features checked it, once for every class); returns (intercept, average intercept, epochs)."""
        y_i = np.where(y == self.classes_[i], 1.0, -1.0).astype(X.dtype)
        binary = len(self.classes_) == 2
        row = (lambda a: a.ravel()) if binary else (lambda a: a[i])
        k = 0 if binary else i
        coef = row(self._standard_coef if self.average else self.coef_)
        intercept = (self._standard_intercept if self.average else self.intercept_)[k]
        average_coef = row(self._average_coef) if self.average else None
        average_intercept = self._average_intercept[k] if self.average else 0.0
        if mask is None:
            mask = self._validation_mask(y_i, weight)
        y_score = (y_i > 0).astype(X.dtype) if values["loss"] == "log_loss" else y_i  # scikit-learn's 0/1 labels
        arrays, n, d, _ = features
        out = self._fit_vector(values, X, losses.data(arrays, y_i, n, d, _weights_read(weight)), coef, intercept,
                               average_coef, average_intercept, max_iter=max_iter, mask=mask, y_score=y_score,
                               weight=weight, weights=weights, seed=seed)
        if self.average:
            self._average_intercept[k] = out[1]
        return out

    def _binary(self, values, X, y, weight, max_iter):
        cw = self._expanded_class_weight
        intercept, _, n_iter = self._class_problem(values, X, losses.features(X), y, weight, 1, max_iter,
                                                   weights=(cw[1], cw[0]), seed=_seed(self.random_state))
        self.t_ += n_iter * X.shape[0]
        self.n_iter_ = n_iter
        if self.average > 0 and self.average <= self.t_ - 1:
            self.coef_, self.intercept_ = self._average_coef.reshape(1, -1), self._average_intercept
        elif self.average > 0:
            self.coef_ = self._standard_coef.reshape(1, -1)
            self._standard_intercept = self.intercept_ = np.atleast_1d(intercept)
        else:
            self.coef_, self.intercept_ = self.coef_.reshape(1, -1), np.atleast_1d(intercept)

    def _one_vs_rest(self, values, X, y, weight, max_iter):
        """Each class against the rest (scikit-learn's one-vs-rest, its split shared), on n_jobs threads: the C
        loop releases the GIL and each class writes its own row."""
        mask = self._validation_mask(y, weight)
        seeds = np.random.default_rng(_seed(self.random_state)).integers(2**31 - 1, size=len(self.classes_))
        cw = self._expanded_class_weight
        jobs = [(i, dict(mask=mask, seed=int(seeds[i]), weights=(cw[i], 1.0))) for i in range(len(self.classes_))]
        features = losses.features(X)
        with ThreadPoolExecutor(_jobs(self.n_jobs, len(jobs))) as pool:
            results = list(pool.map(lambda job: self._class_problem(values, X, features, y, weight, job[0],
                                                                    max_iter, **job[1]), jobs))
        for i, (intercept, _, _) in enumerate(results):
            self.intercept_[i] = intercept
        n_iter = max(r[2] for r in results)
        self.t_ += n_iter * X.shape[0]
        self.n_iter_ = n_iter
        if self.average > 0 and self.average <= self.t_ - 1.0:
            self.coef_, self.intercept_ = self._average_coef, self._average_intercept
        elif self.average > 0:
            self.coef_ = self._standard_coef
            self._standard_intercept = self.intercept_ = np.atleast_1d(self.intercept_)

    def _has_probabilities(self):
        if self._loss_name() not in ("log_loss", "modified_huber", "softmax"):
            raise AttributeError(f"probability estimates are not available for loss={self.loss!r}")
        return True

    @available_if(_has_probabilities)
    def predict_proba(self, X):
        """Class probabilities: loss log_loss (one-vs-rest: each class's logistic probability, normalized),
        modified_huber ((clip(z, -1, 1) + 1) / 2, normalized; all zero: uniform) or softmax, as scikit-learn."""
        check_is_fitted(self)
        loss = self._loss_name()
        if loss == "softmax":
            return self.model_.predict_proba(self._validated(X, reset=False))
        if loss == "log_loss":
            return self._predict_proba_lr(X)
        scores = self.decision_function(X)
        prob = (np.clip(scores, -1, 1) + 1.0) / 2.0
        if prob.ndim == 1:
            return np.column_stack([1 - prob, prob])
        total = prob.sum(axis=1)
        prob[total == 0] = 1
        total[total == 0] = len(self.classes_)
        return prob / total[:, None]

    @available_if(_has_probabilities)
    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def decision_function(self, X):
        check_is_fitted(self)
        X = self._validated(X, reset=False)
        return super().decision_function(X)


class GDRegressor(RegressorMixin, SparseCoefMixin, _GDEstimator):
    """A linear regressor trained by stochastic gradient descent: scikit-learn's SGDRegressor (loss
    "squared_error", l2 penalty alpha 1e-4, invscaling rate eta0 / t^0.25, tol 1e-3), or any of gdfast's
    rules."""
    _losses = REGRESSION_LOSSES
    _pa_loss = "epsilon_insensitive"

    def __init__(self, loss="squared_error", *, penalty="l2", alpha=0.0001, l1_ratio=0.15, fit_intercept=True,
                 max_iter=1000, tol=1e-3, shuffle=True, verbose=0, epsilon=0.1, random_state=None,
                 learning_rate="invscaling", eta0=0.01, power_t=0.25, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=5, warm_start=False, average=False, optimizer="sgd",
                 batch_size=1, n_threads=1, schedule=None, gradient_noise=None, curriculum=None,
                 convention="survey", optimizer_params=None, progress=False):
        self.loss, self.penalty, self.alpha, self.l1_ratio = loss, penalty, alpha, l1_ratio
        self.fit_intercept, self.max_iter, self.tol, self.shuffle = fit_intercept, max_iter, tol, shuffle
        self.verbose, self.epsilon, self.random_state = verbose, epsilon, random_state
        self.learning_rate, self.eta0, self.power_t = learning_rate, eta0, power_t
        self.early_stopping, self.validation_fraction = early_stopping, validation_fraction
        self.n_iter_no_change, self.warm_start, self.average = n_iter_no_change, warm_start, average
        self.optimizer, self.batch_size, self.n_threads = optimizer, batch_size, n_threads
        self.schedule, self.gradient_noise, self.curriculum = schedule, gradient_noise, curriculum
        self.convention, self.optimizer_params, self.progress = convention, optimizer_params, progress

    n_jobs = None  # CONSTRAINTS lists it; a regressor has one weight vector
    class_weight = None

    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        values = self._checked()
        X, y = self._validated_xy(X, y, reset=True)
        self.__dict__.pop("model_", None)
        coef_init, intercept_init = self._warm(coef_init, intercept_init)
        self.t_ = 1.0
        self._partial(values, X, y, sample_weight, coef_init, intercept_init, self.max_iter)
        self._warn_unconverged()
        return self

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the current model. X may be a stream of chunks (y None, as gd.fit
        takes): one partial_fit per chunk, in order."""
        if _stream.is_stream(X, y):
            return self._partial_fit_stream(X, sample_weight)
        first = getattr(self, "coef_", None) is None
        values = self._checked(for_partial_fit=first)
        X, y = self._validated_xy(X, y, reset=first)
        return self._partial(values, X, y, sample_weight, None, None, None)

    def _partial(self, values, X, y, sample_weight, coef_init, intercept_init, max_iter):
        y, _, _ = losses.targets("squared", y, X.shape[0], X.dtype)  # one finite number per example
        weight = self._sample_weight(sample_weight, X.shape[0])
        if not self._plain(X, values):
            return self._trainer_fit(values, X, y, weight, None, max_iter,
                                     init=False if max_iter is not None and coef_init is None else None)
        if getattr(self, "coef_", None) is None:
            self._allocate(1, X.shape[1], X.dtype, coef_init, intercept_init)
        if self.average > 0 and getattr(self, "_average_coef", None) is None:
            self._average_coef = np.zeros(X.shape[1], X.dtype)
            self._average_intercept = np.zeros(1, X.dtype)
        self.t_ = getattr(self, "t_", 1.0)
        average = self.average > 0
        coef = self._standard_coef if average else self.coef_
        intercept = self._standard_intercept if average else self.intercept_
        arrays, n, d, _ = losses.features(X)
        mask = self._validation_mask(y, weight)
        intercept, average_intercept, self.n_iter_ = self._fit_vector(
            values, X, losses.data(arrays, y, n, d, _weights_read(weight)), coef, intercept[0],
            self._average_coef if average else None, self._average_intercept[0] if average else 0.0,
            max_iter=max_iter or 1, mask=mask, y_score=y, weight=weight, seed=_seed(self.random_state))
        self.t_ += self.n_iter_ * X.shape[0]
        if average:
            self._average_intercept = np.atleast_1d(average_intercept)
            self._standard_intercept = np.atleast_1d(intercept)
            use_average = self.average <= self.t_ - 1.0
            self.coef_ = self._average_coef if use_average else coef
            self.intercept_ = np.atleast_1d(average_intercept if use_average else intercept)
        else:
            self.intercept_ = np.atleast_1d(intercept)
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = self._validated(X, reset=False)
        return np.asarray(X @ self.coef_.astype(X.dtype, copy=False)).ravel() + self.intercept_


GDClassifier.__doc__ += _PARAMS_DOC
GDRegressor.__doc__ += _PARAMS_DOC


def _initial(init, shape, dtype, name, reshape):
    """A starting array of shape (zeros without init), of the data's dtype: a copy (scikit-learn trains in the
    caller's coef_init array itself; gdfast leaves it as it was)."""
    if init is None:
        return np.zeros(shape, dtype)
    out = np.array(init, dtype=dtype, order="C")
    if reshape:
        out = out.reshape(-1)
    if out.shape != shape and not (name == "intercept_init" and out.shape == () and shape == (1,)):
        raise ValueError(f"{name} must have shape {shape}, got {out.shape}")
    return out.reshape(shape)


def _weights_read(weight):
    """The weights the C loop reads: none where all are 1 (the same numbers; a load per example saved)."""
    return None if weight.min() == 1.0 == weight.max() else weight


_SCORE_BLOCK_BYTES = 2 ** 20  # validation rows are scored in blocks of about this size: small beside X


def _score_function(classifier, X, rows, y, weight):
    """Early stopping's validation score of (V, b) on X's rows ``rows`` as scikit-learn computes it: weighted
    accuracy of the signs (labels -1/+1 against y as given) or R^2. The rows are gathered a block of about
    _SCORE_BLOCK_BYTES at a time, so the validation set is never copied whole."""
    y_val, w_val = y[rows], weight[rows]
    row_bytes = (X.nnz / max(X.shape[0], 1) * 12 if sp.issparse(X) else X.shape[1] * X.itemsize) + 1
    block = max(1, int(_SCORE_BLOCK_BYTES // row_bytes))

    def score(coef, intercept):
        z = np.concatenate([np.asarray(X[rows[i:i + block]] @ coef).ravel()
                            for i in range(0, len(rows), block)]) + intercept
        if classifier:
            return float(np.average(np.where(z > 0, 1.0, -1.0) == y_val, weights=w_val))
        mean = np.average(y_val, weights=w_val)
        return 1 - float(np.sum(w_val * (y_val - z) ** 2) / np.sum(w_val * (y_val - mean) ** 2))
    return score


def _seed(random_state):
    """A seed for the shuffling generator from random_state (None: fresh entropy)."""
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(2**31 - 1))
    return random_state


def _jobs(n_jobs, n_classes):
    """Threads for a one-vs-rest fit: n_jobs as joblib reads it (None: 1, -1: every core)."""
    cores = _kernels.get_num_threads()
    n = 1 if n_jobs is None else cores + 1 + n_jobs if n_jobs < 0 else n_jobs
    return max(1, min(n, n_classes))


def _shared_arrays(est):
    """Fitted attributes that are the same array as another (scikit-learn's averaging aliases them), so that a
    checkpoint read back aliases them too: alias -> original."""
    names = [n for n in _GDEstimator._fitted_arrays if getattr(est, n, None) is not None]
    shared = {}
    for i, name in enumerate(names):
        for original in names[:i]:
            if getattr(est, name) is getattr(est, original) and original not in shared:
                shared[name] = original
                break
    return shared


def _first_version_params(params, cls):
    """The parameters of a first-version estimator's checkpoint in today's names (lr became eta0; its rule ran at
    a constant rate with no tol rule; loss None meant logistic or squared)."""
    params = dict(params)
    params["eta0"] = params.pop("lr")
    params.setdefault("learning_rate", "constant")
    params.setdefault("tol", None)
    if params.get("loss") is None:
        params["loss"] = "log_loss" if cls is GDClassifier else "squared_error"
    return params


# The objects an estimator's parameters may hold, by class name, for its checkpoint.
_PARAMETER_CLASSES = {cls.__name__: cls for cls in (*schedules.SCHEDULES.values(), GradientNoise)}


def _encode_param(value):
    """An estimator parameter as JSON: plain values as they are, a schedule or GradientNoise as its class and
    attributes (its state included)."""
    if isinstance(value, (schedules.Schedule, GradientNoise)):
        return {"__object__": type(value).__name__, "attributes": value._encode()}
    if isinstance(value, dict):
        return {str(k): _encode_param(v) for k, v in value.items()}
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
    """Whether (X, y) is a chunk the C loops take as it is: X a 2-D float32/float64 C-contiguous ndarray or CSR
    matrix (native byte order), y a 1-D ndarray."""
    if type(y) is not np.ndarray or y.ndim != 1:
        return False
    if type(X) is np.ndarray:
        return X.ndim == 2 and X.dtype in _validate.FLOAT_DTYPES and X.flags.c_contiguous
    return _validate.is_sparse(X) and X.format == "csr" and X.dtype in _validate.FLOAT_DTYPES
