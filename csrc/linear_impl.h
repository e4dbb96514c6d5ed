/* The losses and the epoch loop of linear.h, written once over REAL / SFX(); included by linear.c per type. */

/* x_i . w over the features of example i, for the K = 1 case every loss but softmax has (a register sum). */
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
        sum += data[p] * w[gd_index(g->indices, g->index_is_64, p)];
    return sum;
}

/* z = scale * x_i W + b (K outputs); scale is the factor of a scaled W (gd_train_epoch), else 1. */
static void SFX(gd_scores)(const gd_data *d, int64_t i, const REAL *w, const REAL *b, int64_t K, REAL scale,
                           REAL *z)
{
    if (K == 1) {
        z[0] = b[0] + scale * SFX(gd_dot)(d, i, w);
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
                z[k] += data[p] * w[j * K + k];
        }
    }
    for (int64_t k = 0; k < K; ++k)
        z[k] = b[k] + scale * z[k];
}

/* The loss of example i from its scores z, and dz = dL/dz (linear.h gives the formulas); in double. */
static double SFX(gd_loss_dz)(int loss, const REAL *z, int64_t K, const void *y, int64_t i, REAL *dz)
{
    if (loss == GD_LOSS_SOFTMAX) {
        int64_t c = ((const int64_t *)y)[i];
        double top = z[0], sum = 0;
        for (int64_t k = 1; k < K; ++k)
            top = z[k] > top ? z[k] : top;
        for (int64_t k = 0; k < K; ++k)
            sum += exp(z[k] - top);
        for (int64_t k = 0; k < K; ++k)
            dz[k] = (REAL)(exp(z[k] - top) / sum - (k == c));
        return log(sum) + top - z[c];
    }
    double target = ((const REAL *)y)[i], yz = target * z[0];
    switch (loss) {
    case GD_LOSS_SQUARED:
        dz[0] = (REAL)(z[0] - target);
        return 0.5 * ((double)z[0] - target) * ((double)z[0] - target);
    case GD_LOSS_LOGISTIC: /* log(1 + e^-yz) without overflow on either side */
        dz[0] = (REAL)(-target / (1.0 + exp(yz)));
        return yz > 0 ? log1p(exp(-yz)) : -yz + log1p(exp(yz));
    default: /* GD_LOSS_HINGE */
        dz[0] = (REAL)(yz < 1 ? -target : 0.0);
        return yz < 1 ? 1 - yz : 0;
    }
}

/* gw[j, :] += scale * x_ij * dz for the features j of example i. With n_touched (CSR data in the epoch loop), a
 * feature first seen in this batch (stamp) is recorded in touched and its row of gw zeroed first; without, gw
 * is a dense gradient the caller zeroed. */
static void SFX(gd_accumulate)(const gd_model *m, const gd_data *d, int64_t i, REAL scale, REAL *gw,
                               int64_t batch, int64_t *n_touched)
{
    const REAL *dz = (const REAL *)m->dz;
    int64_t K = m->n_outputs;
    if (d->dense) {
        const REAL *x = (const REAL *)d->dense + i * d->n_features;
        for (int64_t j = 0; j < d->n_features; ++j)
            for (int64_t k = 0; k < K; ++k)
                gw[j * K + k] += scale * x[j] * dz[k];
        return;
    }
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data;
    for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < gd_index(g->indptr, g->index_is_64, i + 1); ++p) {
        int64_t j = gd_index(g->indices, g->index_is_64, p);
        if (n_touched && m->stamp[j] != batch) {
            m->stamp[j] = batch;
            m->touched[(*n_touched)++] = j;
            for (int64_t k = 0; k < K; ++k)
                gw[j * K + k] = 0;
        }
        for (int64_t k = 0; k < K; ++k)
            gw[j * K + k] += scale * data[p] * dz[k];
    }
}

/* g[q] += alpha w[q] (the L2 penalty's gradient) and, with sd > 0, N(0, sd^2) noise, for q < n. */
static void SFX(gd_penalise)(REAL *g, const REAL *w, int64_t n, double alpha, double sd, uint64_t *rng)
{
    for (int64_t q = 0; q < n; ++q)
        g[q] += (REAL)alpha * w[q];
    if (sd > 0)
        for (int64_t q = 0; q < n; ++q)
            g[q] += (REAL)(sd * gd_normal(rng));
}

/* b stepped by its gradient grad_b (when the model fits an intercept), at learning rate lr * intercept_scale. */
static void SFX(gd_step_intercept)(const gd_model *m, const gd_hyper *h)
{
    int64_t size = m->n_outputs;
    void *param = m->b, *slot[GD_MAX_SLOTS];
    const void *grad = m->grad_b;
    gd_dense_batch batch = {1, &size, &param, &grad, {NULL, NULL, NULL}};
    gd_hyper scaled = *h;
    scaled.lr *= m->intercept_scale;
    for (int k = 0; k < GD_MAX_SLOTS; ++k) {
        slot[k] = m->b_slots[k];
        batch.slot[k] = m->b_slots[k] ? &slot[k] : NULL;
    }
    if (m->fit_intercept)
        SFX(gd_dense_step)(m->rule, &batch, &scaled);
}

