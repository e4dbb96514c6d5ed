"""The Ray backend: replicas as Ray tasks, the parameter server's shards and the EASGD center as Ray actors that
checkpoint their state and come back from it when their process dies.

Ray is optional (``pip install "gdfast[ray]"``) and imported only here, on first use. On a cluster, call
``ray.init(address=...)`` first; otherwise a local Ray instance is started. Checkpoints go to files under
``checkpoint_dir``: on a cluster it must be a directory every node sees.
"""
import copy
import os
import pickle
import shutil
import tempfile

import numpy as np

from ... import _validate
from ..._validate import NONNEGATIVE, Integer
from ._replica import run_steps
from .server import Center, Shard, check_rule, shard_slices

EXTRA_HINT = 'backend="ray" needs Ray: pip install "gdfast[ray]"'


class RayBackend:
    """Options of the Ray backend (``backend="ray"`` takes the defaults).

    checkpoint_every: a server actor (a shard, or the EASGD center) saves its state every this many updates
        and, when its process dies, Ray restarts it from the last save: at most ``checkpoint_every - 1`` of its
        updates are lost. 1 loses none (a file write per update).
    checkpoint_dir: where the saves go (default: a new temporary directory, removed after the run).
    max_restarts: how many times an actor is restarted, and a replica's task retried, after its process dies.
        A replica retried from the start of its epoch pushes again; the shards apply each (replica, push
        number) once, so no gradient is applied twice.
    cpus_per_replica: the CPUs Ray reserves for each replica task.
    """

    _constraints = {"checkpoint_every": Integer(1), "max_restarts": Integer(0), "cpus_per_replica": NONNEGATIVE}

    def __init__(self, checkpoint_every=100, checkpoint_dir=None, max_restarts=3, cpus_per_replica=1):
        self.checkpoint_every, self.max_restarts, self.cpus_per_replica = _validate.check(
            self._constraints, {"checkpoint_every": checkpoint_every, "max_restarts": max_restarts,
                                "cpus_per_replica": cpus_per_replica}).values()
        if checkpoint_dir is not None and not isinstance(checkpoint_dir, (str, os.PathLike)):
            raise TypeError(f"checkpoint_dir must be a path, got {type(checkpoint_dir).__name__}")
        self.checkpoint_dir = checkpoint_dir

    def require(self):
        try:
            import ray  # noqa: F401
        except ImportError as e:
            raise ImportError(EXTRA_HINT) from e

    def __repr__(self):
        return (f"RayBackend(checkpoint_every={self.checkpoint_every}, checkpoint_dir={self.checkpoint_dir!r}, "
                f"max_restarts={self.max_restarts}, cpus_per_replica={self.cpus_per_replica})")


