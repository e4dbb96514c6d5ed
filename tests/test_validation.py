"""The one validator of scalars and counts (gdfast._validate) and its use by every public entry point.

The mechanism: Real, Integer, Options and NoneOr constraints, ``check(table, values)``. The error table: every
public callable that takes a number, each numeric argument given a str, a bool and a value out of its range,
each refused with the right error naming the argument, what it must be and the value got. A last test walks the
public API (tests/golden/public_api.json and the live modules) and fails where a numeric parameter has no row.
"""
import ast
import importlib
import importlib.util
import inspect
import json
import math
import numbers
import os
import pkgutil
import re

import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from gdfast import _validate, nn, viz
from gdfast._validate import Integer, NoneOr, Options, Real, check

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


# ------------------------------------------------------------------------------------------- the mechanism


@pytest.mark.parametrize("constraint, value, expected", [
    (Real(0, 1), 1, 1.0), (Real(0, 1), np.float32(0.5), 0.5), (Real(0, 1), np.int64(0), 0.0),
    (Real(None, None), -1e300, -1e300), (Real(0, math.inf), math.inf, math.inf),
    (Integer(1), np.int32(3), 3), (Integer(0, 5), 5, 5), (Options("a", "b"), np.str_("b"), "b"),
    (NoneOr(Integer(1)), None, None), (NoneOr(Real(0, 1)), 0.25, 0.25),
])
def test_accepted_values_come_back_converted(constraint, value, expected):
    got = constraint.checked("x", value)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("constraint, value, error, message", [
    (Real(0, 1), "0.5", TypeError, "x must be a real number in [0, 1], got '0.5' (str)"),
    (Real(0, 1), True, TypeError, "x must be a real number in [0, 1], got True (bool)"),
    (Real(0, 1), np.bool_(False), TypeError, "x must be a real number in [0, 1], got np.False_ (bool)"),
    (Real(0, 1), np.array(0.5), TypeError, "x must be a real number in [0, 1], got array(0.5) (ndarray)"),
    (Real(0, 1, "left"), 1.0, ValueError, "x must be finite and in [0, 1), got 1.0"),
    (Real(0, None, "neither"), 0, ValueError, "x must be finite and in (0, inf), got 0"),
    (Real(0, None), math.inf, ValueError, "x must be finite and in [0, inf), got inf"),
    (Real(None, None), -math.inf, ValueError, "x must be finite and in (-inf, inf), got -inf"),
    (Real(0, math.inf), math.nan, ValueError, "x must be in [0, inf], got nan"),
    (Real(0, 1), 10 ** 400, ValueError, "x must be finite and in [0, 1], got 1000"),
    (Integer(1), 2.0, TypeError, "x must be an int >= 1, got 2.0 (float)"),
    (Integer(1), "2", TypeError, "x must be an int >= 1, got '2' (str)"),
    (Integer(1), False, TypeError, "x must be an int >= 1, got False (bool)"),
    (Integer(1), 0, ValueError, "x must be an int >= 1, got 0"),
    (Integer(1, 4), np.int64(5), ValueError, "x must be an int in [1, 4], got np.int64(5)"),
    (Integer(None, 4), 5, ValueError, "x must be an int <= 4, got 5"),
    (Options("a", "b"), "c", ValueError, "x must be 'a' or 'b', got 'c'"),
    (Options("a", "b", "c"), 1, ValueError, "x must be one of ['a', 'b', 'c'], got 1"),
    (Options("a", "b"), np.array(["a"]), ValueError, "x must be 'a' or 'b', got array(['a'], dtype='<U1')"),
    (NoneOr(Integer(1)), 0, ValueError, "x must be None or an int >= 1, got 0"),
    (NoneOr(Real(0, 1)), "1", TypeError, "x must be None or a real number in [0, 1], got '1' (str)"),
])
def test_refused_values_name_the_argument_the_constraint_and_the_value(constraint, value, error, message):
    with pytest.raises(error) as info:
        constraint.checked("x", value)
    assert str(info.value).startswith(message)


def test_a_long_value_is_shown_shortened_on_one_line():
    with pytest.raises(TypeError) as info:
        Integer(1).checked("x", np.arange(1000.0))
    assert "\n" not in str(info.value) and len(str(info.value)) < 140 and str(info.value).endswith("(ndarray)")


