# cython: language_level=3, boundscheck=False, wraparound=False
"""Cython glue between the Python API and csrc/: array -> pointer, GIL released around every kernel.

Nothing here validates: gdfast/_validate.py checks every array (dtype, shape, contiguity, writability,
overlap) before an object of this module sees it, and the kernels trust what they get.
"""
from libc.stdint cimport int32_t, int64_t, uint64_t
from libc.stdlib cimport malloc, free
cimport cython
cimport numpy as cnp
from cpython.pythread cimport (NOWAIT_LOCK, WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock,
                               PyThread_free_lock, PyThread_release_lock, PyThread_type_lock)

cnp.import_array()

RULE_NAMES = tuple(gd_rule_name(r).decode() for r in range(GD_N_RULES))
RULE_SLOTS = tuple(gd_rule_slots(r) for r in range(GD_N_RULES))
RULE_CATCH_UP = tuple(gd_rule_catch_up(r).decode() for r in range(GD_N_RULES))
# Every kernel (csrc/kernels.def): the rules above, then the frameworks' forms (csrc/variants.def).
KERNEL_NAMES = tuple(gd_rule_name(r).decode() for r in range(GD_N_KERNELS))
KERNEL_SLOTS = tuple(gd_rule_slots(r) for r in range(GD_N_KERNELS))
KERNEL_CATCH_UP = tuple(gd_rule_catch_up(r).decode() for r in range(GD_N_KERNELS))


def openmp_enabled():
    """True when the extension was built with OpenMP."""
    return bool(gd_openmp_enabled())


def get_num_threads():
    """Threads the kernels may use (OpenMP's max threads; 1 in a serial build)."""
    return gd_get_num_threads()


def set_num_threads(int n):
    gd_set_num_threads(n)


def get_min_per_thread():
    """Work each thread must get before a dense step forks threads, in SGD-element units (csrc/common.h)."""
    return gd_get_min_per_thread()


def set_min_per_thread(int64_t n):
    """Tuning, tests and benchmarks only: change the fork threshold of dense steps for this process."""
    gd_set_min_per_thread(n)


def overlapping_pair(list arrays):
    """Indices (i, j) of two contiguous ndarrays sharing a byte, or None (empty arrays share nothing)."""
    spans = sorted((<size_t>cnp.PyArray_DATA(a), <size_t>cnp.PyArray_NBYTES(a), i)
                   for i, a in enumerate(arrays) if cnp.PyArray_NBYTES(<cnp.ndarray?>a))
    for (start, size, i), (next_start, _, j) in zip(spans, spans[1:]):
        if start + size > next_start:
            return i, j
    return None


@cython.auto_pickle(False)  # nothing ships one: a pickled optimizer rebuilds it from its hyperparameters
cdef class Hyperparameters:
    """The hyperparameters of a kernel call, the fields of gd_hyper (csrc/common.h) but the step number, built once
    from the rule's values (gdfast.optim._registry.kernel_arguments) so that a call fills a struct instead of
    parsing twelve numbers. Read-only: an optimizer builds a new one when a hyperparameter changes.

    lr, gamma, beta1, beta2, eps, beta, lambda1, lambda2: the rule's (0 where the rule has none; the last three
    are FTRL-Proximal's). mu, mu_next, mu_product: Nadam's momentum schedule at the step (mu_t, mu_{t+1},
    mu_1...mu_t), 0 for every other kernel. grad_scale, clip_value: gradient clipping's, the factor of the
    global norm (1: none) and the bound on each coordinate (inf: none). weight_decay, decoupled: the weight
    decay lambda (0: none), coupled (g + lambda theta) or decoupled (theta (1 - lr lambda) before the step).
    The step number t is not held here: every entry point takes it as its own argument, since it changes each
    call.
    """
    cdef readonly double lr, gamma, beta1, beta2, eps, mu, mu_next, mu_product, beta, lambda1, lambda2
    cdef readonly double grad_scale, clip_value, weight_decay
    cdef readonly bint decoupled

    def __cinit__(self, *, double lr=0.0, double gamma=0.0, double beta1=0.0, double beta2=0.0, double eps=0.0,
                  double mu=0.0, double mu_next=0.0, double mu_product=0.0, double beta=0.0, double lambda1=0.0,
                  double lambda2=0.0, double grad_scale=1.0, double clip_value=float("inf"),
                  double weight_decay=0.0, bint decoupled=False):
        self.lr, self.gamma, self.beta1, self.beta2, self.eps = lr, gamma, beta1, beta2, eps
        self.mu, self.mu_next, self.mu_product = mu, mu_next, mu_product
        self.beta, self.lambda1, self.lambda2 = beta, lambda1, lambda2
        self.grad_scale, self.clip_value = grad_scale, clip_value
        self.weight_decay, self.decoupled = weight_decay, decoupled

    def __repr__(self):
        names = ["lr", "gamma", "beta1", "beta2", "eps"]
        if self.mu or self.mu_next or self.mu_product:  # Nadam's schedule, shown only where it is used
            names += ["mu", "mu_next", "mu_product"]
        if self.beta or self.lambda1 or self.lambda2:  # FTRL's, shown only where they are set
            names += ["beta", "lambda1", "lambda2"]
        if self.grad_scale != 1 or self.clip_value != float("inf"):  # clipping's, shown only where set
            names += ["grad_scale", "clip_value"]
        if self.weight_decay:  # weight decay's, shown only where set
            names += ["weight_decay", "decoupled"]
        return "Hyperparameters(" + ", ".join(f"{name}={getattr(self, name)!r}" for name in names) + ")"


