"""GDClassifier and GDRegressor against the live scikit-learn SGDClassifier and SGDRegressor: with shuffle=False
(scikit-learn's shuffling draws its own orders) the same coef_, intercept_, n_iter_ and t_ to <= 1e-10
relative, float64, dense and CSR, for every loss x penalty, learning rate x averaging, sample and class
weights, one-vs-rest, the tol and early-stopping rules, partial_fit, warm_start and coef_init."""
import functools
import itertools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

sklearn = pytest.importorskip("sklearn")
from sklearn import datasets  # noqa: E402
from sklearn.linear_model import SGDClassifier, SGDRegressor  # noqa: E402

import gdfast as gd  # noqa: E402

RTOL = 1e-10
CLASSIFIER_LOSSES = ["hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron", "squared_error", "huber",
                     "epsilon_insensitive", "squared_epsilon_insensitive"]
REGRESSOR_LOSSES = ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
PENALTIES = [None, "l2", "l1", "elasticnet"]
RATES = [dict(learning_rate="optimal"), dict(learning_rate="constant", eta0=0.01),
         dict(learning_rate="invscaling", eta0=0.05), dict(learning_rate="adaptive", eta0=0.05)]


@functools.cache
def _standardized(name, n):
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    X = (X[:n] - X[:n].mean(axis=0)) / (X[:n].std(axis=0) + 1e-12)
    return X, y[:n]


def data(name, layout, n=150):
    """A bundled data set, standardized; for CSR its small values zeroed, so rows have different features."""
    X, y = _standardized(name, n)
    if layout == "csr":
        X = sp.csr_matrix(np.where(np.abs(X) > 0.5, X, 0.0))
    return X, y


def assert_same(peer, ours):
    scale = max(np.abs(peer.coef_).max(), 1e-300)
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=0, atol=RTOL * scale)
    np.testing.assert_allclose(ours.intercept_, peer.intercept_, rtol=0,
                               atol=RTOL * max(np.abs(peer.intercept_).max(), scale))
    assert ours.n_iter_ == peer.n_iter_ and ours.t_ == peer.t_
    assert ours.coef_.shape == peer.coef_.shape and ours.intercept_.shape == peer.intercept_.shape


