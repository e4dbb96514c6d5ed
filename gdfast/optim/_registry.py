"""One row per update rule: its name in C, its public class, its state slots, its hyperparameters, and its form
under each convention (the survey's and three frameworks').

Everything that loops over the rules (the optimizer classes, the functional kernels, the tests, the
benchmarks) reads this table, so a new rule needs a row here and no new code elsewhere in Python.
tests/test_registry.py holds the table to the C side (the rules, kernels and slot counts gdfast._kernels lists).
The rules are the survey's ten (Ruder, arXiv:1609.04747, section 4) and FTRL-Proximal (McMahan et al., 2013), a
rule beyond the survey; defaults are the survey's, or the paper's, where it gives one.

Conventions. ``convention="survey"`` (the default) is the survey's equations (FTRL's: the paper's).
"torch", "keras" and "optax" are torch.optim (2.13), Keras 3 (3.15) and optax (0.2.8) as their sources compute
each rule, with that framework's defaults for what the user does not pass. Every rule has a form under every
convention. Each framework has a counterpart of each of the survey's rules (torch's SGD(momentum, nesterov) and
Adam(amsgrad), Keras' SGD(momentum, nesterov) and Adam(amsgrad), optax's sgd(momentum, nesterov), nadam and
amsgrad); of FTRL only Keras has one (Ftrl). Where a framework computes a rule as the survey writes it, its form
runs the survey's kernel with the framework's defaults (``Form.kernel`` says which), so asking for it is never an
error; where a framework has no counterpart (FTRL in torch.optim and optax: ``Form.counterpart`` False), its form
is the survey convention's, defaults included, and there is nothing of the framework to hold it to. Where a
framework has no default (optax's learning rates; torch's and Keras' momentum, 0 there, which is plain SGD),
gdfast keeps the survey's. Each form names the source file it was checked against (``Form.source``);
gdfast/optim/reference.py states each in NumPy, tests/test_conventions.py holds gdfast to the frameworks (live
where installed, and golden trajectories they produced).
"""
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .. import _kernels

CONVENTIONS = ("survey", "torch", "keras", "optax")

# Hyperparameters used once, when the optimizer is built (they set the initial state); read-only after.
CONSTRUCTION_ONLY = frozenset({"initial_accumulator_value"})


@dataclass(frozen=True)
class Form:
    """A rule as one convention computes it."""
    convention: str
    kernel: str  # the C kernel: a rule of csrc/rules.def or a framework's form of csrc/variants.def
    defaults: MappingProxyType  # hyperparameter -> default, in the survey's order, extras last
    equation: str  # the update, one line
    source: str  # what it was checked against
    init: MappingProxyType  # slot -> the hyperparameter holding its initial value (else 0)
    schedule: bool  # Nadam's momentum schedule: the optimizer keeps the running product of the mu_t
    counterpart: bool  # the framework has this rule (False: it has none; the form is the survey convention's)

    @property
    def kernel_id(self):
        """The kernel's number in C (csrc/kernels.def)."""
        return _kernels.KERNEL_NAMES.index(self.kernel)

    @property
    def catch_up(self):
        """How the exact sparse mode applies skipped zero-gradient steps with this kernel: "none", "closed",
        "steps", "replay" or "no" (refused); csrc/rules.def and csrc/variants.def."""
        return _kernels.KERNEL_CATCH_UP[self.kernel_id]


