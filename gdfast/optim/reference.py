r"""The survey's update rules, literally, in NumPy float64: what the tests trust. It never calls the C code.

Source: S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747, section 4; and
beyond the survey, FTRL-Proximal: H. B. McMahan et al., "Ad click prediction: a view from the trenches", KDD 2013,
Algorithm 1.
Each function takes ``(theta, g, *state, t, **hyperparameters)`` and returns new arrays
``(theta, *state)``; one line per equation, in the survey's order and notation (eta = ``lr``, t counts from 1).
Hyperparameters have no defaults here: the tests pass the optimizers' defaults from the registry.

The frameworks' forms (``convention="torch"``, "keras", "optax") follow the survey's rules, one function per
distinct form, each transcribed from the framework's source file named in its docstring; ``step(rule,
convention)`` picks the function of a pair (the survey's where the framework computes the rule as the survey
does) and ``initial_state`` the state a convention starts from.
"""
import numpy as np


def _f64(*arrays):
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def sgd(theta, g, *, t, lr):
    r""".. math:: \theta_{t+1} = \theta_t - \eta\, g_t"""
    theta, g = _f64(theta, g)
    theta = theta - lr * g
    return (theta,)


def momentum(theta, g, v, *, t, lr, gamma):
    r""".. math:: v_t = \gamma v_{t-1} + \eta g_t, \quad \theta = \theta - v_t"""
    theta, g, v = _f64(theta, g, v)
    v = gamma * v + lr * g
    theta = theta - v
    return theta, v


def nag(theta, g, v, *, t, lr, gamma):
    r"""Look-ahead form (survey, Nadam section): theta holds :math:`\theta - \gamma v`, g is the gradient there.

    .. math:: m_t = \gamma m_{t-1} + \eta g_t, \quad \theta_{t+1} = \theta_t - (\gamma m_t + \eta g_t)
    """
    theta, g, v = _f64(theta, g, v)
    v = gamma * v + lr * g
    theta = theta - (gamma * v + lr * g)
    return theta, v


def adagrad(theta, g, G, *, t, lr, eps):
    r""".. math:: G_t = G_{t-1} + g_t^2, \quad \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{G_t + \epsilon}} \odot g_t"""
    theta, g, G = _f64(theta, g, G)
    G = G + g**2
    theta = theta - lr / np.sqrt(G + eps) * g
    return theta, G


def adadelta(theta, g, Eg2, Edx2, *, t, lr, gamma, eps):
    r""".. math::
        E[g^2]_t = \gamma E[g^2]_{t-1} + (1 - \gamma) g^2_t, \quad
        \Delta\theta_t = - \frac{RMS[\Delta\theta]_{t-1}}{RMS[g]_t} g_t, \quad
        E[\Delta\theta^2]_t = \gamma E[\Delta\theta^2]_{t-1} + (1 - \gamma) \Delta\theta^2_t, \quad
        \theta_{t+1} = \theta_t + \Delta\theta_t

    with :math:`RMS[x]_t = \sqrt{E[x^2]_t + \epsilon}`; ``lr`` multiplies the step (1 is the survey's rule).
    """
    theta, g, Eg2, Edx2 = _f64(theta, g, Eg2, Edx2)
    Eg2 = gamma * Eg2 + (1 - gamma) * g**2
    dx = -(np.sqrt(Edx2 + eps) / np.sqrt(Eg2 + eps)) * g
    Edx2 = gamma * Edx2 + (1 - gamma) * dx**2
    theta = theta + lr * dx
    return theta, Eg2, Edx2


def rmsprop(theta, g, Eg2, *, t, lr, gamma, eps):
    r""".. math:: E[g^2]_t = \gamma E[g^2]_{t-1} + (1 - \gamma) g^2_t, \quad
                  \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}} g_t"""
    theta, g, Eg2 = _f64(theta, g, Eg2)
    Eg2 = gamma * Eg2 + (1 - gamma) * g**2
    theta = theta - lr / np.sqrt(Eg2 + eps) * g
    return theta, Eg2


