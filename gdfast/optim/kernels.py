"""The functional face of the C rules: the same kernels as the optimizers, no object, the caller keeps the state.

``gd.kernels.adam(param, grad, m, v, t=1, lr=1e-3)`` updates param, m and v in place by one Adam step at
step number t (counting from 1). Every rule takes ``(param, grad, *slots, t, **hyperparameters)`` with the
slots in the order of the survey's symbols (``gd.RULES[name].slots``) and the optimizer's defaults. A
scipy.sparse or gd.RowSparse gradient takes a lazy sparse step (untouched coordinates keep parameter and
state; the exact mode needs the counters an optimizer keeps). Inputs are checked as the optimizers check them,
before anything is written. ``convention="torch"`` (or "keras", "optax") runs that framework's form of the rule
with its defaults, as the optimizer classes do (gd.RULES[name].forms), except Nadam's torch and Keras forms,
whose momentum schedule needs a running product only an optimizer keeps (``gd.Nadam(..., convention=...)``).
A form's ``initial_accumulator_value`` is accepted and unused: the caller's state is the initial state.
"""
import inspect

from .. import _validate
from .._kernels import DenseBatch
from . import _gradients
from ._sparse import LAZY
from ._registry import RULES, kernel_arguments


# t: the number of the step being taken, counting from 1 (the hyperparameters are checked by the rule's table).
KERNEL_CONSTRAINTS = {"t": _validate.Integer(1)}


def _kernel(rule):
    def kernel(param, grad, *slots, t, convention="survey", **hyperparameters):
        form = rule.form(convention)
        if form.schedule:
            raise ValueError(f"gd.kernels.{rule.name} with convention={convention!r} needs the running product of "
                             f"the momentum schedule; use gd.{rule.class_name}(..., convention={convention!r})")
        param = _validate.param(param, "param")
        grad = _gradients.gradient(grad, param, "grad")
        if len(slots) != len(rule.slots):
            raise TypeError(f"{rule.name} takes {len(rule.slots)} state array(s) {list(rule.slots)} after grad, "
                            f"got {len(slots)}")
        slots = [_validate.slot(s, param, name) for s, name in zip(slots, rule.slots)]
        _validate.disjoint([param, *slots], ["param", *rule.slots])
        t = _validate.check(KERNEL_CONSTRAINTS, {"t": t})["t"]
        args = kernel_arguments(_validate.hyperparameters(rule, hyperparameters, form))
        batch = DenseBatch(form.kernel_id, [param], [tuple(slots)])
        sparse = isinstance(grad, _gradients.SparseGradient)
        if batch.aliased(grad.arrays() if sparse else [grad]) >= 0:
            grad = grad.copy()
        if sparse:
            grad.step(form.kernel_id, param, tuple(slots), args, t, LAZY)
        else:
            batch.step([grad], args, t)

    P = inspect.Parameter
    kernel.__signature__ = inspect.Signature(
        [P("param", P.POSITIONAL_ONLY), P("grad", P.POSITIONAL_ONLY)]
        + [P(s, P.POSITIONAL_ONLY) for s in rule.slots]
        + [P("t", P.KEYWORD_ONLY), P("convention", P.KEYWORD_ONLY, default="survey")]
        + [P(name, P.KEYWORD_ONLY, default=d) for name, d in rule.defaults.items()])
    kernel.__name__ = kernel.__qualname__ = rule.name
    kernel.__doc__ = (f"One in-place {rule.class_name} step: {rule.equation}.\n\n"
                      f"State arrays (updated in place): {', '.join(rule.slots) or 'none'}. "
                      f"See gdfast.{rule.class_name} for the equations.")
    return kernel


sgd = _kernel(RULES["sgd"])
momentum = _kernel(RULES["momentum"])
nag = _kernel(RULES["nag"])
adagrad = _kernel(RULES["adagrad"])
adadelta = _kernel(RULES["adadelta"])
rmsprop = _kernel(RULES["rmsprop"])
adam = _kernel(RULES["adam"])
adamax = _kernel(RULES["adamax"])
nadam = _kernel(RULES["nadam"])
amsgrad = _kernel(RULES["amsgrad"])
ftrl = _kernel(RULES["ftrl"])

__all__ = list(RULES)
