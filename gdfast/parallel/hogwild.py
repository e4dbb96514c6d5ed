"""Hogwild! (Niu, Recht, Ré, Wright, 2011): lock-free SGD on threads sharing the parameters.

Linear models: ``gd.fit(..., n_threads=k)`` (gdfast.linear.trainer). Here: matrix factorization as in the paper's
Netflix experiment, ``factorize(M, rank)``: M ≈ L Rᵀ fitted on the observed entries of a sparse rating matrix,
each observed entry one step of an update rule on one row of L and one row of R, the threads updating the
shared factors without locks.
"""
import time

import numpy as np

from .. import _kernels, _validate, checkpoint
from .._progress import progress_bar
from .._validate import COUNT, N_THREADS, NONNEGATIVE
from ..optim import schedules
from ..optim.optimizers import OPTIMIZER_NAMES, OPTIMIZERS, Optimizer

# factorize's numbers and names (gdfast._validate).
FACTORIZE_CONSTRAINTS = {"rank": COUNT, "optimizer": OPTIMIZER_NAMES, "epochs": COUNT, "mu": NONNEGATIVE,
                         "n_threads": N_THREADS, "init_scale": NONNEGATIVE}


class Factorization:
    """The result of :func:`factorize`: ``user_factors`` L (n_users x rank), ``item_factors`` R (n_items x rank),
    ``history_`` (per epoch: train_rmse over the epoch's steps, test_rmse, lr, seconds, entries_per_second) and
    ``optimizer_``."""

    def __init__(self, L, R, history, optimizer):
        self.user_factors, self.item_factors, self.history_, self.optimizer_ = L, R, history, optimizer

    def predict(self, users, items):
        """Predicted ratings L_u . R_v for index arrays users and items."""
        users, items = np.asarray(users), np.asarray(items)
        return np.einsum("ij,ij->i", self.user_factors[users], self.item_factors[items])

    def rmse(self, M):
        """Root mean squared error on the stored entries of a sparse matrix of M's shape."""
        M = M.tocoo()
        return float(np.sqrt(np.mean((self.predict(M.row, M.col) - M.data) ** 2)))

    def save(self, path):
        """Write the factors, the history and the optimizer's state to a checkpoint (``gd.load`` reads it)."""
        checkpoint.save(self, path)

    # --- serialization: one encoding, used by pickling and checkpoints (gdfast.checkpoint) ------------------

    _checkpoint_kind = "factorization"

    def _encode(self, prefix=""):
        """(meta, arrays): L and R, the history and the optimizer's encoding over them (under ``opt.``)."""
        meta, arrays = {"history": self.history_, "optimizer": None}, {f"{prefix}L": self.user_factors,
                                                                        f"{prefix}R": self.item_factors}
        if self.optimizer_ is not None:
            meta["optimizer"], opt_arrays = self.optimizer_._encode(prefix + "opt.", params=False)  # L, R above
            arrays.update(opt_arrays)
        return meta, arrays

    @classmethod
    def _decode(cls, meta, arrays, prefix=""):
        L, R = checkpoint.writeable(arrays[f"{prefix}L"]), checkpoint.writeable(arrays[f"{prefix}R"])
        opt = None if meta["optimizer"] is None else Optimizer._decode(meta["optimizer"], arrays, prefix + "opt.",
                                                                       [L, R])
        return cls(L, R, meta["history"], opt)

    def __reduce__(self):
        return checkpoint.decoded, (type(self),) + self._encode()


# factorize's default learning rate for SGD, where none is given: measured on the README's example and a noisy
# 5000 x 1000 one (bench/results/defaults.md), where SGD's own 0.01 is far from converged in 10 epochs.
FACTORIZE_SGD_LR = 0.1


def factorize(M, rank, optimizer="sgd", *, epochs=10, mu=0.02, n_threads=None, test=None, schedule=None,
              init_scale=0.1, random_state=None, progress=True, **hyperparameters):
    """Factorize a sparse rating matrix M (n_users x n_items, float32 or float64; its stored entries are the
    observed ratings) as M ≈ L Rᵀ by lock-free SGD over the observed entries:

    .. math:: \\min_{L, R} \\sum_{(u, v) \\in \\Omega} \\tfrac12 (L_u R_v^\\top - M_{uv})^2
              + \\tfrac{\\mu}{2} \\Big( \\frac{\\lVert L_u \\rVert^2}{|\\Omega_u|}
              + \\frac{\\lVert R_v \\rVert^2}{|\\Omega_v|} \\Big)

    the penalty split by the rows' degrees as in the paper, so that it sums to mu/2 (||L||^2 + ||R||^2) over
    an epoch. Each epoch visits the entries in a new random order, split among n_threads threads (None:
    gd.get_num_threads()) that step the shared rows of L and R with ``optimizer`` (any of the eleven rules and its
    ``**hyperparameters``) without locks. ``test``: a sparse matrix of held-out ratings whose RMSE the history
    records after each epoch. The factors start as init_scale times standard normal draws.
    """
    if not _validate.is_sparse(M) or M.ndim != 2:
        raise TypeError(f"M must be a 2-D scipy.sparse matrix of ratings, got {type(M).__name__}")
    if M.dtype not in (np.float32, np.float64):
        raise TypeError(f"M has dtype {M.dtype}; gdfast does not cast: pass float32 or float64 ratings")
    rank, optimizer, epochs, mu, threads, init_scale = _validate.check(
        FACTORIZE_CONSTRAINTS, {"rank": rank, "optimizer": optimizer, "epochs": epochs, "mu": mu,
                                "n_threads": n_threads, "init_scale": init_scale}).values()
    entries = _Entries(M)
    rng = np.random.default_rng(random_state)
    L, R = _initial_factors(rng, M.shape, rank, init_scale, M.dtype)
    if optimizer == "sgd":
        hyperparameters = {"lr": FACTORIZE_SGD_LR, **hyperparameters}
    opt = OPTIMIZERS[optimizer]([L, R], **hyperparameters)
    run = _LockFreeRun(entries, L, R, opt, threads, mu, schedules.schedule(schedule))
    return Factorization(L, R, run.epochs(epochs, rng, test, progress), opt)