def adam(theta, g, m, v, *, t, lr, beta1, beta2, eps):
    r""".. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1 - \beta_1^t}, \quad \hat v_t = \frac{v_t}{1 - \beta_2^t}, \quad
        \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{\hat v_t} + \epsilon} \hat m_t
    """
    theta, g, m, v = _f64(theta, g, m, v)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr / (np.sqrt(v_hat) + eps) * m_hat
    return theta, m, v


def adamax(theta, g, m, u, *, t, lr, beta1, beta2):
    r""".. math:: m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad u_t = \max(\beta_2 u_{t-1}, |g_t|), \quad
                  \theta_{t+1} = \theta_t - \frac{\eta}{u_t} \hat m_t

    Where :math:`u_t = 0` (every gradient so far zero) there is no step (the formula reads 0/0).
    """
    theta, g, m, u = _f64(theta, g, m, u)
    m = beta1 * m + (1 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g))
    m_hat = m / (1 - beta1**t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # the branch np.where discards
        # eta (m_hat / u): m_hat / u is bounded, while eta / u overflows where u is subnormal (as csrc/rules.h)
        theta = theta - np.where(u > 0, lr * (m_hat / u), 0.0)
    return theta, m, u


def nadam(theta, g, m, v, *, t, lr, beta1, beta2, eps):
    r""".. math:: \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{\hat v_t} + \epsilon}
                  \Big(\beta_1 \hat m_t + \frac{(1 - \beta_1) g_t}{1 - \beta_1^t}\Big)

    with :math:`m_t, v_t, \hat m_t, \hat v_t` as in Adam.
    """
    theta, g, m, v = _f64(theta, g, m, v)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr / (np.sqrt(v_hat) + eps) * (beta1 * m_hat + (1 - beta1) * g / (1 - beta1**t))
    return theta, m, v


def amsgrad(theta, g, m, v, vhat, *, t, lr, beta1, beta2, eps):
    r""".. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \quad
        \hat v_t = \max(\hat v_{t-1}, v_t), \quad \theta_{t+1} = \theta_t - \frac{\eta}{\sqrt{\hat v_t} + \epsilon} m_t
    """
    theta, g, m, v, vhat = _f64(theta, g, m, v, vhat)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    vhat = np.maximum(vhat, v)
    theta = theta - lr / (np.sqrt(vhat) + eps) * m
    return theta, m, v, vhat


def ftrl(theta, g, z, n, *, t, lr, beta, lambda1, lambda2):
    r"""FTRL-Proximal (McMahan et al., 2013, Algorithm 1), per coordinate i, alpha = ``lr``, g taken at theta:

    .. math::
        \sigma_i = \frac{\sqrt{n_i + g_i^2} - \sqrt{n_i}}{\alpha}, \quad z_i \leftarrow z_i + g_i - \sigma_i w_i,
        \quad n_i \leftarrow n_i + g_i^2, \quad
        w_i = \begin{cases} 0 & |z_i| \le \lambda_1 \\
        -\dfrac{z_i - \operatorname{sgn}(z_i) \lambda_1}{(\beta + \sqrt{n_i}) / \alpha + \lambda_2} & \text{otherwise}
        \end{cases}

    w is computed from z and n at every step (a zero gradient included), so a start theta != 0 enters only through
    sigma * theta. lr = 0 (the paper needs alpha > 0) takes no step, as csrc/rules.h. The one line not written as
    the paper writes it is sigma's, whose difference of square roots is rationalised as csrc/rules.h computes it:
    :math:`\sigma = g^2 / ((\sqrt{n + g^2} + \sqrt{n})\, \alpha)`, the same number (0 where n + g^2 = 0) without
    the cancellation of two close roots where g^2 << n, which 1 / alpha amplifies in z (in float32 the difference
    loses ~4 digits of z at alpha = 1e-3; in float64 the two forms part by several 1e-12 there).
    """
    theta, g, z, n = _f64(theta, g, z, n)
    if lr == 0:
        return theta, z, n
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch np.where discards (0 / 0 where n + g^2 = 0)
        sigma = np.where(n + g**2 > 0, g**2 / ((np.sqrt(n + g**2) + np.sqrt(n)) * lr), 0.0)
    z = z + g - sigma * theta
    n = n + g**2
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch np.where discards (z = 0 where n = 0)
        w = -(z - np.sign(z) * lambda1) / ((beta + np.sqrt(n)) / lr + lambda2)
    theta = np.where(np.abs(z) <= lambda1, 0.0, w)
    return theta, z, n


# ---- The frameworks' forms -----------------------------------------------------------------------------------------

def momentum_lr_out(theta, g, v, *, t, lr, gamma):
    r"""torch/optim/sgd.py (momentum, dampening 0), optax sgd(momentum) (trace, then -lr):

    .. math:: v_t = \gamma v_{t-1} + g_t, \quad \theta = \theta - \eta v_t
    """
    theta, g, v = _f64(theta, g, v)
    v = gamma * v + g
    theta = theta - lr * v
    return theta, v


def nag_lr_out(theta, g, v, *, t, lr, gamma):
    r"""torch/optim/sgd.py (nesterov=True), optax sgd(nesterov=True):

    .. math:: v_t = \gamma v_{t-1} + g_t, \quad \theta = \theta - \eta (g_t + \gamma v_t)
    """
    theta, g, v = _f64(theta, g, v)
    v = gamma * v + g
    theta = theta - lr * (g + gamma * v)
    return theta, v


def adagrad_eps_out(theta, g, G, *, t, lr, eps):
    r"""torch/optim/adagrad.py: .. math:: G_t = G_{t-1} + g_t^2, \quad \theta = \theta - \eta g_t / (\sqrt{G_t} + \epsilon)"""
    theta, g, G = _f64(theta, g, G)
    G = G + g**2
    theta = theta - lr * g / (np.sqrt(G) + eps)
    return theta, G


def rmsprop_eps_out(theta, g, Eg2, *, t, lr, gamma, eps):
    r"""torch/optim/rmsprop.py (alpha = gamma):

    .. math:: E[g^2]_t = \gamma E[g^2]_{t-1} + (1 - \gamma) g_t^2, \quad
              \theta = \theta - \eta g_t / (\sqrt{E[g^2]_t} + \epsilon)
    """
    theta, g, Eg2 = _f64(theta, g, Eg2)
    Eg2 = gamma * Eg2 + (1 - gamma) * g**2
    theta = theta - lr * g / (np.sqrt(Eg2) + eps)
    return theta, Eg2


def adam_eps_hat(theta, g, m, v, *, t, lr, beta1, beta2, eps):
    r"""keras/src/optimizers/adam.py: :math:`\alpha = \eta \sqrt{1 - \beta_2^t} / (1 - \beta_1^t)`,
    :math:`\theta = \theta - \alpha m_t / (\sqrt{v_t} + \hat\epsilon)` with m, v as Adam."""
    theta, g, m, v = _f64(theta, g, m, v)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    alpha = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    theta = theta - alpha * m / (np.sqrt(v) + eps)
    return theta, m, v


def adamax_eps_max(theta, g, m, u, *, t, lr, beta1, beta2, eps):
    r"""torch/optim/adamax.py, optax scale_by_adamax (tree_update_infinity_moment):

    .. math:: u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \quad \theta = \theta - \frac{\eta}{1 - \beta_1^t} m_t / u_t
    """
    theta, g, m, u = _f64(theta, g, m, u)
    m = beta1 * m + (1 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g) + eps)
    theta = theta - lr / (1 - beta1**t) * m / u
    return theta, m, u


