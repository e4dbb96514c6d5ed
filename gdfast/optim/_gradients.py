"""The gradients an optimizer's step takes, checked against their parameters before anything is written: dense
ndarrays, scipy.sparse matrices (as CSR) and gd.RowSparse, each as the kernels read it.

Errors name the argument: TypeError for a wrong type or dtype (gdfast never casts silently), ValueError for a
wrong shape or structure, FloatingPointError for a non-finite gradient under check_finite.
"""
import sys

import numpy as np

from .. import _kernels
from .._validate import csr, dtype_name, is_sparse, torch_array
from ._sparse import LAZY


class RowSparse:
    """A gradient that is nonzero on a few rows of its parameter: the slice ``param[rows[i]]`` (along the first
    axis) has the gradient ``values[i]``, every other row has none (it is untouched).

    rows: 1-D integers in [0, param.shape[0]) (int32 or int64 are used without a copy); values: an ndarray of
    the parameter's dtype and shape ``(len(rows),) + param.shape[1:]``. A repeated row has the sum of its
    values. For an embedding table the rows are the ids a batch looked up and the values the gradient of
    each lookup. A step costs O(len(rows) x row length): unlike a CSR matrix of the parameter's shape, no
    structure of one entry per parameter row is read or checked.
    """

    __slots__ = ("rows", "values")

    def __init__(self, rows, values):
        self.rows, self.values = rows, values

    def __repr__(self):
        shape = getattr(self.values, "shape", "?")
        return f"RowSparse({len(self.rows)} rows, values {shape})"