@dataclass(frozen=True)
class Rule:
    name: str  # as in csrc/rules.def and gdfast.kernels
    class_name: str  # the optimizer class in gdfast
    slots: tuple  # state buffers, named by the survey's symbols
    defaults: MappingProxyType  # hyperparameter -> default (the survey convention's)
    equation: str  # the update, one line, for docs and the README
    forms: MappingProxyType  # convention -> Form

    @property
    def id(self):
        """The rule's number in the C kernels (its survey kernel)."""
        return _kernels.RULE_NAMES.index(self.name)

    @property
    def catch_up(self):
        """How the exact sparse mode applies skipped zero-gradient steps: "none" (they change nothing),
        "closed" (a closed form) or "steps" (replayed one by one); csrc/rules.def."""
        return _kernels.RULE_CATCH_UP[self.id]

    def form(self, convention):
        """The rule under a convention, or a ValueError listing the valid ones."""
        try:
            return self.forms[convention]
        except (KeyError, TypeError):
            raise ValueError(f"convention must be one of {list(CONVENTIONS)}, got {convention!r}") from None

    @property
    def hyperparameter_names(self):
        """Every hyperparameter some convention of this rule takes (the survey's first)."""
        names = dict.fromkeys(self.defaults)
        for form in self.forms.values():
            names.update(dict.fromkeys(form.defaults))
        return tuple(names)


TORCH = "torch/optim/{} (torch 2.13, _single_tensor_{})"
KERAS = "keras/src/optimizers/{} (Keras 3.15, update_step)"
OPTAX = "optax/_src/{} (optax 0.2.8)"
SURVEY = "Ruder, arXiv:1609.04747, section 4"
FTRL_PAPER = "McMahan et al., Ad click prediction: a view from the trenches, KDD 2013, Algorithm 1"


def _form(convention, kernel, equation, source, init=None, schedule=False, counterpart=True, **defaults):
    return Form(convention, kernel, MappingProxyType(defaults), equation, source, MappingProxyType(init or {}),
                schedule, counterpart)


def _rule(name, class_name, slots, equation, forms=(), source=SURVEY, absent=None, **defaults):
    """absent: {framework: why} for the frameworks without a counterpart, whose form is the survey convention's."""
    table = {"survey": _form("survey", name, equation, source, **defaults)}
    for convention, why in (absent or {}).items():
        table[convention] = _form(convention, name, "the survey convention's", why, counterpart=False, **defaults)
    for form in forms:
        table[form.convention] = form
    if set(table) != set(CONVENTIONS):  # a slip in the table below: stop at import, python -O or not
        raise ValueError(f"rule {name!r} has forms for {sorted(table)}, not one for each of {list(CONVENTIONS)}")
    return Rule(name, class_name, tuple(slots), MappingProxyType(defaults), equation,
                MappingProxyType({c: table[c] for c in CONVENTIONS}))


ADAM_MOMENTS = "m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;  "