def adamax_eps_add(theta, g, m, u, *, t, lr, beta1, beta2, eps):
    r"""keras/src/optimizers/adamax.py:

    .. math:: u_t = \max(\beta_2 u_{t-1}, |g_t|), \quad \theta = \theta - \eta m_t / ((1 - \beta_1^t)(u_t + \epsilon))
    """
    theta, g, m, u = _f64(theta, g, m, u)
    m = beta1 * m + (1 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g))
    theta = theta - lr * m / ((1 - beta1**t) * (u + eps))
    return theta, m, u


def nadam_schedule(theta, g, m, v, *, t, lr, beta1, beta2, eps, momentum_decay):
    r"""torch/optim/nadam.py (psi = momentum_decay), keras/src/optimizers/nadam.py (psi = 1):
    :math:`\mu_s = \beta_1 (1 - \tfrac12 0.96^{s \psi})`, :math:`\Pi_t = \mu_1 \cdots \mu_t` (beta1 and psi
    constant over the steps), m, v as Adam, :math:`\hat v_t = v_t / (1 - \beta_2^t)`;

    .. math:: \theta = \theta - \eta \Big(\frac{(1 - \mu_t) g_t}{1 - \Pi_t}
              + \frac{\mu_{t+1} m_t}{1 - \Pi_t \mu_{t+1}}\Big) / (\sqrt{\hat v_t} + \epsilon)
    """
    theta, g, m, v = _f64(theta, g, m, v)
    mu = [beta1 * (1 - 0.5 * 0.96 ** (s * momentum_decay)) for s in range(1, t + 2)]
    product = float(np.prod(mu[:t]))
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    v_hat = v / (1 - beta2**t)
    m_bar = (1 - mu[t - 1]) * g / (1 - product) + mu[t] * m / (1 - product * mu[t])
    theta = theta - lr * m_bar / (np.sqrt(v_hat) + eps)
    return theta, m, v


