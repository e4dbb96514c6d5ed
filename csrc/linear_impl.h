/* The losses and the epoch loop of linear.h, written once over REAL / SFX(); included by kernels.c per type,
 * after impl.h, whose rule steps it calls. */

/* x_i . w over the features of example i, for the K = 1 case every loss but softmax has (a register sum). The
 * weights of CSR rows are read with relaxed atomics: Hogwild!'s threads write them meanwhile. */
static REAL SFX(gd_dot)(const gd_data *d, int64_t i, const REAL *w)
{
    REAL sum = 0;
    if (d->dense) {
        const REAL *x = (const REAL *)d->dense + i * d->n_features;
        for (int64_t j = 0; j < d->n_features; ++j)
            sum += x[j] * w[j];
        return sum;
    }
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data;
    int64_t end = gd_index(g->indptr, g->index_is_64, i + 1);
    for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < end; ++p)
        sum += data[p] * SFX(gd_load)(&w[gd_index(g->indices, g->index_is_64, p)]);
    return sum;
}

/* z = scale * x_i W + b (K outputs); scale is the factor of a scaled W (gd_train_epoch), else 1. */
static void SFX(gd_scores)(const gd_data *d, int64_t i, const REAL *w, const REAL *b, int64_t K, REAL scale,
                           REAL *z)
{
    if (K == 1) {
        z[0] = SFX(gd_load)(&b[0]) + scale * SFX(gd_dot)(d, i, w);
        return;
    }
    for (int64_t k = 0; k < K; ++k)
        z[k] = 0;
    if (d->dense) {
        const REAL *x = (const REAL *)d->dense + i * d->n_features;
        for (int64_t j = 0; j < d->n_features; ++j)
            for (int64_t k = 0; k < K; ++k)
                z[k] += x[j] * w[j * K + k];
    } else {
        const gd_csr *g = &d->csr;
        const REAL *data = (const REAL *)g->data;
        int64_t end = gd_index(g->indptr, g->index_is_64, i + 1);
        for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < end; ++p) {
            int64_t j = gd_index(g->indices, g->index_is_64, p);
            for (int64_t k = 0; k < K; ++k)
                z[k] += data[p] * SFX(gd_load)(&w[j * K + k]);
        }
    }
    for (int64_t k = 0; k < K; ++k)
        z[k] = SFX(gd_load)(&b[k]) + scale * z[k];
}

/* The loss of example i from its scores z, and dz = dL/dz (linear.h gives the formulas); in double. */
static double SFX(gd_loss_dz)(const gd_model *m, const REAL *z, const void *y, int64_t i, REAL *dz)
{
    int64_t K = m->n_outputs;
    double d;
    if (K == 1) {
        double loss = gd_loss_one(m->loss, z[0], ((const REAL *)y)[i], m->epsilon, &d);
        dz[0] = (REAL)d;
        return loss;
    }
    int64_t c = ((const int64_t *)y)[i];
    if (m->loss != GD_LOSS_SOFTMAX) { /* one-vs-rest: output k's target is +1 for class k, else -1 */
        double loss = 0;
        for (int64_t k = 0; k < K; ++k) {
            loss += gd_loss_one(m->loss, z[k], k == c ? 1.0 : -1.0, m->epsilon, &d);
            dz[k] = (REAL)d;
        }
        return loss;
    }
    double top = z[0], sum = 0;
    for (int64_t k = 1; k < K; ++k)
        top = z[k] > top ? z[k] : top;
    for (int64_t k = 0; k < K; ++k)
        sum += exp(z[k] - top);
    for (int64_t k = 0; k < K; ++k)
        dz[k] = (REAL)(exp(z[k] - top) / sum - (k == c));
    return log(sum) + top - z[c];
}

/* The example's weight (1 without weights); its loss and dz scaled by it. */
GD_INLINE double SFX(gd_weighted)(const gd_model *m, const gd_data *d, int64_t i, REAL *dz, double loss)
{
    if (!d->weight)
        return loss;
    double w = d->weight[i];
    for (int64_t k = 0; k < m->n_outputs; ++k)
        dz[k] *= (REAL)w;
    return w * loss;
}

/* The position of feature j in the batch's touched features (x->touched, x->values), found in the thread's
 * hash table (open addressing, linear probing, Fibonacci hashing: feature numbers close together spread out), or
 * appended with its row of values zeroed. The table has at least twice the entries the batch can touch. */
GD_INLINE int64_t SFX(gd_touch)(const gd_scratch *x, int64_t j, int64_t K, int64_t *n_touched)
{
    uint64_t mask = ((uint64_t)1 << x->table_bits) - 1;
    uint64_t h = ((uint64_t)j * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - x->table_bits);
    for (;; h = (h + 1) & mask) {
        int32_t q = x->table[h];
        if (q < 0)
            break;
        if (x->touched[q] == j)
            return q;
    }
    int64_t q = (*n_touched)++;
    x->table[h] = (int32_t)q;
    x->touched[q] = j;
    for (int64_t k = 0; k < K; ++k)
        ((REAL *)x->values)[q * K + k] = 0;
    return q;
}

