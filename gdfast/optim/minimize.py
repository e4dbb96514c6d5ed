r"""``minimize(fun, x0, jac=True, method="adam")``: scipy.optimize.minimize's interface over gdfast's update rules.

Each iteration evaluates the gradient at the point the optimizer stores and takes one step of the chosen rule
(Ruder, arXiv:1609.04747, section 4) with the C kernels; the run stops on a small gradient, on the optional
ftol/xtol tests, at maxiter, on a NaN/Inf, or when the callback raises StopIteration. The answer is a
``scipy.optimize.OptimizeResult``.
"""
import inspect
import math
from collections.abc import Mapping

import numpy as np
from scipy.optimize import OptimizeResult

from .. import _validate
from .._validate import Integer, NoneOr, Real
from ._registry import RULES
from .optimizers import OPTIMIZERS

# The stopping rules among the options (gdfast._validate; the rule's hyperparameters are its optimizer's). A
# tolerance may be inf (stop at once); None switches ftol or xtol off.
STOPPING_CONSTRAINTS = {"maxiter": Integer(0), "gtol": Real(0, math.inf), "ftol": NoneOr(Real(0, math.inf)),
                        "xtol": NoneOr(Real(0, math.inf))}
_STOPPING = tuple(STOPPING_CONSTRAINTS)
_FINITE_DIFFERENCES = {"2-point": "forward", "3-point": "central"}

# Status codes (status 1 and 99 and their messages are scipy's).
SUCCESS, MAXITER, NONFINITE, CALLBACK = 0, 1, 3, 99


