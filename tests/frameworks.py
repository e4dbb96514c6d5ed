"""The conventions' test cases, and drivers that run each case on the real framework (torch.optim, Keras 3 on its
torch backend, optax on jax), for tests/test_conventions.py (live, where the framework is importable) and
tests/golden/make_conventions.py (which records the trajectories in tests/golden/conventions.npz).

A case: a rule, a convention whose framework has that rule (FTRL is in Keras only), hyperparameters (the
convention's defaults, or one set that moves every term: large eps makes its placement matter), a start point and
N_STEPS gradients (with exact zeros in the first steps of one coordinate), the learning rate halved from step
LR_CHANGE on (where the conventions that keep lr outside a buffer part from the survey's). Everything float64. A
driver returns the parameters after each step.
"""
import os

import numpy as np

import gdfast as gd

N_STEPS = 20
LR_CHANGE = 11  # the step from which lr is halved
SIZE = 4
FRAMEWORKS = ("torch", "keras", "optax")

# One set of non-default values per convention: each moves every term of every rule.
OTHER = {"lr": 0.05, "gamma": 0.5, "beta1": 0.6, "beta2": 0.7, "eps": 1e-3, "initial_accumulator_value": 0.5,
         "momentum_decay": 0.01, "beta": 0.5, "lambda1": 0.3, "lambda2": 0.2}


def hyper_sets(rule, convention):
    """[the convention's defaults, the other set] for a rule under a convention."""
    defaults = dict(rule.forms[convention].defaults)
    other = {k: OTHER[k] for k in defaults}
    if convention == "keras" and "momentum_decay" in other:  # Keras' Nadam fixes 0.96^t (psi = 1)
        other["momentum_decay"] = 1.0
    return {"defaults": defaults, "other": other}


def cases():
    """Every (name, rule name, convention, hyperparameters) of a framework convention that has the rule."""
    out = []
    for rule in gd.RULES.values():
        for convention in (c for c in FRAMEWORKS if rule.forms[c].counterpart):
            for which, hyper in hyper_sets(rule, convention).items():
                out.append((f"{rule.name}.{convention}.{which}", rule.name, convention, hyper))
    return out


def case_data(name):
    """(theta0, grads) of a case: a seed from its name."""
    seed = sum(ord(c) * 31 ** i for i, c in enumerate(name)) % 2**32
    rng = np.random.default_rng(seed)
    theta0 = rng.standard_normal(SIZE)
    grads = rng.standard_normal((N_STEPS, SIZE)) * np.array([1.0, 0.1, 3.0, 1.0])
    grads[:3, 3] = 0.0  # a coordinate whose first gradients are zero
    return theta0, grads


def lr_at(hyper, step):
    return hyper["lr"] if step < LR_CHANGE else hyper["lr"] / 2


def run_gdfast(rule, convention, hyper, theta0, grads, dtype=np.float64):
    """gdfast's trajectory, stepping a dense parameter."""
    w = theta0.astype(dtype)
    opt = gd.OPTIMIZERS[rule]([w], convention=convention, **hyper)
    out = []
    for step, g in enumerate(grads, start=1):
        opt.lr = lr_at(hyper, step)
        opt.step(g.astype(dtype))
        out.append(w.astype(np.float64))
    return np.array(out)


# ---- torch.optim -------------------------------------------------------------------------------------------------

def run_torch(rule, hyper, theta0, grads, dtype=np.float64):
    """torch.optim's trajectory (the single-tensor path, torch's default on CPU). Nadam's mu_product is a tensor
    of torch's default dtype: float64 here, as gdfast keeps it, whatever the parameters' dtype."""
    import torch
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _run_torch(torch, rule, hyper, theta0, grads, getattr(torch, np.dtype(dtype).name))
    finally:
        torch.set_default_dtype(previous)


def _run_torch(torch, rule, hyper, theta0, grads, dtype):
    p = torch.nn.Parameter(torch.tensor(theta0, dtype=dtype))
    h = hyper
    betas = (h.get("beta1"), h.get("beta2"))
    make = {
        "sgd": lambda: torch.optim.SGD([p], lr=h["lr"]),
        "momentum": lambda: torch.optim.SGD([p], lr=h["lr"], momentum=h["gamma"]),
        "nag": lambda: torch.optim.SGD([p], lr=h["lr"], momentum=h["gamma"], nesterov=True),
        "adagrad": lambda: torch.optim.Adagrad([p], lr=h["lr"], eps=h["eps"],
                                               initial_accumulator_value=h["initial_accumulator_value"]),
        "adadelta": lambda: torch.optim.Adadelta([p], lr=h["lr"], rho=h["gamma"], eps=h["eps"]),
        "rmsprop": lambda: torch.optim.RMSprop([p], lr=h["lr"], alpha=h["gamma"], eps=h["eps"]),
        "adam": lambda: torch.optim.Adam([p], lr=h["lr"], betas=betas, eps=h["eps"]),
        "adamax": lambda: torch.optim.Adamax([p], lr=h["lr"], betas=betas, eps=h["eps"]),
        "nadam": lambda: torch.optim.NAdam([p], lr=h["lr"], betas=betas, eps=h["eps"],
                                           momentum_decay=h["momentum_decay"]),
        "amsgrad": lambda: torch.optim.Adam([p], lr=h["lr"], betas=betas, eps=h["eps"], amsgrad=True),
    }
    opt = make[rule]()
    out = []
    for step, g in enumerate(grads, start=1):
        for group in opt.param_groups:
            group["lr"] = lr_at(hyper, step)
        p.grad = torch.tensor(g, dtype=dtype)
        opt.step()
        out.append(p.detach().numpy().astype(np.float64))
    return np.array(out)


