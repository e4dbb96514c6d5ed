/* The C interface of gdfast's kernels: the only declarations gdfast/_kernels.pxd imports. */
#ifndef GDFAST_KERNELS_H
#define GDFAST_KERNELS_H

#include "common.h"

/* Kernel identifiers, in the order of kernels.def: the survey's rules (rules.def) are 0 .. GD_N_RULES - 1, the
 * frameworks' forms (variants.def) GD_N_RULES .. GD_N_KERNELS - 1. Every entry point below that takes a "rule"
 * takes any kernel. */
typedef enum {
#define GD_RULE(name, n_slots, work, catch_up) GD_RULE_##name,
#include "rules.def"
#undef GD_RULE
    GD_N_RULES,
    GD_VARIANTS_FROM = GD_N_RULES - 1, /* so that the first variant is GD_N_RULES */
#define GD_VARIANT(name, rule, n_slots, work, catch_up) GD_RULE_##name,
#include "variants.def"
#undef GD_VARIANT
    GD_N_KERNELS
} gd_rule;

/* Arrays stepped together by one call: array a has size[a] elements at param[a], its gradient at grad[a] and
 * its state buffers at slot[k][a] (slot[k] is NULL for k at or beyond the rule's number of slots). All arrays
 * of a batch share one floating type. Param groups: array a takes the hyperparameters hyper[group[a]] of a
 * step's n_groups rows, each group[a] in [0, n_groups); group NULL: every array takes hyper[0]. */
typedef struct {
    int64_t n_arrays;
    const int64_t *size;
    void *const *param;
    const void *const *grad;
    void *const *slot[GD_MAX_SLOTS];
    int64_t n_groups;
    const int64_t *group;
} gd_dense_batch;

/* A CSR gradient of one parameter seen as n_rows x n_cols (a 1-D parameter is one row). indptr has n_rows + 1
 * entries and indices, data at least indptr[n_rows]; indices are int32 or int64 (index_is_64), data has the
 * parameter's type. gd_csr_check validates it; the steps need it canonical (no duplicate in a row). */
typedef struct {
    int64_t n_rows, n_cols;
    const void *indptr;
    const void *indices;
    const void *data;
    int index_is_64;
} gd_csr;

/* A row-sparse gradient of a parameter seen as n_rows rows of row_size contiguous elements: parameter row rows[i]
 * gets the gradient values[i * row_size, (i + 1) * row_size) for i < n_used. rows are int32 or int64
 * (rows_is_64), distinct and within the parameter, and increasing for the exact mode (gd_index_check checks
 * range and order); values have the parameter's type. */
typedef struct {
    int64_t n_rows, n_used, row_size;
    const void *rows;
    const void *values;
    int rows_is_64;
} gd_rows;

/* The exact sparse mode's bookkeeping for one parameter. Its coordinates are counted in blocks of
 * GD_EXACT_BLOCK (the last block may be shorter): every coordinate of block b has seen every step up to
 * max(last[b], synced_at). inv_bias1/2[s - 1] = gd_inv_bias(beta, s) for s = 1..n_bias, and 1 beyond (the
 * caller makes the table long enough: up to the step where it reaches 1 exactly). */
#define GD_EXACT_BLOCK 16

GD_INLINE int64_t gd_exact_blocks(int64_t n)
{
    return (n + GD_EXACT_BLOCK - 1) / GD_EXACT_BLOCK;
}

typedef struct {
    int64_t *last;
    int64_t synced_at;
    const double *inv_bias1;
    const double *inv_bias2;
    int64_t n_bias;
} gd_exact;

/* What gd_csr_check found. */
enum {
    GD_CSR_OK = 0,
    GD_CSR_INDPTR_START,      /* indptr[0] != 0 */
    GD_CSR_INDPTR_DECREASING, /* indptr[r + 1] < indptr[r] at r = *where */
    GD_CSR_INDPTR_END,        /* indptr[n_rows] > the number of stored entries */
    GD_CSR_INDEX_RANGE        /* indices[*where] outside [0, n_cols) */
};

