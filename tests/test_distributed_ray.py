"""The Ray backend: same results as the in-process backends where the order of events is fixed, and faults
survived (a shard's, the center's and a replica's process dying mid-run). Marked "ray": deselect with
-m "not ray"; CI runs them. The faults are injected by tests/ray_faults.py."""
import os
import sys

import numpy as np
import pytest
import ray

import gdfast as gd
from ray_faults import inject
from test_distributed import sparse_problem
from test_distributed_shards import shard_files

pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def ray_instance():
    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def test_downpour_on_ray_matches_the_simulated_run():
    """One replica: its fetches and pushes reach the shard actors in order, so the run is the simulated one."""
    X, y = sparse_problem()
    kwargs = dict(n_replicas=1, n_shards=3, n_fetch=2, n_push=3, batch_size=8, epochs=2, local_lr=0.05,
                  server="adam", lr=0.05, warm_start=5, random_state=1)
    local = gd.distributed.downpour("logistic", X, y, backend="simulated", **kwargs)
    remote = gd.distributed.downpour("logistic", X, y, backend="ray", **kwargs)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-12, atol=1e-15)
    assert remote.history_ == local.history_


@pytest.mark.parametrize("mode, n_replicas", [("async", 1), ("sync", 3)])
def test_easgd_on_ray_matches_the_simulated_run(mode, n_replicas):
    X, y = sparse_problem()
    kwargs = dict(n_replicas=n_replicas, mode=mode, tau=2, lr=0.3, alpha=0.2, batch_size=8, epochs=2,
                  random_state=2, momentum=0.9 if mode == "async" else None)
    local = gd.distributed.easgd("logistic", X, y, backend="simulated", **kwargs)
    remote = gd.distributed.easgd("logistic", X, y, backend="ray", **kwargs)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-12, atol=1e-15)


def test_killed_shard_and_replica_are_replaced_and_no_update_is_lost_or_repeated(tmp_path, monkeypatch):
    """Shard 0's process dies at its 20th update and replica 2's at its 30th step. The shard comes back from
    its checkpoint (saved at every update here), the replica's task is retried from the start of its epoch, and
    the pushes the retry sends again are not applied twice: the server counts exactly the pushes of a run
    without faults."""
    X, y = sparse_problem(n=1000)
    backend = gd.distributed.RayBackend(checkpoint_every=1, checkpoint_dir=tmp_path)
    inject(monkeypatch, tmp_path, shard0=(20, "exit"), replica2=(30, "exit"))
    model = gd.distributed.downpour("logistic", X, y, n_replicas=4, n_fetch=3, n_push=2, batch_size=4, epochs=2,
                                    local_lr=0.1, lr=0.2, backend=backend, random_state=0)
    assert (tmp_path / "shard0.fault").exists() and (tmp_path / "replica2.fault").exists()
    assert [h["server_updates"] for h in model.history_] == [4 * 31, 4 * 63]  # 63 steps, a push every 2nd
    losses = [h["train_loss"] for h in model.history_]
    assert losses[1] < losses[0] < np.log(2)


def test_a_shard_restarts_from_its_last_checkpoint(tmp_path, monkeypatch):
    """Saved every 5 updates, the shard dies before its 13th: it comes back with the 10 saved (from scratch it
    would end near 40 - 12), and of updates 11 and 12 only those whose pushes Ray delivers again are redone."""
    X, y = sparse_problem(n=400)
    backend = gd.distributed.RayBackend(checkpoint_every=5, checkpoint_dir=tmp_path)
    inject(monkeypatch, tmp_path, shard0=(13, "exit"))
    model = gd.distributed.downpour("logistic", X, y, n_replicas=2, n_push=1, batch_size=10, epochs=1,
                                    backend=backend)
    assert (tmp_path / "shard0.fault").exists()
    assert 40 - 2 <= model.history_[0]["server_updates"] <= 40


