import threading

import numpy as np
import pytest

import gdfast as gd
from gdfast import reference

RULE_NAMES = list(gd.RULES)
DTYPES = [np.float32, np.float64]
# float64 kernels agree with the float64 reference to rounding; float32 kernels compute in float32.
TOLERANCE = {np.float32: dict(rtol=1e-5, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.fixture(params=RULE_NAMES)
def rule(request):
    return gd.RULES[request.param]


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dtype(request):
    return request.param


def reference_run(rule, theta, grads, hyper, t0=0):
    """The reference's parameters and state after stepping through grads (a list), in float64."""
    theta = np.asarray(theta, np.float64)
    state = [np.zeros_like(theta) for _ in rule.slots]
    ref = getattr(reference, rule.name)
    for t, g in enumerate(grads, start=t0 + 1):
        theta, *state = ref(theta, g, *state, t=t, **hyper)
    return theta, state


def random_grads(rng, shape, dtype, steps, scale=1.0):
    return [(scale * rng.standard_normal(shape)).astype(dtype) for _ in range(steps)]


def gradient_floats(dtype, bound=100.0):
    """Hypothesis floats of dtype's width without subnormals: a float32 kernel cannot follow a float64
    reference where float32 itself underflows (1e-45 * 0.1 is 0 in float32)."""
    from hypothesis import strategies as st
    return st.floats(-bound, bound, width=32 if dtype == np.float32 else 64, allow_subnormal=False)


def assert_bad_gradient_writes_nothing(grad, param, error, match):
    """An Adam step on a zero parameter, in both sparse modes, raises `error` and writes nothing."""
    for mode in ("lazy", "exact"):
        p = param.copy()
        opt = gd.Adam([p], sparse=mode)
        with pytest.raises(error, match=match):
            opt.step(grad)
        assert opt.t == 0 and not p.any() and not opt.state[0]["m"].any()


def in_threads(fn, n_threads=2):
    """Run fn() on n_threads threads released together (a barrier), and wait for them all."""
    barrier = threading.Barrier(n_threads)

    def run():
        barrier.wait()
        fn()

    threads = [threading.Thread(target=run) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
