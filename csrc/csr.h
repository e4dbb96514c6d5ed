/* Walking and checking the index structures of sparse gradients. A CSR gradient is walked without visiting its
 * empty rows: an embedding's gradient has a million rows and a thousand of them used, so anything done per row,
 * rather than per entry or per used row, would cost more than the step itself. */
#ifndef GDFAST_CSR_H
#define GDFAST_CSR_H

#include "kernels.h"

/* The row holding entry p (0 <= p < nnz), searching forward from a row r with indptr[r] <= p: the last row
 * whose start is <= p. Galloping (1, 2, 4, ... rows ahead, then bisection) costs O(1) for the next row and
 * O(log gap) across a gap of empty rows. Needs indptr non-decreasing with indptr[n_rows] = nnz. */
GD_INLINE int64_t gd_row_from(const gd_csr *g, int64_t r, int64_t p)
{
    const void *indptr = g->indptr;
    int is_64 = g->index_is_64;
    int64_t step = 1;
    while (r + step < g->n_rows && gd_index(indptr, is_64, r + step) <= p) {
        r += step;
        step *= 2;
    }
    /* indptr[r] <= p < indptr[hi] (indptr[n_rows] = nnz > p) */
    int64_t hi = r + step < g->n_rows ? r + step : g->n_rows;
    while (hi - r > 1) {
        int64_t mid = r + (hi - r) / 2;
        if (gd_index(indptr, is_64, mid) <= p)
            r = mid;
        else
            hi = mid;
    }
    return r;
}

/* The structure checks as branch-free loops over one index type, so that they vectorise; the caller finds
 * the exact position only once a check has failed. */
#define GD_CSR_PASSES(IDX, SUF)                                                                              \
    /* Whether indptr decreases between entries lo and hi (hi included). */                                 \
    static int gd_decreases_##SUF(const IDX *indptr, int64_t lo, int64_t hi)                                \
    {                                                                                                       \
        int bad = 0;                                                                                        \
        GD_PRAGMA(omp simd reduction(| : bad))                                                              \
        for (int64_t r = lo; r < hi; ++r)                                                                   \
            bad |= indptr[r + 1] < indptr[r];                                                               \
        return bad;                                                                                         \
    }                                                                                                       \
                                                                                                            \
    /* Whether an index in [a, b) lies outside [0, bound); *unsorted |= whether they fail to increase. */   \
    static int gd_out_of_range_##SUF(const IDX *indices, int64_t a, int64_t b, int64_t bound,               \
                                     int *unsorted)                                                         \
    {                                                                                                       \
        int out = 0, descends = 0;                                                                          \
        GD_PRAGMA(omp simd reduction(| : out))                                                              \
        for (int64_t p = a; p < b; ++p)                                                                     \
            out |= (uint64_t)(int64_t)indices[p] >= (uint64_t)bound;                                        \
        GD_PRAGMA(omp simd reduction(| : descends))                                                         \
        for (int64_t p = a + 1; p < b; ++p)                                                                 \
            descends |= indices[p] <= indices[p - 1];                                                       \
        *unsorted |= descends;                                                                              \
        return out;                                                                                         \
    }

GD_CSR_PASSES(int32_t, i32)
GD_CSR_PASSES(int64_t, i64)
#undef GD_CSR_PASSES

GD_INLINE int gd_decreases(const gd_csr *g, int64_t lo, int64_t hi)
{
    return g->index_is_64 ? gd_decreases_i64((const int64_t *)g->indptr, lo, hi)
                          : gd_decreases_i32((const int32_t *)g->indptr, lo, hi);
}

GD_INLINE int gd_out_of_range(const void *indices, int is_64, int64_t a, int64_t b, int64_t bound, int *unsorted)
{
    return is_64 ? gd_out_of_range_i64((const int64_t *)indices, a, b, bound, unsorted)
                 : gd_out_of_range_i32((const int32_t *)indices, a, b, bound, unsorted);
}

#endif
