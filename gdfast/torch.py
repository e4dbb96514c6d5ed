"""torch.optim drop-ins: torch.optim.Optimizer subclasses with torch's names, defaults and param_groups that step
each parameter's ``.grad`` with gdfast's C kernels (convention="torch": torch's equations), in place.

    import gdfast.torch
    opt = gdfast.torch.Adam(model.parameters(), lr=1e-3)             # where torch.optim.Adam was (or FTRL,
                                                                      # which torch lacks)
    scheduler = torch.optim.lr_scheduler.StepLR(opt, step_size=10)    # torch's schedulers drive it
    ...; loss.backward(); opt.step(); opt.zero_grad()

torch's Optimizer base class keeps the param_groups, add_param_group, zero_grad, the hooks and the state_dict
format: a checkpoint of torch.optim.Adam loads into gdfast.torch.Adam and back (the state's tensors share memory
with the kernels' buffers). Each parameter is stepped by its own gdfast optimizer (its step count is torch's
per-parameter ``step``): a dense gradient in one C call, a sparse COO one (nn.Embedding(sparse=True)) as the rows
it touches, lazily as torch's SparseAdam does. The group's values are read at every step, so a scheduler's or a
user's change applies from the next one. torch's options that change nothing here (foreach, fused) are kept for
the state_dict; those gdfast does not compute (maximize, dampening, centered RMSprop, RMSprop's momentum,
Adagrad's lr_decay, capturable, differentiable) are a ValueError when set. Every class also takes gdfast's
``clip_norm=`` (torch.nn.utils.clip_grad_norm_ over all the optimizer's gradients, then the step: the norm in C,
the gradients scaled as the kernels read them, not written) and ``clip_value=`` (clip_grad_value_).

This module imports torch (``pip install torch``); ``import gdfast`` alone never does.
"""
import threading

import numpy as np
import torch

from . import OPTIMIZERS, _validate
from .optim._gradients import clip_factor, gradient
from .optim.optimizers import OPTIONS

CLIP_OPTIONS = {name: OPTIONS[name] for name in ("clip_norm", "clip_value")}

_UNSUPPORTED = {"maximize": False, "capturable": False, "differentiable": False, "dampening": 0, "centered": False,
                "lr_decay": 0}