def minimize(fun, x0, args=(), method="adam", jac=None, *, callback=None, options=None):
    r"""Minimise a scalar function by gradient descent with one of gdfast's update rules.

    In the manner of ``scipy.optimize.minimize``: the same argument names and order up to ``jac`` (``callback``
    and ``options`` are keyword-only), and the same kind of result.

    The iteration, for k = 1, 2, ...:

    .. math:: g_k = \nabla f(\theta_{k-1}), \qquad \theta_k = \mathrm{U}_{rule}(\theta_{k-1}, g_k)

    where :math:`\mathrm{U}_{rule}` is one step of the chosen rule with its state (``gd.RULES[method].equation``;
    the table below), computed in place by the C kernels on a private copy of ``x0``.

    Nesterov (``method="nag"``): gdfast's NAG keeps the look-ahead point :math:`\phi = \theta - \gamma v` in its
    array, so the gradient evaluated at the stored array is the survey's :math:`\nabla f(\theta - \gamma v)`:

    .. math:: v_k = \gamma v_{k-1} + \eta \nabla f(\theta_{k-1} - \gamma v_{k-1}), \qquad \theta_k = \theta_{k-1} - v_k

    The result's ``x`` is the survey's :math:`\theta = \phi + \gamma v` (not the look-ahead point), and its
    ``fun`` and ``jac`` are evaluated there: one more evaluation at the end, counted in nfev/njev.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``, or ``-> (float, gradient)`` with ``jac=True``. ``x`` has the shape and dtype
        of the iterate (see x0) and is a fresh copy at every call (fun may keep it). The value must be a real
        scalar (or a size-1 array).
    x0 : array_like
        The starting point, of any shape (kept: ``x``, the gradient and ``res.x`` all have it). float32 stays
        float32 and float64 stays float64; integer input is converted to float64; any other dtype (float16,
        longdouble, complex, bool, object) is a TypeError. It is copied (C-contiguous); the caller's array is
        not modified. It must be finite and non-empty.
    args : tuple
        Extra arguments passed to fun and jac (a non-tuple is taken as a single argument, as scipy does).
    method : str
        The update rule, case-insensitive: "sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam",
        "adamax", "nadam" or "amsgrad" (``gd.OPTIMIZERS``).
    jac : bool, callable or {"2-point", "3-point"}
        How to get the gradient, which gradient descent cannot do without:

        - ``True``: fun returns ``(value, gradient)`` (one call per iteration; nfev == njev).
        - a callable ``jac(x, *args) -> gradient``.
        - ``"2-point"`` (forward differences, n extra calls of fun per gradient, error O(sqrt(eps))) or
          ``"3-point"`` (central differences, 2n extra calls, error O(eps^(2/3))), scipy's names; the step is
          :math:`h_i = \epsilon^{1/2}\max(1, |x_i|)` resp. :math:`\epsilon^{1/3}\max(1, |x_i|)` with
          :math:`\epsilon` the machine epsilon of x's dtype. Costly for large n, and the gradient's error puts
          a floor under any reachable gtol. Every call counts in nfev; each gradient once in njev.
        - ``None`` / ``False`` (the default, as in scipy): a ValueError. Unlike scipy, gdfast does not fall back
          to finite differences silently.

        The gradient must have x's shape. A gradient of lower precision (float32 for float64 x, integers) is
        widened to x's dtype; a float64 gradient for float32 x is a TypeError (gdfast does not narrow silently:
        return float32, or pass a float64 x0).
    callback : callable, optional
        Called after each iteration, with scipy's convention: a callable whose only parameter is named
        ``intermediate_result`` gets an ``OptimizeResult`` with ``x``, ``fun``, ``jac``, ``nit``, ``nfev`` and
        ``njev`` (copies); any other callable gets ``callback(xk)`` with a copy of x. For NAG, ``x`` is
        :math:`\theta` while ``fun`` and ``jac`` are those computed at the look-ahead point
        :math:`\phi = \theta - \gamma v`, also given as ``x_lookahead`` (no extra evaluation per iteration).
        Raising ``StopIteration`` ends the run as in scipy: ``success=False``, ``status=99``, message
        "`callback` raised `StopIteration`.", and x the last iterate.
    options : dict, optional
        - ``maxiter`` (int >= 0, default 1000): the most steps of the rule.
        - ``gtol`` (default 1e-6): success when :math:`\max_i |\nabla f(x)_i| \le` gtol, tested at the point
          returned (for NAG: first at the look-ahead point, then confirmed at :math:`\theta` with one more
          evaluation; if :math:`\theta` fails the run goes on). Tested before the first step too: at an x0 that
          passes no step is taken (nit = 0).
        - ``ftol`` (default None, off): success when
          :math:`|f_{k-1} - f_k| \le \mathrm{ftol}\cdot\max(|f_{k-1}|, |f_k|, 1)` after a step.
        - ``xtol`` (default None, off): success when :math:`\max_i |x_{k,i} - x_{k-1,i}| \le` xtol after a step.
          ftol and xtol test progress, not optimality: a small lr makes them fire far from a minimum.
        - the rule's hyperparameters, passed to its optimizer class with its defaults and checks (lr, gamma,
          beta1, beta2, eps: those the rule has; ``gd.RULES[method].defaults``).

        Any other key is a ValueError listing the accepted ones.

    Returns
    -------
    scipy.optimize.OptimizeResult
        ``x`` (x0's shape, float32 or float64), ``fun`` (float) and ``jac`` (ndarray) at x, ``nit`` (steps
        taken), ``nfev``, ``njev``, ``success``, ``status`` and ``message``. status: 0 converged (the message
        names gtol, ftol or xtol); 1 maxiter reached (success False); 3 NaN or Inf in the value or gradient (no
        step is taken from such a point; success False); 99 the callback raised StopIteration (success False).

    Examples
    --------
    >>> import numpy as np
    >>> from gdfast.minimize import minimize
    >>> A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    >>> def f(x):
    ...     return 0.5 * x @ A @ x - b @ x, A @ x - b
    >>> res = minimize(f, np.zeros(2), jac=True, method="nag", options={"lr": 0.1, "gtol": 1e-8})
    >>> res.success, np.allclose(res.x, np.linalg.solve(A, b))
    (True, True)

    The rules (η = lr, g the gradient, t the step count):

    """
    rule = _rule(method)
    opts = _options(rule, options)
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    x = _start(x0)
    objective = _Objective(fun, jac, args, x)
    report = _wrap_callback(callback)
    try:
        opt = OPTIMIZERS[rule.name]([x], **opts["hyperparameters"])
    except (TypeError, ValueError) as e:
        raise type(e)(f"options: {e}") from e
    gtol, ftol, xtol, maxiter = opts["gtol"], opts["ftol"], opts["xtol"], opts["maxiter"]
    nag = rule.name == "nag"

    def theta():
        """The survey's parameters: the stored array, or for NAG phi + gamma v (phi itself while v = 0)."""
        if not nag:
            return x
        v = opt.state[0]["v"]
        return x + opt.gamma * v if v.any() else x.copy()

    f, g = objective(x)
    at_theta = True  # (f, g) are at theta(); False for NAG after a step (they are at the look-ahead point)
    nit, f_prev, x_prev = 0, None, None
    while True:
        if not (math.isfinite(f) and np.isfinite(g).all()):
            status, message = NONFINITE, (f"NaN result encountered: fun or its gradient is not finite after "
                                          f"{nit} iterations (fun = {f}).")
            break
        if _max_abs(g) <= gtol and not at_theta:  # NAG: confirm at theta, the point returned
            f_theta, g_theta = objective(theta())
            if _max_abs(g_theta) <= gtol:
                f, g, at_theta = f_theta, g_theta, True
        if _max_abs(g) <= gtol and at_theta:
            status, message = SUCCESS, (f"Optimization terminated successfully: max|gradient| = "
                                        f"{_max_abs(g):.3g} <= gtol = {gtol:g}.")
            break
        if f_prev is not None and ftol is not None and abs(f_prev - f) <= ftol * max(abs(f_prev), abs(f), 1.0):
            status, message = SUCCESS, (f"Optimization terminated successfully: the relative change of fun "
                                        f"{abs(f_prev - f):.3g} / max(|fun|, 1) <= ftol = {ftol:g}.")
            break
        if x_prev is not None:
            step = _max_abs(theta() - x_prev)
            if step <= xtol:
                status, message = SUCCESS, (f"Optimization terminated successfully: the last step's "
                                            f"max|x_k - x_k-1| = {step:.3g} <= xtol = {xtol:g}.")
                break
        if nit >= maxiter:
            status, message = MAXITER, (f"Maximum number of iterations has been exceeded: maxiter = {maxiter}, "
                                        f"gtol = {gtol:g} not met (max|gradient| = {_max_abs(g):.3g}).")
            break
        f_prev = f
        if xtol is not None:
            x_prev = theta().copy()
        opt.step(g)
        nit += 1
        f, g = objective(x)
        at_theta = not nag
        if report is not None:
            res = OptimizeResult(x=theta().copy(), fun=f, jac=g.copy(), nit=nit, nfev=objective.nfev,
                                 njev=objective.njev)
            if nag:
                res.x_lookahead = x.copy()
            try:
                report(res)
            except StopIteration:
                status, message = CALLBACK, "`callback` raised `StopIteration`."
                break
    x_out = theta()
    if not at_theta:  # NAG: the value and gradient reported are those at theta
        f, g = objective(x_out)
    return OptimizeResult(x=x_out, fun=f, jac=g, nit=nit, nfev=objective.nfev, njev=objective.njev,
                          success=status == SUCCESS, status=status, message=message)