class RayRun:
    """One run's Ray resources: the examples in the object store, the server's actors, a checkpoint directory."""

    def __init__(self, backend, problem):
        import ray
        if not ray.is_initialized():
            ray.init()
        self.ray, self.backend, self.problem = ray, backend, problem
        self.own_dir = backend.checkpoint_dir is None
        self.dir = tempfile.mkdtemp(prefix="gdfast-ray-") if self.own_dir else os.fspath(backend.checkpoint_dir)
        os.makedirs(self.dir, exist_ok=True)
        self.problem_ref = ray.put(problem)
        self.actors, self.step_refs = [], {}
        restarts = backend.max_restarts
        self.actor_class = ray.remote(_Durable).options(max_restarts=restarts, max_task_retries=restarts,
                                                        num_cpus=0)
        self.steps_task = ray.remote(_run_steps).options(max_retries=restarts,
                                                         num_cpus=backend.cpus_per_replica)
        self.gradient_task = ray.remote(_gradient).options(max_retries=restarts, num_cpus=backend.cpus_per_replica)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def server(self, theta, n_shards, rule, hyperparameters):
        check_rule(rule)
        slices = shard_slices(len(theta), n_shards)
        Shard(theta[:1].copy(), rule, hyperparameters)  # bad hyperparameters raise here, not in an actor
        actors = [self._actor(f"shard{i}", Shard, theta[s].copy(), rule, hyperparameters)
                  for i, s in enumerate(slices)]
        return RayServer(actors, slices)

    def center(self, x):
        return RayCenter(self._actor("center", Center, x.copy()))

    def _actor(self, name, cls, *args):
        actor = self.actor_class.remote(os.path.join(self.dir, name), self.backend.checkpoint_every, cls, *args)
        self.actors.append(actor)
        return actor

    def run(self, step, replicas, n_steps=None):
        """Every replica's steps as one task; a task whose process dies is retried from the replica's state at
        the start. A replica's exception cancels the others and is raised here (with its remote traceback)."""
        ray = self.ray
        if id(step) not in self.step_refs:
            self.step_refs[id(step)] = (step, ray.put(step))
        step_ref = self.step_refs[id(step)][1]
        pending = {self.steps_task.remote(step_ref, self.problem_ref, r, n_steps): i for i, r in enumerate(replicas)}
        done = list(replicas)
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                done[pending.pop(ready[0])] = ray.get(ready[0])
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        return done

    def gradients(self, jobs):
        """As Local's, the batches' rows indexing the problem of the run, which the tasks find in the object
        store (a batch of a shard's chunk would ship the chunk from the driver: easgd refuses that)."""
        assert all(problem is self.problem for (problem, _), _ in jobs)
        return self.ray.get([self.gradient_task.remote(self.problem_ref, rows, theta) for (_, rows), theta in jobs])

    def close(self):
        for actor in self.actors:
            self.ray.kill(actor)
        self.actors = []
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class RayServer:
    """The parameter server with its shards in actors; the methods of gdfast.distributed.ParameterServer.
    Pushes are sent without waiting (at most MAX_IN_FLIGHT per process); fetches from one process see its
    earlier pushes (Ray runs one caller's calls to an actor in order)."""

    MAX_IN_FLIGHT = 64

    def __init__(self, actors, slices):
        self.actors, self.slices, self.in_flight = actors, slices, []

    def fetch(self):
        import ray
        parts = ray.get([a.read.remote("fetch") for a in self.actors])
        return np.concatenate([x for x, _ in parts]), [snapshot for _, snapshot in parts]

    def push(self, grad, snapshots, origin=None):
        import ray
        self.in_flight += [a.write.remote(origin, "push", grad[s], snapshot)
                           for a, s, snapshot in zip(self.actors, self.slices, snapshots)]
        if len(self.in_flight) > self.MAX_IN_FLIGHT:
            half = len(self.in_flight) // 2
            ray.get(self.in_flight[:half])
            self.in_flight = self.in_flight[half:]

    def flush(self):
        import ray
        ray.get(self.in_flight)
        self.in_flight = []

    def parameters(self):
        self.flush()
        return self.fetch()[0]

    @property
    def updates(self):
        import ray
        return ray.get(self.actors[0].attribute.remote("updates"))

    def __getstate__(self):
        return {"actors": self.actors, "slices": self.slices}  # what is in flight belongs to its sender

    def __setstate__(self, state):
        self.__init__(state["actors"], state["slices"])


class RayCenter:
    """The EASGD center in an actor; the methods of gdfast.distributed.server.Center."""

    def __init__(self, actor):
        self.actor = actor

    def exchange(self, x_i, alpha, origin=None):
        """d, or None when this exchange (origin) was already made by an earlier try of the same task."""
        import ray
        return ray.get(self.actor.write.remote(origin, "exchange", x_i, alpha))

    def parameters(self):
        import ray
        return ray.get(self.actor.read.remote("parameters"))

    def flush(self):
        pass


class _Durable:
    """An actor's state object (a Shard or the Center) that survives the actor's process: saved to ``path``
    every ``every`` updates, loaded from it when Ray restarts the actor. Updates carry their origin (replica,
    sequence number): one already applied is skipped, so retried calls and tasks apply nothing twice."""

    def __init__(self, path, every, cls, *args):
        self.path, self.every = path, every
        if os.path.exists(path):
            with open(path, "rb") as f:
                self.state, self.applied, self.updates = pickle.load(f)
        else:
            args = [np.array(a) if isinstance(a, np.ndarray) else a for a in args]  # Ray's are read-only views
            self.state, self.applied, self.updates = cls(*args), {}, 0

    def read(self, method, *args):
        return getattr(self.state, method)(*args)

    def attribute(self, name):
        return getattr(self.state, name)

    def write(self, origin, method, *args):
        if origin is not None and not _first_time(self.applied, origin):
            return None
        out = getattr(self.state, method)(*args)
        self.updates += 1
        if self.updates % self.every == 0:
            with open(self.path + ".tmp", "wb") as f:
                pickle.dump((self.state, self.applied, self.updates), f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(self.path + ".tmp", self.path)  # a crash mid-save leaves the previous save whole
        return out


def _first_time(applied, origin):
    """Record origin = (sender, number) in applied[sender] = [n, later], where 0..n-1 are all applied and
    ``later`` holds the ones applied beyond; False if it was recorded before."""
    sender, number = origin
    below, later = applied.setdefault(sender, [0, set()])
    if number < below or number in later:
        return False
    later.add(number)
    while below in later:
        later.discard(below)
        below += 1
    applied[sender][0] = below
    return True


def _run_steps(step, problem, replica, n_steps):
    """A Ray task: a replica's steps (gdfast.distributed._backend.run_steps), then every push it sent applied;
    returns the replica."""
    step.problem = problem
    replica = copy.deepcopy(replica)  # its arrays arrive as read-only views of Ray's object store
    run_steps(step, replica, n_steps)
    step.finish()
    return replica


def _gradient(problem, rows, theta):
    return problem.loss_gradient(rows, theta)

