"""Indexing is 64-bit throughout: steps on parameters of more than 2^31 elements (~8.6 GB in float32).

They need the memory: each test skips, saying how much it needs, where /proc/meminfo shows less available."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd

pytestmark = pytest.mark.large

N = 2**31 + 64  # elements: past the int32 range, a multiple of 64
GiB = 2**30


def available_bytes():
    try:
        with open("/proc/meminfo") as f:
            fields = dict(line.split(":", 1) for line in f)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return 0


def needs(gib):
    have = available_bytes() / GiB
    return pytest.mark.skipif(have < gib, reason=f"needs {gib} GiB of available memory, this machine has "
                                                 f"{have:.1f}")


@needs(10)
def test_sparse_steps_beyond_2_31_elements():
    """CSR on a 1-D parameter (int64 column indices past 2^31) and RowSparse on the same memory seen as rows of
    64 (row offsets past 2^31): only the touched elements change, each by Adam's first step -lr sign(g)."""
    w = np.zeros(N, np.float32)
    touched = np.array([5, 2**31 - 1, 2**31, N - 1], np.int64)
    g = sp.csr_matrix((np.ones(4, np.float32), touched, np.array([0, 4], np.int64)), shape=(1, N))
    gd.Adam([w], lr=0.25).step(g)
    np.testing.assert_array_equal(w[touched], -0.25)
    assert np.count_nonzero(w) == 4
    w[touched] = 0
    rows = w.reshape(N // 64, 64)
    last = np.array([N // 64 - 1], np.int64)
    gd.SGD([rows], lr=1.0).step(gd.RowSparse(last, np.full((1, 64), 2.0, np.float32)))
    np.testing.assert_array_equal(w[-64:], -2.0)
    assert np.count_nonzero(w) == 64


@needs(19)
def test_dense_sgd_step_beyond_2_31_elements():
    """Parameter and gradient of 2^31 + 64 float32 each (17 GB): every element is updated, the last ones too."""
    w = np.zeros(N, np.float32)
    g = np.full(N, 3.0, np.float32)
    gd.SGD([w], lr=0.5).step(g)
    del g
    assert w[0] == w[2**31 - 1] == w[2**31] == w[-1] == -1.5
    assert w.min() == w.max() == -1.5
