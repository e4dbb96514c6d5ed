"""Downpour SGD (Dean et al., 2012)."""
import collections

import numpy as np

from .. import losses, schedules
from ..train import LinearModel, _count
from . import _backend
from .server import ParameterServer


def downpour(loss, X, y, *, n_replicas=4, n_shards=2, n_fetch=5, n_push=5, batch_size=32, epochs=5, local_lr=0.01,
             server="adagrad", delay=0, backend="local", random_state=None, **server_hyperparameters):
    """Downpour SGD: ``n_replicas`` model replicas, each on its own share of the examples (rows i, i + p, ...),
    and a parameter server of ``n_shards`` shards, each applying ``server`` (a rule's name, e.g. "adagrad", or
    "adaptive_revision" for delay-tolerant Adagrad) with ``**server_hyperparameters`` to its coordinates.

    Each replica, at every step on a mini-batch of ``batch_size`` of its examples: fetches the parameters every
    ``n_fetch`` steps, computes its gradient g, updates its local copy (theta_local -= local_lr g), accrues g; every
    ``n_push`` steps it pushes the accrued gradient. backend "local": one thread per replica, the server's shards
    locked one at a time; "simulated": the replicas take turns step by step in this thread, a push reaches the
    server ``delay`` server updates after it is sent, and a run is deterministic for a random_state.
    ``epochs`` counts passes over the whole data set. Returns a LinearModel (history: the training loss at the
    server's parameters after each epoch, and the server updates so far).
    """
    backend = _backend.check(backend)
    loss = losses.loss_name(loss)
    n_replicas, n_fetch, n_push = (_count(name, v) for name, v in
                                   (("n_replicas", n_replicas), ("n_fetch", n_fetch), ("n_push", n_push)))
    batch_size, epochs = _count("batch_size", batch_size), _count("epochs", epochs)
    if not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"delay must be an int >= 0, got {delay!r}")
    if delay and backend != "simulated":
        raise ValueError("delay is injected by the simulated backend: pass backend='simulated'")
    local_lr = schedules._check("local_lr", local_lr)
    arrays, n, d, dtype = losses.features(X)
    y_enc, classes, K = losses.targets(loss, y, n, dtype)
    if n_replicas > n:
        raise ValueError(f"n_replicas ({n_replicas}) exceeds the {n} examples")
    theta = np.zeros(d * K + K, dtype)
    ps = ParameterServer(theta, n_shards, server, **server_hyperparameters)
    rng = np.random.default_rng(random_state)
    replicas = [_Replica(np.arange(i, n, n_replicas)) for i in range(n_replicas)]
    queue = collections.deque()  # pushes on their way to the server
    steps_per_epoch = max(-(-len(r.rows) // batch_size) for r in replicas)
    history = []

    def step(r, s):
        rows = r.order[s * batch_size:(s + 1) * batch_size]
        if len(rows):
            if r.steps % n_fetch == 0:
                r.theta, r.snapshots = ps.fetch()
            g = _gradient(loss, X, y_enc, classes, rows, r.theta, d, K)
            r.theta -= local_lr * g
            r.accrued += g
            r.steps += 1
            if r.steps % n_push == 0:
                deliver((r.accrued, r.snapshots))
                r.accrued = np.zeros_like(theta)
        while backend == "simulated" and len(queue) > delay:
            ps.push(*queue.popleft())

    def deliver(push):
        if backend == "simulated":
            queue.append(push)  # on its way: applied once `delay` later pushes have been sent
        else:
            ps.push(*push)

    for epoch in range(epochs):
        for r in replicas:
            r.order = rng.permutation(r.rows)
        _backend.run_epoch(backend, replicas, steps_per_epoch, step)
        W, b = theta[:d * K].reshape(d, K), theta[d * K:]
        out = np.empty(n)
        losses._model(loss, np.ascontiguousarray(W), b).loss_gradient(losses.data(arrays, y_enc, n, d), out)
        history.append({"epoch": epoch + 1, "train_loss": float(out.mean()), "server_updates": ps.updates})
    while queue:
        ps.push(*queue.popleft())
    W, b = theta[:d * K].reshape(d, K).copy(), theta[d * K:].copy()
    return LinearModel(loss, W, b, classes, history, None, local_lr)


class _Replica:
    def __init__(self, rows):
        self.rows, self.order, self.steps = rows, rows, 0
        self.theta = self.snapshots = None
        self.accrued = 0.0


def _gradient(loss, X, y_enc, classes, rows, theta, d, K):
    """The mean gradient of the batch's losses at theta, flat like theta."""
    W, b = theta[:d * K].reshape(d, K), theta[d * K:]
    arrays, n, _, _ = losses.features(X[rows])
    out, gW, gb = np.empty(n), np.empty((d, K), theta.dtype), np.empty(K, theta.dtype)
    losses._model(loss, np.ascontiguousarray(W), b.copy()).loss_gradient(losses.data(arrays, y_enc[rows], n, d),
                                                                         out, gW, gb)
    return np.concatenate([gW.ravel(), gb])
