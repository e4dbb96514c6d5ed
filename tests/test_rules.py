"""Every rule x dtype, through the optimizer class and the functional kernels, against gdfast/optim/reference.py."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import gdfast as gd
from gdfast import reference

from conftest import TOLERANCE, RULE_NAMES, random_grads, reference_run

STEPS = 200
# Besides the survey's defaults, one set that moves every term (large lr, small betas and gamma; FTRL's L1 and L2).
OTHER_HYPER = {"lr": 0.05, "gamma": 0.5, "beta1": 0.6, "beta2": 0.7, "eps": 1e-3, "beta": 0.5, "lambda1": 0.3,
               "lambda2": 0.2}


def hyper_sets(rule):
    defaults = dict(rule.defaults)
    other = {k: OTHER_HYPER[k] for k in defaults}
    return [defaults, other]


@pytest.mark.parametrize("which", [0, 1], ids=["defaults", "other"])
def test_optimizer_matches_reference(rule, dtype, which):
    hyper = hyper_sets(rule)[which]
    rng = np.random.default_rng(1)
    theta0 = rng.standard_normal(257).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, STEPS)
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], **hyper)
    for g in grads:
        opt.step(g)
    expected, expected_state = reference_run(rule, theta0, grads, hyper)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])
    for name, ref_slot in zip(rule.slots, expected_state):
        np.testing.assert_allclose(opt.state[0][name], ref_slot, **TOLERANCE[dtype], err_msg=name)
    assert opt.t == STEPS


def test_functional_matches_optimizer_bitwise(rule, dtype):
    rng = np.random.default_rng(2)
    theta0 = rng.standard_normal((7, 9)).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, 50)
    w_obj, w_fun = theta0.copy(), theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w_obj])
    slots = [np.zeros_like(theta0) for _ in rule.slots]
    kernel = getattr(gd.kernels, rule.name)
    for t, g in enumerate(grads, start=1):
        opt.step(g)
        kernel(w_fun, g, *slots, t=t)
    np.testing.assert_array_equal(w_fun, w_obj)
    for name, s in zip(rule.slots, slots):
        np.testing.assert_array_equal(s, opt.state[0][name])


def test_functional_matches_reference(rule, dtype):
    rng = np.random.default_rng(3)
    theta0 = rng.standard_normal(100).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, STEPS)
    hyper = hyper_sets(rule)[1]
    w = theta0.copy()
    slots = [np.zeros_like(w) for _ in rule.slots]
    for t, g in enumerate(grads, start=1):
        getattr(gd.kernels, rule.name)(w, g, *slots, t=t, **hyper)
    expected, expected_state = reference_run(rule, theta0, grads, hyper)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])
    for s, e in zip(slots, expected_state):
        np.testing.assert_allclose(s, e, **TOLERANCE[dtype])


def test_many_params_of_both_dtypes_match_one_at_a_time(rule):
    """A list of arrays (mixed dtypes and sizes, stepped by one call per dtype) equals stepping each alone."""
    rng = np.random.default_rng(4)
    shapes = [(3,), (0,), (40, 3), (1,), (1000,), (2, 2, 2)]
    dtypes = [np.float32, np.float64, np.float32, np.float64, np.float32, np.float64]
    theta0 = [rng.standard_normal(s).astype(d) for s, d in zip(shapes, dtypes)]
    grads = [random_grads(rng, s, d, 20) for s, d in zip(shapes, dtypes)]
    together = [p.copy() for p in theta0]
    opt = gd.OPTIMIZERS[rule.name](together)
    for k in range(20):
        opt.step([g[k] for g in grads])
    for p0, gs, p_together in zip(theta0, grads, together):
        alone = p0.copy()
        single = gd.OPTIMIZERS[rule.name]([alone])
        for g in gs:
            single.step(g)
        np.testing.assert_array_equal(p_together, alone)


@pytest.mark.parametrize("convention", gd.CONVENTIONS)
def test_threads_give_identical_results(rule, dtype, convention):
    """Elementwise kernels, in every framework convention: 1 and 2 threads (forced to fork even for small
    arrays) agree bitwise."""
    from gdfast import _kernels
    rng = np.random.default_rng(5)
    theta0 = rng.standard_normal(100_003).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, 5)
    results = []
    old = _kernels.get_min_per_thread()
    try:
        _kernels.set_min_per_thread(1000)
        for n in (1, 2):
            gd.set_num_threads(n)
            w = theta0.copy()
            opt = gd.OPTIMIZERS[rule.name]([w], convention=convention)
            for g in grads:
                opt.step(g)
            results.append(w)
    finally:
        _kernels.set_min_per_thread(old)
        gd.set_num_threads(2)
    np.testing.assert_array_equal(results[0], results[1])


def test_nag_stores_the_look_ahead_point():
    """On J(theta) = 0.5 theta^T A theta, the survey's NAG (gradient at theta - gamma v_{t-1}, then
    theta -= v_t) leaves theta_t - gamma v_t in the user's array, which gdfast steps with the gradient there."""
    A = np.diag([1.0, 10.0, 0.1])
    lr, gamma = 0.05, 0.9
    theta = np.array([1.0, -2.0, 3.0])
    v = np.zeros(3)
    phi = theta.copy()
    opt = gd.NAG([phi], lr=lr, gamma=gamma)
    for _ in range(200):
        v = gamma * v + lr * (A @ (theta - gamma * v))  # survey, section 4.2
        theta = theta - v
        opt.step(A @ phi)  # the gradient at the stored parameters
        np.testing.assert_allclose(phi, theta - gamma * v, rtol=1e-12, atol=1e-14)
    assert np.linalg.norm(phi) < 1e-2  # and it converges