def test_killed_center_comes_back_and_training_finishes(tmp_path, monkeypatch):
    X, y = sparse_problem(n=1000)
    backend = gd.distributed.RayBackend(checkpoint_every=1, checkpoint_dir=tmp_path)
    inject(monkeypatch, tmp_path, center=(15, "exit"), replica1=(10, "exit"))
    model = gd.distributed.easgd("logistic", X, y, n_replicas=4, tau=2, lr=0.5, batch_size=4, epochs=2,
                                 backend=backend, random_state=0)
    assert (tmp_path / "center.fault").exists() and (tmp_path / "replica1.fault").exists()
    losses = [h["train_loss"] for h in model.history_]
    assert losses[1] < losses[0] < np.log(2)


def test_a_replica_raising_stops_the_run_with_its_error(tmp_path, monkeypatch):
    X, y = sparse_problem()
    backend = gd.distributed.RayBackend()
    inject(monkeypatch, tmp_path, replica1=(3, "raise"))
    with pytest.raises(RuntimeError, match="injected fault at call 3 of replica1"):
        gd.distributed.downpour("logistic", X, y, n_replicas=3, epochs=2, backend=backend)
    assert not os.path.exists(backend.checkpoint_dir or "")


def test_bad_backend_options():
    with pytest.raises(ValueError, match="checkpoint_every must be an int >= 1"):
        gd.distributed.RayBackend(checkpoint_every=0)
    with pytest.raises(ValueError, match="max_restarts must be an int >= 0"):
        gd.distributed.RayBackend(max_restarts=-1)
    with pytest.raises(TypeError, match="checkpoint_dir must be a path"):
        gd.distributed.RayBackend(checkpoint_dir=3)


class DriverGuarded(gd.data.SvmlightSource):
    """An svmlight shard that raises when read in the process that made it (the driver's)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.driver = os.getpid()

    def __iter__(self):
        if os.getpid() == self.driver:
            raise RuntimeError(f"the driver read the shard {self.paths}")
        return super().__iter__()


ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the workers need not find DriverGuarded


def test_shards_on_ray_are_read_by_their_tasks_only_and_match_the_simulated_run(tmp_path):
    """One shard the driver cannot read: the Ray run, given the source (its path), takes the steps of the
    simulated run on the same file."""
    X, y = sparse_problem()
    path, = shard_files(tmp_path, X, y, 1)
    kwargs = dict(classes=[0, 1], n_shards=3, n_fetch=2, n_push=3, batch_size=8, epochs=2, local_lr=0.05,
                  server="adam", lr=0.05, warm_start=5, random_state=1)
    local = gd.distributed.downpour("logistic", [path], None, n_features=X.shape[1], backend="simulated", **kwargs)
    with pytest.raises(RuntimeError, match="the driver read the shard"):
        gd.distributed.downpour("logistic", [DriverGuarded(path, X.shape[1])], None, backend="simulated", **kwargs)
    remote = gd.distributed.downpour("logistic", [DriverGuarded(path, X.shape[1])], None, backend="ray", **kwargs)
    np.testing.assert_allclose(remote.coef_, local.coef_, rtol=1e-12, atol=1e-15)
    assert remote.history_ == local.history_


@pytest.mark.parametrize("method", ["delay_tolerant_adagrad", "easgd"])
def test_methods_train_on_ray_from_shards_the_driver_never_reads(tmp_path, method):
    X, y = sparse_problem(n=1000)
    sources = [DriverGuarded(p, X.shape[1]) for p in shard_files(tmp_path, X, y, 3)]
    model = getattr(gd.distributed, method)("logistic", sources, None, classes=[0, 1], batch_size=4, epochs=3,
                                            backend="ray", random_state=0)
    progressive = [h["progressive_loss"] for h in model.history_]
    assert progressive[-1] < 0.9 * progressive[0] < 0.9 * np.log(2)
    if method == "easgd":
        with pytest.raises(ValueError, match="synchronous EASGD on shard sources runs on the 'local'"):
            gd.distributed.easgd("logistic", sources, None, mode="sync", classes=[0, 1], backend="ray")
