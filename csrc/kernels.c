/* The kernels and the linear-model loop, expanded from impl.h and linear_impl.h once for float32 and once for
 * float64, and their typed entry points. */
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "csr.h"
#include "hogwild.h"
#include "linear.h"
#include "losses.h"
#include "plain_sgd.h"
#include "random.h"

static int64_t gd_min_per_thread = GD_MIN_PER_THREAD;

/* The rule each kernel computes (a framework's form: its rule of the survey). */
static const int gd_kernel_rule[] = {
#define GD_RULE(name, n_slots, work, catch_up) GD_RULE_##name,
#include "rules.def"
#undef GD_RULE
#define GD_VARIANT(name, rule, n_slots, work, catch_up) GD_RULE_##rule,
#include "variants.def"
#undef GD_VARIANT
};

static const int64_t gd_rule_work[] = {
#define GD_RULE(name, n_slots, work, catch_up) work,
#include "kernels.def"
#undef GD_RULE
};

/* Threads worth forking for a step of this much work (elements times the rule's work per element):
 * none below gd_min_per_thread units per thread. */
static int gd_threads_for(int64_t work)
{
    int64_t wanted = work / gd_min_per_thread;
    if (wanted < 1) /* before asking OpenMP: a training loop asks this for every small step */
        return 1;
    int64_t available = omp_get_max_threads();
    return (int)(wanted < available ? wanted : available);
}

/* The end of a Hogwild! epoch: the sum of the threads' totals, and in *n_steps the most steps any thread
 * numbered (thread i's k-th step is k * n_threads + i). */
static double gd_threads_total(const double *totals, const int64_t *last_step, int n_threads, int64_t *n_steps)
{
    double total = 0;
    *n_steps = 0;
    for (int t = 0; t < n_threads; ++t) {
        total += totals[t];
        *n_steps = last_step[t] > *n_steps ? last_step[t] : *n_steps;
    }
    return total;
}

#define SFX(name) GD_CAT(name, _f32)
#define REAL float
#define SQRT sqrtf
#define FABS fabsf
#include "impl.h"
#include "linear_impl.h"
#include "plain_sgd_impl.h"
#include "hogwild_impl.h"
#undef SFX
#undef REAL
#undef SQRT
#undef FABS

#define SFX(name) GD_CAT(name, _f64)
#define REAL double
#define SQRT sqrt
#define FABS fabs
#include "impl.h"
#include "linear_impl.h"
#include "plain_sgd_impl.h"
#include "hogwild_impl.h"
#undef SFX
#undef REAL
#undef SQRT
#undef FABS

static const int gd_slot_counts[] = {
#define GD_RULE(name, n_slots, work, catch_up) n_slots,
#include "kernels.def"
#undef GD_RULE
};

static const char *const gd_rule_names[] = {
#define GD_RULE(name, n_slots, work, catch_up) #name,
#include "kernels.def"
#undef GD_RULE
};

static const char *const gd_rule_catch_ups[] = {
#define GD_RULE(name, n_slots, work, catch_up) #catch_up,
#include "kernels.def"
#undef GD_RULE
};

int gd_rule_slots(int rule)
{
    return rule >= 0 && rule < GD_N_KERNELS ? gd_slot_counts[rule] : -1;
}

const char *gd_rule_name(int rule)
{
    return rule >= 0 && rule < GD_N_KERNELS ? gd_rule_names[rule] : NULL;
}

const char *gd_rule_catch_up(int rule)
{
    return rule >= 0 && rule < GD_N_KERNELS ? gd_rule_catch_ups[rule] : NULL;
}

int gd_dense_step(int rule, int is_double, const gd_dense_batch *batch, const gd_hyper *hyper)
{
    if (rule < 0 || rule >= GD_N_KERNELS)
        return -1;
    return is_double ? gd_dense_step_f64(rule, batch, hyper) : gd_dense_step_f32(rule, batch, hyper);
}

double gd_sum_squares(int is_double, const void *x, int64_t n)
{
    int64_t n_blocks = (n + GD_NORM_BLOCK - 1) / GD_NORM_BLOCK;
    double one_block, *block_sums = n_blocks > 1 ? malloc(sizeof(double) * (size_t)n_blocks) : &one_block;
    if (n <= 0)
        return 0;
    if (block_sums == NULL)
        return -1;
    double total = is_double ? gd_sum_squares_f64(x, n, block_sums) : gd_sum_squares_f32(x, n, block_sums);
    if (block_sums != &one_block)
        free(block_sums);
    return total;
}

