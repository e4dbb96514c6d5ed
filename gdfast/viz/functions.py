r"""Two-dimensional test surfaces for watching the update rules move (Ruder, arXiv:1609.04747, section
"Visualization of algorithms"): Beale's function, the saddle :math:`x^2 - y^2`, Rosenbrock's valley and an
ill-conditioned quadratic ravine.

Every surface takes points as arrays whose last axis holds (x, y): one point of shape (2,), or a whole grid of
shape (..., 2) for contour plots. ``value`` returns the shape without the last axis (a 0-d array for one
point), ``gradient`` the shape of the input.

    >>> from gdfast.functions import SURFACES
    >>> beale = SURFACES["beale"]
    >>> float(beale.value([3.0, 0.5])), beale.gradient([3.0, 0.5]).tolist()
    (0.0, [0.0, 0.0])

Each surface also carries what its pictures need (``gdfast.viz``): a start point, a plotting window, a number
of steps and a learning rate per rule, chosen so that the trajectories show the survey's points; a rule
without an entry in ``lrs`` uses its own default (``gd.RULES[name].defaults["lr"]``).
"""
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Optional

import numpy as np


@dataclass(frozen=True, eq=False)  # identity: the lrs mapping is not hashable
class Surface:
    """A test surface f(x, y) with its gradient and the defaults of its pictures.

    name: the key in SURFACES. value(xy), gradient(xy): f and its gradient at points xy of shape (..., 2).
    minimum: the global minimiser (x*, y*), or None where there is none (the saddle). start: the default
    start point. xlim, ylim: the plotting window. steps: the default number of steps. lrs: learning rate per
    rule name for the pictures. log_levels: whether contour levels are spaced logarithmically (surfaces with
    minimum 0 and a huge range of values). formula: f as text, for titles.
    """

    name: str
    value: Callable
    gradient: Callable
    minimum: Optional[tuple]
    start: tuple
    xlim: tuple
    ylim: tuple
    steps: int
    lrs: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    log_levels: bool = False
    formula: str = ""

    def __repr__(self):
        return f"Surface({self.name!r}: f = {self.formula})"


def _split(xy):
    """x and y of points xy (..., 2), as float64."""
    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape[-1:] != (2,):
        raise ValueError(f"points must have shape (..., 2), got {xy.shape}")
    return xy[..., 0], xy[..., 1]


def _stack(dx, dy):
    return np.stack([dx, dy], axis=-1)


# Beale's function: its three terms c_i - x + x y^i share the factor x, so f is flat along x = 0 and steep for
# |y| > 1, with the minimum in a curved valley at (3, 0.5).
_BEALE_C = (1.5, 2.25, 2.625)


def beale_value(xy):
    r""":math:`f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2`; f(3, 0.5) = 0."""
    x, y = _split(xy)
    return sum((c - x + x * y ** i) ** 2 for i, c in enumerate(_BEALE_C, start=1))


def beale_gradient(xy):
    r"""With :math:`r_i = c_i - x + x y^i`:
    :math:`\partial_x f = \sum_i 2 r_i (y^i - 1)`, :math:`\partial_y f = \sum_i 2 r_i \, i x y^{i-1}`."""
    x, y = _split(xy)
    dx = dy = 0.0
    for i, c in enumerate(_BEALE_C, start=1):
        r = c - x + x * y ** i
        dx = dx + 2 * r * (y ** i - 1)
        dy = dy + 2 * r * i * x * y ** (i - 1)
    return _stack(dx, dy)


def saddle_value(xy):
    r""":math:`f(x, y) = x^2 - y^2`: up along x, down along y, a saddle point at the origin."""
    x, y = _split(xy)
    return x ** 2 - y ** 2


def saddle_gradient(xy):
    r""":math:`\nabla f = (2x, -2y)`, zero at the origin."""
    x, y = _split(xy)
    return _stack(2 * x, -2 * y)


def rosenbrock_value(xy):
    r""":math:`f(x, y) = (1 - x)^2 + 100 (y - x^2)^2`; f(1, 1) = 0 at the end of a curved, flat valley."""
    x, y = _split(xy)
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def rosenbrock_gradient(xy):
    r""":math:`\partial_x f = -2 (1 - x) - 400 x (y - x^2)`, :math:`\partial_y f = 200 (y - x^2)`."""
    x, y = _split(xy)
    return _stack(-2 * (1 - x) - 400 * x * (y - x ** 2), 200 * (y - x ** 2))


