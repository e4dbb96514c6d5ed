"""The scikit-learn estimators: scikit-learn's own estimator checks, partial_fit, sparse input, pickling."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.utils.estimator_checks import check_estimator

import gdfast as gd


# scikit-learn's own SGD estimators fail these, for the reason gdfast's (which compute the same numbers) do: an
# example of weight 0 still decays the weights and counts as a step (gdfast.linear.plain_sgd).
SGD_SAMPLE_WEIGHT_CHECKS = ("check_sample_weight_equivalence_on_dense_data",
                            "check_sample_weight_equivalence_on_sparse_data")


def _failed_checks(estimator):
    results = check_estimator(estimator, on_fail=None)
    return results, {r["check_name"]: str(r["exception"])[:200] for r in results if r["status"] == "failed"}


@pytest.mark.parametrize("name", ["GDClassifier", "GDRegressor"])
def test_sklearn_estimator_checks(name):
    """scikit-learn's check_estimator, every check passing but the sample-weight equivalence that scikit-learn's
    own SGDClassifier/SGDRegressor fail too (checked here, so this exception lapses when scikit-learn's pass);
    the one it skips is the array-API check, which needs SCIPY_ARRAY_API set before scipy is imported."""
    from sklearn import linear_model
    results, failed = _failed_checks(getattr(gd, name)(random_state=0))
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert set(failed) <= set(SGD_SAMPLE_WEIGHT_CHECKS), failed
    assert skipped <= {"check_array_api_input"}
    assert len(results) > 40
    _, peer_failed = _failed_checks(getattr(linear_model, name.replace("GD", "SGD"))(random_state=0))
    assert set(failed) <= set(peer_failed)


def blobs(n=400, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((classes, 5)) * 3
    y = rng.integers(0, classes, n)
    return centers[y] + rng.standard_normal((n, 5)), y


@pytest.mark.parametrize("classes", [2, 3])
def test_classifier_dense_and_sparse(classes):
    X, y = blobs(classes=classes)
    for data in (X, sp.csr_matrix(X)):
        for loss in ("log_loss", "softmax"):
            clf = gd.GDClassifier(loss=loss, random_state=0).fit(data, y)
            assert clf.score(data, y) > 0.93
            proba = clf.predict_proba(data)
            assert proba.shape == (len(y), classes)
            np.testing.assert_allclose(proba.sum(axis=1), 1)
            if loss == "log_loss":  # scikit-learn's shape; softmax has an output per class even for two
                assert clf.coef_.shape == (classes if classes > 2 else 1, 5)


def test_hinge_fits_one_vs_rest_and_has_no_probabilities():
    X, y = blobs(classes=3)
    clf = gd.GDClassifier(loss="hinge", random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95 and clf.coef_.shape == (3, 5)
    assert not hasattr(clf, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'"):
        clf.predict_proba(X)


def test_partial_fit_streams_batches():
    X, y = blobs(n=1000, classes=3)
    clf = gd.GDClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:100], y[:100])
    for start in range(0, 1000, 100):
        clf.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2])
    assert clf.n_iter_ == 1 and clf.t_ == 1 + 1000 and clf.score(X, y) > 0.9  # as scikit-learn counts


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
    clf = gd.GDClassifier("log_loss", optimizer="adagrad", learning_rate="constant", eta0=0.1, batch_size=1,
                          max_iter=5, tol=None, n_threads=2, random_state=0).fit(sp.csr_matrix(X), y)
    assert clf.score(X, y) > 0.95 and clf.model_.optimizer_.t >= 5 * 2000


@pytest.mark.parametrize("sparse", [False, True])
def test_early_stopping_scores_its_validation_rows_in_place(sparse):
    """Early stopping on scikit-learn's path scores the held-out rows without copying them: the fit's peak
    traced memory stays far below X's size, and it stops where SGDClassifier does on the same split (shuffle=False: the same order)."""
    import tracemalloc
    from sklearn.linear_model import SGDClassifier
    rng = np.random.default_rng(2)
    n = 20_000  # rows wide enough that X dwarfs the O(n) split indices
    X = sp.random(n, 1024, density=0.1, format="csr", random_state=2, dtype=np.float64) if sparse else \
        rng.standard_normal((n, 512))
    y = (X @ rng.standard_normal(X.shape[1]) > 0).astype(int)
    x_bytes = X.data.nbytes + X.indices.nbytes if sparse else X.nbytes
    settings = dict(early_stopping=True, validation_fraction=0.3, max_iter=20, random_state=0, shuffle=False)
    tracemalloc.start()
    ours = gd.GDClassifier(**settings).fit(X, y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    theirs = SGDClassifier(**settings).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.coef_, theirs.coef_, rtol=1e-9, atol=1e-12)
    assert peak < 0.2 * x_bytes, (peak, x_bytes)