/* The table emptied (every entry -1 again) at the batch's end. Entries are removed in the reverse order of their
 * insertion: the probe sequence of each was made of earlier entries only, which are then all still there. */
static void SFX(gd_untouch)(const gd_scratch *x, int64_t n_touched)
{
    uint64_t mask = ((uint64_t)1 << x->table_bits) - 1;
    for (int64_t q = n_touched - 1; q >= 0; --q) {
        uint64_t h = ((uint64_t)x->touched[q] * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - x->table_bits);
        while (x->table[h] != q)
            h = (h + 1) & mask;
        x->table[h] = -1;
    }
}

/* gw[j, :] += scale * x_ij * dz for the features j of example i. With n_touched (CSR data in the epoch loop), gw
 * is x->values, indexed by the features' positions in touched (gd_touch); without, gw is a dense gradient the
 * caller zeroed. */
static void SFX(gd_accumulate)(const gd_data *d, const gd_scratch *x, int64_t K, int64_t i, REAL scale, REAL *gw,
                               int64_t *n_touched)
{
    const REAL *dz = (const REAL *)x->dz;
    if (d->dense) {
        const REAL *row = (const REAL *)d->dense + i * d->n_features;
        for (int64_t j = 0; j < d->n_features; ++j)
            for (int64_t k = 0; k < K; ++k)
                gw[j * K + k] += scale * row[j] * dz[k];
        return;
    }
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data;
    for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < gd_index(g->indptr, g->index_is_64, i + 1); ++p) {
        int64_t j = gd_index(g->indices, g->index_is_64, p);
        int64_t row = n_touched ? SFX(gd_touch)(x, j, K, n_touched) : j;
        for (int64_t k = 0; k < K; ++k)
            gw[row * K + k] += scale * data[p] * dz[k];
    }
}

/* g[q] += alpha w[q] (the L2 penalty's gradient) and, with sd > 0, N(0, sd^2) noise, for q < n. */
GD_INLINE void SFX(gd_penalise)(REAL *g, const REAL *w, int64_t n, double alpha, double sd, uint64_t *rng)
{
    if (alpha > 0)
        for (int64_t q = 0; q < n; ++q)
            g[q] += (REAL)alpha * SFX(gd_load)(&w[q]);
    if (sd > 0)
        for (int64_t q = 0; q < n; ++q)
            g[q] += (REAL)(sd * gd_normal(rng));
}

/* The rows of W (or, rows NULL, of b) stepped by their gradient rows `values`: by the rule's row-sparse step,
 * or, with shared (Hogwild!), element by element with relaxed atomics. */
static void SFX(gd_step_rows)(const gd_model *m, int64_t n_rows, const void *rows, int rows_is_64, int64_t n_used,
                              const REAL *values, const gd_hyper *h, int shared)
{
    static const int64_t first_row = 0;
    int intercept = rows == NULL;
    gd_rows g = {n_rows, n_used, m->n_outputs, intercept ? &first_row : rows, values, intercept || rows_is_64};
    void *param = intercept ? m->b : m->w;
    void *const *slots = intercept ? m->b_slots : m->w_slots;
    if (shared)
        SFX(gd_rows_shared_step)(m->rule, param, slots, &g, h);
    else
        SFX(gd_rows_step)(m->rule, param, slots, &g, h, NULL);
}

/* b stepped by its gradient grad_b (when the model fits an intercept), at learning rate lr * intercept_scale. */
static void SFX(gd_step_intercept)(const gd_model *m, const gd_scratch *x, const gd_hyper *h, int shared)
{
    gd_hyper scaled = *h;
    scaled.lr *= m->intercept_scale;
    if (m->fit_intercept)
        SFX(gd_step_rows)(m, 1, NULL, 1, 1, (const REAL *)x->grad_b, &scaled, shared);
}

/* The gradient rows of a one-row CSR batch, written straight into values (its features, sorted and distinct in
 * a canonical row, are the rows of W to step). */
static void SFX(gd_one_row_gradient)(const gd_model *m, const gd_data *d, const gd_scratch *x, int64_t i,
                                     double alpha, double sd)
{
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data, *w = (const REAL *)m->w, *dz = (const REAL *)x->dz;
    REAL *values = (REAL *)x->values;
    int64_t K = m->n_outputs, p0 = gd_index(g->indptr, g->index_is_64, i);
    int64_t n = gd_index(g->indptr, g->index_is_64, i + 1) - p0;
    for (int64_t q = 0; q < n; ++q) {
        int64_t j = gd_index(g->indices, g->index_is_64, p0 + q);
        for (int64_t k = 0; k < K; ++k)
            values[q * K + k] = data[p0 + q] * dz[k];
        SFX(gd_penalise)(values + q * K, w + j * K, K, alpha, sd, x->rng);
    }
}

