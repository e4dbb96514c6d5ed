"""Elastic Averaging SGD (Zhang, Choromanska, LeCun, 2015)."""
import threading

import numpy as np

from .. import losses, schedules
from ..train import LinearModel, _count
from . import _backend
from .downpour import _gradient


def easgd(loss, X, y, *, n_replicas=4, mode="async", tau=1, lr=0.01, alpha=None, momentum=None, batch_size=32,
          epochs=5, backend="local", random_state=None):
    """Elastic Averaging SGD: ``n_replicas`` workers x_i, each on its own share of the examples (rows i, i + p,
    ...), held to a center variable x~ by an elastic force of strength rho = alpha / lr.

    mode="sync" (the paper's equations 5-6), every round, from the values at round t:
        x_i  <- x_i - lr (g_i(x_i) + rho (x_i - x~)),    x~ <- x~ + lr rho sum_i (x_i - x~)
    mode="async" (Algorithm 1): each worker, every ``tau`` of its steps, exchanges with the center
        d = alpha (x_i - x~);  x_i <- x_i - d;  x~ <- x~ + d
    and at every step takes a local SGD step x_i <- x_i - lr g_i(x_i); with ``momentum`` delta this is EAMSGD
    (Algorithm 2): v_i <- delta v_i - lr g_i(x_i + delta v_i);  x_i <- x_i + v_i.
    alpha defaults to 0.9 / n_replicas (the paper's beta = p alpha = 0.9); the paper's momentum is 0.99.
    backend "local": one thread per worker (an exchange with the center holds its lock; a synchronous round
    computes the workers' gradients in parallel); "simulated": the workers take turns step by step in this
    thread, deterministic for a random_state. Returns a LinearModel of the center, with the training loss at the
    center after each epoch in its history.
    """
    backend = _backend.check(backend)
    if mode not in ("sync", "async"):
        raise ValueError(f"mode must be 'sync' or 'async', got {mode!r}")
    if momentum is not None and mode == "sync":
        raise ValueError("momentum (EAMSGD) is the asynchronous method: use mode='async'")
    loss = losses.loss_name(loss)
    n_replicas, tau = _count("n_replicas", n_replicas), _count("tau", tau)
    batch_size, epochs = _count("batch_size", batch_size), _count("epochs", epochs)
    lr = schedules._check("lr", lr)
    alpha = 0.9 / n_replicas if alpha is None else schedules._check("alpha", alpha, 0.0, True, 1.0)
    delta = None if momentum is None else schedules._check("momentum", momentum, 0.0, False, 1.0, True)
    arrays, n, d, dtype = losses.features(X)
    y_enc, classes, K = losses.targets(loss, y, n, dtype)
    if n_replicas > n:
        raise ValueError(f"n_replicas ({n_replicas}) exceeds the {n} examples")
    rng = np.random.default_rng(random_state)
    center = np.zeros(d * K + K, dtype)
    workers = [np.zeros_like(center) for _ in range(n_replicas)]
    velocity = [np.zeros_like(center) for _ in range(n_replicas)]
    shares = [np.arange(i, n, n_replicas) for i in range(n_replicas)]
    rounds = max(-(-len(rows) // batch_size) for rows in shares)

    def grad(rows, x):
        return _gradient(loss, X, y_enc, classes, rows, x, d, K)

    history, lock = [], threading.Lock()

    def async_step(i, s):
        rows, x, v = batches[i][s], workers[i], velocity[i]
        if not len(rows):
            return
        if (epoch * rounds + s) % tau == 0:  # every tau of the worker's steps: the exchange with the center
            with lock:
                exchange = alpha * (x - center)
                x -= exchange
                center[...] += exchange
        if delta is None:
            x -= lr * grad(rows, x)
        else:
            v *= delta
            v -= lr * grad(rows, x + v)
            x += v

    for epoch in range(epochs):
        orders = [rng.permutation(rows) for rows in shares]
        batches = [[order[r * batch_size:(r + 1) * batch_size] for r in range(rounds)] for order in orders]
        if mode == "async":
            _backend.run_epoch(backend, range(n_replicas), rounds, async_step)
        for r in range(rounds if mode == "sync" else 0):
            pulls = [x - center for x in workers]  # values at round t
            grads = _backend.map_replicas(
                backend, lambda i: lr * grad(batches[i][r], workers[i]) if len(batches[i][r]) else 0,
                range(n_replicas))
            for x, g, pull in zip(workers, grads, pulls):
                x -= g + alpha * pull
            center += alpha * np.sum(pulls, axis=0)
        W, b = center[:d * K].reshape(d, K), center[d * K:]
        out = np.empty(n)
        losses._model(loss, np.ascontiguousarray(W), b.copy()).loss_gradient(losses.data(arrays, y_enc, n, d), out)
        history.append({"epoch": epoch + 1, "train_loss": float(out.mean())})
    W, b = center[:d * K].reshape(d, K).copy(), center[d * K:].copy()
    return LinearModel(loss, W, b, classes, history, None, lr)
