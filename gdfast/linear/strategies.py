"""The survey's strategies for training (section 6) that gdfast.fit takes as options: curriculum learning
(6.1), early stopping (6.5) and gradient noise (6.6). Shuffling is fit's ``shuffle``, batch normalization
gdfast.nn."""
import math

import numpy as np

from .. import _validate
from .._validate import NONNEGATIVE, Integer, Options, Real


class GradientNoise:
    """Gaussian noise added to every gradient coordinate a step computes: g_t + N(0, sigma_t^2) with
    sigma_t^2 = eta / (1 + t)^gamma (Neelakantan et al., 2015, as in the survey; eta in {0.01, 0.3, 1.0},
    gamma = 0.55). On CSR data only the coordinates a batch touches get noise."""

    _constraints = {"eta": NONNEGATIVE, "gamma": NONNEGATIVE}

    def __init__(self, eta=0.01, gamma=0.55):
        self.eta, self.gamma = _validate.check(self._constraints, {"eta": eta, "gamma": gamma}).values()

    def sd(self, t0, n_steps):
        """sigma_t for t = t0 + 1 .. t0 + n_steps. The powers are libm's, one at a time: numpy's vectorised
        power (SVML on AVX-512 CPUs) differs in the last bit from CPU to CPU, and with it a fit's bits."""
        powers = np.fromiter((math.pow(2.0 + t, self.gamma) for t in range(t0, t0 + n_steps)), np.float64, n_steps)
        return np.sqrt(self.eta / powers)

    def __repr__(self):
        return f"GradientNoise(eta={self.eta}, gamma={self.gamma})"

    def _encode(self):
        """Its attributes as JSON (an estimator's checkpoint keeps its gradient noise this way)."""
        return {"eta": self.eta, "gamma": self.gamma}

    @classmethod
    def _decode(cls, attributes):
        return cls(**attributes)


class Curriculum:
    """Curriculum learning (Bengio et al., 2009; the survey's section 6.1): examples ordered by a difficulty
    score instead of at random. ``difficulty``: an array of one score per example, a callable
    ``difficulty(X, y) -> scores``, or "loss" (each example's loss under the current model, recomputed every
    epoch; low is easy). ``strategy``: "naive" takes the examples from easy to hard every epoch; "mixed"
    (Zaremba & Sutskever, 2014) takes each position of that order with probability 1 - ``mix`` and a uniformly
    drawn example otherwise, so every batch mixes curriculum and random examples."""

    _constraints = {"strategy": Options("naive", "mixed"), "mix": Real(0, 1)}

    def __init__(self, difficulty="loss", strategy="naive", mix=0.5):
        if not (callable(difficulty) or isinstance(difficulty, np.ndarray) or difficulty == "loss"):
            raise ValueError("difficulty must be an array of scores, a callable(X, y) or 'loss'")
        self.difficulty = difficulty
        self.strategy, self.mix = _validate.check(self._constraints, {"strategy": strategy, "mix": mix}).values()

    def order(self, scores, rng):
        """The examples' order for one epoch, from their difficulty scores."""
        order = np.argsort(scores, kind="stable")
        if self.strategy == "mixed":
            uniform = rng.random(len(order)) < self.mix
            order[uniform] = rng.integers(0, len(order), int(uniform.sum()))
        return order

    def __repr__(self):
        what = self.difficulty if isinstance(self.difficulty, str) else type(self.difficulty).__name__
        return f"Curriculum(difficulty={what}, strategy={self.strategy!r}, mix={self.mix})"


class EarlyStopping:
    """Stop when the monitored loss (the validation loss where there is validation data, else the training
    loss) has not improved by more than min_delta for ``patience`` epochs; with restore_best, the model ends
    with the parameters of its best epoch."""

    _constraints = {"patience": Integer(0), "min_delta": NONNEGATIVE}

    def __init__(self, patience=5, min_delta=0.0, restore_best=True):
        checked = _validate.check(self._constraints, {"patience": patience, "min_delta": min_delta})
        self.patience, self.min_delta = checked.values()
        self.restore_best = bool(restore_best)

    def __repr__(self):
        return f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, restore_best={self.restore_best})"