cdef inline gd_hyper _at_step(Hyperparameters hyper, int64_t t):
    """The struct of hyper's values and the step number t, on the caller's stack (the object stays as built)."""
    cdef gd_hyper h
    h.lr, h.gamma, h.beta1, h.beta2, h.eps, h.t = hyper.lr, hyper.gamma, hyper.beta1, hyper.beta2, hyper.eps, t
    h.mu, h.mu_next, h.mu_product = hyper.mu, hyper.mu_next, hyper.mu_product
    h.beta, h.lambda1, h.lambda2 = hyper.beta, hyper.lambda1, hyper.lambda2
    h.grad_scale, h.clip_value = hyper.grad_scale, hyper.clip_value
    h.weight_decay, h.decoupled = hyper.weight_decay, hyper.decoupled
    return h


def rows_coalesce(cnp.ndarray rows, cnp.ndarray values):
    """(distinct rows int64, their summed values) of a row-sparse gradient, in the order of first occurrence:
    rows contiguous 1-D int32/int64 within the parameter, values contiguous (len(rows), ...) float32/float64
    (checked by the caller)."""
    cdef int64_t n = cnp.PyArray_DIM(rows, 0)
    cdef int64_t row_size = cnp.PyArray_SIZE(values) // n if n else 0
    cdef cnp.ndarray out_rows = cnp.PyArray_EMPTY(1, [n], cnp.NPY_INT64, 0)
    cdef cnp.ndarray out_values = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(values), cnp.PyArray_DIMS(values),
                                                    cnp.PyArray_TYPE(values), 0)
    cdef int is_double = cnp.PyArray_TYPE(values) == cnp.NPY_FLOAT64
    cdef int rows_is_64 = cnp.PyArray_TYPE(rows) == cnp.NPY_INT64
    cdef const void *r = cnp.PyArray_DATA(rows)
    cdef const void *v = cnp.PyArray_DATA(values)
    cdef int64_t *o_r = <int64_t *>cnp.PyArray_DATA(out_rows)
    cdef void *o_v = cnp.PyArray_DATA(out_values)
    cdef int64_t distinct
    with nogil:
        distinct = gd_rows_coalesce(is_double, r, rows_is_64, v, n, row_size, o_r, o_v)
    if distinct < 0:
        raise MemoryError("rows_coalesce: no memory for the row table")
    return out_rows[:distinct], out_values[:distinct]


def sum_squares(cnp.ndarray x):
    """The sum of squares of a contiguous float32/float64 array's elements, in double, the same on any number of
    threads (gradient clipping's global norm, gd_sum_squares)."""
    cdef const void *data = cnp.PyArray_DATA(x)
    cdef int64_t n = cnp.PyArray_SIZE(x)
    cdef int is_double = cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT64
    cdef double total
    with nogil:
        total = gd_sum_squares(is_double, data, n)
    if total < 0:
        raise MemoryError("sum_squares: no memory for the block sums")
    return total


cdef class StepCounter:
    """An optimizer's step count t and the lock that serializes its steps: taken in C by the fast path
    (DenseBatch.counted_step), with ``with`` by the other paths. Waiting for it releases the GIL, so that
    the thread holding it, in a kernel or in Python, can finish its step."""
    cdef public int64_t t
    cdef PyThread_type_lock lock

    def __cinit__(self):
        self.lock = PyThread_allocate_lock()
        if self.lock == NULL:
            raise MemoryError("StepCounter: no lock")

    def __dealloc__(self):
        if self.lock != NULL:
            PyThread_free_lock(self.lock)

    cdef void take(self):
        if not PyThread_acquire_lock(self.lock, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self.lock, WAIT_LOCK)

    cdef void give(self):
        PyThread_release_lock(self.lock)

    def __enter__(self):
        self.take()
        return self

    def __exit__(self, *exc):
        self.give()
        return False


