import numpy as np
import pytest
from scipy.optimize import OptimizeResult, rosen, rosen_der

import gdfast as gd
from gdfast.optim.minimize import minimize

# A convex quadratic f(x) = 0.5 x^T A x - b^T x, A SPD (eigenvalues ~0.71, 1.65, 3.64), minimum at A^-1 b.
A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])
B = np.array([1.0, -1.0, 2.0])
X_STAR = np.linalg.solve(A, B)


def quad(x):
    return 0.5 * x @ A @ x - B @ x


def quad_grad(x):
    return A @ x - B


def quad_both(x):
    return quad(x), quad_grad(x)


# Options per rule that reach gtol=1e-6 in well under a second (tens to ~1300 steps, ~12 us each).
# Adadelta: near the minimum its step tends to lr * g, so lr (a plain multiplier, 1 in the survey) must be
# below 2 / lambda_max = 0.55 or it oscillates forever. RMSprop with the default eps tends to a sign step of
# size ~lr near the minimum and hovers at |g| ~ lr * lambda; a larger eps lets its steps shrink with g.
QUADRATIC_OPTIONS = {
    "sgd": dict(lr=0.3),
    "momentum": dict(lr=0.1, gamma=0.5),
    "nag": dict(lr=0.1, gamma=0.5),
    "adagrad": dict(lr=1.0),
    "adadelta": dict(lr=0.5),
    "rmsprop": dict(lr=0.01, gamma=0.999, eps=1e-2),
    "adam": dict(lr=0.1),
    "adamax": dict(lr=0.1),
    "nadam": dict(lr=0.1),
    "amsgrad": dict(lr=0.1),
    "ftrl": dict(lr=1.0),  # per-coordinate rate alpha / (beta + sqrt(n)): n stops growing as g -> 0
}


def test_every_rule_has_quadratic_options():
    assert set(QUADRATIC_OPTIONS) == set(gd.RULES) == set(gd.OPTIMIZERS)


@pytest.mark.parametrize("method", list(QUADRATIC_OPTIONS))
def test_quadratic_every_rule(method):
    gtol = 1e-6
    res = minimize(quad_both, np.zeros(3), jac=True, method=method,
                   options={**QUADRATIC_OPTIONS[method], "gtol": gtol, "maxiter": 5000})
    assert isinstance(res, OptimizeResult)
    assert res.success and res.status == 0, res.message
    assert "gtol" in res.message
    assert 0 < res.nit < 5000
    assert res.x.shape == (3,) and res.x.dtype == np.float64
    # The reported gradient and value are those at the returned x, and the gradient meets gtol there.
    np.testing.assert_allclose(res.jac, quad_grad(res.x), rtol=0, atol=1e-15)
    assert res.fun == pytest.approx(quad(res.x), abs=1e-15)
    assert np.abs(quad_grad(res.x)).max() <= gtol
    # |x - x*| <= |g| / lambda_min
    np.testing.assert_allclose(res.x, X_STAR, rtol=0, atol=3e-6)
    if method == "nag":  # NAG evaluates at the look-ahead point, then confirms gtol at theta
        assert res.nfev == res.njev >= res.nit + 2
    else:
        assert res.nfev == res.njev == res.nit + 1


@pytest.mark.parametrize("method", list(QUADRATIC_OPTIONS))
def test_quadratic_float32(method):
    x0 = np.zeros(3, np.float32)
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    res = minimize(lambda x: (float(0.5 * x @ A32 @ x - B32 @ x), A32 @ x - B32), x0, jac=True, method=method,
                   options={**QUADRATIC_OPTIONS[method], "gtol": 1e-4, "maxiter": 5000})
    assert res.success, res.message
    assert res.x.dtype == np.float32 and res.jac.dtype == np.float32
    np.testing.assert_allclose(res.x, X_STAR, rtol=0, atol=3e-4)


def test_rosenbrock_adam():
    res = minimize(rosen, np.array([-1.2, 1.0]), jac=rosen_der, method="adam",
                   options={"lr": 0.05, "gtol": 1e-5, "maxiter": 5000})
    assert res.success, res.message
    np.testing.assert_allclose(res.x, [1.0, 1.0], rtol=0, atol=1e-4)
    assert res.fun < 1e-8


