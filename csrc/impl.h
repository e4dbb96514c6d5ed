/* The loops around the rules, written once over REAL / SFX() and expanded per kernel by kernels.def (the
 * survey's rules, rules.def, then the frameworks' forms, variants.def). Included by kernels.c once per floating
 * type. A "rule" argument below is a kernel's number. */

#include "rules.h"

/* The slot arguments a rule's element function takes, by its number of state buffers. */
#define GD_SLOT_ARGS_0(i)
#define GD_SLOT_ARGS_1(i) , &s0[i]
#define GD_SLOT_ARGS_2(i) , &s0[i], &s1[i]
#define GD_SLOT_ARGS_3(i) , &s0[i], &s1[i], &s2[i]

/* Elements [lo, hi) of one contiguous parameter: a branch-free loop the compiler vectorises, the gradient as
 * given, or (clipping, weight decay) through gd_grad_in: two loops, so that the plain one costs what it did. */
#define GD_RULE(name, n_slots, work, catch_up)                                                                          \
    GD_VECTOR_CLONES static void SFX(gd_range_##name)(REAL *GD_RESTRICT th, const REAL *GD_RESTRICT g,                  \
                                     REAL *GD_RESTRICT s0, REAL *GD_RESTRICT s1, REAL *GD_RESTRICT s2, \
                                     int64_t lo, int64_t hi, const COEF *c)                            \
    {                                                                                                   \
        (void)s0; (void)s1; (void)s2;                                                                   \
        if (SFX(gd_plain_grad)(c)) {                                                                    \
            GD_PRAGMA(omp simd)                                                                         \
            for (int64_t i = lo; i < hi; ++i)                                                           \
                SFX(gd_##name)(&th[i], g[i] GD_SLOT_ARGS_##n_slots(i), c);                              \
        } else {                                                                                        \
            GD_PRAGMA(omp simd)                                                                         \
            for (int64_t i = lo; i < hi; ++i)                                                           \
                SFX(gd_##name)(&th[i], SFX(gd_grad_in)(&th[i], g[i], c) GD_SLOT_ARGS_##n_slots(i), c);  \
        }                                                                                               \
    }
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_range_fn))(REAL *, const REAL *, REAL *, REAL *, REAL *, int64_t, int64_t, const COEF *);

static const SFX(gd_range_fn) SFX(gd_range_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_range_##name),
#include "kernels.def"
#undef GD_RULE
};

/* Slot k of array a, or NULL where the rule keeps fewer slots. */
static REAL *SFX(gd_slot)(const gd_dense_batch *b, int k, int64_t a)
{
    return b->slot[k] ? (REAL *)b->slot[k][a] : NULL;
}

/* Elements [lo, hi) of the batch's arrays laid end to end; array a with its group's coefficients c[group[a]]. */
static void SFX(gd_batch_range)(SFX(gd_range_fn) range, const gd_dense_batch *b, int64_t lo, int64_t hi,
                                const COEF *c)
{
    int64_t start = 0;
    for (int64_t a = 0; a < b->n_arrays && start < hi; start += b->size[a], ++a) {
        int64_t end = start + b->size[a];
        int64_t from = lo > start ? lo - start : 0, to = (hi < end ? hi : end) - start;
        if (from < to)
            range((REAL *)b->param[a], (const REAL *)b->grad[a], SFX(gd_slot)(b, 0, a), SFX(gd_slot)(b, 1, a),
                  SFX(gd_slot)(b, 2, a), from, to, b->group ? &c[b->group[a]] : c);
    }
}

/* Param groups whose coefficients a dense step keeps on its stack; more are allocated (once per step). */
#ifndef GD_STACK_GROUPS
#define GD_STACK_GROUPS 16
#endif

/* One step of a rule over every array of the batch, from a row of hyperparameters per group. The arrays, laid
 * end to end, are split into equal contiguous pieces, one per thread, so a list of many small arrays
 * parallelises as well as one large one. -1 where the groups' coefficients cannot be allocated. */
