"""Fuzzing the C boundary: arbitrary shapes, dtypes, strides, byte orders, read-only and overlapping arrays,
NaN/Inf, empty arrays and malformed sparse structures at the public entry points. The only outcomes allowed
are a correct result or a TypeError/ValueError (FloatingPointError for check_finite), with the parameters and
the optimizer's state unchanged after an exception. .ci/sanitize runs this file under ASan + UBSan, so an
out-of-bounds access the checks miss fails CI even when the result looks right."""
import numpy as np
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gdfast as gd

RULES = list(gd.OPTIMIZERS)
CLEAR_ERRORS = (TypeError, ValueError)
DTYPES = ["<f8", "<f4", ">f8", ">f4", "<f2", "<i8", "<i4", "<c16", "?", "O"]
fuzz = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def snapshot(opt):
    return [p.copy() for p in opt.params], [{k: v.copy() for k, v in s.items()} for s in opt.state], opt.t


def assert_unchanged(opt, before):
    params, state, t = before
    assert opt.t == t
    for p, q in zip(opt.params, params):
        np.testing.assert_array_equal(p, q)
    for s, r in zip(opt.state, state):
        for name in s:
            np.testing.assert_array_equal(s[name], r[name])


def outcome(opt, grads):
    """Step; on an exception check it is a clear one and nothing changed. Returns True when the step ran."""
    before = snapshot(opt)
    try:
        opt.step(grads)
    except CLEAR_ERRORS + (FloatingPointError,):
        assert_unchanged(opt, before)
        return False
    return True


@st.composite
def arrays(draw, max_dims=3):
    """An array of any dtype, shape (empty included), layout (C, strided, transposed), writeability."""
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=max_dims)))
    base = np.arange(int(np.prod(shape, dtype=np.int64)) * 2, dtype=np.float64) % 7 - 3
    a = base.astype(dtype)[::2].reshape(shape) if draw(st.booleans()) else \
        base[:base.size // 2].astype(dtype).reshape(shape)
    layout = draw(st.sampled_from(["c", "transposed", "strided"]))
    if layout == "transposed" and a.ndim >= 2:
        a = a.T
    elif layout == "strided" and a.ndim >= 1:
        a = np.repeat(a, 2, axis=0)[::2]
    if draw(st.booleans()):
        a.flags.writeable = False
    return a


def valid_param(a):
    return a.dtype in (np.dtype("<f8"), np.dtype("<f4")) and a.flags.c_contiguous and a.flags.writeable


@fuzz
@given(a=arrays())
def test_any_array_as_a_parameter(a):
    """An optimizer over a well-formed array steps it exactly; anything else is refused with a clear error."""
    original = a.copy()
    try:
        opt = gd.SGD([a], lr=0.5)
    except CLEAR_ERRORS:
        np.testing.assert_array_equal(a, original)
        return
    assert valid_param(a) or a.size == 0, f"accepted {a.dtype} {a.shape} {a.flags}"
    opt.step(np.ones_like(a))
    np.testing.assert_array_equal(a, original - 0.5)


@fuzz
@given(g=arrays(), rule=st.sampled_from(RULES), finite=st.booleans(), bad=st.sampled_from([np.nan, np.inf]))
def test_any_array_as_a_dense_gradient(g, rule, finite, bad):
    """Against a float64 (3, 4) parameter: a gradient of its dtype and shape (any strides) steps like its
    C-contiguous copy; any other is refused. With check_finite a NaN/Inf is refused and nothing moves."""
    if g.dtype.kind == "f" and g.size and not finite:
        g = g.copy()
        g.flat[0] = bad
    w = np.linspace(-1, 1, 12).reshape(3, 4)
    opt = gd.OPTIMIZERS[rule]([w], check_finite=True)
    ran = outcome(opt, g)
    assert ran == (g.dtype == np.dtype("<f8") and g.shape == (3, 4) and bool(np.isfinite(g).all()))
    if ran:
        twin_w = np.linspace(-1, 1, 12).reshape(3, 4)
        gd.OPTIMIZERS[rule]([twin_w]).step(np.ascontiguousarray(g))
        np.testing.assert_array_equal(w, twin_w)


def test_gradient_overlapping_its_parameter_steps_as_a_copy():
    """g = p itself, or a view of p: the step reads the whole gradient before writing (or copies it)."""
    for rule in RULES:
        p = np.linspace(-1, 1, 10)
        gd.OPTIMIZERS[rule]([p]).step(p)
        q = np.linspace(-1, 1, 10)
        gd.OPTIMIZERS[rule]([q]).step(np.linspace(-1, 1, 10))
        np.testing.assert_array_equal(p, q)
        p = np.linspace(-1, 1, 10)
        outcome(gd.OPTIMIZERS[rule]([p]), p[::-1])  # a reversed view: a correct step or a clear error
        if not np.array_equal(p, np.linspace(-1, 1, 10)):
            q = np.linspace(-1, 1, 10)
            gd.OPTIMIZERS[rule]([q]).step(np.linspace(-1, 1, 10)[::-1].copy())
            np.testing.assert_array_equal(p, q)


def csr_is_valid(indptr, indices, n_rows, n_cols):
    """What a well-formed CSR structure is, written independently of gdfast's checks."""
    if len(indptr) != n_rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0):
        return False
    if indptr[-1] != len(indices):
        return False
    return bool(len(indices) == 0 or (indices.min() >= 0 and indices.max() < n_cols))


