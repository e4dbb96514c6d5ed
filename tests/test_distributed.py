"""gdfast.distributed: the parameter server, AdaptiveRevision and simulated Downpour against plain references."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from gdfast.distributed import AdaptiveRevision, ParameterServer
from gdfast.optim import reference


def sparse_problem(n=300, d=200, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.csr_matrix((rng.random(n * 5), (np.repeat(np.arange(n), 5), rng.integers(0, d, n * 5))), shape=(n, d))
    return X, (X @ rng.standard_normal(d) > 0).astype(int)


def test_adaptive_revision_without_delay_is_adagrad():
    rng = np.random.default_rng(1)
    x, w = np.zeros(50), np.zeros(50)
    ar, opt = AdaptiveRevision(x, lr=0.3, z0=1e-6), gd.Adagrad([w], lr=0.3, eps=1e-6)
    for _ in range(40):
        g = rng.standard_normal(50) * (rng.random(50) < 0.3)
        ar.update(g, ar.snapshot())
        opt.step(g)
    np.testing.assert_allclose(x, w, rtol=1e-12, atol=1e-15)


def test_adaptive_revision_revises_for_gradients_that_arrived_in_between():
    """One coordinate: read (snapshot), another gradient lands, then the stale one: the update follows the
    equations with g_bck = the gradient in between."""
    x = np.zeros(1)
    ar = AdaptiveRevision(x, lr=1.0, z0=1.0)
    stale = ar.snapshot()
    ar.update(np.array([2.0]), ar.snapshot())          # z = z' = 5, x = -2/sqrt(5), gbar = 2
    x_before = x.copy()
    ar.update(np.array([1.0]), stale)                   # g_bck = 2
    eta_old, z = 1 / np.sqrt(5.0), 5.0 + 1.0 + 2 * 1.0 * 2.0
    eta = 1 / np.sqrt(z)
    np.testing.assert_allclose(x, x_before - (eta * 1.0 - (eta_old - eta) * 2.0))
    np.testing.assert_allclose(ar.gbar, [3.0])


def test_server_shards_step_their_coordinates():
    theta = np.zeros(10)
    ps = ParameterServer(theta, n_shards=3, rule="sgd", lr=0.5)
    fetched, snapshots = ps.fetch()
    ps.push(np.arange(10.0), snapshots)
    np.testing.assert_array_equal(theta, -0.5 * np.arange(10.0))
    assert not fetched.any() and ps.updates == 1 and len(ps.shards) == 3


def test_downpour_with_one_replica_is_minibatch_training():
    """One replica fetching and pushing at every step, no delay: the server's rule takes every mini-batch
    gradient in the replica's (seeded) order, as a plain loop does."""
    X, y = sparse_problem()
    model = gd.distributed.downpour("logistic", X, y, n_replicas=1, n_shards=3, n_fetch=1, n_push=1, batch_size=8,
                                    epochs=2, local_lr=0.0, server="adagrad", lr=0.2, random_state=3,
                                    backend="simulated")
    d = X.shape[1]
    theta = np.zeros(d + 1)
    opt = gd.Adagrad([theta], lr=0.2)
    rng = np.random.default_rng(3)
    for _ in range(2):
        order = rng.permutation(np.arange(len(y)))
        for start in range(0, len(y), 8):
            rows = order[start:start + 8]
            W, b = theta[:d].reshape(d, 1), theta[d:]
            _, gW, gb = gd.losses.loss_gradient("logistic", X[rows], y[rows], W.copy(), b.copy(),
                                                classes=np.array([0, 1]))
            opt.step(np.concatenate([gW.ravel(), gb]))
    np.testing.assert_allclose(model.coef_[0], theta[:d], rtol=1e-12, atol=1e-14)
    assert model.history_[-1]["server_updates"] == 2 * 38


def test_delay_tolerant_adagrad_without_delay_is_minibatch_adagrad():
    """One replica, no delay: AdaptiveRevision is Adagrad (lr = alpha, eps = z0) on each mini-batch gradient."""
    X, y = sparse_problem()
    kwargs = dict(n_replicas=1, n_shards=2, batch_size=16, epochs=2, random_state=4, backend="simulated")
    model = gd.distributed.delay_tolerant_adagrad("logistic", X, y, lr=0.5, z0=1e-3, **kwargs)
    reference = gd.distributed.downpour("logistic", X, y, n_fetch=1, n_push=1, local_lr=0.0, server="adagrad",
                                        lr=0.5, eps=1e-3, **kwargs)
    np.testing.assert_allclose(model.coef_, reference.coef_, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.intercept_, reference.intercept_, rtol=1e-12)