static int SFX(gd_dense_step)(int rule, const gd_dense_batch *b, const gd_hyper *h)
{
    int64_t n_groups = b->group ? b->n_groups : 1;
    COEF stack[GD_STACK_GROUPS];
    COEF *c = n_groups <= GD_STACK_GROUPS ? stack : malloc(sizeof(COEF) * (size_t)n_groups);
    if (c == NULL)
        return -1;
    for (int64_t k = 0; k < n_groups; ++k)
        c[k] = SFX(gd_prepare_kernel)(rule, &h[k]);
    SFX(gd_range_fn) range = SFX(gd_range_table)[rule];
    int64_t total = 0;
    for (int64_t a = 0; a < b->n_arrays; ++a)
        total += b->size[a];
#define GD_BATCH_RANGE(lo, hi) SFX(gd_batch_range)(range, b, lo, hi, c)
    GD_SPLIT(total, gd_threads_for(total * gd_rule_work[rule]), GD_BATCH_RANGE);
#undef GD_BATCH_RANGE
    if (c != stack)
        free(c);
    return 0;
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

/* ... or, for a framework's form whose coefficients are not the bias corrections alone, by running the kernel
 * once per skipped step with that step's coefficients prepared anew: the very ones its dense step had. */
#define GD_CATCH_UP_replay(name, n_slots)                                                                   \
    GD_VECTOR_CLONES static void SFX(gd_catch_up_##name)(                                                   \
        REAL *GD_RESTRICT th, REAL *GD_RESTRICT s0, REAL *GD_RESTRICT s1, REAL *GD_RESTRICT s2, int64_t lo, \
        int64_t hi, int64_t from, int64_t to, const CTX *x, SKIP *cache)                                    \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2; (void)cache;                                                          \
        gd_hyper h = *x->h;                                                                                 \
        for (int64_t s = from + 1; s <= to; ++s) {                                                          \
            h.t = s;                                                                                        \
            COEF c = SFX(gd_prepare_kernel)(GD_RULE_##name, &h);                                            \
            GD_PRAGMA(omp simd)                                                                             \
            for (int64_t j = lo; j < hi; ++j)                                                               \
                SFX(gd_##name)(&th[j], (REAL)0 GD_SLOT_ARGS_##n_slots(j), &c);                              \
        }                                                                                                   \
    }

/* No catch-up: the exact mode is refused for this kernel before any call (gdfast/optim/_registry.py). */
#define GD_CATCH_UP_no(name, n_slots)                                                                       \
    static void SFX(gd_catch_up_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t lo, int64_t hi,     \
                                        int64_t from, int64_t to, const CTX *x, SKIP *cache)                \
    {                                                                                                       \
        (void)th; (void)s0; (void)s1; (void)s2; (void)lo; (void)hi; (void)from; (void)to; (void)x;          \
        (void)cache;                                                                                        \
    }

/* Nothing to catch up: the closed form, which is the identity here (the lazy mode skips even that). */
#define GD_CATCH_UP_none GD_CATCH_UP_closed

#define GD_RULE(name, n_slots, work, catch_up) GD_CATCH_UP_##catch_up(name, n_slots)
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_catch_up_fn))(REAL *, REAL *, REAL *, REAL *, int64_t, int64_t, int64_t, int64_t, const CTX *,
                                    SKIP *);

static const SFX(gd_catch_up_fn) SFX(gd_catch_up_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_catch_up_##name),
#include "kernels.def"
#undef GD_RULE
};

/* With weight decay the skipped steps are not zero-gradient steps: g = lambda theta (coupled), or theta decays
 * by 1 - lr lambda each step (decoupled). A kernel whose zero-gradient step is the identity (catch-up "none":
 * SGD, Adagrad) then scales theta by (1 - lr lambda)^k, in closed form, where the decay is decoupled or the
 * kernel is SGD (for which the coupled step is the same factor); every other kernel runs the k steps with that
 * gradient, as the dense steps did. */
