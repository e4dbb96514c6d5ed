"""scikit-learn's stochastic gradient descent, computed in C (csrc/plain_sgd.h): the fit of one weight vector (a
regression, a two-class problem, or one class of a one-vs-rest fit) as SGDClassifier and SGDRegressor run it
(sklearn/linear_model/_sgd_fast.pyx.tp, ``_plain_sgd``), so that GDClassifier and GDRegressor with
``optimizer="sgd"`` and ``batch_size=1`` give scikit-learn's numbers.

Per example x (target y, weight s, the class weight c of y's side) at step t:

.. math::
    p = w \\cdot x + b, \\quad
    \\eta_t = \\eta_0 \\;|\\; \\frac{1}{\\alpha (t_0 + t - 1)} \\;|\\; \\frac{\\eta_0}{t^{power\\_t}}, \\quad
    u = -\\eta_t\\, \\mathrm{clip}(L'(p, y), \\pm 10^{12})\\, c\\, s, \\\\
    w \\leftarrow \\max(0, 1 - (1 - \\rho)\\eta_t\\alpha)\\, w + u\\, x, \\quad b \\leftarrow b + u\\, d

with rho the L1 share of the penalty (l1_ratio), d the intercept's factor (0.01 on sparse data, else 1) and t0
chosen so that the first step is 1 / sqrt(alpha) ("optimal", Bottou's rate). Then, with an L1 share, the
cumulative penalty of Tsuruoka et al. (2009) on the features x touches:
:math:`u_1 \\mathrel{+}= \\rho\\eta_t\\alpha`, each weight pulled toward 0 by :math:`u_1` less what it already gave,
never across 0. With averaging from step a, the averaged weights and intercept are the running means of the
iterates from step a on (Polyak and Juditsky, 1992), kept lazily on sparse data.

After each epoch: the tol rule (an epoch whose mean objective, loss plus penalty, is not below the best by tol,
or whose validation score is not above the best by tol, counts; n_iter_no_change of them in a row stop the fit,
or with learning_rate="adaptive" divide eta by 5 while it is above 1e-6).

What scikit-learn does oddly, matched here on purpose: its objective's penalty term reads the norms of the
weights the last example touched (scikit-learn's WeightVector tracks no more); its validation score during
early stopping reads the weights before their pending scale factor, and for log_loss compares the predicted
labels -1/+1 with targets encoded 0/1; an example of weight 0 still decays the weights by the L2 penalty and
counts as a step (gdfast's own loop, :class:`gdfast.Trainer`, drops such examples instead).
"""
import math
import time

import numpy as np

from .. import _kernels
from .._progress import progress_bar
from .losses import loss_name

PENALTIES = {None: 0, "l1": 1, "l2": 2, "elasticnet": 3}
LEARNING_RATES = {"constant": 1, "optimal": 2, "invscaling": 3, "adaptive": 4, "pa1": 5, "pa2": 6}


def optimal_init(loss, alpha, epsilon):
    """t0 of the "optimal" rate, so that the first step is typw / max(1, -L'(-typw, 1)), typw = alpha^(-1/4)."""
    typw = np.sqrt(1.0 / np.sqrt(alpha))
    _, dloss = _kernels.loss_value(_kernels.LOSSES[loss_name(loss)], -typw, 1.0, epsilon)
    return 1.0 / (typw / max(1.0, dloss) * alpha)


def settings(est, loss, weight_pos=1.0, weight_neg=1.0, intercept_decay=1.0, track_objective=True):
    """The C loop's settings (gd_plain_sgd) of an estimator's parameters."""
    penalty = PENALTIES[est.penalty]
    l1_ratio = {1: 1.0, 2: 0.0}.get(penalty, est.l1_ratio if est.l1_ratio is not None else 0.0)
    rate = LEARNING_RATES[est.learning_rate]
    return {"loss": _kernels.LOSSES[loss_name(loss)], "penalty": penalty, "learning_rate": rate,
            "fit_intercept": int(est.fit_intercept), "track_objective": int(track_objective),
            "epsilon": float(est.epsilon), "alpha": float(est.alpha), "l1_ratio": float(l1_ratio),
            "eta0": float(est.eta0), "power_t": float(est.power_t),
            "optimal_init": optimal_init(loss, est.alpha, est.epsilon) if rate == 2 else 0.0,
            "weight_pos": float(weight_pos), "weight_neg": float(weight_neg),
            "intercept_decay": float(intercept_decay), "average": float(int(est.average))}


