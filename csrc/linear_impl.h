/* The losses and the epoch loop of linear.h, written once over REAL / SFX(); included by linear.c per type. */

/* z = x_i W + b (K outputs). */
static void SFX(gd_scores)(const gd_data *d, int64_t i, const REAL *w, const REAL *b, int64_t K, REAL *z)
{
    for (int64_t k = 0; k < K; ++k)
        z[k] = b[k];
    if (d->dense) {
        const REAL *x = (const REAL *)d->dense + i * d->n_features;
        for (int64_t j = 0; j < d->n_features; ++j)
            for (int64_t k = 0; k < K; ++k)
                z[k] += x[j] * w[j * K + k];
        return;
    }
    const gd_csr *g = &d->csr;
    const REAL *data = (const REAL *)g->data;
    for (int64_t p = gd_index(g->indptr, g->index_is_64, i); p < gd_index(g->indptr, g->index_is_64, i + 1); ++p) {
        int64_t j = gd_index(g->indices, g->index_is_64, p);
        for (int64_t k = 0; k < K; ++k)
            z[k] += data[p] * w[j * K + k];
    }
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

/* The step of one batch on dense data: W and b together, their gradients complete in grad_w and grad_b. */
static void SFX(gd_step_dense)(const gd_model *m, const gd_data *d, const gd_hyper *h)
{
    int64_t size[2] = {d->n_features * m->n_outputs, m->n_outputs};
    void *param[2] = {m->w, m->b};
    const void *grad[2] = {m->grad_w, m->grad_b};
    void *slot[GD_MAX_SLOTS][2];
    gd_dense_batch batch = {m->fit_intercept ? 2 : 1, size, param, grad, {NULL, NULL, NULL}};
    for (int k = 0; k < GD_MAX_SLOTS; ++k) {
        slot[k][0] = m->w_slots[k];
        slot[k][1] = m->b_slots[k];
        batch.slot[k] = m->w_slots[k] ? slot[k] : NULL;
    }
    gd_dense_step(m->rule, m->is_double, &batch, h);
}

/* The step of one batch on CSR data: the touched rows of W (a row-sparse gradient, rows sorted), then b. */
static void SFX(gd_step_sparse)(const gd_model *m, const gd_data *d, int64_t n_touched, const gd_hyper *h)
{
    const REAL *gw = (const REAL *)m->grad_w;
    REAL *values = (REAL *)m->values;
    int64_t K = m->n_outputs;
    int sorted = 1;
    for (int64_t q = 1; q < n_touched && sorted; ++q)
        sorted = m->touched[q] > m->touched[q - 1];
    if (!sorted)
        qsort(m->touched, (size_t)n_touched, sizeof(int64_t), gd_compare_int64);
    for (int64_t q = 0; q < n_touched; ++q)
        for (int64_t k = 0; k < K; ++k)
            values[q * K + k] = gw[m->touched[q] * K + k];
    gd_rows rows = {d->n_features, n_touched, K, m->touched, values, 1};
    gd_rows_step(m->rule, m->is_double, m->w, m->w_slots, &rows, h, m->w_exact);
    if (!m->fit_intercept)
        return;
    int64_t size = K;
    void *param = m->b, *slot[GD_MAX_SLOTS];
    const void *grad = m->grad_b;
    gd_dense_batch batch = {1, &size, &param, &grad, {NULL, NULL, NULL}};
    for (int k = 0; k < GD_MAX_SLOTS; ++k) {
        slot[k] = m->b_slots[k];
        batch.slot[k] = m->b_slots[k] ? &slot[k] : NULL;
    }
    gd_dense_step(m->rule, m->is_double, &batch, h);
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
    for (int64_t start = 0, s = 0; start < n_order; start += batch_size, ++s) {
        int64_t end = n_order - start > batch_size ? start + batch_size : n_order, n_touched = 0;
        int64_t batch = ++*stamp_base;
        REAL scale = (REAL)(1.0 / (double)(end - start));
        for (int64_t k = 0; k < K; ++k)
            gb[k] = 0;
        if (d->dense)
            for (int64_t j = 0; j < n_w; ++j)
                gw[j] = 0;
        for (int64_t q = start; q < end; ++q) {
            SFX(gd_scores)(d, order[q], w, b, K, z);
            total += SFX(gd_loss_dz)(m->loss, z, K, d->y, order[q], dz);
            for (int64_t k = 0; k < K; ++k)
                gb[k] += scale * dz[k];
            SFX(gd_accumulate)(m, d, order[q], scale, gw, batch, &n_touched);
        }
        /* The L2 term and the noise, on every coordinate of W (dense data) or the touched rows (CSR data). */
        int64_t n_rows = d->dense ? d->n_features : n_touched;
        for (int64_t q = 0; q < n_rows; ++q) {
            int64_t j = d->dense ? q : m->touched[q];
            for (int64_t k = 0; k < K; ++k) {
                gw[j * K + k] += (REAL)alpha * w[j * K + k];
                if (noise_sd[s] > 0)
                    gw[j * K + k] += (REAL)(noise_sd[s] * gd_normal(rng));
            }
        }
        if (noise_sd[s] > 0)
            for (int64_t k = 0; k < K; ++k)
                gb[k] += (REAL)(noise_sd[s] * gd_normal(rng));
        h.t = h0->t + s + 1;
        h.lr = lr[s];
        if (d->dense)
            SFX(gd_step_dense)(m, d, &h);
        else
            SFX(gd_step_sparse)(m, d, n_touched, &h);
    }
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
        SFX(gd_scores)(d, i, (const REAL *)m->w, (const REAL *)m->b, K, z);
        out[i] = SFX(gd_loss_dz)(m->loss, z, K, d->y, i, dz);
        if (gw) {
            for (int64_t k = 0; k < K; ++k)
                gb[k] += scale * dz[k];
            SFX(gd_accumulate)(m, d, i, scale, gw, 0, NULL);
        }
    }
}
