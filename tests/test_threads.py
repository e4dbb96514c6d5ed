"""Threads: OpenMP (the build has it, threadpoolctl sees and limits it, set_num_threads works) and Python threads
(separate optimizers at once give sequential results; the GIL is released in the kernels)."""
import os

import numpy as np
import pytest

import gdfast as gd

needs_openmp = pytest.mark.skipif(not gd.openmp_enabled(), reason="built serial (GDFAST_NO_OPENMP=1)")


def test_openmp_enabled_unless_built_serial_on_purpose():
    assert gd.openmp_enabled() == (os.environ.get("GDFAST_NO_OPENMP", "") not in ("1", "true", "yes"))


@needs_openmp
def test_set_num_threads():
    gd.set_num_threads(1)
    assert gd.get_num_threads() == 1
    gd.set_num_threads(2)
    assert gd.get_num_threads() == 2


@needs_openmp
def test_threadpoolctl_sees_and_limits_the_kernels():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    gd.set_num_threads(2)
    libs = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "openmp"]
    assert libs, "threadpoolctl finds no OpenMP runtime after importing gdfast"
    with threadpoolctl.threadpool_limits(1, user_api="openmp"):
        assert gd.get_num_threads() == 1
        w = np.zeros(10**6)
        gd.SGD([w]).step(np.ones(10**6))
        np.testing.assert_allclose(w, -0.01)
    assert gd.get_num_threads() == 2


def run_optimizer(rule, seed, steps=30, n=20_000):
    """A rule's parameters after `steps` steps from seeded gradients: dense, CSR and RowSparse."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    w, rows = rng.standard_normal(n), rng.standard_normal((500, 8))
    opt = gd.OPTIMIZERS[rule]([w, rows], lr=0.01)
    for _ in range(steps):
        g_rows = gd.RowSparse(np.sort(rng.choice(500, 40, replace=False)), rng.standard_normal((40, 8)))
        g_w = rng.standard_normal(n) if rng.random() < 0.5 else sp.random(1, n, 0.01, "csr", random_state=rng)
        opt.step([g_w if g_w.ndim == 1 else g_w.toarray()[0], g_rows])
    return w, rows


def test_separate_optimizers_on_separate_threads_match_sequential_runs():
    """Ten optimizers (one per rule) stepped from ten Python threads at once: each ends bitwise where the same
    optimizer run alone ends. Nothing in the kernels is shared between optimizer objects."""
    from concurrent.futures import ThreadPoolExecutor
    rules = list(gd.OPTIMIZERS)
    alone = [run_optimizer(rule, seed) for seed, rule in enumerate(rules)]
    with ThreadPoolExecutor(len(rules)) as pool:
        together = list(pool.map(run_optimizer, rules, range(len(rules))))
    for rule, (w, rows), (w_t, rows_t) in zip(rules, alone, together):
        assert np.array_equal(w, w_t) and np.array_equal(rows, rows_t), rule


def test_a_step_releases_the_gil():
    """While a thread runs long steps (a 2e7-element Adam step takes tens of ms), this thread keeps running
    Python: it records times that fall inside a step, which a step holding the GIL would not allow."""
    import threading
    import time
    w, g = np.zeros(20_000_000), np.ones(20_000_000)
    opt, spans, ticks = gd.Adam([w]), [], []
    done = threading.Event()

    def stepper():
        for _ in range(5):
            start = time.perf_counter()
            opt.step(g)
            spans.append((start, time.perf_counter()))
        done.set()

    from threadpoolctl import threadpool_limits
    with threadpool_limits(1, user_api="openmp"):
        thread = threading.Thread(target=stepper)
        thread.start()
        while not done.is_set():
            ticks.append(time.perf_counter())
        thread.join()
    inside = [t for t in ticks for start, end in spans if start + 1e-3 < t < end - 1e-3]
    assert inside, f"no Python ran during any of the steps {spans}"