def test_check_converts_a_table_of_values_in_their_order():
    table = {"a": Integer(0), "b": Real(0, 1), "c": NoneOr(Real(0, None))}
    assert list(check(table, {"c": None, "a": np.int8(2)}).items()) == [("c", None), ("a", 2)]
    with pytest.raises(ValueError, match=r"^options\['b'\] must be finite and in \[0, 1\], got 2$"):
        check(table, {"a": 1, "b": 2}, label="options[{!r}]")


def test_n_threads_none_is_the_thread_count():
    assert _validate.N_THREADS.checked("n_threads", None) == min(gd.get_num_threads(), gd._kernels.MAX_THREADS)
    assert _validate.N_THREADS.checked("n_threads", np.int16(2)) == 2


def test_validate_imports_nothing_of_gdfast_but_the_kernels():
    """_validate is the bottom of the import graph: every module may use it."""
    tree = ast.parse(inspect.getsource(_validate))
    relative = [alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
                for alias in node.names]
    absolute = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert relative == ["_kernels"] and not any(name.startswith("gdfast") for name in absolute)


def test_numpy_scalars_are_numbers_at_the_entry_points():
    X, y = _classification()
    model = gd.fit("logistic", X, y, "adam", epochs=np.int64(2), batch_size=np.int32(5), lr=np.float32(0.1),
                   alpha=np.float64(0.0), progress=False)
    assert len(model.history_) == 2
    assert type(gd.schedules.StepDecay(every=np.int32(2)).every) is int
    assert type(gd.GradientNoise(eta=np.float16(0.5)).eta) is float
    assert gd.EarlyStopping(patience=np.uint8(3)).patience == 3


def test_valid_values_keep_their_results():
    """A numpy count and its int, a float and its numpy float: the same fit, bit for bit."""
    X, y = _classification()
    a = gd.fit("logistic", X, y, "adagrad", epochs=2, batch_size=4, lr=0.1, progress=False, random_state=0)
    b = gd.fit("logistic", X, y, "adagrad", epochs=np.int64(2), batch_size=np.int64(4), lr=np.float64(0.1),
               progress=False, random_state=0)
    np.testing.assert_array_equal(a.coef_, b.coef_)


# ------------------------------------------------------------------------------------------- the error table