cdef class DenseBatch:
    """Parameters and their state buffers stepped together by one C call.

    Pointers to the parameters and slots are taken once, here; the arrays are kept alive by this object.
    ``groups``: the param group of each array, in [0, n_groups) (None: all in the one group). ``step`` takes
    the gradients (validated, C-contiguous, same dtype and shapes), the hyperparameters (one Hyperparameters,
    or a tuple of one per group) and the step number.
    """
    cdef int rule, is_double, type_num
    cdef list params
    cdef list keep_alive
    cdef gd_dense_batch batch
    cdef int64_t *size
    cdef void **param
    cdef const void **grad
    cdef void **slots
    cdef int64_t *group
    cdef gd_hyper *rows  # a step's hyperparameters, one row per group
    cdef Py_ssize_t n_spans
    cdef char **span_start  # byte ranges written by a step (params and slots), sorted and disjoint
    cdef char **span_end

    def __cinit__(self, int rule, list params, list states, groups=None, int64_t n_groups=1):
        cdef Py_ssize_t n = len(params), i, k
        cdef int n_slots = gd_rule_slots(rule)
        if n_slots < 0 or len(states) != n:
            raise ValueError("DenseBatch: unknown rule or states not one tuple per param")
        groups = [0] * n if groups is None else [int(k) for k in groups]
        if len(groups) != n or n_groups < 1 or any(not 0 <= k < n_groups for k in groups):
            raise ValueError("DenseBatch: groups must be one index in [0, n_groups) per param")
        self.rule = rule
        self.type_num = cnp.PyArray_TYPE(<cnp.ndarray?>params[0]) if n else cnp.NPY_FLOAT
        self.is_double = self.type_num == cnp.NPY_DOUBLE
        self.params = params
        self.keep_alive = [params, states]
        self.size = <int64_t *>malloc(max(n, 1) * sizeof(int64_t))
        self.param = <void **>malloc(max(n, 1) * sizeof(void *))
        self.grad = <const void **>malloc(max(n, 1) * sizeof(void *))
        self.slots = <void **>malloc(max(n * n_slots, 1) * sizeof(void *))
        self.group = <int64_t *>malloc(max(n, 1) * sizeof(int64_t))
        self.batch.n_groups = n_groups
        self.rows = <gd_hyper *>malloc(self.batch.n_groups * sizeof(gd_hyper))
        if not (self.size and self.param and self.grad and self.slots and self.group and self.rows):
            raise MemoryError()
        for i in range(n):
            self.size[i] = cnp.PyArray_SIZE(<cnp.ndarray?>params[i])
            self.param[i] = cnp.PyArray_DATA(<cnp.ndarray?>params[i])
            self.group[i] = groups[i]
            for k in range(n_slots):
                self.slots[k * n + i] = cnp.PyArray_DATA(<cnp.ndarray?>states[i][k])
        self.batch.n_arrays = n
        self.batch.size = self.size
        self.batch.param = self.param
        self.batch.grad = self.grad
        self.batch.group = self.group if self.batch.n_groups > 1 else NULL
        for k in range(GD_MAX_SLOTS):
            self.batch.slot[k] = &self.slots[k * n] if k < n_slots else NULL
        self._index_written_spans(params + [s for slots in states for s in slots])

    cdef _index_written_spans(self, list arrays):
        spans = sorted((<size_t>cnp.PyArray_DATA(a), <size_t>cnp.PyArray_NBYTES(a)) for a in arrays
                       if cnp.PyArray_NBYTES(a))
        self.span_start = <char **>malloc(max(len(spans), 1) * sizeof(char *))
        self.span_end = <char **>malloc(max(len(spans), 1) * sizeof(char *))
        if not (self.span_start and self.span_end):
            raise MemoryError()
        self.n_spans = len(spans)
        for i, (start, size) in enumerate(spans):
            self.span_start[i] = <char *><size_t>start
            self.span_end[i] = <char *><size_t>start + <size_t>size

    def __dealloc__(self):
        free(self.size)
        free(self.group)
        free(self.rows)
        free(self.param)
        free(<void *>self.grad)
        free(self.slots)
        free(self.span_start)
        free(self.span_end)

    cdef bint _writes_into(self, cnp.ndarray a):
        """Whether a step writes a byte of a (contiguous): binary search of the sorted written spans."""
        cdef char *start = <char *>cnp.PyArray_DATA(a)
        cdef char *end = start + cnp.PyArray_NBYTES(a)
        cdef Py_ssize_t lo = 0, hi = self.n_spans, mid
        if start == end:
            return False
        while lo < hi:  # the last span starting before end
            mid = (lo + hi) // 2
            if self.span_start[mid] < end:
                lo = mid + 1
            else:
                hi = mid
        return lo > 0 and self.span_end[lo - 1] > start

    def aliased(self, list grads):
        """Index of the first gradient sharing a byte with a param or slot of this batch (a step writes
        those while reading the gradient), or -1. Gradients must be contiguous ndarrays."""
        cdef Py_ssize_t i
        for i in range(len(grads)):
            if self._writes_into(<cnp.ndarray?>grads[i]):
                return i
        return -1

    def ready(self, list grads):
        """True when every gradient can go to the kernel as it is: a plain ndarray of its param's dtype
        (native byte order) and shape, C-contiguous, aligned, sharing no byte with what the step writes.
        A fast path only: where it says False, gdfast._validate checks each gradient and names the fault."""
        return self._ready(grads)

    cdef bint _ready(self, list grads):
        cdef Py_ssize_t i, d
        cdef cnp.ndarray g, p
        if len(grads) != self.batch.n_arrays:
            return False
        for i in range(self.batch.n_arrays):
            if type(grads[i]) is not cnp.ndarray:
                return False
            g, p = <cnp.ndarray>grads[i], <cnp.ndarray>self.params[i]
            if (cnp.PyArray_TYPE(g) != self.type_num or not cnp.PyArray_ISNOTSWAPPED(g)
                    or not (cnp.PyArray_IS_C_CONTIGUOUS(g) and cnp.PyArray_ISALIGNED(g))
                    or cnp.PyArray_NDIM(g) != cnp.PyArray_NDIM(p)):
                return False
            for d in range(cnp.PyArray_NDIM(g)):
                if cnp.PyArray_DIM(g, d) != cnp.PyArray_DIM(p, d):
                    return False
            if self._writes_into(g):
                return False
        return True

    def step(self, list grads, hyper, int64_t t):
        """Step t (counting from 1) of every param from its gradient, with hyper's hyperparameters (one
        Hyperparameters, or a tuple of one per group)."""
        if len(grads) != self.batch.n_arrays:
            raise ValueError("DenseBatch.step: one gradient per param")
        self._step(grads, hyper, t)

    cdef int _step(self, list grads, hyper, int64_t t) except -1:
        cdef Py_ssize_t i
        cdef int code
        if type(hyper) is Hyperparameters and self.batch.n_groups == 1:
            self.rows[0] = _at_step(<Hyperparameters>hyper, t)
        elif type(hyper) is tuple and len(<tuple>hyper) == self.batch.n_groups:
            for i in range(self.batch.n_groups):
                self.rows[i] = _at_step(<Hyperparameters?>(<tuple>hyper)[i], t)
        else:
            raise TypeError(f"DenseBatch.step: hyper must be one Hyperparameters per group "
                            f"({self.batch.n_groups}), a tuple where there are several")
        for i in range(self.batch.n_arrays):
            self.grad[i] = cnp.PyArray_DATA(<cnp.ndarray>grads[i])
        with nogil:
            code = gd_dense_step(self.rule, self.is_double, &self.batch, self.rows)
        if code:
            raise MemoryError("DenseBatch.step: no memory for the groups' coefficients")
        return 0

    def counted_step(self, grads, hyper, StepCounter counter not None, set stale):
        """An optimizer's fast path, under its counter's lock: when the gradients (a list, or one ndarray for a
        batch of one param) are ready and no parameter is stale (``stale``: the exact sparse mode's, empty),
        step counter.t + 1 and count it; True if it stepped. In C, so that the lock costs no Python call."""
        if type(grads) is cnp.ndarray and self.batch.n_arrays == 1:
            grads = [grads]
        elif type(grads) is not list:
            return False
        counter.take()
        try:
            if len(stale) or not self._ready(<list>grads):
                return False
            self._step(grads, hyper, counter.t + 1)
            counter.t += 1
            return True
        finally:
            counter.give()


