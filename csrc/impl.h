/* The loops around the rules, written once over REAL / SFX() and expanded per rule by rules.def.
 * Included by kernels.c once per floating type. */

#include "rules.h"

/* The slot arguments a rule's element function takes, by its number of state buffers. */
#define GD_SLOT_ARGS_0(i)
#define GD_SLOT_ARGS_1(i) , &s0[i]
#define GD_SLOT_ARGS_2(i) , &s0[i], &s1[i]
#define GD_SLOT_ARGS_3(i) , &s0[i], &s1[i], &s2[i]

/* Elements [lo, hi) of one contiguous parameter: a branch-free loop the compiler vectorises. */
#define GD_RULE(name, n_slots, work)                                                                          \
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
#define GD_RULE(name, n_slots, work) SFX(gd_range_##name),
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
    int n_threads = gd_threads_for(total * gd_rule_work[rule]);
    if (n_threads <= 1) {
        SFX(gd_batch_range)(range, b, 0, total, &c);
        return;
    }
    GD_PRAGMA(omp parallel num_threads(n_threads))
    {
        int64_t tid = omp_get_thread_num(), nt = omp_get_num_threads();
        SFX(gd_batch_range)(range, b, total * tid / nt, total * (tid + 1) / nt, &c);
    }
}

#undef COEF
