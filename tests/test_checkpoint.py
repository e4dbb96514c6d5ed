"""Checkpoints: save, load, and a resumed run bitwise equal to an uninterrupted one."""
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from test_train import classification


def gradients(rng, n, steps):
    """Dense, CSR and RowSparse gradients in turn, for a (n // 8, 8) parameter and a 1-D one."""
    out = []
    for k in range(steps):
        if k % 3 == 0:
            out.append([rng.standard_normal((n // 8, 8)), rng.standard_normal(n)])
        elif k % 3 == 1:
            rows = np.sort(rng.choice(n // 8, 5, replace=False))
            out.append([gd.RowSparse(rows, rng.standard_normal((5, 8))),
                        sp.random(1, n, 0.02, "csr", random_state=rng)])
        else:
            out.append([sp.random(n // 8, 8, 0.05, "csr", random_state=rng), rng.standard_normal(n)])
    return out


CASES = [(rule, sparse, convention) for rule in gd.OPTIMIZERS for sparse in ("lazy", "exact")
         for convention in gd.CONVENTIONS
         if not (rule == "nadam" and sparse == "exact" and convention in ("torch", "keras"))]  # not supported


@pytest.mark.parametrize("rule, sparse, convention", CASES)
def test_optimizer_resumes_bitwise(tmp_path, rule, sparse, convention):
    """20 steps, save (mid-way through exact-mode catch-up), load, 20 more == 40 steps without a break, in
    every framework convention (Nadam's running product of momenta included)."""
    rng = np.random.default_rng(0)
    grads = gradients(rng, 256, 40)
    params = [np.zeros((32, 8)), np.zeros(256)]
    whole = gd.OPTIMIZERS[rule]([p.copy() for p in params], sparse=sparse, convention=convention, lr=0.01)
    for g in grads:
        whole.step(g)
    first = gd.OPTIMIZERS[rule]([p.copy() for p in params], sparse=sparse, convention=convention, lr=0.01)
    for g in grads[:20]:
        first.step(g)
    first.save(tmp_path / "opt.npz")
    resumed = gd.load(tmp_path / "opt.npz")
    assert type(resumed) is type(first) and resumed.t == 20 and resumed.sparse == sparse
    assert resumed.convention == convention
    for g in grads[20:]:
        resumed.step(g)
    resumed.flush()
    whole.flush()
    for a, b in zip(resumed.params, whole.params):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(resumed.state, whole.state):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_fit_resumes_bitwise_with_shuffling_noise_schedule_and_early_stopping(tmp_path):
    """3 + 3 epochs through a checkpoint == 6 epochs: the shuffling order, the gradient-noise stream, the
    threshold schedule's state and the early-stopping record all continue."""
    X, y = classification(sparse=True)
    kwargs = dict(batch_size=4, lr=0.2, progress=False, n_threads=1, random_state=3,
                  gradient_noise=gd.GradientNoise(0.01), validation_fraction=0.2)
    make = dict(schedule=lambda: gd.schedules.Threshold(factor=0.5, patience=0, threshold=0.5),
                early_stopping=lambda: gd.EarlyStopping(patience=100))
    whole = gd.fit("logistic", X, y, "adam", epochs=6, **kwargs, **{k: f() for k, f in make.items()})
    first = gd.fit("logistic", X, y, "adam", epochs=3, **kwargs, **{k: f() for k, f in make.items()})
    first.save(tmp_path / "model.npz")
    loaded = gd.load(tmp_path / "model.npz")
    second = gd.fit("logistic", X, y, "adam", epochs=3, init=loaded, **kwargs, **{k: f() for k, f in make.items()})
    np.testing.assert_array_equal(second.coef_, whole.coef_)
    np.testing.assert_array_equal(second.intercept_, whole.intercept_)
    assert [h["lr"] for h in second.history_] == [h["lr"] for h in whole.history_]
    assert len({h["lr"] for h in whole.history_}) > 1  # the schedule did act
    assert [h["val_loss"] for h in second.history_] == [h["val_loss"] for h in whole.history_]


def test_model_checkpoint_keeps_predictions_classes_and_history(tmp_path):
    X, y = classification()
    labels = np.array(["cat", "dog", "eel"])[(np.arange(len(y)) + y) % 3]
    model = gd.fit("softmax", X, labels, "adagrad", epochs=2, batch_size=8, lr=0.1, progress=False)
    model.save(tmp_path / "m.npz")
    loaded = gd.load(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.history_ == model.history_ and list(loaded.classes_) == ["cat", "dog", "eel"]
    assert loaded.optimizer_.t == model.optimizer_.t


def test_estimator_checkpoint(tmp_path):
    X, y = classification()
    est = gd.GDClassifier(optimizer="rmsprop", eta0=0.01, max_iter=3, random_state=0,
                          schedule=gd.schedules.StepDecay(0.5, 1))
    est.fit(X, y)
    est.save(tmp_path / "e.npz")
    loaded = gd.load(tmp_path / "e.npz")
    assert type(loaded) is gd.GDClassifier and loaded.get_params()["eta0"] == 0.01
    assert isinstance(loaded.schedule, gd.schedules.StepDecay) and loaded.schedule.factor == 0.5
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    gd.GDRegressor().save(tmp_path / "unfitted.npz")
    assert not hasattr(gd.load(tmp_path / "unfitted.npz"), "coef_")


def test_bad_checkpoints_give_clear_errors(tmp_path):
    opt = gd.Adam([np.zeros(100)])
    opt.step(np.ones(100))
    opt.save(tmp_path / "good.npz")
    data = (tmp_path / "good.npz").read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[:len(data) // 2])
    (tmp_path / "garbage.npz").write_bytes(b"not a checkpoint at all")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    for name in ("truncated", "garbage", "other"):
        with pytest.raises(ValueError, match=f"{name}.npz"):
            gd.load(tmp_path / f"{name}.npz")
    with pytest.raises(FileNotFoundError):
        gd.load(tmp_path / "missing.npz")
    with pytest.raises(TypeError, match="gdfast saves an Optimizer"):
        gd.save([1, 2], tmp_path / "list.npz")


def test_factorization_checkpoint_and_pickle(tmp_path):
    rng = np.random.default_rng(0)
    M = sp.random(60, 40, density=0.2, format="csr", random_state=0) * 4
    result = gd.hogwild.factorize(M, 3, "adagrad", epochs=2, n_threads=1, random_state=0, progress=False, lr=0.1)
    result.save(tmp_path / "f.npz")
    for loaded in (gd.load(tmp_path / "f.npz"), pickle.loads(pickle.dumps(result))):
        assert type(loaded) is type(result) and loaded.history_ == result.history_
        np.testing.assert_array_equal(loaded.user_factors, result.user_factors)
        np.testing.assert_array_equal(loaded.item_factors, result.item_factors)
        assert loaded.optimizer_.t == result.optimizer_.t
        np.testing.assert_array_equal(loaded.optimizer_.state[0]["G"], result.optimizer_.state[0]["G"])
        assert loaded.optimizer_.params[0] is loaded.user_factors  # the optimizer steps the loaded factors
    users, items = rng.integers(0, 60, 5), rng.integers(0, 40, 5)
    np.testing.assert_array_equal(gd.load(tmp_path / "f.npz").predict(users, items), result.predict(users, items))


def test_hogwild_fit_with_restore_best_continues_from_where_it_stood():
    """Hogwild! with hot features renumbers W internally; the weights kept for continuing after restore_best
    are in the user's order, so a continued fit goes on from where the first stood (its loss does not jump)."""
    X, y = gd.datasets.make_classification(n_rows=4000, n_features=2 ** 12, seed=1)
    kwargs = dict(batch_size=1, n_threads=2, random_state=0, progress=False, lr=0.5)
    first = gd.fit("logistic", X, y, "sgd", epochs=6, early_stopping=gd.EarlyStopping(patience=1), **kwargs)
    second = gd.fit("logistic", X, y, "sgd", epochs=1, init=first, **kwargs)
    assert second.history_[-1]["train_loss"] < first.history_[0]["train_loss"]
    assert second.history_[-1]["train_loss"] < 1.2 * min(h["train_loss"] for h in first.history_)
