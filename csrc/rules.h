/* The update rules, per element: the only place in gdfast where their math lives.
 *
 * Included once per floating type by impl.h, with REAL (float or double), SFX(name) (name_f32 or name_f64),
 * SQRT and FABS defined. Each rule is one function gd_<rule>(theta, g, slots..., c) updating one parameter
 * element theta in place from its gradient g. Equations are those of Ruder, "An overview of gradient descent
 * optimization algorithms" (arXiv:1609.04747, section 4), with eta = lr and t counting from 1, and, beyond the
 * survey, FTRL-Proximal's (McMahan et al., 2013); each line names the symbol it computes.
 * gdfast/optim/reference.py states the same equations in NumPy; tests hold the two together. The order of
 * operations follows the formulas, except that the bias corrections 1/(1 - beta^t) are computed once per step
 * (gd_prepare) and multiplied in. */

/* Per-step scalars in the parameter's precision, computed once per call from gd_hyper. */
typedef struct {
    REAL lr, gamma, one_minus_gamma, beta1, one_minus_beta1, beta2, one_minus_beta2, eps;
    REAL inv_bias1; /* 1 / (1 - beta1^t) */
    REAL inv_bias2; /* 1 / (1 - beta2^t) */
    REAL beta, lambda1, lambda2; /* FTRL-Proximal's */
    REAL grad_scale, clip_value; /* gradient clipping's (gd_grad_in) */
    REAL wd;                     /* coupled weight decay's lambda, 0 without */
    REAL decay;                  /* decoupled weight decay's 1 - lr lambda, 1 without */
    /* The frameworks' forms only (variants.def; gd_prepare_kernel sets the ones its kernel reads, 0 otherwise): */
    REAL lr_hat;         /* eta sqrt(1 - beta2^t) / (1 - beta1^t): Keras' Adam step size (epsilon-hat form) */
    REAL lr_bc1;         /* eta / (1 - beta1^t): torch's step size of Adam/AdaMax */
    REAL sqrt_bc2;       /* sqrt(1 - beta2^t): torch's AMSGrad divides sqrt(vhat) by it */
    REAL bc1;            /* 1 - beta1^t: Keras' AdaMax */
    REAL inv_bias1_next; /* 1 / (1 - beta1^(t+1)): optax's Nadam */
    REAL nadam_g;        /* eta (1 - mu_t) / (1 - mu_1...mu_t): Nadam's momentum schedule (torch, Keras) */
    REAL nadam_m;        /* eta mu_{t+1} / (1 - mu_1...mu_{t+1}) */
} SFX(gd_coef);

#define COEF SFX(gd_coef)

/* The gradient an optimizer's step takes at theta, which it first decays (decoupled weight decay, Loshchilov &
 * Hutter 2019: theta (1 - lr lambda), as torch's AdamW): g scaled by the global norm's factor and clamped to the
 * bound, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_ (optax clip_by_global_norm, clip) leave it,
 * plus the coupled weight decay lambda theta (torch's weight_decay). A NaN stays NaN (the comparisons are
 * false); without any of them (factor 1, bound +inf, decay 1, lambda 0), g and theta exactly. */
GD_INLINE REAL SFX(gd_grad_in)(REAL *th, REAL g, const COEF *c)
{
    g *= c->grad_scale;
    g = g > c->clip_value ? c->clip_value : (g < -c->clip_value ? -c->clip_value : g);
    *th *= c->decay;
    return c->wd != 0 ? g + c->wd * *th : g;
}

/* Whether gd_grad_in is g itself: no clipping, no weight decay. */
GD_INLINE int SFX(gd_plain_grad)(const COEF *c)
{
    return c->grad_scale == 1 && c->clip_value == (REAL)INFINITY && c->decay == 1 && c->wd == 0;
}

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
    c.beta = (REAL)h->beta;
    c.lambda1 = (REAL)h->lambda1;
    c.lambda2 = (REAL)h->lambda2;
    c.grad_scale = (REAL)h->grad_scale;
    c.clip_value = (REAL)h->clip_value;
    c.wd = h->decoupled ? 0 : (REAL)h->weight_decay;
    c.decay = h->decoupled ? (REAL)(1.0 - h->lr * h->weight_decay) : 1;
    c.lr_hat = c.lr_bc1 = c.sqrt_bc2 = c.bc1 = c.inv_bias1_next = c.nadam_g = c.nadam_m = 0;
    return c;
}

/* The coefficients of a kernel (rules.def or variants.def): gd_prepare, plus the per-step scalars a framework's
 * form reads, in double, once per call. The survey's rules take one comparison more per call, and no pow. */
