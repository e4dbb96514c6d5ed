"""Sparse (CSR) gradients: every rule x dtype x mode against reference.sparse_lazy / sparse_exact."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

import gdfast as gd
from gdfast import _kernels as K, reference
from gdfast.optim import _gradients

from conftest import RULE_NAMES, TOLERANCE, assert_bad_gradient_writes_nothing, gradient_floats

MODES = ["lazy", "exact"]


def random_csr(rng, shape, dtype, density, index_dtype=np.int32, duplicates=False, unsorted=False):
    """A CSR gradient and its dense meaning (values summed, touched mask)."""
    n_rows, n_cols = shape
    rows, cols = np.nonzero(rng.random(shape) < density)
    if duplicates and len(rows):
        extra = rng.integers(0, len(rows), size=max(1, len(rows) // 3))
        rows, cols = np.concatenate([rows, rows[extra]]), np.concatenate([cols, cols[extra]])
    order = np.lexsort((cols, rows))
    if unsorted:  # shuffle the column order within each row
        order = np.lexsort((rng.random(len(rows)), rows))
    rows, cols = rows[order], cols[order]
    data = rng.standard_normal(len(rows)).astype(dtype)
    data[rng.random(len(rows)) < 0.1] = 0  # explicit zeros are touched too
    indptr = np.searchsorted(rows, np.arange(n_rows + 1)).astype(index_dtype)
    g = sp.csr_matrix(shape, dtype=dtype)
    g.indptr, g.indices, g.data = indptr, cols.astype(index_dtype), data  # no canonicalisation by scipy
    dense = np.zeros(shape)
    np.add.at(dense, (rows, cols), data.astype(np.float64))
    touched = np.zeros(shape, bool)
    touched[rows, cols] = True
    return g, dense, touched


def reference_sparse_run(rule, mode, theta0, steps, hyper):
    ref = getattr(reference, f"sparse_{mode}")
    theta = theta0.astype(np.float64)
    state = [np.zeros_like(theta) for _ in rule.slots]
    for t, (_, dense, touched) in enumerate(steps, start=1):
        theta, *state = ref(rule.name, theta, dense.reshape(theta.shape), touched.reshape(theta.shape), *state,
                            t=t, **hyper)
    return theta, state


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("shape", [(30, 8), (1, 50)], ids=["2d", "1d"])
def test_matches_reference(rule, dtype, mode, shape):
    rng = np.random.default_rng(20)
    param_shape = shape if shape[0] > 1 else (shape[1],)
    theta0 = rng.standard_normal(param_shape).astype(dtype)
    steps = [random_csr(rng, shape, dtype, density, np.int64 if k % 2 else np.int32, duplicates=k % 3 == 0,
                        unsorted=k % 4 == 1)
             for k, density in enumerate(rng.choice([0.0, 0.05, 0.3, 1.0], size=60))]
    hyper = {k: v * (5 if k == "lr" and rule.name != "adadelta" else 1) for k, v in rule.defaults.items()}
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], sparse=mode, **hyper)
    for g, _, _ in steps:
        opt.step(g)
    opt.flush()
    expected, expected_state = reference_sparse_run(rule, mode, theta0, steps, hyper)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])
    for name, e in zip(rule.slots, expected_state):
        np.testing.assert_allclose(opt.state[0][name], e, **TOLERANCE[dtype], err_msg=name)


def test_exact_touched_coordinates_are_exact_at_every_step(rule, dtype):
    """Without flushing, the coordinates a step touches are already those of the dense reference."""
    rng = np.random.default_rng(21)
    theta0 = rng.standard_normal((20, 5)).astype(dtype)
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], sparse="exact")
    theta, state = theta0.astype(np.float64), [np.zeros((20, 5)) for _ in rule.slots]
    for t in range(1, 41):
        g, dense, touched = random_csr(rng, (20, 5), dtype, 0.1)
        opt.step(g)
        theta, *state = reference.sparse_exact(rule.name, theta, dense, touched, *state, t=t, **rule.defaults)
        np.testing.assert_allclose(w[touched], theta[touched], **TOLERANCE[dtype])


def test_fully_dense_sparse_gradient_equals_dense_path_bitwise(rule, dtype):
    rng = np.random.default_rng(22)
    theta0 = rng.standard_normal((12, 7)).astype(dtype)
    for mode in MODES:
        w_sparse, w_dense = theta0.copy(), theta0.copy()
        o_sparse = gd.OPTIMIZERS[rule.name]([w_sparse], sparse=mode)
        o_dense = gd.OPTIMIZERS[rule.name]([w_dense], sparse=mode)
        for _ in range(10):
            g = rng.standard_normal((12, 7)).astype(dtype)
            o_sparse.step(sp.csr_matrix(g))
            o_dense.step(g)
        np.testing.assert_array_equal(w_sparse, w_dense)
        for a, b in zip(o_sparse.state[0].values(), o_dense.state[0].values()):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_mixed_dense_and_sparse_steps(rule, mode):
    """Dense and sparse gradients for different params in one step, and dense steps between sparse ones."""
    rng = np.random.default_rng(23)
    a0, b0 = rng.standard_normal((10, 4)), rng.standard_normal(6).astype(np.float32)
    a, b = a0.copy(), b0.copy()
    opt = gd.OPTIMIZERS[rule.name]([a, b], sparse=mode)
    steps_a, steps_b = [], []
    for k in range(30):
        ga = random_csr(rng, (10, 4), np.float64, 0.2)
        gb = rng.standard_normal(6).astype(np.float32)
        if k % 5 == 4:  # a dense step of the sparse param now and then
            ga = (None, ga[1], np.ones((10, 4), bool))
            opt.step([ga[1], gb])
        else:
            opt.step([ga[0], gb])
        steps_a.append(ga)
        steps_b.append((None, gb, np.ones(6, bool)))
    opt.flush()
    np.testing.assert_allclose(a, reference_sparse_run(rule, mode, a0, steps_a, rule.defaults)[0], rtol=1e-12,
                               atol=1e-12)
    np.testing.assert_allclose(b, reference_sparse_run(rule, mode, b0, steps_b, rule.defaults)[0], rtol=1e-5,
                               atol=1e-5)


@settings(max_examples=40, deadline=None)
@given(data=st.data(), name=st.sampled_from(RULE_NAMES), mode=st.sampled_from(MODES),
       dtype=st.sampled_from([np.float32, np.float64]), index_dtype=st.sampled_from([np.int32, np.int64]))
def test_property_sparsity_patterns(data, name, mode, dtype, index_dtype):
    """Random patterns: empty rows, all rows, one coordinate, duplicates, unsorted; int32 and int64 indices."""
    rule = gd.RULES[name]
    n_rows, n_cols = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    n_steps = data.draw(st.integers(1, 6))
    steps = []
    for _ in range(n_steps):
        entries = data.draw(st.lists(st.tuples(st.integers(0, n_rows - 1), st.integers(0, n_cols - 1),
                                               gradient_floats(dtype).map(dtype)), max_size=2 * n_rows * n_cols))
        rows = np.array([e[0] for e in entries], np.int64)
        cols = np.array([e[1] for e in entries], index_dtype)
        vals = np.array([e[2] for e in entries], dtype)
        order = np.argsort(rows, kind="stable")  # rows in order, columns as drawn (unsorted, duplicates)
        g = sp.csr_matrix((n_rows, n_cols), dtype=dtype)
        g.indptr = np.searchsorted(rows[order], np.arange(n_rows + 1)).astype(index_dtype)
        g.indices, g.data = cols[order], vals[order]
        dense = np.zeros((n_rows, n_cols))
        np.add.at(dense, (rows, cols.astype(np.int64)), vals.astype(np.float64))
        touched = np.zeros((n_rows, n_cols), bool)
        touched[rows, cols] = True
        steps.append((g, dense, touched))
    theta0 = data.draw(st.lists(st.floats(-10, 10), min_size=n_rows * n_cols, max_size=n_rows * n_cols))
    theta0 = np.array(theta0, dtype).reshape(n_rows, n_cols)
    w = theta0.copy()
    opt = gd.OPTIMIZERS[name]([w], sparse=mode)
    for g, _, _ in steps:
        opt.step(g)
    opt.flush()
    expected, _ = reference_sparse_run(rule, mode, theta0, steps, dict(rule.defaults))
    tol = dict(rtol=1e-12, atol=1e-12) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(w, expected, **tol)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), name=st.sampled_from(["sgd", "adam", "momentum"]), mode=st.sampled_from(MODES),
       index_dtype=st.sampled_from([np.int32, np.int64]), split=st.booleans())
def test_property_few_rows_of_a_tall_parameter(data, name, mode, index_dtype, split):
    """A handful of used rows among thousands (the embedding case): the walk over the entries skips the gaps
    of empty rows, also where the entries are split among threads (split: fork at any size)."""
    n_rows, n_cols = data.draw(st.integers(1, 5000)), data.draw(st.integers(1, 4))
    rows = np.array(sorted(data.draw(st.sets(st.integers(0, n_rows - 1), max_size=12))), np.int64)
    g = sp.csr_matrix((n_rows, n_cols), dtype=np.float64)
    g.indptr = np.zeros(n_rows + 1, index_dtype)
    g.indptr[rows + 1] = n_cols
    g.indptr = np.cumsum(g.indptr).astype(index_dtype)
    g.indices = np.tile(np.arange(n_cols, dtype=index_dtype), len(rows))
    g.data = np.arange(1.0, 1.0 + len(rows) * n_cols)
    touched = np.zeros((n_rows, n_cols), bool)
    touched[rows] = True
    w = np.ones((n_rows, n_cols))
    opt = gd.OPTIMIZERS[name]([w], sparse=mode)
    before = K.get_min_per_thread()
    K.set_min_per_thread(1 if split else before)
    try:
        opt.step(g)
        opt.step(g)
        opt.flush()
    finally:
        K.set_min_per_thread(before)
    steps = [(g, g.toarray(), touched)] * 2
    expected, _ = reference_sparse_run(gd.RULES[name], mode, np.ones((n_rows, n_cols)), steps,
                                       dict(gd.RULES[name].defaults))
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-12)


def csr_check_literal(indptr, indices, n_rows, n_cols):
    """What _kernels.csr_check must answer, written plainly: (code, position, canonical)."""
    if indptr[0] != 0:
        return K.CSR_INDPTR_START, 0, True
    for r in range(n_rows):
        if indptr[r + 1] < indptr[r]:
            return K.CSR_INDPTR_DECREASING, r, True
    if indptr[n_rows] > len(indices):
        return K.CSR_INDPTR_END, n_rows, True
    canonical = True
    for r in range(n_rows):
        row = indices[indptr[r]:indptr[r + 1]]
        for k, col in enumerate(row):
            if not 0 <= col < n_cols:
                return K.CSR_INDEX_RANGE, indptr[r] + k, True
        canonical &= bool(np.all(row[1:] > row[:-1]))
    return K.CSR_OK, 0, canonical


@settings(max_examples=200, deadline=None)
@given(data=st.data(), index_dtype=st.sampled_from([np.int32, np.int64]), split=st.booleans())
def test_property_csr_check_matches_its_definition(data, index_dtype, split):
    """Structures with long runs of empty rows, unsorted or duplicate indices, and each kind of corruption."""
    n_rows, n_cols = data.draw(st.integers(0, 400)), data.draw(st.integers(1, 6))
    lengths = data.draw(st.lists(st.sampled_from([0, 0, 0, 0, 1, 2, 5]), min_size=n_rows, max_size=n_rows))
    indptr = np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])
    nnz = int(indptr[-1])
    indices = np.array(data.draw(st.lists(st.integers(0, n_cols - 1), min_size=nnz, max_size=nnz)), np.int64)
    corruption = data.draw(st.sampled_from(["none", "none", "start", "decrease", "end", "index", "sorted"]))
    if corruption == "start":
        indptr[0] = data.draw(st.sampled_from([-1, 1]))
    elif corruption == "decrease" and n_rows:
        r = data.draw(st.integers(1, n_rows))
        indptr[r] = indptr[r - 1] - data.draw(st.integers(1, 3))
    elif corruption == "end":
        indptr[-1] += data.draw(st.integers(1, 3))
    elif corruption == "index" and nnz:
        indices[data.draw(st.integers(0, nnz - 1))] = data.draw(st.sampled_from([-1, n_cols, 2**31 - 1]))
    elif corruption == "sorted" and nnz:
        indices = indices[::-1].copy()
    indptr, indices = indptr.astype(index_dtype), indices.astype(index_dtype)
    before = K.get_min_per_thread()
    K.set_min_per_thread(1 if split else before)
    try:
        got = K.csr_check(indptr, indices, n_rows, n_cols)
    finally:
        K.set_min_per_thread(before)
    expected = csr_check_literal(indptr, indices, n_rows, n_cols)
    assert got[:2] == expected[:2]
    if expected[0] == K.CSR_OK:
        assert got[2] == expected[2]


def test_explicit_zero_is_touched():
    w = np.zeros(3)
    opt = gd.Adam([w], lr=0.1)
    opt.step(sp.csr_matrix(np.array([[1.0, 1.0, 0.0]])))
    after_first = w.copy()
    zero_at_0 = sp.csr_matrix((np.array([0.0]), np.array([0]), np.array([0, 1])), shape=(1, 3))
    opt.step(zero_at_0)
    assert w[0] != after_first[0]  # m decays, the step moves theta
    assert w[1] == after_first[1]  # untouched: lazy keeps it


def test_no_copy_of_canonical_csr():
    p = np.zeros((5, 5), np.float32)
    for index_dtype in (np.int32, np.int64):
        g = sp.csr_matrix(np.eye(5, dtype=np.float32))
        g.indptr, g.indices = g.indptr.astype(index_dtype), g.indices.astype(index_dtype)
        checked = _gradients.sparse_grad(g, p, "g")
        assert checked.indices is g.indices and checked.data is g.data and checked.indptr is g.indptr


@pytest.mark.parametrize("make", [sp.coo_matrix, sp.csc_matrix, sp.csr_array, sp.lil_matrix, sp.coo_array])
def test_other_formats_are_converted(make):
    rng = np.random.default_rng(24)
    dense = rng.standard_normal((4, 6)) * (rng.random((4, 6)) < 0.5)
    w1, w2 = np.ones((4, 6)), np.ones((4, 6))
    gd.Adagrad([w1]).step(make(dense))
    gd.Adagrad([w2]).step(sp.csr_matrix(dense))
    np.testing.assert_array_equal(w1, w2)


def bad_csr(change):
    g = sp.csr_matrix(np.array([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]))
    change(g)
    return g


@pytest.mark.parametrize("grad, param, error, match", [
    (sp.csr_matrix((3, 3)), np.zeros((2, 3)), ValueError, r"grads\[0\] has shape \(3, 3\) but its parameter needs"),
    (sp.csr_matrix((3, 1)), np.zeros(3), ValueError, r"needs \(1, 3\)"),
    (sp.csr_matrix((1, 4)), np.zeros((1, 2, 2)), ValueError, "3 dimensions"),
    (sp.csr_matrix((2, 3), dtype=np.float32), np.zeros((2, 3)), TypeError, "has dtype float32 but its parameter"),
    (bad_csr(lambda g: g.indices.__setitem__(1, 3)), np.zeros((2, 3)), ValueError, r"column index 3 at entry 1"),
    (bad_csr(lambda g: g.indices.__setitem__(0, -1)), np.zeros((2, 3)), ValueError, r"column index -1"),
    (bad_csr(lambda g: g.indptr.__setitem__(slice(None), [0, 3, 2])), np.zeros((2, 3)), ValueError,
     r"indptr must not decrease \(indptr\[1 \+ 1\] < indptr\[1\]\)"),
    (bad_csr(lambda g: g.indptr.__setitem__(0, 1)), np.zeros((2, 3)), ValueError, r"indptr\[0\] must be 0"),
    (bad_csr(lambda g: g.indptr.__setitem__(2, 9)), np.zeros((2, 3)), ValueError, "exceeds the number of stored"),
    (bad_csr(lambda g: setattr(g, "indptr", g.indptr[:2])), np.zeros((2, 3)), ValueError, "indptr must have 3"),
    (bad_csr(lambda g: setattr(g, "data", g.data[:2])), np.zeros((2, 3)), ValueError, "one length"),
])
def test_bad_sparse_gradients_write_nothing(grad, param, error, match):
    assert_bad_gradient_writes_nothing(grad, param, error, match)


def test_check_finite_sparse():
    p = np.zeros((2, 3))
    opt = gd.RMSprop([p], check_finite=True)
    with pytest.raises(FloatingPointError, match=r"grads\[0\]"):
        opt.step(bad_csr(lambda g: g.data.__setitem__(2, np.nan)))
    assert opt.t == 0 and not opt.state[0]["Eg2"].any()


def test_sparse_mode_is_checked():
    with pytest.raises(ValueError, match="sparse must be 'lazy' or 'exact'"):
        gd.Adam([np.zeros(3)], sparse="dense")


def test_exact_state_dict_flushes_and_resumes(rule, tmp_path):
    rng = np.random.default_rng(25)
    theta0 = rng.standard_normal((15, 4))
    steps = [random_csr(rng, (15, 4), np.float64, 0.15) for _ in range(30)]
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], sparse="exact")
    for g, _, _ in steps[:15]:
        opt.step(g)
    np.savez(tmp_path / "s.npz", **opt.state_dict())
    saved_w = w.copy()
    np.testing.assert_allclose(w, reference_sparse_run(rule, "exact", theta0, steps[:15], rule.defaults)[0],
                               rtol=1e-12, atol=1e-12)  # state_dict flushed: every coordinate is current
    for g, _, _ in steps[15:]:
        opt.step(g)
    opt.flush()
    resumed = saved_w.copy()
    opt2 = gd.OPTIMIZERS[rule.name]([resumed], sparse="exact")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as saved:
        opt2.load_state_dict(saved)
    for g, _, _ in steps[15:]:
        opt2.step(g)
    opt2.flush()
    np.testing.assert_array_equal(resumed, w)


def test_exact_hyperparameter_change_replays_old_values(rule):
    """Changing lr in the exact mode first brings skipped steps up to date with the old lr."""
    rng = np.random.default_rng(26)
    theta0 = rng.standard_normal((10, 3))
    steps = [random_csr(rng, (10, 3), np.float64, 0.2) for _ in range(20)]
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule.name]([w], sparse="exact")
    for g, _, _ in steps[:10]:
        opt.step(g)
    opt.lr = opt.lr / 2
    for g, _, _ in steps[10:]:
        opt.step(g)
    opt.flush()
    theta, state = reference_sparse_run(rule, "exact", theta0, steps[:10], rule.defaults)
    half = dict(rule.defaults, lr=rule.defaults["lr"] / 2)
    for t, (_, dense, touched) in enumerate(steps[10:], start=11):
        theta, *state = reference.sparse_exact(rule.name, theta, dense, touched, *state, t=t, **half)
    np.testing.assert_allclose(w, theta, rtol=1e-12, atol=1e-12)


def test_long_skips_use_the_saturated_bias_table():
    """A coordinate untouched for longer than the bias-correction table (Adam: beta1^s underflows) is exact."""
    w = np.ones(2)
    opt = gd.Adam([w], sparse="exact", beta2=0.5)
    touch_0 = sp.csr_matrix((np.array([1.0]), np.array([0]), np.array([0, 1])), shape=(1, 2))
    touch_1 = sp.csr_matrix((np.array([1.0]), np.array([1]), np.array([0, 1])), shape=(1, 2))
    opt.step(touch_0)
    for _ in range(400):
        opt.step(touch_1)
    opt.step(touch_0)
    opt.flush()
    theta, state = np.ones(2), [np.zeros(2), np.zeros(2)]
    hyper = dict(gd.RULES["adam"].defaults, beta2=0.5)
    for t in range(1, 403):
        g = np.array([1.0, 0.0]) if t in (1, 402) else np.array([0.0, 1.0])
        theta, *state = reference.adam(theta, g, *state, t=t, **hyper)
    np.testing.assert_allclose(w, theta, rtol=1e-12)


def test_functional_kernel_takes_lazy_sparse_steps(rule, dtype):
    rng = np.random.default_rng(27)
    theta0 = rng.standard_normal((9, 4)).astype(dtype)
    w_fun, w_obj = theta0.copy(), theta0.copy()
    slots = [np.zeros_like(theta0) for _ in rule.slots]
    opt = gd.OPTIMIZERS[rule.name]([w_obj])
    for t in range(1, 21):
        g, _, _ = random_csr(rng, (9, 4), dtype, 0.3)
        getattr(gd.kernels, rule.name)(w_fun, g, *slots, t=t)
        opt.step(g)
    np.testing.assert_array_equal(w_fun, w_obj)