#define GD_IDENTITY_AT_ZERO_none 1
#define GD_IDENTITY_AT_ZERO_closed 0
#define GD_IDENTITY_AT_ZERO_steps 0
#define GD_IDENTITY_AT_ZERO_replay 0
#define GD_IDENTITY_AT_ZERO_no 0
static const int SFX(gd_identity_at_zero)[] = {
#define GD_RULE(name, n_slots, work, catch_up) GD_IDENTITY_AT_ZERO_##catch_up,
#include "kernels.def"
#undef GD_RULE
};

#define GD_RULE(name, n_slots, work, catch_up)                                                              \
    static void SFX(gd_decay_steps_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t lo, int64_t hi,  \
                                           int64_t from, int64_t to, const CTX *x)                          \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2;                                                                       \
        gd_hyper h = *x->h;                                                                                 \
        for (int64_t s = from + 1; s <= to; ++s) {                                                          \
            h.t = s;                                                                                        \
            COEF c = SFX(gd_prepare_kernel)(GD_RULE_##name, &h);                                            \
            for (int64_t j = lo; j < hi; ++j)                                                               \
                SFX(gd_##name)(&th[j], SFX(gd_grad_in)(&th[j], (REAL)0, &c) GD_SLOT_ARGS_##n_slots(j), &c); \
        }                                                                                                   \
    }
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_decay_steps_fn))(REAL *, REAL *, REAL *, REAL *, int64_t, int64_t, int64_t, int64_t,
                                       const CTX *);

static const SFX(gd_decay_steps_fn) SFX(gd_decay_steps_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_decay_steps_##name),
#include "kernels.def"
#undef GD_RULE
};

/* Coordinates [lo, hi), which have all seen step `from`, brought to step `to` with zero gradients. */
static void SFX(gd_skipped)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t lo, int64_t hi, int64_t from,
                            int64_t to, const CTX *x, SKIP *cache)
{
    if (x->c.wd == 0 && x->c.decay == 1) {
        SFX(gd_catch_up_table)[rule](th, s0, s1, s2, lo, hi, from, to, x, cache);
    } else if (SFX(gd_identity_at_zero)[rule] && (x->h->decoupled || gd_kernel_rule[rule] == GD_RULE_sgd)) {
        REAL factor = (REAL)pow(1.0 - x->h->lr * x->h->weight_decay, (double)(to - from));
        for (int64_t j = lo; j < hi; ++j)
            th[j] *= factor;
    } else {
        SFX(gd_decay_steps_table)[rule](th, s0, s1, s2, lo, hi, from, to, x);
    }
}

/* The lazy mode: entries [p_lo, p_hi) of a canonical CSR gradient, distinct coordinates, so any split of the
 * entries among threads is race-free. */
#define GD_RULE(name, n_slots, work, catch_up)                                                              \
    static void SFX(gd_csr_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_csr *g, int64_t p_lo,   \
                                   int64_t p_hi, const CTX *x)                                              \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2;                                                                       \
        const REAL *data = (const REAL *)g->data;                                                           \
        int64_t r = 0, row_end = 0;                                                                         \
        for (int64_t p = p_lo; p < p_hi; ++p) {                                                             \
            int64_t j = gd_csr_coordinate(g, p, &r, &row_end);                                              \
            SFX(gd_##name)(&th[j], SFX(gd_grad_in)(&th[j], data[p], &x->c) GD_SLOT_ARGS_##n_slots(j),       \
                           &x->c);                                                                  \
        }                                                                                                   \
    }
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_csr_fn))(REAL *, REAL *, REAL *, REAL *, const gd_csr *, int64_t, int64_t, const CTX *);

static const SFX(gd_csr_fn) SFX(gd_csr_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_csr_##name),
#include "kernels.def"
#undef GD_RULE
};