# The ravine's curvatures: 1 along x, 100 along y (condition number 100). Plain SGD must keep
# lr < 2 / 100 to stay stable across the ravine, which makes it crawl along it: the survey's case for momentum.
RAVINE_CURVATURE = (1.0, 100.0)


def ravine_value(xy):
    r""":math:`f(x, y) = \tfrac12 (x^2 + 100 y^2)`: a long, narrow valley (Hessian diag(1, 100)), minimum 0 at
    the origin."""
    x, y = _split(xy)
    a, b = RAVINE_CURVATURE
    return 0.5 * (a * x ** 2 + b * y ** 2)


def ravine_gradient(xy):
    r""":math:`\nabla f = (x, 100 y)`."""
    x, y = _split(xy)
    a, b = RAVINE_CURVATURE
    return _stack(a * x, b * y)


def _lrs(**lrs):
    return MappingProxyType(lrs)


SURFACES = MappingProxyType({s.name: s for s in (
    Surface("beale", beale_value, beale_gradient, minimum=(3.0, 0.5), start=(1.0, 1.5),
            xlim=(-0.5, 4.5), ylim=(-1.25, 2.0), steps=300, log_levels=True,
            formula="(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
            # The gradient at the start is (34.5, 92.5): SGD's family needs a small lr (the same for all three,
            # so the pictures compare the rules, not the rates); the adaptive rules' rates bring each to
            # f < 0.01 in 150-300 steps. Adadelta's lr=1 with eps=1e-6 starts with steps of ~1e-3 and is still
            # at f = 6.3 (from 41) after 300 steps; at lr=4 it reaches f = 0.02 (it then hovers near the
            # minimum at f ~ 0.03-0.1 for any lr: its step size does not shrink there).
            lrs=_lrs(sgd=1e-3, momentum=1e-3, nag=1e-3, adagrad=0.7, adadelta=4.0, rmsprop=0.02, adam=0.1,
                     adamax=0.3, nadam=0.1, amsgrad=0.02)),
    Surface("saddle", saddle_value, saddle_gradient, minimum=None, start=(1.0, 1e-3),
            xlim=(-1.5, 1.5), ylim=(-1.5, 1.5), steps=100,
            formula="x^2 - y^2",
            # Start 1e-3 off the ridge y = 0: SGD's y grows only by (1 + 2 lr) per step and is still ~0.007 after
            # 100 steps; Momentum and NAG (same lr) escape after ~60 steps; the adaptive rules divide the tiny
            # gradient along y by its own size and head down the slope within a few to ~30 steps.
            lrs=_lrs(sgd=0.01, momentum=0.01, nag=0.01, adagrad=0.1, adadelta=1.0, rmsprop=0.01, adam=0.03,
                     adamax=0.03, nadam=0.03, amsgrad=0.03)),
    Surface("rosenbrock", rosenbrock_value, rosenbrock_gradient, minimum=(1.0, 1.0), start=(-1.5, 2.0),
            xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), steps=1000, log_levels=True,
            formula="(1 - x)^2 + 100 (y - x^2)^2",
            # Curvature ~2000 across the valley at the start caps SGD's lr near 1e-3; along the flat valley
            # floor momentum pays off (Momentum, NAG and Adam reach f < 0.01 in 300-500 steps, SGD does not).
            lrs=_lrs(sgd=1e-3, momentum=1e-3, nag=1e-3, adagrad=1.0, adadelta=10.0, rmsprop=0.01, adam=0.1,
                     adamax=0.2, nadam=0.05, amsgrad=0.05)),
    Surface("ravine", ravine_value, ravine_gradient, minimum=(0.0, 0.0), start=(-4.5, 0.6),
            xlim=(-5.0, 1.0), ylim=(-1.0, 1.0), steps=100, log_levels=True,
            formula="(x^2 + 100 y^2) / 2",
            # SGD at lr = 0.019 (just under the stability limit 2/100) zigzags across the ravine and crawls
            # along it (x = -0.66 after 100 steps); Momentum still swings across (gamma = 0.9: the swing decays
            # by sqrt(0.9) per step) but runs along x ten times faster, NAG's look-ahead damps the swing.
            lrs=_lrs(sgd=0.019, momentum=0.01, nag=0.01, adagrad=1.0, adadelta=10.0, rmsprop=0.05, adam=0.2,
                     adamax=0.2, nadam=0.2, amsgrad=0.1)),
)})