@st.composite
def csr_gradients(draw, n_rows=6, n_cols=5):
    """A scipy CSR matrix of the parameter's shape whose arrays may then be broken in place (scipy checks at
    construction only): indptr cut short, decreasing, ending past nnz; indices out of range, negative, past
    2^31 in int64; data of the wrong dtype; the wrong shape."""
    density = draw(st.floats(0, 1))
    g = sp.random(n_rows, n_cols, density, "csr", random_state=draw(st.integers(0, 2**16)))
    g.indices = g.indices.astype(draw(st.sampled_from([np.int32, np.int64])))
    g.indptr = g.indptr.astype(g.indices.dtype)
    damage = draw(st.sampled_from(["none", "short indptr", "decreasing", "past nnz", "index high",
                                   "index negative", "index past 2^31", "dtype", "shape", "nan"]))
    nnz = g.nnz
    if damage == "short indptr":
        g.indptr = g.indptr[:-1]
    elif damage == "decreasing" and n_rows > 1:
        g.indptr[1] = g.indptr[-1] + 1
    elif damage == "past nnz":
        g.indptr[-1] += 3
    elif damage == "index high" and nnz:
        g.indices[draw(st.integers(0, nnz - 1))] = n_cols + draw(st.integers(0, 1000))
    elif damage == "index negative" and nnz:
        g.indices[draw(st.integers(0, nnz - 1))] = -draw(st.integers(1, 1000))
    elif damage == "index past 2^31" and nnz:
        g.indices = g.indices.astype(np.int64)
        g.indptr = g.indptr.astype(np.int64)
        g.indices[draw(st.integers(0, nnz - 1))] = 2**31 + draw(st.integers(0, 1000))
    elif damage == "dtype":
        g = g.astype(np.float32)
    elif damage == "shape":
        g = sp.random(n_rows + 1, n_cols, density, "csr")
    elif damage == "nan" and nnz:
        g.data[0] = np.nan
    return g