/* The rows of W a CSR batch touched, with gradient rows `values`, stepped by the rule (lazy or exact). */
static void SFX(gd_step_rows)(const gd_model *m, const gd_data *d, const void *rows, int rows_is_64, int64_t n_used,
                              const gd_hyper *h)
{
    gd_rows g = {d->n_features, n_used, m->n_outputs, rows, m->values, rows_is_64};
    SFX(gd_rows_step)(m->rule, m->w, m->w_slots, &g, h, m->w_exact);
}

/* One batch of one CSR row: its features (sorted and distinct in a canonical row) are the rows of W to step,
 * their gradients written straight into values. */
static void SFX(gd_batch_one_row)(const gd_model *m, const gd_data *d, int64_t i, double alpha, double sd,
                                  uint64_t *rng, const gd_hyper *h)
{
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data, *w = (const REAL *)m->w, *dz = (const REAL *)m->dz;
    REAL *values = (REAL *)m->values;
    int64_t K = m->n_outputs, p0 = gd_index(g->indptr, g->index_is_64, i);
    int64_t n = gd_index(g->indptr, g->index_is_64, i + 1) - p0;
    for (int64_t q = 0; q < n; ++q) {
        int64_t j = gd_index(g->indices, g->index_is_64, p0 + q);
        for (int64_t k = 0; k < K; ++k)
            values[q * K + k] = data[p0 + q] * dz[k];
        SFX(gd_penalise)(values + q * K, w + j * K, K, alpha, sd, rng);
    }
    const char *rows = (const char *)g->indices + p0 * (g->index_is_64 ? 8 : 4);
    SFX(gd_step_rows)(m, d, rows, g->index_is_64, n, h);
}

/* One batch of several CSR rows: the features they touch (stamped in this batch; sorted for the exact mode,
 * which needs its rows in order), their accumulated gradients gathered into values. */
static void SFX(gd_batch_rows)(const gd_model *m, const gd_data *d, int64_t n_touched, double alpha, double sd,
                               uint64_t *rng, const gd_hyper *h)
{
    const REAL *gw = (const REAL *)m->grad_w, *w = (const REAL *)m->w;
    REAL *values = (REAL *)m->values;
    int64_t K = m->n_outputs;
    int sorted = 1;
    for (int64_t q = 1; m->w_exact && q < n_touched && sorted; ++q)
        sorted = m->touched[q] > m->touched[q - 1];
    if (!sorted)
        qsort(m->touched, (size_t)n_touched, sizeof(int64_t), gd_compare_int64);
    for (int64_t q = 0; q < n_touched; ++q) {
        int64_t j = m->touched[q];
        for (int64_t k = 0; k < K; ++k)
            values[q * K + k] = gw[j * K + k];
        SFX(gd_penalise)(values + q * K, w + j * K, K, alpha, sd, rng);
    }
    SFX(gd_step_rows)(m, d, m->touched, 1, n_touched, h);
}

/* One batch of dense rows: W stepped by the dense loop (b after, by the caller). */
static void SFX(gd_batch_dense)(const gd_model *m, const gd_data *d, double alpha, double sd, uint64_t *rng,
                                const gd_hyper *h)
{
    int64_t size = d->n_features * m->n_outputs;
    void *param = m->w, *slot[GD_MAX_SLOTS];
    const void *grad = m->grad_w;
    gd_dense_batch batch = {1, &size, &param, &grad, {NULL, NULL, NULL}};
    SFX(gd_penalise)((REAL *)m->grad_w, (const REAL *)m->w, size, alpha, sd, rng);
    for (int k = 0; k < GD_MAX_SLOTS; ++k) {
        slot[k] = m->w_slots[k];
        batch.slot[k] = m->w_slots[k] ? &slot[k] : NULL;
    }
    SFX(gd_dense_step)(m->rule, &batch, h);
}

/* Examples come in random order, so each would cost a chain of memory latencies: where the row of example q + 8
 * starts, that row at q + 4 and the weights the features of example q + 1 pick are loaded ahead (CSR data). */
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
    }
    if (q + 1 < n_order) {
        int64_t i = order[q + 1], end = gd_index(g->indptr, g->index_is_64, i + 1);
        for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < end; ++p)
            GD_PREFETCH(w + gd_index(g->indices, g->index_is_64, p) * K);
    }
}
#undef GD_AHEAD