class Stopping:
    """scikit-learn's tol rule over n_iter_no_change epochs, on the training objective or a validation score."""

    def __init__(self, tol, n_iter_no_change, adaptive):
        self.tol = -math.inf if tol is None else tol
        self.patience, self.adaptive = n_iter_no_change, adaptive
        self.best_objective, self.best_score, self.stalled = math.inf, -math.inf, 0

    def after_epoch(self, sgd, objective=None, score=None):
        """Whether to stop, after an epoch's mean objective (or validation score); may divide sgd's eta by 5."""
        if score is not None:
            stalled = self.tol > -math.inf and score < self.best_score + self.tol
            self.best_score = max(self.best_score, score)
        else:
            stalled = self.tol > -math.inf and objective > self.best_objective - self.tol
            self.best_objective = min(self.best_objective, objective)
        self.stalled = self.stalled + 1 if stalled else 0
        if self.stalled < self.patience:
            return False
        if self.adaptive and sgd.eta > 1e-6:
            sgd.eta = sgd.eta / 5
            self.stalled = 0
            return False
        return True


def fit_one(est, loss, data, coef, intercept, average_coef, average_intercept, *, t, max_iter, train, score=None,
            weights=(1.0, 1.0), intercept_decay=1.0, rng=None, desc="sgd"):
    """Up to max_iter epochs of scikit-learn's SGD over the rows ``train`` (int64) of data (a LinearData, y of
    +-1 or real) from step t, with est's parameters: coef (and average_coef, or None) written in place.
    score(V, b): the validation score of early stopping, or None. weights: those of the positive and the negative
    examples. Returns (intercept, average_intercept, epochs run)."""
    track = bool(est.verbose) or (score is None and est.tol is not None)  # the tol rule reads the objective
    penalty = PENALTIES[est.penalty]
    q = np.zeros_like(coef) if penalty in (1, 3) else None
    sgd = _kernels.PlainSGD(settings(est, loss, *weights, intercept_decay, track), coef, average_coef, q,
                            float(intercept), float(average_intercept), float(t), float(coef @ coef),
                            float(np.abs(coef).sum()))
    stopping = Stopping(est.tol, est.n_iter_no_change, est.learning_rate == "adaptive")
    bar, start = progress_bar(est.progress, max_iter, desc), time.perf_counter()
    for epoch in range(1, max_iter + 1):
        order = rng.permutation(train) if est.shuffle else train
        total, objective = sgd.epoch(data, order)
        if not (math.isfinite(sgd.intercept) and np.isfinite(coef).all()):
            raise ValueError(f"Floating-point under-/overflow occurred at epoch #{epoch}. Scaling input data with "
                             "StandardScaler or MinMaxScaler might help.")
        value = score(coef, sgd.intercept) if score is not None else None
        if est.verbose:
            _report(epoch, coef, sgd, total / len(train), value, start)
        if bar is not None:
            bar.update()
        if stopping.after_epoch(sgd, objective / len(train), value):
            break
    if bar is not None:
        bar.close()
    sgd.finish()
    return sgd.intercept, sgd.average_intercept, epoch


def _report(epoch, coef, sgd, mean_loss, score, start):
    """verbose > 0: one line per epoch, as scikit-learn prints it."""
    w = coef * sgd.wscale
    line = (f"-- Epoch {epoch}\nNorm: {np.linalg.norm(w):.2f}, NNZs: {np.count_nonzero(w)}, "
            f"Bias: {sgd.intercept:.6f}, T: {int(sgd.t) - 1}, Avg. loss: {mean_loss:f}")
    if score is not None:
        line += f", Validation score: {score:f}"
    print(line + f"\nTotal training time: {time.perf_counter() - start:.2f} seconds.")
