/* The update rules, per element: the only place in gdfast where their math lives.
 *
 * Included once per floating type by impl.h, with REAL (float or double), SFX(name) (name_f32 or name_f64),
 * SQRT and FABS defined. Each rule is one function gd_<rule>(theta, g, slots..., c) updating one parameter
 * element theta in place from its gradient g. Equations are those of Ruder, "An overview of gradient descent
 * optimization algorithms" (arXiv:1609.04747, section 4), with eta = lr and t counting from 1; each line
 * names the symbol it computes. gdfast/reference.py states the same equations in NumPy; tests hold the two
 * together. The order of operations follows the survey's formulas, except that the bias corrections
 * 1/(1 - beta^t) are computed once per step (gd_prepare) and multiplied in. */

/* Per-step scalars in the parameter's precision, computed once per call from gd_hyper. */
typedef struct {
    REAL lr, gamma, one_minus_gamma, beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    REAL inv_bias1; /* 1 / (1 - beta1^t) */
    REAL inv_bias2; /* 1 / (1 - beta2^t) */
} SFX(gd_coef);

#define COEF SFX(gd_coef)

GD_INLINE COEF SFX(gd_prepare)(const gd_hyper *h)
{
    COEF c;
    c.lr = (REAL)h->lr;
    c.gamma = (REAL)h->gamma;
    c.one_minus_gamma = (REAL)(1.0 - h->gamma);
    c.beta1 = (REAL)h->beta1;
    c.one_minus_beta1 = (REAL)(1.0 - h->beta1);
    c.beta2 = (REAL)h->beta2;
    c.one_minus_beta2 = (REAL)(1.0 - h->beta2);
    c.eps = (REAL)h->eps;
    /* t >= 1 and beta in [0, 1) (checked in Python) keep both denominators positive. */
    c.inv_bias1 = (REAL)gd_inv_bias(h->beta1, h->t);
    c.inv_bias2 = (REAL)gd_inv_bias(h->beta2, h->t);
    return c;
}

/* SGD: theta = theta - eta * g */
GD_INLINE void SFX(gd_sgd)(REAL *th, REAL g, const COEF *c)
{
    *th -= c->lr * g;
}

/* Momentum: v_t = gamma v_{t-1} + eta g;  theta = theta - v_t */
GD_INLINE void SFX(gd_momentum)(REAL *th, REAL g, REAL *v, const COEF *c)
{
    REAL v_t = c->gamma * *v + c->lr * g;
    *v = v_t;
    *th -= v_t;
}

/* NAG in the survey's look-ahead form (Nadam section, after Dozat): the array holds phi = theta - gamma v,
 * so the gradient the caller computes at phi is the survey's gradient at theta - gamma v_{t-1}.
 * v_t = gamma v_{t-1} + eta g;  phi = phi - (gamma v_t + eta g) */
GD_INLINE void SFX(gd_nag)(REAL *th, REAL g, REAL *v, const COEF *c)
{
    REAL v_t = c->gamma * *v + c->lr * g;
    *v = v_t;
    *th -= c->gamma * v_t + c->lr * g;
}

/* Adagrad: G_t = G_{t-1} + g^2;  theta = theta - eta / sqrt(G_t + eps) * g  (eps inside the root, as the survey) */
GD_INLINE void SFX(gd_adagrad)(REAL *th, REAL g, REAL *G, const COEF *c)
{
    REAL G_t = *G + g * g;
    *G = G_t;
    *th -= c->lr / SQRT(G_t + c->eps) * g;
}

/* Adadelta: E[g^2]_t = gamma E[g^2]_{t-1} + (1 - gamma) g^2;
 * dtheta = -RMS[dtheta]_{t-1} / RMS[g]_t * g with RMS[x] = sqrt(E[x^2] + eps);
 * E[dtheta^2]_t = gamma E[dtheta^2]_{t-1} + (1 - gamma) dtheta^2;  theta = theta + eta dtheta
 * (eta = 1 is the survey's rule; other values are a plain multiplier). */
GD_INLINE void SFX(gd_adadelta)(REAL *th, REAL g, REAL *Eg2, REAL *Edx2, const COEF *c)
{
    REAL Eg2_t = c->gamma * *Eg2 + c->one_minus_gamma * (g * g);
    REAL dx = -(SQRT(*Edx2 + c->eps) / SQRT(Eg2_t + c->eps)) * g;
    *Eg2 = Eg2_t;
    *Edx2 = c->gamma * *Edx2 + c->one_minus_gamma * (dx * dx);
    *th += c->lr * dx;
}

/* RMSprop: E[g^2]_t = gamma E[g^2]_{t-1} + (1 - gamma) g^2;  theta = theta - eta / sqrt(E[g^2]_t + eps) * g */
GD_INLINE void SFX(gd_rmsprop)(REAL *th, REAL g, REAL *Eg2, const COEF *c)
{
    REAL Eg2_t = c->gamma * *Eg2 + c->one_minus_gamma * (g * g);
    *Eg2 = Eg2_t;
    *th -= c->lr / SQRT(Eg2_t + c->eps) * g;
}

/* Adam: m_t = beta1 m + (1 - beta1) g;  v_t = beta2 v + (1 - beta2) g^2;
 * mhat = m_t / (1 - beta1^t);  vhat = v_t / (1 - beta2^t);  theta = theta - eta / (sqrt(vhat) + eps) * mhat */