/* W *= scale: a scaled W made plain again. */
static void SFX(gd_unscale)(const gd_model *m, const gd_data *d, double *scale)
{
    REAL *w = (REAL *)m->w;
    for (int64_t j = 0; j < d->n_features * m->n_outputs; ++j)
        w[j] *= (REAL)*scale;
    *scale = 1;
}

static double SFX(gd_train_epoch)(const gd_model *m, const gd_data *d, const int64_t *order, int64_t n_order,
                                  int64_t batch_size, double alpha, const gd_hyper *h0, const double *lr,
                                  const double *noise_sd, uint64_t *rng, int64_t *stamp_base)
{
    REAL *w = (REAL *)m->w, *b = (REAL *)m->b, *gw = (REAL *)m->grad_w, *gb = (REAL *)m->grad_b;
    REAL *z = (REAL *)m->z, *dz = (REAL *)m->dz;
    int64_t K = m->n_outputs, n_w = d->n_features * K;
    gd_hyper h = *h0;
    double total = 0;
    /* SGD on CSR data with an L2 penalty keeps W = scale * V (Bottou's trick): the penalty's step
     * W <- (1 - lr alpha) W on every weight is a product into scale, and a touched weight's gradient step on V
     * is the rule's own step at learning rate lr / scale. So the penalty reaches every weight at O(touched). */
    int scaled = !d->dense && m->rule == GD_RULE_sgd && alpha > 0;
    double scale = 1, penalty = scaled ? 0 : alpha;
    for (int64_t start = 0, s = 0; start < n_order; start += batch_size, ++s) {
        int64_t end = n_order - start > batch_size ? start + batch_size : n_order, n_touched = 0;
        int64_t batch = ++*stamp_base;
        int one_row = !d->dense && end - start == 1;
        REAL mean = (REAL)(1.0 / (double)(end - start));
        h.t = h0->t + s + 1;
        h.lr = lr[s];
        for (int64_t k = 0; k < K; ++k)
            gb[k] = 0;
        if (d->dense)
            for (int64_t j = 0; j < n_w; ++j)
                gw[j] = 0;
        for (int64_t q = start; q < end; ++q) {
            if (!d->dense)
                SFX(gd_prefetch_ahead)(d, order, q, n_order, w, K);
            SFX(gd_scores)(d, order[q], w, b, K, (REAL)scale, z);
            total += SFX(gd_loss_dz)(m->loss, z, K, d->y, order[q], dz);
            for (int64_t k = 0; k < K; ++k)
                gb[k] += mean * dz[k];
            if (!one_row)
                SFX(gd_accumulate)(m, d, order[q], mean, gw, batch, &n_touched);
        }
        if (noise_sd[s] > 0)
            for (int64_t k = 0; k < K; ++k)
                gb[k] += (REAL)(noise_sd[s] * gd_normal(rng));
        SFX(gd_step_intercept)(m, &h);
        if (scaled) {
            double decay = 1 - h.lr * alpha;
            if (decay <= 0 || scale * decay < 1e-9) { /* scale would vanish: apply it, then the decay itself */
                SFX(gd_unscale)(m, d, &scale);
                if (decay <= 0)
                    SFX(gd_unscale)(m, d, &decay);
                else
                    scale = decay;
            } else {
                scale *= decay;
            }
            h.lr /= scale;
        }
        if (d->dense)
            SFX(gd_batch_dense)(m, d, penalty, noise_sd[s], rng, &h);
        else if (one_row)
            SFX(gd_batch_one_row)(m, d, order[start], penalty, noise_sd[s], rng, &h);
        else
            SFX(gd_batch_rows)(m, d, n_touched, penalty, noise_sd[s], rng, &h);
    }
    if (scaled)
        SFX(gd_unscale)(m, d, &scale);
    return total;
}

static void SFX(gd_loss_gradient)(const gd_model *m, const gd_data *d, double *out, REAL *gw, REAL *gb)
{
    REAL *z = (REAL *)m->z, *dz = (REAL *)m->dz;
    int64_t K = m->n_outputs;
    REAL scale = (REAL)(1.0 / (double)(d->n_rows > 0 ? d->n_rows : 1));
    if (gw) {
        for (int64_t j = 0; j < d->n_features * K; ++j)
            gw[j] = 0;
        for (int64_t k = 0; k < K; ++k)
            gb[k] = 0;
    }
    for (int64_t i = 0; i < d->n_rows; ++i) {
        SFX(gd_scores)(d, i, (const REAL *)m->w, (const REAL *)m->b, K, 1, z);
        out[i] = SFX(gd_loss_dz)(m->loss, z, K, d->y, i, dz);
        if (gw) {
            for (int64_t k = 0; k < K; ++k)
                gb[k] += scale * dz[k];
            SFX(gd_accumulate)(m, d, i, scale, gw, 0, NULL);
        }
    }
}