/* The gradient rows of a CSR batch of several rows, accumulated in values (gd_accumulate): the penalty and the
 * noise added, the hash table emptied. */
static void SFX(gd_rows_gradient)(const gd_model *m, const gd_scratch *x, int64_t n_touched, double alpha,
                                  double sd)
{
    const REAL *w = (const REAL *)m->w;
    int64_t K = m->n_outputs;
    for (int64_t q = 0; q < n_touched; ++q)
        SFX(gd_penalise)((REAL *)x->values + q * K, w + x->touched[q] * K, K, alpha, sd, x->rng);
    SFX(gd_untouch)(x, n_touched);
}

/* W stepped by the dense loop with the gradient in grad_w. */
static void SFX(gd_step_dense)(const gd_model *m, const gd_data *d, const gd_scratch *x, const gd_hyper *h)
{
    int64_t size = d->n_features * m->n_outputs;
    void *param = m->w, *slot[GD_MAX_SLOTS];
    const void *grad = x->grad_w;
    gd_dense_batch batch = {1, &size, &param, &grad, {NULL, NULL, NULL}, 1, NULL};
    for (int k = 0; k < GD_MAX_SLOTS; ++k) {
        slot[k] = m->w_slots[k];
        batch.slot[k] = m->w_slots[k] ? &slot[k] : NULL;
    }
    SFX(gd_dense_step)(m->rule, &batch, h);
}

/* Examples come in random order, so each would cost a chain of memory latencies: where the row of example q + 8
 * starts, that row (with its target and weight) at q + 4 and the weights the features of example q + 1 pick are
 * loaded ahead (CSR data). */
#define GD_AHEAD 4
GD_ALWAYS_INLINE void SFX(gd_prefetch_ahead)(const gd_data *d, const int64_t *order, int64_t q, int64_t n_order,
                                            const REAL *w, int64_t K)
{
    const gd_csr *g = &d->csr;
    if (q + 2 * GD_AHEAD < n_order)
        GD_PREFETCH((const char *)g->indptr + order[q + 2 * GD_AHEAD] * (g->index_is_64 ? 8 : 4));
    if (q + GD_AHEAD < n_order) {
        int64_t i = order[q + GD_AHEAD], width = g->index_is_64 ? 8 : 4;
        int64_t p = gd_index(g->indptr, g->index_is_64, i), end = gd_index(g->indptr, g->index_is_64, i + 1);
        for (int64_t line = p * width / 64; line <= (end * width - 1) / 64; ++line)
            GD_PREFETCH((const char *)g->indices + line * 64);
        for (int64_t line = p * (int64_t)sizeof(REAL) / 64; line <= (end * (int64_t)sizeof(REAL) - 1) / 64; ++line)
            GD_PREFETCH((const char *)g->data + line * 64);
        GD_PREFETCH((const char *)d->y + i * (K == 1 ? (int64_t)sizeof(REAL) : 8)); /* its target, a class with K > 1 */
        if (d->weight)
            GD_PREFETCH(d->weight + i);
    }
    if (q + 1 < n_order) {
        int64_t i = order[q + 1], end = gd_index(g->indptr, g->index_is_64, i + 1);
        for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < end; ++p)
            GD_PREFETCH(w + gd_index(g->indices, g->index_is_64, p) * K);
    }
}
#undef GD_AHEAD

/* A batch, examples order[start, end) of order[0, n_order): its losses and its gradient at the current W (times
 * scale) and b, with the penalty alpha W and noise of sd, into thread scratch x (grad_b, and grad_w or
 * values). Returns the sum of the losses; *n_touched gets the features a several-row CSR batch touched. */
