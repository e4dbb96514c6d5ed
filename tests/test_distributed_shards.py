"""gd.distributed on shard sources: each replica reads only its own shard (svmlight files or sources of chunks),
the driver none; the same steps as a plain loop over the shard's seeded order; convergence; bad input. The Ray
backend's shard tests are in test_distributed_ray.py."""
import gzip
import threading

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

import gdfast as gd
from test_distributed import sparse_problem

METHODS = {"downpour": gd.distributed.downpour, "delay_tolerant_adagrad": gd.distributed.delay_tolerant_adagrad,
           "easgd": gd.distributed.easgd}


def shard_files(tmp_path, X, y, k, name="part", suffix=".svm"):
    """X, y in k files of consecutive rows (1-based indices, as the format defines them), gzipped for a suffix
    .svm.gz."""
    paths = []
    for i, rows in enumerate(np.array_split(np.arange(X.shape[0]), k)):
        paths.append(str(tmp_path / f"{name}-{i}{suffix}"))
        with (gzip.open if suffix.endswith(".gz") else open)(paths[-1], "wb") as f:
            dump_svmlight_file(X[rows], y[rows], f, zero_based=False)
    return paths


class Recording:
    """A shard source of chunks in memory that records the thread of every pass over it; with a barrier, each
    pass waits there until the other sources' passes have started too (which only replicas running side by side
    reach)."""

    def __init__(self, X, y, chunk_rows=50, barrier=None):
        self.n_features, self.dtype, self.readers, self.barrier = X.shape[1], X.dtype, [], barrier
        self.chunks = [(X[i:i + chunk_rows], y[i:i + chunk_rows]) for i in range(0, X.shape[0], chunk_rows)]

    def __iter__(self):
        self.readers.append(threading.get_ident())
        if self.barrier is not None:
            self.barrier.wait()
        return iter(self.chunks)


def test_one_shard_takes_the_steps_of_a_plain_loop_over_its_seeded_order(tmp_path):
    """One replica on one file, fetching and pushing at every step: the server's Adagrad takes each mini-batch
    gradient in the order the shard draws (a generator seeded from the run's), and the history's progressive
    loss is the mean loss of each batch before its step."""
    X, y = sparse_problem()
    path, = shard_files(tmp_path, X, y, 1)
    model = gd.distributed.downpour("logistic", [path], None, n_features=X.shape[1], classes=[0, 1], n_shards=3,
                                    n_fetch=1, n_push=1, batch_size=8, epochs=2, local_lr=0.0, server="adagrad",
                                    lr=0.2, random_state=3, backend="simulated")
    X, y = load_svmlight_file(str(path), n_features=X.shape[1], zero_based=False)
    d, theta = X.shape[1], np.zeros(X.shape[1] + 1)
    opt, rng = gd.Adagrad([theta], lr=0.2), np.random.default_rng(3)
    for epoch in range(2):
        order, seen = np.random.default_rng(int(rng.integers(2**63))).permutation(len(y)), []
        for start in range(0, len(y), 8):
            rows = order[start:start + 8]
            losses, gW, gb = gd.losses.loss_gradient("logistic", X[rows], y[rows], theta[:d].reshape(d, 1).copy(),
                                                     theta[d:].copy(), classes=np.array([0.0, 1.0]))
            seen.append(losses)
            opt.step(np.concatenate([gW.ravel(), gb]))
        assert model.history_[epoch]["progressive_loss"] == pytest.approx(np.concatenate(seen).mean(), rel=1e-12)
    np.testing.assert_allclose(model.coef_[0], theta[:d], rtol=1e-12, atol=1e-14)
    assert "train_loss" not in model.history_[0] and model.history_[-1]["server_updates"] == 2 * 38


@pytest.mark.parametrize("method, kwargs", [("downpour", {}), ("delay_tolerant_adagrad", {}),
                                            ("easgd", {"mode": "async"}), ("easgd", {"mode": "sync"})])
def test_each_replica_reads_only_its_own_shard_on_a_thread_of_its_own(method, kwargs):
    X, y = sparse_problem(n=400)
    sync = kwargs.get("mode") == "sync"  # the driver's rounds read every worker's next batch in turn
    barrier = None if sync else threading.Barrier(3, timeout=30)
    sources = [Recording(X[i::3], y[i::3], barrier=barrier) for i in range(3)]
    METHODS[method]("logistic", sources, None, classes=[0, 1], epochs=2, random_state=0, **kwargs)
    assert all(len(s.readers) == 2 for s in sources)  # one pass an epoch
    if not sync:
        assert threading.get_ident() not in {t for s in sources for t in s.readers}