class _GdOptimizer(torch.optim.Optimizer):
    """The common step: each parameter with a gradient is stepped by its gdfast optimizer, built at its first
    step from its group's settings (``_settings(group)``: the gdfast rule, its hyperparameters, the weight
    decay and whether it is decoupled) and updated when they change. ``_state_names`` are torch's names of the
    rule's state buffers, in the order of gd.RULES[rule].slots."""

    _torch_class = None  # torch's optimizer of the same name: its defaults and checks, used as they are
    _convention = "torch"  # the form of the rule torch computes (gd.RULES[rule].forms)
    _counts_steps = True  # torch keeps a per-parameter step (SGD keeps none)

    def __init__(self, params, clip_norm=None, clip_value=None, **options):
        defaults = self._defaults(options)
        for name, inert in _UNSUPPORTED.items():
            if name in defaults and defaults[name] != inert:
                raise ValueError(f"{type(self).__name__}: {name}={defaults[name]!r} is not computed by gdfast's "
                                 f"kernels; leave it at {inert!r}")
        self.clip_norm, self.clip_value = _validate.check(
            CLIP_OPTIONS, {"clip_norm": clip_norm, "clip_value": clip_value}).values()
        super().__init__(params, defaults)
        self._steppers, self._lock = {}, threading.Lock()

    def _defaults(self, options):
        """The options as a group's defaults: torch's class checks them and fills in the rest."""
        return self._torch_class([torch.zeros(1)], **options).defaults

    @torch.no_grad()
    def step(self, closure=None):
        """One step of every parameter that has a gradient (closure: reevaluates the model, returns the loss).
        Steps from several threads are taken one after another."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with self._lock:
            steps = []
            for group in self.param_groups:
                settings = self._settings(group)
                steps += [(self._stepper(p, settings), p.grad) for p in group["params"] if p.grad is not None]
            if self.clip_norm is None:
                for opt, grad in steps:
                    opt.step(grad)
            else:  # torch.nn.utils.clip_grad_norm_ over every gradient of the step, then the steps
                checked = [gradient(grad, opt._params[0], "grad") for opt, grad in steps]
                scale = clip_factor(checked, self.clip_norm)
                for (opt, _), grad in zip(steps, checked):
                    opt._step_scaled([grad], scale)
        return loss

    def _stepper(self, p, settings):
        """The gdfast optimizer of parameter p under these settings (made, or brought to them)."""
        entry = self._steppers.get(p)
        if entry is None or entry[0][0] != settings[0]:
            rule, hyper, weight_decay, decoupled = settings
            opt = OPTIMIZERS[rule]([p], convention=self._convention, weight_decay=weight_decay,
                                   decoupled_weight_decay=decoupled, clip_value=self.clip_value, **hyper)
            if rule == "nadam" and torch.get_default_dtype() != torch.float64:
                opt._mu_product_dtype = np.float32  # torch keeps NAdam's mu_product in its default dtype
            self._steppers[p] = entry = (settings, opt)
            self._expose(p, opt)
        elif entry[0] != settings:
            _, hyper, weight_decay, _ = settings
            opt = entry[1]
            for name, value in hyper.items():
                if opt.hyperparameters.get(name) != value and name != "initial_accumulator_value":
                    setattr(opt, name, value)
            opt.weight_decay = weight_decay
            self._steppers[p] = entry = (settings, opt)
        return entry[1]

    def _expose(self, p, opt):
        """torch's state of p: its buffers as tensors over the gdfast optimizer's arrays, and its step."""
        slots = opt.state[0]
        state = self.state[p]
        for name, slot in zip(self._state_names(opt.rule.name), opt.rule.slots):
            state[name] = torch.from_numpy(slots[slot])
        if self._counts_steps:
            state["step"] = torch.tensor(float(opt.t))

    def state_dict(self):
        """torch's state_dict, with each parameter's step as the kernels have counted it."""
        with self._lock:
            self._sync_state()
            return super().state_dict()

    def _sync_state(self):
        """The step counts (and NAdam's mu_product) the kernels keep, into torch's state (the lock held)."""
        for p, (_, opt) in self._steppers.items():
            if self._counts_steps:
                self.state[p]["step"] = torch.tensor(float(opt.t))
            if opt.rule.name == "nadam":
                self.state[p]["mu_product"] = torch.tensor(opt._groups[0].mu_product)

    def load_state_dict(self, state_dict):
        """torch's load (a torch.optim checkpoint of the same optimizer, or one of these), then each parameter's
        gdfast optimizer built from the state it loaded."""
        with self._lock:
            super().load_state_dict(state_dict)
            self._rebuild()

    def _rebuild(self):
        """Each parameter's gdfast optimizer made anew from the state torch holds for it."""
        self._steppers = {}
        for group in self.param_groups:
            settings = self._settings(group)
            for p in group["params"]:
                if self.state.get(p):
                    self._restore(p, settings, dict(self.state[p]))

    def __getstate__(self):
        """torch's pickled state (defaults, state, param_groups) and the clipping options; each parameter's
        gdfast optimizer is rebuilt from the state on unpickling."""
        with self._lock:
            self._sync_state()
            return {**super().__getstate__(), "clip_norm": self.clip_norm, "clip_value": self.clip_value}

    def __setstate__(self, state):
        self.clip_norm, self.clip_value = state.pop("clip_norm", None), state.pop("clip_value", None)
        super().__setstate__(state)
        self._lock = threading.Lock()
        self._rebuild()

    def _restore(self, p, settings, loaded):
        opt = self._stepper(p, settings)
        for name, slot in zip(self._state_names(opt.rule.name), opt.state[0].values()):
            if loaded.get(name) is not None:
                slot[...] = loaded[name].detach().cpu().numpy()
        opt._t = int(loaded.get("step", 0))
        if "mu_product" in loaded:
            opt._groups[0].mu_product = float(loaded["mu_product"])
        self._expose(p, opt)


def _adam_rule(group):
    return "amsgrad" if group["amsgrad"] else "adam"


class Adam(_GdOptimizer):
    """torch.optim.Adam (amsgrad=True: its AMSGrad; decoupled_weight_decay=True: AdamW) on gdfast's kernels."""

    _torch_class = torch.optim.Adam

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False, *,
                 foreach=None, maximize=False, capturable=False, differentiable=False, fused=None,
                 decoupled_weight_decay=False, **clipping):
        super().__init__(params, **clipping, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=decoupled_weight_decay)

    def _settings(self, group):
        beta1, beta2 = group["betas"]
        return (_adam_rule(group), {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"]},
                group["weight_decay"], group["decoupled_weight_decay"])

    @staticmethod
    def _state_names(rule):
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")[:3 if rule == "amsgrad" else 2]


class SparseAdam(_GdOptimizer):
    """torch.optim.SparseAdam (lazy Adam: the rows a sparse gradient touches) on gdfast's kernels; a dense
    gradient is stepped too (torch's refuses it). torch/optim/sparse_adam.py computes Adam's epsilon-hat form,
    lr sqrt(1 - beta2^t) / (1 - beta1^t) m / (sqrt(v) + eps), which is gdfast's Adam under convention="keras"."""

    _torch_class = torch.optim.SparseAdam
    _convention = "keras"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False, **clipping):
        super().__init__(params, **clipping, lr=lr, betas=betas, eps=eps, maximize=maximize)

    def _settings(self, group):
        beta1, beta2 = group["betas"]
        return "adam", {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"]}, 0.0, False

    @staticmethod
    def _state_names(rule):
        return ("exp_avg", "exp_avg_sq")


class AdamW(Adam):
    """torch.optim.AdamW (Loshchilov & Hutter 2019: decoupled weight decay, 0.01 by default) on gdfast's
    kernels."""

    _torch_class = torch.optim.AdamW

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, *,
                 maximize=False, foreach=None, capturable=False, differentiable=False, fused=None, **clipping):
        _GdOptimizer.__init__(self, params, **clipping, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                              amsgrad=amsgrad, maximize=maximize, foreach=foreach, capturable=capturable,
                              differentiable=differentiable, fused=fused)


