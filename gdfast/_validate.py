"""Input checks, one function per concept, called by every entry point before any memory is written.

Errors name the argument: TypeError for a wrong type or dtype (gdfast never casts silently), ValueError for
a wrong shape, layout or value, FloatingPointError for a non-finite gradient under check_finite.

Scalars and counts are checked declaratively, as scikit-learn's ``_parameter_constraints``: each entry point
keeps a table {argument name: constraint} (``Real``, ``Integer``, ``Options``, ``NoneOr``) and calls
``check(table, {name: value, ...})`` once, which returns the values converted (an int for an Integer, a float for
a Real). The rules are the same everywhere: a bool or a str is never a number, numpy integer and float scalars
are, NaN is never in an interval and +-inf only where the interval closes at +-inf; a wrong type is a TypeError
and a value out of range a ValueError, both saying ``<name> must be <what>, got <value>``.
"""
import math
import numbers
import sys

import numpy as np

from . import _kernels

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


class _Refused(Exception):
    """Raised by Constraint.convert: the value is refused with this error class (TypeError or ValueError)."""

    def __init__(self, error):
        super().__init__(error)
        self.error = error


class Constraint:
    """What one argument must be. ``checked(name, value)`` returns the value converted or raises the error,
    naming the argument, what it must be and the value got."""

    def describe(self, error=TypeError):
        """What a value must be, as the message of `error` says it ("an int >= 1")."""
        raise NotImplementedError

    def convert(self, value):
        """The value converted, or raise _Refused(TypeError or ValueError)."""
        raise NotImplementedError

    def checked(self, name, value):
        """The value converted; a TypeError or ValueError "<name> must be <what>, got <value>" if refused."""
        try:
            return self.convert(value)
        except _Refused as refused:
            error = refused.error
        shown = " ".join(repr(value).split())
        shown = shown if len(shown) <= 80 else shown[:77] + "..."  # an array passed by mistake stays readable
        if error is TypeError:
            shown = f"{shown} ({type(value).__name__})"
        raise error(f"{name} must be {self.describe(error)}, got {shown}")

    def __repr__(self):
        return f"<{self.describe()}>"


class Real(Constraint):
    """A real number (a Python or numpy int or float; not a bool, not a str) from low to high, converted to a
    float. An end that is None is unbounded (any finite number on that side); an infinite end with a closed
    bracket admits the infinity itself. closed: "both", "left", "right" or "neither"."""

    def __init__(self, low=None, high=None, closed="both"):
        self.low_closed = closed in ("both", "left") and low is not None
        self.high_closed = closed in ("both", "right") and high is not None
        self.low = -math.inf if low is None else low
        self.high = math.inf if high is None else high

    def interval(self):
        return (f"{'[' if self.low_closed else '('}{self.low:g}, {self.high:g}"
                f"{']' if self.high_closed else ')'}")

    def describe(self, error=TypeError):
        if error is TypeError:
            return f"a real number in {self.interval()}"
        infinite = (self.low_closed and self.low == -math.inf) or (self.high_closed and self.high == math.inf)
        return f"{'' if infinite else 'finite and '}in {self.interval()}"

    def convert(self, value):
        if type(value) is not float:  # a float, the common case, skips the type tests
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise _Refused(TypeError)
            try:
                value = float(value)
            except OverflowError:  # an int beyond the floats
                raise _Refused(ValueError) from None
        # NaN fails every comparison; an infinity passes only a closed infinite end.
        above = value > self.low or (self.low_closed and value == self.low)
        below = value < self.high or (self.high_closed and value == self.high)
        if not (above and below):
            raise _Refused(ValueError)
        return value