# ---- sparse gradients -------------------------------------------------------------------------------------------

EXACT_BLOCK = GD_EXACT_BLOCK  # coordinates per step counter of the exact sparse mode

CSR_OK, CSR_INDPTR_START, CSR_INDPTR_DECREASING, CSR_INDPTR_END, CSR_INDEX_RANGE = (
    GD_CSR_OK, GD_CSR_INDPTR_START, GD_CSR_INDPTR_DECREASING, GD_CSR_INDPTR_END, GD_CSR_INDEX_RANGE)


cdef gd_csr _csr(cnp.ndarray indptr, cnp.ndarray indices, cnp.ndarray data, int64_t n_rows, int64_t n_cols):
    cdef gd_csr g
    g.n_rows, g.n_cols = n_rows, n_cols
    g.indptr, g.indices, g.data = cnp.PyArray_DATA(indptr), cnp.PyArray_DATA(indices), cnp.PyArray_DATA(data)
    g.index_is_64 = cnp.PyArray_TYPE(indices) == cnp.NPY_INT64
    return g


def csr_check(cnp.ndarray indptr, cnp.ndarray indices, int64_t n_rows, int64_t n_cols):
    """(code, position, canonical) for a CSR structure: contiguous indptr (n_rows + 1 entries) and indices of
    one integer type, int32 or int64 (checked by the caller)."""
    cdef gd_csr g = _csr(indptr, indices, indices, n_rows, n_cols)
    cdef int64_t where = 0, n_stored = cnp.PyArray_SIZE(indices)
    cdef int canonical = 0, code
    with nogil:
        code = gd_csr_check(&g, n_stored, &where, &canonical)
    return code, where, bool(canonical)


def index_check(cnp.ndarray indices, int64_t bound):
    """(position of the first index outside [0, bound) or -1, strictly increasing) for a contiguous 1-D int32 or
    int64 array (checked by the caller)."""
    cdef int64_t where = -1
    cdef int increasing = 0, is_64 = cnp.PyArray_TYPE(indices) == cnp.NPY_INT64
    cdef const void *data = cnp.PyArray_DATA(indices)
    cdef int64_t n = cnp.PyArray_SIZE(indices)
    with nogil:
        gd_index_check(data, is_64, 0, n, bound, &where, &increasing)
    return where, bool(increasing)


def inv_bias_table(double beta, int64_t n):
    """[1 / (1 - beta^s) for s = 1..n], computed as the dense step computes it (csrc/common.h)."""
    cdef cnp.ndarray[double, ndim=1] out = cnp.PyArray_EMPTY(1, [n], cnp.NPY_DOUBLE, 0)
    cdef int64_t s
    for s in range(n):
        out[s] = gd_inv_bias(beta, s + 1)
    return out