int gd_sparse_step(int rule, int is_double, void *param, void *const *slots, const gd_csr *grad,
                   const gd_hyper *hyper, const gd_exact *exact)
{
    if (rule < 0 || rule >= GD_N_KERNELS)
        return -1;
    if (is_double)
        gd_sparse_step_f64(rule, param, slots, grad, hyper, exact);
    else
        gd_sparse_step_f32(rule, param, slots, grad, hyper, exact);
    return 0;
}

int gd_rows_step(int rule, int is_double, void *param, void *const *slots, const gd_rows *grad,
                 const gd_hyper *hyper, const gd_exact *exact)
{
    if (rule < 0 || rule >= GD_N_KERNELS)
        return -1;
    if (is_double)
        gd_rows_step_f64(rule, param, slots, grad, hyper, exact);
    else
        gd_rows_step_f32(rule, param, slots, grad, hyper, exact);
    return 0;
}

int gd_catch_up(int rule, int is_double, void *param, void *const *slots, int64_t n, const gd_hyper *hyper,
                const gd_exact *exact)
{
    if (rule < 0 || rule >= GD_N_KERNELS || exact == NULL)
        return -1;
    if (is_double)
        gd_catch_up_f64(rule, param, slots, n, hyper, exact);
    else
        gd_catch_up_f32(rule, param, slots, n, hyper, exact);
    return 0;
}

/* Every row is read once, by the indptr pass (on several threads for a large structure); the index pass
 * visits the used rows only. */
int gd_csr_check(const gd_csr *g, int64_t n_stored, int64_t *where, int *canonical)
{
    const void *indptr = g->indptr;
    int is_64 = g->index_is_64, decreases = 0, unsorted = 0;
    *canonical = 1;
    *where = 0;
    if (gd_index(indptr, is_64, 0) != 0)
        return GD_CSR_INDPTR_START;
#define GD_DECREASES_RANGE(lo, hi)                         \
    if (gd_decreases(g, lo, hi)) {                         \
        GD_PRAGMA(omp atomic write)                        \
        decreases = 1;                                     \
    }
    GD_SPLIT(g->n_rows, gd_threads_for(g->n_rows), GD_DECREASES_RANGE);
#undef GD_DECREASES_RANGE
    if (decreases) {
        while (gd_index(indptr, is_64, *where + 1) >= gd_index(indptr, is_64, *where))
            ++*where;
        return GD_CSR_INDPTR_DECREASING;
    }
    int64_t nnz = gd_index(indptr, is_64, g->n_rows);
    if (nnz > n_stored) {
        *where = g->n_rows;
        return GD_CSR_INDPTR_END;
    }
    for (int64_t p = 0, r = 0; p < nnz;) {
        r = gd_row_from(g, r, p);
        int64_t end = gd_index(indptr, is_64, r + 1);
        int increasing;
        if (!gd_index_check(g->indices, is_64, p, end, g->n_cols, where, &increasing))
            return GD_CSR_INDEX_RANGE;
        unsorted |= !increasing;
        p = end;
    }
    *canonical = !unsorted;
    return GD_CSR_OK;
}

int gd_index_check(const void *indices, int is_64, int64_t lo, int64_t hi, int64_t bound, int64_t *where,
                   int *increasing)
{
    int unsorted = 0;
    if (gd_out_of_range(indices, is_64, lo, hi, bound, &unsorted)) {
        int64_t p = lo, index;
        while ((index = gd_index(indices, is_64, p)) >= 0 && index < bound)
            ++p;
        *where = p;
        return 0;
    }
    *increasing = !unsorted;
    return 1;
}

/* A row index's slot in an open-addressing table of 2^k slots (Fibonacci hashing: ids of an embedding are often
 * consecutive or strided, which a multiplicative hash spreads). */
static int64_t gd_row_slot(int64_t row, int shift)
{
    return (int64_t)(((uint64_t)row * 0x9E3779B97F4A7C15ull) >> shift);
}

