import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import gdfast as gd
from gdfast.functions import SURFACES, Surface

NAMES = list(SURFACES)


def central_differences(value, point, h=1e-6):
    """(f(p + h e_i) - f(p - h e_i)) / 2h per coordinate: error O(h^2 f''') + O(eps |f| / h)."""
    grad = np.empty(2)
    for i in range(2):
        step = np.zeros(2)
        step[i] = h * max(1.0, abs(point[i]))
        grad[i] = (value(point + step) - value(point - step)) / (2 * step[i])
    return grad


def window_points(surface):
    """Hypothesis points inside a surface's plotting window."""
    return st.tuples(st.floats(*surface.xlim), st.floats(*surface.ylim)).map(np.array)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    surface = SURFACES[name]

    @settings(max_examples=40, deadline=None)
    @given(window_points(surface))
    def check(point):
        expected = central_differences(surface.value, point)
        scale = 1.0 + float(np.abs(surface.value(point)))  # rounding in f(p +- h) grows with |f|
        np.testing.assert_allclose(surface.gradient(point), expected, rtol=1e-6, atol=1e-6 * scale)

    check()


@pytest.mark.parametrize("name", [n for n in NAMES if SURFACES[n].minimum is not None])
def test_minimum_is_zero_with_zero_gradient(name):
    surface = SURFACES[name]
    assert float(surface.value(surface.minimum)) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(surface.gradient(surface.minimum), [0.0, 0.0], atol=1e-12)
    # A minimum, not just a stationary point: every nearby point is higher.
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    around = np.asarray(surface.minimum) + 1e-3 * np.stack([np.cos(angles), np.sin(angles)], axis=-1)
    assert np.all(surface.value(around) > 0)


def test_known_values():
    assert float(SURFACES["beale"].value([1.0, 1.5])) == pytest.approx(2.0 ** 2 + 3.5 ** 2 + 5.0 ** 2)
    np.testing.assert_allclose(SURFACES["beale"].gradient([1.0, 1.5]), [34.5, 92.5])
    assert float(SURFACES["rosenbrock"].value([0.0, 0.0])) == 1.0
    assert float(SURFACES["ravine"].value([1.0, 1.0])) == 50.5


def test_saddle_is_a_saddle_at_the_origin():
    saddle = SURFACES["saddle"]
    assert saddle.minimum is None
    np.testing.assert_array_equal(saddle.gradient([0.0, 0.0]), [0.0, 0.0])
    assert float(saddle.value([0.0, 0.0])) == 0.0
    t = np.array([-0.5, -1e-3, 1e-3, 0.5])
    assert np.all(saddle.value(np.stack([t, 0 * t], axis=-1)) > 0)  # up along x
    assert np.all(saddle.value(np.stack([0 * t, t], axis=-1)) < 0)  # down along y


@pytest.mark.parametrize("name", NAMES)
def test_vectorised_evaluation_matches_pointwise(name):
    surface = SURFACES[name]
    rng = np.random.default_rng(0)
    grid = np.stack([rng.uniform(*surface.xlim, (5, 7)), rng.uniform(*surface.ylim, (5, 7))], axis=-1)
    values, grads = surface.value(grid), surface.gradient(grid)
    assert values.shape == (5, 7) and grads.shape == (5, 7, 2)
    for i in range(5):
        for j in range(7):
            assert values[i, j] == surface.value(grid[i, j])
            np.testing.assert_array_equal(grads[i, j], surface.gradient(grid[i, j]))
    # One point: a 0-d value and a (2,) float64 gradient, from lists or integer arrays too.
    assert np.shape(surface.value([1, 0])) == ()
    assert surface.gradient(np.array([1, 0])).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_points_must_have_two_coordinates(name):
    with pytest.raises(ValueError, match="shape"):
        SURFACES[name].value(np.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        SURFACES[name].gradient(np.zeros((4, 3)))


@pytest.mark.parametrize("name", NAMES)
def test_picture_defaults_are_consistent(name):
    surface = SURFACES[name]
    assert isinstance(surface, Surface) and surface.name == name and surface.formula
    (x0, x1), (y0, y1) = surface.xlim, surface.ylim
    assert x0 <= surface.start[0] <= x1 and y0 <= surface.start[1] <= y1
    if surface.minimum is not None:
        assert x0 <= surface.minimum[0] <= x1 and y0 <= surface.minimum[1] <= y1
    assert surface.steps >= 1
    assert set(surface.lrs) <= set(gd.OPTIMIZERS)
    assert all(lr > 0 for lr in surface.lrs.values())
    assert name in repr(surface)
