"""A parameter server: the flat parameter vector split into shards, each with its own update rule."""
import threading

import numpy as np

from ... import _validate
from ..._validate import Integer, Real
from ...optim.optimizers import OPTIMIZERS


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
    The equations are the algorithm "AdaptiveRevision" of McMahan & Streeter, "Delay-Tolerant Algorithms for
    Asynchronous Distributed Online Learning", NIPS 2014, as this project's issue 6 transcribes it; the paper's
    full text was not available here to check them line by line (its abstract states the technique: "revising
    the learning rate used for previous gradient steps").
    """

    _constraints = {"lr": Real(0, None, "neither"), "z0": Real(0, None, "neither")}

    def __init__(self, x, lr=0.01, z0=1e-8):
        lr, z0 = _validate.check(self._constraints, {"lr": lr, "z0": z0}).values()
        self.x, self.alpha = x, lr
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


class Shard:
    """A contiguous slice x of the parameters and the rule that steps it: one of the eleven rules (no snapshot) or
    AdaptiveRevision. Counts the updates it has applied."""

    def __init__(self, x, rule, hyperparameters):
        self.x, self.updates = x, 0
        self.rule = AdaptiveRevision(x, **hyperparameters) if rule == "adaptive_revision" else \
            OPTIMIZERS[rule]([x], **hyperparameters)

    def fetch(self):
        """(a copy of x, the snapshot a later push must bring back)."""
        return self.x.copy(), self.snapshot()

    def snapshot(self):
        return self.rule.snapshot() if isinstance(self.rule, AdaptiveRevision) else None

    def push(self, g, snapshot):
        if isinstance(self.rule, AdaptiveRevision):
            self.rule.update(g, snapshot)
        else:
            self.rule.step(g)
        self.updates += 1


def check_rule(rule):
    if rule != "adaptive_revision" and rule not in OPTIMIZERS:
        raise ValueError(f"rule must be one of {list(OPTIMIZERS) + ['adaptive_revision']}, got {rule!r}")
    return rule


def shard_slices(size, n_shards):
    """n_shards contiguous slices covering range(size), as equal as can be."""
    n_shards = Integer(1, size).checked("n_shards", n_shards)
    bounds = np.linspace(0, size, n_shards + 1).astype(int)
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


class ParameterServer:
    """The parameters theta (a flat float array, updated in place) split into n_shards contiguous shards, each
    stepped by its own instance of ``rule`` (a name in gd.OPTIMIZERS, or "adaptive_revision") when a replica
    pushes a gradient. ``fetch`` returns a copy of theta and the snapshots the rule needs with it. Each shard has
    a lock, so replicas on threads fetch and push concurrently, shard by shard. (The Ray backend's server has
    the same methods, its shards in actors.)"""

    def __init__(self, theta, n_shards=1, rule="adagrad", **hyperparameters):
        check_rule(rule)
        self.theta, self.slices = theta, shard_slices(len(theta), n_shards)
        self.shards = [Shard(theta[s], rule, hyperparameters) for s in self.slices]
        self.locks = [threading.Lock() for _ in self.shards]

    def fetch(self):
        theta, snapshots = np.empty_like(self.theta), []
        for s, shard, lock in zip(self.slices, self.shards, self.locks):
            with lock:
                theta[s] = shard.x
                snapshots.append(shard.snapshot())
        return theta, snapshots

    def push(self, grad, snapshots, origin=None):
        """Apply a replica's gradient, shard by shard. origin (replica, sequence number) matters only where a
        push can be delivered twice (the Ray backend retries)."""
        for s, shard, snapshot, lock in zip(self.slices, self.shards, snapshots, self.locks):
            with lock:
                shard.push(grad[s], snapshot)

    def flush(self):
        """Wait until every push sent from this process is applied (here: at once)."""

    def parameters(self):
        return self.fetch()[0]

    @property
    def updates(self):
        """Pushes applied (by the first shard; every push reaches every shard)."""
        return self.shards[0].updates


class Center:
    """EASGD's center variable x~. ``exchange`` is the elastic step of a worker x_i, atomic under a lock:
    d = alpha (x_i - x~);  x~ <- x~ + d;  returns d (the worker then takes x_i <- x_i - d)."""

    def __init__(self, x):
        self.x, self.lock, self.exchanges = x, threading.Lock(), 0

    def exchange(self, x_i, alpha, origin=None):
        with self.lock:
            d = alpha * (x_i - self.x)
            self.x += d
            self.exchanges += 1
            return d

    def parameters(self):
        with self.lock:
            return self.x.copy()

    def __getstate__(self):
        return {"x": self.x, "exchanges": self.exchanges}

    def __setstate__(self, state):
        self.__init__(state["x"])
        self.exchanges = state["exchanges"]
