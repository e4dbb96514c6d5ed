"""Downpour SGD (Dean et al., 2012) and delay-tolerant Adagrad (McMahan & Streeter, 2014) on its server."""
import numpy as np

from ... import _validate
from ..._validate import COUNT, NONNEGATIVE, Integer
from . import _backend
from ._problem import Problem

# downpour's numbers (gdfast._validate); n_shards' upper bound, the number of parameters, is the server's check,
# the delay the backend's.
DOWNPOUR_CONSTRAINTS = {"n_replicas": COUNT, "n_shards": COUNT, "n_fetch": COUNT, "n_push": COUNT,
                        "batch_size": COUNT, "epochs": COUNT, "local_lr": NONNEGATIVE, "warm_start": Integer(0)}


# The server's learning rate where none is given, for the Adagrad servers: measured on the README's example
# (bench/results/defaults.md), where Adagrad's own 0.01 is far from converged in 5 epochs.
SERVER_LR = {"adagrad": 0.5, "adaptive_revision": 0.5}


def downpour(loss, X, y, *, n_replicas=4, n_shards=2, n_fetch=5, n_push=5, batch_size=32, epochs=5, local_lr=0.01,
             server="adagrad", warm_start=0, delay=0, backend="local", random_state=None, **server_hyperparameters):
    """Downpour SGD: ``n_replicas`` model replicas, each on its own share of the examples (rows i, i + p, ...),
    and a parameter server of ``n_shards`` shards, each applying ``server`` (a rule's name, e.g. "adagrad", or
    "adaptive_revision" for delay-tolerant Adagrad) with ``**server_hyperparameters`` to its coordinates (an
    Adagrad server's lr defaults to 0.5, SERVER_LR: measured, bench/results/defaults.md).

    Each replica, at every step on a mini-batch of ``batch_size`` of its examples: fetches the parameters every
    ``n_fetch`` steps, computes its gradient g, updates its local copy (theta_local -= local_lr g), accrues g; every
    ``n_push`` steps it pushes the accrued gradient. ``warm_start`` steps are first taken by replica 0 alone
    (Dean et al.'s warm start), then all replicas start. ``epochs`` counts passes over the whole data set.

    backend: "local" (default) one thread per replica, the server's shards locked one at a time; "simulated" the
    replicas take turns step by step in this thread, a push reaches the server ``delay`` server updates after it
    is sent (an int, or a range (low, high) to draw each push's delay from), and a run is deterministic for a
    random_state; "ray" or a :class:`RayBackend` the replicas as Ray
    tasks, the shards as Ray actors. Returns a LinearModel (history: the training loss at the server's
    parameters after each epoch, and the server updates so far).
    """
    backend = _backend.check(backend, delay)
    n_replicas, n_shards, n_fetch, n_push, batch_size, epochs, local_lr, warm_start = _validate.check(
        DOWNPOUR_CONSTRAINTS, {"n_replicas": n_replicas, "n_shards": n_shards, "n_fetch": n_fetch, "n_push": n_push,
                               "batch_size": batch_size, "epochs": epochs, "local_lr": local_lr,
                               "warm_start": warm_start}).values()
    problem = Problem(loss, X, y)
    if n_replicas > problem.n:
        raise ValueError(f"n_replicas ({n_replicas}) exceeds the {problem.n} examples")
    if server in SERVER_LR:
        server_hyperparameters = {"lr": SERVER_LR[server], **server_hyperparameters}
    rng = np.random.default_rng(random_state)
    replicas = [_Replica(i, np.arange(i, problem.n, n_replicas)) for i in range(n_replicas)]
    steps_per_epoch = max(-(-len(r.rows) // batch_size) for r in replicas)
    history = []
    with _backend.start(backend, problem, delay, rng) as runner:
        ps = runner.server(problem.zeros(), n_shards, server, server_hyperparameters)
        step = _DownpourStep(problem, ps, batch_size, n_fetch, n_push, local_lr)
        if warm_start:
            first = replicas[0]
            first.order = np.concatenate([rng.permutation(first.rows)
                                          for _ in range(-(-warm_start * batch_size // len(first.rows)))])
            replicas[:1] = runner.run(step, replicas[:1], warm_start)
        for epoch in range(epochs):
            for r in replicas:
                r.order = rng.permutation(r.rows)
            replicas = runner.run(step, replicas, steps_per_epoch)
            history.append({"epoch": epoch + 1, "train_loss": problem.mean_loss(ps.parameters()),
                            "server_updates": ps.updates})
        ps.flush()
        theta = ps.parameters()
    return problem.model(theta, history, local_lr)


def delay_tolerant_adagrad(loss, X, y, *, lr=0.5, z0=1e-8, n_replicas=4, n_shards=2, batch_size=32, epochs=5,
                           delay=0, backend="local", random_state=None):
    """Asynchronous SGD with delay-tolerant Adagrad (McMahan & Streeter, 2014) on the server: every replica
    fetches the parameters with a snapshot of the gradient sums, computes the gradient of a mini-batch and
    pushes it; the server's AdaptiveRevision rule (:class:`gdfast.distributed.AdaptiveRevision`: lr = alpha,
    z0) revises the step for the gradients that reached it in between. Downpour with n_fetch = n_push = 1."""
    return downpour(loss, X, y, n_replicas=n_replicas, n_shards=n_shards, n_fetch=1, n_push=1,
                    batch_size=batch_size, epochs=epochs, local_lr=0.0, server="adaptive_revision", delay=delay,
                    backend=backend, random_state=random_state, lr=lr, z0=z0)


class _Replica:
    """A replica's state: its examples and this epoch's order of them, its copy of the parameters, the snapshot
    fetched with them, the gradient accrued since its last push, and its step and push counts."""

    def __init__(self, index, rows):
        self.index, self.rows, self.order = index, rows, rows
        self.theta = self.snapshots = None
        self.accrued, self.steps, self.pushes = 0.0, 0, 0


class _DownpourStep(_backend.Step):
    def __init__(self, problem, server, batch_size, n_fetch, n_push, local_lr):
        self.problem, self.server = problem, server
        self.batch_size, self.n_fetch, self.n_push, self.local_lr = batch_size, n_fetch, n_push, local_lr

    def __call__(self, r, s):
        rows = r.order[s * self.batch_size:(s + 1) * self.batch_size]
        if not len(rows):
            return
        if r.steps % self.n_fetch == 0:
            r.theta, r.snapshots = self.server.fetch()
        g = self.problem.gradient(rows, r.theta)
        r.theta -= self.local_lr * g
        r.accrued += g
        r.steps += 1
        if r.steps % self.n_push == 0:
            self.server.push(r.accrued, r.snapshots, (r.index, r.pushes))
            r.accrued, r.pushes = 0.0, r.pushes + 1