static double SFX(gd_batch_gradient)(const gd_model *m, const gd_data *d, const gd_scratch *x, const int64_t *order,
                                     int64_t start, int64_t end, int64_t n_order, double scale, double alpha,
                                     double sd, int64_t *n_touched)
{
    const REAL *w = (const REAL *)m->w, *b = (const REAL *)m->b;
    REAL *gw = (REAL *)x->grad_w, *gb = (REAL *)x->grad_b, *z = (REAL *)x->z, *dz = (REAL *)x->dz;
    int64_t K = m->n_outputs;
    int one_row = !d->dense && end - start == 1;
    REAL mean = (REAL)(1.0 / (double)(end - start));
    double total = 0;
    *n_touched = 0;
    for (int64_t k = 0; k < K; ++k)
        gb[k] = 0;
    if (d->dense)
        for (int64_t j = 0; j < d->n_features * K; ++j)
            gw[j] = 0;
    for (int64_t q = start; q < end; ++q) {
        if (!d->dense)
            SFX(gd_prefetch_ahead)(d, order, q, n_order, w, K);
        SFX(gd_scores)(d, order[q], w, b, K, (REAL)scale, z);
        total += SFX(gd_weighted)(m, d, order[q], dz, SFX(gd_loss_dz)(m, z, d->y, order[q], dz));
        for (int64_t k = 0; k < K; ++k)
            gb[k] += mean * dz[k];
        if (!one_row)
            SFX(gd_accumulate)(d, x, K, order[q], mean, d->dense ? gw : (REAL *)x->values, n_touched);
    }
    if (sd > 0)
        for (int64_t k = 0; k < K; ++k)
            gb[k] += (REAL)(sd * gd_normal(x->rng));
    if (d->dense)
        SFX(gd_penalise)(gw, w, d->n_features * K, alpha, sd, x->rng);
    else if (one_row)
        SFX(gd_one_row_gradient)(m, d, x, order[start], alpha, sd);
    else
        SFX(gd_rows_gradient)(m, x, *n_touched, alpha, sd);
    return total;
}

/* ---- the L1 penalty and averaging, on the weights a step touched ------------------------------------------ */

/* The rule's per-coordinate learning rate at element e after its step (the diagonal of its preconditioner, the
 * survey's equations; a framework's form takes its rule's): eta for sgd, momentum and nag, eta / sqrt(G + eps)
 * (adagrad), eta / sqrt(E[g^2] + eps) (rmsprop), eta RMS[dtheta] / RMS[g] (adadelta), eta / (sqrt(vhat) + eps)
 * (adam, nadam; amsgrad with its running max), eta / u (adamax). gdfast/optim/reference.py: coordinate_rate. */
static double SFX(gd_coordinate_rate)(const gd_model *m, int64_t e, const gd_hyper *h)
{
    const REAL *s0 = (const REAL *)m->w_slots[0], *s1 = (const REAL *)m->w_slots[1];
    const REAL *s2 = (const REAL *)m->w_slots[2];
    switch (gd_kernel_rule[m->rule]) {
    case GD_RULE_adagrad:
    case GD_RULE_rmsprop:
        return h->lr / sqrt(s0[e] + h->eps);
    case GD_RULE_adadelta:
        return h->lr * sqrt(s1[e] + h->eps) / sqrt(s0[e] + h->eps);
    case GD_RULE_adam:
    case GD_RULE_nadam:
        return h->lr / (sqrt(s1[e] * gd_inv_bias(h->beta2, h->t)) + h->eps);
    case GD_RULE_amsgrad:
        return h->lr / (sqrt(s2[e]) + h->eps);
    case GD_RULE_adamax:
        return s1[e] > 0 ? h->lr / s1[e] : h->lr;
    default:
        return h->lr;
    }
}

/* The L1 penalty on element e: for the fixed-rate rules the cumulative truncation of Tsuruoka et al. (2009), the
 * weight pulled toward 0 by u (the penalty l1 eta summed over every step so far) less what it already gave (q),
 * never across 0; for the adaptive rules the proximal step of the rule's own rate eta_e:
 * w <- sign(w) max(0, |w| - l1 eta_e). */
GD_INLINE void SFX(gd_l1_element)(const gd_model *m, int64_t e, double u, const gd_hyper *h)
{
    REAL *w = (REAL *)m->w;
    double before = SFX(gd_load)(&w[e]), after;
    if (m->l1_q) {
        REAL *q = (REAL *)m->l1_q;
        after = before > 0 ? fmax(0.0, before - (u + q[e])) : before < 0 ? fmin(0.0, before + (u - q[e])) : 0.0;
        SFX(gd_store)(&q[e], (REAL)(q[e] + (after - before)));
    } else {
        double cut = m->l1 * SFX(gd_coordinate_rate)(m, e, h);
        after = before > cut ? before - cut : before < -cut ? before + cut : 0.0;
    }
    SFX(gd_store)(&w[e], (REAL)after);
}

/* A feature's mean brought up to step t - 1 (its weight unchanged since avg_stamp[j]), before its step at t. */
GD_INLINE void SFX(gd_average_catch_up)(const gd_model *m, int64_t j, int64_t t)
{
    REAL *avg = (REAL *)m->avg_w, *w = (REAL *)m->w;
    int64_t K = m->n_outputs, seen = m->avg_stamp[j] - m->avg_start + 1, now = t - m->avg_start;
    seen = seen > 0 ? seen : 0;
    if (now > seen)
        for (int64_t k = 0; k < K; ++k)
            avg[j * K + k] += (SFX(gd_load)(&w[j * K + k]) - avg[j * K + k]) * (REAL)(1.0 - (double)seen / now);
}