class SGD(_GdOptimizer):
    """torch.optim.SGD (momentum: its heavy ball; nesterov=True: its Nesterov form) on gdfast's kernels."""

    _torch_class = torch.optim.SGD
    _counts_steps = False  # torch's SGD keeps no step

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, *,
                 maximize=False, foreach=None, differentiable=False, fused=None, **clipping):
        super().__init__(params, **clipping, lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                         nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                         fused=fused)

    def _settings(self, group):
        if group["momentum"] == 0:
            return "sgd", {"lr": group["lr"]}, group["weight_decay"], False
        rule = "nag" if group["nesterov"] else "momentum"
        return rule, {"lr": group["lr"], "gamma": group["momentum"]}, group["weight_decay"], False

    @staticmethod
    def _state_names(rule):
        return () if rule == "sgd" else ("momentum_buffer",)


class Adagrad(_GdOptimizer):
    """torch.optim.Adagrad (lr_decay 0) on gdfast's kernels."""

    _torch_class = torch.optim.Adagrad

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                 foreach=None, *, maximize=False, differentiable=False, fused=None, **clipping):
        super().__init__(params, **clipping, lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                         initial_accumulator_value=initial_accumulator_value, eps=eps, foreach=foreach,
                         maximize=maximize, differentiable=differentiable, fused=fused)

    def _settings(self, group):
        return ("adagrad", {"lr": group["lr"], "eps": group["eps"],
                            "initial_accumulator_value": float(group["initial_accumulator_value"])},
                group["weight_decay"], False)

    @staticmethod
    def _state_names(rule):
        return ("sum",)


