"""Elastic Averaging SGD (Zhang, Choromanska, LeCun, 2015)."""
import itertools

import numpy as np

from ... import _validate
from ..._validate import COUNT, NONNEGATIVE, NoneOr, Options, Real
from ...optim import kernels
from ...optim._registry import RULES
from ...optim.optimizers import OPTIMIZER_NAMES
from . import _backend
from ._ray import RayBackend
from ._problem import ShardedProblem
from ._replica import Replica, epoch_entry, shares

# easgd's numbers and mode (gdfast._validate).
EASGD_CONSTRAINTS = {"n_replicas": NoneOr(COUNT), "mode": Options("sync", "async"), "tau": COUNT, "lr": NoneOr(NONNEGATIVE),
                     "alpha": NoneOr(Real(0, 1, "right")), "momentum": NoneOr(Real(0, 1, "left")),
                     "batch_size": COUNT, "epochs": COUNT, "optimizer": NoneOr(OPTIMIZER_NAMES)}
# The workers' default rule and its lr (each worker sees 1/p of the examples): measured on the README's example
# (bench/results/defaults.md), where it reaches serial Adagrad's training loss; with momentum, the paper's SGD.
DEFAULT_WORKERS = ("adagrad", 2.0)


def easgd(loss, X, y, *, n_replicas=None, mode="async", tau=1, lr=None, alpha=None, momentum=None, batch_size=32,
          epochs=5, optimizer=None, backend="local", random_state=None, n_features=None, classes=None,
          **hyperparameters):
    """Elastic Averaging SGD: ``n_replicas`` workers x_i (default 4), each on its own share of the examples
    (rows i, i + p, ...) or, X a list of shard sources and y None, one worker per shard reading only its own
    (as gd.distributed.downpour's; classes must be given to a classifier), held to a center variable x~ by an elastic force of strength rho = alpha / lr.

    mode="sync" (the paper's equations 5-6), every round, from the values at round t:
        x_i  <- x_i - lr (g_i(x_i) + rho (x_i - x~)),    x~ <- x~ + lr rho sum_i (x_i - x~)
    mode="async" (Algorithm 1): each worker, every ``tau`` of its steps, exchanges with the center
        d = alpha (x_i - x~);  x_i <- x_i - d;  x~ <- x~ + d
    and at every step takes a local SGD step x_i <- x_i - lr g_i(x_i); with ``momentum`` delta this is EAMSGD
    (Algorithm 2): v_i <- delta v_i - lr g_i(x_i + delta v_i);  x_i <- x_i + v_i.
    alpha defaults to 0.9 / n_replicas (the paper's beta = p alpha = 0.9); the paper's momentum is 0.99.
    optimizer: the rule of the workers' local steps (``**hyperparameters`` its others than lr): the paper's
    "sgd" (with momentum, EAMSGD), or any rule of gd.OPTIMIZERS, each worker keeping its own state (in both
    modes the elastic force is then applied after the rule's step). None: Adagrad at lr 2 (each of the p
    workers sees 1/p of the examples), which reaches serial Adagrad's training loss on the README's example
    (bench/results/defaults.md), or with momentum the paper's SGD (lr: its default, 0.01), which even as
    EAMSGD with momentum 0.99 and tau 4 stays above it.

    backend: "local" (default) one thread per worker, an exchange holding the center's lock, a synchronous
    round computing the workers' gradients in parallel; "simulated" the workers take turns step by step in this
    thread, deterministic for a random_state; "ray" or a :class:`RayBackend` workers as Ray tasks and the
    center (async) as a Ray actor (on shards, the asynchronous mode: a synchronous round on Ray computes the
    gradients from the driver's data). Returns a LinearModel of the center, with each epoch's progressive loss
    (of each example at its worker's parameters before the step) and, in memory, the training loss at the
    center in its history.
    """
    backend = _backend.check(backend)
    n_replicas, mode, tau, lr, alpha, delta, batch_size, epochs, optimizer = _validate.check(
        EASGD_CONSTRAINTS, {"n_replicas": n_replicas, "mode": mode, "tau": tau, "lr": lr, "alpha": alpha,
                            "momentum": momentum, "batch_size": batch_size, "epochs": epochs,
                            "optimizer": optimizer}).values()
    if delta is not None and mode == "sync":
        raise ValueError("momentum (EAMSGD) is the asynchronous method: use mode='async'")
    local = _LocalRule.chosen(optimizer, lr, delta, hyperparameters)
    lr = local.lr
    problem, worker_shares = shares(loss, X, y, n_replicas, n_features, classes)
    if mode == "sync" and isinstance(backend, RayBackend) and isinstance(problem, ShardedProblem):
        raise ValueError("synchronous EASGD on shard sources runs on the 'local' or 'simulated' backend: on Ray, "
                         "use mode='async'")
    alpha = 0.9 / len(worker_shares) if alpha is None else alpha
    rng = np.random.default_rng(random_state)
    workers = [_Worker(i, share, problem.zeros(), local) for i, share in enumerate(worker_shares)]
    history = []
    with _backend.start(backend, problem) as runner:
        center = runner.center(problem.zeros()) if mode == "async" else problem.zeros()
        step = _AsyncStep(problem, center, batch_size, tau, local, alpha, delta)
        for epoch in range(epochs):
            for w in workers:
                w.start(rng)
            if mode == "async":
                workers = runner.run(step, workers)
            else:
                _sync_rounds(runner, problem, workers, center, batch_size, local, alpha)
            theta = center.parameters() if mode == "async" else center
            history.append(epoch_entry(problem, workers, epoch + 1, theta))
        theta = center.parameters() if mode == "async" else center
    return problem.model(theta, history, lr)


