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

/* qsort's comparison of int64 indices. */
GD_INLINE int gd_compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The parameter coordinate of entry p, r and row_end tracking its row (start both at 0; p never decreasing). */
GD_INLINE int64_t gd_csr_coordinate(const gd_csr *g, int64_t p, int64_t *r, int64_t *row_end)
{
    if (p >= *row_end) {
        *r = gd_row_from(g, *r, p);
        *row_end = gd_index(g->indptr, g->index_is_64, *r + 1);
    }
    return *r * g->n_cols + gd_index(g->indices, g->index_is_64, p);
}

/* The first entry at or after p that opens an exact-mode block (its coordinate's block differs from the
 * previous entry's), or nnz: where a thread's share of the entries may start without sharing a block with
 * another thread. At most GD_EXACT_BLOCK entries share a block, so this looks at as many. */
GD_INLINE int64_t gd_csr_block_start(const gd_csr *g, int64_t p, int64_t nnz)
{
    if (p <= 0 || p >= nnz)
        return p <= 0 ? 0 : nnz;
    int64_t r = 0, row_end = 0;
    int64_t previous = gd_csr_coordinate(g, p - 1, &r, &row_end) / GD_EXACT_BLOCK;
    while (p < nnz && gd_csr_coordinate(g, p, &r, &row_end) / GD_EXACT_BLOCK == previous)
        ++p;
    return p;
}

/* The same for the used rows of a row-sparse gradient (sorted, distinct, row_size > 0): the first row at or
 * after i whose first block differs from the previous row's last. */
GD_INLINE int64_t gd_rows_block_start(const gd_rows *g, int64_t i)
{
    if (i <= 0 || i >= g->n_used)
        return i <= 0 ? 0 : g->n_used;
    int64_t n = g->row_size;
    while (i < g->n_used && gd_index(g->rows, g->rows_is_64, i) * n / GD_EXACT_BLOCK ==
                                (gd_index(g->rows, g->rows_is_64, i - 1) * n + n - 1) / GD_EXACT_BLOCK)
        ++i;
    return i;
}

/* The structure checks as branch-free loops over one index type, so that they vectorise; the caller finds
 * the exact position only once a check has failed. */
#define GD_CSR_PASSES(IDX, SUF)                                                                              \
    /* Whether indptr decreases between entries lo and hi (hi included). */                                 \
    GD_VECTOR_CLONES static int gd_decreases_##SUF(const IDX *indptr, int64_t lo, int64_t hi)               \
    {                                                                                                       \
        int bad = 0;                                                                                        \
        GD_PRAGMA(omp simd reduction(| : bad))                                                              \
        for (int64_t r = lo; r < hi; ++r)                                                                   \
            bad |= indptr[r + 1] < indptr[r];                                                               \
        return bad;                                                                                         \
    }                                                                                                       \
                                                                                                            \
    /* Whether an index in [a, b) lies outside [0, bound); *unsorted |= whether they fail to increase. */   \
    GD_VECTOR_CLONES static int gd_out_of_range_##SUF(const IDX *indices, int64_t a, int64_t b,             \
                                                      int64_t bound, int *unsorted)                         \
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
