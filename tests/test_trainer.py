"""gd.Trainer: set up once, advanced by epochs (fit) or by chunks (partial_fit)."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd


def problem(sparse, n=120, d=15, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[rng.random(X.shape) < 0.5] = 0.0
    y = (X @ rng.standard_normal(d) > 0).astype(int)
    return (sp.csr_matrix(X) if sparse else X), y


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("rule", ["sgd", "momentum", "adagrad", "adam", "amsgrad"])
def test_chunks_in_order_are_bitwise_one_epoch_over_their_concatenation(rule, sparse):
    """shuffle=False, one thread, a per-step schedule: the chunks' passes take the same steps, at the same step
    numbers and rates, as one epoch over all the rows."""
    X, y = problem(sparse)
    options = dict(batch_size=4, shuffle=False, n_threads=1, progress=False, lr=0.05,
                   schedule=gd.schedules.InverseTime(power=0.5))
    whole = gd.Trainer("logistic", rule, **options).fit(X, y, 1)
    trainer = gd.Trainer("logistic", rule, classes=[0, 1], **options)
    for start in range(0, 120, 40):
        trainer.partial_fit(X[start:start + 40], y[start:start + 40])
    np.testing.assert_array_equal(trainer.model.coef_, whole.coef_)
    np.testing.assert_array_equal(trainer.model.intercept_, whole.intercept_)
    assert trainer.model.optimizer_.t == whole.optimizer_.t == 30
    assert len(trainer.history) == 3


def test_fit_is_a_trainers_fit():
    X, y = problem(True)
    options = dict(batch_size=8, n_threads=1, progress=False, random_state=4, lr=0.1,
                   gradient_noise=gd.GradientNoise(0.01))
    a = gd.fit("logistic", X, y, "adagrad", epochs=3, **options)
    b = gd.Trainer("logistic", "adagrad", **options).fit(X, y, 3)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert [h["train_loss"] for h in a.history_] == [h["train_loss"] for h in b.history_]


def test_a_trainer_sets_up_once_and_continues():
    X, y = problem(True)
    trainer = gd.Trainer("logistic", "adam", batch_size=8, n_threads=1, progress=False, random_state=0)
    model = trainer.fit(X, y, 2)
    c_model, W = trainer._c_model, model._W
    assert trainer.partial_fit(X[:30], y[:30]) is model and trainer.fit(X, y, 1) is model
    assert trainer._c_model is c_model and model._W is W  # nothing rebuilt
    assert len(model.history_) == 4 and model.optimizer_.t == 2 * 15 + 4 + 15


def test_continuing_a_trainer_equals_continuing_its_model():
    """More epochs on the same trainer == fit(init=model), which builds a new trainer from the model's state."""
    X, y = problem(False)
    options = dict(batch_size=4, n_threads=1, progress=False, random_state=1, lr=0.05,
                   gradient_noise=gd.GradientNoise(0.01), early_stopping=gd.EarlyStopping(patience=10),
                   validation_data=problem(False, n=40, seed=1))
    kept = gd.Trainer("logistic", "rmsprop", **{k: v for k, v in options.items() if k != "validation_data"})
    kept.fit(X, y, 2, validation_data=options["validation_data"])
    kept.fit(X, y, 2, validation_data=options["validation_data"])
    first = gd.fit("logistic", X, y, "rmsprop", epochs=2, **options)
    second = gd.fit("logistic", X, y, "rmsprop", epochs=2, init=pickle.loads(pickle.dumps(first)), **options)
    np.testing.assert_array_equal(kept.model.coef_, second.coef_)
    assert [h["val_loss"] for h in kept.history] == [h["val_loss"] for h in second.history_]


@pytest.mark.parametrize("change, match", [
    (lambda X: X[:, :-1], "14 features"),
    (lambda X: X.astype(np.float32), "dtype float32"),
    (lambda X: X.toarray(), "is dense"),
])
def test_a_chunk_unlike_the_first_is_refused(change, match):
    X, y = problem(True)
    trainer = gd.Trainer("logistic", n_threads=1, progress=False, classes=[0, 1])
    trainer.partial_fit(X[:60], y[:60])
    before = trainer.model.coef_.copy()
    with pytest.raises(ValueError, match=match):
        trainer.partial_fit(change(X[60:]), y[60:])
    np.testing.assert_array_equal(trainer.model.coef_, before)


def test_a_chunk_with_an_unknown_class_is_refused():
    X, y = problem(False)
    trainer = gd.Trainer("logistic", progress=False, classes=[0, 1])
    trainer.partial_fit(X[:60], y[:60])
    with pytest.raises(ValueError, match=r"classes \[2\] not among \[0, 1\]"):
        trainer.partial_fit(X[60:], np.where(y[60:] == 1, 2, 0))