@fuzz
@given(g=csr_gradients(), rule=st.sampled_from(RULES), mode=st.sampled_from(["lazy", "exact"]))
def test_any_csr_gradient(g, rule, mode):
    """Malformed CSR never reaches a kernel: it is refused and nothing moves. A well-formed one steps."""
    w = np.linspace(-1, 1, 30).reshape(6, 5)
    opt = gd.OPTIMIZERS[rule]([w], sparse=mode, check_finite=True)
    opt.step(np.full((6, 5), 0.1))  # state that a bad step must leave alone
    ran = outcome(opt, g)
    well_formed = (g.shape == (6, 5) and g.dtype == np.float64 and np.isfinite(g.data).all()
                   and csr_is_valid(g.indptr, g.indices, 6, 5))
    assert ran == well_formed
    if ran and rule == "sgd":  # SGD: a sparse step is the dense step
        expected = np.linspace(-1, 1, 30).reshape(6, 5) - 0.01 * (0.1 + g.toarray())
        np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)


@st.composite
def row_gradients(draw, n_rows=7, row=(3,)):
    """RowSparse with rows of any integer type and values (in range, out of range, negative, repeated,
    unsorted, empty) and values of any shape or dtype."""
    k = draw(st.integers(0, 6))
    rows = np.array(draw(st.lists(st.integers(-3, n_rows + 3), min_size=k, max_size=k)), np.int64)
    rows = rows.astype(draw(st.sampled_from([np.int64, np.int32, np.uint8, np.float64])))  # -1 -> 255 in uint8
    shape = draw(st.sampled_from([(k, *row), (k + 1, *row), (k,), (k, row[0] + 1)]))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    values = (np.arange(int(np.prod(shape)), dtype=np.float64) % 5 - 2).reshape(shape).astype(dtype)
    return gd.RowSparse(rows, values)


@fuzz
@given(g=row_gradients(), rule=st.sampled_from(RULES), mode=st.sampled_from(["lazy", "exact"]))
def test_any_row_sparse_gradient(g, rule, mode):
    """Rows out of range, of a non-integer type, or values of the wrong shape or dtype are refused with
    nothing moved; a well-formed RowSparse steps like its dense sum for SGD."""
    w = np.linspace(-1, 1, 21).reshape(7, 3)
    opt = gd.OPTIMIZERS[rule]([w], sparse=mode)
    opt.step(np.full((7, 3), 0.1))
    ran = outcome(opt, g)
    rows, values = g.rows, g.values
    # an empty rows array of any number type is accepted: np.array([]) is float64
    well_formed = ((rows.dtype.kind in "iu" or len(rows) == 0) and values.dtype == np.float64
                   and values.shape == (len(rows), 3)
                   and (len(rows) == 0 or (rows.min() >= 0 and rows.max() < 7)))
    assert ran == well_formed
    if ran and rule == "sgd":
        dense = np.zeros((7, 3))
        np.add.at(dense, rows.astype(np.int64), values)
        expected = np.linspace(-1, 1, 21).reshape(7, 3) - 0.01 * (0.1 + dense)
        np.testing.assert_allclose(w, expected, rtol=0, atol=1e-15)


@fuzz
@given(X=arrays(max_dims=2), sparse_X=st.booleans(), y_kind=st.sampled_from(["ok", "short", "nan", "2d"]))
def test_fit_on_any_data_trains_or_refuses(X, sparse_X, y_kind):
    """gd.fit: X of any dtype/shape/layout (dense or CSR), y right or wrong: a model or a clear error."""
    n = X.shape[0] if X.ndim >= 1 else 0
    y = {"ok": np.arange(n) % 2, "short": np.arange(max(n - 1, 0)) % 2, "nan": np.full(n, np.nan),
         "2d": np.zeros((n, 2))}[y_kind]
    try:
        data = sp.csr_matrix(X) if sparse_X and X.ndim == 2 and X.dtype.kind in "fiub" else X
    except (TypeError, ValueError):
        data = X
    try:
        model = gd.fit("squared", data, y, "adam", epochs=1, progress=False)
    except CLEAR_ERRORS:
        return
    assert X.ndim == 2 and X.dtype in (np.float32, np.float64) and y_kind == "ok" and n > 0
    assert np.isfinite(model.coef_).all()