class _Entries:
    """M's observed entries as the kernel reads them: their rows ``users`` and columns ``items`` (int64), the
    ratings (M's dtype, contiguous), and each row's and column's number of entries, |Omega_u| and |Omega_v|
    (float64), which split the penalty."""

    def __init__(self, M):
        coo = M.tocoo()
        if coo.nnz == 0:
            raise ValueError("M has no stored entries to fit")
        self.ratings = np.ascontiguousarray(coo.data)
        if not np.isfinite(self.ratings).all():
            raise ValueError("M contains NaN or Inf")
        self.users, self.items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        self.user_degree = np.bincount(self.users, minlength=M.shape[0]).astype(np.float64)
        self.item_degree = np.bincount(self.items, minlength=M.shape[1]).astype(np.float64)
        self.n = len(self.ratings)


def _initial_factors(rng, shape, rank, init_scale, dtype):
    """L (n_users x rank) then R (n_items x rank), init_scale times standard normal draws, in M's dtype."""
    L = (init_scale * rng.standard_normal((shape[0], rank))).astype(dtype)
    R = (init_scale * rng.standard_normal((shape[1], rank))).astype(dtype)
    return L, R


def _gradient_scratch(threads, rank, dtype):
    """Each thread's two gradient rows (2 rank values), padded to whole cache lines and one line more: a thread's
    rows never share a cache line with the next thread's, which would make their writes fight over it."""
    per_line = 64 // dtype.itemsize
    return np.zeros((threads, -(-2 * rank // per_line) * per_line + per_line), dtype)


class _LockFreeRun:
    """The epochs of one factorization: the observed entries, the shared factors L and R with their optimizer
    and its state, the threads with their scratch rows, the penalty mu and the learning-rate schedule."""

    def __init__(self, entries, L, R, opt, threads, mu, schedule):
        self.entries, self.L, self.R, self.opt = entries, L, R, opt
        self.threads, self.mu, self.schedule = threads, mu, schedule
        self.slots = [tuple(state[name] for name in opt.rule.slots) for state in opt.state]
        self.scratch = _gradient_scratch(threads, L.shape[1], L.dtype)
        self.eta0 = opt.lr
        # The rates the kernel may index: thread t's k-th step is step number t + k threads, k < ceil(n / threads).
        self.n_steps = threads * -(-entries.n // threads)

    def epochs(self, epochs, rng, test, progress):
        """``epochs`` epochs, each over a new random order of the entries; the history, one entry per epoch. The
        schedule observes each epoch's test RMSE where there is a test set, its train RMSE otherwise."""
        history, bar = [], progress_bar(progress, epochs, "gdfast.factorize")
        for epoch in range(epochs):
            order = rng.permutation(self.entries.n)  # int64
            entry = self.epoch(epoch, order, test)
            history.append(entry)
            self.schedule.observe(entry["test_rmse"] if test is not None else entry["train_rmse"])
            if bar is not None:
                bar.set_postfix(rmse=f"{entry['train_rmse']:.4g}")
                bar.update()
        if bar is not None:
            bar.close()
        return history

    def epoch(self, epoch, order, test):
        """Epoch number ``epoch`` (from 0): one step on each entry, in ``order``, then its history entry; the train
        RMSE is over the epoch's steps, each entry's error taken just before its step."""
        total, lr, seconds = self._steps(epoch, order)
        n = self.entries.n
        test_rmse = Factorization(self.L, self.R, None, self.opt).rmse(test) if test is not None else None
        return {"epoch": epoch + 1, "train_rmse": float(np.sqrt(total / n)), "test_rmse": test_rmse,
                "lr": lr, "seconds": seconds, "entries_per_second": n / max(seconds, 1e-12)}

    def _steps(self, epoch, order):
        """The kernel's lock-free steps over the entries in ``order``, the threads sharing L and R, with the
        schedule's learning rates; (sum of the squared errors, the last step's lr, seconds)."""
        opt, e = self.opt, self.entries
        lr = self.schedule.rates(self.eta0, epoch, opt.t, self.n_steps)
        start = time.perf_counter()
        total, steps = _kernels.factorize_epoch(opt._kernel_id, self.L, self.slots[0], self.R, self.slots[1],
                                                e.users, e.items, e.ratings, e.user_degree, e.item_degree,
                                                self.scratch, int(self.threads), order, self.mu,
                                                opt._kernel_args, opt.t, lr)
        seconds = time.perf_counter() - start
        opt._advance(steps)
        return total, float(lr[steps - 1]), seconds