def test_chunks_smaller_than_the_batch_size_take_one_step():
    X, y = problem(False)
    trainer = gd.Trainer("logistic", batch_size=32, progress=False, classes=[0, 1])
    trainer.partial_fit(X[:10], y[:10])
    assert trainer.model.optimizer_.t == 1
    with pytest.raises(ValueError, match=r"batch_size .* in \[1, 10\]"):  # fit's epochs need whole batches
        trainer.fit(X[:10], y[:10], 1)


def test_estimators_keep_their_trainer_between_partial_fits():
    pytest.importorskip("sklearn")
    X, y = problem(True)
    est = gd.GDClassifier("log_loss", optimizer="adagrad", learning_rate="constant", eta0=0.1, batch_size=4,
                          random_state=2, n_threads=1)
    trainer = gd.Trainer("logistic", "adagrad", lr=0.1, batch_size=4, random_state=2, n_threads=1, alpha=1e-4,
                         progress=False, classes=[0, 1])
    for start in range(0, 120, 30):
        est.partial_fit(X[start:start + 30], y[start:start + 30], classes=[0, 1])
        trainer.partial_fit(X[start:start + 30], y[start:start + 30])
    assert est._gd_trainer.model is est.model_
    np.testing.assert_array_equal(est.coef_, trainer.model.coef_)
    assert est.n_iter_ == 1 and est.t_ == 1 + trainer.model.optimizer_.t  # scikit-learn's counts
    restored = pickle.loads(pickle.dumps(est))  # without its trainer: the next partial_fit makes one from the model
    assert not hasattr(restored, "_gd_trainer")
    restored.partial_fit(X[:30], y[:30])
    est.partial_fit(X[:30], y[:30])
    np.testing.assert_array_equal(restored.coef_, est.coef_)


def test_an_estimators_new_parameters_reach_its_next_partial_fit():
    pytest.importorskip("sklearn")
    X, y = problem(True)
    est = gd.GDClassifier("log_loss", optimizer="sgd", learning_rate="constant", eta0=0.1, batch_size=4,
                          random_state=2, n_threads=1, penalty=None)
    est.partial_fit(X[:60], y[:60], classes=[0, 1])
    est.set_params(eta0=1e-300)  # no more steps' worth of movement
    before = est.coef_.copy()
    est.partial_fit(X[60:], y[60:])
    np.testing.assert_array_equal(est.coef_, before)
    assert est.model_.optimizer_.lr == 1e-300 and est.n_iter_ == 1


def test_an_estimators_later_chunks_are_still_checked():
    """A later partial_fit skips scikit-learn's validation of a chunk the Trainer takes as it is; the Trainer's
    and the width check still refuse what scikit-learn would."""
    pytest.importorskip("sklearn")
    X, y = problem(True)
    est = gd.GDClassifier(n_threads=1).partial_fit(X[:60], y[:60], classes=[0, 1])
    bad_values = X[60:].copy()
    bad_values.data[0] = np.nan
    for X_bad, y_bad, error, match in [
        (X[60:, :-1], y[60:], ValueError, "X has 14 features, but GDClassifier is expecting 15 features"),
        (bad_values, y[60:], ValueError, "NaN"),
        (X[60:], y[61:], ValueError, "one target per example"),
        (X[60:], y[60:] + 0.5, ValueError, "not among"),
    ]:
        with pytest.raises(error, match=match):
            est.partial_fit(X_bad, y_bad)
    assert est.n_iter_ == 1


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_validation_fraction_splits_by_row_index(sparse):
    """validation_fraction trains on its training rows and evaluates the held-out ones in place: the recorded
    validation loss is the mean loss of exactly those rows (the split drawn first from random_state), and the
    fit's peak traced memory stays far below X's size (the rows are not copied)."""
    import tracemalloc
    rng = np.random.default_rng(1)
    n, d = 40_000, 256
    X = sp.random(n, d, density=0.1, format="csr", random_state=1, dtype=np.float64) if sparse else \
        rng.standard_normal((n, d))
    y = (X @ rng.standard_normal(d) > 0).astype(int)
    x_bytes = X.data.nbytes + X.indices.nbytes if sparse else X.nbytes
    tracemalloc.start()
    model = gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=2, n_threads=1, random_state=3, progress=False,
                   validation_fraction=0.25)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    val = np.sort(np.random.default_rng(3).permutation(n)[:n // 4])
    losses, _, _ = gd.losses.loss_gradient("logistic", X[val], y[val], model._W, model._b)
    assert model.history_[-1]["val_loss"] == pytest.approx(losses.mean(), rel=1e-12)
    assert peak < 0.2 * x_bytes, (peak, x_bytes)
