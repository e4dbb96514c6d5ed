/* scikit-learn's SGD (plain_sgd.h), written once over REAL / SFX(); included by kernels.c per type after
 * linear_impl.h. The order of operations and the precision of each is scikit-learn's (its WeightVector keeps
 * the scale factors in double but takes a step's scalars in the data's type), so results agree to rounding in
 * float64 and float32 alike; the casts to REAL below are those roundings. */

/* The features of example i: its CSR entries, or every feature of a dense row (idx NULL). */
typedef struct {
    const REAL *x;
    const void *idx;
    int idx_is_64;
    int64_t nnz;
} SFX(gd_plain_row);

GD_INLINE SFX(gd_plain_row) SFX(gd_row_of)(const gd_data *d, int64_t i)
{
    SFX(gd_plain_row) r;
    if (d->dense) {
        r.x = (const REAL *)d->dense + i * d->n_features;
        r.idx = NULL, r.idx_is_64 = 0, r.nnz = d->n_features;
        return r;
    }
    const gd_csr *g = &d->csr;
    int64_t p = gd_index(g->indptr, g->index_is_64, i);
    r.x = (const REAL *)g->data + p;
    r.idx = (const char *)g->indices + p * (g->index_is_64 ? 8 : 4);
    r.idx_is_64 = g->index_is_64;
    r.nnz = gd_index(g->indptr, g->index_is_64, i + 1) - p;
    return r;
}

GD_INLINE int64_t SFX(gd_row_feature)(const SFX(gd_plain_row) *r, int64_t q)
{
    return r->idx ? gd_index(r->idx, r->idx_is_64, q) : q;
}

/* x_i . V as scikit-learn sums it: products in the data's type, the sum in double (its caller rounds the
 * scaled sum to the data's type). */
static double SFX(gd_plain_dot)(const SFX(gd_plain_row) *r, const REAL *w)
{
    double sum = 0;
    for (int64_t q = 0; q < r->nnz; ++q)
        sum += (REAL)(w[SFX(gd_row_feature)(r, q)] * r->x[q]);
    return sum;
}

/* The weights made plain (W = wscale V, wscale 1), the average folded into aw first (WeightVector's
 * reset_wscale). */
static void SFX(gd_plain_reset)(gd_plain_state *s, int64_t n)
{
    REAL *w = (REAL *)s->w, *aw = (REAL *)s->aw, a = (REAL)s->average_a, inv_b = (REAL)(1.0 / s->average_b);
    REAL wscale = (REAL)s->wscale;
    if (aw) { /* as BLAS axpy and scal: in the data's type */
        for (int64_t j = 0; j < n; ++j)
            aw[j] = (aw[j] + a * w[j]) * inv_b;
        s->average_a = 0, s->average_b = 1;
    }
    for (int64_t j = 0; j < n; ++j)
        w[j] *= wscale;
    s->wscale = 1;
}

/* W <- factor W (the L2 decay), in wscale; made plain again before wscale underflows (below 1e-9 for float64,
 * 1e-6 for float32, scikit-learn's thresholds). */
static void SFX(gd_plain_scale)(gd_plain_state *s, REAL factor, int64_t n)
{
    s->wscale *= factor;
    s->sq_norm *= factor * factor;
    s->l1_norm *= fabs(factor);
    if (s->wscale < (sizeof(REAL) == 8 ? 1e-9 : 1e-6))
        SFX(gd_plain_reset)(s, n);
}

/* W += update x (one row) and, with track (scikit-learn's objective reads them), the norms of the weights it
 * touched. */
static void SFX(gd_plain_add)(gd_plain_state *s, const SFX(gd_plain_row) *r, REAL update, int track)
{
    REAL *w = (REAL *)s->w, wscale = (REAL)s->wscale, step = update / wscale;
    double l2 = 0, l1 = 0;
    for (int64_t q = 0; q < r->nnz; ++q) {
        int64_t j = SFX(gd_row_feature)(r, q);
        w[j] = (REAL)(w[j] + (double)r->x[q] * step);
        if (track) {
            l2 += (double)w[j] * w[j];
            l1 += fabs((double)w[j]);
        }
    }
    s->sq_norm = l2 * (REAL)(wscale * wscale);
    s->l1_norm = l1 * wscale;
}

