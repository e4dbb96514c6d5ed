"""Input checks, one function per concept, called by every entry point before any memory is written.

Errors name the argument: TypeError for a wrong type or dtype (gdfast never casts silently), ValueError for
a wrong shape, layout or value, FloatingPointError for a non-finite gradient under check_finite.
"""
import math
import numbers

import numpy as np

from . import _kernels
from ._registry import RANGES
from ._sparse import RowSparse

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _dtype_name(dtype):
    return f"{dtype} ({dtype.str})" if dtype.byteorder == ">" else str(dtype)


def param(p, name):
    """A parameter the kernels update in place: float32/float64 ndarray, C-contiguous, aligned, writeable."""
    if not isinstance(p, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of float32 or float64, got {type(p).__name__}")
    if p.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64 (native byte order), got {_dtype_name(p.dtype)}")
    if not (p.flags.c_contiguous and p.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned: it is updated in place "
                         "(pass np.ascontiguousarray(x) and keep that array)")
    if not p.flags.writeable:
        raise ValueError(f"{name} is read-only: it is updated in place")
    return p


def params(ps):
    """The list of parameters of an optimizer: an ndarray or a non-empty list/tuple of them, not overlapping."""
    if isinstance(ps, np.ndarray):
        ps = [ps]
    elif isinstance(ps, (list, tuple)):
        ps = list(ps)
    else:
        raise TypeError(f"params must be a numpy.ndarray or a list of them, got {type(ps).__name__}")
    if not ps:
        raise ValueError("params is empty")
    for i, p in enumerate(ps):
        param(p, f"params[{i}]")
    disjoint(ps, [f"params[{i}]" for i in range(len(ps))])
    return ps


def disjoint(arrays, names):
    """No two of these (contiguous) arrays share a byte: each is written by the kernels."""
    pair = _kernels.overlapping_pair(arrays)
    if pair is not None:
        first, second = sorted(pair)
        raise ValueError(f"{names[first]} and {names[second]} share memory; each must be a separate array")


def dense_grad(g, p, name):
    """A dense gradient for parameter p: an ndarray of p's dtype and shape, returned C-contiguous and aligned
    (a strided or unaligned gradient is copied once)."""
    if not isinstance(g, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray with the dtype of its parameter, or a scipy.sparse "
                        f"matrix, got {type(g).__name__}")
    if g.dtype != p.dtype:
        raise TypeError(f"{name} has dtype {_dtype_name(g.dtype)} but its parameter is {p.dtype}; "
                        "gdfast does not cast: pass a gradient of the parameter's dtype")
    if g.shape != p.shape:
        raise ValueError(f"{name} has shape {g.shape} but its parameter has shape {p.shape}")
    if not (g.flags.c_contiguous and g.flags.aligned):
        g = np.ascontiguousarray(g)
    return g


class SparseGradient:
    """A checked, canonical sparse gradient of one parameter, as the kernels take it."""

    __slots__ = ()

    def arrays(self):
        """The arrays the kernel reads (to test against what the step writes)."""
        raise NotImplementedError

    def copy(self):
        raise NotImplementedError

    def stored_values(self):
        """The gradient values it holds (check_finite looks at these)."""
        raise NotImplementedError

    def step(self, rule_id, param, slots, kernel_args, t, state):
        """Step t of the rule on the coordinates this gradient touches (state: lazy or exact bookkeeping)."""
        raise NotImplementedError


class CSRGradient(SparseGradient):
    __slots__ = ("indptr", "indices", "data", "n_rows", "n_cols")

    def __init__(self, indptr, indices, data, n_rows, n_cols):
        self.indptr, self.indices, self.data, self.n_rows, self.n_cols = indptr, indices, data, n_rows, n_cols

    def arrays(self):
        return [self.indptr, self.indices, self.data]

    def copy(self):
        return CSRGradient(*(a.copy() for a in self.arrays()), self.n_rows, self.n_cols)

    def stored_values(self):
        return self.data[:int(self.indptr[-1])]

    def step(self, rule_id, param, slots, kernel_args, t, state):
        _kernels.sparse_step(rule_id, param, slots, *self.arrays(), self.n_rows, self.n_cols, kernel_args, t,
                             state)


class RowsGradient(SparseGradient):
    __slots__ = ("rows", "values")

    def __init__(self, rows, values):
        self.rows, self.values = rows, values

    def arrays(self):
        return [self.rows, self.values]

    def copy(self):
        return RowsGradient(self.rows.copy(), self.values.copy())

    def stored_values(self):
        return self.values

    def step(self, rule_id, param, slots, kernel_args, t, state):
        _kernels.rows_step(rule_id, param, slots, self.rows, self.values, kernel_args, t, state)


_CSR_ERRORS = {
    _kernels.CSR_INDPTR_START: "indptr[0] must be 0",
    _kernels.CSR_INDPTR_DECREASING: "indptr must not decrease (indptr[{w} + 1] < indptr[{w}])",
    _kernels.CSR_INDPTR_END: "indptr[-1] exceeds the number of stored entries",
    _kernels.CSR_INDEX_RANGE: "column index {index} at entry {w} is outside [0, {n_cols})",
}


def sparse_grad(g, p, name):
    """A scipy.sparse gradient for parameter p, as a CSRGradient: the matrix must have p's shape (p 2-D) or
    (1, p.size) (p 1-D), and data of p's dtype; see ``csr``."""
    if p.ndim == 2:
        shape = p.shape
    elif p.ndim == 1:
        shape = (1, p.shape[0])
    else:
        raise ValueError(f"{name} is sparse but its parameter has {p.ndim} dimensions; sparse gradients are for "
                         "1-D parameters (as a (1, n) matrix) and 2-D ones")
    if tuple(g.shape) != shape:
        raise ValueError(f"{name} has shape {tuple(g.shape)} but its parameter needs {shape}")
    if g.dtype != p.dtype:
        raise TypeError(f"{name} has dtype {_dtype_name(g.dtype)} but its parameter is {p.dtype}; "
                        "gdfast does not cast: pass data of the parameter's dtype")
    return csr(g, name)


def csr(g, name):
    """A scipy.sparse matrix as a checked, canonical CSRGradient of its own shape.

    CSR is used as it is (int32 or int64 indices, no copy); another format is converted to CSR once (a copy).
    The structure is checked before any kernel reads it; a matrix with unsorted or duplicate column indices is
    canonicalised on a copy (duplicates summed, as scipy defines them; explicit zeros stay and count as touched).
    """
    shape = tuple(g.shape)
    if g.format != "csr":
        g = g.tocsr()
    indptr, indices, data = (np.ascontiguousarray(a) for a in (g.indptr, g.indices, g.data))
    index_dtype = indices.dtype
    if index_dtype not in (np.dtype(np.int32), np.dtype(np.int64)) or indptr.dtype != index_dtype:
        indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)  # scipy keeps one native type
    if indptr.ndim != 1 or indptr.shape[0] != shape[0] + 1:
        raise ValueError(f"{name}: indptr must have {shape[0] + 1} entries (rows + 1), got {indptr.shape}")
    if indices.ndim != 1 or data.ndim != 1 or indices.shape[0] != data.shape[0]:
        raise ValueError(f"{name}: indices and data must be 1-D of one length, got {indices.shape} and {data.shape}")
    code, where, canonical = _kernels.csr_check(indptr, indices, shape[0], shape[1])
    if code != _kernels.CSR_OK:
        index = indices[where] if code == _kernels.CSR_INDEX_RANGE else None
        raise ValueError(f"{name} is a malformed CSR matrix: "
                         + _CSR_ERRORS[code].format(w=where, index=index, n_cols=shape[1]))
    if not canonical:  # sort and sum duplicates on a copy, as scipy's sum_duplicates defines them
        import scipy.sparse as sp
        canonical_g = sp.csr_matrix((data, indices, indptr), shape=shape, copy=True)
        canonical_g.sum_duplicates()
        indptr, indices, data = canonical_g.indptr, canonical_g.indices, canonical_g.data
        if indptr.dtype != indices.dtype:
            indptr, indices = indptr.astype(np.int64), indices.astype(np.int64)
    return CSRGradient(indptr, indices, data, shape[0], shape[1])