int64_t gd_rows_coalesce(int is_double, const void *rows, int rows_is_64, const void *values, int64_t n,
                         int64_t row_size, int64_t *out_rows, void *out_values)
{
    int bits = 1;
    while (((int64_t)1 << bits) < 2 * n)
        ++bits;
    int64_t mask = ((int64_t)1 << bits) - 1, distinct = 0;
    int64_t *keys = malloc(sizeof(int64_t) * (size_t)(mask + 1)), *where = malloc(sizeof(int64_t) * (size_t)(mask + 1));
    if (keys == NULL || where == NULL) {
        free(keys);
        free(where);
        return -1;
    }
    for (int64_t h = 0; h <= mask; ++h)
        keys[h] = -1;
    size_t width = (size_t)row_size * (is_double ? sizeof(double) : sizeof(float));
    for (int64_t i = 0; i < n; ++i) {
        int64_t row = gd_index(rows, rows_is_64, i), h = gd_row_slot(row, 64 - bits);
        while (keys[h] != -1 && keys[h] != row)
            h = (h + 1) & mask;
        if (keys[h] == -1) { /* a new row: its values copied to the next output row */
            keys[h] = row;
            where[h] = distinct;
            out_rows[distinct] = row;
            memcpy((char *)out_values + distinct * width, (const char *)values + i * width, width);
            ++distinct;
        } else if (is_double) { /* a repeat: added to the row's sum, in the order given */
            double *sum = (double *)out_values + where[h] * row_size;
            const double *add = (const double *)values + i * row_size;
            for (int64_t j = 0; j < row_size; ++j)
                sum[j] += add[j];
        } else {
            float *sum = (float *)out_values + where[h] * row_size;
            const float *add = (const float *)values + i * row_size;
            for (int64_t j = 0; j < row_size; ++j)
                sum[j] += add[j];
        }
    }
    free(keys);
    free(where);
    return distinct;
}

int gd_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int gd_get_num_threads(void) { return omp_get_max_threads(); }

void gd_set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : 1); }

int64_t gd_get_min_per_thread(void) { return gd_min_per_thread; }

void gd_set_min_per_thread(int64_t n) { gd_min_per_thread = n > 0 ? n : 1; }

static int gd_valid(const gd_model *m)
{
    return m->rule >= 0 && m->rule < GD_N_KERNELS && m->loss >= 0 && m->loss < GD_N_LOSSES;
}

double gd_train_epoch(const gd_model *m, const gd_data *data, const int64_t *order, int64_t n_order,
                      int64_t batch_size, double alpha, const gd_hyper *hyper, const double *lr,
                      const double *noise_sd, int64_t *n_steps)
{
    if (!gd_valid(m) || batch_size < 1 || m->n_threads < 1)
        return -1;
    if (m->is_double)
        return gd_train_epoch_f64(m, data, order, n_order, batch_size, alpha, hyper, lr, noise_sd, n_steps);
    return gd_train_epoch_f32(m, data, order, n_order, batch_size, alpha, hyper, lr, noise_sd, n_steps);
}

int gd_loss_gradient(const gd_model *m, const gd_data *data, const int64_t *rows, int64_t n, double *out,
                     void *grad_w, void *grad_b)
{
    if (!gd_valid(m))
        return -1;
    if (m->is_double)
        gd_loss_gradient_f64(m, data, rows, n, out, (double *)grad_w, (double *)grad_b);
    else
        gd_loss_gradient_f32(m, data, rows, n, out, (float *)grad_w, (float *)grad_b);
    return 0;
}

double gd_factorize_epoch(const gd_factors *f, const int64_t *order, int64_t n_order, double mu,
                          const gd_hyper *hyper, const double *lr, int64_t *n_steps)
{
    if (f->rule < 0 || f->rule >= GD_N_KERNELS || f->n_threads < 1)
        return -1;
    if (f->is_double)
        return gd_factorize_epoch_f64(f, order, n_order, mu, hyper, lr, n_steps);
    return gd_factorize_epoch_f32(f, order, n_order, mu, hyper, lr, n_steps);
}

double gd_plain_sgd_epoch(const gd_plain_sgd *c, gd_plain_state *s, const gd_data *d, const int64_t *order,
                          int64_t n_order, int is_double, double *objective)
{
    if (c->loss < 0 || c->loss >= GD_N_LOSSES || c->loss == GD_LOSS_SOFTMAX)
        return -1;
    if (is_double)
        return gd_plain_sgd_epoch_f64(c, s, d, order, n_order, objective);
    return gd_plain_sgd_epoch_f32(c, s, d, order, n_order, objective);
}

void gd_plain_sgd_finish(gd_plain_state *s, int64_t n_features, int is_double)
{
    if (is_double)
        gd_plain_reset_f64(s, n_features);
    else
        gd_plain_reset_f32(s, n_features);
}

double gd_loss_value(int loss, double z, double y, double epsilon, double *dz)
{
    if (loss < 0 || loss >= GD_N_LOSSES || loss == GD_LOSS_SOFTMAX)
        return NAN;
    return gd_loss_one(loss, z, y, epsilon, dz);
}