@pytest.mark.parametrize("method", ["adam", "nag", "adadelta"])
def test_jac_true_and_callable_agree(method):
    opts = {**QUADRATIC_OPTIONS[method], "maxiter": 5000}
    both = minimize(quad_both, np.zeros(3), jac=True, method=method, options=opts)
    sep = minimize(quad, np.zeros(3), jac=quad_grad, method=method, options=opts)
    np.testing.assert_array_equal(both.x, sep.x)
    np.testing.assert_array_equal(both.jac, sep.jac)
    assert (both.fun, both.nit, both.nfev, both.njev, both.success, both.message) == \
           (sep.fun, sep.nit, sep.nfev, sep.njev, sep.success, sep.message)


def survey_nag(grad, theta, lr, gamma, steps):
    """Ruder's NAG, literally: v = gamma v + lr grad(theta - gamma v); theta = theta - v. Returns every theta."""
    theta, v, thetas = np.array(theta, np.float64), np.zeros(len(theta)), []
    for _ in range(steps):
        v = gamma * v + lr * grad(theta - gamma * v)
        theta = theta - v
        thetas.append(theta)
    return thetas, v


def test_nag_returns_the_surveys_theta():
    lr, gamma, steps = 0.05, 0.9, 40
    x0 = np.array([2.0, -1.0, 0.5])
    seen = []
    res = minimize(quad_both, x0, jac=True, method="nag", callback=lambda intermediate_result: seen.append(
        intermediate_result), options={"lr": lr, "gamma": gamma, "maxiter": steps, "gtol": 0.0})
    thetas, v = survey_nag(quad_grad, x0, lr, gamma, steps)
    assert res.status == 1 and res.nit == steps
    np.testing.assert_allclose(res.x, thetas[-1], rtol=1e-12, atol=1e-14)
    # value and gradient at theta (one more evaluation at the end), not at the look-ahead point
    assert res.fun == pytest.approx(quad(thetas[-1]), rel=1e-12)
    np.testing.assert_allclose(res.jac, quad_grad(thetas[-1]), rtol=1e-12, atol=1e-14)
    assert res.nfev == res.njev == steps + 2
    # every iterate the callback saw is theta; x_lookahead is theta - gamma v, where fun and jac were taken
    assert [r.nit for r in seen] == list(range(1, steps + 1))
    for r, theta in zip(seen, thetas):
        np.testing.assert_allclose(r.x, theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(seen[-1].x_lookahead, thetas[-1] - gamma * v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(seen[-1].jac, quad_grad(thetas[-1] - gamma * v), rtol=1e-12, atol=1e-14)
    # the test can tell the two apart: the look-ahead point is far from theta at this tolerance
    assert np.abs(seen[-1].x_lookahead - res.x).max() > 1e-3


def test_nag_gtol_is_met_at_theta():
    gtol = 1e-8
    res = minimize(quad_both, np.zeros(3), jac=True, method="nag",
                   options={"lr": 0.05, "gamma": 0.9, "gtol": gtol, "maxiter": 5000})
    assert res.success, res.message
    assert np.abs(quad_grad(res.x)).max() <= gtol


def test_callback_intermediate_result_and_stop_iteration():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)
        if intermediate_result.nit == 3:
            raise StopIteration

    res = minimize(quad_both, np.zeros(3), jac=True, method="sgd", callback=callback, options={"lr": 0.1})
    assert [r.nit for r in seen] == [1, 2, 3]
    assert all(isinstance(r, OptimizeResult) for r in seen)
    assert seen[0].x is not seen[1].x and not np.array_equal(seen[0].x, seen[1].x)  # copies, not the live array
    for r in seen:
        assert r.fun == pytest.approx(quad(r.x), abs=1e-15)
        np.testing.assert_allclose(r.jac, quad_grad(r.x), atol=1e-15)
        assert r.nfev == r.njev == r.nit + 1
    # scipy's convention for a callback's StopIteration
    assert not res.success and res.status == 99
    assert res.message == "`callback` raised `StopIteration`."
    assert res.nit == 3
    np.testing.assert_array_equal(res.x, seen[-1].x)


def test_callback_legacy_xk():
    seen = []
    res = minimize(quad_both, np.zeros(3), jac=True, method="sgd", callback=lambda xk: seen.append(xk),
                   options={"lr": 0.1, "maxiter": 5})
    assert len(seen) == 5 and all(isinstance(x, np.ndarray) and x.shape == (3,) for x in seen)
    np.testing.assert_array_equal(seen[-1], res.x)
    assert seen[-1] is not res.x


def test_maxiter_stops_without_success():
    res = minimize(quad_both, np.zeros(3), jac=True, method="sgd", options={"lr": 0.01, "maxiter": 7})
    assert not res.success and res.status == 1 and res.nit == 7
    assert "maxiter" in res.message and "Maximum number of iterations" in res.message
    res = minimize(quad_both, np.ones(3), jac=True, method="adam", options={"maxiter": 0})
    assert res.nit == 0 and res.status == 1
    np.testing.assert_array_equal(res.x, np.ones(3))


def test_starting_at_the_minimum_takes_no_step():
    res = minimize(quad_both, X_STAR, jac=True, method="adam")
    assert res.success and res.nit == 0 and res.nfev == 1
    np.testing.assert_array_equal(res.x, X_STAR)


def test_ftol_and_xtol():
    res = minimize(quad_both, np.zeros(3), jac=True, method="sgd", options={"lr": 0.01, "gtol": 0.0, "ftol": 1e-6})
    assert res.success and res.status == 0 and "ftol" in res.message
    res = minimize(quad_both, np.zeros(3), jac=True, method="sgd", options={"lr": 0.1, "gtol": 0.0, "xtol": 1e-6})
    assert res.success and "xtol" in res.message
    # an SGD step is lr * g: the last one, lr * (gradient one step back), was at most xtol; the next is smaller
    assert 0.1 * np.abs(quad_grad(res.x)).max() <= 1e-6
    res = minimize(quad_both, np.zeros(3), jac=True, method="nag",
                   options={"lr": 0.05, "gtol": 0.0, "xtol": 1e-9, "maxiter": 5000})
    assert res.success and "xtol" in res.message


def test_non_finite_value_stops():
    with np.errstate(invalid="ignore"):  # log of a negative number: NaN
        res = minimize(lambda x: (np.log(x[0]), np.array([1 / x[0]])), np.array([0.5]), jac=True, method="sgd",
                       options={"lr": 1.0})
    assert not res.success and res.status == 3 and "NaN" in res.message


def test_shape_dtype_and_copy():
    x0 = np.zeros((2, 3), np.float32)
    target = np.arange(6, dtype=np.float32).reshape(2, 3)

    def f(x):
        assert x.shape == (2, 3) and x.dtype == np.float32
        return float(0.5 * ((x - target) ** 2).sum()), x - target

    res = minimize(f, x0, jac=True, method="Adam", options={"lr": 0.1, "gtol": 1e-4, "maxiter": 5000})
    assert res.success and res.x.shape == (2, 3) and res.x.dtype == np.float32
    np.testing.assert_allclose(res.x, target, atol=1e-3)
    np.testing.assert_array_equal(x0, 0)  # the caller's x0 is untouched
    res = minimize(quad_both, [0, 0, 0], jac=True, method="sgd", options={"lr": 0.3})  # integers -> float64
    assert res.success and res.x.dtype == np.float64


def test_fun_receives_copies_and_args():
    history = []

    def f(x, a, b):
        history.append(x)
        return 0.5 * a * x @ x - b @ x, a * x - b

    res = minimize(f, np.zeros(2), args=(2.0, np.array([1.0, 4.0])), jac=True, method="sgd",
                   options={"lr": 0.2})
    assert res.success
    np.testing.assert_allclose(res.x, [0.5, 2.0], atol=1e-6)
    assert len({id(x) for x in history}) == len(history)  # fresh arrays: keeping them is safe
    assert not np.array_equal(history[0], history[-1])


# A quadratic has no third derivative, so central differences are exact but for rounding (~eps |f| / h ~ 1e-11);
# forward differences are off by ~h * lambda |x| / 2 ~ 6e-8 (h = sqrt(eps) max(1, |x_i|)) plus rounding
# ~eps |f| / h ~ 2e-8: a floor under gtol.
@pytest.mark.parametrize("jac, gtol, jac_atol", [("3-point", 1e-8, 1e-9), ("2-point", 1e-6, 2e-7)])
def test_finite_differences(jac, gtol, jac_atol):
    res = minimize(quad, np.zeros(3), jac=jac, method="sgd", options={"lr": 0.3, "gtol": gtol})
    assert res.success, res.message
    np.testing.assert_allclose(res.jac, quad_grad(res.x), rtol=0, atol=jac_atol)
    np.testing.assert_allclose(res.x, X_STAR, rtol=0, atol=2 * gtol)  # |x - x*| <= |g| / lambda_min
    per_gradient = 1 + (2 if jac == "3-point" else 1) * 3
    assert res.njev == res.nit + 1 and res.nfev == res.njev * per_gradient


def test_bad_inputs():
    x0 = np.zeros(3)
    with pytest.raises(ValueError, match="unknown method 'bfgs'.*'sgd'.*'amsgrad'"):
        minimize(quad_both, x0, jac=True, method="bfgs")
    with pytest.raises(TypeError, match="method must be"):
        minimize(quad_both, x0, jac=True, method=gd.Adam)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['learning_rate'\].*accepted.*'maxiter'.*'lr'"):
        minimize(quad_both, x0, jac=True, options={"learning_rate": 0.1})
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['beta1'\] for method 'sgd'"):
        minimize(quad_both, x0, jac=True, method="sgd", options={"beta1": 0.9})
    for jac in (None, False):
        with pytest.raises(ValueError, match="needs a gradient.*jac=True"):
            minimize(quad, x0, jac=jac)
    with pytest.raises(ValueError, match="jac must be"):
        minimize(quad, x0, jac="cs")
    with pytest.raises(ValueError, match="maxiter"):
        minimize(quad_both, x0, jac=True, options={"maxiter": -1})
    with pytest.raises(TypeError, match=r"options\['maxiter'\] must be an int >= 0, got 10.5"):
        minimize(quad_both, x0, jac=True, options={"maxiter": 10.5})
    with pytest.raises(ValueError, match="gtol"):
        minimize(quad_both, x0, jac=True, options={"gtol": -1e-6})
    with pytest.raises(ValueError, match="options: lr"):
        minimize(quad_both, x0, jac=True, options={"lr": -0.1})
    with pytest.raises(TypeError, match="options"):
        minimize(quad_both, x0, jac=True, options=[("lr", 0.1)])
    with pytest.raises(TypeError, match="x0 must be float32, float64 or integer"):
        minimize(quad_both, x0.astype(np.complex128), jac=True)
    with pytest.raises(TypeError, match="x0 must be float32, float64 or integer"):
        minimize(quad_both, x0.astype(np.float16), jac=True)
    with pytest.raises(ValueError, match="empty"):
        minimize(quad_both, [], jac=True)
    with pytest.raises(ValueError, match="NaN or Inf"):
        minimize(quad_both, [np.nan, 0, 0], jac=True)
    with pytest.raises(ValueError, match="gradient has shape"):
        minimize(lambda x: (quad(x), quad_grad(x)[:2]), x0, jac=True)
    with pytest.raises(TypeError, match="gradient has dtype float64 but x is float32"):
        minimize(quad_both, x0.astype(np.float32), jac=True)
    with pytest.raises(TypeError, match=r"must return \(value, gradient\)"):
        minimize(quad, x0, jac=True)
    with pytest.raises(ValueError, match="must return a scalar"):
        minimize(lambda x: (x, quad_grad(x)), x0, jac=True)
    with pytest.raises(TypeError, match="fun must be callable"):
        minimize("quad", x0, jac=True)
    with pytest.raises(TypeError, match="callback must be callable"):
        minimize(quad_both, x0, jac=True, callback=1)
