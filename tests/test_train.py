"""gd.fit: the C epoch loop against the same steps taken through the optimizer API with NumPy gradients, and
each strategy doing what it says."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd

from conftest import RULE_NAMES


def classification(n=60, d=6, seed=0, sparse=False, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.6)).astype(dtype)
    y = (X @ rng.standard_normal(d) > 0).astype(int)
    return (sp.csr_matrix(X) if sparse else X), y


def numpy_run(rule, X, y, batch_size, epochs, alpha, hyper, sparse):
    """Logistic regression by the optimizer API: one opt.step per batch, in order (no shuffling), the gradient
    from NumPy; on CSR data a RowSparse gradient of the touched features (the lazy convention of the penalty),
    but for SGD, whose penalty and weight decay reach every weight (fit scales W), unless it clips."""
    lazy = rule != "sgd" or "clip_norm" in hyper or "clip_value" in hyper
    Xd = X.toarray() if sparse else X
    n, d = Xd.shape
    W, b = np.zeros((d, 1), X.dtype), np.zeros(1, X.dtype)
    opt = gd.OPTIMIZERS[rule]([W, b], **hyper)
    s = np.where(y == 1, 1.0, -1.0)
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            Xb, sb = Xd[start:start + batch_size], s[start:start + batch_size]
            dz = -sb / (1 + np.exp(sb * (Xb @ W[:, 0] + b[0])))
            gW = (Xb.T @ dz / len(sb))[:, None] + alpha * W
            gb = np.array([dz.mean()], X.dtype)
            if sparse and lazy:
                rows = np.flatnonzero((X[start:start + batch_size] != 0).sum(axis=0))
                opt.step([gd.RowSparse(rows, gW[rows].astype(X.dtype)), gb])
            else:
                opt.step([gW.astype(X.dtype), gb])
    return W, b


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("batch_size", [1, 7, None], ids=["sgd", "minibatch", "batch"])
@pytest.mark.parametrize("rule", RULE_NAMES)
def test_epoch_loop_takes_the_optimizer_steps(rule, batch_size, sparse):
    X, y = classification(sparse=sparse)
    hyper = dict(lr=0.05) if rule != "adadelta" else {}
    model = gd.fit("logistic", X, y, rule, batch_size=batch_size, epochs=3, alpha=0.01, shuffle=False,
                   intercept_scale=1.0, progress=False, n_threads=1, **hyper)
    W, b = numpy_run(rule, X, y, batch_size or X.shape[0], 3, 0.01, hyper, sparse)
    np.testing.assert_allclose(model.coef_[0], W[:, 0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-9, atol=1e-11)
    assert model.optimizer_.t == 3 * -(-X.shape[0] // (batch_size or X.shape[0]))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("batch_size", [1, 7], ids=["sgd", "minibatch"])
@pytest.mark.parametrize("options", [dict(clip_norm=0.05), dict(clip_value=0.02),
                                     dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
                                     dict(clip_norm=0.05, weight_decay=0.1)], ids=lambda o: "-".join(o))
@pytest.mark.parametrize("rule", ["sgd", "momentum", "adagrad", "adam"])
def test_epoch_loop_clips_and_decays_as_the_optimizer(rule, options, batch_size, sparse):
    """Gradient clipping (the global norm over W's and b's gradients of each step, in C; each coordinate) and
    weight decay in fit's epoch loop equal the optimizer's steps with those options; and the clipping changes
    the fit (it is not ignored)."""
    X, y = classification(sparse=sparse)
    hyper = dict(lr=0.5, **options)
    model = gd.fit("logistic", X, y, rule, batch_size=batch_size, epochs=3, alpha=0.01, shuffle=False,
                   intercept_scale=1.0, progress=False, n_threads=1, **hyper)
    W, b = numpy_run(rule, X, y, batch_size, 3, 0.01, hyper, sparse)
    np.testing.assert_allclose(model.coef_[0], W[:, 0], rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(model.intercept_, b, rtol=1e-9, atol=1e-11)
    plain = gd.fit("logistic", X, y, rule, batch_size=batch_size, epochs=3, alpha=0.01, shuffle=False,
                   intercept_scale=1.0, progress=False, n_threads=1, lr=0.5)
    assert np.abs(plain.coef_ - model.coef_).max() > 1e-3


def test_hogwild_epochs_clip_each_step():
    """Two Hogwild! threads on CSR data: each step of SGD moves W by at most lr * clip_norm, so after n steps from
    zero ||W|| <= n lr clip_norm (far below the unclipped fit's norm)."""
    X, y = classification(n=400, d=30, sparse=True)
    fit = dict(batch_size=1, epochs=1, shuffle=False, progress=False, n_threads=2, fit_intercept=False, lr=0.5)
    clipped = gd.fit("logistic", X, y, "sgd", clip_norm=1e-3, **fit)
    plain = gd.fit("logistic", X, y, "sgd", **fit)
    assert np.linalg.norm(clipped.coef_) <= 400 * 0.5 * 1e-3 + 1e-12
    assert np.linalg.norm(plain.coef_) > 10 * np.linalg.norm(clipped.coef_)


def test_float32_trains_in_float32():
    X, y = classification(dtype=np.float32)
    model = gd.fit("logistic", X, y, "adam", batch_size=8, epochs=20, lr=0.05, progress=False, random_state=0)
    assert model.coef_.dtype == np.float32
    assert (model.predict(X) == y).mean() > 0.9
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


@pytest.mark.parametrize("loss, make_y", [
    ("squared", lambda z: z), ("hinge", lambda z: np.where(z > 0, "yes", "no")),
    ("softmax", lambda z: np.digitize(z, [-0.5, 0.5]))])
def test_losses_fit_their_targets(loss, make_y):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 5))
    y = make_y(X @ rng.standard_normal(5))
    model = gd.fit(loss, X, y, "adam", batch_size=16, epochs=30, lr=0.02, progress=False, random_state=1)
    pred = model.predict(X)
    if loss == "squared":
        assert np.mean((pred - y) ** 2) < 1e-3
    else:
        assert (pred == y).mean() > 0.9
    if loss == "softmax":
        p = model.predict_proba(X[:3])
        np.testing.assert_allclose(p.sum(axis=1), 1)
        assert p.shape == (3, 3)