def _sync_rounds(runner, problem, workers, center, batch_size, local, alpha):
    """Synchronous EASGD: every round, all from the values at round t (equations 5-6), until every worker's
    pass is over (a pass left early, on an error, stops its shard's reading)."""
    try:
        for r in itertools.count():
            batches = [w.share.batch(problem, r, batch_size) for w in workers]
            busy = [i for i, batch in enumerate(batches) if batch is not None]
            if not busy:
                return
            pulls = [w.x - center for w in workers]
            results = runner.gradients([(batches[i], workers[i].x) for i in busy])
            for i, (loss_sum, g) in zip(busy, results):
                workers[i].record(loss_sum, len(batches[i][1]))
                local.step(workers[i], g)
            for w, pull in zip(workers, pulls):
                w.x -= alpha * pull
            center += alpha * np.sum(pulls, axis=0)
    finally:
        for w in workers:
            w.share.close()


class _LocalRule:
    """A worker's local step: the paper's x_i <- x_i - lr g, or a rule's (its state on the worker)."""

    @classmethod
    def chosen(cls, optimizer, lr, delta, hyperparameters):
        """easgd's rule and lr as given, or its defaults (DEFAULT_WORKERS; with momentum delta, SGD)."""
        if delta is not None and optimizer not in (None, "sgd"):
            raise ValueError(f"momentum (EAMSGD) steps with SGD: use optimizer='sgd', not {optimizer!r}")
        if optimizer is None:
            optimizer, default_lr = ("sgd", RULES["sgd"].defaults["lr"]) if delta is not None else DEFAULT_WORKERS
            lr = default_lr if lr is None else lr
        return cls(optimizer, RULES[optimizer].defaults["lr"] if lr is None else lr, hyperparameters)

    def __init__(self, rule, lr, hyperparameters):
        self.rule, self.lr, self.hyperparameters = rule, lr, hyperparameters
        if rule != "sgd":  # hyperparameters checked once, before any worker starts
            getattr(kernels, rule)(np.zeros(1), np.zeros(1), *[np.zeros(1) for _ in RULES[rule].slots], t=1, lr=lr,
                                  **hyperparameters)

    def slots(self, x):
        return [np.zeros_like(x) for _ in RULES[self.rule].slots]

    def step(self, w, g):
        w.rule_steps += 1
        if self.rule == "sgd" and not self.hyperparameters:
            w.x -= self.lr * g
        else:
            getattr(kernels, self.rule)(w.x, g, *w.slots, t=w.rule_steps, lr=self.lr, **self.hyperparameters)


class _Worker(Replica):
    """A worker's state: its share of the examples, x_i, its velocity (EAMSGD), its step count, its local rule's
    state and step count."""

    def __init__(self, index, share, x, local):
        super().__init__(index, share)
        self.x, self.v, self.steps = x, np.zeros_like(x), 0
        self.slots, self.rule_steps = local.slots(x), 0


class _AsyncStep(_backend.Step):
    """Algorithm 1 (EASGD) or 2 (EAMSGD) for one worker's step."""

    def __init__(self, problem, center, batch_size, tau, local, alpha, delta):
        self.problem, self.server = problem, center
        self.batch_size, self.tau, self.local, self.alpha, self.delta = batch_size, tau, local, alpha, delta

    def __call__(self, w, s):
        batch = w.share.batch(self.problem, s, self.batch_size)
        if batch is None:
            return False
        if w.steps % self.tau == 0:
            d = self.server.exchange(w.x, self.alpha, (w.index, w.steps // self.tau))
            if d is not None:  # None: made by an earlier try of this task (Ray)
                w.x -= d
        w.steps += 1
        if self.delta is None:
            self.local.step(w, w.gradient(*batch, w.x))
        else:
            w.v *= self.delta
            w.v -= self.local.lr * w.gradient(*batch, w.x + w.v)
            w.x += w.v
        return True