def rows_grad(g, p, name):
    """A RowSparse gradient for parameter p, as a RowsGradient.

    rows: 1-D integers (int32 and int64 used as they are, other integer types converted), each in
    [0, p.shape[0]); values: an ndarray of p's dtype and shape (len(rows),) + p.shape[1:] (copied if not
    contiguous). Unsorted or repeated rows are sorted and summed on a copy.
    """
    if p.ndim < 1:
        raise ValueError(f"{name} is row-sparse but its parameter is 0-dimensional")
    rows = np.asarray(g.rows)
    if rows.ndim != 1:
        raise ValueError(f"{name}.rows must be 1-D, got shape {rows.shape}")
    if rows.dtype.kind not in "iu" and rows.size:
        raise TypeError(f"{name}.rows must hold integers, got {_dtype_name(rows.dtype)}")
    if rows.dtype not in (np.dtype(np.int32), np.dtype(np.int64)) or not rows.flags.c_contiguous:
        rows = np.ascontiguousarray(rows, np.int64)
    values = g.values
    if not isinstance(values, np.ndarray):
        raise TypeError(f"{name}.values must be a numpy.ndarray, got {type(values).__name__}")
    if values.dtype != p.dtype:
        raise TypeError(f"{name}.values has dtype {_dtype_name(values.dtype)} but its parameter is {p.dtype}; "
                        "gdfast does not cast: pass values of the parameter's dtype")
    shape = (rows.shape[0],) + p.shape[1:]
    if values.shape != shape:
        raise ValueError(f"{name}.values has shape {values.shape} but {len(rows)} rows of its parameter need {shape}")
    if not (values.flags.c_contiguous and values.flags.aligned):
        values = np.ascontiguousarray(values)
    where, increasing = _kernels.index_check(rows, p.shape[0])
    if where >= 0:
        raise ValueError(f"{name}.rows[{where}] = {rows[where]} is outside [0, {p.shape[0]})")
    if not increasing:  # sort, and sum the values of a repeated row (in the order given)
        order = np.argsort(rows, kind="stable")
        rows = rows[order]
        first = np.flatnonzero(np.diff(rows, prepend=-1))
        rows, values = rows[first], np.add.reduceat(values[order], first, axis=0)
    return RowsGradient(rows, values)