if minimize.__doc__:  # None under python -OO
    minimize.__doc__ = minimize.__doc__.rstrip(" ") + "\n".join(
        f"    - ``{name}`` ({rule.class_name}): {rule.equation}" for name, rule in RULES.items())


def _max_abs(a):
    return float(np.max(np.abs(a)))


def _rule(method):
    if not isinstance(method, str):
        raise TypeError(f"method must be a rule's name (a str), one of {list(OPTIMIZERS)}; got {type(method).__name__}")
    name = method.lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown method {method!r}; gdfast.minimize accepts {list(OPTIMIZERS)} (case-insensitive)")
    return RULES[name]


def _options(rule, options):
    """The stopping rules and the rule's hyperparameters, checked; unknown keys are a ValueError."""
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    accepted = (*_STOPPING, *rule.defaults)
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for method {rule.name!r}; accepted: {list(accepted)}")
    stopping = {"maxiter": 1000, "gtol": 1e-6, "ftol": None, "xtol": None,
                **{k: options[k] for k in _STOPPING if k in options}}
    return {**_validate.check(STOPPING_CONSTRAINTS, stopping, "options[{!r}]"),
            "hyperparameters": {k: options[k] for k in rule.defaults if k in options}}


def _start(x0):
    """A private, C-contiguous copy of x0: float32 or float64 as given, integers as float64."""
    x = np.asarray(x0)
    if x.dtype.kind == "f" and x.dtype.itemsize in (4, 8):
        dtype = np.dtype(f"f{x.dtype.itemsize}")  # native byte order, same precision
    elif x.dtype.kind in "iu":
        dtype = np.dtype(np.float64)  # documented: integer input becomes float64
    else:
        raise TypeError(f"x0 must be float32, float64 or integer, got dtype {x.dtype}; gdfast does not cast it "
                        "(pass x0.astype(np.float64))")
    x = np.array(x, dtype=dtype, order="C", copy=True)
    if x.size == 0:
        raise ValueError("x0 is empty")
    if not np.isfinite(x).all():
        raise ValueError("x0 contains NaN or Inf")
    return x


