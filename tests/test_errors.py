"""Bad input: a clear error naming the argument, raised before any memory is written."""
import numpy as np
import pytest

import gdfast as gd
import gdfast._validate


def fresh():
    w = np.ones(4, np.float32)
    opt = gd.Adam([w])
    return w, opt


@pytest.mark.parametrize("params, error, match", [
    (np.ones(4, np.int64), TypeError, r"params\[0\] must have dtype float32 or float64"),
    (np.ones(4, np.float16), TypeError, "float16"),
    (np.ones(4, ">f8"), TypeError, "native byte order"),
    ([1.0, 2.0], TypeError, r"params\[0\] must be a numpy.ndarray"),
    ("w", TypeError, "params must be"),
    ([], ValueError, "params is empty"),
    (np.ones((4, 4))[:, 0], ValueError, "C-contiguous"),
    (np.frombuffer(bytes(32), np.float64), ValueError, "read-only"),
])
def test_bad_params(params, error, match):
    with pytest.raises(error, match=match):
        gd.Adam(params)


def test_overlapping_params():
    base = np.zeros(10)
    with pytest.raises(ValueError, match=r"share memory"):
        gd.SGD([base[:6], base[4:]])
    with pytest.raises(ValueError, match=r"share memory"):
        gd.SGD([base, base])


@pytest.mark.parametrize("hyper, error, match", [
    (dict(lr=-1.0), ValueError, "lr must be finite and in"),
    (dict(lr=float("nan")), ValueError, "lr"),
    (dict(lr=float("inf")), ValueError, "lr"),
    (dict(beta1=1.0), ValueError, r"beta1 must be finite and in \[0, 1\)"),
    (dict(beta2=-0.1), ValueError, "beta2"),
    (dict(eps=0.0), ValueError, r"eps must be finite and in \(0, inf\)"),
    (dict(lr="0.1"), TypeError, "lr must be a real number"),
    (dict(lr=True), TypeError, "lr must be a real number"),
    (dict(gamma=0.9), TypeError, "unknown hyperparameter"),
])
def test_bad_hyperparameters(hyper, error, match):
    with pytest.raises(error, match=match):
        gd.Adam([np.zeros(3)], **hyper)


def test_bad_hyperparameter_set_between_steps_keeps_the_old_value():
    opt = gd.Momentum([np.zeros(3)], gamma=0.5)
    with pytest.raises(ValueError, match="gamma"):
        opt.gamma = 1.5
    assert opt.gamma == 0.5


@pytest.mark.parametrize("grads, error, match", [
    (np.ones(4, np.float64), TypeError, r"grads\[0\] has dtype float64 but its parameter is float32"),
    (np.ones(4, ">f4"), TypeError, r"grads\[0\] has dtype"),
    (np.ones(5, np.float32), ValueError, r"grads\[0\] has shape \(5,\)"),
    (np.ones((4, 1), np.float32), ValueError, "shape"),
    ([1.0, 1.0, 1.0, 1.0], ValueError, "grads has 4 gradients for 1 params"),
    ([[1.0] * 4], TypeError, r"grads\[0\] must be a numpy.ndarray"),
    ([np.ones(4, np.float32)] * 2, ValueError, "2 gradients for 1 params"),
    (None, TypeError, r"grads\[0\] must be"),
])
def test_bad_gradients_write_nothing(grads, error, match):
    w, opt = fresh()
    with pytest.raises(error, match=match):
        opt.step(grads)
    np.testing.assert_array_equal(w, 1.0)
    assert opt.t == 0 and not opt.state[0]["m"].any()


def test_bad_gradient_in_a_later_param_writes_nothing():
    a, b = np.ones(3), np.ones(3, np.float32)
    opt = gd.Adam([a, b])
    with pytest.raises(TypeError, match=r"grads\[1\]"):
        opt.step([np.ones(3), np.ones(3)])
    np.testing.assert_array_equal(a, 1.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_finite(rule, bad):
    a, b = np.ones(3), np.ones(3)
    opt = gd.OPTIMIZERS[rule.name]([a, b], check_finite=True)
    with pytest.raises(FloatingPointError, match=r"grads\[1\] contains NaN or Inf"):
        opt.step([np.ones(3), np.array([1.0, bad, 1.0])])
    np.testing.assert_array_equal(a, 1.0)
    assert opt.t == 0 and all(not s.any() for slots in opt.state for s in slots.values())


def test_functional_kernel_errors():
    w, g, m, v = (np.zeros(3) for _ in range(4))
    with pytest.raises(TypeError, match=r"adam takes 2 state array\(s\) \['m', 'v'\]"):
        gd.kernels.adam(w, g, m, t=1)
    with pytest.raises(TypeError, match="v has dtype float32"):
        gd.kernels.adam(w, g, m, np.zeros(3, np.float32), t=1)
    with pytest.raises(ValueError, match="m has shape"):
        gd.kernels.adam(w, g, np.zeros(4), v, t=1)
    with pytest.raises(ValueError, match="t must be an int >= 1"):
        gd.kernels.adam(w, g, m, v, t=0)
    with pytest.raises(TypeError, match="t must be an int >= 1, got 1.5"):
        gd.kernels.adam(w, g, m, v, t=1.5)
    with pytest.raises(ValueError, match="(param and m|m and param) share memory"):
        gd.kernels.adam(w, g, w, v, t=1)
    with pytest.raises(ValueError, match="v is read-only"):
        ro = np.zeros(3)
        ro.flags.writeable = False
        gd.kernels.adam(w, g, m, ro, t=1)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        gd.kernels.adam(w, g, m, v, t=1, gamma=0.1)
    assert not (w.any() or m.any() or v.any())


def test_set_num_threads_rejects_nonsense():
    for bad, error in ((0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="n must be an int >= 1"):
            gd.set_num_threads(bad)


def test_registry_defaults_are_valid(rule):
    for name, value in rule.defaults.items():
        assert gd._validate.hyperparameter(name, value) == value