def test_shuffling_is_seeded():
    X, y = classification()
    fits = [gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=2, random_state=s, progress=False).coef_
            for s in (0, 0, 1)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


def test_schedule_sets_each_steps_rate():
    X, y = classification()
    sched = gd.schedules.StepDecay(factor=0.5, every=1)
    model = gd.fit("logistic", X, y, "sgd", batch_size=None, epochs=3, lr=0.4, schedule=sched, shuffle=False,
                   progress=False)
    assert [h["lr"] for h in model.history_] == [0.4, 0.2, 0.1]
    W = np.zeros((X.shape[1], 1))
    b = np.zeros(1)
    opt = gd.SGD([W, b], lr=0.4)
    for epoch in range(3):
        _, dW, db = gd.losses.loss_gradient("logistic", X, y, W, b)
        opt.lr = 0.4 * 0.5 ** epoch
        opt.step([dW, db])
    np.testing.assert_allclose(model.coef_[0], W[:, 0], rtol=1e-12)


def test_early_stopping_stops_and_restores_the_best_epoch():
    """Pure-noise labels and many features: the training loss falls while the validation loss rises."""
    rng = np.random.default_rng(5)
    X, y = rng.standard_normal((80, 60)), rng.integers(0, 2, 80)
    Xv, yv = rng.standard_normal((80, 60)), rng.integers(0, 2, 80)
    model = gd.fit("logistic", X, y, "adam", batch_size=8, epochs=200, lr=0.05, progress=False, random_state=0,
                   validation_data=(Xv, yv), early_stopping=gd.EarlyStopping(patience=3))
    val = [h["val_loss"] for h in model.history_]
    assert len(val) < 200
    best = int(np.argmin(val))
    assert len(val) == best + 1 + 3
    W = np.ascontiguousarray(model.coef_.T)
    assert gd.losses.loss_gradient("logistic", Xv, yv, W, model.intercept_)[0].mean() == pytest.approx(val[best])


