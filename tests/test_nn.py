"""gdfast.nn: every layer's and the whole MLP's gradients against central finite differences, BatchNorm's
statistics and modes, the optimizers updating the model's arrays in place, dtypes, input errors, training."""
import sys

import numpy as np
import pytest

import gdfast as gd
from gdfast import nn

H = 1e-6  # central differences in float64: truncation ~H^2, rounding ~1e-16/H, both far below RTOL
RTOL = 1e-6


def numeric_gradient(f, array):
    """d f / d array by central differences, perturbing the array in place (and restoring it)."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + H
        up = f()
        flat[i] = saved - H
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * H)
    return grad


def assert_close(analytic, numeric):
    """Relative error in norm, so coordinates near zero do not need their own tolerance."""
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric), 1e-12)
    assert np.linalg.norm(analytic - numeric) / scale < RTOL


def check_layer_gradients(layer, x, training=True, seed=0):
    """For f = sum(R * layer(x)) with a fixed random R: backward(R) against f's finite differences, for x and
    for every parameter."""
    R = np.random.default_rng(seed).standard_normal(layer.forward(x, training).shape)

    def f():
        return float(np.sum(R * layer.forward(x, training)))

    layer.forward(x, training)
    grad_x = layer.backward(R)
    analytic = [grad_x] + [g.copy() for g in layer.gradients()]
    numeric = [numeric_gradient(f, x)] + [numeric_gradient(f, p) for p in layer.parameters()]
    assert len(analytic) == 1 + len(layer.parameters())
    for a, n in zip(analytic, numeric):
        assert_close(a, n)


def batch(m=6, n=4, seed=1, scale=1.0, dtype=np.float64):
    return (scale * np.random.default_rng(seed).standard_normal((m, n))).astype(dtype)


def blobs(n=90, d=5, k=3, seed=0, dtype=np.float64):
    """k separable Gaussian clusters."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.standard_normal((k, d))[y] * 3 + rng.standard_normal((n, d))
    return X.astype(dtype), y


@pytest.mark.parametrize("bias", [True, False])
def test_dense_gradients(bias):
    layer = nn.Dense(4, 3, np.random.default_rng(0), bias=bias)
    check_layer_gradients(layer, batch())


def test_relu_gradients():
    x = batch()
    x[np.abs(x) < 1e-3] = 0.5  # finite differences must not cross the kink
    check_layer_gradients(nn.ReLU(), x)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(training):
    layer = nn.BatchNorm(4)
    rng = np.random.default_rng(2)
    layer.gamma[:] = rng.uniform(0.5, 2.0, 4)
    layer.beta[:] = rng.standard_normal(4)
    layer.running_mean[:], layer.running_var[:] = rng.standard_normal(4), rng.uniform(0.5, 2.0, 4)
    check_layer_gradients(layer, batch(scale=3.0), training)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_gradients(batch_norm):
    model = nn.MLP([5, 7, 6, 3], batch_norm=batch_norm, seed=3)
    X, y = blobs(n=8)
    for p in model.parameters():  # gamma, beta and biases away from their 1/0 start
        p += 0.1 * np.random.default_rng(4).standard_normal(p.shape)
    loss = model.loss_and_gradients(X, y)

    def f():
        return nn.softmax_cross_entropy(model.forward(X, training=True), y)[0]

    assert loss == pytest.approx(f(), rel=1e-12)
    for p, g in zip(model.parameters(), model.gradients()):
        assert_close(g, numeric_gradient(f, p))


def test_softmax_cross_entropy_is_stable():
    logits = np.array([[1000.0, 0.0, -1000.0], [0.0, 0.0, 0.0]])
    loss, grad = nn.softmax_cross_entropy(logits, np.array([0, 1]))
    assert loss == pytest.approx(np.log(3) / 2)
    np.testing.assert_allclose(grad, [[0, 0, 0], [1 / 6, -1 / 3, 1 / 6]], atol=1e-15)


def test_batchnorm_training_output_is_normalized():
    layer = nn.BatchNorm(3)
    x = batch(m=50, n=3, scale=5.0) + np.array([10.0, -3.0, 0.0])
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0) / (x.var(axis=0) + layer.eps), rtol=1e-12)
    layer.gamma[:], layer.beta[:] = [2.0, 3.0, 0.5], [1.0, -1.0, 4.0]
    y = layer.forward(x, training=True)
    np.testing.assert_allclose(y.mean(axis=0), layer.beta, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), layer.gamma, rtol=1e-5)