RULES = MappingProxyType({r.name: r for r in (
    _rule("sgd", "SGD", (), "θ ← θ − η g", lr=0.01, forms=(
        _form("torch", "sgd", "θ ← θ − η g", TORCH.format("sgd.py", "sgd"), lr=1e-3),
        _form("keras", "sgd", "θ ← θ − η g", KERAS.format("sgd.py"), lr=0.01),
        _form("optax", "sgd", "θ ← θ − η g", OPTAX.format("alias.py sgd"), lr=0.01),
    )),
    _rule("momentum", "Momentum", ("v",), "v ← γ v + η g;  θ ← θ − v", lr=0.01, gamma=0.9, forms=(
        _form("torch", "momentum_lr_out", "v ← γ v + g;  θ ← θ − η v", TORCH.format("sgd.py", "sgd"),
              lr=1e-3, gamma=0.9),
        _form("keras", "momentum", "m ← γ m − η g;  θ ← θ + m   (the survey's, m = −v)", KERAS.format("sgd.py"),
              lr=0.01, gamma=0.9),
        _form("optax", "momentum_lr_out", "v ← γ v + g;  θ ← θ − η v",
              OPTAX.format("alias.py sgd, optax/transforms/_accumulation.py trace"), lr=0.01, gamma=0.9),
    )),
    _rule("nag", "NAG", ("v",), "v ← γ v + η g;  θ ← θ − (γ v + η g)   (θ stored at the look-ahead point)",
          lr=0.01, gamma=0.9, forms=(
        _form("torch", "nag_lr_out", "v ← γ v + g;  θ ← θ − η (g + γ v)", TORCH.format("sgd.py", "sgd"),
              lr=1e-3, gamma=0.9),
        _form("keras", "nag", "m ← γ m − η g;  θ ← θ + γ m − η g   (the survey's, m = −v)",
              KERAS.format("sgd.py"), lr=0.01, gamma=0.9),
        _form("optax", "nag_lr_out", "v ← γ v + g;  θ ← θ − η (g + γ v)",
              OPTAX.format("alias.py sgd, optax/transforms/_accumulation.py trace"), lr=0.01, gamma=0.9),
    )),
    _rule("adagrad", "Adagrad", ("G",), "G ← G + g²;  θ ← θ − η / √(G + ε) · g", lr=0.01, eps=1e-8, forms=(
        _form("torch", "adagrad_eps_out", "G ← G + g² (G₀ = initial_accumulator_value);  θ ← θ − η g / (√G + ε)",
              TORCH.format("adagrad.py", "adagrad"), {"G": "initial_accumulator_value"},
              lr=0.01, eps=1e-10, initial_accumulator_value=0.0),
        _form("keras", "adagrad", "G ← G + g² (G₀ = initial_accumulator_value);  θ ← θ − η g / √(G + ε)",
              KERAS.format("adagrad.py"), {"G": "initial_accumulator_value"},
              lr=0.001, eps=1e-7, initial_accumulator_value=0.1),
        _form("optax", "adagrad", "G ← G + g² (G₀ = initial_accumulator_value);  θ ← θ − η g / √(G + ε)",
              OPTAX.format("transform.py scale_by_rss"), {"G": "initial_accumulator_value"},
              lr=0.01, eps=1e-7, initial_accumulator_value=0.1),
    )),
    _rule("adadelta", "Adadelta", ("Eg2", "Edx2"),
          "E[g²] ← γ E[g²] + (1−γ) g²;  Δθ = −√(E[Δθ²] + ε) / √(E[g²] + ε) · g;  "
          "E[Δθ²] ← γ E[Δθ²] + (1−γ) Δθ²;  θ ← θ + η Δθ",
          gamma=0.9, eps=1e-6, lr=1.0, forms=(
        _form("torch", "adadelta", "the survey's", TORCH.format("adadelta.py", "adadelta"),
              gamma=0.9, eps=1e-6, lr=1.0),
        _form("keras", "adadelta", "the survey's", KERAS.format("adadelta.py"), gamma=0.95, eps=1e-7, lr=0.001),
        # optax.adadelta's learning_rate=None skips scale_by_learning_rate, sign flip included (the update then
        # moves up the gradient); lr=1.0 is optax with learning_rate=1.0.
        _form("optax", "adadelta", "the survey's", OPTAX.format("transform.py scale_by_adadelta"),
              gamma=0.9, eps=1e-6, lr=1.0),
    )),
    _rule("rmsprop", "RMSprop", ("Eg2",), "E[g²] ← γ E[g²] + (1−γ) g²;  θ ← θ − η / √(E[g²] + ε) · g",
          lr=0.001, gamma=0.9, eps=1e-8, forms=(
        _form("torch", "rmsprop_eps_out", "E[g²] ← γ E[g²] + (1−γ) g²;  θ ← θ − η g / (√E[g²] + ε)",
              TORCH.format("rmsprop.py", "rmsprop"), lr=0.01, gamma=0.99, eps=1e-8),
        _form("keras", "rmsprop", "the survey's", KERAS.format("rmsprop.py"), lr=0.001, gamma=0.9, eps=1e-7),
        _form("optax", "rmsprop", "the survey's (eps_in_sqrt=True)", OPTAX.format("transform.py scale_by_rms"),
              lr=0.001, gamma=0.9, eps=1e-8),
    )),
    _rule("adam", "Adam", ("m", "v"),
          ADAM_MOMENTS + "θ ← θ − η / (√v̂ + ε) · m̂,  m̂ = m / (1−β₁ᵗ), v̂ = v / (1−β₂ᵗ)",
          lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, forms=(
        _form("torch", "adam", "the survey's (√v / √(1−β₂ᵗ) + ε)", TORCH.format("adam.py", "adam"),
              lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
        _form("keras", "adam_eps_hat", ADAM_MOMENTS + "θ ← θ − η √(1−β₂ᵗ) / (1−β₁ᵗ) · m / (√v + ε)",
              KERAS.format("adam.py"), lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7),
        _form("optax", "adam", "the survey's (eps_root=0)", OPTAX.format("transform.py scale_by_adam"),
              lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
    )),
    _rule("adamax", "AdaMax", ("m", "u"), "m ← β₁ m + (1−β₁) g;  u ← max(β₂ u, |g|);  θ ← θ − η / u · m̂",
          lr=0.002, beta1=0.9, beta2=0.999, forms=(
        _form("torch", "adamax_eps_max", "m as Adam;  u ← max(β₂ u, |g| + ε);  θ ← θ − η / (1−β₁ᵗ) · m / u",
              TORCH.format("adamax.py", "adamax"), lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8),
        _form("keras", "adamax_eps_add", "m as Adam;  u ← max(β₂ u, |g|);  θ ← θ − η m / ((1−β₁ᵗ)(u + ε))",
              KERAS.format("adamax.py"), lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7),
        _form("optax", "adamax_eps_max", "m as Adam;  u ← max(β₂ u, |g| + ε);  θ ← θ − η (m / (1−β₁ᵗ)) / u",
              OPTAX.format("transform.py scale_by_adamax, optax/tree_utils/_tree_math.py"),
              lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8),
    )),
    _rule("nadam", "Nadam", ("m", "v"),
          "m, v, m̂, v̂ as Adam;  θ ← θ − η / (√v̂ + ε) · (β₁ m̂ + (1−β₁) g / (1−β₁ᵗ))",
          lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, forms=(
        _form("torch", "nadam_schedule",
              "m, v, v̂ as Adam;  μₜ = β₁ (1 − ½ 0.96^(t ψ));  Πₜ = μ₁⋯μₜ;  "
              "θ ← θ − η [(1−μₜ) g / (1−Πₜ) + μₜ₊₁ m / (1−Πₜ μₜ₊₁)] / (√v̂ + ε),  ψ = momentum_decay",
              TORCH.format("nadam.py", "nadam"), schedule=True,
              lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8, momentum_decay=0.004),
        _form("keras", "nadam_schedule", "torch's form with ψ = 1 (Keras: uₜ = β₁ (1 − ½ 0.96ᵗ))",
              KERAS.format("nadam.py"), schedule=True,
              lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7, momentum_decay=1.0),
        _form("optax", "nadam_next_bias",
              "m, v, v̂ as Adam;  θ ← θ − η (β₁ m / (1−β₁ᵗ⁺¹) + (1−β₁) g / (1−β₁ᵗ)) / (√v̂ + ε)",
              OPTAX.format("transform.py scale_by_adam(nesterov=True), alias.py nadam"),
              lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8),
    )),
    _rule("amsgrad", "AMSGrad", ("m", "v", "vhat"),
          "m, v as Adam;  v̂ ← max(v̂, v);  θ ← θ − η / (√v̂ + ε) · m   (no bias correction)",
          lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8, forms=(
        _form("torch", "amsgrad_bias",
              "m, v as Adam;  v̂ ← max(v̂, v);  θ ← θ − η / (1−β₁ᵗ) · m / (√v̂ / √(1−β₂ᵗ) + ε)",
              TORCH.format("adam.py", "adam") + ", amsgrad=True", lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
        _form("keras", "amsgrad_eps_hat",
              "m, v as Adam;  v̂ ← max(v̂, v);  θ ← θ − η √(1−β₂ᵗ) / (1−β₁ᵗ) · m / (√v̂ + ε)",
              KERAS.format("adam.py") + ", amsgrad=True", lr=0.001, beta1=0.9, beta2=0.999, eps=1e-7),
        _form("optax", "amsgrad_max_bias",
              "m, v as Adam;  v̂ ← max(v̂, v / (1−β₂ᵗ));  θ ← θ − η (m / (1−β₁ᵗ)) / (√v̂ + ε)",
              OPTAX.format("transform.py scale_by_amsgrad"), lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
    )),
    # Beyond the survey. alpha = lr (the paper leaves it to the data); beta = 1, which the paper finds usually good
    # enough; no L1 or L2 unless asked. Keras adds 2 l2_regularization_strength to the denominator (the paper's
    # lambda2 = 2 l2); gdfast's lambda2 is the paper's under every convention.
    _rule("ftrl", "FTRL", ("z", "n"),
          "σ = (√(n + g²) − √n) / η;  z ← z + g − σ θ;  n ← n + g²;  "
          "θ ← 0 if |z| ≤ λ₁, else −(z − sgn(z) λ₁) / ((β + √n) / η + λ₂)",
          source=FTRL_PAPER, lr=0.1, beta=1.0, lambda1=0.0, lambda2=0.0,
          absent={"torch": "torch.optim (torch 2.13) has no FTRL", "optax": "optax (0.2.8) has no FTRL"}, forms=(
        _form("keras", "ftrl",
              "the paper's with n₀ = initial_accumulator_value (λ₂ = 2 l2_regularization_strength; "
              "learning_rate_power −0.5, no l2_shrinkage)", KERAS.format("ftrl.py"),
              {"n": "initial_accumulator_value"},
              lr=0.001, beta=0.0, lambda1=0.0, lambda2=0.0, initial_accumulator_value=0.1),
    )),
)})

# The rule's hyperparameters a kernel reads (csrc/common.h, gd_hyper), before Nadam's schedule.
HYPERPARAMETERS = ("lr", "gamma", "beta1", "beta2", "eps", "beta", "lambda1", "lambda2")


NO_SCHEDULE = (0.0, 0.0, 0.0)


def kernel_arguments(hyperparameters, schedule=NO_SCHEDULE, grad_scale=1.0, clip_value=None, weight_decay=0.0,
                     decoupled=False):
    """The hyperparameters as a kernel takes them, one _kernels.Hyperparameters: the rule's (unused ones 0), then
    Nadam's momentum schedule at the step (mu_t, mu_{t+1}, mu_1...mu_t), 0 for every other kernel, gradient
    clipping's factor of the global norm (1: none) and bound on each coordinate (None: none), and the weight
    decay (0: none), coupled or decoupled."""
    mu, mu_next, mu_product = schedule
    rule = {name: hyperparameters[name] for name in HYPERPARAMETERS if name in hyperparameters}
    return _kernels.Hyperparameters(**rule, mu=mu, mu_next=mu_next, mu_product=mu_product, grad_scale=grad_scale,
                                    clip_value=float("inf") if clip_value is None else clip_value,
                                    weight_decay=weight_decay, decoupled=decoupled)


def nadam_schedule(hyperparameters, t, product, product_dtype=None):
    """Nadam's momentum schedule at step t (torch/optim/nadam.py, keras/src/optimizers/nadam.py), in double as
    torch computes it: (mu_t, mu_{t+1}, product * mu_t) where product is mu_1...mu_{t-1}. product_dtype float32:
    the product kept as torch keeps it in a float32 tensor (its default dtype), each factor rounded to float32."""
    beta1, psi = hyperparameters["beta1"], hyperparameters["momentum_decay"]
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
    if product_dtype is not None:
        return mu, mu_next, float(np.float32(product) * np.float32(mu))
    return mu, mu_next, product * mu

