/* The loops around the rules, written once over REAL / SFX() and expanded per rule by rules.def.
 * Included by kernels.c once per floating type. */

#include "rules.h"

/* The slot arguments a rule's element function takes, by its number of state buffers. */
#define GD_SLOT_ARGS_0(i)
#define GD_SLOT_ARGS_1(i) , &s0[i]
#define GD_SLOT_ARGS_2(i) , &s0[i], &s1[i]
#define GD_SLOT_ARGS_3(i) , &s0[i], &s1[i], &s2[i]

/* Elements [lo, hi) of one contiguous parameter: a branch-free loop the compiler vectorises. */
#define GD_RULE(name, n_slots, work, catch_up)                                                                          \
    GD_VECTOR_CLONES static void SFX(gd_range_##name)(REAL *GD_RESTRICT th, const REAL *GD_RESTRICT g,                  \
                                     REAL *GD_RESTRICT s0, REAL *GD_RESTRICT s1, REAL *GD_RESTRICT s2, \
                                     int64_t lo, int64_t hi, const COEF *c)                            \
    {                                                                                                   \
        (void)s0; (void)s1; (void)s2;                                                                   \
        GD_PRAGMA(omp simd)                                                                             \
        for (int64_t i = lo; i < hi; ++i)                                                               \
            SFX(gd_##name)(&th[i], g[i] GD_SLOT_ARGS_##n_slots(i), c);                                  \
    }
#include "rules.def"
#undef GD_RULE

typedef void (*SFX(gd_range_fn))(REAL *, const REAL *, REAL *, REAL *, REAL *, int64_t, int64_t, const COEF *);

static const SFX(gd_range_fn) SFX(gd_range_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_range_##name),
#include "rules.def"
#undef GD_RULE
};

/* Slot k of array a, or NULL where the rule keeps fewer slots. */
static REAL *SFX(gd_slot)(const gd_dense_batch *b, int k, int64_t a)
{
    return b->slot[k] ? (REAL *)b->slot[k][a] : NULL;
}

/* Elements [lo, hi) of the batch's arrays laid end to end. */
static void SFX(gd_batch_range)(SFX(gd_range_fn) range, const gd_dense_batch *b, int64_t lo, int64_t hi,
                                const COEF *c)
{
    int64_t start = 0;
    for (int64_t a = 0; a < b->n_arrays && start < hi; start += b->size[a], ++a) {
        int64_t end = start + b->size[a];
        int64_t from = lo > start ? lo - start : 0, to = (hi < end ? hi : end) - start;
        if (from < to)
            range((REAL *)b->param[a], (const REAL *)b->grad[a], SFX(gd_slot)(b, 0, a), SFX(gd_slot)(b, 1, a),
                  SFX(gd_slot)(b, 2, a), from, to, c);
    }
}

/* One step of a rule over every array of the batch. The arrays, laid end to end, are split into equal
 * contiguous pieces, one per thread, so a list of many small arrays parallelises as well as one large one. */
static void SFX(gd_dense_step)(int rule, const gd_dense_batch *b, const gd_hyper *h)
{
    COEF c = SFX(gd_prepare)(h);
    SFX(gd_range_fn) range = SFX(gd_range_table)[rule];
    int64_t total = 0;
    for (int64_t a = 0; a < b->n_arrays; ++a)
        total += b->size[a];
#define GD_BATCH_RANGE(lo, hi) SFX(gd_batch_range)(range, b, lo, hi, &c)
    GD_SPLIT(total, gd_threads_for(total * gd_rule_work[rule]), GD_BATCH_RANGE);
#undef GD_BATCH_RANGE
}

/* ---- Sparse gradients ------------------------------------------------------------------------------------- */

/* What a sparse step or a catch-up needs besides the arrays. */
typedef struct {
    COEF c;                /* this step's coefficients */
    const gd_hyper *h;     /* for the per-k closed forms */
    const gd_exact *exact; /* NULL in the lazy mode */
} SFX(gd_ctx);

#define CTX SFX(gd_ctx)

/* The bias correction of step s from the exact mode's table (1 once the table has reached 1 exactly). */
GD_INLINE REAL SFX(gd_bias_at)(const double *table, int64_t n, int64_t s)
{
    return (REAL)(s <= n ? table[s - 1] : 1.0);
}

/* Catch-up of coordinates [lo, hi), which have all seen step `from`, to step `to` (> from) with zero gradients:
 * by the closed form of rules.h, whose per-k coefficients are cached across calls with the same k, ... */
#define GD_CATCH_UP_closed(name, n_slots)                                                                   \
    GD_VECTOR_CLONES static void SFX(gd_catch_up_##name)(                                                   \
        REAL *GD_RESTRICT th, REAL *GD_RESTRICT s0, REAL *GD_RESTRICT s1, REAL *GD_RESTRICT s2, int64_t lo, \
        int64_t hi, int64_t from, int64_t to, const CTX *x, SKIP *cache)                                    \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2;                                                                       \
        if (to - from != cache->k)                                                                          \
            SFX(gd_skip_prepare)(cache, to - from, x->h);                                                   \
        const SKIP skip = *cache;                                                                           \
        GD_PRAGMA(omp simd)                                                                                 \
        for (int64_t j = lo; j < hi; ++j)                                                                   \
            SFX(gd_skip_##name)(&th[j] GD_SLOT_ARGS_##n_slots(j), &skip, &x->c);                            \
    }

/* ... or by running the rule once per skipped step with g = 0 and that step's bias corrections: exactly the
 * dense steps, at a cost of (skipped steps) x (one element update) per coordinate. */
#define GD_CATCH_UP_steps(name, n_slots)                                                                    \
    GD_VECTOR_CLONES static void SFX(gd_catch_up_##name)(                                                   \
        REAL *GD_RESTRICT th, REAL *GD_RESTRICT s0, REAL *GD_RESTRICT s1, REAL *GD_RESTRICT s2, int64_t lo, \
        int64_t hi, int64_t from, int64_t to, const CTX *x, SKIP *cache)                                    \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2; (void)cache;                                                          \
        const gd_exact *e = x->exact;                                                                       \
        COEF c = x->c;                                                                                      \
        for (int64_t s = from + 1; s <= to; ++s) {                                                          \
            c.inv_bias1 = SFX(gd_bias_at)(e->inv_bias1, e->n_bias, s);                                      \
            c.inv_bias2 = SFX(gd_bias_at)(e->inv_bias2, e->n_bias, s);                                      \
            GD_PRAGMA(omp simd)                                                                             \
            for (int64_t j = lo; j < hi; ++j)                                                               \
                SFX(gd_##name)(&th[j], (REAL)0 GD_SLOT_ARGS_##n_slots(j), &c);                              \
        }                                                                                                   \
    }

#define GD_RULE(name, n_slots, work, catch_up) GD_CATCH_UP_##catch_up(name, n_slots)
#include "rules.def"
#undef GD_RULE

/* The step a coordinate has seen in the exact mode. */
GD_INLINE int64_t SFX(gd_seen)(const gd_exact *e, int64_t j)
{
    return e->last[j] > e->synced_at ? e->last[j] : e->synced_at;
}

/* The step coordinates [lo, hi) have all seen, or -1 where they differ. */
static int64_t SFX(gd_seen_by_all)(const gd_exact *e, int64_t lo, int64_t hi)
{
    int64_t least = INT64_MAX, most = -1;
    GD_PRAGMA(omp simd reduction(min : least) reduction(max : most))
    for (int64_t j = lo; j < hi; ++j) {
        int64_t seen = e->last[j] > e->synced_at ? e->last[j] : e->synced_at;
        least = seen < least ? seen : least;
        most = seen > most ? seen : most;
    }
    return least == most ? least : -1;
}

/* Coordinates are brought up to date in blocks this long: a block whose coordinates have all seen the same
 * step (a row stepped as a whole, or untouched since the last flush) catches up in one vectorised loop. */
#ifndef GD_FLUSH_BLOCK
#define GD_FLUSH_BLOCK 256
#endif

/* Entries [p_lo, p_hi) of a canonical CSR gradient: distinct coordinates, so any split of the entries among
 * threads is race-free. In the exact mode each coordinate first catches up to the step before this one. */
#define GD_RULE(name, n_slots, work, catch_up)                                                              \
    static void SFX(gd_csr_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_csr *g, int64_t p_lo,   \
                                   int64_t p_hi, const CTX *x)                                              \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2;                                                                       \
        const gd_exact *e = x->exact;                                                                       \
        const REAL *data = (const REAL *)g->data;                                                           \
        int64_t t = x->h->t, r = 0, row_end = 0;                                                            \
        SKIP cache = {-1, 0, 0};                                                                            \
        for (int64_t p = p_lo; p < p_hi; ++p) {                                                             \
            if (p >= row_end) {                                                                             \
                r = gd_row_from(g, r, p);                                                                   \
                row_end = gd_index(g->indptr, g->index_is_64, r + 1);                                       \
            }                                                                                               \
            int64_t j = r * g->n_cols + gd_index(g->indices, g->index_is_64, p);                            \
            if (e) {                                                                                        \
                int64_t seen = SFX(gd_seen)(e, j);                                                          \
                if (seen < t - 1)                                                                           \
                    SFX(gd_catch_up_##name)(th, s0, s1, s2, j, j + 1, seen, t - 1, x, &cache);              \
                e->last[j] = t;                                                                             \
            }                                                                                               \
            SFX(gd_##name)(&th[j], data[p] GD_SLOT_ARGS_##n_slots(j), &x->c);                               \
        }                                                                                                   \
    }                                                                                                       \
                                                                                                            \
    /* Coordinates [lo, hi) brought up to step `to` (exact mode). */                                       \
    static void SFX(gd_flush_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t lo, int64_t hi,        \
                                     int64_t to, const CTX *x)                                              \
    {                                                                                                       \
        SKIP cache = {-1, 0, 0};                                                                            \
        for (int64_t b = lo, end; b < hi; b = end) {                                                        \
            end = hi - b > GD_FLUSH_BLOCK ? b + GD_FLUSH_BLOCK : hi;                                        \
            int64_t seen = SFX(gd_seen_by_all)(x->exact, b, end);                                           \
            if (seen >= 0) {                                                                                \
                if (seen < to)                                                                              \
                    SFX(gd_catch_up_##name)(th, s0, s1, s2, b, end, seen, to, x, &cache);                   \
                continue;                                                                                   \
            }                                                                                               \
            for (int64_t j = b; j < end; ++j) {                                                             \
                seen = SFX(gd_seen)(x->exact, j);                                                           \
                if (seen < to)                                                                              \
                    SFX(gd_catch_up_##name)(th, s0, s1, s2, j, j + 1, seen, to, x, &cache);                 \
            }                                                                                               \
        }                                                                                                   \
    }

#include "rules.def"
#undef GD_RULE

typedef void (*SFX(gd_csr_fn))(REAL *, REAL *, REAL *, REAL *, const gd_csr *, int64_t, int64_t, const CTX *);
typedef void (*SFX(gd_flush_fn))(REAL *, REAL *, REAL *, REAL *, int64_t, int64_t, int64_t, const CTX *);

static const SFX(gd_csr_fn) SFX(gd_csr_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_csr_##name),
#include "rules.def"
#undef GD_RULE
};

static const SFX(gd_flush_fn) SFX(gd_flush_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_flush_##name),
#include "rules.def"
#undef GD_RULE
};

static CTX SFX(gd_context)(const gd_hyper *h, const gd_exact *e)
{
    CTX x;
    x.c = SFX(gd_prepare)(h);
    x.h = h;
    x.exact = e;
    return x;
}

#define GD_SLOT(slots, k) ((slots)[k] ? (REAL *)(slots)[k] : NULL)

/* The entries of the gradient split evenly among threads (where there is enough work). */
static void SFX(gd_sparse_step)(int rule, void *param, void *const *slots, const gd_csr *g, const gd_hyper *h,
                                const gd_exact *e)
{
    CTX x = SFX(gd_context)(h, e);
    SFX(gd_csr_fn) fn = SFX(gd_csr_table)[rule];
    int64_t nnz = gd_index(g->indptr, g->index_is_64, g->n_rows);
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
#define GD_CSR_RANGE(lo, hi) fn(th, s0, s1, s2, g, lo, hi, &x)
    GD_SPLIT(nnz, gd_threads_for(nnz * gd_rule_work[rule] * (e ? 2 : 1)), GD_CSR_RANGE);
#undef GD_CSR_RANGE
}

/* Rows this far ahead are prefetched: enough to hide a memory latency behind the work on the rows between. */
#ifndef GD_PREFETCH_ROWS
#define GD_PREFETCH_ROWS 4
#endif

/* Used rows [lo, hi) of a row-sparse gradient: each a contiguous slice of the parameter, stepped by the dense
 * loop; in the exact mode its coordinates first catch up to the step before this one. Rows are distinct, so
 * any split among threads is race-free. */
static void SFX(gd_rows_range)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_rows *g, int64_t lo,
                               int64_t hi, const CTX *x)
{
    SFX(gd_range_fn) range = SFX(gd_range_table)[rule];
    const REAL *values = (const REAL *)g->values;
    int64_t n = g->row_size, t = x->h->t;
    REAL *slot[GD_MAX_SLOTS] = {s0, s1, s2};
    for (int64_t i = lo; i < hi; ++i) {
        if (i + GD_PREFETCH_ROWS < hi) {
            int64_t ahead = gd_index(g->rows, g->rows_is_64, i + GD_PREFETCH_ROWS) * n;
            GD_PREFETCH(th + ahead, n * (int64_t)sizeof(REAL));
            for (int k = 0; k < GD_MAX_SLOTS; ++k)
                if (slot[k])
                    GD_PREFETCH(slot[k] + ahead, n * (int64_t)sizeof(REAL));
            if (x->exact)
                GD_PREFETCH(x->exact->last + ahead, n * (int64_t)sizeof(int64_t));
        }
        int64_t j = gd_index(g->rows, g->rows_is_64, i) * n;
        if (x->exact) {
            SFX(gd_flush_table)[rule](th, s0, s1, s2, j, j + n, t - 1, x);
            for (int64_t k = j; k < j + n; ++k)
                x->exact->last[k] = t;
        }
        range(th + j, values + i * n, s0 ? s0 + j : NULL, s1 ? s1 + j : NULL, s2 ? s2 + j : NULL, 0, n, &x->c);
    }
}

static void SFX(gd_rows_step)(int rule, void *param, void *const *slots, const gd_rows *g, const gd_hyper *h,
                              const gd_exact *e)
{
    CTX x = SFX(gd_context)(h, e);
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
#define GD_ROWS_RANGE(lo, hi) SFX(gd_rows_range)(rule, th, s0, s1, s2, g, lo, hi, &x)
    GD_SPLIT(g->n_used, gd_threads_for(g->n_used * g->row_size * gd_rule_work[rule] * (e ? 2 : 1)), GD_ROWS_RANGE);
#undef GD_ROWS_RANGE
}

static void SFX(gd_catch_up)(int rule, void *param, void *const *slots, int64_t n, const gd_hyper *h,
                             const gd_exact *e)
{
    CTX x = SFX(gd_context)(h, e);
    SFX(gd_flush_fn) fn = SFX(gd_flush_table)[rule];
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
#define GD_FLUSH_RANGE(lo, hi) fn(th, s0, s1, s2, lo, hi, h->t, &x)
    GD_SPLIT(n, gd_threads_for(n * gd_rule_work[rule]), GD_FLUSH_RANGE);
#undef GD_FLUSH_RANGE
}

#undef GD_SLOT
#undef CTX
#undef SKIP
#undef COEF