def test_batchnorm_running_statistics_and_eval_mode():
    layer = nn.BatchNorm(2, momentum=0.1)
    x1, x2 = batch(m=5, n=2, seed=5), batch(m=8, n=2, seed=6) * 2 + 1
    layer.forward(x1, training=True)
    layer.forward(x2, training=True)
    mean1, mean2 = x1.mean(axis=0), x2.mean(axis=0)
    var1, var2 = x1.var(axis=0, ddof=1), x2.var(axis=0, ddof=1)  # unbiased, as torch keeps them
    np.testing.assert_allclose(layer.running_mean, 0.9 * (0.1 * mean1) + 0.1 * mean2, rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, 0.9 * (0.9 * 1 + 0.1 * var1) + 0.1 * var2, rtol=1e-14)
    layer.gamma[:], layer.beta[:] = [2.0, 0.5], [1.0, -1.0]
    before = layer.running_mean.copy(), layer.running_var.copy()
    x = batch(m=3, n=2, seed=7)
    y = layer.forward(x, training=False)
    expected = layer.gamma * (x - before[0]) / np.sqrt(before[1] + layer.eps) + layer.beta
    np.testing.assert_allclose(y, expected, rtol=1e-14)
    np.testing.assert_array_equal(layer.running_mean, before[0])  # eval mode changes nothing
    np.testing.assert_array_equal(layer.running_var, before[1])
    layer.forward(x[:1], training=False)  # one row is fine in eval mode


def test_train_eval_switch():
    model = nn.MLP([5, 8, 3], batch_norm=True)
    X, y = blobs(n=12)
    assert model.training and model.eval() is model and not model.training
    eval_logits = model.forward(X)
    running = model.layers[1].running_mean.copy()
    np.testing.assert_array_equal(model.forward(X), eval_logits)
    np.testing.assert_array_equal(model.layers[1].running_mean, running)
    model.train()
    assert not np.allclose(model.forward(X), eval_logits)  # batch statistics, not running ones
    assert not np.array_equal(model.layers[1].running_mean, running)
    running = model.layers[1].running_mean.copy()
    model.predict(X), model.predict_proba(X), model.loss(X, y), model.score(X, y)  # all in eval mode
    np.testing.assert_array_equal(model.layers[1].running_mean, running)
    assert model.training
    model.eval()
    nn.train_mlp(model, X, y, epochs=1, batch_size=4)
    assert not model.training  # the mode it was in


@pytest.mark.parametrize("batch_norm", [False, True])
def test_optimizer_updates_the_model_in_place(batch_norm):
    model = nn.MLP([5, 8, 3], batch_norm=batch_norm)
    X, y = blobs(n=12)
    params, grads = model.parameters(), model.gradients()
    opt = gd.SGD(params, lr=0.1)
    model.loss_and_gradients(X, y)
    assert all(g is h for g, h in zip(grads, model.gradients()))  # the same arrays every time
    before = [p.copy() for p in params]
    opt.step(model.gradients())
    assert all(p is q for p, q in zip(params, model.parameters()))
    for p, old, g in zip(params, before, grads):
        np.testing.assert_allclose(p, old - 0.1 * g, rtol=1e-15, atol=1e-15)
    assert len(params) == (5 if batch_norm else 4)  # W1 gamma1 beta1 W2 b2, or W1 b1 W2 b2


def test_float32_model_trains():
    model = nn.MLP([5, 16, 3], batch_norm=True, dtype=np.float32, seed=1)
    X, y = blobs(dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.parameters() + model.gradients())
    history = nn.train_mlp(model, X, y, "adam", lr=0.01, epochs=5, batch_size=16)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert model.forward(X).dtype == np.float32
    assert all(p.dtype == np.float32 for p in model.parameters())
    assert model.score(X, y) > 0.9


def test_training_decreases_the_loss():
    X, y = blobs(n=120, seed=2)
    for batch_norm in (False, True):
        model = nn.MLP([5, 16, 16, 3], batch_norm=batch_norm, seed=0)
        start = model.loss(X, y)
        history = nn.train_mlp(model, X, y, "momentum", lr=0.05, epochs=8, batch_size=16, seed=1,
                               validation_data=(X, y))
        assert [h["epoch"] for h in history] == list(range(1, 9))
        assert set(history[0]) == {"epoch", "train_loss", "val_loss", "lr", "seconds", "examples_per_second"}
        assert history[-1]["val_loss"] < 0.5 * start and model.score(X, y) > 0.9