cdef class SparseState:
    """The exact sparse mode's bookkeeping for one parameter (gd_exact), or the lazy mode when last is None."""
    cdef gd_exact exact
    cdef bint lazy
    cdef object keep_alive

    def __cinit__(self, last, int64_t synced_at, cnp.ndarray inv_bias1, cnp.ndarray inv_bias2):
        self.lazy = last is None
        self.keep_alive = (last, inv_bias1, inv_bias2)
        if not self.lazy:
            self.exact.last = <int64_t *>cnp.PyArray_DATA(<cnp.ndarray?>last)
        self.exact.synced_at = synced_at
        self.exact.inv_bias1 = <const double *>cnp.PyArray_DATA(inv_bias1)
        self.exact.inv_bias2 = <const double *>cnp.PyArray_DATA(inv_bias2)
        self.exact.n_bias = min(cnp.PyArray_SIZE(inv_bias1), cnp.PyArray_SIZE(inv_bias2))


cdef void _slot_pointers(tuple slots, void **out):
    cdef int k
    for k in range(GD_MAX_SLOTS):
        out[k] = cnp.PyArray_DATA(<cnp.ndarray?>slots[k]) if k < len(slots) else NULL


def sparse_step(int rule, cnp.ndarray param, tuple slots, cnp.ndarray indptr, cnp.ndarray indices,
                cnp.ndarray data, int64_t n_rows, int64_t n_cols, Hyperparameters hyper not None, int64_t t,
                SparseState state):
    """Step t on the coordinates of a checked, canonical CSR gradient (see gd_sparse_step)."""
    cdef void *slot_ptrs[GD_MAX_SLOTS]
    cdef gd_csr g = _csr(indptr, indices, data, n_rows, n_cols)
    cdef gd_hyper h = _at_step(hyper, t)
    cdef const gd_exact *exact = NULL if state.lazy else &state.exact
    cdef int is_double = cnp.PyArray_TYPE(param) == cnp.NPY_DOUBLE
    _slot_pointers(slots, slot_ptrs)
    with nogil:
        gd_sparse_step(rule, is_double, cnp.PyArray_DATA(param), slot_ptrs, &g, &h, exact)


def rows_step(int rule, cnp.ndarray param, tuple slots, cnp.ndarray rows, cnp.ndarray values,
              Hyperparameters hyper not None, int64_t t, SparseState state):
    """Step t on the rows of a checked, canonical row-sparse gradient (see gd_rows_step)."""
    cdef void *slot_ptrs[GD_MAX_SLOTS]
    cdef gd_rows g
    cdef gd_hyper h = _at_step(hyper, t)
    cdef const gd_exact *exact = NULL if state.lazy else &state.exact
    cdef int is_double = cnp.PyArray_TYPE(param) == cnp.NPY_DOUBLE
    g.n_rows = cnp.PyArray_DIM(param, 0)
    g.n_used = cnp.PyArray_SIZE(rows)
    g.row_size = cnp.PyArray_SIZE(values) // g.n_used if g.n_used else 0
    g.rows, g.values = cnp.PyArray_DATA(rows), cnp.PyArray_DATA(values)
    g.rows_is_64 = cnp.PyArray_TYPE(rows) == cnp.NPY_INT64
    _slot_pointers(slots, slot_ptrs)
    with nogil:
        gd_rows_step(rule, is_double, cnp.PyArray_DATA(param), slot_ptrs, &g, &h, exact)


def catch_up(int rule, cnp.ndarray param, tuple slots, Hyperparameters hyper not None, int64_t t,
             SparseState state):
    """Exact mode: bring every coordinate of param up to step t."""
    cdef void *slot_ptrs[GD_MAX_SLOTS]
    cdef gd_hyper h = _at_step(hyper, t)
    cdef int is_double = cnp.PyArray_TYPE(param) == cnp.NPY_DOUBLE
    if state.lazy:
        raise ValueError("catch_up needs the exact mode's counters")
    _slot_pointers(slots, slot_ptrs)
    with nogil:
        gd_catch_up(rule, is_double, cnp.PyArray_DATA(param), slot_ptrs, cnp.PyArray_SIZE(param), &h,
                    &state.exact)


# ---- linear models ----------------------------------------------------------------------------------------------

LOSSES = {"squared": GD_LOSS_SQUARED, "logistic": GD_LOSS_LOGISTIC, "hinge": GD_LOSS_HINGE,
          "softmax": GD_LOSS_SOFTMAX, "perceptron": GD_LOSS_PERCEPTRON, "squared_hinge": GD_LOSS_SQUARED_HINGE,
          "modified_huber": GD_LOSS_MODIFIED_HUBER, "huber": GD_LOSS_HUBER,
          "epsilon_insensitive": GD_LOSS_EPSILON_INSENSITIVE,
          "squared_epsilon_insensitive": GD_LOSS_SQUARED_EPSILON_INSENSITIVE}


def loss_value(int loss, double z, double y, double epsilon=0.0):
    """(L(z, y), dL/dz) of one output for a loss of LOSSES other than softmax (csrc/losses.h)."""
    cdef double dz = 0
    cdef double value = gd_loss_value(loss, z, y, epsilon, &dz)
    return value, dz


