"""What gdfast computed before its architecture change (tests/golden/make_baseline.py, recorded at commit 56a0e11)
holds after it: the same fits bit for bit (those with gradient noise as recorded again when its normal draws
stopped calling libm, whose last bit differs between CPUs: make_baseline.py), the checkpoints of that version load and continue as they did, and the
public names and signatures are still there."""
import importlib
import importlib.util
import json
import os
import warnings

import numpy as np
import pytest

import gdfast as gd

GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def _baseline():
    spec = importlib.util.spec_from_file_location("make_baseline", os.path.join(GOLDEN, "make_baseline.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


baseline = _baseline()
FITS = np.load(os.path.join(GOLDEN, "fits.npz"))
CASES = dict(baseline.fit_cases())


def test_every_recorded_fit_is_checked():
    """The cases are the recorded ones, no fewer (rules added since, such as FTRL, have none: make_baseline.py's
    RECORDED_RULES)."""
    assert {f"{name}.{part}" for name in CASES for part in ("coef", "intercept")} == set(FITS.files)


@pytest.mark.parametrize("name", list(CASES))
def test_fit_is_bitwise_the_recorded_one(name):
    kw = dict(CASES[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = gd.fit(kw.pop("loss"), kw.pop("X"), kw.pop("y"), **kw)
    np.testing.assert_array_equal(model.coef_, FITS[name + ".coef"])
    np.testing.assert_array_equal(model.intercept_, FITS[name + ".intercept"])


def _checkpoint(name):
    return os.path.join(GOLDEN, "checkpoints", name)


EXPECTED = np.load(_checkpoint("expected.npz"))


def test_optimizer_checkpoint_of_the_old_version_continues():
    opt = gd.load(_checkpoint("optimizer.npz"))
    assert opt.sparse == "exact" and opt.t == 3
    opt.step(gd.RowSparse(np.array([1, 7]), np.ones((2, 8))))
    opt.flush()
    np.testing.assert_array_equal(opt.params[0], EXPECTED["optimizer.param"])


def test_model_checkpoint_of_the_old_version_continues():
    X, y = baseline.checkpoint_problem()
    model = gd.load(_checkpoint("model.npz"))
    kw = dict(batch_size=4, schedule=gd.schedules.Threshold(factor=0.5, patience=0), random_state=2,
              gradient_noise=gd.GradientNoise(0.01), early_stopping=gd.EarlyStopping(patience=2),
              validation_fraction=0.2, n_threads=1, progress=False, lr=0.05)
    more = gd.fit("logistic", X, y, "adagrad", epochs=2, init=model, **kw)
    np.testing.assert_array_equal(more.coef_, EXPECTED["model.coef"])
    np.testing.assert_array_equal(more.intercept_, EXPECTED["model.intercept"])


def test_estimator_checkpoint_of_the_old_version_continues():
    pytest.importorskip("sklearn")
    X, y = baseline.checkpoint_problem()
    est = gd.load(_checkpoint("estimator.npz"))
    est.partial_fit(X, y)
    np.testing.assert_array_equal(est.coef_, EXPECTED["estimator.coef"])
    np.testing.assert_array_equal(est.intercept_, EXPECTED["estimator.intercept"])


def test_public_names_and_signatures_are_pinned():
    """Every public name of the first layout is still there, at the same import path, with its signature. An
    issue that changes a signature on purpose updates its pin in the same commit: GDClassifier and GDRegressor
    took scikit-learn's parameters, fit and gdfast.losses' functions gained sample_weight, epsilon, penalty,
    l1_ratio and average and defaults measured by the kind of loss (optimizer=None, batch_size="auto"),
    LinearModel the L1 penalty's and the averages' arrays (issue 14); losses.mean_loss a rows subset, to evaluate a
    validation split in place (issue 15); fit and Trainer shuffle_buffer and holdout_period, for streams of chunks,
    and the module gdfast.data; downpour, delay_tolerant_adagrad and easgd shard sources (n_features, classes,
    n_replicas None: one replica per shard) (issue 16); the optimizers clip_norm, clip_value, weight_decay and
    decoupled_weight_decay (issue 17)."""
    with open(os.path.join(GOLDEN, "public_api.json")) as f:
        pinned = json.load(f)
    for module_name, names in pinned.items():
        module = importlib.import_module("gdfast" if module_name == "gdfast" else f"gdfast.{module_name}")
        for name, described in names.items():
            assert hasattr(module, name), f"{module_name}.{name} is gone"
            now = baseline.describe(getattr(module, name))
            if isinstance(described, dict):  # a class: its signature and methods stay; it may gain methods
                assert now["class"] == described["class"], f"{module_name}.{name} changed its signature"
                for method, signature in described["methods"].items():
                    assert now["methods"].get(method) == signature, f"{module_name}.{name}.{method} changed"
            else:
                assert now == described, f"{module_name}.{name} changed"