class Adadelta(_GdOptimizer):
    """torch.optim.Adadelta on gdfast's kernels."""

    _torch_class = torch.optim.Adadelta

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *, capturable=False,
                 maximize=False, differentiable=False, **clipping):
        super().__init__(params, **clipping, lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, foreach=foreach,
                         capturable=capturable, maximize=maximize, differentiable=differentiable)

    def _settings(self, group):
        hyper = {"lr": group["lr"], "gamma": group["rho"], "eps": group["eps"]}
        return "adadelta", hyper, group["weight_decay"], False

    @staticmethod
    def _state_names(rule):
        return ("square_avg", "acc_delta")


class RMSprop(_GdOptimizer):
    """torch.optim.RMSprop (not centered, no momentum) on gdfast's kernels."""

    _torch_class = torch.optim.RMSprop

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                 capturable=False, foreach=None, maximize=False, differentiable=False, **clipping):
        if momentum != 0:
            raise ValueError(f"RMSprop: momentum={momentum!r} is not computed by gdfast's kernels; leave it at 0")
        super().__init__(params, **clipping, lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                         centered=centered, capturable=capturable, foreach=foreach, maximize=maximize,
                         differentiable=differentiable)

    def _settings(self, group):
        hyper = {"lr": group["lr"], "gamma": group["alpha"], "eps": group["eps"]}
        return "rmsprop", hyper, group["weight_decay"], False

    @staticmethod
    def _state_names(rule):
        return ("square_avg",)


class Adamax(_GdOptimizer):
    """torch.optim.Adamax on gdfast's kernels."""

    _torch_class = torch.optim.Adamax

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, foreach=None, *,
                 maximize=False, differentiable=False, capturable=False, **clipping):
        super().__init__(params, **clipping, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                         maximize=maximize, differentiable=differentiable, capturable=capturable)

    def _settings(self, group):
        beta1, beta2 = group["betas"]
        return ("adamax", {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"]},
                group["weight_decay"], False)

    @staticmethod
    def _state_names(rule):
        return ("exp_avg", "exp_inf")


class NAdam(_GdOptimizer):
    """torch.optim.NAdam (its momentum schedule, momentum_decay) on gdfast's kernels."""

    _torch_class = torch.optim.NAdam

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False, capturable=False,
                 differentiable=False, **clipping):
        super().__init__(params, **clipping, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         momentum_decay=momentum_decay, decoupled_weight_decay=decoupled_weight_decay,
                         foreach=foreach, maximize=maximize, capturable=capturable, differentiable=differentiable)

    def _settings(self, group):
        beta1, beta2 = group["betas"]
        return ("nadam", {"lr": group["lr"], "beta1": beta1, "beta2": beta2, "eps": group["eps"],
                          "momentum_decay": group["momentum_decay"]},
                group["weight_decay"], group["decoupled_weight_decay"])

    @staticmethod
    def _state_names(rule):
        return ("exp_avg", "exp_avg_sq")


class FTRL(_GdOptimizer):
    """FTRL-Proximal (McMahan et al. 2013; gd.FTRL, which torch lacks) as a torch optimizer: lr is alpha, beta,
    lambda1 (L1: exact zeros) and lambda2 (L2) its hyperparameters, z and n its state."""

    _convention = "survey"  # torch has no FTRL: the paper's (gd.RULES["ftrl"].forms)

    def __init__(self, params, lr=0.1, beta=1.0, lambda1=0.0, lambda2=0.0, **clipping):
        super().__init__(params, **clipping, lr=lr, beta=beta, lambda1=lambda1, lambda2=lambda2)

    def _defaults(self, options):
        OPTIMIZERS["ftrl"]([np.zeros(1)], **options)  # gdfast's checks, naming the argument
        return dict(options)

    def _settings(self, group):
        return "ftrl", {name: group[name] for name in ("lr", "beta", "lambda1", "lambda2")}, 0.0, False

    @staticmethod
    def _state_names(rule):
        return ("z", "n")


__all__ = ["SGD", "Adam", "AdamW", "SparseAdam", "Adagrad", "Adadelta", "RMSprop", "Adamax", "NAdam", "FTRL"]
