"""The scikit-learn estimators: scikit-learn's own estimator checks, partial_fit, sparse input, pickling."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import check_estimator

import gdfast as gd


@pytest.mark.parametrize("estimator", [gd.GDClassifier(random_state=0), gd.GDRegressor(random_state=0)],
                         ids=["classifier", "regressor"])
def test_sklearn_estimator_checks(estimator):
    """scikit-learn's check_estimator, every check passing; the one it skips is the array-API check, which
    needs SCIPY_ARRAY_API set before scipy is imported (the estimators take NumPy and scipy.sparse only)."""
    results = check_estimator(estimator, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert not failed
    assert skipped <= {"check_array_api_input"}
    assert len(results) > 40


def blobs(n=400, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, 5)) * 3
    y = rng.integers(0, classes, n)
    return centers[y] + rng.standard_normal((n, 5)), y


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_dense_and_sparse(classes):
    X, y = blobs(classes=classes)
    for data in (X, sp.csr_matrix(X)):
        clf = gd.GDClassifier(random_state=0).fit(data, y)
        assert clf.score(data, y) > 0.95
        assert clf.predict_proba(data).shape == (len(y), classes)
    assert clf.model_.loss == ("softmax" if classes == 3 else "logistic")


def test_hinge_is_binary_and_has_no_probabilities():
    X, y = blobs()
    clf = gd.GDClassifier(loss="hinge", random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95
    with pytest.raises(AttributeError, match="predict_proba needs loss='logistic'"):
        clf.predict_proba(X)
    X3, y3 = blobs(classes=3)
    with pytest.raises(ValueError, match="hinge loss separates two classes"):
        gd.GDClassifier(loss="hinge").fit(X3, y3)


def test_partial_fit_streams_batches():
    X, y = blobs(n=1000, classes=3)
    clf = gd.GDClassifier(random_state=0)
    with pytest.raises(ValueError, match="first partial_fit needs classes"):
        clf.partial_fit(X[:100], y[:100])
    for start in range(0, 1000, 100):
        clf.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2])
    assert clf.n_iter_ == 10 and clf.score(X, y) > 0.9


def test_pickled_model_continues_training_identically():
    X, y = blobs()
    a = gd.GDRegressor(random_state=0, max_iter=3).fit(X, X @ np.arange(5.0))
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    a.partial_fit(X, X @ np.arange(5.0))
    b.partial_fit(X, X @ np.arange(5.0))
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_optimizer_pickles_with_its_state():
    w = np.arange(4.0)
    opt = gd.Adam([w], lr=0.1)
    opt.step(np.ones(4))
    w2, opt2 = pickle.loads(pickle.dumps((w, opt)))
    opt.step(np.ones(4))
    opt2.step(np.ones(4))
    np.testing.assert_array_equal(w, w2)
    assert opt2.params[0] is w2 and opt2.t == 2


def test_hogwild_threads_on_sparse_input():
    X, y = blobs(n=2000)
    clf = gd.GDClassifier(batch_size=1, max_iter=5, n_threads=2, random_state=0).fit(sp.csr_matrix(X), y)
    assert clf.score(X, y) > 0.95 and clf.model_.optimizer_.t >= 5 * 2000