/* The average after a step of `update` at averaging step k (>= 1), in Bottou's lazy form: aw moves on the touched
 * features only, average_a and average_b carry the rest. */
static void SFX(gd_plain_average)(gd_plain_state *s, const SFX(gd_plain_row) *r, REAL update, REAL k)
{
    REAL *aw = (REAL *)s->aw;
    double mu = 1.0 / k, step = -update / s->wscale;
    for (int64_t q = 0; q < r->nnz; ++q) {
        int64_t j = SFX(gd_row_feature)(r, q);
        aw[j] = (REAL)(aw[j] + s->average_a * r->x[q] * step);
    }
    if (k > 1)
        s->average_b /= 1.0 - mu;
    s->average_a += mu * s->average_b * s->wscale;
}

/* The cumulative L1 penalty (Tsuruoka et al., 2009) on the touched weights: each is pulled toward 0 by what the
 * penalty has applied in total (u) less what it already took from that weight (q), never across 0. */
static void SFX(gd_plain_l1)(gd_plain_state *s, const SFX(gd_plain_row) *r)
{
    REAL *w = (REAL *)s->w, *q = (REAL *)s->q;
    double wscale = s->wscale;
    for (int64_t p = 0; p < r->nnz; ++p) {
        int64_t j = SFX(gd_row_feature)(r, p);
        double before = w[j];
        if (wscale * before > 0)
            w[j] = (REAL)fmax(0.0, w[j] - (s->u + q[j]) / wscale);
        else if (wscale * before < 0)
            w[j] = (REAL)fmin(0.0, w[j] + (s->u - q[j]) / wscale);
        q[j] = (REAL)(q[j] + wscale * (w[j] - before));
    }
}

/* The loss and dL/dp of one example as scikit-learn computes them: the logistic loss in its half-binomial form
 * (sklearn/_loss/_loss.pyx.tp: log1pexp(p) - y p and its gradient, y in {0, 1}), the others as linear.h. */
static double SFX(gd_plain_loss)(int loss, double p, double y, double epsilon, double *dloss, int need_value)
{
    if (loss != GD_LOSS_LOGISTIC)
        return gd_loss_one(loss, p, y, epsilon, dloss);
    double y01 = y > 0, e;
    if (p > -37) {
        e = exp(-p);
        *dloss = ((1 - y01) - y01 * e) / (1 + e);
    } else {
        *dloss = exp(p) - y01;
    }
    if (!need_value) /* its log and exp cost as much as the gradient's */
        return 0;
    double log1pexp = p <= -37 ? exp(p) : p <= -2 ? log1p(exp(p)) : p <= 18 ? log(1. + exp(p))
                    : p <= 33.3 ? p + exp(-p) : p;
    return log1pexp - y01 * p;
}

/* The learning rate of step s->t. */
GD_INLINE double SFX(gd_plain_eta)(const gd_plain_sgd *c, const gd_plain_state *s)
{
    if (c->learning_rate == GD_RATE_OPTIMAL)
        return 1.0 / (c->alpha * (c->optimal_init + s->t - 1));
    if (c->learning_rate == GD_RATE_INVSCALING)
        return c->eta0 / pow(s->t, c->power_t);
    return s->eta;
}

/* scikit-learn's objective term of the penalty, of the norms it tracks. */
GD_INLINE double SFX(gd_plain_penalty)(const gd_plain_sgd *c, const gd_plain_state *s)
{
    if (c->penalty == GD_PENALTY_NONE)
        return 0;
    double norm = sqrt(s->sq_norm);
    return c->alpha * ((1 - c->l1_ratio) * 0.5 * (norm * norm) + c->l1_ratio * s->l1_norm);
}

/* The step's size times -dL/dz (before the example's weight): the gradient step at eta, with dL/dz clipped to
 * +-1e12 as scikit-learn does, or a passive-aggressive step (its sign: y's for the hinge loss, the residual's
 * for the epsilon-insensitive one). 0 with *skip set: a passive-aggressive step on an all-zero row, which
 * scikit-learn skips entirely. */