def test_validation_fraction_holds_out_examples():
    X, y = classification(n=100)
    model = gd.fit("logistic", X, y, "adagrad", epochs=2, validation_fraction=0.2, progress=False, random_state=0)
    assert all(h["val_loss"] is not None for h in model.history_)
    assert model.history_[0]["examples_per_second"] > 0


def test_gradient_noise_has_the_scheduled_variance():
    """With X = 0 and no penalty W's gradient is the noise alone, so after T SGD steps of lr 1 each coordinate
    of W is minus a sum of T independent N(0, sigma_t^2) draws."""
    n, d = 50, 4000
    X, y = np.zeros((n, d)), np.zeros(n)
    noise = gd.GradientNoise(eta=0.3, gamma=0.55)
    model = gd.fit("squared", X, y, "sgd", batch_size=1, epochs=1, lr=1.0, gradient_noise=noise, progress=False,
                   random_state=0)
    expected = np.sum(0.3 / (1 + np.arange(1, n + 1)) ** 0.55)
    assert np.var(model.coef_) == pytest.approx(expected, rel=0.06)
    assert abs(np.mean(model.coef_)) < 4 * np.sqrt(expected / d)


def test_callback_can_stop():
    X, y = classification()
    seen = []
    model = gd.fit("logistic", X, y, "sgd", epochs=10, progress=False, callbacks=[lambda h: seen.append(h) or
                                                                                  h["epoch"] == 2])
    assert len(model.history_) == 2 and len(seen) == 2


def test_intercept_scale():
    """The intercept's steps are lr * intercept_scale: with SGD from zero, b after one batch step is
    -lr * scale * mean(dL/dz); sparse data defaults to scale 0.01."""
    X, y = classification(sparse=True)
    _, _, db = gd.losses.loss_gradient("logistic", X, y, np.zeros((X.shape[1], 1)), np.zeros(1))
    for scale, expected in ((None, 0.01), (0.5, 0.5)):
        model = gd.fit("logistic", X, y, "sgd", batch_size=None, epochs=1, lr=0.1, intercept_scale=scale,
                       progress=False, n_threads=1)
        np.testing.assert_allclose(model.intercept_, -0.1 * expected * db, rtol=1e-12)


def test_no_intercept():
    X, y = classification()
    model = gd.fit("logistic", X, y, "adam", epochs=3, fit_intercept=False, progress=False)
    assert not model.intercept_.any() and model.coef_.any()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(optimizer="adamw"), ValueError, "optimizer must be one of"),
    (dict(batch_size=0), ValueError, r"batch_size must be None or an int >= 1, got 0"),
    (dict(batch_size=61), ValueError, r"in \[1, 60\]"),
    (dict(epochs=0), ValueError, "epochs must be an int >= 1"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(sparse="exact"), TypeError, "fit takes no 'sparse'"),
    (dict(schedule="warmup"), ValueError, "schedule must be"),
    (dict(validation_fraction=0.999), ValueError, "leaves no"),
    (dict(n_threads=0), ValueError, r"n_threads must be None or an int in \[1, "),
    (dict(n_threads=2.5), TypeError, "n_threads"),
])
def test_bad_arguments(kwargs, error, match):
    X, y = classification()
    kwargs = {"optimizer": "sgd", "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        gd.fit("logistic", X, y, **kwargs)


def test_threshold_schedule_reduces_on_plateau():
    sched = gd.schedules.Threshold(factor=0.5, patience=1, threshold=0.01)
    rates = []
    for loss in [1.0, 0.5, 0.499, 0.498, 0.497, 0.2]:
        rates.append(sched.rate(1.0, 0))
        sched.observe(loss)
    assert rates == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


@pytest.mark.parametrize("sched, eta0, k, expected", [
    (gd.schedules.Constant(), 0.1, 7, 0.1),
    (gd.schedules.StepDecay(0.5, 2), 1.0, 5, 0.25),
    (gd.schedules.Exponential(0.9), 1.0, 2, 0.81),
    (gd.schedules.InverseTime(k=2.0, power=0.5), 1.0, 4, 1 / 3),
    (gd.schedules.Cosine(period=4, eta_min=0.1), 1.1, 2, 0.6),
    (gd.schedules.Optimal(alpha=1e-4), 9.9, 1, 1 / (1e-4 * 1e4 * 0.1)),
])
def test_schedule_formulas(sched, eta0, k, expected):
    assert sched.rate(eta0, k) == pytest.approx(expected)


def test_naive_curriculum_orders_easy_to_hard():
    """A naive curriculum with fixed scores takes the examples in score order: the same as SGD without
    shuffling on the examples sorted by score."""
    X, y = classification()
    scores = np.random.default_rng(9).random(len(y))
    model = gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=2, progress=False,
                   curriculum=gd.Curriculum(scores, "naive"))
    order = np.argsort(scores, kind="stable")
    sorted_fit = gd.fit("logistic", X[order], y[order], "sgd", batch_size=1, epochs=2, shuffle=False,
                        progress=False)
    np.testing.assert_array_equal(model.coef_, sorted_fit.coef_)


