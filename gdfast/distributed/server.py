"""A parameter server: the flat parameter vector split into shards, each with its own update rule."""
import threading

import numpy as np

from .. import schedules
from ..optim import OPTIMIZERS


class AdaptiveRevision:
    """Delay-tolerant Adagrad (McMahan & Streeter, 2014, "AdaptiveRevision"), the server side, per coordinate.

    The server keeps x, the gradient sum gbar and z, z' (its running maximum). A read hands out x and a snapshot
    of gbar; an update with gradient g computed from that read revises the learning rate of the gradients
    that arrived in between (g_bck = gbar - snapshot)::

        eta_old = alpha / sqrt(z')
        z  += g^2 + 2 g g_bck
        z'  = max(z', z)
        eta = alpha / sqrt(z')
        x  -= eta g - (eta_old - eta) g_bck
        gbar += g

    z and z' start at z0 > 0 (the first update's learning rate alpha / sqrt(z0 + g^2) is then defined): with
    no delay (g_bck = 0) this is Adagrad with lr = alpha and eps = z0, x -= alpha g / sqrt(z0 + sum g^2).
    The equations are those of this project's issue, which cites the paper's algorithm; the paper's text was
    not at hand to check them line by line.
    """

    def __init__(self, x, lr=0.01, z0=1e-8):
        self.x, self.alpha = x, schedules._check("lr", lr, 0.0, True)
        z0 = schedules._check("z0", z0, 0.0, True)
        self.gbar, self.z, self.z_max = np.zeros_like(x), np.full_like(x, z0), np.full_like(x, z0)

    def snapshot(self):
        return self.gbar.copy()

    def update(self, g, snapshot):
        g_bck = self.gbar - snapshot
        eta_old = self.alpha / np.sqrt(self.z_max)
        self.z += g * g + 2 * g * g_bck
        np.maximum(self.z_max, self.z, out=self.z_max)
        eta = self.alpha / np.sqrt(self.z_max)
        self.x -= eta * g - (eta_old - eta) * g_bck
        self.gbar += g


class _RuleShard:
    """One of the ten rules on a shard (a contiguous slice of the parameters): no snapshot needed."""

    def __init__(self, x, rule, hyperparameters):
        self.opt = OPTIMIZERS[rule]([x], **hyperparameters)

    def snapshot(self):
        return None

    def update(self, g, snapshot):
        self.opt.step(g)


class ParameterServer:
    """The parameters theta (a flat float array, updated in place) split into n_shards contiguous shards, each
    stepped by its own instance of ``rule`` (a name in gd.OPTIMIZERS, or "adaptive_revision") when a replica
    pushes a gradient. ``fetch`` returns a copy of theta and the snapshot the rule needs with it. Each shard has
    a lock, so replicas on threads fetch and push concurrently, shard by shard."""

    def __init__(self, theta, n_shards=1, rule="adagrad", **hyperparameters):
        if rule != "adaptive_revision" and rule not in OPTIMIZERS:
            raise ValueError(f"rule must be one of {list(OPTIMIZERS) + ['adaptive_revision']}, got {rule!r}")
        if not isinstance(n_shards, (int, np.integer)) or not 1 <= n_shards <= len(theta):
            raise ValueError(f"n_shards must be an int in [1, {len(theta)}], got {n_shards!r}")
        self.theta = theta
        bounds = np.linspace(0, len(theta), n_shards + 1).astype(int)
        self.slices = [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]
        make = (lambda x: AdaptiveRevision(x, **hyperparameters)) if rule == "adaptive_revision" else \
            (lambda x: _RuleShard(x, rule, hyperparameters))
        self.shards = [make(theta[s]) for s in self.slices]
        self.locks = [threading.Lock() for _ in self.shards]
        self.updates = 0

    def fetch(self):
        theta, snapshots = np.empty_like(self.theta), []
        for s, shard, lock in zip(self.slices, self.shards, self.locks):
            with lock:
                theta[s] = self.theta[s]
                snapshots.append(shard.snapshot())
        return theta, snapshots

    def push(self, grad, snapshots):
        for s, shard, snapshot, lock in zip(self.slices, self.shards, snapshots, self.locks):
            with lock:
                shard.update(grad[s], snapshot)
        with self.locks[0]:
            self.updates += 1