static CTX SFX(gd_context)(int rule, const gd_hyper *h, const gd_exact *e)
{
    CTX x;
    x.c = SFX(gd_prepare_kernel)(rule, h);
    x.h = h;
    x.exact = e;
    return x;
}

#define GD_SLOT(slots, k) ((slots)[k] ? (REAL *)(slots)[k] : NULL)
#define GD_AT(s, j) ((s) ? (s) + (j) : NULL)

/* ---- The exact mode: one step counter per block of GD_EXACT_BLOCK coordinates ----------------------------
 * Every coordinate of block b has seen step max(last[b], synced_at). A step that touches a block first brings
 * the whole block up to the previous step (one vectorised catch-up, its coordinates sharing their step), then
 * steps the whole block with a zero gradient on its untouched coordinates: what the exact mode means for them
 * anyway, so the invariant holds after. A counter per coordinate would move 8 more bytes per coordinate than
 * the lazy step; a counter per block moves 8 per 16. */

GD_INLINE int64_t SFX(gd_block_seen)(const gd_exact *e, int64_t b)
{
    return e->last[b] > e->synced_at ? e->last[b] : e->synced_at;
}

/* Block b of an n-element parameter brought to step t - 1, then stepped at t with grad (one value per
 * coordinate of the block, zero where untouched). */
static void SFX(gd_exact_block)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t n, int64_t b,
                                const REAL *grad, const CTX *x, SKIP *cache)
{
    int64_t lo = b * GD_EXACT_BLOCK, hi = n - lo > GD_EXACT_BLOCK ? lo + GD_EXACT_BLOCK : n, t = x->h->t;
    int64_t seen = SFX(gd_block_seen)(x->exact, b);
    if (seen < t - 1)
        SFX(gd_skipped)(rule, th, s0, s1, s2, lo, hi, seen, t - 1, x, cache);
    SFX(gd_range_table)[rule](th + lo, grad, GD_AT(s0, lo), GD_AT(s1, lo), GD_AT(s2, lo), 0, hi - lo, &x->c);
    x->exact->last[b] = t;
}

/* The exact mode on entries [lo, hi) of a canonical CSR gradient, moved to block starts (gd_csr_block_start)
 * so that no two threads share a block. Coordinates increase with the entry, so a block's entries are
 * consecutive. */
static void SFX(gd_csr_exact)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_csr *g, int64_t lo,
                              int64_t hi, const CTX *x)
{
    const REAL *data = (const REAL *)g->data;
    int64_t nnz = gd_index(g->indptr, g->index_is_64, g->n_rows), r = 0, row_end = 0;
    int64_t p = gd_csr_block_start(g, lo, nnz), end = gd_csr_block_start(g, hi, nnz);
    REAL grad[GD_EXACT_BLOCK];
    SKIP cache = {-1, 0, 0};
    while (p < end) {
        int64_t j = gd_csr_coordinate(g, p, &r, &row_end), b = j / GD_EXACT_BLOCK;
        for (int k = 0; k < GD_EXACT_BLOCK; ++k)
            grad[k] = 0;
        do {
            grad[j - b * GD_EXACT_BLOCK] = data[p];
            if (++p == end)
                break;
            j = gd_csr_coordinate(g, p, &r, &row_end);
        } while (j / GD_EXACT_BLOCK == b);
        SFX(gd_exact_block)(rule, th, s0, s1, s2, g->n_rows * g->n_cols, b, grad, x, &cache);
    }
}

