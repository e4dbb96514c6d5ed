"""OpenMP: the build has it, threadpoolctl sees and limits it, set_num_threads works."""
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