def _classification(n=30, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    return X, (X[:, 0] > 0).astype(int)


def _sparse_problem():
    X, y = _classification(n=40, d=6)
    X[np.abs(X) < 0.5] = 0.0
    return sp.csr_matrix(X), y


def _ratings():
    return sp.csr_matrix(np.array([[5.0, 0.0, 3.0], [0.0, 4.0, 1.0]]))


def _convention(rule, names, kernel=False):
    """A convention whose form has every one of these hyperparameters (for a functional kernel: one it runs)."""
    return next(c for c in gd.CONVENTIONS if set(names) <= set(rule.forms[c].defaults)
                and not (kernel and rule.forms[c].schedule))


def _optimizer(rule):
    def call(**kw):
        hyper = [k for k in kw if k not in ("clip_norm", "clip_value", "weight_decay")]  # options of every convention
        return gd.OPTIMIZERS[rule.name]([np.zeros(3)], convention=_convention(rule, hyper), **kw)
    return call


def _kernel(rule):
    def call(**kw):
        hyper = {k: v for k, v in kw.items() if k != "t"}
        convention = _convention(rule, hyper, kernel=True)
        return getattr(gd.kernels, rule.name)(np.zeros(3), np.ones(3), *(np.zeros(3) for _ in rule.slots),
                                              t=kw.get("t", 1), convention=convention, **hyper)
    return call


def _history():
    return [{"epoch": 1, "train_loss": 1.0, "val_loss": None}, {"epoch": 2, "train_loss": 0.5, "val_loss": None}]


def _mlp_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((12, 4)), rng.integers(0, 3, 12)


def _quad(x):
    return float(x @ x), 2 * x


SMALL_SVM = os.path.join(os.path.dirname(__file__), "data", "small.svm")

# Each public callable with its other arguments valid (and small): CALLS[key](**{argument: value}).
CALLS = {
    "gdfast.fit": lambda **kw: gd.fit("logistic", *_classification(), progress=False, **kw),
    "gdfast.Trainer": lambda **kw: gd.Trainer("logistic", progress=False, **kw).fit(*_classification()),
    "gdfast.Trainer.fit": lambda **kw: gd.Trainer("logistic", progress=False).fit(*_classification(), **kw),
    "gdfast.minimize": lambda **kw: gd.minimize(_quad, np.ones(2), jac=True, options=kw),
    "gdfast.set_num_threads": lambda **kw: gd.set_num_threads(**kw),
    "gdfast.GradientNoise": gd.GradientNoise,
    "gdfast.Curriculum": gd.Curriculum,
    "gdfast.EarlyStopping": gd.EarlyStopping,
    "gdfast.GDClassifier": lambda **kw: gd.GDClassifier(**kw).fit(*_classification()),
    "losses.loss_gradient": lambda **kw: gd.losses.loss_gradient("huber", np.zeros((2, 1)), np.zeros(2),
                                                                 np.zeros((1, 1)), np.zeros(1), **kw),
    "gdfast.GDRegressor": lambda **kw: gd.GDRegressor(**kw).fit(_classification()[0], _classification()[0][:, 1]),
    **{f"schedules.{name}": getattr(gd.schedules, name)
       for name in ("StepDecay", "Exponential", "InverseTime", "Optimal", "Cosine", "Threshold")},
    "hogwild.factorize": lambda **kw: gd.hogwild.factorize(_ratings(), **{"rank": 2, "progress": False, **kw}),
    "distributed.downpour": lambda **kw: gd.distributed.downpour("logistic", *_sparse_problem(), **kw),
    "distributed.delay_tolerant_adagrad": lambda **kw: gd.distributed.delay_tolerant_adagrad(
        "logistic", *_sparse_problem(), **kw),
    "distributed.easgd": lambda **kw: gd.distributed.easgd("logistic", *_sparse_problem(), **kw),
    "distributed.ParameterServer": lambda **kw: gd.distributed.ParameterServer(np.zeros(10), **kw),
    "distributed.AdaptiveRevision": lambda **kw: gd.distributed.AdaptiveRevision(np.zeros(3), **kw),
    "distributed.RayBackend": gd.distributed.RayBackend,
    "nn.Dense": lambda **kw: nn.Dense(**{"n_in": 2, "n_out": 2, "rng": np.random.default_rng(0), **kw}),
    "nn.BatchNorm": lambda **kw: nn.BatchNorm(**{"n": 3, **kw}),
    "nn.MLP": lambda **kw: nn.MLP(**{"sizes": [4, 5, 3], **kw}),
    "nn.train_mlp": lambda **kw: nn.train_mlp(nn.MLP([4, 5, 3]), *_mlp_data(), **{"batch_size": 4, **kw}),
    "nn.batchnorm_comparison": lambda **kw: nn.batchnorm_comparison(**{"lrs": (0.1,), "epochs": 1, **kw}),
    "nn.load_digits_split": nn.load_digits_split,
    "viz.trajectories": lambda **kw: viz.trajectories("beale", **kw),
    "viz.plot_contours": lambda **kw: viz.plot_contours("beale", path="beale.png", **kw),
    "viz.animate": lambda **kw: viz.animate("beale", path="beale.gif", **kw),
    "viz.plot_command": lambda **kw: viz.plot_command("beale", **kw),
    "viz.plot_history": lambda **kw: viz.plot_history(_history(), "history.png", **kw),
    "viz.plot_schedule": lambda **kw: viz.plot_schedule(None, path="schedule.png", **{"eta0": 0.1, "epochs": 2, **kw}),
    "data.svmlight": lambda **kw: gd.data.svmlight(SMALL_SVM, **{"n_features": 5, **kw}),
    "data.SvmlightSource": lambda **kw: gd.data.SvmlightSource(SMALL_SVM, **{"n_features": 5, **kw}),
    "datasets.make_classification": lambda **kw: gd.datasets.make_classification(
        **{"n_rows": 20, "n_features": 50, "mean_nnz": 3, **kw}),
    "datasets.power_law_features": lambda **kw: gd.datasets.power_law_features(
        np.random.default_rng(0), **{"n_features": 10, "size": 5, "exponent": 1.2, **kw}),
    **{f"gdfast.{rule.class_name}": _optimizer(rule) for rule in gd.RULES.values()},
    "gdfast.AdamW": lambda **kw: gd.AdamW([np.zeros(3)], **kw),
    **{f"kernels.{rule.name}": _kernel(rule) for rule in gd.RULES.values()},
}

# A value out of range of each hyperparameter.
OUT_OF_RANGE = {"lr": -1.0, "gamma": 1.0, "beta1": 1.0, "beta2": -0.5, "eps": 0.0, "momentum_decay": -1.0,
                "initial_accumulator_value": -1.0, "beta": -1.0, "lambda1": -0.1, "lambda2": -1e-3}

# {callable: {numeric argument: a value out of its range}}. Each argument gets three rows: a str, a bool, and
# this value.
ARGUMENTS = {
    "gdfast.fit": {"batch_size": 0, "epochs": 0, "alpha": -1.0, "intercept_scale": -0.5, "validation_fraction": 1.0,
                   "n_threads": 0, "lr": -1.0, "epsilon": -0.1, "l1_ratio": 1.5, "shuffle_buffer": 0,
                   "holdout_period": 1},
    "gdfast.Trainer": {"batch_size": 0, "alpha": -1.0, "intercept_scale": -0.5, "n_threads": 0, "lr": -1.0,
                       "epsilon": -0.1, "l1_ratio": -0.5, "shuffle_buffer": -1, "holdout_period": 0},
    "data.svmlight": {"n_features": 0, "chunk_rows": 0},
    "data.SvmlightSource": {"n_features": 2**31, "chunk_rows": -4},
    "gdfast.Trainer.fit": {"epochs": 0, "validation_fraction": 1.0},
    "gdfast.minimize": {"maxiter": -1, "gtol": -1e-6, "ftol": math.nan, "xtol": -1.0, "lr": -1.0},
    "gdfast.set_num_threads": {"n": 0},
    "gdfast.GradientNoise": {"eta": -0.3, "gamma": math.inf},
    "gdfast.Curriculum": {"mix": 1.5},
    "gdfast.EarlyStopping": {"patience": -1, "min_delta": -1.0},
    "gdfast.GDClassifier": {"eta0": 0.0, "alpha": -1.0, "l1_ratio": 1.5, "tol": -1e-3, "epsilon": -0.1,
                            "power_t": math.inf, "batch_size": 0, "max_iter": 0, "validation_fraction": 0.0,
                            "n_iter_no_change": 0, "n_threads": 0},
    "schedules.StepDecay": {"factor": 0.0, "every": 0},
    "schedules.Exponential": {"decay": 1.5},
    "schedules.InverseTime": {"k": -1.0, "power": math.nan},
    "schedules.Optimal": {"alpha": 0.0},
    "schedules.Cosine": {"period": 0, "eta_min": -1.0},
    "schedules.Threshold": {"factor": 1.0, "patience": -1, "threshold": -1e-4, "cooldown": -1, "min_lr": -1.0},
    "hogwild.factorize": {"rank": 0, "epochs": 0, "mu": -0.05, "n_threads": 0, "init_scale": -0.1, "lr": -1.0},
    "distributed.downpour": {"n_replicas": 0, "n_shards": 0, "n_fetch": 0, "n_push": 0, "batch_size": 0,
                             "epochs": 0, "local_lr": -0.01, "warm_start": -1, "delay": -1, "lr": -1.0,
                             "n_features": 0},
    "distributed.delay_tolerant_adagrad": {"lr": 0.0, "z0": 0.0, "n_replicas": 0, "n_shards": 0, "batch_size": 0,
                                           "epochs": 0, "delay": -1, "n_features": 2**31},
    "distributed.easgd": {"n_replicas": 0, "tau": 0, "lr": -0.01, "alpha": 1.5, "momentum": 1.0, "batch_size": 0,
                          "epochs": 0, "n_features": -1},
    "distributed.ParameterServer": {"n_shards": 11, "lr": -1.0},
    "distributed.AdaptiveRevision": {"lr": 0.0, "z0": -1.0},
    "distributed.RayBackend": {"checkpoint_every": 0, "max_restarts": -1, "cpus_per_replica": -1.0},
    "nn.Dense": {"n_in": 0, "n_out": -2},
    "nn.BatchNorm": {"n": 0, "momentum": 1.5, "eps": 0.0},
    "nn.MLP": {"momentum": -0.1, "eps": 0.0},
    "nn.train_mlp": {"lr": -1.0, "epochs": 0, "batch_size": 0},
    "nn.batchnorm_comparison": {"epochs": 0, "batch_size": 0},
    "nn.load_digits_split": {"test_fraction": 1.0},
    "viz.trajectories": {"steps": 0, "lr": -1.0},
    "viz.plot_contours": {"steps": 0, "dpi": 0, "lr": -1.0},
    "viz.animate": {"steps": 0, "frames": 0, "fps": -15, "dpi": 0, "lr": -1.0},
    "viz.plot_command": {"steps": 0},
    "viz.plot_history": {"dpi": -90},
    "viz.plot_schedule": {"eta0": -0.1, "epochs": 0, "steps_per_epoch": 0, "dpi": 0},
    "datasets.make_classification": {"n_rows": 0, "n_features": 0, "mean_nnz": 0.5, "exponent": -1.0},
    "datasets.power_law_features": {"n_features": 0, "size": -1, "exponent": -1.0},
    **{f"gdfast.{rule.class_name}": {**{name: OUT_OF_RANGE[name] for name in rule.hyperparameter_names},
                                     "clip_norm": 0.0, "clip_value": -1.0, "weight_decay": -1.0}
       for rule in gd.RULES.values()},
    "gdfast.AdamW": {"lr": -1.0, "beta1": 1.0, "beta2": 1.0, "eps": 0.0, "clip_norm": 0.0, "clip_value": -1.0,
                     "weight_decay": -1.0},
    **{f"kernels.{rule.name}": {"t": 0, **{name: OUT_OF_RANGE[name] for name in rule.defaults}}
       for rule in gd.RULES.values()},
}
ARGUMENTS["gdfast.GDRegressor"] = ARGUMENTS["gdfast.GDClassifier"]

# How an error names an argument where it is not the argument's own name.
LABELS = {("gdfast.minimize", name): f"options[{name!r}]" for name in ("maxiter", "gtol", "ftol", "xtol")}


def _rows():
    """(callable, argument, bad value, error, match): a str, a bool and the out-of-range value per argument, the
    match asking for '<name> must be <what>, got <the value>'."""
    rows = []
    for key, arguments in ARGUMENTS.items():
        for name, out_of_range in arguments.items():
            label = re.escape(LABELS.get((key, name), name))
            for bad, error in (("1", TypeError), (True, TypeError), (out_of_range, ValueError)):
                got = repr(bad) + (f" ({type(bad).__name__})" if error is TypeError else "")
                rows.append((key, name, bad, error, rf"(^|[ :]){label} must be .+, got {re.escape(got)}"))
    return rows


# Rows beyond the three per argument: counts given as floats, a list's entries, an argument's special values.
EXTRA_ROWS = [
    ("gdfast.fit", "epochs", 2.0, TypeError, r"^epochs must be an int >= 1, got 2.0 \(float\)$"),
    ("gdfast.fit", "batch_size", 31, ValueError, r"batch_size must be None \(batch\), 1 \(stochastic\) or an int in "
                                                 r"\[1, 30\], got 31"),
    ("gdfast.fit", "alpha", math.nan, ValueError, r"^alpha must be finite and in \[0, inf\), got nan$"),
    ("gdfast.GradientNoise", "eta", "0.3", TypeError, r"^eta must be a real number in \[0, inf\), got '0.3'"),
    ("gdfast.EarlyStopping", "patience", 2.5, TypeError, r"^patience must be an int >= 0"),
    ("schedules.Cosine", "unit", "steps", ValueError, r"^unit must be 'epoch' or 'step', got 'steps'$"),
    ("schedules.StepDecay", "every", 2.0, TypeError, r"^every must be an int >= 1, got 2.0 \(float\)$"),
    ("nn.MLP", "sizes", [4, "5", 3], TypeError, r"^sizes\[1\] must be an int >= 1, got '5' \(str\)$"),
    ("nn.batchnorm_comparison", "lrs", ("0.1",), TypeError, r"^lr must be a real number"),
    ("distributed.downpour", "delay", (3, "5"), TypeError, r"^delay must be an int >= 0, got '5' \(str\)$"),
    ("distributed.easgd", "mode", "both", ValueError, r"^mode must be 'sync' or 'async', got 'both'$"),
    ("datasets.power_law_features", "exponent", 1.0, ValueError, r"^exponent must not be 1"),
    ("viz.trajectories", "lr", {"adam": "0.1"}, TypeError, r"^lr\['adam'\] must be a real number"),
    ("gdfast.Adam", "lr", np.array([0.1]), TypeError, r"^lr must be a real number in \[0, inf\), got array\(\[0.1\]\)"),
    # scikit-learn's average and verbose take a bool too
    ("gdfast.GDClassifier", "average", 0, ValueError, r"^average must be a bool or an int >= 1, got 0$"),
    ("gdfast.GDClassifier", "average", "1", TypeError, r"^average must be a bool or an int >= 1, got '1' \(str\)$"),
    ("gdfast.GDRegressor", "average", 2.5, TypeError, r"^average must be a bool or an int >= 1, got 2.5 \(float\)"),
    ("gdfast.GDClassifier", "verbose", -1, ValueError, r"^verbose must be a bool or an int >= 0, got -1$"),
    ("gdfast.GDRegressor", "verbose", "1", TypeError, r"^verbose must be a bool or an int >= 0, got '1' \(str\)$"),
    ("gdfast.GDClassifier", "n_jobs", "2", TypeError, r"^n_jobs must be None or an int, got '2' \(str\)$"),
    ("gdfast.GDClassifier", "class_weight", [1.0, 2.0], TypeError, r"^class_weight must be None, 'balanced' or a dict"),
    ("gdfast.GDClassifier", "class_weight", {7: 2.0}, ValueError, r"class_weight names classes \[7\] that y does"),
    ("gdfast.GDClassifier", "loss", "cross", ValueError, r"^loss must be one of \['hinge', 'log_loss'"),
    ("gdfast.GDRegressor", "loss", "hinge", ValueError, r"^loss must be one of \['squared_error', 'huber'"),
    ("gdfast.GDClassifier", "penalty", "l3", ValueError, r"^penalty must be None or one of"),
    ("gdfast.GDClassifier", "learning_rate", "fast", ValueError, r"^learning_rate must be"),
    ("gdfast.GDClassifier", "fit_intercept", 1, TypeError, r"^fit_intercept must be a bool, got 1 \(int\)$"),
    ("gdfast.GDClassifier", "warm_start", 1, TypeError, r"^warm_start must be a bool, got 1 \(int\)$"),
    ("gdfast.fit", "average", -3, ValueError, r"^average must be a bool or an int >= 1, got -3$"),
    ("gdfast.Trainer", "average", 1.5, TypeError, r"^average must be a bool or an int >= 1, got 1.5 \(float\)$"),
    ("gdfast.fit", "penalty", "l0", ValueError, r"^penalty must be None or one of"),
    ("gdfast.fit", "sample_weight", [1.0, -1.0], ValueError, r"sample_weight must be \d+ numbers, one per example"),
    ("gdfast.GDRegressor", "warm_start", "no", TypeError, r"^warm_start must be a bool, got 'no' \(str\)$"),
    ("gdfast.GDRegressor", "verbose", -2, ValueError, r"^verbose must be a bool or an int >= 0, got -2$"),
    ("losses.loss_gradient", "epsilon", -1.0, ValueError, r"^epsilon must be finite and in \[0, inf\), got -1.0$"),
    ("losses.loss_gradient", "epsilon", "0.1", TypeError, r"^epsilon must be a real number"),
]


# The callables that need scikit-learn (an optional dependency) to get as far as their checks.
NEEDS_SKLEARN = {"gdfast.GDClassifier", "gdfast.GDRegressor", "nn.batchnorm_comparison"}


@pytest.mark.parametrize("key, argument, bad, error, match", _rows() + EXTRA_ROWS,
                         ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None)
def test_bad_number_is_refused_naming_the_argument(key, argument, bad, error, match, tmp_path, monkeypatch):
    if key in NEEDS_SKLEARN:
        pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)  # where a picture would go if the check let it through
    with pytest.raises(error, match=match):
        CALLS[key](**{argument: bad})
    assert not os.listdir(tmp_path)  # refused before anything was written