cdef class LinearData:
    """Examples for the linear-model kernels (gd_data): a C-contiguous 2-D ndarray or checked canonical CSR
    arrays, the targets (the model's dtype, or int64 classes for several outputs) and the examples' weights
    (float64, n_rows, or None)."""
    cdef gd_data data
    cdef object keep_alive

    def __cinit__(self, X, cnp.ndarray y, int64_t n_rows, int64_t n_features, cnp.ndarray weight=None):
        self.keep_alive = (X, y, weight)
        self.data.n_rows, self.data.n_features = n_rows, n_features
        self.data.y = cnp.PyArray_DATA(y)
        self.data.weight = NULL
        if weight is not None:
            self.data.weight = <const double *>cnp.PyArray_DATA(weight)
        if isinstance(X, cnp.ndarray):
            self.data.dense = cnp.PyArray_DATA(X)
        else:
            indptr, indices, data = X
            self.data.dense = NULL
            self.data.csr = _csr(indptr, indices, data, n_rows, n_features)

    @property
    def n_rows(self):
        return self.data.n_rows


def _check_loop_kernel(int rule):
    """The C epoch loops step t and lr themselves: a kernel whose per-step scalars need a running product kept by
    the optimizer (Nadam's momentum schedule) cannot run there."""
    if rule == GD_RULE_nadam_schedule:
        raise ValueError("Nadam with the torch or keras convention (a momentum schedule whose running product the "
                         "optimizer keeps per step) cannot run in the C training loops; use convention='survey' "
                         "or 'optax', or step the optimizer yourself")


MAX_THREADS = GD_MAX_THREADS
MAX_SLOTS = GD_MAX_SLOTS


cdef class LinearModel:
    """A model's arrays for the C epoch loop (gd_model): W (n_features x K), b (K), their state slots and one
    scratch set per thread (dicts of the buffers linear.h lists; "table" an int32 array of a power-of-two size),
    pointers taken once; with l1 > 0, l1_u (one float64) and, for the fixed-rate rules, l1_q (like W); with
    averaging, avg_w, avg_b (like W and b) and, on CSR data, avg_stamp (n_features int64); with w_scale (one
    float64), SGD's scaled W is left scaled between calls (linear.h: gd_model.w_scale); clip_norm > 0: each step's
    gradient scaled to that global norm at most (0: none); for Hogwild!'s hot
    features, hot_bits (n_features bits, uint64 words), hot_slot (n_features int32) and hot_features (int64). All of one dtype, C-contiguous, checked by
    the caller."""
    cdef gd_model model
    cdef object keep_alive

    def __cinit__(self, int rule, int loss, cnp.ndarray w, cnp.ndarray b, tuple w_slots, tuple b_slots,
                  list scratch, bint fit_intercept, double intercept_scale, hot_bits=None, hot_slot=None,
                  hot_features=None,
                  int64_t merge_every=1, double epsilon=0.0, double l1=0.0, l1_u=None, l1_q=None,
                  avg_w=None, avg_b=None, avg_stamp=None, int64_t avg_start=1, w_scale=None,
                  double clip_norm=0.0):
        cdef int t
        self.keep_alive = (w, b, w_slots, b_slots, scratch, hot_bits, hot_slot, hot_features, l1_u, l1_q, avg_w,
                           avg_b, avg_stamp, w_scale)
        self.model.w_scale = NULL if w_scale is None else <double *>cnp.PyArray_DATA(<cnp.ndarray?>w_scale)
        self.model.l1, self.model.avg_start = l1, avg_start
        self.model.l1_u = NULL if l1_u is None else <double *>cnp.PyArray_DATA(<cnp.ndarray?>l1_u)
        self.model.l1_q = NULL if l1_q is None else cnp.PyArray_DATA(<cnp.ndarray?>l1_q)
        self.model.avg_w = NULL if avg_w is None else cnp.PyArray_DATA(<cnp.ndarray?>avg_w)
        self.model.avg_b = NULL if avg_b is None else cnp.PyArray_DATA(<cnp.ndarray?>avg_b)
        self.model.avg_stamp = NULL if avg_stamp is None else <int64_t *>cnp.PyArray_DATA(<cnp.ndarray?>avg_stamp)
        self.model.rule, self.model.loss, self.model.fit_intercept = rule, loss, fit_intercept
        self.model.intercept_scale, self.model.epsilon = intercept_scale, epsilon
        self.model.clip_norm = clip_norm
        self.model.is_double = cnp.PyArray_TYPE(w) == cnp.NPY_DOUBLE
        self.model.n_outputs = cnp.PyArray_SIZE(b)
        self.model.w, self.model.b = cnp.PyArray_DATA(w), cnp.PyArray_DATA(b)
        _slot_pointers(w_slots, self.model.w_slots)
        _slot_pointers(b_slots, self.model.b_slots)
        self.model.n_threads = len(scratch)
        self.model.n_hot = 0 if hot_features is None else cnp.PyArray_SIZE(<cnp.ndarray?>hot_features)
        self.model.hot_bits = NULL if hot_bits is None else <const uint64_t *>cnp.PyArray_DATA(<cnp.ndarray?>hot_bits)
        self.model.hot_slot = NULL if hot_slot is None else <const int32_t *>cnp.PyArray_DATA(<cnp.ndarray?>hot_slot)
        self.model.hot_features = (NULL if hot_features is None else
                                   <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray?>hot_features))
        self.model.merge_every = merge_every
        self.model.scratch = <gd_scratch *>malloc(len(scratch) * sizeof(gd_scratch))
        if self.model.scratch == NULL:
            raise MemoryError()
        for t, buffers in enumerate(scratch):
            self.model.scratch[t].grad_w = cnp.PyArray_DATA(buffers["grad_w"])
            self.model.scratch[t].grad_b = cnp.PyArray_DATA(buffers["grad_b"])
            self.model.scratch[t].z = cnp.PyArray_DATA(buffers["z"])
            self.model.scratch[t].dz = cnp.PyArray_DATA(buffers["dz"])
            self.model.scratch[t].values = cnp.PyArray_DATA(buffers["values"])
            self.model.scratch[t].touched = <int64_t *>cnp.PyArray_DATA(buffers["touched"])
            self.model.scratch[t].table = <int32_t *>cnp.PyArray_DATA(buffers["table"])
            self.model.scratch[t].table_bits = (cnp.PyArray_SIZE(buffers["table"]) - 1).bit_length()
            self.model.scratch[t].rng = <uint64_t *>cnp.PyArray_DATA(buffers["rng"])
            self.model.scratch[t].replica = cnp.PyArray_DATA(buffers["replica"])

    def __dealloc__(self):
        free(self.model.scratch)

    def epoch(self, LinearData data, cnp.ndarray order, int64_t batch_size, double alpha,
              Hyperparameters hyper not None, int64_t t, cnp.ndarray lr_steps, cnp.ndarray noise_sd):
        """One epoch over data.order (int64) in batches: steps t + 1, ... with hyper's hyperparameters, lr_steps[s]
        and noise_sd[s] (float64, one per step, n_order / batch_size + threads of them). Returns (sum of the
        example losses, steps taken)."""
        cdef gd_hyper h = _at_step(hyper, t)
        cdef double total
        cdef int64_t n_steps = 0
        cdef const int64_t *order_ptr = <const int64_t *>cnp.PyArray_DATA(order)
        cdef int64_t n_order = cnp.PyArray_SIZE(order)
        cdef const double *lr_ptr = <const double *>cnp.PyArray_DATA(lr_steps)
        cdef const double *noise_ptr = <const double *>cnp.PyArray_DATA(noise_sd)
        _check_loop_kernel(self.model.rule)
        with nogil:
            total = gd_train_epoch(&self.model, &data.data, order_ptr, n_order, batch_size, alpha, &h, lr_ptr,
                                   noise_ptr, &n_steps)
        return total, n_steps

    def loss_gradient(self, LinearData data, cnp.ndarray out, grad_w=None, grad_b=None, rows=None):
        """Per-example losses into out (float64, one per example) and, with grad_w and grad_b, the mean gradient;
        of the examples rows (int64, each in [0, n_rows), checked by the caller), or of every one."""
        cdef void *gw = NULL if grad_w is None else cnp.PyArray_DATA(<cnp.ndarray?>grad_w)
        cdef void *gb = NULL if grad_b is None else cnp.PyArray_DATA(<cnp.ndarray?>grad_b)
        cdef double *out_ptr = <double *>cnp.PyArray_DATA(out)
        cdef const int64_t *rows_ptr = NULL if rows is None else <const int64_t *>cnp.PyArray_DATA(<cnp.ndarray?>rows)
        cdef int64_t n = data.data.n_rows if rows is None else cnp.PyArray_SIZE(<cnp.ndarray?>rows)
        if cnp.PyArray_SIZE(out) != n:
            raise ValueError(f"out must have one entry per example ({n}), got {cnp.PyArray_SIZE(out)}")
        with nogil:
            gd_loss_gradient(&self.model, &data.data, rows_ptr, n, out_ptr, gw, gb)


