"""Training from streams of chunks (gd.fit(loss, chunks, None), Trainer.fit and partial_fit on a source)."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd


def problem(sparse=True, n=300, d=40, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.3)
    y = (X @ rng.standard_normal(d) + 0.3 * rng.standard_normal(n) > 0).astype(int)
    X = X.astype(dtype)
    return (sp.csr_matrix(X) if sparse else X), y


def chunked(X, y, sizes, weight=None):
    """X, y (and weight) cut into consecutive chunks of the given sizes (the last takes the rest)."""
    bounds = np.cumsum([0, *sizes])
    bounds = [b for b in bounds if b < X.shape[0]] + [X.shape[0]]
    return [(X[a:b], y[a:b]) if weight is None else (X[a:b], y[a:b], weight[a:b]) for a, b in zip(bounds, bounds[1:])]


@pytest.mark.parametrize("sparse", [True, False], ids=["csr", "dense"])
@pytest.mark.parametrize("rule, batch, alpha", [("sgd", 1, 1e-3), ("sgd", 7, 1e-3), ("adagrad", 5, 0.0),
                                                ("adam", 16, 1e-4), ("momentum", 3, 0.0)])
def test_chunks_in_order_are_bitwise_the_fit_of_their_concatenation(rule, batch, alpha, sparse):
    """shuffle=False, one thread: every epoch over the chunks takes the steps of an epoch over all the rows,
    batches that straddle two chunks included (SGD's scaled W under an L2 penalty too), with per-step rates."""
    X, y = problem(sparse)
    weight = np.random.default_rng(1).choice([0.0, 0.5, 1.0, 2.0], X.shape[0])
    options = dict(batch_size=batch, shuffle=False, n_threads=1, progress=False, lr=0.05, alpha=alpha,
                   schedule=gd.schedules.InverseTime(power=0.5))
    whole = gd.fit("logistic", X, y, rule, epochs=3, sample_weight=weight, **options)
    streamed = gd.fit("logistic", chunked(X, y, [13, 50, 1, 2, 90, 40], weight), None, rule, epochs=3, **options)
    np.testing.assert_array_equal(streamed.coef_, whole.coef_)
    np.testing.assert_array_equal(streamed.intercept_, whole.intercept_)
    assert streamed.optimizer_.t == whole.optimizer_.t
    assert len(streamed.history_) == 3
    for ours, theirs in zip(streamed.history_, whole.history_):
        assert ours["examples"] == theirs["examples"] == np.count_nonzero(weight)
        assert ours["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-12)


def test_a_generator_makes_one_pass_and_is_refused_for_more():
    X, y = problem()
    model = gd.fit("logistic", (chunk for chunk in chunked(X, y, [100] * 3)), None, "sgd", epochs=1, progress=False)
    assert len(model.history_) == 1 and model.history_[0]["examples"] == 300
    with pytest.raises(ValueError, match="one-shot iterator of chunks .* epochs=2"):
        gd.fit("logistic", iter(chunked(X, y, [100] * 3)), None, "sgd", epochs=2, progress=False)


class Source:
    """A re-iterable source: each __iter__ a new pass (counted)."""

    def __init__(self, chunks):
        self.chunks, self.passes = chunks, 0

    def __iter__(self):
        self.passes += 1
        return iter(self.chunks)


def test_each_epoch_is_a_pass_over_a_reiterable_source():
    X, y = problem()
    source = Source(chunked(X, y, [64] * 5))
    model = gd.fit("logistic", source, None, "adagrad", epochs=4, n_threads=1, progress=False, random_state=0)
    assert source.passes == 4 and len(model.history_) == 4


def test_shuffled_streams_train_every_row_once_per_epoch_and_learn():
    """shuffle=True on a stream: windows of shuffle_buffer rows in a random order; each pass counts every
    example once, a seeded fit repeats itself, and the model learns as the in-memory fit does."""
    X, y = problem(n=2000)
    options = dict(batch_size=8, n_threads=1, progress=False, random_state=3, lr=0.05, shuffle_buffer=500)
    source = chunked(X, y, [128] * 16)
    a = gd.fit("logistic", source, None, "adam", epochs=3, **options)
    b = gd.fit("logistic", source, None, "adam", epochs=3, **options)
    whole = gd.fit("logistic", X, y, "adam", epochs=3, **options)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert all(h["examples"] == 2000 for h in a.history_)
    assert a.history_[-1]["train_loss"] == pytest.approx(whole.history_[-1]["train_loss"], rel=0.1)


def test_progressive_loss_and_a_holdout_that_drives_early_stopping():
    """train_loss is each example's loss before its own step (progressive validation); progressive_loss its mean
    since the start; holdout_period=k keeps every k-th example out of training and reports its loss as
    val_loss, which early stopping watches."""
    X, y = problem(n=1000)
    options = dict(batch_size=1, n_threads=1, progress=False, shuffle=False, lr=0.05)
    model = gd.fit("logistic", chunked(X, y, [100] * 10), None, "sgd", epochs=3, holdout_period=5, **options)
    held = np.arange(1000) % 5 == 4
    assert all(h["examples"] == 800 for h in model.history_)
    first = gd.fit("logistic", X[~held], y[~held], "sgd", epochs=1, **options)
    assert model.history_[0]["train_loss"] == pytest.approx(first.history_[0]["train_loss"], rel=1e-12)
    losses = [h["train_loss"] for h in model.history_]
    assert model.history_[-1]["progressive_loss"] == pytest.approx(np.mean(losses), rel=1e-12)
    assert all(h["val_loss"] is not None and h["val_loss"] > 0 for h in model.history_)
    stopped = gd.fit("logistic", chunked(X, y, [100] * 10), None, "sgd", epochs=50, holdout_period=5,
                     early_stopping=gd.EarlyStopping(patience=1, min_delta=1e-3), **options)
    assert len(stopped.history_) < 50


@pytest.mark.parametrize("chunks, error, match", [
    ([], ValueError, "holds no chunk"),
    ([(np.ones((3, 4)), np.array([0, 1, 0])), "not a chunk"], TypeError, "chunk 1 of X must be a tuple"),
    ([(np.ones((3, 4)), np.zeros(3))], ValueError, "chunk 0 of X: .* needs two classes .* unless classes= names them"),
    ([(np.ones((3, 4)), np.array([0, 1, 0])), (np.ones((3, 5)), np.array([0, 1, 1]))], ValueError,
     "chunk 1 of X has 5 features"),
    ([(np.ones((3, 4)), np.array([0, 1, 0])), (np.ones((3, 4), np.float32), np.array([0, 1, 1]))], ValueError,
     "chunk 1 of X has 4 features, dtype float32"),
    ([(np.ones((3, 4)), np.array([0, 1, 0])), (np.ones((3, 4)), np.array([0, 1]))], ValueError,
     "chunk 1 of X: y must be 1-D"),
])
def test_bad_streams_are_refused_naming_the_chunk(chunks, error, match):
    with pytest.raises(error, match=match):
        gd.fit("logistic", chunks, None, "sgd", batch_size=1, shuffle=False, epochs=1, progress=False)


@pytest.mark.parametrize("options, match", [
    (dict(validation_fraction=0.1), "validation_fraction needs X in memory"),
    (dict(batch_size=None), "batch_size=None"),
    (dict(sample_weight=np.ones(10)), "chunks carry their own"),
    (dict(curriculum=gd.Curriculum("loss")), "curriculum"),
])
def test_what_a_stream_cannot_do_is_refused(options, match):
    X, y = problem()
    with pytest.raises(ValueError, match=match):
        gd.fit("logistic", chunked(X, y, [100] * 3), None, "sgd", epochs=1, progress=False, **options)


def test_partial_fit_on_a_stream_is_one_pass():
    X, y = problem()
    options = dict(batch_size=4, shuffle=False, n_threads=1, progress=False, lr=0.05)
    trainer = gd.Trainer("logistic", "adagrad", **options)
    trainer.partial_fit(chunked(X, y, [30] * 10), None)
    whole = gd.fit("logistic", X, y, "adagrad", epochs=1, **options)
    np.testing.assert_array_equal(trainer.model.coef_, whole.coef_)
    assert len(trainer.history) == 1


def test_hogwild_threads_train_on_a_stream():
    X, y = problem(n=4000, d=400)
    model = gd.fit("logistic", chunked(X, y, [512] * 8), None, "sgd", batch_size=1, lr=0.1, epochs=3, n_threads=2,
                   progress=False)
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]
    assert np.mean(model.predict(X) == y) > 0.8


@pytest.mark.parametrize("holdout_period", [None, 7])
def test_a_shuffled_stream_fit_continues_exactly_from_its_model(holdout_period, tmp_path):
    """Two fits of 2 and 1 passes (init=, through a checkpoint) are the fit of 3: the windows' orders come from
    the trainer's random stream, restored before the first one is drawn."""
    X, y = problem()
    chunks = chunked(X, y, [64] * 5)
    options = dict(n_threads=1, random_state=3, progress=False, holdout_period=holdout_period, shuffle_buffer=100)
    once = gd.fit("logistic", chunks, None, "adagrad", epochs=3, **options)
    first = gd.fit("logistic", chunks, None, "adagrad", epochs=2, **options)
    first.save(tmp_path / "first.npz")
    then = gd.fit("logistic", chunks, None, epochs=1, init=gd.load(tmp_path / "first.npz"), **options)
    np.testing.assert_array_equal(then.coef_, once.coef_)
    assert [h["progressive_loss"] for h in then.history_] == [h["progressive_loss"] for h in once.history_]


@pytest.mark.parametrize("name", ["GDClassifier", "GDRegressor"])
def test_estimators_partial_fit_a_stream_chunk_by_chunk(name):
    """est.partial_fit(chunks, None) is scikit-learn's out-of-core loop: one partial_fit per chunk, in order."""
    pytest.importorskip("sklearn")
    X, y = problem()
    y = y if name == "GDClassifier" else X @ np.arange(X.shape[1]) / 40.0
    first = {"classes": [0, 1]} if name == "GDClassifier" else {}
    streamed, looped = getattr(gd, name)(random_state=0), getattr(gd, name)(random_state=0)
    streamed.partial_fit(chunked(X, y, [100, 100]), None, **first)
    for X_chunk, y_chunk in chunked(X, y, [100, 100]):
        looped.partial_fit(X_chunk, y_chunk, **first)
    np.testing.assert_array_equal(streamed.coef_, looped.coef_)
    assert streamed.t_ == looped.t_
    with pytest.raises(ValueError, match="chunk 1 of X has 5 features"):
        streamed.partial_fit([(X[:10], y[:10]), (X[:10, :5], y[:10])], None, **first)