/* The entries of the gradient split evenly among threads (where there is enough work). */
static void SFX(gd_sparse_step)(int rule, void *param, void *const *slots, const gd_csr *g, const gd_hyper *h,
                                const gd_exact *e)
{
    CTX x = SFX(gd_context)(rule, h, e);
    SFX(gd_csr_fn) lazy = SFX(gd_csr_table)[rule];
    int64_t nnz = gd_index(g->indptr, g->index_is_64, g->n_rows);
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
#define GD_CSR_RANGE(lo, hi)                                          \
    if (e)                                                            \
        SFX(gd_csr_exact)(rule, th, s0, s1, s2, g, lo, hi, &x);       \
    else                                                              \
        lazy(th, s0, s1, s2, g, lo, hi, &x)
    GD_SPLIT(nnz, gd_threads_for(nnz * gd_rule_work[rule] * (e ? 2 : 1)), GD_CSR_RANGE);
#undef GD_CSR_RANGE
}

/* Rows shorter than this are stepped element by element: a call of the vectorised loop costs more. */
#ifndef GD_SHORT_ROW
#define GD_SHORT_ROW 16
#endif

/* Rows of a table are reached in the gradient's order, anywhere in it: each costs a memory latency and a TLB
 * miss per array. Loading the parameter's and the state's elements of the row GD_ROWS_AHEAD rows on overlaps
 * those waits. */
#ifndef GD_ROWS_AHEAD
#define GD_ROWS_AHEAD 8
#endif
GD_ALWAYS_INLINE void SFX(gd_prefetch_row)(const REAL *th, const REAL *s0, const REAL *s1, const REAL *s2,
                                           int64_t j, int64_t n)
{
    for (int64_t k = 0; k < n; k += 64 / (int64_t)sizeof(REAL)) {
        GD_PREFETCH_WRITE(th + j + k);
        if (s0)
            GD_PREFETCH_WRITE(s0 + j + k);
        if (s1)
            GD_PREFETCH_WRITE(s1 + j + k);
        if (s2)
            GD_PREFETCH_WRITE(s2 + j + k);
    }
}

/* The lazy mode on used rows [lo, hi) of a row-sparse gradient: each a contiguous slice of the parameter,
 * stepped by the dense loop. Rows are distinct, so any split among threads is race-free. */
#define GD_RULE(name, n_slots, work, catch_up)                                                              \
    static void SFX(gd_rows_lazy_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_rows *g,          \
                                         int64_t lo, int64_t hi, const CTX *x)                              \
    {                                                                                                       \
        const REAL *values = (const REAL *)g->values;                                                       \
        int64_t n = g->row_size;                                                                            \
        for (int64_t i = lo; i < hi; ++i) {                                                                 \
            int64_t j = gd_index(g->rows, g->rows_is_64, i) * n;                                            \
            if (i + GD_ROWS_AHEAD < hi)                                                                     \
                SFX(gd_prefetch_row)(th, s0, s1, s2, gd_index(g->rows, g->rows_is_64, i + GD_ROWS_AHEAD) * n, n); \
            if (n >= GD_SHORT_ROW) {                                                                        \
                SFX(gd_range_##name)(th + j, values + i * n, GD_AT(s0, j), GD_AT(s1, j), GD_AT(s2, j), 0,   \
                                     n, &x->c);                                                             \
                continue;                                                                                   \
            }                                                                                               \
            for (int64_t k = j; k < j + n; ++k)                                                             \
                SFX(gd_##name)(&th[k], SFX(gd_grad_in)(&th[k], values[i * n + k - j], &x->c)                \
                               GD_SLOT_ARGS_##n_slots(k), &x->c);                                   \
        }                                                                                                   \
    }
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_rows_fn))(REAL *, REAL *, REAL *, REAL *, const gd_rows *, int64_t, int64_t, const CTX *);

static const SFX(gd_rows_fn) SFX(gd_rows_lazy_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_rows_lazy_##name),
#include "kernels.def"
#undef GD_RULE
};

/* ---- Hogwild!: steps on parameters other threads update at the same time ---------------------------------- */

/* Relaxed atomic access to an element: plain moves on x86-64 and ARM64, but defined behaviour in C where threads
 * race (Hogwild! races by design: Niu et al., 2011). */