def test_adamax_takes_no_step_on_zero_gradients(dtype):
    w = np.array([1.0, -2.0, 0.0], dtype)
    opt = gd.AdaMax([w])
    for _ in range(3):
        opt.step(np.zeros(3, dtype))
    np.testing.assert_array_equal(w, [1.0, -2.0, 0.0])
    opt.step(np.array([0.0, 1.0, 0.0], dtype))  # u > 0 only where the gradient was non-zero
    assert w[0] == 1.0 and w[2] == 0.0 and w[1] < -2.0
    assert np.isfinite(w).all()


def test_hyperparameters_change_between_steps(rule, dtype):
    """A hyperparameter set between steps is used from the next step, as the reference does with it."""
    rng = np.random.default_rng(6)
    theta0 = rng.standard_normal(50).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, 10)
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w])
    for g in grads[:5]:
        opt.step(g)
    opt.lr = opt.lr * 0.5
    for g in grads[5:]:
        opt.step(g)
    expected, state = reference_run(rule, theta0, grads[:5], dict(rule.defaults))
    half = dict(rule.defaults, lr=rule.defaults["lr"] * 0.5)
    ref = getattr(reference, rule.name)
    for t, g in enumerate(grads[5:], start=6):
        expected, *state = ref(expected, g, *state, t=t, **half)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])


def test_strided_gradient_is_read_correctly(rule, dtype):
    rng = np.random.default_rng(7)
    base = rng.standard_normal((20, 30)).astype(dtype)
    strided = base[::2, ::3]  # non-contiguous view
    w1, w2 = np.ones((10, 10), dtype), np.ones((10, 10), dtype)
    gd.OPTIMIZERS[rule.name]([w1]).step(strided)
    gd.OPTIMIZERS[rule.name]([w2]).step(np.ascontiguousarray(strided))
    np.testing.assert_array_equal(w1, w2)


def test_gradient_that_is_the_parameter_itself(rule, dtype):
    """A gradient aliasing what the step writes is read before the write (from a copy)."""
    rng = np.random.default_rng(8)
    theta0 = rng.standard_normal(64).astype(dtype)
    w = theta0.copy()
    gd.OPTIMIZERS[rule.name]([w]).step(w)
    expected, _ = reference_run(rule, theta0, [theta0], dict(rule.defaults))
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])


def test_gradient_aliasing_another_param_of_another_dtype(rule):
    """The float64 batch steps first; a float32 gradient viewing the float64 param is read as it was."""
    p64, p32 = np.linspace(-1, 1, 4), np.ones(8, np.float32)
    grad32 = p64.view(np.float32)
    expected64, expected32 = p64.copy(), p32.copy()
    gd.OPTIMIZERS[rule.name]([expected64, expected32]).step([np.ones(4), grad32.copy()])
    with np.errstate(all="ignore"):
        gd.OPTIMIZERS[rule.name]([p64, p32]).step([np.ones(4), grad32])
    np.testing.assert_array_equal(p64, expected64)
    np.testing.assert_array_equal(p32, expected32)


finite = dict(allow_nan=False, allow_infinity=False)
edge_floats = st.one_of(st.sampled_from([0.0, -0.0, 1e-30, -1e-30, 1e-5, 1.0, -1.0, 1e10, -1e10]),
                        st.floats(-1e6, 1e6, **finite))


@settings(max_examples=40, deadline=None)
@given(data=st.data(), name=st.sampled_from(RULE_NAMES), dtype=st.sampled_from([np.float32, np.float64]))
def test_property_shapes_strides_values(data, name, dtype):
    """Any shape (including empty), any gradient strides, edge values: the kernel agrees with the reference."""
    rule = gd.RULES[name]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6), label="shape")
    theta0 = data.draw(hnp.arrays(dtype, shape, elements=edge_floats.map(dtype)), label="theta")
    steps = data.draw(st.integers(1, 4), label="steps")
    grads = []
    for _ in range(steps):
        big = data.draw(hnp.arrays(dtype, tuple(2 * s for s in shape), elements=edge_floats.map(dtype)))
        grads.append(big[tuple(slice(None, None, 2) for _ in shape)] if shape else big)  # strided views
    w = theta0.copy()
    opt = gd.OPTIMIZERS[name]([w])
    with np.errstate(all="ignore"):
        for g in grads:
            opt.step(g)
        expected, _ = reference_run(rule, theta0, [g.astype(np.float64) for g in grads], dict(rule.defaults))
    if dtype == np.float64:
        np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-300)
    else:  # float32 arithmetic: compare where the float64 result is representable
        with np.errstate(all="ignore"):
            ok = np.abs(expected) < 1e30
        np.testing.assert_allclose(w[ok], expected[ok], rtol=1e-4, atol=1e-6)


