"""One row per update rule: its name in C, its public class, its state slots and its hyperparameters.

Everything that loops over the rules (the optimizer classes, the functional kernels, the tests, the
benchmarks) reads this table, so a new rule needs a row here and no new code elsewhere in Python.
Defaults are the survey's (Ruder, arXiv:1609.04747) where it gives one.
"""
from dataclasses import dataclass
from types import MappingProxyType

from . import _kernels


@dataclass(frozen=True)
class Rule:
    name: str  # as in csrc/rules.def and gdfast.kernels
    class_name: str  # the optimizer class in gdfast
    slots: tuple  # state buffers, named by the survey's symbols
    defaults: MappingProxyType  # hyperparameter -> default
    equation: str  # the update, one line, for docs and the README

    @property
    def id(self):
        """The rule's number in the C kernels."""
        return _kernels.RULE_NAMES.index(self.name)

    @property
    def catch_up(self):
        """How the exact sparse mode applies skipped zero-gradient steps: "none" (they change nothing),
        "closed" (a closed form) or "steps" (replayed one by one); csrc/rules.def."""
        return _kernels.RULE_CATCH_UP[self.id]


def _rule(name, class_name, slots, equation, **defaults):
    return Rule(name, class_name, tuple(slots), MappingProxyType(defaults), equation)


RULES = MappingProxyType({r.name: r for r in (
    _rule("sgd", "SGD", (), "θ ← θ − η g", lr=0.01),
    _rule("momentum", "Momentum", ("v",), "v ← γ v + η g;  θ ← θ − v", lr=0.01, gamma=0.9),
    _rule("nag", "NAG", ("v",), "v ← γ v + η g;  θ ← θ − (γ v + η g)   (θ stored at the look-ahead point)",
          lr=0.01, gamma=0.9),
    _rule("adagrad", "Adagrad", ("G",), "G ← G + g²;  θ ← θ − η / √(G + ε) · g", lr=0.01, eps=1e-8),
    _rule("adadelta", "Adadelta", ("Eg2", "Edx2"),
          "E[g²] ← γ E[g²] + (1−γ) g²;  Δθ = −√(E[Δθ²] + ε) / √(E[g²] + ε) · g;  "
          "E[Δθ²] ← γ E[Δθ²] + (1−γ) Δθ²;  θ ← θ + η Δθ",
          gamma=0.9, eps=1e-6, lr=1.0),
    _rule("rmsprop", "RMSprop", ("Eg2",), "E[g²] ← γ E[g²] + (1−γ) g²;  θ ← θ − η / √(E[g²] + ε) · g",
          lr=0.001, gamma=0.9, eps=1e-8),
    _rule("adam", "Adam", ("m", "v"),
          "m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;  θ ← θ − η / (√v̂ + ε) · m̂,  "
          "m̂ = m / (1−β₁ᵗ), v̂ = v / (1−β₂ᵗ)",
          lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
    _rule("adamax", "AdaMax", ("m", "u"), "m ← β₁ m + (1−β₁) g;  u ← max(β₂ u, |g|);  θ ← θ − η / u · m̂",
          lr=0.002, beta1=0.9, beta2=0.999),
    _rule("nadam", "Nadam", ("m", "v"),
          "m, v, m̂, v̂ as Adam;  θ ← θ − η / (√v̂ + ε) · (β₁ m̂ + (1−β₁) g / (1−β₁ᵗ))",
          lr=0.002, beta1=0.9, beta2=0.999, eps=1e-8),
    _rule("amsgrad", "AMSGrad", ("m", "v", "vhat"),
          "m, v as Adam;  v̂ ← max(v̂, v);  θ ← θ − η / (√v̂ + ε) · m   (no bias correction)",
          lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8),
)})

# The order of the hyperparameters in a kernel call (csrc/common.h, gd_hyper).
HYPERPARAMETERS = ("lr", "gamma", "beta1", "beta2", "eps")

# Allowed values: (low, high, low included, high included).
RANGES = MappingProxyType({
    "lr": (0.0, float("inf"), True, False),
    "gamma": (0.0, 1.0, True, False),
    "beta1": (0.0, 1.0, True, False),
    "beta2": (0.0, 1.0, True, False),
    "eps": (0.0, float("inf"), False, False),
})


def kernel_arguments(hyperparameters):
    """The hyperparameters as the positional doubles a kernel takes (unused ones 0)."""
    return tuple(float(hyperparameters.get(name, 0.0)) for name in HYPERPARAMETERS)


assert tuple(sorted(RULES)) == tuple(sorted(_kernels.RULE_NAMES)), "rules.def and _registry.py disagree"
assert all(len(r.slots) == _kernels.RULE_SLOTS[r.id] for r in RULES.values()), "slot counts disagree"