def nadam_next_bias(theta, g, m, v, *, t, lr, beta1, beta2, eps):
    r"""optax/_src/transform.py scale_by_adam(nesterov=True) (optax.nadam):

    .. math:: \theta = \theta - \eta \Big(\beta_1 \frac{m_t}{1 - \beta_1^{t+1}} + (1 - \beta_1)\frac{g_t}{1 - \beta_1^t}\Big)
              / (\sqrt{\hat v_t} + \epsilon)
    """
    theta, g, m, v = _f64(theta, g, m, v)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_bar = beta1 * m / (1 - beta1 ** (t + 1)) + (1 - beta1) * g / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * m_bar / (np.sqrt(v_hat) + eps)
    return theta, m, v


def amsgrad_bias(theta, g, m, v, vhat, *, t, lr, beta1, beta2, eps):
    r"""torch/optim/adam.py (amsgrad=True): :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`,

    .. math:: \theta = \theta - \frac{\eta}{1 - \beta_1^t} m_t / (\sqrt{\hat v_t} / \sqrt{1 - \beta_2^t} + \epsilon)
    """
    theta, g, m, v, vhat = _f64(theta, g, m, v, vhat)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    vhat = np.maximum(vhat, v)
    theta = theta - lr / (1 - beta1**t) * m / (np.sqrt(vhat) / np.sqrt(1 - beta2**t) + eps)
    return theta, m, v, vhat


def amsgrad_eps_hat(theta, g, m, v, vhat, *, t, lr, beta1, beta2, eps):
    r"""keras/src/optimizers/adam.py (amsgrad=True): :math:`\hat v_t = \max(\hat v_{t-1}, v_t)`,
    :math:`\theta = \theta - \alpha m_t / (\sqrt{\hat v_t} + \hat\epsilon)`, α as Keras' Adam."""
    theta, g, m, v, vhat = _f64(theta, g, m, v, vhat)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    vhat = np.maximum(vhat, v)
    alpha = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    theta = theta - alpha * m / (np.sqrt(vhat) + eps)
    return theta, m, v, vhat