def test_nan_gradient_propagates_without_check_finite(rule):
    w = np.ones(4)
    with np.errstate(all="ignore"):
        gd.OPTIMIZERS[rule.name]([w]).step(np.array([np.nan, 1.0, 1.0, 1.0]))
    if rule.name == "adamax":
        assert w[0] == 1.0  # u = max(beta2 u, |nan|) is no number: the u > 0 guard takes no step
    else:
        assert np.isnan(w[0])
    assert np.isfinite(w[1:]).all()


def test_adamax_tiny_gradient_stays_finite():
    """In float32, lr / u overflows for a subnormal u; the step is computed as lr * (m_hat / u)."""
    w = np.full(3, -3.0, np.float32)
    gd.AdaMax([w]).step(np.array([1.4e-45, -1.4e-45, 0.0], np.float32))
    assert np.isfinite(w).all()


def test_ftrl_steps_by_hand(dtype):
    """Two steps of McMahan et al.'s Algorithm 1 worked out by hand (alpha = 0.5, beta = 1, lambda1 = 0.5,
    lambda2 = 1): a coordinate with |z| <= lambda1 is 0, a start theta_0 != 0 enters only through sigma theta_0,
    and a first zero gradient sets theta to the closed form of z = n = 0, which is 0."""
    w = np.array([1.0, 0.0, -2.0], dtype)
    opt = gd.FTRL([w], lr=0.5, beta=1.0, lambda1=0.5, lambda2=1.0)
    opt.step(np.array([3.0, 0.25, 0.0], dtype))
    # sigma = (3 - 0) / 0.5 = 6, z = 3 - 6 * 1 = -3, theta = 2.5 / ((1 + 3) / 0.5 + 1); |z| = 0.25 <= 0.5; g = 0
    np.testing.assert_allclose(w, [2.5 / 9, 0.0, 0.0], rtol=1e-6)
    assert w[1] == 0 and w[2] == 0
    opt.step(np.array([-4.0, 0.5, 1.0], dtype))
    # sigma = (5 - 3) / 0.5 = 4, z = -3 - 4 - 4 * 2.5 / 9 = -73 / 9, theta = (73 / 9 - 0.5) / (6 / 0.5 + 1);
    # n = 0.3125, z = 0.75, theta = -0.25 / ((1 + sqrt(0.3125)) / 0.5 + 1); n = 1, z = 1, theta = -0.5 / 5
    np.testing.assert_allclose(w, [137 / 234, -0.5 / (6 + np.sqrt(5)), -0.1], rtol=1e-6)
    np.testing.assert_allclose(opt.state[0]["z"], [-73 / 9, 0.75, 1.0], rtol=1e-6)
    np.testing.assert_allclose(opt.state[0]["n"], [25.0, 0.3125, 1.0], rtol=1e-6)
    before = [w.copy(), opt.state[0]["z"].copy(), opt.state[0]["n"].copy()]
    opt.lr = 0.0  # no step (the paper needs alpha > 0; a schedule may reach 0)
    opt.step(np.array([1.0, 1.0, 1.0], dtype))
    for now, then in zip([w, opt.state[0]["z"], opt.state[0]["n"]], before):
        np.testing.assert_array_equal(now, then)


def test_ftrl_l1_gives_exact_zeros(dtype):
    """lambda1 > 0: a coordinate is exactly 0 where |z| <= lambda1, so noise-only coordinates drop out and those
    with a signal stay; lambda1 = 0: no coordinate is 0."""
    rng = np.random.default_rng(9)
    signal = np.zeros(1000)
    signal[:10] = 1.0
    grads = [(signal + 0.5 * rng.standard_normal(1000)).astype(dtype) for _ in range(30)]
    zeros = {}
    for lambda1 in (0.0, 5.0):
        w = np.zeros(1000, dtype)
        opt = gd.FTRL([w], lambda1=lambda1)
        for g in grads:
            opt.step(g)
        np.testing.assert_array_equal(w == 0, np.abs(opt.state[0]["z"]) <= lambda1)
        assert (w[:10] < 0).all()  # the signal's coordinates descend
        zeros[lambda1] = np.mean(w[10:] == 0)
    assert zeros[0.0] == 0 and zeros[5.0] > 0.8