def is_sparse(g):
    """A scipy.sparse matrix or array (scipy is imported only for what is not an ndarray)."""
    if isinstance(g, np.ndarray):
        return False
    import scipy.sparse as sp
    return sp.issparse(g)


def gradient(g, p, name):
    """A dense or sparse gradient for parameter p: a contiguous ndarray or a SparseGradient."""
    if isinstance(g, RowSparse):
        return rows_grad(g, p, name)
    if is_sparse(g):
        return sparse_grad(g, p, name)
    return dense_grad(g, p, name)


def convention(rule, name, sparse):
    """The rule's form under convention `name` (a ValueError lists the valid names), checked against the sparse
    mode: the exact mode needs a catch-up of skipped steps, which Nadam's momentum schedule (torch, keras)
    cannot replay without the running product of its past steps."""
    form = rule.form(name)
    if sparse == "exact" and form.catch_up == "no":
        raise ValueError(f"sparse='exact' is not available for {rule.class_name} with convention={name!r}: its "
                         "momentum schedule's running product cannot be replayed for skipped steps; use "
                         "sparse='lazy', or convention='survey' or 'optax'")
    return form


def sparse_mode(mode):
    if mode not in ("lazy", "exact"):
        raise ValueError(f"sparse must be 'lazy' or 'exact', got {mode!r}")
    return mode


def grad_list(grads, n_params):
    """The gradients of a step as a list: one per parameter, or a bare gradient for a single parameter."""
    if isinstance(grads, (list, tuple)):
        grads = list(grads)
    else:
        grads = [grads]
    if len(grads) != n_params:
        raise ValueError(f"grads has {len(grads)} gradients for {n_params} params; pass one per param, in order")
    return grads


def finite(grads):
    """check_finite: every gradient entry (every stored entry of a sparse one) is finite."""
    for i, g in enumerate(grads):
        values = g.stored_values() if isinstance(g, SparseGradient) else g
        if not np.isfinite(values).all():
            raise FloatingPointError(f"grads[{i}] contains NaN or Inf (check_finite=True); nothing was updated")


def slot(s, p, name):
    """A state buffer of parameter p: p's dtype and shape, C-contiguous, aligned and writeable."""
    if not isinstance(s, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(s).__name__}")
    if s.dtype != p.dtype:
        raise TypeError(f"{name} has dtype {_dtype_name(s.dtype)} but its parameter is {p.dtype}")
    if s.shape != p.shape:
        raise ValueError(f"{name} has shape {s.shape} but its parameter has shape {p.shape}")
    if not (s.flags.c_contiguous and s.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned: it is updated in place")
    if not s.flags.writeable:
        raise ValueError(f"{name} is read-only: it is updated in place")
    return s


def hyperparameter(name, value):
    """A hyperparameter as a float within its range (csrc needs lr >= 0, gamma and betas in [0, 1), eps > 0)."""
    if type(value) is not float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
        value = float(value)
    low, high, low_ok, high_ok = RANGES[name]
    inside = (low < value or (low_ok and value == low)) and (value < high or (high_ok and value == high))
    if not (math.isfinite(value) and inside):
        interval = f"{'[' if low_ok else '('}{low:g}, {high:g}{']' if high_ok else ')'}"
        raise ValueError(f"{name} must be finite and in {interval}, got {value!r}")
    return value


def hyperparameters(rule, given, form=None):
    """The defaults of the rule's form (its survey form when form is None) overridden by the given values, each
    checked; unknown names are a TypeError."""
    defaults = rule.defaults if form is None else form.defaults
    unknown = set(given) - set(defaults)
    if unknown:
        where = "" if form is None or form.convention == "survey" else f" with convention={form.convention!r}"
        raise TypeError(f"{rule.class_name}{where} got unknown hyperparameter(s) {sorted(unknown)}; "
                        f"it takes {list(defaults)}")
    checked = dict(defaults)  # the defaults are valid (tests/test_errors.py and test_conventions.py check them)
    for name, value in given.items():
        checked[name] = hyperparameter(name, value)
    return checked


def step_count(t, name="t"):
    """A step number: an integer >= 0 (0 means no step taken yet)."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(t).__name__}")
    if t < 0:
        raise ValueError(f"{name} must be >= 0, got {t}")
    return int(t)
