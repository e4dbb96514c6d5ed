"""The L1 and elastic-net penalties and Polyak-Ruppert averaging of gdfast's own epoch loop (gd.fit, gd.Trainer,
the estimators off scikit-learn's path), for every rule, dense and CSR, against gdfast.optim.reference."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from gdfast.optim import reference

from conftest import RULE_NAMES

FIXED_RATE = ("sgd", "momentum", "nag")


def problem(sparse, n=48, d=9, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.5)
    y = (X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n) > 0).astype(int)
    return (sp.csr_matrix(X) if sparse else X), y


def reference_fit(rule, X, y, batch, epochs, alpha, l1_ratio, average, hyper):
    """The logistic loss by the reference equations, in order: per batch the mean gradient plus the L2 share on
    the touched weights, the rule's lazy step there, then the L1 share (cumulative for the fixed-rate rules, the
    proximal step of the rule's rate otherwise) and the running means of every weight."""
    dense = X.toarray() if sp.issparse(X) else X
    n, d = dense.shape
    slots = gd.RULES[rule].slots
    W, b = np.zeros(d), np.zeros(1)
    state_W, state_b = reference.initial_state(slots, W, hyper), reference.initial_state(slots, b, hyper)
    mean_W, mean_b, q, u, t = np.zeros(d), np.zeros(1), np.zeros(d), 0.0, 0
    l2, l1 = alpha * (1 - l1_ratio), alpha * l1_ratio
    sign = np.where(y == 1, 1.0, -1.0)
    for _ in range(epochs):
        for start in range(0, n, batch):
            t += 1
            Xb, sb = dense[start:start + batch], sign[start:start + batch]
            dz = -sb / (1 + np.exp(sb * (Xb @ W + b[0])))
            touched = (np.abs(X[start:start + batch]).sum(axis=0) != 0).A1 if sp.issparse(X) else np.ones(d, bool)
            g = Xb.T @ dz / len(sb) + l2 * W
            W, *state_W = reference.sparse_lazy(rule, W, g, touched, *state_W, t=t, **hyper)
            b, *state_b = reference.step(rule)(b, np.array([dz.mean()]), *state_b, t=t, **hyper)
            if l1 and rule in FIXED_RATE:
                u += l1 * hyper["lr"]
                W[touched], q[touched] = reference.l1_cumulative(W[touched], u, q[touched])
            elif l1:
                rate = reference.coordinate_rate(rule, {s: v[touched] for s, v in zip(slots, state_W)}, t=t, **hyper)
                W[touched] = reference.l1_proximal(W[touched], rate, l1)
            if average and t >= average:
                mean_W = reference.running_mean(mean_W, W, t - average + 1)
                mean_b = reference.running_mean(mean_b, b, t - average + 1)
    return (mean_W, mean_b) if average else (W, b)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("penalty,average", [("l1", False), ("elasticnet", 5), ("l2", True)],
                         ids=["l1", "elasticnet-average", "l2-average"])
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_penalties_and_averages_follow_the_reference(rule, penalty, average, sparse):
    X, y = problem(sparse)
    if rule == "ftrl" and penalty != "l2":  # its weights are a function of its state: its L1 is its lambda1
        with pytest.raises(ValueError, match="^penalty: FTRL-Proximal computes its weights from its own state"):
            gd.fit("logistic", X, y, rule, penalty=penalty, alpha=0.02, progress=False)
        return
    hyper = dict(gd.RULES[rule].defaults, lr=0.05 if rule != "adadelta" else 1.0)
    l1_ratio = {"l1": 1.0, "l2": 0.0, "elasticnet": 0.4}[penalty]
    model = gd.fit("logistic", X, y, rule, batch_size=4, epochs=3, alpha=0.02, penalty=penalty, l1_ratio=0.4,
                   average=average, shuffle=False, intercept_scale=1.0, progress=False, n_threads=1,
                   lr=hyper["lr"])
    W, b = reference_fit(rule, X, y, 4, 3, 0.02, l1_ratio, average, hyper)
    np.testing.assert_allclose(model.coef_[0], W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("rule", ["sgd", "momentum", "adagrad", "adam"])
def test_l1_zeroes_or_shrinks_the_irrelevant_features(rule):
    """Labels from 4 of 60 features. The cumulative penalty of the fixed-rate rules zeroes nearly all of the other
    56; the adaptive rules' proximal steps, each as small as the rule's rate, shrink them (a noisy gradient keeps
    moving a weight off 0 between its steps: the weaker sparsity of proximal SGD that Tsuruoka et al. note)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 60)) * (rng.random((600, 60)) < 0.5)
    y = (X[:, :4] @ np.array([3.0, -3.0, 2.0, -2.0]) > 0).astype(int)
    X = sp.csr_matrix(X)
    kw = dict(batch_size=1, epochs=5, alpha=0.01, progress=False, n_threads=1, lr=0.1, random_state=0)
    plain = gd.fit("logistic", X, y, rule, **kw).coef_[0]
    lasso = gd.fit("logistic", X, y, rule, penalty="l1", **kw).coef_[0]
    assert np.count_nonzero(plain) == 60 and np.all(lasso[:4] != 0)
    if rule in FIXED_RATE:
        assert (lasso[4:] == 0).sum() >= 30
    else:
        assert np.abs(lasso[4:]).mean() < 0.9 * np.abs(plain[4:]).mean()


def test_averages_continue_across_partial_fits_and_checkpoints(tmp_path):
    """Chunks in order equal one epoch over their concatenation; a saved model continues its averages."""
    X, y = problem(True, n=60)
    whole = gd.Trainer("logistic", "adagrad", batch_size=3, average=4, penalty="elasticnet", alpha=0.01,
                       shuffle=False, progress=False, n_threads=1, lr=0.1, classes=[0, 1])
    chunks = gd.Trainer("logistic", "adagrad", batch_size=3, average=4, penalty="elasticnet", alpha=0.01,
                        shuffle=False, progress=False, n_threads=1, lr=0.1, classes=[0, 1])
    whole.partial_fit(X, y)
    for start in range(0, 60, 15):
        chunks.partial_fit(X[start:start + 15], y[start:start + 15])
    np.testing.assert_array_equal(whole.model.coef_, chunks.model.coef_)
    whole.model.save(tmp_path / "m.npz")
    loaded = gd.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.coef_, whole.model.coef_)
    kw = dict(batch_size=3, average=4, penalty="elasticnet", alpha=0.01, shuffle=False, progress=False,
              n_threads=1, lr=0.1)
    a = gd.fit("logistic", X, y, "adagrad", epochs=1, init=whole.model, **kw)
    b = gd.fit("logistic", X, y, "adagrad", epochs=1, init=loaded, **kw)
    np.testing.assert_array_equal(a.coef_, b.coef_)


def test_estimators_take_penalties_and_averaging_on_any_rule():
    pytest.importorskip("sklearn")
    X, y = problem(True, n=300, d=30)
    for params in (dict(penalty="l1"), dict(penalty="elasticnet", average=True), dict(average=10)):
        clf = gd.GDClassifier("log_loss", optimizer="adam", learning_rate="constant", eta0=0.05, batch_size=8,
                              max_iter=5, tol=None, random_state=0, **params).fit(X, y)
        assert clf.score(X, y) > 0.8
        np.testing.assert_array_equal(clf.coef_, clf.model_.coef_)


def test_all_zero_weights_change_nothing():
    """An example of weight 0 takes no step; a chunk of them changes nothing, not even the step count."""
    X, y = problem(False, n=40)
    trainer = gd.Trainer("logistic", "adam", batch_size=4, shuffle=False, progress=False, lr=0.1, classes=[0, 1])
    trainer.partial_fit(X[:20], y[:20])
    before, t = trainer.model.coef_.copy(), trainer.model.optimizer_.t
    trainer.partial_fit(X[20:], y[20:], sample_weight=np.zeros(20))
    np.testing.assert_array_equal(trainer.model.coef_, before)
    assert trainer.model.optimizer_.t == t
    weight = np.where(np.arange(40) % 3 == 0, 0.0, 1.0)
    kept = weight > 0
    a = gd.fit("logistic", X, y, "adam", batch_size=4, shuffle=False, progress=False, lr=0.1, sample_weight=weight)
    b = gd.fit("logistic", X[kept], y[kept], "adam", batch_size=4, shuffle=False, progress=False, lr=0.1)
    np.testing.assert_array_equal(a.coef_, b.coef_)  # weight 0 = the example left out


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("loss", ["hinge", "logistic", "modified_huber"])
def test_one_vs_rest_is_a_binary_fit_per_class(loss, sparse):
    """More than two classes with a two-class loss: one output per class, each output the binary fit of its
    class against the rest (every rule steps elementwise), bitwise, weights included."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((90, 8)) * (rng.random((90, 8)) < 0.6)
    y = rng.integers(0, 3, 90)
    weight = rng.uniform(0.5, 2.0, 90)
    X = sp.csr_matrix(X) if sparse else X
    kw = dict(batch_size=5, epochs=2, alpha=0.01, shuffle=False, progress=False, n_threads=1, lr=0.05,
              sample_weight=weight, penalty="elasticnet", average=3)
    ovr = gd.fit(loss, X, y, "adam", **kw)
    assert ovr.coef_.shape == (3, 8)
    for k in range(3):
        binary = gd.fit(loss, X, (y == k).astype(int), "adam", **kw)
        np.testing.assert_array_equal(ovr.coef_[k], binary.coef_[0])
        np.testing.assert_array_equal(ovr.intercept_[k], binary.intercept_[0])
    np.testing.assert_array_equal(ovr.predict(X), np.argmax(ovr.decision_function(X), axis=1))


def test_ftrl_trains_in_fit_and_the_estimators():
    """FTRL-Proximal (McMahan et al., 2013) as a rule of gd.fit and of the estimators, its lambda1 making zeros
    (lambda1 is in the units of z, a sum of gradients over every touch: here ~sqrt(1500) x 0.5 ~ 20)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 60)) * (rng.random((600, 60)) < 0.5)
    y = (X[:, :4] @ np.array([3.0, -3.0, 2.0, -2.0]) > 0).astype(int)
    X = sp.csr_matrix(X)
    model = gd.fit("logistic", X, y, "ftrl", batch_size=1, epochs=5, progress=False, n_threads=1, lr=0.5,
                   lambda1=30.0, random_state=0)
    assert (model.coef_[0, 4:] == 0).sum() >= 40 and np.all(model.coef_[0, :4] != 0)
    assert (model.predict(X) == y).mean() > 0.9
    pytest.importorskip("sklearn")
    clf = gd.GDClassifier("log_loss", optimizer="ftrl", learning_rate="constant", eta0=0.5, penalty=None,
                          optimizer_params={"lambda1": 30.0}, max_iter=5, tol=None, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.9 and (clf.coef_[0, 4:] == 0).sum() >= 40