def test_mixed_curriculum_mixes_uniform_draws():
    curriculum = gd.Curriculum(np.arange(1000.0)[::-1], "mixed", mix=0.3)
    order = curriculum.order(np.arange(1000.0)[::-1], np.random.default_rng(0))
    in_place = order == np.arange(1000)[::-1]
    assert 0.6 < in_place.mean() < 0.8  # 70% of positions keep the easy-to-hard order (plus lucky draws)


def test_loss_curriculum_orders_by_the_current_losses():
    """difficulty='loss': epoch 1 from zero weights (all losses equal: the given order), epoch 2 ordered by the
    losses after epoch 1, easy first; the same as SGD steps taken in those orders."""
    X, y = classification(n=50)
    model = gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=2, lr=0.1, progress=False,
                   curriculum=gd.Curriculum("loss"))
    W, b = np.zeros((X.shape[1], 1)), np.zeros(1)
    opt = gd.SGD([W, b], lr=0.1)
    order = np.arange(len(y))
    for epoch in range(2):
        if epoch:
            order = np.argsort(gd.losses.loss_gradient("logistic", X, y, W, b)[0], kind="stable")
        for i in order:
            _, dW, db = gd.losses.loss_gradient("logistic", X[i:i + 1], y[i:i + 1], W, b, classes=np.array([0, 1]))
            opt.step([dW, db])
    np.testing.assert_allclose(model.coef_[0], W[:, 0], rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match="one score per training example"):
        gd.fit("logistic", X, y, epochs=1, progress=False, curriculum=gd.Curriculum(np.zeros(3)))
    with pytest.raises(ValueError, match="strategy must be"):
        gd.Curriculum("loss", "hard-first")


def test_init_continues_training_exactly():
    """Two fits of 2 epochs, the second continuing the first (init), equal one fit of 4 epochs."""
    X, y = classification(sparse=True)
    kwargs = dict(batch_size=4, lr=0.05, shuffle=False, progress=False, schedule=gd.schedules.InverseTime(0.1),
                  n_threads=1)
    whole = gd.fit("logistic", X, y, "adam", epochs=4, **kwargs)
    first = gd.fit("logistic", X, y, "adam", epochs=2, **kwargs)
    second = gd.fit("logistic", X, y, "adam", epochs=2, init=first, **kwargs)
    np.testing.assert_array_equal(second.coef_, whole.coef_)
    assert [h["lr"] for h in second.history_] == [h["lr"] for h in whole.history_]
    assert second.optimizer_.t == whole.optimizer_.t
    with pytest.raises(ValueError, match="init was fit with loss 'logistic', optimizer 'adam'"):
        gd.fit("logistic", X, y, "sgd", epochs=1, init=first, progress=False)