# ------------------------------------------------------------------------------------------- the table is complete


def _baseline():
    spec = importlib.util.spec_from_file_location("make_baseline", os.path.join(GOLDEN, "make_baseline.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _public_names():
    """{module key: [public names]}: the pinned API and the live one (a name added since is in the second)."""
    with open(os.path.join(GOLDEN, "public_api.json")) as f:
        names = {module: set(entries) for module, entries in json.load(f).items()}
    for module, entries in _baseline().public_api().items():
        names.setdefault(module, set()).update(entries)
    return names


def _callables():
    """{key: callable} of every public function, class (its constructor) and public method."""
    out = {}
    for module_name, names in _public_names().items():
        module = importlib.import_module("gdfast" if module_name == "gdfast" else f"gdfast.{module_name}")
        for name in sorted(names):
            try:
                obj = getattr(module, name)
            except ImportError:  # GDClassifier, GDRegressor without scikit-learn
                continue
            if inspect.isclass(obj):
                out[f"{module_name}.{name}"] = obj
                out.update({f"{module_name}.{name}.{m}": f for m, f in vars(obj).items()
                            if not m.startswith("_") and inspect.isfunction(f)})
            elif callable(obj) and not inspect.ismodule(obj):
                out[f"{module_name}.{name}"] = obj
    return out


def _constraint_tables():
    """Every table {argument name: Constraint} in gdfast: module-level ones and the classes' _constraints."""
    tables = []
    for info in pkgutil.walk_packages(gd.__path__, "gdfast."):
        if info.name.endswith("__main__"):
            continue  # importing it runs the command line
        module = importlib.import_module(info.name)
        for obj in vars(module).values():
            candidates = [obj, getattr(obj, "_constraints", None)] if inspect.isclass(obj) else [obj]
            tables += [t for t in candidates if isinstance(t, dict) and t
                       and all(isinstance(c, _validate.Constraint) for c in t.values())]
    return tables


def _numeric(constraint):
    inner = constraint.constraint if isinstance(constraint, NoneOr) else constraint
    return isinstance(inner, (Real, Integer))


def _numeric_names(callables):
    """Names that are numbers: those with a numeric default somewhere in the API, or a numeric constraint."""
    names = {name for table in _constraint_tables() for name, c in table.items() if _numeric(c)}
    for obj in callables.values():
        names.update(name for name, p in _parameters(obj).items()
                     if isinstance(p.default, numbers.Real) and not isinstance(p.default, bool))
    return names


def _parameters(obj):
    try:
        params = inspect.signature(obj).parameters
    except (TypeError, ValueError):
        return {}
    return {n: p for n, p in params.items() if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


# Public callables whose numbers are not the validator's, and why.
EXEMPT = {
    "gdfast.Optimizer": "the base class: its subclasses, the rules, have rows",
    "gdfast.LinearModel": "built by fit and gd.load from checked values",
    "functions.Surface": "a record of the built-in pictures' settings",
    "losses.data": "its counts come from losses.features(X)",
    "losses.targets": "its counts come from losses.features(X)",
    "losses.example_weights": "its count comes from losses.features(X)",
    "losses.mean_loss": "the training loop's: its examples and epsilon were checked by the Trainer",
    "distributed.Center.exchange": "the EASGD center's protocol: alpha is easgd's, checked there",
    **{f"schedules.{name}.{method}": "the training loop's protocol: eta0 and the counters are checked by it"
       for name in ("Schedule", "Constant", "StepDecay", "Exponential", "InverseTime", "Optimal", "Cosine",
                    "Threshold") for method in ("rate", "rates", "observe")},
}
EXEMPT_ARGUMENTS = {"seed": "numpy.random.default_rng checks a seed (an int, a SeedSequence, ...)"}
# The functional kernels' state arrays, checked as arrays (FTRL's n shares its name with numbers elsewhere).
STATE_ARRAYS = {(f"kernels.{rule.name}", slot) for rule in gd.RULES.values() for slot in rule.slots}


def test_every_numeric_parameter_of_the_public_api_has_rows():
    callables = _callables()
    numeric = _numeric_names(callables)
    covered = {(key, argument) for key, argument, *_ in _rows() + EXTRA_ROWS}
    missing = [f"{key}({name})" for key, obj in sorted(callables.items()) if key not in EXEMPT
               for name in _parameters(obj) if name in numeric and name not in EXEMPT_ARGUMENTS
               and (key, name) not in covered | STATE_ARRAYS]
    assert not missing, f"public numeric parameters without rows in ARGUMENTS: {missing}"
    assert set(CALLS) <= set(callables), "a row's callable is not public"
    assert {key for key, *_ in EXTRA_ROWS} <= set(CALLS)
