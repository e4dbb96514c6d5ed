# The only C/Cython boundary: declarations of csrc/kernels.h.
from libc.stdint cimport int64_t

cdef extern from "kernels.h" nogil:
    enum:
        GD_MAX_SLOTS
        GD_N_RULES

    ctypedef struct gd_hyper:
        double lr, gamma, beta1, beta2, eps
        int64_t t

    ctypedef struct gd_dense_batch:
        int64_t n_arrays
        const int64_t *size
        void *const *param
        const void *const *grad
        void *const *slot[GD_MAX_SLOTS]

    int gd_rule_slots(int rule)
    const char *gd_rule_name(int rule)
    int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper)
    int gd_openmp_enabled()
    int gd_get_num_threads()
    void gd_set_num_threads(int n)
    int64_t gd_get_min_per_thread()
    void gd_set_min_per_thread(int64_t n)