class Integer(Constraint):
    """An int (a Python or numpy integer; not a bool, not a float, not a str) from low to high, both included
    (None: unbounded), converted to an int."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def describe(self, error=TypeError):
        if self.high is None:
            return "an int" if self.low is None else f"an int >= {self.low}"
        return f"an int <= {self.high}" if self.low is None else f"an int in [{self.low}, {self.high}]"

    def convert(self, value):
        if type(value) is not int:
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise _Refused(TypeError)
            value = int(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise _Refused(ValueError)
        return value


class Options(Constraint):
    """One of a few values (names): anything else, of any type, is a ValueError. Returns the option itself."""

    def __init__(self, *options):
        self.options = options

    def describe(self, error=TypeError):
        if len(self.options) == 2:
            return " or ".join(map(repr, self.options))
        return f"one of {list(self.options)}"

    def convert(self, value):
        for option in self.options:  # isinstance first: an array's == would not give a truth value
            if isinstance(value, type(option)) and value == option:
                return option
        raise _Refused(ValueError)


class NoneOr(Constraint):
    """None (returned as it is), or what the constraint admits."""

    def __init__(self, constraint):
        self.constraint = constraint

    def describe(self, error=TypeError):
        return "None or " + self.constraint.describe(TypeError)

    def convert(self, value):
        return None if value is None else self.constraint.convert(value)


class Threads(NoneOr):
    """A thread count: None or an int in [1, MAX_THREADS] (the C loops' limit), converted to the count (None:
    gd.get_num_threads(), at most MAX_THREADS)."""

    def __init__(self):
        super().__init__(Integer(1, _kernels.MAX_THREADS))

    def convert(self, value):
        n = super().convert(value)
        return min(_kernels.get_num_threads(), _kernels.MAX_THREADS) if n is None else n


class BoolOrInteger(Constraint):
    """A bool (converted to 0 or 1) or an int >= low: scikit-learn's "verbose" (low 0) and "average" (low 1:
    False none, True from the first step, or the step to start at)."""

    def __init__(self, low):
        self.integer = Integer(low)

    def describe(self, error=TypeError):
        return f"a bool or an int >= {self.integer.low}"

    def convert(self, value):
        if isinstance(value, (bool, np.bool_)):
            return int(value)
        return self.integer.convert(value)


def check(table, values, label="{}"):
    """The values (a dict argument name -> value), each checked against its constraint in table (argument name
    -> Constraint) and converted: a dict in the order of values (so ``a, b = check(T, {"a": a, "b": b}).values()``).
    label formats the name the errors show, e.g. "options[{!r}]"."""
    return {name: table[name].checked(label.format(name), value) for name, value in values.items()}


# Constraints many entry points share.
COUNT = Integer(1)  # epochs, batch sizes, ranks, replicas, layer widths
NONNEGATIVE = Real(0, None)  # penalties, learning rates, decay and noise constants
FRACTION = Real(0, 1, "neither")  # a share of the examples held out
N_THREADS = Threads()
AVERAGE = BoolOrInteger(1)  # Polyak-Ruppert averaging
SPARSE_MODES = Options("lazy", "exact")

# The update rules' hyperparameters: the kernels need lr >= 0, gamma and the betas in [0, 1) and eps > 0.
HYPERPARAMETER_RANGES = {
    "lr": NONNEGATIVE,
    "gamma": Real(0, 1, "left"),
    "beta1": Real(0, 1, "left"),
    "beta2": Real(0, 1, "left"),
    "eps": Real(0, None, "neither"),
    "momentum_decay": NONNEGATIVE,
    "initial_accumulator_value": NONNEGATIVE,
    # FTRL's, >= 0 as in the paper; with beta = lambda2 = 0 its denominator sqrt(n) / alpha is 0 only while n = 0,
    # where z = 0 too (theta = 0) unless every gradient so far underflowed when squared
    "beta": NONNEGATIVE,
    "lambda1": NONNEGATIVE,
    "lambda2": NONNEGATIVE,
}


def dtype_name(dtype):
    return f"{dtype} ({dtype.str})" if dtype.byteorder == ">" else str(dtype)


def flag(name, value):
    """A True/False option (a bool or numpy bool), as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def torch_array(x, name):
    """x as the kernels take it: a dense CPU torch tensor of float32/float64 is the ndarray sharing its memory
    (no copy: what a step writes, the tensor holds; its data_ptr is unchanged); anything else is x itself.
    torch is never imported here: a tensor exists only where its user imported torch."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(x, torch.Tensor):
        return x
    if x.device.type != "cpu":
        raise TypeError(f"{name} is a torch tensor on {x.device}; gdfast steps CPU tensors (its kernels are C loops "
                        "over host memory)")
    if x.layout != torch.strided:
        raise TypeError(f"{name} is a {x.layout} torch tensor; pass a dense one (a sparse COO gradient is taken "
                        "as a gd.RowSparse of its rows)")
    if x.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name} is a torch tensor of {x.dtype}; gdfast steps float32 or float64 and does not cast")
    return x.detach().numpy()


def param(p, name):
    """A parameter the kernels update in place: float32/float64 ndarray (or CPU torch tensor, its memory),
    C-contiguous, aligned, writeable; returned as the ndarray."""
    p = torch_array(p, name)
    if not isinstance(p, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray or torch tensor of float32 or float64, got "
                        f"{type(p).__name__}")
    if p.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must have dtype float32 or float64 (native byte order), got {dtype_name(p.dtype)}")
    if not (p.flags.c_contiguous and p.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned: it is updated in place "
                         "(pass np.ascontiguousarray(x), or tensor.contiguous(), and keep that array)")
    if not p.flags.writeable:
        raise ValueError(f"{name} is read-only: it is updated in place")
    return p


def params(ps, name="params"):
    """The parameters of an optimizer as ndarrays: an ndarray or CPU torch tensor, or a non-empty list, tuple or
    iterator of them (such as a torch module's ``parameters()``), not overlapping; and the objects given."""
    if isinstance(ps, np.ndarray) or torch_array(ps, name) is not ps:
        ps = [ps]
    elif isinstance(ps, (list, tuple)) or (hasattr(ps, "__next__") and hasattr(ps, "__iter__")):
        ps = list(ps)
    else:
        raise TypeError(f"{name} must be a numpy.ndarray or torch tensor, or a list of them, got "
                        f"{type(ps).__name__}")
    if not ps:
        raise ValueError(f"{name} is empty")
    arrays = [param(p, f"{name}[{i}]") for i, p in enumerate(ps)]
    disjoint(arrays, [f"{name}[{i}]" for i in range(len(ps))])
    return arrays, ps


def disjoint(arrays, names):
    """No two of these (contiguous) arrays share a byte: each is written by the kernels."""
    pair = _kernels.overlapping_pair(arrays)
    if pair is not None:
        first, second = sorted(pair)
        raise ValueError(f"{names[first]} and {names[second]} share memory; each must be a separate array")


_CSR_ERRORS = {
    _kernels.CSR_INDPTR_START: "indptr[0] must be 0",
    _kernels.CSR_INDPTR_DECREASING: "indptr must not decrease (indptr[{w} + 1] < indptr[{w}])",
    _kernels.CSR_INDPTR_END: "indptr[-1] exceeds the number of stored entries",
    _kernels.CSR_INDEX_RANGE: "column index {index} at entry {w} is outside [0, {n_cols})",
}


def csr(g, name):
    """A scipy.sparse matrix as checked, canonical CSR arrays of its own shape: (indptr, indices, data, n_rows,
    n_cols).

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
    return indptr, indices, data, shape[0], shape[1]


def is_sparse(g):
    """A scipy.sparse matrix or array (scipy is imported only for what is not an ndarray)."""
    if isinstance(g, np.ndarray):
        return False
    import scipy.sparse as sp
    return sp.issparse(g)


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


def slot(s, p, name):
    """A state buffer of parameter p: p's dtype and shape, C-contiguous, aligned and writeable (an ndarray, or
    a CPU torch tensor's memory)."""
    s = torch_array(s, name)
    if not isinstance(s, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(s).__name__}")
    if s.dtype != p.dtype:
        raise TypeError(f"{name} has dtype {dtype_name(s.dtype)} but its parameter is {p.dtype}")
    if s.shape != p.shape:
        raise ValueError(f"{name} has shape {s.shape} but its parameter has shape {p.shape}")
    if not (s.flags.c_contiguous and s.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned: it is updated in place")
    if not s.flags.writeable:
        raise ValueError(f"{name} is read-only: it is updated in place")
    return s


def hyperparameter(name, value):
    """A hyperparameter as a float within its range (HYPERPARAMETER_RANGES)."""
    return HYPERPARAMETER_RANGES[name].checked(name, value)


def hyperparameters(rule, given, form=None):
    """The defaults of the rule's form (its survey form when form is None) overridden by the given values, each
    checked; unknown names are a TypeError."""
    defaults = rule.defaults if form is None else form.defaults
    unknown = set(given) - set(defaults)
    if unknown:
        where = "" if form is None or form.convention == "survey" else f" with convention={form.convention!r}"
        raise TypeError(f"{rule.class_name}{where} got unknown hyperparameter(s) {sorted(unknown)}; "
                        f"it takes {list(defaults)}")
    # The defaults are valid (tests/test_errors.py and test_conventions.py check them).
    return {**defaults, **check(HYPERPARAMETER_RANGES, given)}