def test_classes_given_for_a_batch_missing_some():
    X, y = classification()
    model = gd.fit("softmax", X[:5], np.zeros(5, int), "sgd", batch_size=None, epochs=1, classes=[0, 1, 2],
                   progress=False)
    assert model.coef_.shape == (3, X.shape[1])
    with pytest.raises(ValueError, match=r"classes \[7\] not among"):
        gd.fit("softmax", X[:5], np.full(5, 7), "sgd", batch_size=None, epochs=1, classes=[0, 1, 2], progress=False)


def uniform_sparse(n=4000, d=20_000, k=10, seed=0):
    """Rows of k uniformly drawn features: few shared between examples, Hogwild!'s favourable case."""
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix((rng.random(n * k), (np.repeat(np.arange(n), k), rng.integers(0, d, n * k))), shape=(n, d))
    return X, (X @ rng.standard_normal(d) > 0).astype(int)


@pytest.mark.parametrize("rule", ["sgd", "adagrad", "adam"])
def test_hogwild_two_threads_reach_the_one_thread_loss(rule):
    X, y = uniform_sparse()
    losses = {}
    for threads in (1, 2):
        model = gd.fit("logistic", X, y, rule, batch_size=1, epochs=5, lr=0.05, random_state=0, progress=False,
                       n_threads=threads)
        W = np.ascontiguousarray(model.coef_.T)
        losses[threads] = gd.losses.loss_gradient("logistic", X, y, W, model.intercept_)[0].mean()
        assert model.optimizer_.t == 5 * X.shape[0]
    assert losses[2] == pytest.approx(losses[1], rel=0.01)


def test_hogwild_heavy_contention_stays_finite():
    """Eight threads on three features and mini-batches: every step contends; nothing may break."""
    rng = np.random.default_rng(1)
    X = sp.csr_matrix(rng.random((500, 3)))
    y = rng.integers(0, 3, 500)
    for batch_size in (1, 7):
        model = gd.fit("softmax", X, y, "adam", batch_size=batch_size, epochs=3, lr=0.01, n_threads=8,
                       progress=False, gradient_noise=gd.GradientNoise(0.01))
        assert np.isfinite(model.coef_).all() and np.isfinite(model.history_[-1]["train_loss"])


def test_hogwild_schedule_numbers_every_step():
    """With 2 threads the k-th batch of thread i is step 2k + i: 50 and 51 examples per thread make 5 and 6
    batches, numbered up to 12 per epoch (a serial build runs one thread: 11 batches)."""
    X, y = uniform_sparse(n=101)
    model = gd.fit("logistic", X, y, "sgd", batch_size=10, epochs=2, n_threads=2, progress=False,
                   schedule=gd.schedules.InverseTime(k=1.0))
    assert model.optimizer_.t == 2 * (12 if gd.openmp_enabled() else 11)


def test_hogwild_hot_feature_replicas():
    """A feature in every row (hot: kept on per-thread replicas, renumbered) carries the label; two threads
    find it at its user index and reach the one-thread loss; the optimizer state comes back in user order."""
    rng = np.random.default_rng(4)
    n, d = 6000, 5000
    y = rng.integers(0, 2, n)
    noise = sp.csr_matrix((rng.random(n * 5), (np.repeat(np.arange(n), 5), rng.integers(0, d, n * 5))), shape=(n, d))
    flipped = np.where(rng.random(n) < 0.1, 1 - y, y)  # 10% label noise: the loss settles near 0.33
    signal = sp.csr_matrix((np.where(flipped == 1, 1.0, -1.0), (np.arange(n), np.full(n, 4321))), shape=(n, d))
    X = (noise + signal).tocsr()
    fits = {k: gd.fit("logistic", X, y, "adagrad", batch_size=1, epochs=3, lr=0.1, random_state=0,
                      progress=False, n_threads=k) for k in (1, 2)}
    for model in fits.values():
        assert np.argmax(np.abs(model.coef_[0])) == 4321
        G = model.optimizer_.state[0]["G"]
        assert np.argmax(G[:, 0]) == 4321 and model.optimizer_.params[0] is model._W
    loss = {k: gd.losses.loss_gradient("logistic", X, y, np.ascontiguousarray(m.coef_.T), m.intercept_)[0].mean()
            for k, m in fits.items()}
    assert loss[2] == pytest.approx(loss[1], rel=0.02)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("alpha", [1e-4, 1e-6])
