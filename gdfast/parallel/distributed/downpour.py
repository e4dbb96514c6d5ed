"""Downpour SGD (Dean et al., 2012) and delay-tolerant Adagrad (McMahan & Streeter, 2014) on its server."""
import numpy as np

from ... import _validate
from ..._validate import COUNT, NONNEGATIVE, Integer, NoneOr
from . import _backend
from ._replica import Replica, epoch_entry, shares

# downpour's numbers (gdfast._validate); n_shards' upper bound, the number of parameters, is the server's check,
# the delay the backend's.
DOWNPOUR_CONSTRAINTS = {"n_replicas": NoneOr(COUNT), "n_shards": COUNT, "n_fetch": COUNT, "n_push": COUNT,
                        "batch_size": COUNT, "epochs": COUNT, "local_lr": NONNEGATIVE, "warm_start": Integer(0)}


# The server's learning rate where none is given, for the Adagrad servers: measured on the README's example
# (bench/results/defaults.md), where Adagrad's own 0.01 is far from converged in 5 epochs.
SERVER_LR = {"adagrad": 0.5, "adaptive_revision": 0.5}


def downpour(loss, X, y, *, n_replicas=None, n_shards=2, n_fetch=5, n_push=5, batch_size=32, epochs=5,
             local_lr=0.01, server="adagrad", warm_start=0, delay=0, backend="local", random_state=None,
             n_features=None, classes=None, **server_hyperparameters):
    """Downpour SGD: ``n_replicas`` model replicas (default 4), each on its own share of the examples (rows i,
    i + p, ...) or, X a list of shard sources and y None, one replica per shard reading only its own (see
    below), and a parameter server of ``n_shards`` shards, each applying ``server`` (a rule's name, e.g. "adagrad", or
    "adaptive_revision" for delay-tolerant Adagrad) with ``**server_hyperparameters`` to its coordinates (an
    Adagrad server's lr defaults to 0.5, SERVER_LR: measured, bench/results/defaults.md).

    Each replica, at every step on a mini-batch of ``batch_size`` of its examples: fetches the parameters every
    ``n_fetch`` steps, computes its gradient g, updates its local copy (theta_local -= local_lr g), accrues g; every
    ``n_push`` steps it pushes the accrued gradient. ``warm_start`` steps are first taken by replica 0 alone
    (Dean et al.'s warm start), then all replicas start. ``epochs`` counts passes over the whole data set.

    Shards: each an svmlight file's path (read as gd.data.svmlight(path, n_features)) or a source of (X, y)
    chunks naming its n_features and dtype (gd.data.svmlight's, with its own options); a replica reads its
    shard where it runs (a thread, or a Ray task given the source, which holds paths, not data), each pass
    shuffled in windows of 65536 rows; the driver reads none. A classifier's ``classes`` must then be given.

    backend: "local" (default) one thread per replica, the server's shards locked one at a time; "simulated" the
    replicas take turns step by step in this thread, a push reaches the server ``delay`` server updates after it
    is sent (an int, or a range (low, high) to draw each push's delay from), and a run is deterministic for a
    random_state; "ray" or a :class:`RayBackend` the replicas as Ray
    tasks, the shards as Ray actors. Returns a LinearModel (history per epoch: the progressive loss, the mean
    loss of each example at the replica's parameters before its step; in memory, the training loss at the
    server's parameters; the server updates so far).
    """
    backend = _backend.check(backend, delay)
    n_replicas, n_shards, n_fetch, n_push, batch_size, epochs, local_lr, warm_start = _validate.check(
        DOWNPOUR_CONSTRAINTS, {"n_replicas": n_replicas, "n_shards": n_shards, "n_fetch": n_fetch, "n_push": n_push,
                               "batch_size": batch_size, "epochs": epochs, "local_lr": local_lr,
                               "warm_start": warm_start}).values()
    problem, replica_shares = shares(loss, X, y, n_replicas, n_features, classes)
    if server in SERVER_LR:
        server_hyperparameters = {"lr": SERVER_LR[server], **server_hyperparameters}
    rng = np.random.default_rng(random_state)
    replicas = [_Replica(i, share) for i, share in enumerate(replica_shares)]
    history = []
    with _backend.start(backend, problem, delay, rng) as runner:
        ps = runner.server(problem.zeros(), n_shards, server, server_hyperparameters)
        step = _DownpourStep(problem, ps, batch_size, n_fetch, n_push, local_lr)
        if warm_start:
            replicas[0].start(rng, warm_start, batch_size)
            replicas[:1] = runner.run(step, replicas[:1], warm_start)
        for epoch in range(epochs):
            for r in replicas:
                r.start(rng)
            replicas = runner.run(step, replicas)
            history.append({**epoch_entry(problem, replicas, epoch + 1, ps.parameters()),
                            "server_updates": ps.updates})
        ps.flush()
        theta = ps.parameters()
    return problem.model(theta, history, local_lr)


def delay_tolerant_adagrad(loss, X, y, *, lr=0.5, z0=1e-8, n_replicas=None, n_shards=2, batch_size=32, epochs=5,
                           delay=0, backend="local", random_state=None, n_features=None, classes=None):
    """Asynchronous SGD with delay-tolerant Adagrad (McMahan & Streeter, 2014) on the server: every replica
    fetches the parameters with a snapshot of the gradient sums, computes the gradient of a mini-batch and
    pushes it; the server's AdaptiveRevision rule (:class:`gdfast.distributed.AdaptiveRevision`: lr = alpha,
    z0) revises the step for the gradients that reached it in between. Downpour with n_fetch = n_push = 1 (X
    in memory, or a list of shard sources with y None, as there)."""
    return downpour(loss, X, y, n_replicas=n_replicas, n_shards=n_shards, n_fetch=1, n_push=1,
                    batch_size=batch_size, epochs=epochs, local_lr=0.0, server="adaptive_revision", delay=delay,
                    backend=backend, random_state=random_state, n_features=n_features, classes=classes, lr=lr,
                    z0=z0)


class _Replica(Replica):
    """A replica's state: its share of the examples, its copy of the parameters, the snapshot fetched with
    them, the gradient accrued since its last push, and its step and push counts."""

    def __init__(self, index, share):
        super().__init__(index, share)
        self.theta = self.snapshots = None
        self.accrued, self.steps, self.pushes = 0.0, 0, 0


class _DownpourStep(_backend.Step):
    def __init__(self, problem, server, batch_size, n_fetch, n_push, local_lr):
        self.problem, self.server = problem, server
        self.batch_size, self.n_fetch, self.n_push, self.local_lr = batch_size, n_fetch, n_push, local_lr

    def __call__(self, r, s):
        batch = r.share.batch(self.problem, s, self.batch_size)
        if batch is None:
            return False
        if r.steps % self.n_fetch == 0:
            r.theta, r.snapshots = self.server.fetch()
        g = r.gradient(*batch, r.theta)
        r.theta -= self.local_lr * g
        r.accrued += g
        r.steps += 1
        if r.steps % self.n_push == 0:
            self.server.push(r.accrued, r.snapshots, (r.index, r.pushes))
            r.accrued, r.pushes = 0.0, r.pushes + 1
        return True