/* After the step at t: the means of the given elements (every one of W when rows is NULL) and of b. */
static void SFX(gd_average_step)(const gd_model *m, const void *rows, int rows_is_64, int64_t n, int64_t t)
{
    REAL *avg = (REAL *)m->avg_w, *w = (REAL *)m->w, *avg_b = (REAL *)m->avg_b, *b = (REAL *)m->b;
    int64_t K = m->n_outputs, k_t = t - m->avg_start + 1;
    if (k_t < 1)
        return;
    REAL inv = (REAL)(1.0 / (double)k_t);
    for (int64_t q = 0; q < n; ++q) {
        int64_t j = rows ? gd_index(rows, rows_is_64, q) : q;
        for (int64_t k = 0; k < K; ++k)
            avg[j * K + k] += (SFX(gd_load)(&w[j * K + k]) - avg[j * K + k]) * inv;
        if (m->avg_stamp)
            m->avg_stamp[j] = t;
    }
    for (int64_t k = 0; k < K; ++k)
        avg_b[k] += (SFX(gd_load)(&b[k]) - avg_b[k]) * inv;
}

/* The penalty and the averages around a step of the rows (rows NULL: every feature, dense data): before=1 the
 * averages' catch-up, before=0 the L1 penalty at the step's cumulative total u, then the averages. */
static void SFX(gd_around_step)(const gd_model *m, const void *rows, int rows_is_64, int64_t n, double u,
                                const gd_hyper *h, int before)
{
    int64_t K = m->n_outputs;
    if (before) {
        for (int64_t q = 0; m->avg_stamp && q < n; ++q)
            SFX(gd_average_catch_up)(m, gd_index(rows, rows_is_64, q), h->t);
        return;
    }
    for (int64_t q = 0; m->l1 > 0 && q < n; ++q) {
        int64_t j = rows ? gd_index(rows, rows_is_64, q) : q;
        for (int64_t k = 0; k < K; ++k)
            SFX(gd_l1_element)(m, j * K + k, u, h);
    }
    if (m->avg_w)
        SFX(gd_average_step)(m, rows, rows_is_64, n, h->t);
}

/* The step of that batch: b at h_intercept, W at h (on the rows the gradient holds, on CSR data), with the L1
 * penalty (u: its cumulative total at this step) and the averages around it. */
static void SFX(gd_batch_step)(const gd_model *m, const gd_data *d, const gd_scratch *x, int64_t first_example,
                               int64_t n_examples, int64_t n_touched, const gd_hyper *h,
                               const gd_hyper *h_intercept, int shared, double u)
{
    const REAL *values = (const REAL *)x->values;
    const void *rows = NULL;
    int rows_is_64 = 1;
    int64_t n = d->n_features;
    if (!d->dense && n_examples == 1) {
        const gd_csr *g = &d->csr;
        int64_t p0 = gd_index(g->indptr, g->index_is_64, first_example);
        n = gd_index(g->indptr, g->index_is_64, first_example + 1) - p0;
        rows = (const char *)g->indices + p0 * (g->index_is_64 ? 8 : 4);
        rows_is_64 = g->index_is_64;
    } else if (!d->dense) {
        rows = x->touched, n = n_touched;
    }
    int around = m->l1 > 0 || m->avg_w;
    if (around)
        SFX(gd_around_step)(m, rows, rows_is_64, n, u, h, 1);
    SFX(gd_step_intercept)(m, x, h_intercept, shared);
    if (d->dense)
        SFX(gd_step_dense)(m, d, x, h);
    else
        SFX(gd_step_rows)(m, d->n_features, rows, rows_is_64, n, values, h, shared);
    if (around)
        SFX(gd_around_step)(m, rows, rows_is_64, n, u, h, 0);
}

/* clip_norm's factor of a batch's gradient, min(1, clip_norm / (N + 1e-6)) with N the L2 norm of W's gradient
 * (dense, or the rows it holds) and b's, in double: torch.nn.utils.clip_grad_norm_ over [W, b]. */
static double SFX(gd_clip_factor)(const gd_model *m, const gd_data *d, const gd_scratch *x, int64_t first_example,
                                  int64_t n_examples, int64_t n_touched)
{
    const REAL *gw = (const REAL *)(d->dense ? x->grad_w : x->values), *gb = (const REAL *)x->grad_b;
    int64_t K = m->n_outputs, n = d->n_features;
    if (!d->dense && n_examples == 1)
        n = gd_index(d->csr.indptr, d->csr.index_is_64, first_example + 1)
            - gd_index(d->csr.indptr, d->csr.index_is_64, first_example);
    else if (!d->dense)
        n = n_touched;
    double sum = 0;
    for (int64_t j = 0; j < n * K; ++j)
        sum += (double)gw[j] * gw[j];
    for (int64_t k = 0; m->fit_intercept && k < K; ++k)
        sum += (double)gb[k] * gb[k];
    double norm = sqrt(sum) + 1e-6;
    return norm > m->clip_norm ? m->clip_norm / norm : 1;
}