def test_warm_start_runs_one_replica_first():
    X, y = sparse_problem()
    model = gd.distributed.downpour("logistic", X, y, n_replicas=3, n_push=1, batch_size=10, epochs=1, warm_start=25,
                                    backend="simulated")
    assert model.history_[0]["server_updates"] == 25 + 3 * 10  # 100 examples a replica: 10 batches each


def test_ray_missing_names_the_extra(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "ray", None)
    X, y = sparse_problem()
    with pytest.raises(ImportError, match=r'pip install "gdfast\[ray\]"'):
        gd.distributed.downpour("logistic", X, y, backend="ray")


def test_downpour_converges_with_replicas_and_delay():
    X, y = sparse_problem(n=1000)
    for server in ("adagrad", "adaptive_revision"):
        for backend, delay in (("simulated", 10), ("local", 0)):
            model = gd.distributed.downpour("logistic", X, y, n_replicas=4, n_fetch=3, n_push=2, batch_size=4,
                                            epochs=4, local_lr=0.1, server=server, lr=0.2, delay=delay,
                                            random_state=0, backend=backend)
            losses = [h["train_loss"] for h in model.history_]
            assert losses[-1] < 0.8 * losses[0] and np.log(2) > losses[0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_replicas=0), "n_replicas must be None or an int >= 1"),
    (dict(delay=-1), "delay must be an int >= 0"),
    (dict(server="lbfgs"), "rule must be one of"),
    (dict(n_shards=10_000), "n_shards must be an int in"),
    (dict(backend="spark"), "backend must be 'local', 'simulated', 'ray'"),
    (dict(warm_start=-1), "warm_start must be an int >= 0"),
    (dict(backend="local", delay=5), "delay is injected by the simulated backend"),
])
def test_bad_input(kwargs, match):
    X, y = sparse_problem()
    with pytest.raises(ValueError, match=match):
        gd.distributed.downpour("logistic", X, y, **kwargs)


def grad_at(X, y, rows, x, d):
    W, b = x[:d].reshape(d, 1), x[d:]
    _, gW, gb = gd.losses.loss_gradient("logistic", X[rows], y[rows], W.copy(), b.copy(), classes=np.array([0, 1]))
    return np.concatenate([gW.ravel(), gb])


@pytest.mark.parametrize("mode, momentum, rule", [("sync", None, "sgd"), ("async", None, "sgd"), ("async", 0.9, "sgd"),
                                                 ("sync", None, "adagrad"), ("async", None, "adagrad")],
                         ids=["sync", "async", "eamsgd", "sync-adagrad", "async-adagrad"])
def test_easgd_follows_its_equations(mode, momentum, rule):
    """Two workers, their steps replayed literally from the paper's equations in the same order (with Adagrad
    workers, the local step is reference.adagrad on each worker's own G)."""
    X, y = sparse_problem(n=40)
    d, lr, alpha, tau, B = X.shape[1], 0.3, 0.2, 2, 4
    model = gd.distributed.easgd("logistic", X, y, n_replicas=2, mode=mode, tau=tau, lr=lr, alpha=alpha,
                                 optimizer=rule, momentum=momentum, batch_size=B, epochs=2, random_state=5,
                                 backend="simulated")
    rng = np.random.default_rng(5)
    center, xs, vs = np.zeros(d + 1), [np.zeros(d + 1) for _ in range(2)], [np.zeros(d + 1) for _ in range(2)]
    Gs, steps = [np.zeros(d + 1) for _ in range(2)], [0, 0]

    def local(i, x, g):
        if rule == "sgd":
            return x - lr * g
        steps[i] += 1
        x, Gs[i][:] = reference.adagrad(x, g, Gs[i], t=steps[i], lr=lr, eps=1e-8)
        return x
    shares, step = [np.arange(0, 40, 2), np.arange(1, 40, 2)], 0
    for _ in range(2):
        orders = [rng.permutation(s) for s in shares]
        for r in range(5):
            batches = [o[r * B:(r + 1) * B] for o in orders]
            if mode == "sync":
                old = [x.copy() for x in xs]
                for i, (x, rows, x_t) in enumerate(zip(xs, batches, old)):
                    x[:] = local(i, x_t, grad_at(X, y, rows, x_t, d)) - alpha * (x_t - center)
                center = center + alpha * sum(x_t - center for x_t in old)
                continue
            for i, (x, v, rows) in enumerate(zip(xs, vs, batches)):
                if step % tau == 0:
                    e = alpha * (x - center)
                    x -= e
                    center = center + e
                if momentum is None:
                    x[:] = local(i, x, grad_at(X, y, rows, x, d))
                else:
                    v[:] = momentum * v - lr * grad_at(X, y, rows, x + momentum * v, d)
                    x += v
            step += 1
    np.testing.assert_allclose(model.coef_[0], center[:d], rtol=1e-10, atol=1e-13)