def amsgrad_max_bias(theta, g, m, v, vhat, *, t, lr, beta1, beta2, eps):
    r"""optax/_src/transform.py scale_by_amsgrad: the max of the bias-corrected second moment,

    .. math:: \hat v_t = \max(\hat v_{t-1}, v_t / (1 - \beta_2^t)), \quad
              \theta = \theta - \eta \frac{m_t / (1 - \beta_1^t)}{\sqrt{\hat v_t} + \epsilon}
    """
    theta, g, m, v, vhat = _f64(theta, g, m, v, vhat)
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    vhat = np.maximum(vhat, v / (1 - beta2**t))
    theta = theta - lr * (m / (1 - beta1**t)) / (np.sqrt(vhat) + eps)
    return theta, m, v, vhat


# Which function states each (rule, convention) pair; every pair not listed is the survey's rule (the
# framework computes it as the survey writes it; only its defaults differ). Transcribed from the sources, not
# from gdfast's registry, so a test that compares the two checks the registry's choice of kernel too.
FORMS = {
    ("momentum", "torch"): momentum_lr_out, ("momentum", "optax"): momentum_lr_out,
    ("nag", "torch"): nag_lr_out, ("nag", "optax"): nag_lr_out,
    ("adagrad", "torch"): adagrad_eps_out,
    ("rmsprop", "torch"): rmsprop_eps_out,
    ("adam", "keras"): adam_eps_hat,
    ("adamax", "torch"): adamax_eps_max, ("adamax", "optax"): adamax_eps_max, ("adamax", "keras"): adamax_eps_add,
    ("nadam", "torch"): nadam_schedule, ("nadam", "keras"): nadam_schedule, ("nadam", "optax"): nadam_next_bias,
    ("amsgrad", "torch"): amsgrad_bias, ("amsgrad", "keras"): amsgrad_eps_hat,
    ("amsgrad", "optax"): amsgrad_max_bias,
}

# Hyperparameters that set the initial state only: name -> the slots it sets (Adagrad's G, FTRL's n).
INITIAL = {"initial_accumulator_value": ("G", "n")}


def step(rule, convention="survey"):
    """The function of one step of `rule` under `convention`, taking ``(theta, g, *state, t, **hyperparameters)``
    (initial_accumulator_value accepted and unused: see initial_state)."""
    f = FORMS.get((rule, convention), globals()[rule])

    def one_step(theta, g, *state, t, **hyperparameters):
        for name in INITIAL:
            hyperparameters.pop(name, None)
        return f(theta, g, *state, t=t, **hyperparameters)

    one_step.__name__ = f.__name__
    return one_step


def initial_state(slots, theta, hyperparameters):
    """The state buffers a convention starts from: 0, or initial_accumulator_value for Adagrad's G and FTRL's n."""
    values = {slot: hyperparameters[name] for name, accumulators in INITIAL.items() if name in hyperparameters
              for slot in accumulators}
    return [np.full(np.shape(theta), float(values.get(slot, 0.0))) for slot in slots]


# ---- Sparse gradients -------------------------------------------------------------------------------------------
# A sparse gradient is given here densely: g holds the (duplicate-summed) values, touched marks the coordinates
# present in its structure (explicit zeros included).

def sparse_lazy(rule, theta, g, touched, *state, t, convention="survey", **hyperparameters):
    """Lazy semantics (torch SparseAdam, TF LazyAdam): the rule, at step t, on the touched coordinates only;
    the others keep their parameter and state."""
    out = [np.array(a, dtype=np.float64) for a in (theta, *state)]
    new = step(rule, convention)(out[0][touched], np.asarray(g, np.float64)[touched], *(s[touched] for s in out[1:]),
                          t=t, **hyperparameters)
    for full, part in zip(out, new):
        full[touched] = part
    return tuple(out)


def sparse_exact(rule, theta, g, touched, *state, t, convention="survey", **hyperparameters):
    """Exact semantics: the dense step with a zero gradient on the untouched coordinates."""
    g = np.where(touched, np.asarray(g, np.float64), 0.0)
    return step(rule, convention)(theta, g, *state, t=t, **hyperparameters)