static double SFX(gd_plain_update)(const gd_plain_sgd *c, const SFX(gd_plain_row) *r, double eta, double loss,
                                   double dloss, double p, double y, int *skip)
{
    if (c->learning_rate < GD_RATE_PA1) {
        dloss = dloss < -1e12 ? -1e12 : dloss > 1e12 ? 1e12 : dloss;
        return -eta * dloss;
    }
    double sq = 0, update;
    for (int64_t q = 0; q < r->nnz; ++q)
        sq += (double)r->x[q] * r->x[q];
    if (c->learning_rate == GD_RATE_PA1) {
        if (sq == 0) {
            *skip = 1;
            return 0;
        }
        update = fmin(c->eta0, loss / sq);
    } else {
        update = loss / (sq + 0.5 / c->eta0);
    }
    if (c->loss == GD_LOSS_HINGE || c->loss == GD_LOSS_PERCEPTRON)
        return update * y;
    return y - p < 0 ? -update : update;
}

/* One example: its loss before the step; the L2 decay, the gradient step, the intercept, the average, the L1
 * penalty, in scikit-learn's order. */
static double SFX(gd_plain_example)(const gd_plain_sgd *c, gd_plain_state *s, const gd_data *d, int64_t i,
                                    double *objective)
{
    SFX(gd_plain_row) r = SFX(gd_row_of)(d, i);
    REAL sample_weight = (REAL)(d->weight ? d->weight[i] : 1.0); /* loaded first: its miss overlaps the row's */
    double p = (REAL)(SFX(gd_plain_dot)(&r, (const REAL *)s->w) * s->wscale) + s->intercept;
    double eta = SFX(gd_plain_eta)(c, s), y = ((const REAL *)d->y)[i], dloss;
    double loss = SFX(gd_plain_loss)(c->loss, p, y, c->epsilon, &dloss,
                                     c->track_objective || c->learning_rate >= GD_RATE_PA1);
    int skip = 0;
    if (c->track_objective) { /* two sums, as scikit-learn rounds them; the passive-aggressive rates add no penalty */
        *objective += loss;
        if (c->learning_rate < GD_RATE_PA1)
            *objective += SFX(gd_plain_penalty)(c, s);
    }
    double update = SFX(gd_plain_update)(c, &r, eta, loss, dloss, p, y, &skip);
    if (skip)
        return loss;
    update *= (REAL)(y > 0 ? c->weight_pos : c->weight_neg) * sample_weight;
    if (c->penalty >= GD_PENALTY_L2)
        SFX(gd_plain_scale)(s, (REAL)fmax(0.0, 1.0 - (1.0 - c->l1_ratio) * eta * c->alpha), d->n_features);
    if (update != 0) {
        SFX(gd_plain_add)(s, &r, (REAL)update, c->track_objective);
        if (c->fit_intercept)
            s->intercept += update * c->intercept_decay;
    }
    if (c->average > 0 && c->average <= s->t) {
        SFX(gd_plain_average)(s, &r, (REAL)update, (REAL)(s->t - c->average + 1));
        s->average_intercept += (s->intercept - s->average_intercept) / (s->t - c->average + 1);
    }
    if (c->penalty == GD_PENALTY_L1 || c->penalty == GD_PENALTY_ELASTICNET) {
        s->u += c->l1_ratio * eta * c->alpha;
        SFX(gd_plain_l1)(s, &r);
    }
    s->t += 1;
    return loss;
}

static double SFX(gd_plain_sgd_epoch)(const gd_plain_sgd *c, gd_plain_state *s, const gd_data *d,
                                      const int64_t *order, int64_t n_order, double *objective)
{
    double total = 0;
    *objective = 0;
    for (int64_t k = 0; k < n_order; ++k) {
        if (!d->dense) /* rows in random order: load the next ones' rows and weights ahead (linear_impl.h) */
            SFX(gd_prefetch_ahead)(d, order, k, n_order, (const REAL *)s->w, 1);
        total += SFX(gd_plain_example)(c, s, d, order[k], objective);
    }
    return total;
}