GD_INLINE REAL SFX(gd_load)(const REAL *p)
{
#if defined(__GNUC__) || defined(__clang__)
    REAL v;
    __atomic_load(p, &v, __ATOMIC_RELAXED);
    return v;
#else
    return *(const volatile REAL *)p;
#endif
}

GD_INLINE void SFX(gd_store)(REAL *p, REAL v)
{
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store(p, &v, __ATOMIC_RELAXED);
#else
    *(volatile REAL *)p = v;
#endif
}

/* *p += delta for an element other threads also add to: a compare-and-swap loop, so no addition is lost.
 * Returns the sum. */
GD_INLINE REAL SFX(gd_atomic_add)(REAL *p, REAL delta)
{
#if defined(__GNUC__) || defined(__clang__)
    REAL old = SFX(gd_load)(p), sum;
    do
        sum = old + delta;
    while (!__atomic_compare_exchange(p, &old, &sum, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    return sum;
#else
    *p += delta;
    return *p;
#endif
}

#define GD_SHARED_LOAD_0(j)
#define GD_SHARED_LOAD_1(j) REAL a0 = SFX(gd_load)(&s0[j]);
#define GD_SHARED_LOAD_2(j) GD_SHARED_LOAD_1(j) REAL a1 = SFX(gd_load)(&s1[j]);
#define GD_SHARED_LOAD_3(j) GD_SHARED_LOAD_2(j) REAL a2 = SFX(gd_load)(&s2[j]);
#define GD_LOCAL_ARGS_0
#define GD_LOCAL_ARGS_1 , &a0
#define GD_LOCAL_ARGS_2 , &a0, &a1
#define GD_LOCAL_ARGS_3 , &a0, &a1, &a2
#define GD_SHARED_STORE_0(j)
#define GD_SHARED_STORE_1(j) SFX(gd_store)(&s0[j], a0);
#define GD_SHARED_STORE_2(j) GD_SHARED_STORE_1(j) SFX(gd_store)(&s1[j], a1);
#define GD_SHARED_STORE_3(j) GD_SHARED_STORE_2(j) SFX(gd_store)(&s2[j], a2);

/* The lazy step on the used rows of a row-sparse gradient, each element of the parameter and its state loaded
 * and stored once with relaxed atomics around the rule. */
#define GD_RULE(name, n_slots, work, catch_up)                                                              \
    static void SFX(gd_rows_shared_##name)(REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_rows *g,        \
                                           const COEF *c)                                                   \
    {                                                                                                       \
        (void)s0; (void)s1; (void)s2;                                                                       \
        const REAL *values = (const REAL *)g->values;                                                       \
        int64_t n = g->row_size;                                                                            \
        for (int64_t i = 0; i < g->n_used; ++i) {                                                           \
            int64_t j0 = gd_index(g->rows, g->rows_is_64, i) * n;                                           \
            for (int64_t j = j0; j < j0 + n; ++j) {                                                         \
                REAL p = SFX(gd_load)(&th[j]);                                                              \
                GD_SHARED_LOAD_##n_slots(j)                                                                 \
                SFX(gd_##name)(&p, SFX(gd_grad_in)(&p, values[i * n + j - j0], c) GD_LOCAL_ARGS_##n_slots, c); \
                SFX(gd_store)(&th[j], p);                                                                   \
                GD_SHARED_STORE_##n_slots(j)                                                                \
            }                                                                                               \
        }                                                                                                   \
    }
#include "kernels.def"
#undef GD_RULE

typedef void (*SFX(gd_rows_shared_fn))(REAL *, REAL *, REAL *, REAL *, const gd_rows *, const COEF *);

static const SFX(gd_rows_shared_fn) SFX(gd_rows_shared_table)[] = {
#define GD_RULE(name, n_slots, work, catch_up) SFX(gd_rows_shared_##name),
#include "kernels.def"
#undef GD_RULE
};

/* One lazy step of a row-sparse gradient on a parameter shared between threads, on this thread. */
static void SFX(gd_rows_shared_step)(int rule, void *param, void *const *slots, const gd_rows *g,
                                     const gd_hyper *h)
{
    COEF c = SFX(gd_prepare_kernel)(rule, h);
    SFX(gd_rows_shared_table)[rule]((REAL *)param, GD_SLOT(slots, 0), GD_SLOT(slots, 1), GD_SLOT(slots, 2), g, &c);
}

/* Blocks [b_lo, b_hi) of the parameter, all within one row: brought to step t - 1 (a catch-up per run of blocks
 * that have seen the same step) and stepped at t with grad, the row's values from block b_lo on. */
static void SFX(gd_exact_blocks)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t b_lo, int64_t b_hi,
                                 const REAL *grad, const CTX *x, SKIP *cache)
{
    int64_t t = x->h->t, lo = b_lo * GD_EXACT_BLOCK;
    for (int64_t b = b_lo, run_end; b < b_hi; b = run_end) {
        int64_t seen = SFX(gd_block_seen)(x->exact, b);
        for (run_end = b + 1; run_end < b_hi && SFX(gd_block_seen)(x->exact, run_end) == seen; ++run_end)
            ;
        if (seen < t - 1)
            SFX(gd_skipped)(rule, th, s0, s1, s2, b * GD_EXACT_BLOCK, run_end * GD_EXACT_BLOCK, seen, t - 1, x,
                            cache);
    }
    SFX(gd_range_table)[rule](th + lo, grad, GD_AT(s0, lo), GD_AT(s1, lo), GD_AT(s2, lo), 0,
                              (b_hi - b_lo) * GD_EXACT_BLOCK, &x->c);
    for (int64_t b = b_lo; b < b_hi; ++b)
        x->exact->last[b] = t;
}

/* The exact mode on used rows [lo, hi), moved to block starts (gd_rows_block_start) so that no two threads
 * share a block. The blocks a row covers whole are stepped straight from its values; a block shared with a
 * neighbouring row or the parameter's end is filled from the rows that reach into it (rows are sorted). */
static void SFX(gd_rows_exact)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, const gd_rows *g, int64_t lo,
                               int64_t hi, const CTX *x)
{
    const REAL *values = (const REAL *)g->values;
    int64_t n = g->row_size, i = gd_rows_block_start(g, lo), end = gd_rows_block_start(g, hi), k = 0;
    REAL grad[GD_EXACT_BLOCK];
    SKIP cache = {-1, 0, 0};
    while (i < end) {
        int64_t j = gd_index(g->rows, g->rows_is_64, i) * n + k, b = j / GD_EXACT_BLOCK;
        int64_t base = b * GD_EXACT_BLOCK, whole = j == base ? (n - k) / GD_EXACT_BLOCK : 0;
        if (whole > 0) {
            SFX(gd_exact_blocks)(rule, th, s0, s1, s2, b, b + whole, values + i * n + k, x, &cache);
            k += whole * GD_EXACT_BLOCK;
        } else {
            for (int q = 0; q < GD_EXACT_BLOCK; ++q)
                grad[q] = 0;
            while (i < end && (j = gd_index(g->rows, g->rows_is_64, i) * n + k) < base + GD_EXACT_BLOCK) {
                int64_t take = n - k < base + GD_EXACT_BLOCK - j ? n - k : base + GD_EXACT_BLOCK - j;
                for (int64_t q = 0; q < take; ++q)
                    grad[j - base + q] = values[i * n + k + q];
                k += take;
                if (k == n) {
                    ++i;
                    k = 0;
                }
            }
            SFX(gd_exact_block)(rule, th, s0, s1, s2, g->n_rows * n, b, grad, x, &cache);
            continue;
        }
        if (k == n) {
            ++i;
            k = 0;
        }
    }
}

static void SFX(gd_rows_step)(int rule, void *param, void *const *slots, const gd_rows *g, const gd_hyper *h,
                              const gd_exact *e)
{
    CTX x = SFX(gd_context)(rule, h, e);
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
    if (g->row_size == 0)
        return;
#define GD_ROWS_RANGE(lo, hi)                                         \
    if (e)                                                            \
        SFX(gd_rows_exact)(rule, th, s0, s1, s2, g, lo, hi, &x);      \
    else                                                              \
        SFX(gd_rows_lazy_table)[rule](th, s0, s1, s2, g, lo, hi, &x)
    GD_SPLIT(g->n_used, gd_threads_for(g->n_used * g->row_size * gd_rule_work[rule] * (e ? 2 : 1)), GD_ROWS_RANGE);
#undef GD_ROWS_RANGE
}

/* Blocks [b_lo, b_hi) of an n-element parameter brought up to step h->t; a run of blocks that have seen the
 * same step catches up in one loop. */
static void SFX(gd_flush_blocks)(int rule, REAL *th, REAL *s0, REAL *s1, REAL *s2, int64_t n, int64_t b_lo,
                                 int64_t b_hi, const CTX *x)
{
    SKIP cache = {-1, 0, 0};
    for (int64_t b = b_lo, run_end; b < b_hi; b = run_end) {
        int64_t seen = SFX(gd_block_seen)(x->exact, b);
        for (run_end = b + 1; run_end < b_hi && SFX(gd_block_seen)(x->exact, run_end) == seen; ++run_end)
            ;
        int64_t lo = b * GD_EXACT_BLOCK, hi = n - run_end * GD_EXACT_BLOCK > 0 ? run_end * GD_EXACT_BLOCK : n;
        if (seen < x->h->t)
            SFX(gd_skipped)(rule, th, s0, s1, s2, lo, hi, seen, x->h->t, x, &cache);
    }
}

static void SFX(gd_catch_up)(int rule, void *param, void *const *slots, int64_t n, const gd_hyper *h,
                             const gd_exact *e)
{
    CTX x = SFX(gd_context)(rule, h, e);
    REAL *th = (REAL *)param, *s0 = GD_SLOT(slots, 0), *s1 = GD_SLOT(slots, 1), *s2 = GD_SLOT(slots, 2);
#define GD_FLUSH_RANGE(lo, hi) SFX(gd_flush_blocks)(rule, th, s0, s1, s2, n, lo, hi, &x)
    GD_SPLIT(gd_exact_blocks(n), gd_threads_for(n * gd_rule_work[rule]), GD_FLUSH_RANGE);
#undef GD_FLUSH_RANGE
}

#undef GD_SLOT
#undef GD_AT
#undef CTX
#undef SKIP
#undef COEF

/* ---- Gradient clipping's global norm ------------------------------------------------------------------------ */

/* The sum of squares of x[0, n), in double: blocks of GD_NORM_BLOCK elements summed in order within each block,
 * the blocks' sums added in order, so that the result is the same on any number of threads. */
static double SFX(gd_sum_squares)(const REAL *x, int64_t n, double *block_sums)
{
    int64_t n_blocks = (n + GD_NORM_BLOCK - 1) / GD_NORM_BLOCK;
#define GD_SQUARES_RANGE(lo, hi)                                                                           \
    for (int64_t b = (lo); b < (hi); ++b) {                                                                \
        int64_t end = (b + 1) * GD_NORM_BLOCK < n ? (b + 1) * GD_NORM_BLOCK : n;                           \
        double sum = 0;                                                                                    \
        for (int64_t i = b * GD_NORM_BLOCK; i < end; ++i)                                                  \
            sum += (double)x[i] * (double)x[i];                                                            \
        block_sums[b] = sum;                                                                               \
    }
    GD_SPLIT(n_blocks, gd_threads_for(n), GD_SQUARES_RANGE);
#undef GD_SQUARES_RANGE
    double total = 0;
    for (int64_t b = 0; b < n_blocks; ++b)
        total += block_sums[b];
    return total;
}