GD_INLINE COEF SFX(gd_prepare_kernel)(int kernel, const gd_hyper *h)
{
    COEF c = SFX(gd_prepare)(h);
    if (kernel < GD_N_RULES)
        return c;
    double t = (double)h->t, bc1 = 1.0 - pow(h->beta1, t), bc2 = 1.0 - pow(h->beta2, t);
    switch (kernel) {
    case GD_RULE_adam_eps_hat: /* keras/src/optimizers/adam.py: alpha = lr * sqrt(1 - b2^t) / (1 - b1^t) */
    case GD_RULE_amsgrad_eps_hat:
        c.lr_hat = (REAL)(h->lr * sqrt(bc2) / bc1);
        break;
    case GD_RULE_adamax_eps_max: /* torch/optim/adamax.py: clr = lr / (1 - beta1^t) */
        c.lr_bc1 = (REAL)(h->lr / bc1);
        break;
    case GD_RULE_amsgrad_bias: /* torch/optim/adam.py: step_size = lr / bc1, bias_correction2_sqrt */
        c.lr_bc1 = (REAL)(h->lr / bc1);
        c.sqrt_bc2 = (REAL)sqrt(bc2);
        break;
    case GD_RULE_adamax_eps_add: /* keras/src/optimizers/adamax.py: (1 - beta_1_power) */
        c.bc1 = (REAL)bc1;
        break;
    case GD_RULE_nadam_next_bias: /* optax scale_by_adam(nesterov=True): bias correction of m at t + 1 */
        c.inv_bias1_next = (REAL)gd_inv_bias(h->beta1, h->t + 1);
        break;
    case GD_RULE_nadam_schedule: /* torch/optim/nadam.py: lr (1 - mu) / (1 - mu_product), ... */
        c.nadam_g = (REAL)(h->lr * (1.0 - h->mu) / (1.0 - h->mu_product));
        c.nadam_m = (REAL)(h->lr * h->mu_next / (1.0 - h->mu_product * h->mu_next));
        break;
    default:
        break;
    }
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

/* FTRL-Proximal, a rule beyond the survey: McMahan et al., "Ad click prediction: a view from the trenches" (KDD
 * 2013), Algorithm 1, per coordinate, with alpha = eta and g taken at the current theta:
 * sigma = (sqrt(n + g^2) - sqrt(n)) / alpha;  z = z + g - sigma theta;  n = n + g^2;  theta = the closed form
 * below. sigma is computed as g^2 / ((sqrt(n + g^2) + sqrt(n)) alpha), the same number without the difference of
 * two close square roots, which loses digits where g^2 << n (about 4 of float32's 7 at alpha = 1e-3, amplified
 * by 1 / alpha into z); 0 where n + g^2 = 0 (the paper's 0 / alpha).
 * The closed form replaces theta at every step, a zero-gradient step included: a start theta_0 != 0 (the
 * paper's is 0, with z = n = 0) enters only through sigma theta_0 at the coordinate's first step, and a first
 * step with g = 0 sets theta to 0 (the exact sparse mode catches up the same way: gd_skip_ftrl).
 * lr = 0 (the paper needs alpha > 0; a schedule may reach 0) takes no step: theta, z and n stay. */
GD_INLINE REAL SFX(gd_ftrl_weight)(REAL z, REAL n, const COEF *c)
{
    /* theta = 0 if |z| <= lambda1, else -(z - sgn(z) lambda1) / ((beta + sqrt(n)) / alpha + lambda2); both
     * computed, then selected (a select vectorises; the discarded quotient may be 0/0 where z = n = 0). */
    REAL shrunk = z - (z < 0 ? -c->lambda1 : c->lambda1);
    REAL w = -shrunk / ((c->beta + SQRT(n)) / c->lr + c->lambda2);
    return FABS(z) <= c->lambda1 ? (REAL)0 : w; /* NaN z: no comparison holds, NaN propagates */
}

GD_INLINE void SFX(gd_ftrl)(REAL *th, REAL g, REAL *z, REAL *n, const COEF *c)
{
    REAL g2 = g * g, n_t = *n + g2, roots = SQRT(n_t) + SQRT(*n);
    /* Every quotient computed, then selected (a division under a condition would not vectorise): a safe
     * denominator where both roots are 0 (g = 0 there, so sigma = 0); at lr = 0 the quotients are discarded. */
    REAL sigma = g2 / ((roots > 0 ? roots : (REAL)1) * c->lr);
    REAL z_t = *z + g - sigma * *th;
    REAL w = SFX(gd_ftrl_weight)(z_t, n_t, c);
    int step = c->lr > 0;
    *th = step ? w : *th;
    *z = step ? z_t : *z;
    *n = step ? n_t : *n;
}

/* ---- The frameworks' forms (variants.def) ---------------------------------------------------------------------
 * Each reproduces one framework's update (gdfast/optim/_registry.py names the conventions using it and the
 * source file it was checked against; gdfast/optim/reference.py states it in NumPy). Moments are updated as the
 * survey writes them (beta m + (1 - beta) g); the frameworks' own forms of that line (torch's lerp, Keras'
 * m + (g - m)(1 - beta)) differ from it by rounding only. */

/* Momentum, lr outside the buffer (torch SGD(momentum), optax sgd(momentum) = trace then -lr):
 * v_t = gamma v_{t-1} + g;  theta = theta - eta v_t */
GD_INLINE void SFX(gd_momentum_lr_out)(REAL *th, REAL g, REAL *v, const COEF *c)
{
    REAL v_t = c->gamma * *v + g;
    *v = v_t;
    *th -= c->lr * v_t;
}

/* Nesterov momentum, lr outside the buffer (torch SGD(nesterov=True), optax sgd(nesterov=True)):
 * v_t = gamma v_{t-1} + g;  theta = theta - eta (g + gamma v_t) */
GD_INLINE void SFX(gd_nag_lr_out)(REAL *th, REAL g, REAL *v, const COEF *c)
{
    REAL v_t = c->gamma * *v + g;
    *v = v_t;
    *th -= c->lr * (g + c->gamma * v_t);
}

/* Adagrad, eps outside the root (torch): G_t = G_{t-1} + g^2;  theta = theta - eta g / (sqrt(G_t) + eps) */
GD_INLINE void SFX(gd_adagrad_eps_out)(REAL *th, REAL g, REAL *G, const COEF *c)
{
    REAL G_t = *G + g * g;
    *G = G_t;
    *th -= c->lr * g / (SQRT(G_t) + c->eps);
}

/* RMSprop, eps outside the root (torch): E[g^2]_t as the survey;  theta = theta - eta g / (sqrt(E[g^2]_t) + eps) */
GD_INLINE void SFX(gd_rmsprop_eps_out)(REAL *th, REAL g, REAL *Eg2, const COEF *c)
{
    REAL Eg2_t = c->gamma * *Eg2 + c->one_minus_gamma * (g * g);
    *Eg2 = Eg2_t;
    *th -= c->lr * g / (SQRT(Eg2_t) + c->eps);
}

/* Adam, epsilon-hat form (Keras): m_t, v_t as the survey;  theta = theta - lr_hat m_t / (sqrt(v_t) + eps),
 * lr_hat = eta sqrt(1 - beta2^t) / (1 - beta1^t) */
GD_INLINE void SFX(gd_adam_eps_hat)(REAL *th, REAL g, REAL *m, REAL *v, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    *m = m_t;
    *v = v_t;
    *th -= m_t * c->lr_hat / (SQRT(v_t) + c->eps);
}

/* AdaMax, eps in the max (torch, optax): m_t as Adam;  u_t = max(beta2 u_{t-1}, |g| + eps);
 * theta = theta - eta / (1 - beta1^t) m_t / u_t  (u_t >= eps > 0: always a step) */
GD_INLINE void SFX(gd_adamax_eps_max)(REAL *th, REAL g, REAL *m, REAL *u, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL decayed = c->beta2 * *u, abs_g = FABS(g) + c->eps;
    REAL u_t = decayed > abs_g ? decayed : abs_g;
    *m = m_t;
    *u = u_t;
    *th -= c->lr_bc1 * m_t / u_t;
}

/* AdaMax, eps added to u (Keras): m_t as Adam;  u_t = max(beta2 u_{t-1}, |g|);
 * theta = theta - eta m_t / ((1 - beta1^t) (u_t + eps)) */
GD_INLINE void SFX(gd_adamax_eps_add)(REAL *th, REAL g, REAL *m, REAL *u, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL decayed = c->beta2 * *u, abs_g = FABS(g);
    REAL u_t = decayed > abs_g ? decayed : abs_g;
    *m = m_t;
    *u = u_t;
    *th -= c->lr * m_t / (c->bc1 * (u_t + c->eps));
}

/* Nadam with the momentum schedule mu_t = beta1 (1 - 0.5 0.96^(t psi)) (torch psi = momentum_decay, Keras
 * psi = 1): m_t, v_t as Adam;  d = sqrt(v_t / (1 - beta2^t)) + eps;
 * theta = theta - eta (1 - mu_t) / (1 - prod_{s<=t} mu_s) g / d - eta mu_{t+1} / (1 - prod_{s<=t+1} mu_s) m_t / d */
GD_INLINE void SFX(gd_nadam_schedule)(REAL *th, REAL g, REAL *m, REAL *v, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL d = SQRT(v_t * c->inv_bias2) + c->eps;
    *m = m_t;
    *v = v_t;
    *th -= c->nadam_g * g / d;
    *th -= c->nadam_m * m_t / d;
}

/* Nadam as optax writes it (adam(nesterov=True)): m_t, v_t as Adam;
 * theta = theta - eta (beta1 m_t / (1 - beta1^(t+1)) + (1 - beta1) g / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps) */
GD_INLINE void SFX(gd_nadam_next_bias)(REAL *th, REAL g, REAL *m, REAL *v, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL mhat = c->beta1 * (m_t * c->inv_bias1_next) + c->one_minus_beta1 * (g * c->inv_bias1);
    *m = m_t;
    *v = v_t;
    *th -= c->lr * (mhat / (SQRT(v_t * c->inv_bias2) + c->eps));
}

/* AMSGrad with bias correction (torch Adam(amsgrad=True)): m_t, v_t as Adam;  vhat_t = max(vhat_{t-1}, v_t);
 * theta = theta - eta / (1 - beta1^t) m_t / (sqrt(vhat_t) / sqrt(1 - beta2^t) + eps) */
GD_INLINE void SFX(gd_amsgrad_bias)(REAL *th, REAL g, REAL *m, REAL *v, REAL *vhat, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL vhat_t = *vhat > v_t ? *vhat : v_t;
    *m = m_t;
    *v = v_t;
    *vhat = vhat_t;
    *th -= c->lr_bc1 * m_t / (SQRT(vhat_t) / c->sqrt_bc2 + c->eps);
}

/* AMSGrad, epsilon-hat form (Keras Adam(amsgrad=True)): m_t, v_t as Adam;  vhat_t = max(vhat_{t-1}, v_t);
 * theta = theta - lr_hat m_t / (sqrt(vhat_t) + eps), lr_hat as Keras' Adam */
GD_INLINE void SFX(gd_amsgrad_eps_hat)(REAL *th, REAL g, REAL *m, REAL *v, REAL *vhat, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL vhat_t = *vhat > v_t ? *vhat : v_t;
    *m = m_t;
    *v = v_t;
    *vhat = vhat_t;
    *th -= m_t * c->lr_hat / (SQRT(vhat_t) + c->eps);
}

/* AMSGrad as optax writes it (scale_by_amsgrad): the max of the bias-corrected v;  m_t, v_t as Adam;
 * vhat_t = max(vhat_{t-1}, v_t / (1 - beta2^t));  theta = theta - eta (m_t / (1 - beta1^t)) / (sqrt(vhat_t) + eps) */
GD_INLINE void SFX(gd_amsgrad_max_bias)(REAL *th, REAL g, REAL *m, REAL *v, REAL *vhat, const COEF *c)
{
    REAL m_t = c->beta1 * *m + c->one_minus_beta1 * g;
    REAL v_t = c->beta2 * *v + c->one_minus_beta2 * (g * g);
    REAL v_corrected = v_t * c->inv_bias2;
    REAL vhat_t = *vhat > v_corrected ? *vhat : v_corrected;
    *m = m_t;
    *v = v_t;
    *vhat = vhat_t;
    *th -= c->lr * (m_t * c->inv_bias1 / (SQRT(vhat_t) + c->eps));
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

/* FTRL: with g = 0, sigma = 0, so z and n stay and theta becomes the closed form in them, the same at each of the
 * k steps: set once. Where theta already has that form (after any step at this lr) it does not move. */
GD_INLINE void SFX(gd_skip_ftrl)(REAL *th, REAL *z, REAL *n, const SKIP *s, const COEF *c)
{
    REAL w = SFX(gd_ftrl_weight)(*z, *n, c);
    (void)s;
    *th = c->lr > 0 ? w : *th;
}

/* The frameworks' forms with a closed-form catch-up (variants.def). */

/* Momentum, lr outside: v_s = gamma^s v;  theta = theta - eta sum_{s=1..k} v_s = theta - eta geometric v */
GD_INLINE void SFX(gd_skip_momentum_lr_out)(REAL *th, REAL *v, const SKIP *s, const COEF *c)
{
    *th -= c->lr * (s->geometric * *v);
    *v *= s->decay;
}

/* NAG, lr outside: theta = theta - eta sum_{s=1..k} gamma v_s = theta - eta gamma geometric v */
GD_INLINE void SFX(gd_skip_nag_lr_out)(REAL *th, REAL *v, const SKIP *s, const COEF *c)
{
    *th -= c->lr * (c->gamma * (s->geometric * *v));
    *v *= s->decay;
}

/* Adagrad, eps outside: a zero-gradient step changes nothing. */
GD_INLINE void SFX(gd_skip_adagrad_eps_out)(REAL *th, REAL *G, const SKIP *s, const COEF *c)
{
    (void)th; (void)G; (void)s; (void)c;
}

/* RMSprop, eps outside: E[g^2] = gamma^k E[g^2]; theta stays. */
GD_INLINE void SFX(gd_skip_rmsprop_eps_out)(REAL *th, REAL *Eg2, const SKIP *s, const COEF *c)
{
    (void)th; (void)c;
    *Eg2 *= s->decay;
}