@pytest.mark.parametrize("method, kwargs", [("downpour", dict(local_lr=0.1, lr=0.2, n_push=2)),
                                            ("delay_tolerant_adagrad", {}), ("easgd", {"mode": "async"}),
                                            ("easgd", {"mode": "sync"})])
def test_training_on_shard_files_reaches_the_in_memory_loss(tmp_path, method, kwargs):
    """Four files (two gzipped), epochs of progressive loss going down, and a final training loss within 10% of
    the same method's on the data in memory."""
    X, y = sparse_problem(n=2000)
    paths = shard_files(tmp_path, X[:1000], y[:1000], 2) + shard_files(tmp_path, X[1000:], y[1000:], 2, "more",
                                                                      ".svm.gz")
    common = dict(batch_size=4, epochs=4, random_state=0, **kwargs)
    model = METHODS[method]("logistic", paths, None, n_features=X.shape[1], classes=[0, 1], **common)
    in_memory = METHODS[method]("logistic", X, y, **common).history_[-1]["train_loss"]
    progressive = [h["progressive_loss"] for h in model.history_]
    assert progressive[-1] < 0.9 * progressive[0] < 0.9 * np.log(2)
    W, b = model.coef_.T.copy(), model.intercept_.copy()
    loss = gd.losses.loss_gradient("logistic", X, y, W, b)[0].mean()
    assert loss < 1.1 * in_memory


def test_a_malformed_line_in_a_shard_names_its_file_and_line(tmp_path):
    X, y = sparse_problem()
    paths = shard_files(tmp_path, X, y, 2)
    with open(paths[1], "a") as f:
        f.write("1 3:0.5 oops\n")
    with pytest.raises(ValueError, match=r"part-1\.svm.* line 151"):
        gd.distributed.downpour("logistic", paths, None, n_features=X.shape[1], classes=[0, 1], epochs=1)


@pytest.mark.parametrize("change, error, match", [
    (dict(classes=None), ValueError, "logistic loss on shard sources needs classes="),
    (dict(classes=[1]), ValueError, "classes must name two classes or more"),
    (dict(n_features=None), ValueError, "need n_features="),
    (dict(n_replicas=3), ValueError, r"n_replicas \(3\) must be None or the number of shard sources \(2\)"),
    (dict(n_features=100), ValueError, "outside"),  # an index of the file beyond the width given
])
def test_bad_shard_arguments(tmp_path, change, error, match):
    X, y = sparse_problem()
    paths = shard_files(tmp_path, X, y, 2)
    kwargs = {"n_features": X.shape[1], "classes": [0, 1], "epochs": 1, **change}
    with pytest.raises(error, match=match):
        gd.distributed.downpour("logistic", paths, None, **kwargs)


def test_bad_shard_sources(tmp_path):
    X, y = sparse_problem()
    with pytest.raises(FileNotFoundError, match="missing.svm"):
        gd.distributed.easgd("logistic", [tmp_path / "missing.svm"], None, n_features=200, classes=[0, 1])
    with pytest.raises(TypeError, match="list of shard sources"):
        gd.distributed.easgd("logistic", [(X, y)], None, classes=[0, 1])
    with pytest.raises(ValueError, match="differ in width or dtype"):
        gd.distributed.easgd("logistic", [Recording(X, y), Recording(X[:, :100], y)], None, classes=[0, 1])
    with pytest.raises(ValueError, match="n_features=50 but the shard sources have 200 features"):
        gd.distributed.easgd("logistic", [Recording(X, y)], None, n_features=50, classes=[0, 1])
    with pytest.raises(ValueError, match="n_features is the width of shards given as svmlight paths"):
        gd.distributed.easgd("logistic", X, y, n_features=200)
    wrong = Recording(X, y)
    wrong.chunks[2] = (X[100:150, :100], y[100:150])  # a chunk narrower than the source says
    with pytest.raises(ValueError, match="chunk 2 of X has 100 features"):
        gd.distributed.downpour("logistic", [wrong], None, classes=[0, 1], epochs=1)