def test_schedule_optimal_by_name_is_scikit_learns_for_the_fits_alpha(alpha, sparse):
    """schedule="optimal" is Optimal(the fit's alpha), so plain SGD with shuffle=False on one thread follows
    scikit-learn's SGDClassifier(learning_rate="optimal") (it used to be Optimal(1e-4) whatever the alpha)."""
    SGDClassifier = pytest.importorskip("sklearn.linear_model").SGDClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20))
    X[rng.random(X.shape) < 0.6] = 0
    y = (X @ rng.standard_normal(20) + 0.3 * rng.standard_normal(300) > 0).astype(int)
    X = sp.csr_matrix(X) if sparse else X
    model = gd.fit("logistic", X, y, "sgd", alpha=alpha, schedule="optimal", batch_size=1, shuffle=False,
                   n_threads=1, epochs=4, progress=False)
    peer = SGDClassifier(loss="log_loss", alpha=alpha, learning_rate="optimal", shuffle=False, max_iter=4,
                         tol=None).fit(X, y)
    np.testing.assert_allclose(model.coef_, peer.coef_, rtol=0, atol=1e-8 * np.abs(peer.coef_).max())
    np.testing.assert_allclose(model.intercept_, peer.intercept_, rtol=1e-7)


def test_schedule_optimal_needs_a_penalty():
    with pytest.raises(ValueError, match=r"schedule='optimal' needs an L2 penalty alpha > 0"):
        gd.fit("logistic", np.ones((4, 2)), [0, 1, 0, 1], "sgd", schedule="optimal", progress=False)


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_hogwild_batches_of_one_stay_finite_for_every_rule(rule):
    """Hogwild! on batches of one with a rare positive class (the hot features' replicas merged by summing the
    threads' changes drove Adam's, RMSprop's and Adadelta's decaying state below 0: NaN)."""
    X, y = gd.datasets.make_classification(n_rows=20_000, n_features=2**14)
    y = (np.random.default_rng(0).random(len(y)) < 0.02).astype(np.int64)
    model = gd.fit("logistic", X, y, rule, batch_size=1, n_threads=2, epochs=1, random_state=0, progress=False)
    assert np.isfinite(model.history_[-1]["train_loss"]) and np.isfinite(model.coef_).all()


def test_defaults_by_the_kind_of_loss():
    """No optimizer, no batch size: Adam at lr 0.01 on batches of 32 for a classifier, SGD at lr 0.01 on single
    examples for a regression (gdfast.linear.trainer.FIT_DEFAULTS, measured in bench/results/defaults.md); a
    named rule keeps its own hyperparameters; init's rule is continued."""
    X, y = classification(n=200)
    model = gd.fit("logistic", X, y, progress=False)
    assert model.optimizer_.rule.name == "adam" and model.optimizer_.lr == 0.01
    assert model.optimizer_.t == 5 * -(-200 // 32) and (model.predict(X) == y).mean() > 0.8
    regression = gd.fit("squared", X, X @ np.arange(6.0), progress=False)
    assert regression.optimizer_.rule.name == "sgd" and regression.optimizer_.t == 5 * 200
    assert gd.fit("logistic", X, y, "adam", progress=False).optimizer_.lr == gd.RULES["adam"].defaults["lr"]
    more = gd.fit("logistic", X, y, epochs=1, init=gd.fit("logistic", X, y, "adagrad", progress=False),
                  progress=False)
    assert more.optimizer_.rule.name == "adagrad"
    assert gd.fit("logistic", X, y, batch_size=None, epochs=2, progress=False).optimizer_.t == 2  # batch GD