cdef class PlainSGD:
    """scikit-learn's SGD over one weight vector (csrc/plain_sgd.h): the settings (a dict of gd_plain_sgd's
    fields) and the state of one fit, its arrays w (the weights, written in place), aw (the average, or None) and
    q (the L1 record, or None), 1-D, of one dtype, C-contiguous, checked by the caller."""
    cdef gd_plain_sgd c
    cdef gd_plain_state s
    cdef int is_double
    cdef int64_t n_features
    cdef object keep_alive

    def __cinit__(self, dict settings, cnp.ndarray w, aw, q, double intercept, double average_intercept,
                  double t, double sq_norm, double l1_norm):
        self.c = settings
        self.keep_alive = (w, aw, q)
        self.is_double = cnp.PyArray_TYPE(w) == cnp.NPY_DOUBLE
        self.n_features = cnp.PyArray_SIZE(w)
        self.s.w = cnp.PyArray_DATA(w)
        self.s.aw = NULL if aw is None else cnp.PyArray_DATA(<cnp.ndarray?>aw)
        self.s.q = NULL if q is None else cnp.PyArray_DATA(<cnp.ndarray?>q)
        self.s.wscale, self.s.sq_norm, self.s.l1_norm, self.s.u = 1.0, sq_norm, l1_norm, 0.0
        self.s.average_a, self.s.average_b = 0.0, 1.0
        self.s.eta, self.s.t = self.c.eta0, t
        self.s.intercept, self.s.average_intercept = intercept, average_intercept

    def epoch(self, LinearData data, cnp.ndarray order):
        """One epoch over data's rows order (int64): (sum of the losses, scikit-learn's objective sum)."""
        cdef double objective = 0, total
        cdef const int64_t *order_ptr = <const int64_t *>cnp.PyArray_DATA(order)
        cdef int64_t n_order = cnp.PyArray_SIZE(order)
        with nogil:
            total = gd_plain_sgd_epoch(&self.c, &self.s, &data.data, order_ptr, n_order, self.is_double, &objective)
        return total, objective

    def finish(self):
        """w made the weights (and aw their average): the end of a fit."""
        gd_plain_sgd_finish(&self.s, self.n_features, self.is_double)

    @property
    def wscale(self):
        return self.s.wscale

    @property
    def intercept(self):
        return self.s.intercept

    @property
    def average_intercept(self):
        return self.s.average_intercept

    @property
    def t(self):
        return self.s.t

    @property
    def eta(self):
        return self.s.eta

    @eta.setter
    def eta(self, double value):
        self.s.eta = value