/* W *= scale: a scaled W made plain again. */
static void SFX(gd_unscale)(const gd_model *m, const gd_data *d, double *scale)
{
    REAL *w = (REAL *)m->w;
    for (int64_t j = 0; j < d->n_features * m->n_outputs; ++j)
        w[j] *= (REAL)*scale;
    *scale = 1;
}

/* The epoch on one thread. SGD on CSR data with an L2 penalty or weight decay (for SGD the same term, coupled
 * or decoupled) keeps W = scale * V (Bottou's trick): the penalty's step W <- (1 - lr alpha) W on every weight
 * is a product into scale, and a touched weight's gradient step on V is the rule's own step at learning rate
 * lr / scale. So the penalty reaches every weight at O(touched). Not with clipping, which takes the gradient
 * with its penalty term: then the penalty reaches the touched weights, as for the other rules. */
static double SFX(gd_epoch_serial)(const gd_model *m, const gd_data *d, const int64_t *order, int64_t n_order,
                                   int64_t batch_size, double alpha, const gd_hyper *h0, const double *lr,
                                   const double *noise_sd, int64_t *n_steps)
{
    const gd_scratch *x = &m->scratch[0];
    double penalty = alpha + h0->weight_decay;
    int scaled = !d->dense && m->rule == GD_RULE_sgd && penalty > 0 && m->l1 == 0 && !m->avg_w
                 && m->clip_norm == 0 && h0->clip_value == INFINITY;
    double scale = m->w_scale ? *m->w_scale : 1, total = 0;
    int64_t s = 0, n_touched;
    for (int64_t start = 0; start < n_order; start += batch_size, ++s) {
        int64_t end = n_order - start > batch_size ? start + batch_size : n_order;
        gd_hyper h = *h0;
        h.t = h0->t + s + 1;
        h.lr = lr[s];
        total += SFX(gd_batch_gradient)(m, d, x, order, start, end, n_order, scale, scaled ? 0 : alpha,
                                        noise_sd[s], &n_touched);
        if (m->clip_norm > 0)
            h.grad_scale = SFX(gd_clip_factor)(m, d, x, order[start], end - start, n_touched);
        gd_hyper h_w = h;
        if (scaled) { /* the penalty's step on every weight, into scale; the gradient step at lr / scale */
            double decay = 1 - h.lr * penalty;
            h_w.weight_decay = 0;
            if (decay <= 0 || scale * decay < 1e-9) { /* scale would vanish or flip: apply it, then the decay */
                SFX(gd_unscale)(m, d, &scale);
                if (decay <= 0)
                    SFX(gd_unscale)(m, d, &decay);
                else
                    scale = decay;
            } else {
                scale *= decay;
            }
            h_w.lr /= scale;
        }
        if (m->l1_u)
            *m->l1_u += m->l1 * h.lr;
        SFX(gd_batch_step)(m, d, x, order[start], end - start, n_touched, &h_w, &h, 0, m->l1_u ? *m->l1_u : 0);
    }
    if (m->w_scale)
        *m->w_scale = scale; /* the caller folds it into W (gd_model.w_scale) */
    else if (scaled)
        SFX(gd_unscale)(m, d, &scale);
    *n_steps = s;
    return total;
}

/* ---- Hogwild! with per-thread replicas of the hot features -----------------------------------------------
 * A few features in most rows (a power-law head) and the intercept make Hogwild!'s threads write the same
 * cache lines at every step. Each thread steps its own copies of those rows (the features hot_features[s], row s
 * of the replica, and b, its last row) and adds what changed to the shared rows every merge_every steps: the other threads see
 * these updates up to merge_every steps late, as they see every update a little late in Hogwild!. */

/* Replica block `block` (0: the rows of W and b, k + 1: their slot k), as stepped now or as at the last merge. */
GD_INLINE REAL *SFX(gd_replica)(const gd_model *m, const gd_scratch *x, int block, int at_merge)
{
    int64_t size = (m->n_hot + 1) * m->n_outputs;
    return (REAL *)x->replica + ((int64_t)at_merge * (1 + GD_MAX_SLOTS) + block) * size;
}

/* The replicas brought together with the shared rows: each element's change since the last merge added to the
 * shared value (first: nothing to add), and the replica restarted from the sum. */