def both(kind, X, y, fit=None, **params):
    """scikit-learn's and gdfast's estimator with the same parameters, each fitted on (X, y) (each given its
    own copy of fit's arrays: scikit-learn trains in coef_init itself)."""
    peer_class, our_class = (SGDClassifier, gd.GDClassifier) if kind == "classifier" else (SGDRegressor, gd.GDRegressor)
    params = dict(shuffle=False, random_state=0, **params)

    def fit_args():
        return {k: np.copy(v) for k, v in (fit or {}).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning, on both sides alike
        return peer_class(**params).fit(X, y, **fit_args()), our_class(**params).fit(X, y, **fit_args())


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss,penalty", list(itertools.product(CLASSIFIER_LOSSES, PENALTIES)))
def test_classifier_every_loss_and_penalty(loss, penalty, layout):
    assert_same(*both("classifier", *data("breast_cancer", layout), loss=loss, penalty=penalty))


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("average", [False, True, 40])
@pytest.mark.parametrize("rate", RATES, ids=lambda r: r["learning_rate"])
@pytest.mark.parametrize("loss", ["hinge", "log_loss"])
def test_classifier_learning_rates_and_averaging(loss, rate, average, layout):
    assert_same(*both("classifier", *data("breast_cancer", layout), loss=loss, average=average,
                      penalty="elasticnet", **rate))


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("loss,penalty,rate", [(loss, penalty, rate) for loss in REGRESSOR_LOSSES
                                               for penalty in PENALTIES for rate in RATES[1:]],
                         ids=lambda v: str(v.get("learning_rate") if isinstance(v, dict) else v))
def test_regressor_every_loss_penalty_and_rate(loss, penalty, rate, layout):
    X, y = data("diabetes", layout)
    assert_same(*both("regressor", X, y / 50, loss=loss, penalty=penalty, max_iter=60, **rate))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_regressor_averaging_and_optimal(layout):
    X, y = data("diabetes", layout)
    for average in (True, 30):
        assert_same(*both("regressor", X, y / 50, average=average, penalty="elasticnet", max_iter=40))
    assert_same(*both("regressor", X, y / 50, learning_rate="optimal", alpha=0.01, max_iter=40))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_passive_aggressive_rates(layout):
    X, y = data("breast_cancer", layout)
    for rate in ("pa1", "pa2"):
        assert_same(*both("classifier", X, y, loss="hinge", learning_rate=rate, eta0=0.1))
    Xr, yr = data("diabetes", layout)
    assert_same(*both("regressor", Xr, yr / 50, loss="epsilon_insensitive", learning_rate="pa1", max_iter=30))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_sample_and_class_weights(layout):
    X, y = data("breast_cancer", layout)
    weight = np.random.default_rng(0).uniform(0.2, 3.0, len(y))
    for loss in ("hinge", "log_loss"):
        assert_same(*both("classifier", X, y, fit=dict(sample_weight=weight), loss=loss))
        assert_same(*both("classifier", X, y, loss=loss, class_weight="balanced"))
        assert_same(*both("classifier", X, y, fit=dict(sample_weight=weight), loss=loss, class_weight={0: 3.0}))
    Xr, yr = data("diabetes", layout)
    assert_same(*both("regressor", Xr, yr / 50, fit=dict(sample_weight=weight), max_iter=50))


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("params", [dict(loss="hinge"), dict(loss="log_loss", average=True, penalty="l1"),
                                    dict(loss="modified_huber", class_weight="balanced", n_jobs=2),
                                    dict(loss="log_loss", early_stopping=True, n_jobs=-1),
                                    dict(loss="squared_hinge", average=500, learning_rate="adaptive", eta0=0.1)],
                         ids=["hinge", "log-average-l1", "mhuber-balanced", "log-early", "sqhinge-adaptive"])
def test_one_vs_rest(params, layout):
    X, y = data("digits", layout, n=300)
    peer, ours = both("classifier", X, y, **params)
    assert_same(peer, ours)
    if params["loss"] in ("log_loss", "modified_huber"):
        np.testing.assert_allclose(ours.predict_proba(X), peer.predict_proba(X), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ours.predict(X), peer.predict(X))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_tol_and_early_stopping_rules(layout):
    X, y = data("breast_cancer", layout)
    for params in (dict(tol=1e-1), dict(tol=None, max_iter=12), dict(n_iter_no_change=2, tol=1e-2),
                   dict(early_stopping=True, validation_fraction=0.2, n_iter_no_change=3),
                   dict(early_stopping=True, loss="log_loss"), dict(early_stopping=True, average=True)):
        assert_same(*both("classifier", X, y, **params))
    Xr, yr = data("diabetes", layout)
    assert_same(*both("regressor", Xr, yr / 50, early_stopping=True))


@pytest.mark.parametrize("layout", ["dense", "csr"])
def test_partial_fit_warm_start_and_init(layout):
    X, y = data("digits", layout, n=300)
    for kind, target, extra in (("classifier", y, dict(classes=np.unique(y))), ("regressor", y / 10.0, {})):
        for params in (dict(), dict(average=True), dict(average=200, penalty="l1")):
            peer, ours = both(kind, X[:100], target[:100], **params)
            for start in (100, 200):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    peer.partial_fit(X[start:start + 100], target[start:start + 100], **extra)
                    ours.partial_fit(X[start:start + 100], target[start:start + 100], **extra)
            assert_same(peer, ours)
    Xb, yb = data("breast_cancer", layout)
    for params in (dict(warm_start=True), dict(warm_start=True, average=True)):
        peer, ours = both("classifier", Xb, yb, max_iter=3, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer.fit(Xb, yb)
            ours.fit(Xb, yb)
        assert_same(peer, ours)
    init = dict(coef_init=np.linspace(-1, 1, Xb.shape[1]), intercept_init=np.array(0.5))
    peer, ours = both("classifier", Xb, yb, fit=init, max_iter=5)
    assert_same(peer, ours)
    assert ours.coef_ is not peer.coef_ and not np.shares_memory(ours.coef_, peer.coef_)


@pytest.mark.parametrize("layout", ["dense", "csr"])
@pytest.mark.parametrize("params", [dict(loss="log_loss"), dict(loss="hinge", penalty="l1"),
                                    dict(loss="modified_huber", penalty="elasticnet", average=True),
                                    dict(loss="squared_hinge", class_weight="balanced", learning_rate="invscaling",
                                         eta0=0.01)], ids=["log", "hinge-l1", "mhuber-en-avg", "sqhinge-cw"])
def test_float32_rounds_as_scikit_learn(params, layout):
    """float32 data trains in float32 with scikit-learn's roundings (its scale factors in double, a step's
    scalars in float): the same model to float32's last bits (averaging's BLAS calls may round differently)."""
    X, y = data("breast_cancer", layout)
    peer, ours = both("classifier", X.astype(np.float32), y, max_iter=20, tol=None, **params)
    assert ours.coef_.dtype == np.float32 and ours.coef_.shape == peer.coef_.shape
    np.testing.assert_allclose(ours.coef_, peer.coef_, rtol=0, atol=1e-6 * np.abs(peer.coef_).max())
    np.testing.assert_allclose(ours.intercept_, peer.intercept_, rtol=1e-6)


def test_get_params_of_scikit_learn_make_the_same_estimator():
    """GDClassifier(**SGDClassifier(...).get_params()) for every parameter scikit-learn has."""
    for peer, ours in ((SGDClassifier, gd.GDClassifier), (SGDRegressor, gd.GDRegressor)):
        params = peer(loss="huber", penalty="elasticnet", average=3, learning_rate="adaptive", eta0=0.3).get_params()
        assert set(params) <= set(ours().get_params())
        assert ours(**params).get_params().items() >= params.items()
