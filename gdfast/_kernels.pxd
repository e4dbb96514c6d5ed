# The only C/Cython boundary: declarations of csrc/kernels.h.
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from "kernels.h" nogil:
    enum:
        GD_MAX_SLOTS
        GD_MAX_THREADS
        GD_N_RULES
        GD_N_KERNELS
        GD_RULE_nadam_schedule

    ctypedef struct gd_hyper:
        double lr, gamma, beta1, beta2, eps
        int64_t t
        double mu, mu_next, mu_product
        double beta, lambda1, lambda2
        double grad_scale, clip_value
        double weight_decay
        int decoupled

    ctypedef struct gd_dense_batch:
        int64_t n_arrays
        const int64_t *size
        void *const *param
        const void *const *grad
        void *const *slot[GD_MAX_SLOTS]
        int64_t n_groups
        const int64_t *group

    ctypedef struct gd_csr:
        int64_t n_rows, n_cols
        const void *indptr
        const void *indices
        const void *data
        int index_is_64

    ctypedef struct gd_rows:
        int64_t n_rows, n_used, row_size
        const void *rows
        const void *values
        int rows_is_64

    ctypedef struct gd_exact:
        int64_t *last
        int64_t synced_at
        const double *inv_bias1
        const double *inv_bias2
        int64_t n_bias

    enum:
        GD_EXACT_BLOCK

    enum:
        GD_CSR_OK
        GD_CSR_INDPTR_START
        GD_CSR_INDPTR_DECREASING
        GD_CSR_INDPTR_END
        GD_CSR_INDEX_RANGE

    double gd_inv_bias(double beta, int64_t t)
    int gd_csr_check(const gd_csr *g, int64_t n_stored, int64_t *where, int *canonical)
    int gd_sparse_step(int rule, int is_double, void *param, void *const *slots, const gd_csr *grad,
                       const gd_hyper *hyper, const gd_exact *exact)
    int gd_index_check(const void *indices, int is_64, int64_t lo, int64_t hi, int64_t bound, int64_t *where,
                       int *increasing)
    int gd_rows_step(int rule, int is_double, void *param, void *const *slots, const gd_rows *grad,
                     const gd_hyper *hyper, const gd_exact *exact)
    int gd_catch_up(int rule, int is_double, void *param, void *const *slots, int64_t n, const gd_hyper *hyper,
                    const gd_exact *exact)
    int gd_rule_slots(int rule)
    const char *gd_rule_name(int rule)
    const char *gd_rule_catch_up(int rule)
    int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper)
    double gd_sum_squares(int is_double, const void *x, int64_t n)
    int64_t gd_rows_coalesce(int is_double, const void *rows, int rows_is_64, const void *values, int64_t n,
                             int64_t row_size, int64_t *out_rows, void *out_values)
    int gd_openmp_enabled()
    int gd_get_num_threads()
    void gd_set_num_threads(int n)
    int64_t gd_get_min_per_thread()
    void gd_set_min_per_thread(int64_t n)


cdef extern from "linear.h" nogil:
    enum:
        GD_LOSS_SQUARED
        GD_LOSS_LOGISTIC
        GD_LOSS_HINGE
        GD_LOSS_SOFTMAX
        GD_LOSS_PERCEPTRON
        GD_LOSS_SQUARED_HINGE
        GD_LOSS_MODIFIED_HUBER
        GD_LOSS_HUBER
        GD_LOSS_EPSILON_INSENSITIVE
        GD_LOSS_SQUARED_EPSILON_INSENSITIVE

    ctypedef struct gd_data:
        int64_t n_rows, n_features
        const void *dense
        gd_csr csr
        const void *y
        const double *weight

    ctypedef struct gd_scratch:
        void *grad_w
        void *grad_b
        void *z
        void *dz
        void *values
        int64_t *touched
        int32_t *table
        int table_bits
        uint64_t *rng
        void *replica

    ctypedef struct gd_model:
        int rule, loss, is_double, fit_intercept
        double epsilon
        double intercept_scale
        double clip_norm
        int64_t n_outputs
        void *w
        void *b
        void *w_slots[GD_MAX_SLOTS]
        void *b_slots[GD_MAX_SLOTS]
        int n_threads
        double l1
        double *l1_u
        void *l1_q
        void *avg_w
        void *avg_b
        int64_t *avg_stamp
        int64_t avg_start
        int64_t n_hot
        const uint64_t *hot_bits
        const int32_t *hot_slot
        const int64_t *hot_features
        int64_t merge_every
        double *w_scale
        gd_scratch *scratch

    double gd_train_epoch(const gd_model *m, const gd_data *data, const int64_t *order, int64_t n_order,
                          int64_t batch_size, double alpha, const gd_hyper *hyper, const double *lr,
                          const double *noise_sd, int64_t *n_steps)
    int gd_loss_gradient(const gd_model *m, const gd_data *data, const int64_t *rows, int64_t n, double *out,
                         void *grad_w, void *grad_b)
    double gd_loss_value(int loss, double z, double y, double epsilon, double *dz)


cdef extern from "plain_sgd.h" nogil:
    ctypedef struct gd_plain_sgd:
        int loss, penalty, learning_rate, fit_intercept, track_objective
        double epsilon, alpha, l1_ratio, eta0, power_t, optimal_init
        double weight_pos, weight_neg, intercept_decay, average

    ctypedef struct gd_plain_state:
        void *w
        void *aw
        void *q
        double wscale, sq_norm, l1_norm, u, average_a, average_b
        double eta, t, intercept, average_intercept

    double gd_plain_sgd_epoch(const gd_plain_sgd *c, gd_plain_state *s, const gd_data *d, const int64_t *order,
                              int64_t n_order, int is_double, double *objective)
    void gd_plain_sgd_finish(gd_plain_state *s, int64_t n_features, int is_double)


cdef extern from "hogwild.h" nogil:
    ctypedef struct gd_factors:
        int rule, is_double, n_threads
        int64_t rank
        void *user
        void *item
        void *user_slots[GD_MAX_SLOTS]
        void *item_slots[GD_MAX_SLOTS]
        const int64_t *users
        const int64_t *items
        const void *ratings
        const double *user_degree
        const double *item_degree
        void *scratch
        int64_t scratch_stride

    double gd_factorize_epoch(const gd_factors *f, const int64_t *order, int64_t n_order, double mu,
                              const gd_hyper *hyper, const double *lr, int64_t *n_steps)

cdef extern from "svmlight.h" nogil:
    enum:
        GD_SVM_OK
        GD_SVM_LABEL
        GD_SVM_INDEX
        GD_SVM_VALUE
        GD_SVM_RANGE
        GD_SVM_CAPACITY
    int gd_svmlight_parse(const char *text, int64_t n, int64_t n_features, int zero_based, int is_double,
                          double *y, int32_t *indptr, int32_t *indices, void *data, int64_t cap_rows,
                          int64_t cap_nnz, int64_t *rows, int64_t *nnz, int64_t *bad_line)
