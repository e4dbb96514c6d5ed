"""An optimizer's sparse steps: the lazy mode, and the exact mode's step counters per block of coordinates.

Exact mode bookkeeping, per parameter i: while i is *stale* (it has had a sparse step since it was last fully up
to date), the coordinates of block b (``_kernels.EXACT_BLOCK`` consecutive coordinates) have seen every step up
to max(last[i][b], synced_at[i]); a block holding a touched coordinate catches up the zero-gradient steps it
skipped, in C, before its own step. A dense step or a flush brings the whole
parameter up to date and ends the stale period; the next sparse step starts a new one with synced_at = t - 1.
"""
import numpy as np

from .. import _kernels

_EMPTY = np.zeros(0)
LAZY = _kernels.SparseState(None, 0, _EMPTY, _EMPTY)


class SparseSteps:
    def __init__(self, rule, params, state, mode, form=None):
        """form: the rule's form under the optimizer's convention (its kernel and catch-up); the survey's when
        None."""
        self.rule, self.params, self.state, self.mode = rule, params, state, mode
        form = rule.forms["survey"] if form is None else form
        self.kernel, self.catch_up = form.kernel_id, form.catch_up
        n = len(params)
        self.last = [None] * n  # int64 per block of coordinates, allocated at a parameter's first sparse step
        self.synced_at = [0] * n
        self.stale = set()
        self._betas = None
        self._inv_bias = (_EMPTY, _EMPTY)
        self._saturated = False

    def step(self, i, grad, kernel_args, t):
        """Step t of parameter i from a checked SparseGradient."""
        # else a zero-gradient step is the identity (no catch-up kernel, no weight decay)
        if self.mode == "exact" and (self.catch_up != "none" or kernel_args.weight_decay):
            if i not in self.stale:
                self.synced_at[i] = t - 1
                self.stale.add(i)
            if self.last[i] is None:
                self.last[i] = np.zeros(-(-self.params[i].size // _kernels.EXACT_BLOCK), np.int64)
            state = self._exact_state(i, kernel_args, t)
        else:
            state = LAZY
        grad.step(self.kernel, self.params[i], self.state[i], kernel_args, t, state)

    def flush(self, i, kernel_args, t):
        """Exact mode: bring parameter i up to step t (the steps taken so far)."""
        if i in self.stale:
            _kernels.catch_up(self.kernel, self.params[i], self.state[i], kernel_args, t,
                              self._exact_state(i, kernel_args, t))
            self.stale.discard(i)

    def encode(self, prefix=""):
        """(meta, arrays) of the bookkeeping as it stands: the mode, and in the exact mode which parameters are
        stale, since when, and their per-block counters (``last.<i>``)."""
        meta = {"sparse": self.mode, "synced_at": list(self.synced_at), "stale": sorted(self.stale),
                "counted": [last is not None for last in self.last]}
        return meta, {f"{prefix}last.{i}": last for i, last in enumerate(self.last) if last is not None}

    def restore(self, meta, arrays, prefix=""):
        """The bookkeeping of an encoding (see encode)."""
        self.synced_at = [int(s) for s in meta["synced_at"]]
        self.stale = set(meta["stale"])
        self.last = [np.array(arrays[f"{prefix}last.{i}"]) if counted else None
                     for i, counted in enumerate(meta["counted"])]

    def forget(self):
        """Every coordinate is up to date (after a load): no stale parameter, no counters."""
        self.last = [None] * len(self.params)
        self.stale.clear()

    def _exact_state(self, i, kernel_args, t):
        return _kernels.SparseState(self.last[i], self.synced_at[i], *self._bias_tables(kernel_args, t))

    def _bias_tables(self, kernel_args, t):
        """1 / (1 - beta^s) for the steps a catch-up may replay: s = 1..t, or up to where both reach 1 exactly
        (the kernels use 1 beyond the table)."""
        betas = kernel_args.beta1, kernel_args.beta2
        if betas != self._betas:
            self._betas, self._inv_bias, self._saturated = betas, (_EMPTY, _EMPTY), False
        n = len(self._inv_bias[0])
        if n < t and not self._saturated:
            n = max(t, 2 * n, 64)
            b1, b2 = (_kernels.inv_bias_table(beta, n) for beta in betas)
            done = (b1 == 1.0) & (b2 == 1.0)
            if done.any():
                n = int(np.argmax(done)) + 1
                b1, b2, self._saturated = b1[:n].copy(), b2[:n].copy(), True
            self._inv_bias = (b1, b2)
        return self._inv_bias