def factorize_epoch(int rule, cnp.ndarray user, tuple user_slots, cnp.ndarray item, tuple item_slots,
                    cnp.ndarray users, cnp.ndarray items, cnp.ndarray ratings, cnp.ndarray user_degree,
                    cnp.ndarray item_degree, cnp.ndarray scratch, int n_threads, cnp.ndarray order, double mu,
                    Hyperparameters hyper not None, int64_t t, cnp.ndarray lr_steps):
    """One Hogwild! epoch of matrix factorization (gd_factorize_epoch), arrays checked by gdfast.hogwild: steps
    t + 1, ... with hyper's hyperparameters and lr_steps[s]. Returns (sum of squared errors, steps)."""
    cdef gd_factors f
    cdef gd_hyper h = _at_step(hyper, t)
    cdef double total
    cdef int64_t n_steps = 0
    cdef const int64_t *order_ptr = <const int64_t *>cnp.PyArray_DATA(order)
    cdef int64_t n_order = cnp.PyArray_SIZE(order)
    cdef const double *lr_ptr = <const double *>cnp.PyArray_DATA(lr_steps)
    _check_loop_kernel(rule)
    f.rule, f.n_threads, f.rank = rule, n_threads, cnp.PyArray_DIM(user, 1)
    f.is_double = cnp.PyArray_TYPE(user) == cnp.NPY_DOUBLE
    f.user, f.item = cnp.PyArray_DATA(user), cnp.PyArray_DATA(item)
    _slot_pointers(user_slots, f.user_slots)
    _slot_pointers(item_slots, f.item_slots)
    f.users, f.items = <const int64_t *>cnp.PyArray_DATA(users), <const int64_t *>cnp.PyArray_DATA(items)
    f.ratings = cnp.PyArray_DATA(ratings)
    f.user_degree = <const double *>cnp.PyArray_DATA(user_degree)
    f.item_degree = <const double *>cnp.PyArray_DATA(item_degree)
    f.scratch = cnp.PyArray_DATA(scratch)
    f.scratch_stride = cnp.PyArray_DIM(scratch, 1)
    with nogil:
        total = gd_factorize_epoch(&f, order_ptr, n_order, mu, &h, lr_ptr, &n_steps)
    return total, n_steps


SVM_OK, SVM_LABEL, SVM_INDEX, SVM_VALUE, SVM_RANGE, SVM_CAPACITY = (
    GD_SVM_OK, GD_SVM_LABEL, GD_SVM_INDEX, GD_SVM_VALUE, GD_SVM_RANGE, GD_SVM_CAPACITY)


def svmlight_parse(bytes text, int64_t n_features, bint zero_based, bint is_double):
    """(code, bad line, y, indptr, indices, data) of svmlight text (whole lines; csrc/svmlight.h), the arrays cut
    to what was parsed; n_features < 2^31 (checked by the caller). The buffers are sized by counting newlines
    and colons, so they suffice unless the entries pass int32's range (SVM_CAPACITY)."""
    cdef int64_t n = len(text), cap_rows = text.count(b"\n") + 1
    cdef int64_t cap_nnz = min(text.count(b":"), 2**31 - 1)  # int32 indptr: more is SVM_CAPACITY
    cdef int64_t rows = 0, nnz = 0, bad = -1
    cdef int code
    cdef const char *p = text
    cdef cnp.ndarray y = cnp.PyArray_EMPTY(1, [cap_rows], cnp.NPY_DOUBLE, 0)
    cdef cnp.ndarray indptr = cnp.PyArray_EMPTY(1, [cap_rows + 1], cnp.NPY_INT32, 0)
    cdef cnp.ndarray indices = cnp.PyArray_EMPTY(1, [max(cap_nnz, 1)], cnp.NPY_INT32, 0)
    cdef cnp.ndarray data = cnp.PyArray_EMPTY(1, [max(cap_nnz, 1)], cnp.NPY_DOUBLE if is_double else cnp.NPY_FLOAT32, 0)
    with nogil:
        code = gd_svmlight_parse(p, n, n_features, zero_based, is_double, <double *>cnp.PyArray_DATA(y),
                                 <int32_t *>cnp.PyArray_DATA(indptr), <int32_t *>cnp.PyArray_DATA(indices),
                                 cnp.PyArray_DATA(data), cap_rows, cap_nnz, &rows, &nnz, &bad)
    return code, bad, y[:rows], indptr[:rows + 1], indices[:nnz], data[:nnz]