/* Check a CSR structure with n_stored entries in indices/data before any kernel reads it. Returns a GD_CSR_*
 * code with its position in *where, and sets *canonical to whether every row's indices strictly increase
 * (sorted, no duplicates). O(nnz), reads only inside the given lengths. */
int gd_csr_check(const gd_csr *g, int64_t n_stored, int64_t *where, int *canonical);

/* Whether indices[lo, hi) (int32 or int64) all lie in [0, bound): 1 with *increasing set to whether they strictly
 * increase (sorted, no duplicates), or 0 with the first index outside at *where. */
int gd_index_check(const void *indices, int is_64, int64_t lo, int64_t hi, int64_t bound, int64_t *where,
                   int *increasing);

/* One in-place step of rule on the coordinates a canonical CSR gradient touches, O(nnz). exact NULL is the lazy
 * mode (untouched coordinates keep parameter and state); otherwise each block holding a touched coordinate
 * first catches up the zero-gradient steps it skipped, then takes this step (a zero gradient on its untouched
 * coordinates) and is marked as seen at step hyper->t. slots: the rule's state buffers. */
int gd_sparse_step(int rule, int is_double, void *param, void *const *slots, const gd_csr *grad,
                   const gd_hyper *hyper, const gd_exact *exact);

/* The same on the rows of a row-sparse gradient, each stepped by the dense loop, O(n_used * row_size). */
int gd_rows_step(int rule, int is_double, void *param, void *const *slots, const gd_rows *grad,
                 const gd_hyper *hyper, const gd_exact *exact);

/* Exact mode: bring every coordinate of an n-element parameter up to step hyper->t (zero-gradient steps). */
int gd_catch_up(int rule, int is_double, void *param, void *const *slots, int64_t n, const gd_hyper *hyper,
                const gd_exact *exact);

/* Number of state buffers a kernel keeps per parameter, or -1 for an unknown kernel. */
int gd_rule_slots(int rule);
/* Name of a kernel as in kernels.def, or NULL. */
const char *gd_rule_name(int rule);
/* How the exact sparse mode catches a kernel up ("none", "closed", "steps", "replay" or "no", see rules.def and
 * variants.def), or NULL. */
const char *gd_rule_catch_up(int rule);

/* One in-place step of rule on every array of the batch, hyper holding a row per group (batch->n_groups, one
 * where batch->group is NULL); is_double selects float64 over float32. Returns 0, or -1 for an unknown rule or
 * no memory for the groups' coefficients (nothing touched). */
int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper);

/* A row-sparse gradient's rows (n, int32 or int64, each >= 0: checked by the caller) made distinct, in the order
 * of their first occurrence: out_rows[k] is the k-th distinct row and out_values[k] (row_size values, float64
 * if is_double) the sum of its values in the order given. Returns the number of distinct rows, or -1 when out
 * of memory (a table of 2n to 4n slots). The outputs have room for n rows. O(n row_size). */
int64_t gd_rows_coalesce(int is_double, const void *rows, int rows_is_64, const void *values, int64_t n,
                         int64_t row_size, int64_t *out_rows, void *out_values);

/* Gradient clipping's global norm: the sum of squares of n elements (float64 if is_double, else float32), in
 * double and the same on any number of threads; -1 when out of memory (n / GD_NORM_BLOCK doubles). */
#define GD_NORM_BLOCK 4096
double gd_sum_squares(int is_double, const void *x, int64_t n);

/* Threads: 1 when built without OpenMP. */
int gd_openmp_enabled(void);
int gd_get_num_threads(void);
void gd_set_num_threads(int n);
/* Work per thread (SGD-element units) below which a dense step stays on one thread (tuning and benchmarks). */
int64_t gd_get_min_per_thread(void);
void gd_set_min_per_thread(int64_t n);

#endif