static void SFX(gd_merge)(const gd_model *m, const gd_scratch *x, int first)
{
    int64_t n_w = m->n_hot * m->n_outputs, K = m->n_outputs;
    for (int block = 0; block <= GD_MAX_SLOTS; ++block) {
        REAL *w = (REAL *)(block ? m->w_slots[block - 1] : m->w), *b = (REAL *)(block ? m->b_slots[block - 1] : m->b);
        REAL *now = SFX(gd_replica)(m, x, block, 0), *then = SFX(gd_replica)(m, x, block, 1);
        if (!w)
            continue; /* a slot this rule does not keep */
        for (int64_t e = 0; e < n_w + K; ++e) {
            REAL *shared = e < n_w ? &w[m->hot_features[e / K] * K + e % K] : &b[e - n_w];
            REAL value = first ? SFX(gd_load)(shared) : SFX(gd_atomic_add)(shared, now[e] - then[e]);
            now[e] = then[e] = value;
        }
    }
}

/* Feature j's replica row, or -1 for a cold feature (gd_model: hot_bits, hot_slot). Without branches: hot and
 * cold features come mixed in a row, and a mispredicted branch per nonzero costs more than the loads. A cold
 * feature reads hot_slot[0], a line always in cache. */
GD_INLINE int64_t SFX(gd_hot_slot)(const gd_model *m, int64_t j)
{
    int64_t hot = (int64_t)((m->hot_bits[j >> 6] >> (j & 63)) & 1);
    int64_t slot = m->hot_slot[j & -hot];
    return hot ? slot : -1;
}

/* One example on one thread: hot features and b read and stepped on the thread's replicas, cold ones on the
 * shared W with relaxed atomics. Its gradient rows go to values, the hot ones first (their replica rows in
 * touched[0, n_hot_here)), the cold ones from the end back (their features). Returns its loss. The selects
 * between a hot and a cold feature read both sides (the shared row of a hot feature changes only at merges, so
 * reading it costs no contention) to stay free of branches. */
static double SFX(gd_example_replicated)(const gd_model *m, const gd_data *d, const gd_scratch *x, int64_t i,
                                         double alpha, double sd, const gd_hyper *h)
{
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data, *w = (const REAL *)m->w;
    REAL *hot = SFX(gd_replica)(m, x, 0, 0), *z = (REAL *)x->z, *dz = (REAL *)x->dz;
    REAL *gb = (REAL *)x->grad_b, *values = (REAL *)x->values;
    int64_t K = m->n_outputs, n_hot = m->n_hot, p0 = gd_index(g->indptr, g->index_is_64, i);
    int64_t n = gd_index(g->indptr, g->index_is_64, i + 1) - p0, first_cold = n, n_hot_here = 0;
    void *hot_slots[GD_MAX_SLOTS];
    for (int64_t k = 0; k < K; ++k)
        z[k] = hot[n_hot * K + k];
    for (int64_t p = p0; p < p0 + n; ++p) {
        int64_t j = gd_index(g->indices, g->index_is_64, p), slot = SFX(gd_hot_slot)(m, j);
        const REAL *row = slot >= 0 ? hot + slot * K : w + j * K;
        for (int64_t k = 0; k < K; ++k)
            z[k] += data[p] * SFX(gd_load)(&row[k]);
    }
    double loss = SFX(gd_weighted)(m, d, i, dz, SFX(gd_loss_dz)(m, z, d->y, i, dz));
    for (int64_t p = p0; p < p0 + n; ++p) {
        int64_t j = gd_index(g->indices, g->index_is_64, p), slot = SFX(gd_hot_slot)(m, j), is_hot = slot >= 0;
        int64_t q = is_hot ? n_hot_here : first_cold - 1;
        n_hot_here += is_hot;
        first_cold -= 1 - is_hot;
        x->touched[q] = is_hot ? slot : j;
        for (int64_t k = 0; k < K; ++k)
            values[q * K + k] = data[p] * dz[k];
        SFX(gd_penalise)(values + q * K, is_hot ? hot + slot * K : w + j * K, K, alpha, sd, x->rng);
    }
    for (int k = 0; k < GD_MAX_SLOTS; ++k)
        hot_slots[k] = m->w_slots[k] ? SFX(gd_replica)(m, x, k + 1, 0) : NULL;
    gd_rows hot_rows = {n_hot, n_hot_here, K, x->touched, values, 1};
    SFX(gd_rows_step)(m->rule, hot, hot_slots, &hot_rows, h, NULL);
    SFX(gd_step_rows)(m, d->n_features, x->touched + n_hot_here, 1, n - n_hot_here, values + n_hot_here * K, h, 1);
    if (m->fit_intercept) { /* b: the replica's last row */
        gd_hyper scaled = *h;
        scaled.lr *= m->intercept_scale;
        for (int64_t k = 0; k < K; ++k)
            gb[k] = dz[k] + (sd > 0 ? (REAL)(sd * gd_normal(x->rng)) : 0);
        gd_rows b_row = {n_hot + 1, 1, K, &n_hot, gb, 1};
        SFX(gd_rows_step)(m->rule, hot, hot_slots, &b_row, &scaled, NULL);
    }
    return loss;
}

