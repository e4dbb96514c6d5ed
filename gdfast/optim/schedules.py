"""Learning-rate schedules (Ruder, arXiv:1609.04747, sections 3 and 4: annealing by a pre-defined schedule, or
when the change in the objective between epochs falls below a threshold).

A schedule turns the initial learning rate eta0 into one learning rate per step. ``unit`` says whether its
counter k is the epoch (0, 1, ...; the rate is constant within an epoch) or the step t (1, 2, ... over the whole
run). The training loop asks for a whole epoch's rates at once (``rates``) and reports each epoch's objective
(``observe``), which only the threshold rule uses.
"""
import math

import numpy as np

from .. import _validate
from .._validate import COUNT, NONNEGATIVE, Integer, Options, Real

_UNIT = Options("epoch", "step")


class Schedule:
    """A learning-rate schedule: ``rate(eta0, k)`` at counter k (the epoch, or the step where ``unit`` is "step"),
    ``rates`` for a whole epoch's steps, and ``observe`` of each epoch's objective. The base of the schedules
    below; a subclass defines ``rate``."""

    unit = "epoch"
    _constraints = {}  # {argument name: constraint} of the constructor's arguments (gdfast._validate)

    def _set(self, **arguments):
        """The constructor's arguments, checked against the class's table, as attributes of the same names."""
        vars(self).update(_validate.check(self._constraints, arguments))

    def rate(self, eta0, k):
        """The learning rate at counter k (epoch or step, see ``unit``); k may be an array of counters."""
        raise NotImplementedError

    def rates(self, eta0, epoch, t0, n_steps):
        """The learning rates of steps t0 + 1 .. t0 + n_steps, which make up epoch ``epoch``."""
        if self.unit == "epoch":  # one rate for the whole epoch
            return np.full(n_steps, self.rate(eta0, epoch), np.float64)
        k = np.arange(t0 + 1, t0 + n_steps + 1, dtype=np.float64)
        return np.broadcast_to(np.asarray(self.rate(eta0, k), np.float64), (n_steps,)).copy()

    def observe(self, objective):
        """The objective at the end of an epoch (the validation loss where there is one)."""

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    def _encode(self):
        """Its attributes, its state included, as JSON (an estimator's checkpoint keeps its schedule this way)."""
        return dict(vars(self))

    @classmethod
    def _decode(cls, attributes):
        schedule = cls.__new__(cls)
        vars(schedule).update(attributes)
        return schedule


class Constant(Schedule):
    """eta_k = eta0."""

    def rate(self, eta0, k):
        return eta0


class StepDecay(Schedule):
    """eta_k = eta0 * factor^floor(k / every): the rate drops by ``factor`` every ``every`` epochs."""

    _constraints = {"factor": Real(0, 1, "right"), "every": COUNT, "unit": _UNIT}

    def __init__(self, factor=0.5, every=10, unit="epoch"):
        self._set(factor=factor, every=every, unit=unit)

    def rate(self, eta0, k):
        return eta0 * self.factor ** (k // self.every)


class Exponential(Schedule):
    """eta_k = eta0 * decay^k."""

    _constraints = {"decay": Real(0, 1, "right"), "unit": _UNIT}

    def __init__(self, decay=0.96, unit="epoch"):
        self._set(decay=decay, unit=unit)

    def rate(self, eta0, k):
        return eta0 * self.decay ** k


class InverseTime(Schedule):
    """eta_t = eta0 / (1 + k t)^power, per step: the Robbins-Monro conditions (sum eta = inf, sum eta^2 < inf)
    hold for power in (0.5, 1]."""

    unit = "step"
    _constraints = {"k": NONNEGATIVE, "power": NONNEGATIVE}

    def __init__(self, k=1.0, power=1.0):
        self._set(k=k, power=power)

    def rate(self, eta0, t):
        return eta0 / (1.0 + self.k * t) ** self.power


class Optimal(Schedule):
    """scikit-learn's "optimal" rate for an L2 penalty alpha: eta_t = 1 / (alpha (t_0 + t - 1)), per step, with
    Bottou's t_0 = 1 / (alpha sqrt(1 / sqrt(alpha))). eta0 is not used."""

    unit = "step"
    _constraints = {"alpha": Real(0, None, "neither")}

    def __init__(self, alpha=1e-4):
        self._set(alpha=alpha)
        self._t0 = 1.0 / (self.alpha * math.sqrt(1.0 / math.sqrt(self.alpha)))

    def rate(self, eta0, t):
        return 1.0 / (self.alpha * (self._t0 + t - 1))


class Cosine(Schedule):
    """eta_k = eta_min + (eta0 - eta_min) (1 + cos(pi k / period)) / 2, k = min(k, period)."""

    _constraints = {"period": COUNT, "eta_min": NONNEGATIVE, "unit": _UNIT}

    def __init__(self, period=10, eta_min=0.0, unit="epoch"):
        self._set(period=period, eta_min=eta_min, unit=unit)

    def rate(self, eta0, k):
        k = np.minimum(k, self.period)
        return self.eta_min + (eta0 - self.eta_min) * (1 + np.cos(np.pi * k / self.period)) / 2


class Threshold(Schedule):
    """The survey's threshold rule (reduce on plateau): when the objective improves by less than ``threshold``
    (relative to the best so far) for more than ``patience`` epochs, multiply the rate by ``factor``, then wait
    ``cooldown`` epochs before watching again; never below ``min_lr``."""

    _constraints = {"factor": Real(0, 1, "neither"), "patience": Integer(0), "threshold": NONNEGATIVE,
                    "cooldown": Integer(0), "min_lr": NONNEGATIVE}

    def __init__(self, factor=0.1, patience=0, threshold=1e-4, cooldown=0, min_lr=0.0):
        self._set(factor=factor, patience=patience, threshold=threshold, cooldown=cooldown, min_lr=min_lr)
        self._scale, self._best, self._bad, self._cool = 1.0, math.inf, 0, 0

    def rate(self, eta0, k):
        return max(eta0 * self._scale, min(self.min_lr, eta0))

    def observe(self, objective):
        if not math.isfinite(self._best) or self._best - objective > self.threshold * abs(self._best):
            self._best, self._bad = objective, 0
        else:
            self._bad += 1
        if self._cool > 0:
            self._cool -= 1
            self._bad = 0
        elif self._bad > self.patience:
            self._scale *= self.factor
            self._bad, self._cool = 0, self.cooldown


SCHEDULES = {"constant": Constant, "step": StepDecay, "exponential": Exponential, "inverse_time": InverseTime,
             "optimal": Optimal, "cosine": Cosine, "threshold": Threshold}


def schedule(spec):
    """A Schedule from an instance, a name in SCHEDULES (its defaults) or None (constant)."""
    if spec is None:
        return Constant()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, str) and spec in SCHEDULES:
        return SCHEDULES[spec]()
    raise ValueError(f"schedule must be a gdfast.schedules.Schedule or one of {sorted(SCHEDULES)}, got {spec!r}")