class _Objective:
    """fun (and jac) as (value, gradient) at a point, counting calls; values and gradients checked."""

    def __init__(self, fun, jac, args, x):
        self.fun, self.args, self.shape, self.dtype = fun, args, x.shape, x.dtype
        self.nfev = self.njev = 0
        if jac is True:
            self.mode = "fun"
        elif callable(jac):
            self.mode, self.jac = "jac", jac
        elif isinstance(jac, str) and jac in _FINITE_DIFFERENCES:
            self.mode = _FINITE_DIFFERENCES[jac]
        elif jac is None or jac is False:
            raise ValueError("gdfast.minimize needs a gradient: pass jac=True (fun returns (value, gradient)), a "
                             "callable jac(x, *args), or jac='2-point' / '3-point' for finite differences (n resp. "
                             "2n extra calls of fun per iteration)")
        else:
            raise ValueError(f"jac must be True, a callable, '2-point' or '3-point'; got {jac!r}")

    def _call(self, x):
        self.nfev += 1
        return self.fun(x.copy(), *self.args)

    def __call__(self, x):
        if self.mode == "fun":
            out = self._call(x)
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError(f"with jac=True, fun must return (value, gradient), got {type(out).__name__}")
            f, g = _value(out[0]), self._gradient(out[1])
        elif self.mode == "jac":
            f = _value(self._call(x))
            g = self._gradient(self.jac(x.copy(), *self.args))
        else:
            f = _value(self._call(x))
            g = self._finite_differences(x, f)
        self.njev += 1
        return f, g

    def _gradient(self, g):
        g = np.asarray(g)
        if g.shape != self.shape:
            raise ValueError(f"the gradient has shape {g.shape} but x has shape {self.shape}")
        if g.dtype != self.dtype:
            if g.dtype.kind not in "iuf" or not np.can_cast(g.dtype, self.dtype, "safe"):
                raise TypeError(f"the gradient has dtype {g.dtype} but x is {self.dtype}; gdfast does not narrow it "
                                f"silently: return a {self.dtype} gradient (or pass x0 as float64)")
        # Our own copy (widened where the dtype differs: float32 or integers to float64, small integers to float32): a
        # user's jac may return the same buffer at every call, and NAG keeps one gradient across another call.
        return np.array(g, dtype=self.dtype, order="C", copy=True)

    def _finite_differences(self, x, f0):
        """Forward or central differences, one coordinate at a time; steps scaled by max(1, |x_i|)."""
        central = self.mode == "central"
        rel = np.finfo(self.dtype).eps ** (1 / 3 if central else 1 / 2)
        work = x.copy()
        flat = work.reshape(-1)
        g = np.empty(self.shape, self.dtype)
        gflat = g.reshape(-1)
        for i in range(flat.size):
            xi = float(flat[i])
            h = rel * max(1.0, abs(xi))
            flat[i] = xi + h
            h_plus = float(flat[i]) - xi  # the step actually taken, after rounding x_i + h
            f_plus = _value(self._call(work))
            if central:
                flat[i] = xi - h
                h_minus = xi - float(flat[i])
                gflat[i] = (f_plus - _value(self._call(work))) / (h_plus + h_minus)
            else:
                gflat[i] = (f_plus - f0) / h_plus
            flat[i] = xi
        return g


def _value(f):
    """fun's value as a float: a real scalar or a size-1 array."""
    a = np.asarray(f)
    if a.size != 1:
        raise ValueError(f"fun must return a scalar, got an array of shape {a.shape}")
    if a.dtype.kind not in "iuf":
        raise TypeError(f"fun must return a real number, got dtype {a.dtype}")
    return float(a.reshape(()))


def _wrap_callback(callback):
    """scipy's convention: a callable whose only parameter is ``intermediate_result`` gets the OptimizeResult
    (as a keyword), any other gets a copy of x."""
    if callback is None:
        return None
    if not callable(callback):
        raise TypeError(f"callback must be callable, got {type(callback).__name__}")
    try:
        parameters = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):  # builtins without a signature: the legacy form
        parameters = None
    if parameters == {"intermediate_result"}:
        return lambda res: callback(intermediate_result=res)
    return lambda res: callback(res.x)