/* Hogwild! (CSR data, n_threads > 1): each thread takes a contiguous share of order, in batches, and steps the
 * shared W and b without locks. The k-th batch of thread i is step k * n_threads + i: a global numbering for
 * the schedule, in time order up to the threads' drift, with no shared counter to contend for (one measured
 * slower than the work of a step). The penalty reaches the touched weights only. */
static double SFX(gd_epoch_hogwild)(const gd_model *m, const gd_data *d, const int64_t *order, int64_t n_order,
                                    int64_t batch_size, double alpha, const gd_hyper *h0, const double *lr,
                                    const double *noise_sd, int64_t *n_steps)
{
    double totals[GD_MAX_THREADS] = {0};
    int64_t last_step[GD_MAX_THREADS] = {0};
    int n_threads = m->n_threads < GD_MAX_THREADS ? m->n_threads : GD_MAX_THREADS;
    GD_PRAGMA(omp parallel num_threads(n_threads))
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t lo = n_order * tid / nt, hi = n_order * (tid + 1) / nt, s = tid;
        const gd_scratch *x = &m->scratch[tid];
        double sum = 0; /* local: the threads' entries of totals and last_step share cache lines */
        double u = m->l1_u ? *m->l1_u : 0; /* the cumulative L1 penalty as this thread sees it: its steps count nt */
        int replicated = m->n_hot > 0 && batch_size == 1 && m->l1 == 0 && !m->avg_w && m->clip_norm == 0;
        if (replicated)
            SFX(gd_merge)(m, x, 1);
        for (int64_t start = lo, k = 1; start < hi; start += batch_size, s += nt, ++k) {
            int64_t end = hi - start > batch_size ? start + batch_size : hi, n_touched;
            gd_hyper h = *h0;
            h.t = h0->t + s + 1;
            h.lr = lr[s];
            if (replicated) {
                SFX(gd_prefetch_ahead)(d, order, start, hi, (const REAL *)m->w, m->n_outputs);
                sum += SFX(gd_example_replicated)(m, d, x, order[start], alpha, noise_sd[s], &h);
                if (k % m->merge_every == 0)
                    SFX(gd_merge)(m, x, 0);
            } else {
                sum += SFX(gd_batch_gradient)(m, d, x, order, start, end, hi, 1, alpha, noise_sd[s], &n_touched);
                if (m->clip_norm > 0)
                    h.grad_scale = SFX(gd_clip_factor)(m, d, x, order[start], end - start, n_touched);
                u += m->l1 * h.lr * nt;
                SFX(gd_batch_step)(m, d, x, order[start], end - start, n_touched, &h, &h, 1, u);
            }
        }
        if (replicated)
            SFX(gd_merge)(m, x, 0);
        totals[tid] = sum;
        last_step[tid] = hi > lo ? s - nt + 1 : 0;
    }
    double total = gd_threads_total(totals, last_step, n_threads, n_steps);
    for (int64_t s = 0; m->l1_u && s < *n_steps; ++s)
        *m->l1_u += m->l1 * lr[s];
    return total;
}

static double SFX(gd_train_epoch)(const gd_model *m, const gd_data *d, const int64_t *order, int64_t n_order,
                                  int64_t batch_size, double alpha, const gd_hyper *h0, const double *lr,
                                  const double *noise_sd, int64_t *n_steps)
{
    if (m->n_threads > 1 && !d->dense)
        return SFX(gd_epoch_hogwild)(m, d, order, n_order, batch_size, alpha, h0, lr, noise_sd, n_steps);
    return SFX(gd_epoch_serial)(m, d, order, n_order, batch_size, alpha, h0, lr, noise_sd, n_steps);
}

static void SFX(gd_loss_gradient)(const gd_model *m, const gd_data *d, const int64_t *rows, int64_t n, double *out,
                                  REAL *gw, REAL *gb)
{
    const gd_scratch *x = &m->scratch[0];
    REAL *z = (REAL *)x->z, *dz = (REAL *)x->dz;
    int64_t K = m->n_outputs;
    REAL scale = (REAL)(1.0 / (double)(n > 0 ? n : 1));
    if (gw) {
        for (int64_t j = 0; j < d->n_features * K; ++j)
            gw[j] = 0;
        for (int64_t k = 0; k < K; ++k)
            gb[k] = 0;
    }
    for (int64_t q = 0; q < n; ++q) {
        int64_t i = rows ? rows[q] : q;
        SFX(gd_scores)(d, i, (const REAL *)m->w, (const REAL *)m->b, K, 1, z);
        out[q] = SFX(gd_loss_dz)(m, z, d->y, i, dz);
        if (gw) {
            SFX(gd_weighted)(m, d, i, dz, 0);
            for (int64_t k = 0; k < K; ++k)
                gb[k] += scale * dz[k];
            SFX(gd_accumulate)(d, x, K, i, scale, gw, NULL);
        }
    }
}