# ---- Keras 3 (torch backend) ----------------------------------------------------------------------------------

def run_keras(rule, hyper, theta0, grads):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    if keras.backend.backend() == "jax":  # float64 there needs x64 (tests/golden/make_conventions.py --missing)
        import jax
        jax.config.update("jax_enable_x64", True)
    keras.config.set_floatx("float64")
    h = hyper
    k = keras.optimizers
    make = {
        "sgd": lambda: k.SGD(learning_rate=h["lr"]),
        "momentum": lambda: k.SGD(learning_rate=h["lr"], momentum=h["gamma"]),
        "nag": lambda: k.SGD(learning_rate=h["lr"], momentum=h["gamma"], nesterov=True),
        "adagrad": lambda: k.Adagrad(learning_rate=h["lr"], epsilon=h["eps"],
                                     initial_accumulator_value=h["initial_accumulator_value"]),
        "adadelta": lambda: k.Adadelta(learning_rate=h["lr"], rho=h["gamma"], epsilon=h["eps"]),
        "rmsprop": lambda: k.RMSprop(learning_rate=h["lr"], rho=h["gamma"], epsilon=h["eps"]),
        "adam": lambda: k.Adam(learning_rate=h["lr"], beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"]),
        "adamax": lambda: k.Adamax(learning_rate=h["lr"], beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"]),
        "nadam": lambda: k.Nadam(learning_rate=h["lr"], beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"]),
        "amsgrad": lambda: k.Adam(learning_rate=h["lr"], beta_1=h["beta1"], beta_2=h["beta2"], epsilon=h["eps"],
                                  amsgrad=True),
        # Keras adds 2 l2_regularization_strength to the denominator: the paper's lambda2 is twice it.
        "ftrl": lambda: k.Ftrl(learning_rate=h["lr"], initial_accumulator_value=h["initial_accumulator_value"],
                               l1_regularization_strength=h["lambda1"], l2_regularization_strength=h["lambda2"] / 2,
                               beta=h["beta"]),
    }
    if rule == "nadam" and h["momentum_decay"] != 1.0:
        raise ValueError("Keras' Nadam has momentum_decay 1 (0.96^t) only")
    opt = make[rule]()
    var = keras.Variable(np.array(theta0), dtype="float64")
    opt.build([var])
    out = []
    for step, g in enumerate(grads, start=1):
        opt.learning_rate = lr_at(hyper, step)
        opt.apply_gradients([(keras.ops.convert_to_tensor(np.array(g), dtype="float64"), var)])
        out.append(np.array(keras.ops.convert_to_numpy(var.value), dtype=np.float64))
    return np.array(out)


# ---- optax (jax, float64) ----------------------------------------------------------------------------------------

def run_optax(rule, hyper, theta0, grads):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax
    h = hyper
    make = {
        "sgd": lambda: (optax.sgd, {}),
        "momentum": lambda: (optax.sgd, {"momentum": h["gamma"]}),
        "nag": lambda: (optax.sgd, {"momentum": h["gamma"], "nesterov": True}),
        "adagrad": lambda: (optax.adagrad, {"eps": h["eps"], "initial_accumulator_value": h["initial_accumulator_value"]}),
        "adadelta": lambda: (optax.adadelta, {"rho": h["gamma"], "eps": h["eps"]}),
        "rmsprop": lambda: (optax.rmsprop, {"decay": h["gamma"], "eps": h["eps"]}),
        "adam": lambda: (optax.adam, {"b1": h["beta1"], "b2": h["beta2"], "eps": h["eps"]}),
        "adamax": lambda: (optax.adamax, {"b1": h["beta1"], "b2": h["beta2"], "eps": h["eps"]}),
        "nadam": lambda: (optax.nadam, {"b1": h["beta1"], "b2": h["beta2"], "eps": h["eps"]}),
        "amsgrad": lambda: (optax.amsgrad, {"b1": h["beta1"], "b2": h["beta2"], "eps": h["eps"]}),
    }
    fn, kwargs = make[rule]()
    opt = optax.inject_hyperparams(fn)(learning_rate=h["lr"], **kwargs)
    params = jnp.asarray(theta0, dtype=jnp.float64)
    state = opt.init(params)
    out = []
    for step, g in enumerate(grads, start=1):
        state.hyperparams["learning_rate"] = jnp.asarray(lr_at(hyper, step), dtype=jnp.float64)
        updates, state = opt.update(jnp.asarray(g, dtype=jnp.float64), state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params, dtype=np.float64))
    return np.array(out)


RUNNERS = {"torch": run_torch, "keras": run_keras, "optax": run_optax}
