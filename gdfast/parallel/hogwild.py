"""Hogwild! (Niu, Recht, Ré, Wright, 2011): lock-free SGD on threads sharing the parameters.

Linear models: ``gd.fit(..., n_threads=k)`` (gdfast.train). Here: matrix factorization as in the paper's
Netflix experiment, ``factorize(M, rank)``: M ≈ L Rᵀ fitted on the observed entries of a sparse rating matrix,
each observed entry one step of an update rule on one row of L and one row of R, the threads updating the
shared factors without locks.
"""
import time

import numpy as np

from .. import _kernels, _validate
from .._validate import COUNT, N_THREADS, NONNEGATIVE
from ..linear.trainer import _progress
from ..optim import schedules
from ..optim.optimizers import OPTIMIZER_NAMES, OPTIMIZERS

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


def factorize(M, rank, optimizer="sgd", *, epochs=10, mu=0.05, n_threads=None, test=None, schedule=None,
              init_scale=0.1, random_state=None, progress=True, **hyperparameters):
    """Factorize a sparse rating matrix M (n_users x n_items, float32 or float64; its stored entries are the
    observed ratings) as M ≈ L Rᵀ by lock-free SGD over the observed entries:

    .. math:: \\min_{L, R} \\sum_{(u, v) \\in \\Omega} \\tfrac12 (L_u R_v^\\top - M_{uv})^2
              + \\tfrac{\\mu}{2} \\Big( \\frac{\\lVert L_u \\rVert^2}{|\\Omega_u|}
              + \\frac{\\lVert R_v \\rVert^2}{|\\Omega_v|} \\Big)

    the penalty split by the rows' degrees as in the paper, so that it sums to mu/2 (||L||^2 + ||R||^2) over
    an epoch. Each epoch visits the entries in a new random order, split among n_threads threads (None:
    gd.get_num_threads()) that step the shared rows of L and R with ``optimizer`` (any of the ten rules and its
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
    coo = M.tocoo()
    if coo.nnz == 0:
        raise ValueError("M has no stored entries to fit")
    ratings = np.ascontiguousarray(coo.data)
    if not np.isfinite(ratings).all():
        raise ValueError("M contains NaN or Inf")
    users, items = coo.row.astype(np.int64), coo.col.astype(np.int64)
    user_degree = np.bincount(users, minlength=M.shape[0]).astype(np.float64)
    item_degree = np.bincount(items, minlength=M.shape[1]).astype(np.float64)
    rng = np.random.default_rng(random_state)
    L = (init_scale * rng.standard_normal((M.shape[0], rank))).astype(M.dtype)
    R = (init_scale * rng.standard_normal((M.shape[1], rank))).astype(M.dtype)
    opt = OPTIMIZERS[optimizer]([L, R], **hyperparameters)
    slots = [tuple(state[name] for name in opt.rule.slots) for state in opt.state]
    per_line = 64 // M.dtype.itemsize  # each thread's gradient rows a cache line away from the next thread's
    scratch = np.zeros((threads, -(-2 * rank // per_line) * per_line + per_line), M.dtype)
    sched, eta0, n = schedules.schedule(schedule), opt.lr, len(ratings)
    n_steps = threads * -(-n // threads)
    history, bar = [], _progress(progress, epochs)
    for epoch in range(epochs):
        order = rng.permutation(n)  # int64
        lr = sched.rates(eta0, epoch, opt.t, n_steps)
        start = time.perf_counter()
        total, steps = _kernels.factorize_epoch(opt._kernel_id, L, slots[0], R, slots[1], users, items, ratings,
                                                user_degree, item_degree, scratch, int(threads), order, mu,
                                                *opt._kernel_args, opt.t, lr)
        seconds = time.perf_counter() - start
        opt._advance(steps)
        model = Factorization(L, R, history, opt)
        entry = {"epoch": epoch + 1, "train_rmse": float(np.sqrt(total / n)),
                 "test_rmse": model.rmse(test) if test is not None else None, "lr": float(lr[steps - 1]),
                 "seconds": seconds, "entries_per_second": n / max(seconds, 1e-12)}
        history.append(entry)
        sched.observe(entry["test_rmse"] if test is not None else entry["train_rmse"])
        if bar is not None:
            bar.set_postfix(rmse=f"{entry['train_rmse']:.4g}")
            bar.update()
    if bar is not None:
        bar.close()
    return Factorization(L, R, history, opt)
