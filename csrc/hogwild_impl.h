/* Matrix factorization by Hogwild! (hogwild.h), written once over REAL / SFX(); included by kernels.c per type
 * after impl.h, whose shared row steps it calls. */

/* Entry p: its error, and the gradients of L_u and R_v into g (2 * rank values), from one relaxed read of each. */
static double SFX(gd_entry_gradient)(const gd_factors *f, int64_t p, double mu, REAL *g)
{
    int64_t k = f->rank, u = f->users[p], v = f->items[p];
    const REAL *L = (const REAL *)f->user + u * k, *R = (const REAL *)f->item + v * k;
    REAL *gL = g, *gR = g + k;
    REAL e = -((const REAL *)f->ratings)[p];
    for (int64_t c = 0; c < k; ++c) {
        gL[c] = SFX(gd_load)(&L[c]); /* L_u, R_v for now; the gradients below */
        gR[c] = SFX(gd_load)(&R[c]);
        e += gL[c] * gR[c];
    }
    REAL mu_u = (REAL)(mu / f->user_degree[u]), mu_v = (REAL)(mu / f->item_degree[v]);
    for (int64_t c = 0; c < k; ++c) {
        REAL l = gL[c], r = gR[c];
        gL[c] = e * r + mu_u * l;
        gR[c] = e * l + mu_v * r;
    }
    return (double)e * e;
}

/* Entries come in random order: entry q + 8 (its user, item and rating) and the factor rows and degrees entry
 * q + 2 picks are loaded ahead, or each entry would cost a chain of memory latencies. */
GD_ALWAYS_INLINE void SFX(gd_prefetch_entries)(const gd_factors *f, const int64_t *order, int64_t q, int64_t hi)
{
    if (q + 8 < hi) {
        int64_t p = order[q + 8];
        GD_PREFETCH(&f->users[p]);
        GD_PREFETCH(&f->items[p]);
        GD_PREFETCH((const REAL *)f->ratings + p);
    }
    if (q + 2 < hi) {
        int64_t p = order[q + 2];
        const REAL *L = (const REAL *)f->user + f->users[p] * f->rank, *R = (const REAL *)f->item + f->items[p] * f->rank;
        for (int64_t c = 0; c < f->rank; c += 64 / (int64_t)sizeof(REAL)) {
            GD_PREFETCH(L + c);
            GD_PREFETCH(R + c);
        }
        GD_PREFETCH(L + f->rank - 1); /* a row may end on the next line */
        GD_PREFETCH(R + f->rank - 1);
        GD_PREFETCH(&f->user_degree[f->users[p]]);
        GD_PREFETCH(&f->item_degree[f->items[p]]);
    }
}

static double SFX(gd_factorize_epoch)(const gd_factors *f, const int64_t *order, int64_t n_order, double mu,
                                      const gd_hyper *h0, const double *lr, int64_t *n_steps)
{
    double totals[GD_MAX_THREADS] = {0};
    int64_t last_step[GD_MAX_THREADS] = {0};
    int n_threads = f->n_threads < GD_MAX_THREADS ? f->n_threads : GD_MAX_THREADS;
    GD_PRAGMA(omp parallel num_threads(n_threads))
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = n_order * tid / nt, hi = n_order * (tid + 1) / nt, s = tid;
        REAL *g = (REAL *)f->scratch + f->scratch_stride * tid;
        double sum = 0; /* local: the threads' entries of totals and last_step share cache lines */
        for (int64_t q = lo; q < hi; ++q, s += nt) {
            int64_t p = order[q];
            SFX(gd_prefetch_entries)(f, order, q, hi);
            gd_hyper h = *h0;
            h.t = h0->t + s + 1;
            h.lr = lr[s];
            sum += SFX(gd_entry_gradient)(f, p, mu, g);
            gd_rows user = {0, 1, f->rank, &f->users[p], g, 1}, item = {0, 1, f->rank, &f->items[p], g + f->rank, 1};
            SFX(gd_rows_shared_step)(f->rule, f->user, f->user_slots, &user, &h);
            SFX(gd_rows_shared_step)(f->rule, f->item, f->item_slots, &item, &h);
        }
        totals[tid] = sum;
        last_step[tid] = hi > lo ? s - nt + 1 : 0;
    }
    return gd_threads_total(totals, last_step, n_threads, n_steps);
}