def test_easgd_converges_on_threads_and_checks_input():
    X, y = sparse_problem(n=1000)
    for mode, momentum in (("async", 0.9), ("sync", None)):
        model = gd.distributed.easgd("logistic", X, y, n_replicas=4, mode=mode, tau=4, lr=0.5, batch_size=4,
                                     optimizer="sgd", epochs=4, momentum=momentum, random_state=0)
        losses = [h["train_loss"] for h in model.history_]
        assert losses[-1] < losses[0] < np.log(2)
    with pytest.raises(ValueError, match="mode must be"):
        gd.distributed.easgd("logistic", X, y, mode="gossip")
    with pytest.raises(ValueError, match="EAMSGD"):
        gd.distributed.easgd("logistic", X, y, mode="sync", momentum=0.9)


def test_a_failing_replica_stops_the_run_with_its_error(monkeypatch):
    """A replica raising on the local backend: the error surfaces here, with its traceback; nothing hangs."""
    from gdfast.parallel.distributed._problem import Problem
    X, y = sparse_problem()
    calls, original = {"n": 0}, Problem.loss_gradient

    def failing(*args):
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("replica lost its disk")
        return original(*args)

    monkeypatch.setattr(Problem, "loss_gradient", failing)
    with pytest.raises(RuntimeError, match="replica lost its disk"):
        gd.distributed.downpour("logistic", X, y, n_replicas=3, epochs=2)


def test_adaptive_revision_tolerates_long_delays():
    """McMahan & Streeter's claim: under large delays Adagrad's steps, computed from stale reads, overshoot;
    AdaptiveRevision revises their learning rate. Power-law sparse logistic regression, 8 replicas, every push
    500 updates late, lr 1: Adagrad's loss climbs, AdaptiveRevision's falls."""
    X, y = gd.datasets.make_classification(n_rows=3000, n_features=2000, mean_nnz=10)
    final = {}
    for server in ("adagrad", "adaptive_revision"):
        model = gd.distributed.downpour("logistic", X, y, n_replicas=8, n_shards=1, n_fetch=1, n_push=1,
                                        batch_size=1, epochs=2, local_lr=0.0, server=server, lr=1.0, delay=500,
                                        random_state=0, backend="simulated")
        final[server] = model.history_[-1]["train_loss"]
    assert final["adaptive_revision"] < 0.5 < np.log(2) < final["adagrad"]


def test_random_delays_are_drawn_per_push_and_seeded():
    """delay=(low, high): each push waits a drawn number of later pushes; the same seed gives the same run,
    (k, k) is the fixed delay k, and every push is applied by the end."""
    X, y = sparse_problem()
    kwargs = dict(n_replicas=3, n_push=1, batch_size=5, epochs=2, backend="simulated", random_state=7)
    runs = [gd.distributed.downpour("logistic", X, y, delay=delay, **kwargs) for delay in
            ((0, 40), (0, 40), (10, 10), 10)]
    np.testing.assert_array_equal(runs[0].coef_, runs[1].coef_)
    np.testing.assert_array_equal(runs[2].coef_, runs[3].coef_)
    assert not np.array_equal(runs[0].coef_, runs[2].coef_)
    with pytest.raises(ValueError, match="low <= high"):
        gd.distributed.downpour("logistic", X, y, delay=(5, 2), backend="simulated")


def test_delayed_server_delivers_each_push_after_its_delay():
    from gdfast.parallel.distributed._backend import Delayed
    theta = np.zeros(1)
    delayed = Delayed(ParameterServer(theta, rule="sgd", lr=1.0), (2, 2), None)
    for i in range(1, 5):
        delayed.push(np.array([float(i)]), [None])
    assert theta[0] == -(1 + 2)  # pushes 1 and 2 are due at pushes 3 and 4
    delayed.flush()
    assert theta[0] == -10 and delayed.updates == 4


def test_defaults_reach_serial_adagrads_loss():
    """On the README's example, each method at its defaults ends within 1% of (or below) serial Adagrad's
    training loss at the rate of its best held-out loss (0.3; bench/results/defaults.md)."""
    X, y = gd.datasets.make_classification(n_rows=4000, n_features=2**12, seed=0)
    serial = gd.fit("logistic", X, y, "adagrad", lr=0.3, batch_size=32, n_threads=1, progress=False,
                    random_state=0).history_[-1]["train_loss"]
    for method in (gd.distributed.downpour, gd.distributed.delay_tolerant_adagrad, gd.distributed.easgd):
        loss = method("logistic", X, y, random_state=0).history_[-1]["train_loss"]
        assert loss <= 1.01 * serial, (method.__name__, loss, serial)