def test_divergence_is_recorded_not_raised():
    model = nn.MLP([5, 16, 3], batch_norm=False)
    X, y = blobs()
    with pytest.warns(RuntimeWarning, match="loss became"):
        history = nn.train_mlp(model, X, y, "sgd", lr=1e12, epochs=20, batch_size=10)
    assert len(history) < 20 and not np.isfinite(history[-1]["train_loss"])
    assert all(np.isfinite(h["train_loss"]) for h in history[:-1])  # it stopped at the first bad epoch


def test_lone_last_example_joins_the_previous_batch():
    assert nn._batch_bounds(9, 4) == [0, 4, 9]
    assert nn._batch_bounds(10, 4) == [0, 4, 8, 10]
    assert nn._batch_bounds(3, 1) == [0, 1, 2, 3]
    X, y = blobs(n=9)
    nn.train_mlp(nn.MLP([5, 4, 3]), X, y, epochs=1, batch_size=4)  # BatchNorm never sees one row


def test_bad_inputs():
    model = nn.MLP([5, 4, 3])
    X, y = blobs(n=10)
    with pytest.raises(TypeError, match="X .*float32"):
        model.forward(X.astype(np.float32))
    with pytest.raises(TypeError, match="X must be a numpy.ndarray"):
        model.forward(X.tolist())
    with pytest.raises(TypeError, match="X has dtype int64"):
        model.forward(X.astype(np.int64))
    with pytest.raises(ValueError, match=r"X must have shape \(n, 5\)"):
        model.forward(X[:, :4])
    with pytest.raises(TypeError, match="y must be .*integer"):
        model.loss_and_gradients(X, y.astype(float))
    with pytest.raises(ValueError, match=r"y must hold labels in \[0, 3\)"):
        model.loss_and_gradients(X, y + 1)
    with pytest.raises(ValueError, match="y must have shape"):
        model.loss_and_gradients(X, y[:-1])
    with pytest.raises(ValueError, match="optimizer must be one of"):
        nn.train_mlp(model, X, y, optimizer="newton")
    with pytest.raises(ValueError, match="batch_size"):
        nn.train_mlp(model, X, y, batch_size=1)  # BatchNorm needs two rows
    with pytest.raises(ValueError, match="epochs"):
        nn.train_mlp(model, X, y, epochs=0)
    with pytest.raises(ValueError, match="X holds NaN"):
        nn.train_mlp(model, np.full_like(X, np.nan), y, batch_size=4)
    with pytest.raises(TypeError, match="validation_data must be a pair"):
        nn.train_mlp(model, X, y, batch_size=4, validation_data=X)
    with pytest.raises(TypeError, match=r"validation_data\[0\] has dtype float32"):
        nn.train_mlp(model, X, y, batch_size=4, validation_data=(X.astype(np.float32), y))
    with pytest.raises(TypeError, match="model"):
        nn.train_mlp("mlp", X, y)
    with pytest.raises(ValueError, match="at least 2 rows"):
        nn.BatchNorm(5).forward(X[:1], training=True)
    with pytest.raises(TypeError, match="dtype"):
        nn.MLP([5, 3], dtype=np.float16)
    with pytest.raises(ValueError, match="sizes"):
        nn.MLP([5])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        nn.MLP([5, 0, 3])
    with pytest.raises(ValueError, match="init"):
        nn.Dense(2, 2, np.random.default_rng(), init="zeros")
    with pytest.raises(TypeError, match="rng"):
        nn.Dense(2, 2, 0)
    with pytest.raises(RuntimeError, match="backward before forward"):
        nn.BatchNorm(2).backward(np.zeros((2, 2)))


def test_batchnorm_comparison_runs():
    rows = nn.batchnorm_comparison(lrs=(0.1,), epochs=2, hidden=(16,))
    assert [(r["lr"], r["batch_norm"]) for r in rows] == [(0.1, False), (0.1, True)]
    assert all(0.5 < r["test_accuracy"] <= 1 and not r["diverged"] for r in rows)
    table = nn.comparison_table(rows + [dict(rows[0], train_loss=float("nan"), diverged=True)], title="BN")
    assert table.startswith("## BN\n\n| lr |") and len(table.splitlines()) == 2 + 2 + 3
    assert "| 0.1 | no | nan |" in table


def test_digits_without_sklearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "gdfast\[sklearn\]"'):
        nn.load_digits_split()