def dense_grad(g, p, name):
    """A dense gradient for parameter p: an ndarray of p's dtype and shape, returned C-contiguous and aligned
    (a strided or unaligned gradient is copied once)."""
    if not isinstance(g, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or torch tensor with the dtype of its parameter, or a "
                        f"scipy.sparse matrix, got {type(g).__name__}")
    if g.dtype != p.dtype:
        raise TypeError(f"{name} has dtype {dtype_name(g.dtype)} but its parameter is {p.dtype}; "
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
    """Distinct rows in range and their values; ``increasing`` whether the rows are sorted, which the exact
    mode's blocks need (the lazy step takes them in any order)."""

    __slots__ = ("rows", "values", "increasing")

    def __init__(self, rows, values, increasing=True):
        self.rows, self.values, self.increasing = rows, values, increasing

    def arrays(self):
        return [self.rows, self.values]

    def copy(self):
        return RowsGradient(self.rows.copy(), self.values.copy(), self.increasing)

    def stored_values(self):
        return self.values

    def step(self, rule_id, param, slots, kernel_args, t, state):
        rows, values = self.rows, self.values
        if not self.increasing and state is not LAZY:  # the exact mode's blocks need sorted rows
            order = np.argsort(rows)
            rows, values = rows[order], values[order]
        _kernels.rows_step(rule_id, param, slots, rows, values, kernel_args, t, state)


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
        raise TypeError(f"{name} has dtype {dtype_name(g.dtype)} but its parameter is {p.dtype}; "
                        "gdfast does not cast: pass data of the parameter's dtype")
    return CSRGradient(*csr(g, name))


def rows_grad(g, p, name):
    """A RowSparse gradient for parameter p, as a RowsGradient.

    rows: 1-D integers (int32 and int64 used as they are, other integer types converted), each in
    [0, p.shape[0]); values: an ndarray of p's dtype and shape (len(rows),) + p.shape[1:] (copied if not
    contiguous). Repeated rows are summed on a copy (in C, in the order given), unsorted ones sorted where the exact
    mode needs them.
    """
    if p.ndim < 1:
        raise ValueError(f"{name} is row-sparse but its parameter is 0-dimensional")
    rows = np.asarray(g.rows)
    if rows.ndim != 1:
        raise ValueError(f"{name}.rows must be 1-D, got shape {rows.shape}")
    if rows.dtype.kind not in "iu" and rows.size:
        raise TypeError(f"{name}.rows must hold integers, got {dtype_name(rows.dtype)}")
    if rows.dtype not in (np.dtype(np.int32), np.dtype(np.int64)) or not rows.flags.c_contiguous:
        rows = np.ascontiguousarray(rows, np.int64)
    values = g.values
    if not isinstance(values, np.ndarray):
        raise TypeError(f"{name}.values must be a numpy.ndarray, got {type(values).__name__}")
    if values.dtype != p.dtype:
        raise TypeError(f"{name}.values has dtype {dtype_name(values.dtype)} but its parameter is {p.dtype}; "
                        "gdfast does not cast: pass values of the parameter's dtype")
    shape = (rows.shape[0],) + p.shape[1:]
    if values.shape != shape:
        raise ValueError(f"{name}.values has shape {values.shape} but {len(rows)} rows of its parameter need {shape}")
    if not (values.flags.c_contiguous and values.flags.aligned):
        values = np.ascontiguousarray(values)
    where, increasing = _kernels.index_check(rows, p.shape[0])
    if where >= 0:
        raise ValueError(f"{name}.rows[{where}] = {rows[where]} is outside [0, {p.shape[0]})")
    if not increasing:  # distinct rows, the values of a repeated one summed in the order given (in C)
        rows, values = _kernels.rows_coalesce(rows, values)
    return RowsGradient(rows, values, increasing)


def torch_rows(g, p, name):
    """A torch sparse COO gradient (as nn.Embedding(sparse=True) makes it, coalesced or not) as the RowSparse of
    its rows, sharing its memory; g itself if it is not one."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(g, torch.Tensor) or g.layout != torch.sparse_coo:
        return g
    if tuple(g.shape) != p.shape:
        raise ValueError(f"{name} has shape {tuple(g.shape)} but its parameter has shape {p.shape}")
    if g.sparse_dim() != 1:
        raise ValueError(f"{name} is a torch sparse tensor with {g.sparse_dim()} sparse dimensions; gdfast takes "
                         "sparse rows (sparse_dim 1, as nn.Embedding(sparse=True) makes them)")
    return RowSparse(g._indices()[0].numpy(), torch_array(g._values(), f"{name} values"))


def gradient(g, p, name):
    """A dense or sparse gradient for parameter p: a contiguous ndarray or a SparseGradient (a CPU torch tensor
    taken in its memory: a dense one as an ndarray, a sparse COO one as a RowSparse)."""
    g = torch_array(torch_rows(g, p, name), name)
    if isinstance(g, RowSparse):
        return rows_grad(g, p, name)
    if is_sparse(g):
        return sparse_grad(g, p, name)
    return dense_grad(g, p, name)


def grad_list(grads, n_params):
    """The gradients of a step as a list: one per parameter, or a bare gradient for a single parameter."""
    if isinstance(grads, (list, tuple)):
        grads = list(grads)
    else:
        grads = [grads]
    if len(grads) != n_params:
        raise ValueError(f"grads has {len(grads)} gradients for {n_params} params; pass one per param, in order")
    torch = sys.modules.get("torch")
    if torch is not None:  # dense tensors as the ndarrays of their memory, for the step's one-call fast path
        grads = [g if type(g) is np.ndarray or not isinstance(g, torch.Tensor) or g.layout != torch.strided
                 else torch_array(g, f"grads[{i}]") for i, g in enumerate(grads)]
    return grads


def clip_factor(grads, clip_norm):
    """torch.nn.utils.clip_grad_norm_'s factor min(1, clip_norm / (N + 1e-6)) of checked gradients, N their
    global L2 norm (a sparse gradient's stored values, canonical: a repeated entry summed), computed in C."""
    total = sum(_kernels.sum_squares(g.stored_values() if isinstance(g, SparseGradient) else g) for g in grads)
    return min(1.0, clip_norm / (float(np.sqrt(total)) + 1e-6))


def finite(grads):
    """check_finite: every gradient entry (every stored entry of a sparse one) is finite."""
    for i, g in enumerate(grads):
        values = g.stored_values() if isinstance(g, SparseGradient) else g
        if not np.isfinite(values).all():
            raise FloatingPointError(f"grads[{i}] contains NaN or Inf (check_finite=True); nothing was updated")
