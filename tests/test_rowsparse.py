"""Row-sparse gradients (gd.RowSparse): every rule x dtype x mode against the reference's sparse semantics, the
same steps as the equivalent CSR gradient, and the checks."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import gdfast as gd
from gdfast import _kernels as K

from conftest import RULE_NAMES, TOLERANCE, assert_bad_gradient_writes_nothing, gradient_floats
from test_sparse import MODES, reference_sparse_run


def random_rows(rng, shape, dtype, n_used, index_dtype=np.int64, repeats=False):
    """A RowSparse gradient and its dense meaning (values summed, touched mask)."""
    rows = rng.choice(shape[0], size=min(n_used, shape[0]), replace=False)
    if repeats and len(rows):
        rows = np.concatenate([rows, rng.choice(rows, size=len(rows) // 2 + 1)])
    values = rng.standard_normal((len(rows),) + shape[1:]).astype(dtype)
    dense = np.zeros(shape)
    np.add.at(dense, rows, values.astype(np.float64))
    touched = np.zeros(shape, bool)
    touched[rows] = True
    return gd.RowSparse(rows.astype(index_dtype), values), dense, touched


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(30, 4), (50,), (6, 2, 3)], ids=["2d", "1d", "3d"])
def test_matches_reference(rule, dtype, mode, shape):
    rng = np.random.default_rng(40)
    theta0 = rng.standard_normal(shape).astype(dtype)
    steps = [random_rows(rng, shape, dtype, int(n), np.int32 if k % 2 else np.int64, repeats=k % 3 == 0)
             for k, n in enumerate(rng.choice([0, 1, 3, shape[0]], size=50))]
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], sparse=mode)
    for g, _, _ in steps:
        opt.step(g)
    opt.flush()
    expected, expected_state = reference_sparse_run(rule, mode, theta0, steps, rule.defaults)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])
    for name, e in zip(rule.slots, expected_state):
        np.testing.assert_allclose(opt.state[0][name], e, **TOLERANCE[dtype], err_msg=name)


def as_csr(g, shape):
    """The CSR matrix touching exactly the rows of a RowSparse gradient of a 2-D parameter."""
    order = np.argsort(g.rows)
    rows, values = g.rows[order], g.values[order]
    indptr = np.zeros(shape[0] + 1, np.int64)
    indptr[rows + 1] = shape[1]
    return sp.csr_matrix((values.ravel(), np.tile(np.arange(shape[1]), len(rows)), np.cumsum(indptr)), shape=shape)


@pytest.mark.parametrize("width", [6, 20], ids=["short-rows", "long-rows"])
@pytest.mark.parametrize("mode", MODES)
def test_same_bits_as_the_csr_gradient(rule, dtype, mode, width):
    """The row loops (element by element for short rows, the vectorised dense loop for long ones) and the CSR
    loop apply the same element rule."""
    rng = np.random.default_rng(41)
    theta0 = rng.standard_normal((40, width)).astype(dtype)
    w_rows, w_csr = theta0.copy(), theta0.copy()
    o_rows = gd.OPTIMIZERS[rule.name]([w_rows], sparse=mode)
    o_csr = gd.OPTIMIZERS[rule.name]([w_csr], sparse=mode)
    for _ in range(30):
        g, _, _ = random_rows(rng, (40, width), dtype, int(rng.integers(0, 12)))
        o_rows.step(g)
        o_csr.step(as_csr(g, (40, width)))
        np.testing.assert_array_equal(w_rows, w_csr)
    o_rows.flush()
    o_csr.flush()
    np.testing.assert_array_equal(w_rows, w_csr)
    for a, b in zip(o_rows.state[0].values(), o_csr.state[0].values()):
        np.testing.assert_array_equal(a, b)


@settings(max_examples=120, deadline=None)
@given(data=st.data(), name=st.sampled_from(RULE_NAMES), mode=st.sampled_from(MODES),
       dtype=st.sampled_from([np.float32, np.float64]),
       index_dtype=st.sampled_from([np.int32, np.int64, np.uint16, np.int8]), split=st.booleans())
def test_property_rows(data, name, mode, dtype, index_dtype, split):
    """Any rows (repeated, unsorted, none, all; any integer type), any row length, steps split among threads or not."""
    rule = gd.RULES[name]
    shape = tuple(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    steps = []
    for _ in range(data.draw(st.integers(1, 5))):
        rows = np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), max_size=2 * shape[0])), index_dtype)
        values = np.array(data.draw(st.lists(gradient_floats(dtype), min_size=len(rows) * int(np.prod(shape[1:])),
                                             max_size=len(rows) * int(np.prod(shape[1:])))), dtype)
        values = values.reshape((len(rows),) + shape[1:])
        dense = np.zeros(shape)
        np.add.at(dense, rows.astype(np.int64), values.astype(np.float64))
        touched = np.zeros(shape, bool)
        touched[rows.astype(np.int64)] = True
        steps.append((gd.RowSparse(rows, values), dense, touched))
    theta0 = np.linspace(-3, 3, int(np.prod(shape))).astype(dtype).reshape(shape)
    w = theta0.copy()
    opt = gd.OPTIMIZERS[name]([w], sparse=mode)
    before = K.get_min_per_thread()
    K.set_min_per_thread(1 if split else before)
    try:
        for g, _, _ in steps:
            opt.step(g)
        opt.flush()
    finally:
        K.set_min_per_thread(before)
    expected, _ = reference_sparse_run(rule, mode, theta0, steps, dict(rule.defaults))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w, expected, **tol)


def test_user_arrays_are_used_and_left_alone():
    """Sorted int32/int64 rows and contiguous values go to C as they are; unsorted ones are summed on a copy."""
    rows, values = np.array([3, 1, 3]), np.ones((3, 2))
    w = np.zeros((5, 2))
    gd.SGD([w], lr=1.0).step(gd.RowSparse(rows, values))
    np.testing.assert_array_equal(w[:, 0], [0, -1, 0, -2, 0])
    np.testing.assert_array_equal(rows, [3, 1, 3])
    np.testing.assert_array_equal(values, np.ones((3, 2)))


def test_values_sharing_memory_with_the_parameter():
    """A gradient that reads the parameter it updates is copied first: the step sees the values before it."""
    w, expected = np.arange(8.0).reshape(4, 2), np.arange(8.0).reshape(4, 2)
    gd.SGD([w], lr=1.0).step(gd.RowSparse(np.array([0, 1]), w[2:]))
    expected[:2] -= expected[2:]
    np.testing.assert_array_equal(w, expected)


def test_functional_kernel_takes_row_sparse_steps(rule, dtype):
    rng = np.random.default_rng(42)
    w_fun, w_obj = (rng.standard_normal((9, 4)).astype(dtype) for _ in range(2))
    w_obj[:] = w_fun
    slots = [np.zeros_like(w_fun) for _ in rule.slots]
    opt = gd.OPTIMIZERS[rule.name]([w_obj])
    for t in range(1, 21):
        g, _, _ = random_rows(rng, (9, 4), dtype, 3)
        getattr(gd.kernels, rule.name)(w_fun, g, *slots, t=t)
        opt.step(g)
    np.testing.assert_array_equal(w_fun, w_obj)


@pytest.mark.parametrize("grad, param, error, match", [
    (gd.RowSparse(np.array([0, 3]), np.ones((2, 3))), np.zeros((3, 3)), ValueError,
     r"rows\[1\] = 3 is outside \[0, 3\)"),
    (gd.RowSparse(np.array([-1], np.int32), np.ones((1, 3))), np.zeros((3, 3)), ValueError, r"rows\[0\] = -1"),
    (gd.RowSparse(np.array([[0]]), np.ones((1, 3))), np.zeros((3, 3)), ValueError, "rows must be 1-D"),
    (gd.RowSparse(np.array([0.0]), np.ones((1, 3))), np.zeros((3, 3)), TypeError, "rows must hold integers"),
    (gd.RowSparse(np.array([0]), np.ones((1, 3), np.float32)), np.zeros((3, 3)), TypeError,
     "values has dtype float32 but its parameter is float64"),
    (gd.RowSparse(np.array([0]), [[1.0, 2.0, 3.0]]), np.zeros((3, 3)), TypeError, "values must be a numpy.ndarray"),
    (gd.RowSparse(np.array([0, 1]), np.ones((2, 2))), np.zeros((3, 3)), ValueError, r"need \(2, 3\)"),
    (gd.RowSparse(np.array([0]), np.ones(1)), np.zeros(()), ValueError, "0-dimensional"),
])
def test_bad_row_sparse_gradients_write_nothing(grad, param, error, match):
    assert_bad_gradient_writes_nothing(grad, param, error, match)


def test_check_finite_row_sparse():
    p = np.zeros((4, 2))
    opt = gd.Adagrad([p], check_finite=True)
    with pytest.raises(FloatingPointError, match=r"grads\[0\]"):
        opt.step(gd.RowSparse(np.array([1]), np.array([[np.inf, 0.0]])))
    assert opt.t == 0 and not opt.state[0]["G"].any()


def test_exact_state_dict_resumes_bitwise(tmp_path):
    rng = np.random.default_rng(43)
    theta0 = rng.standard_normal((20, 3))
    steps = [random_rows(rng, (20, 3), np.float64, 4)[0] for _ in range(30)]
    w = theta0.copy()
    opt = gd.Nadam([w], sparse="exact")
    for g in steps[:12]:
        opt.step(g)
    np.savez(tmp_path / "s.npz", **opt.state_dict())
    saved = w.copy()
    for g in steps[12:]:
        opt.step(g)
    opt.flush()
    opt2 = gd.Nadam([saved], sparse="exact")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as state:
        opt2.load_state_dict(state)
    for g in steps[12:]:
        opt2.step(g)
    opt2.flush()
    np.testing.assert_array_equal(saved, w)


@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(0,), (7,), (40, 3), (40, 2, 5)], ids=["empty", "1-D", "2-D", "3-D"])
def test_repeated_rows_are_summed_in_the_order_given(shape, dtype, index_dtype):
    """_kernels.rows_coalesce: each distinct row once, in the order of its first occurrence, its values the sum
    of its occurrences in order (as a loop adds them); a step on repeated rows equals the step on that sum."""
    from gdfast import _kernels
    rng = np.random.default_rng(len(shape))
    n = 0 if shape == (0,) else 200
    rows = rng.integers(0, max(shape[0], 1), n).astype(index_dtype)
    values = rng.standard_normal((n,) + shape[1:]).astype(dtype)
    out_rows, out_values = _kernels.rows_coalesce(rows, values)
    firsts = list(dict.fromkeys(rows.tolist()))
    assert out_rows.tolist() == firsts and out_rows.dtype == np.int64 and out_values.dtype == dtype
    for k, row in enumerate(firsts):
        expected = np.zeros(shape[1:], dtype)
        for i in np.flatnonzero(rows == row):
            expected = expected + values[i]
        np.testing.assert_array_equal(out_values[k], expected)
    if n and len(shape) > 1:
        p, q = np.zeros(shape, dtype), np.zeros(shape, dtype)
        gd.Adam([p], sparse="exact").step(gd.RowSparse(rows, values))
        order = np.argsort(out_rows)
        gd.Adam([q], sparse="exact").step(gd.RowSparse(out_rows[order], out_values[order]))
        np.testing.assert_array_equal(p, q)