GD_INLINE void SFX(gd_adam)(REAL *th, REAL g, REAL *m, REAL *v, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL mhat = m_t * c->inv_bias1;
    REAL vhat = v_t * c->inv_bias2;
    *m = m_t;
    *v = v_t;
    *th -= c->lr / (SQRT(vhat) + c->eps) * mhat;
}

/* AdaMax: m_t as Adam;  u_t = max(beta2 u_{t-1}, |g|);  theta = theta - eta / u_t * m_t / (1 - beta1^t).
 * u_t = 0 (every gradient so far zero) takes no step rather than 0/0. */
GD_INLINE void SFX(gd_adamax)(REAL *th, REAL g, REAL *m, REAL *u, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL decayed = c->beta2 * *u, abs_g = FABS(g);
    REAL u_t = decayed > abs_g ? decayed : abs_g;
    REAL mhat = m_t * c->inv_bias1;
    /* Divide by a safe denominator, then select: a division under a condition would not vectorise. mhat / u_t
     * first: it is bounded (|m_t| <= u_t / (1 - beta1 / beta2)), while lr / u_t overflows for a tiny u_t. */
    REAL step = c->lr * (mhat / (u_t > 0 ? u_t : (REAL)1));
    *m = m_t;
    *u = u_t;
    *th -= u_t > 0 ? step : (REAL)0;
}

/* Nadam (the survey's derivation): m_t, v_t, mhat, vhat as Adam;
 * theta = theta - eta / (sqrt(vhat) + eps) * (beta1 mhat + (1 - beta1) g / (1 - beta1^t)) */
GD_INLINE void SFX(gd_nadam)(REAL *th, REAL g, REAL *m, REAL *v, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL mhat = m_t * c->inv_bias1;
    REAL vhat = v_t * c->inv_bias2;
    *m = m_t;
    *v = v_t;
    *th -= c->lr / (SQRT(vhat) + c->eps) * (c->beta1 * mhat + c->one_minus_beta1 * g * c->inv_bias1);
}

/* AMSGrad (the survey's form, without bias correction): m_t, v_t as Adam;  vhat_t = max(vhat_{t-1}, v_t);
 * theta = theta - eta / (sqrt(vhat_t) + eps) * m_t */
GD_INLINE void SFX(gd_amsgrad)(REAL *th, REAL g, REAL *m, REAL *v, REAL *vhat, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL vhat_t = *vhat > v_t ? *vhat : v_t;
    *m = m_t;
    *v = v_t;
    *vhat = vhat_t;
    *th -= c->lr / (SQRT(vhat_t) + c->eps) * m_t;
}

/* ---- Zero-gradient steps in closed form, for the exact sparse mode ------------------------------------------
 * A coordinate untouched for k steps has seen k steps with g = 0. For the rules below those k steps have a closed
 * form in gamma^k and the geometric sum gamma + gamma^2 + ... + gamma^k (gd_skip); the other rules (rules.def:
 * "steps") are run k times with g = 0 instead. Equal to the k dense steps up to rounding. */

typedef struct {
    int64_t k;      /* the number of skipped steps these were computed for */
    REAL decay;     /* gamma^k */
    REAL geometric; /* gamma (1 - gamma^k) / (1 - gamma) = sum_{s=1..k} gamma^s */
} SFX(gd_skip);

#define SKIP SFX(gd_skip)

GD_INLINE void SFX(gd_skip_prepare)(SKIP *s, int64_t k, const gd_hyper *h)
{
    double decay = pow(h->gamma, (double)k);
    s->k = k;
    s->decay = (REAL)decay;
    s->geometric = (REAL)(h->gamma * (1.0 - decay) / (1.0 - h->gamma));
}

/* SGD: theta - eta * 0 = theta. */
GD_INLINE void SFX(gd_skip_sgd)(REAL *th, const SKIP *s, const COEF *c)
{
    (void)th; (void)s; (void)c;
}

/* Momentum: v_s = gamma^s v;  theta = theta - sum_{s=1..k} v_s = theta - geometric * v;  v = gamma^k v */
GD_INLINE void SFX(gd_skip_momentum)(REAL *th, REAL *v, const SKIP *s, const COEF *c)
{
    (void)c;
    *th -= s->geometric * *v;
    *v *= s->decay;
}

/* NAG: v_s = gamma^s v;  phi = phi - sum_{s=1..k} gamma v_s = phi - gamma * geometric * v;  v = gamma^k v */
GD_INLINE void SFX(gd_skip_nag)(REAL *th, REAL *v, const SKIP *s, const COEF *c)
{
    *th -= c->gamma * (s->geometric * *v);
    *v *= s->decay;
}

/* Adagrad: G + 0 = G, theta - eta / sqrt(G + eps) * 0 = theta. */
GD_INLINE void SFX(gd_skip_adagrad)(REAL *th, REAL *G, const SKIP *s, const COEF *c)
{
    (void)th; (void)G; (void)s; (void)c;
}

/* Adadelta: E[g^2] = gamma^k E[g^2]; the update is 0, so E[dtheta^2] = gamma^k E[dtheta^2]; theta stays. */
GD_INLINE void SFX(gd_skip_adadelta)(REAL *th, REAL *Eg2, REAL *Edx2, const SKIP *s, const COEF *c)
{
    (void)th; (void)c;
    *Eg2 *= s->decay;
    *Edx2 *= s->decay;
}

/* RMSprop: E[g^2] = gamma^k E[g^2]; theta stays. */
GD_INLINE void SFX(gd_skip_rmsprop)(REAL *th, REAL *Eg2, const SKIP *s, const COEF *c)
{
    (void)th; (void)c;
    *Eg2 *= s->decay;
}
