"""Where the replicas run, one runner per training run:

- "local" (default): one thread per replica in this process (the C kernels release the GIL), the server in
  memory;
- "simulated": the replicas take turns step by step in the caller's thread and every push reaches the server
  ``delay`` pushes late (a fixed number, or drawn per push from a range ``(low, high)``): deterministic for a
  seed, for comparing methods under controlled staleness;
- "ray" or a :class:`RayBackend`: replicas as Ray tasks, server shards and the EASGD center as Ray actors
  (gdfast.distributed._ray).

A runner makes the server (``server``) or center (``center``), runs every replica's steps ``step(replica, s)``
for s = 0, 1, ... until its pass is over (``run``, which returns the replicas as they end), computes gradients
in parallel (``gradients``), and releases what it holds (``close``).
"""
import heapq
import threading
from concurrent.futures import ThreadPoolExecutor

from ..._validate import Integer
from ._ray import RayBackend, RayRun
from ._replica import run_steps
from .server import Center, ParameterServer

_DELAY = Integer(0)  # pushes a push waits for: 0 delivers it at once


def check(backend, delay=0):
    """The backend, checked before any work: "local", "simulated", "ray" or a RayBackend."""
    if backend == "ray":
        backend = RayBackend()
    if not isinstance(backend, RayBackend) and backend not in ("local", "simulated"):
        raise ValueError(f"backend must be 'local', 'simulated', 'ray' or a gdfast.distributed.RayBackend, "
                         f"got {backend!r}")
    delay = delay_range(delay)
    if delay != (0, 0) and backend != "simulated":
        raise ValueError("delay is injected by the simulated backend: pass backend='simulated'")
    if isinstance(backend, RayBackend):
        backend.require()
    return backend


def delay_range(delay):
    """A delay as (low, high): an int k is (k, k); a pair of ints low <= high is itself."""
    if isinstance(delay, tuple) and len(delay) == 2:
        low, high = (_DELAY.checked("delay", d) for d in delay)
        if low > high:
            raise ValueError(f"delay (low, high) needs low <= high, got {delay!r}")
        return low, high
    k = _DELAY.checked("delay", delay)
    return k, k


def start(backend, problem, delay=0, rng=None):
    """The runner of a checked backend for one run on ``problem`` (rng: draws random delays)."""
    if backend == "local":
        return Local(problem)
    if backend == "simulated":
        return Simulated(problem, delay_range(delay), rng)
    return RayRun(backend, problem)


class Local:
    """Replicas on threads of this process."""

    def __init__(self, problem):
        self.problem = problem

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def server(self, theta, n_shards, rule, hyperparameters):
        return ParameterServer(theta, n_shards, rule, **hyperparameters)

    def center(self, x):
        return Center(x)

    def run(self, step, replicas, n_steps=None):
        """One thread per replica. A replica's exception stops the others at their next step and is raised
        here with its traceback."""
        stop = threading.Event()

        def steps(r):
            try:
                run_steps(step, r, n_steps, stop)
            except BaseException:
                stop.set()
                raise

        with ThreadPoolExecutor(len(replicas)) as pool:
            futures = [pool.submit(steps, r) for r in replicas]
        for f in futures:
            f.result()
        return replicas

    def gradients(self, jobs):
        """[(loss sum, gradient) of batch (problem, rows) at theta for batch, theta in jobs], one thread each."""
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(_loss_gradient, jobs))

    def close(self):
        pass


class Simulated(Local):
    """Replicas taking turns in this thread; pushes delivered late by a delay drawn from ``delay`` (low, high)."""

    def __init__(self, problem, delay, rng):
        super().__init__(problem)
        self.delay, self.rng = delay, rng

    def server(self, theta, n_shards, rule, hyperparameters):
        return Delayed(super().server(theta, n_shards, rule, hyperparameters), self.delay, self.rng)

    def run(self, step, replicas, n_steps=None):
        """Round-robin: step s of every replica whose pass is not over, then step s + 1."""
        active, s = list(replicas), 0
        try:
            while active and (n_steps is None or s < n_steps):
                active = [r for r in active if step(r, s)]
                s += 1
        finally:
            for r in replicas:
                r.share.close()
        return replicas

    def gradients(self, jobs):
        return [_loss_gradient(job) for job in jobs]


def _loss_gradient(job):
    (problem, rows), theta = job
    return problem.loss_gradient(rows, theta)


class Delayed:
    """A parameter server whose pushes are on their way: push number i, with delay k drawn uniformly from
    [low, high] (no draw when they are equal), is applied once push i + k has been sent; pushes due together are
    applied in the order they were sent."""

    def __init__(self, server, delay, rng):
        self.server, (self.low, self.high), self.rng = server, delay, rng
        self.sent, self.queue = 0, []  # queue: a heap of (due, number, push)

    def fetch(self):
        return self.server.fetch()

    def push(self, grad, snapshots, origin=None):
        self.sent += 1
        k = self.low if self.low == self.high else int(self.rng.integers(self.low, self.high + 1))
        heapq.heappush(self.queue, (self.sent + k, self.sent, (grad, snapshots)))
        while self.queue and self.queue[0][0] <= self.sent:
            self.server.push(*heapq.heappop(self.queue)[2])

    def flush(self):
        while self.queue:
            self.server.push(*heapq.heappop(self.queue)[2])

    def parameters(self):
        return self.server.parameters()

    @property
    def updates(self):
        return self.server.updates

class Step:
    """A replica's step ``step(replica, s)``, False once the replica's pass is over: holds the problem, its server (or center) and its settings; the
    per-replica state lives in the replica. Pickled without the problem, which a remote runner ships once and
    attaches (``step.problem``)."""

    def __getstate__(self):
        return {**self.__dict__, "problem": None}

    def finish(self):
        """After a replica's steps in another process: wait until its pushes are applied."""
        self.server.flush()
