"""A replica's share of the examples and its steps over it.

A share (:class:`Rows` of the in-memory problem, or a :class:`Shard` source the replica reads where it runs)
starts a pass (``start``, with the driver's random generator) and gives one batch at a time:
``share.batch(problem, s, batch_size)`` is the problem the batch's rows index (the in-memory one, or the shard's
chunk being read) and the rows, or None once the pass is over.
"""
import itertools

import numpy as np

from ... import _validate
from ..._validate import Integer, NoneOr
from ...linear import _stream
from ._problem import Problem, ShardedProblem, shard_sources

# A shard is shuffled in windows of this many rows (approximate shuffling, as a stream's fit does by default).
SHUFFLE_BUFFER = 65536


def run_steps(step, replica, n_steps=None, stop=None):
    """A replica's steps s = 0, 1, ... until its pass is over (the step returns False), n_steps are made or
    ``stop`` is set; its share is closed after (a source left mid-pass stops reading)."""
    try:
        for s in itertools.count() if n_steps is None else range(n_steps):
            if (stop is not None and stop.is_set()) or not step(replica, s):
                return
    finally:
        replica.share.close()


class Rows:
    """A replica's share of the in-memory examples (rows i, i + p, ...), visited in an order the driver draws."""

    def __init__(self, rows):
        self.rows = self.order = rows

    def start(self, rng, steps=None, batch_size=1):
        """A new pass in a random order; for ``steps`` batches, as many orders one after another as they take."""
        passes = 1 if steps is None else -(-steps * batch_size // len(self.rows))
        self.order = np.concatenate([rng.permutation(self.rows) for _ in range(passes)])

    def batch(self, problem, s, batch_size):
        rows = self.order[s * batch_size:(s + 1) * batch_size]
        return (problem, rows) if len(rows) else None

    def close(self):
        pass


class Shard:
    """A replica's own source of chunks (shard ``index``), read where the replica runs: each pass shuffled in
    windows of SHUFFLE_BUFFER rows by a generator seeded from the driver's draw (so a retried Ray task replays
    its pass)."""

    def __init__(self, index, source):
        self.index, self.source, self.seed, self.cycle, self.batches = index, source, None, False, None

    def start(self, rng, steps=None, batch_size=1):
        """A new pass (``steps`` given: as many passes as the steps take)."""
        self.close()
        self.seed, self.cycle = int(rng.integers(2**63)), steps is not None

    def batch(self, problem, s, batch_size):
        if self.batches is None:
            self.batches = self._batches(problem, batch_size)
        batch = next(self.batches, None)
        if batch is None:
            self.batches = None
        return batch

    def close(self):
        """Stop reading (a pass left before its end: the source's reader stops too)."""
        if self.batches is not None:
            self.batches.close()
            self.batches = None

    def _batches(self, problem, batch_size):
        rng = np.random.default_rng(self.seed)
        while True:
            chunks = _stream.Stream(self.source).chunks()
            for index, X, y, weight, _, _ in _stream.segments(chunks, True, SHUFFLE_BUFFER):
                chunk = problem.chunk(self.index, index, X, y, weight)
                order = rng.permutation(chunk.n)
                for start in range(0, chunk.n, batch_size):
                    yield chunk, order[start:start + batch_size]
            if not self.cycle:
                return


class Replica:
    """A replica (an EASGD worker): its index, its share of the examples, and the sum and count of the losses of
    this pass's examples, each at the parameters of its own update before it (progressive validation)."""

    def __init__(self, index, share):
        self.index, self.share = index, share
        self.loss_sum, self.seen = 0.0, 0

    def start(self, rng, steps=None, batch_size=1):
        """A new pass over the share (``steps`` batches: a warm start of as many passes as they take)."""
        self.share.start(rng, steps, batch_size)
        self.loss_sum, self.seen = 0.0, 0

    def gradient(self, problem, rows, theta):
        """The mean gradient of batch ``rows`` of ``problem`` at theta; their losses recorded."""
        loss_sum, g = problem.loss_gradient(rows, theta)
        self.record(loss_sum, len(rows))
        return g

    def record(self, loss_sum, n):
        """The losses of n examples of this pass, before their step."""
        self.loss_sum, self.seen = self.loss_sum + loss_sum, self.seen + n


def shares(loss, X, y, n_replicas, n_features, classes):
    """The run's problem and its replicas' shares: X in memory in n_replicas shares (rows i, i + p, ...;
    default 4), or X a list of shard sources, one replica each, which the driver does not read."""
    n_features = _validate.check({"n_features": NoneOr(Integer(1, 2**31 - 1))}, {"n_features": n_features})[
        "n_features"]
    sharded = shard_sources(X, n_features) if y is None else None
    if sharded is not None:
        sources, d, dtype = sharded
        if n_replicas not in (None, len(sources)):
            raise ValueError(f"n_replicas ({n_replicas}) must be None or the number of shard sources "
                             f"({len(sources)}): each replica reads its own shard")
        return ShardedProblem(loss, d, dtype, classes), [Shard(i, source) for i, source in enumerate(sources)]
    if y is None and isinstance(X, (list, tuple)):
        raise TypeError("X with y None must be a list of shard sources: svmlight paths, or sources of (X, y) chunks "
                        "naming their n_features and dtype (gd.data.svmlight)")
    if n_features is not None:
        raise ValueError("n_features is the width of shards given as svmlight paths; X in memory has its own")
    n_replicas = 4 if n_replicas is None else n_replicas
    problem = Problem(loss, X, y, classes)
    if n_replicas > problem.n:
        raise ValueError(f"n_replicas ({n_replicas}) exceeds the {problem.n} examples")
    return problem, [Rows(np.arange(i, problem.n, n_replicas)) for i in range(n_replicas)]


def epoch_entry(problem, replicas, epoch, theta):
    """An epoch's history: its number, the progressive loss of its examples and, for a problem in memory, the
    training loss at theta (the server's or the center's parameters)."""
    entry = {"epoch": epoch}
    if isinstance(problem, Problem):
        entry["train_loss"] = problem.mean_loss(theta)
    entry["progressive_loss"] = sum(r.loss_sum for r in replicas) / max(1, sum(r.seen for r in replicas))
    return entry
