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


# minimize's docstring, attached below the function with the rules' lines appended from the registry: the
# docstring (the options, the result, the table of rules) is longer than the code it documents, so it stands here
# and the function's body reads as the steps of a run.
_MINIMIZE_DOC = r"""Minimise a scalar function by gradient descent with one of gdfast's update rules.

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
        "adamax", "nadam", "amsgrad" or "ftrl" (``gd.OPTIMIZERS``).
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
    >>> from gdfast import minimize
    >>> A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, -1.0])
    >>> def f(x):
    ...     return 0.5 * x @ A @ x - b @ x, A @ x - b
    >>> res = minimize(f, np.zeros(2), jac=True, method="nag", options={"lr": 0.1, "gtol": 1e-8})
    >>> res.success, np.allclose(res.x, np.linalg.solve(A, b))
    (True, True)

    The rules (η = lr, g the gradient, t the step count):

    """


def minimize(fun, x0, args=(), method="adam", jac=None, *, callback=None, options=None):
    # The docstring is _MINIMIZE_DOC above.
    rule = _rule(method)
    opts = _options(rule, options)
    if not callable(fun):
        raise TypeError(f"fun must be callable, got {type(fun).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    x = _start(x0)
    objective = _Objective(fun, jac, args, x)
    report = _wrap_callback(callback)
    opt = _optimizer(rule, x, opts["hyperparameters"])
    return _Descent(objective, opt, x, report, opts).run()


minimize.__doc__ = _MINIMIZE_DOC.rstrip(" ") + "\n".join(
    f"    - ``{name}`` ({rule.class_name}): {rule.equation}" for name, rule in RULES.items())


def _optimizer(rule, x, hyperparameters):
    """The rule's optimizer over the private copy x; a bad hyperparameter is reported as an option."""
    try:
        return OPTIMIZERS[rule.name]([x], **hyperparameters)
    except (TypeError, ValueError) as e:
        raise type(e)(f"options: {e}") from e


class _Descent:
    r"""One run of :func:`minimize`: the iterate x (updated in place by the optimizer), the value and gradient
    at the last evaluation, and the stopping tests.

    Each iteration: the stopping tests, in the order of the docstring (a non-finite value or gradient, gtol,
    ftol, xtol, maxiter); if none fires, one step of the rule from the gradient at the stored array, an
    evaluation at the new stored array, and the callback. For NAG the stored array is the look-ahead point
    :math:`\phi = \theta - \gamma v`, so after a step (f, g) are at phi, not at the theta that is returned
    (``at_theta`` says which).
    """

    def __init__(self, objective, opt, x, report, opts):
        self.objective, self.opt, self.x, self.report = objective, opt, x, report
        self.gtol, self.ftol, self.xtol, self.maxiter = opts["gtol"], opts["ftol"], opts["xtol"], opts["maxiter"]
        self.nag = opt.rule.name == "nag"
        self.f = self.g = None
        self.at_theta = True  # (f, g) are at theta(); False for NAG after a step (they are at the look-ahead point)
        self.nit, self.f_prev, self.x_prev = 0, None, None

    def run(self):
        """Iterate until a stopping test fires or the callback stops the run; the OptimizeResult at theta."""
        self.f, self.g = self.objective(self.x)
        stop = self._stopping()
        while stop is None:
            self._step()
            stop = self._report() or self._stopping()
        return self._result(*stop)

    def theta(self):
        """The survey's parameters: the stored array, or for NAG phi + gamma v (phi itself while v = 0)."""
        if not self.nag:
            return self.x
        v = self.opt.state[0]["v"]
        return self.x + self.opt.gamma * v if v.any() else self.x.copy()

    def _stopping(self):
        """(status, message) of the first stopping test that fires, None if none does."""
        for test in (self._non_finite, self._small_gradient, self._small_change_of_fun, self._small_step,
                     self._out_of_iterations):
            stop = test()
            if stop is not None:
                return stop
        return None

    def _non_finite(self):
        """A NaN or Inf in the value or the gradient: no step is taken from such a point."""
        if not (math.isfinite(self.f) and np.isfinite(self.g).all()):
            return NONFINITE, (f"NaN result encountered: fun or its gradient is not finite after {self.nit} "
                               f"iterations (fun = {self.f}).")
        return None

    def _small_gradient(self):
        """max|g| <= gtol at the point returned. For NAG after a step, g is at the look-ahead point: a small one
        is confirmed at theta with one more evaluation, whose (f, g) are kept only if it passes there too."""
        if _max_abs(self.g) <= self.gtol and not self.at_theta:
            f_theta, g_theta = self.objective(self.theta())
            if _max_abs(g_theta) <= self.gtol:
                self.f, self.g, self.at_theta = f_theta, g_theta, True
        if _max_abs(self.g) <= self.gtol and self.at_theta:
            return SUCCESS, (f"Optimization terminated successfully: max|gradient| = {_max_abs(self.g):.3g} "
                             f"<= gtol = {self.gtol:g}.")
        return None

    def _small_change_of_fun(self):
        r""":math:`|f_{k-1} - f_k| \le \mathrm{ftol}\cdot\max(|f_{k-1}|, |f_k|, 1)` after a step (ftol on)."""
        f_prev, f = self.f_prev, self.f
        if f_prev is None or self.ftol is None:
            return None
        change = abs(f_prev - f)
        if change <= self.ftol * max(abs(f_prev), abs(f), 1.0):
            return SUCCESS, (f"Optimization terminated successfully: the relative change of fun "
                             f"{change:.3g} / max(|fun|, 1) <= ftol = {self.ftol:g}.")
        return None

    def _small_step(self):
        r""":math:`\max_i |x_{k,i} - x_{k-1,i}| \le` xtol after a step (x_prev is kept only with xtol on)."""
        if self.x_prev is not None:
            step = _max_abs(self.theta() - self.x_prev)
            if step <= self.xtol:
                return SUCCESS, (f"Optimization terminated successfully: the last step's max|x_k - x_k-1| = "
                                 f"{step:.3g} <= xtol = {self.xtol:g}.")
        return None

    def _out_of_iterations(self):
        """maxiter steps taken (0: none, the tests above only)."""
        if self.nit >= self.maxiter:
            return MAXITER, (f"Maximum number of iterations has been exceeded: maxiter = {self.maxiter}, "
                             f"gtol = {self.gtol:g} not met (max|gradient| = {_max_abs(self.g):.3g}).")
        return None

    def _step(self):
        """One step of the rule with the gradient at the stored array, then (f, g) at the new stored array."""
        self.f_prev = self.f
        if self.xtol is not None:
            self.x_prev = self.theta().copy()
        self.opt.step(self.g)
        self.nit += 1
        self.f, self.g = self.objective(self.x)
        self.at_theta = not self.nag

    def _report(self):
        """The callback with this iteration's result (copies); (status, message) if it raised StopIteration."""
        if self.report is None:
            return None
        res = OptimizeResult(x=self.theta().copy(), fun=self.f, jac=self.g.copy(), nit=self.nit,
                             nfev=self.objective.nfev, njev=self.objective.njev)
        if self.nag:
            res.x_lookahead = self.x.copy()
        try:
            self.report(res)
        except StopIteration:
            return CALLBACK, "`callback` raised `StopIteration`."
        return None

    def _result(self, status, message):
        """The OptimizeResult at theta; for NAG, (f, g) evaluated there if they are at the look-ahead point."""
        x_out = self.theta()
        if not self.at_theta:
            self.f, self.g = self.objective(x_out)
        return OptimizeResult(x=x_out, fun=self.f, jac=self.g, nit=self.nit, nfev=self.objective.nfev,
                              njev=self.objective.njev, success=status == SUCCESS, status=status, message=message)


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
