r"""The survey's update rules, literally, in NumPy float64: what the tests trust. It never calls the C code.

Source: S. Ruder, "An overview of gradient descent optimization algorithms", arXiv:1609.04747, section 4.
Each function takes ``(theta, g, *state, t, **hyperparameters)`` and returns new arrays
``(theta, *state)``; one line per equation, in the survey's order and notation (eta = ``lr``, t counts from 1).
Hyperparameters have no defaults here: the tests pass the optimizers' defaults from the registry.
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
        theta = theta - np.where(u > 0, lr / u * m_hat, 0.0)
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


# ---- Sparse gradients -------------------------------------------------------------------------------------------
# A sparse gradient is given here densely: g holds the (duplicate-summed) values, touched marks the coordinates
# present in its structure (explicit zeros included).

def sparse_lazy(rule, theta, g, touched, *state, t, **hyperparameters):
    """Lazy semantics (torch SparseAdam, TF LazyAdam): the rule, at step t, on the touched coordinates only;
    the others keep their parameter and state."""
    out = [np.array(a, dtype=np.float64) for a in (theta, *state)]
    new = globals()[rule](out[0][touched], np.asarray(g, np.float64)[touched], *(s[touched] for s in out[1:]),
                          t=t, **hyperparameters)
    for full, part in zip(out, new):
        full[touched] = part
    return tuple(out)


def sparse_exact(rule, theta, g, touched, *state, t, **hyperparameters):
    """Exact semantics: the dense step with a zero gradient on the untouched coordinates."""
    g = np.where(touched, np.asarray(g, np.float64), 0.0)
    return globals()[rule](theta, g, *state, t=t, **hyperparameters)
