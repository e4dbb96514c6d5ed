/* The floor of an epoch of stochastic gradient descent over shuffled CSR rows (bench/bench_floor.py): the least
 * work any batch-1 loop must do, as a yardstick for gdfast's epoch loop (csrc/linear_impl.h).
 *
 * floor_dot        z_i = x_i . w for each row i in order: the rows' and the weights' memory latency, nothing else.
 * floor_dot_write  the same, then w_j -= lr (z_i - y_i) x_ij on the row's features: a squared-loss SGD step with
 *                  no rule, no schedule, no loss value, no bookkeeping.
 * With prefetch, both fetch ahead as the library's loop does (gd_prefetch_ahead): the row index and the row four
 * examples on, and the weights of the next row. float64 values, int32 indices (scipy's CSR of the bench data). */
#include <stdint.h>

#define AHEAD 4

static inline void prefetch_ahead(const int32_t *indptr, const int32_t *indices, const double *data,
                                  const int64_t *order, int64_t q, int64_t n, const double *w)
{
    if (q + 2 * AHEAD < n)
        __builtin_prefetch(indptr + order[q + 2 * AHEAD]);
    if (q + AHEAD < n) {
        int64_t i = order[q + AHEAD];
        __builtin_prefetch(indices + indptr[i]);
        __builtin_prefetch(data + indptr[i]);
    }
    if (q + 1 < n) {
        int64_t i = order[q + 1];
        for (int32_t p = indptr[i]; p < indptr[i + 1]; ++p)
            __builtin_prefetch(w + indices[p]);
    }
}

double floor_dot(const int32_t *indptr, const int32_t *indices, const double *data, const int64_t *order,
                 int64_t n, const double *w, int prefetch)
{
    double total = 0;
    for (int64_t q = 0; q < n; ++q) {
        if (prefetch)
            prefetch_ahead(indptr, indices, data, order, q, n, w);
        int64_t i = order[q];
        double z = 0;
        for (int32_t p = indptr[i]; p < indptr[i + 1]; ++p)
            z += data[p] * w[indices[p]];
        total += z;
    }
    return total; /* returned so that the loop is not optimised away */
}

double floor_dot_write(const int32_t *indptr, const int32_t *indices, const double *data, const int64_t *order,
                       int64_t n, double *w, const double *y, double lr, int prefetch)
{
    double total = 0;
    for (int64_t q = 0; q < n; ++q) {
        if (prefetch)
            prefetch_ahead(indptr, indices, data, order, q, n, w);
        int64_t i = order[q];
        double z = 0;
        for (int32_t p = indptr[i]; p < indptr[i + 1]; ++p)
            z += data[p] * w[indices[p]];
        double g = lr * (z - y[i]);
        for (int32_t p = indptr[i]; p < indptr[i + 1]; ++p)
            w[indices[p]] -= g * data[p];
        total += z;
    }
    return total;
}