# ---- the L1 penalty and averaging of a training loop (gdfast.fit, penalty="l1"/"elasticnet", average=) -------

def coordinate_rate(rule, state, *, t, lr, eps=0.0, beta2=0.0, **_):
    r"""The rule's per-coordinate learning rate after its step at t: the diagonal :math:`\eta_j` of its
    preconditioner, read from its state (the names of gdfast.RULES[rule].slots):

    .. math::
        \eta\ (\text{sgd, momentum, nag}), \quad \frac{\eta}{\sqrt{G + \epsilon}}\ (\text{adagrad}), \quad
        \frac{\eta}{\sqrt{E[g^2] + \epsilon}}\ (\text{rmsprop}), \quad
        \eta \frac{\sqrt{E[\Delta\theta^2] + \epsilon}}{\sqrt{E[g^2] + \epsilon}}\ (\text{adadelta}), \\
        \frac{\eta}{\sqrt{v / (1 - \beta_2^t)} + \epsilon}\ (\text{adam, nadam}), \quad
        \frac{\eta}{\sqrt{\hat v} + \epsilon}\ (\text{amsgrad}), \quad \frac{\eta}{u}\ (\text{adamax})
    """
    s = {name: np.asarray(value, np.float64) for name, value in state.items()}
    if rule in ("adagrad", "rmsprop"):
        return lr / np.sqrt(s["G" if rule == "adagrad" else "Eg2"] + eps)
    if rule == "adadelta":
        return lr * np.sqrt(s["Edx2"] + eps) / np.sqrt(s["Eg2"] + eps)
    if rule in ("adam", "nadam"):
        return lr / (np.sqrt(s["v"] / (1 - beta2**t)) + eps)
    if rule == "amsgrad":
        return lr / (np.sqrt(s["vhat"]) + eps)
    if rule == "adamax":
        return np.where(s["u"] > 0, lr / np.where(s["u"] > 0, s["u"], 1.0), lr)
    return lr


def l1_proximal(theta, rate, l1):
    r"""The proximal step of :math:`l_1 \|\theta\|_1` at per-coordinate rates :math:`\eta_j` (the adaptive rules):

    .. math:: \theta_j \leftarrow \operatorname{sign}(\theta_j) \max(0, |\theta_j| - l_1 \eta_j)
    """
    theta = np.asarray(theta, np.float64)
    return np.sign(theta) * np.maximum(0.0, np.abs(theta) - l1 * rate)


def l1_cumulative(theta, u, q):
    r"""The cumulative L1 penalty of Tsuruoka, Tsujii and Ananiadou (2009) (sgd, momentum, nag, and scikit-learn's
    SGD): u is :math:`l_1 \sum_s \eta_s` over every step so far, q what the penalty has taken from each weight;
    each weight is pulled toward 0 by what it has not yet given, never across 0. Returns (theta, q).

    .. math::
        \theta_j \leftarrow \max(0, \theta_j - (u + q_j)) \text{ if } \theta_j > 0, \quad
        \min(0, \theta_j + (u - q_j)) \text{ if } \theta_j < 0; \qquad q_j \leftarrow q_j + \theta_j' - \theta_j
    """
    theta, q = np.asarray(theta, np.float64), np.asarray(q, np.float64)
    new = np.where(theta > 0, np.maximum(0.0, theta - (u + q)), np.where(theta < 0, np.minimum(0.0, theta + (u - q)), 0))
    return new, q + (new - theta)


def running_mean(mean, theta, k):
    r"""Polyak-Ruppert averaging: the mean of the iterates after the k-th one (k >= 1),
    :math:`\bar\theta_k = \bar\theta_{k-1} + (\theta_k - \bar\theta_{k-1}) / k`."""
    return np.asarray(mean, np.float64) + (np.asarray(theta, np.float64) - mean) / k
