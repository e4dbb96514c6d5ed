"""Where the replicas run, one runner per training run:

- "local" (default): one thread per replica in this process (the C kernels release the GIL), the server in
  memory;
- "simulated": the replicas take turns step by step in the caller's thread and every push reaches the server
  ``delay`` pushes late: deterministic, for comparing methods under controlled staleness;
- "ray" or a :class:`RayBackend`: replicas as Ray tasks, server shards and the EASGD center as Ray actors
  (gdfast.distributed._ray).

A runner makes the server (``server``) or center (``center``), runs ``step(replica, s)`` for s < n_steps on
every replica (``run``, which returns the replicas as they end), computes gradients in parallel
(``gradients``), and releases what it holds (``close``).
"""
import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .server import Center, ParameterServer


def check(backend, delay=0):
    """The backend, checked before any work: "local", "simulated", "ray" or a RayBackend."""
    from ._ray import RayBackend
    if backend == "ray":
        backend = RayBackend()
    if not isinstance(backend, RayBackend) and backend not in ("local", "simulated"):
        raise ValueError(f"backend must be 'local', 'simulated', 'ray' or a gdfast.distributed.RayBackend, "
                         f"got {backend!r}")
    nonnegative("delay", delay)
    if delay and backend != "simulated":
        raise ValueError("delay is injected by the simulated backend: pass backend='simulated'")
    if isinstance(backend, RayBackend):
        backend.require()
    return backend


def nonnegative(name, value):
    if not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return int(value)


def start(backend, problem, delay=0):
    """The runner of a checked backend for one run on ``problem``."""
    if backend == "local":
        return Local(problem)
    if backend == "simulated":
        return Simulated(problem, delay)
    from ._ray import RayRun
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

    def run(self, step, replicas, n_steps):
        """One thread per replica. A replica's exception stops the others at their next step and is raised
        here with its traceback."""
        stop = threading.Event()

        def steps(r):
            for s in range(n_steps):
                if stop.is_set():
                    return
                try:
                    step(r, s)
                except BaseException:
                    stop.set()
                    raise

        with ThreadPoolExecutor(len(replicas)) as pool:
            futures = [pool.submit(steps, r) for r in replicas]
        for f in futures:
            f.result()
        return replicas

    def gradients(self, jobs):
        """[problem.gradient(rows, theta) for rows, theta in jobs], one thread each."""
        with ThreadPoolExecutor(len(jobs)) as pool:
            return list(pool.map(lambda job: self.problem.gradient(*job), jobs))

    def close(self):
        pass


class Simulated(Local):
    """Replicas taking turns in this thread; pushes delivered ``delay`` pushes late."""

    def __init__(self, problem, delay):
        super().__init__(problem)
        self.delay = delay

    def server(self, theta, n_shards, rule, hyperparameters):
        return Delayed(super().server(theta, n_shards, rule, hyperparameters), self.delay)

    def run(self, step, replicas, n_steps):
        for s in range(n_steps):
            for r in replicas:
                step(r, s)
        return replicas

    def gradients(self, jobs):
        return [self.problem.gradient(*job) for job in jobs]


class Delayed:
    """A parameter server whose pushes are on their way until ``delay`` later pushes have been sent."""

    def __init__(self, server, delay):
        self.server, self.delay, self.queue = server, delay, collections.deque()

    def fetch(self):
        return self.server.fetch()

    def push(self, grad, snapshots, origin=None):
        self.queue.append((grad, snapshots))
        if len(self.queue) > self.delay:
            self.server.push(*self.queue.popleft())

    def flush(self):
        while self.queue:
            self.server.push(*self.queue.popleft())

    def parameters(self):
        return self.server.parameters()

    @property
    def updates(self):
        return self.server.updates

    def close(self):
        pass


class Step:
    """A replica's step ``step(replica, s)``: holds the problem, its server (or center) and its settings; the
    per-replica state lives in the replica. Pickled without the problem, which a remote runner ships once and
    attaches (``step.problem``)."""

    def __getstate__(self):
        return {**self.__dict__, "problem": None}

    def finish(self):
        """After a replica's steps in another process: wait until its pushes are applied."""
        self.server.flush()
