"""The optimizers: parameters bound at construction, updated in place by the C kernels.

An optimizer validates its inputs, owns the state buffers (named by the survey's symbols), counts the steps
and hands whole lists of arrays to one C call per dtype. It never loops over elements itself.
"""
import inspect
from collections.abc import MutableMapping

import numpy as np

from .. import _validate, checkpoint
from .._kernels import DenseBatch, StepCounter
from . import _gradients
from ._registry import CONSTRUCTION_ONLY, CONVENTIONS, NO_SCHEDULE, RULES, kernel_arguments, nadam_schedule
from ._sparse import SparseSteps


class Optimizer:
    """Base class of the eleven update rules (the survey's ten and FTRL-Proximal); use a subclass
    (``gd.Adam([w], lr=1e-3)``).

    Parameters
    ----------
    params : ndarray or list of ndarray, or list of dict
        float32/float64, C-contiguous, writeable, not sharing memory. Updated in place by :meth:`step`. CPU
        torch tensors (and a module's ``parameters()``) are stepped in their own memory, without a copy.
        Param groups, as torch.optim takes them: a list of dicts, each with ``"params"`` (as above) and any of
        the rule's hyperparameters and ``weight_decay``, which override the keyword arguments for those params
        (``gd.Adam([{"params": [E], "lr": 1e-2}, {"params": [b], "weight_decay": 0}], lr=1e-3)``); the
        params are the groups' in order. Still one C call per dtype: each array takes its group's row of
        hyperparameters. See :attr:`param_groups`.
    check_finite : bool
        Raise FloatingPointError on a NaN/Inf gradient, before anything is written.
    clip_norm : float > 0 or None
        Gradient clipping by the global norm, as torch.nn.utils.clip_grad_norm_ and optax.clip_by_global_norm:
        with N = sqrt(sum of g^2 over every gradient of the step, the stored values of sparse ones included),
        each step takes g * min(1, clip_norm / (N + 1e-6)) (torch's factor). The norm is computed in C, in
        double, and the scaled gradient is never written: the kernels scale it as they read it.
    clip_value : float > 0 or None
        Clipping of each coordinate to [-clip_value, clip_value] (torch.nn.utils.clip_grad_value_, optax.clip),
        after the global norm's scaling where both are given. A NaN gradient stays NaN.
    weight_decay : float >= 0
        lambda of an L2 weight decay, after clipping: coupled (default), the gradient g + lambda theta (torch's
        ``weight_decay``); with ``decoupled_weight_decay=True``, theta <- theta (1 - lr lambda) before each
        step (Loshchilov & Hutter, 2019: AdamW, :class:`AdamW`; torch's ``decoupled_weight_decay``; optax's
        adamw). On a sparse gradient the lazy mode decays only the rows it touches (as torch's and TF's sparse
        optimizers do); the exact mode decays the others too, when they are next touched or at :meth:`flush`:
        by (1 - lr lambda)^k over their k skipped steps in closed form for SGD (and Adagrad decoupled), by
        replaying those steps for the other rules. Settable between steps. FTRL has its own L2 (lambda2) and
        takes none.
    sparse : {"lazy", "exact"}
        What a sparse gradient (scipy.sparse or gd.RowSparse) means for the coordinates it does not touch.
        "lazy" (default): they keep their parameter and state (torch SparseAdam, TF LazyAdam; bias corrections
        use the optimizer's step count). "exact": the result is the dense step with a zero gradient there,
        applied when a coordinate is next touched (or at :meth:`flush`), in closed form for SGD, Momentum, NAG,
        Adagrad, Adadelta, RMSprop and FTRL, and by replaying the skipped zero-gradient steps for Adam, AdaMax,
        Nadam and AMSGrad (cost: one element update per skipped step of each touched coordinate). Every convention
        has both modes, except Nadam with convention "torch" or "keras": its momentum schedule's running
        product cannot be replayed, and sparse="exact" raises a ValueError there.
    convention : {"survey", "torch", "keras", "optax"}
        Whose equations and defaults: "survey" (default) is the survey's; "torch", "keras" and "optax" reproduce
        torch.optim, Keras 3 and optax as their sources compute the rule (eps outside the square root, lr
        outside the momentum buffer, Keras' epsilon-hat Adam, bias-corrected AMSGrad, Nadam's momentum
        schedule, ...), with that framework's defaults for the hyperparameters not passed, and extra
        hyperparameters where the framework has them (``initial_accumulator_value`` of Adagrad and FTRL, ``eps``
        of AdaMax, ``momentum_decay`` of Nadam). Where the framework computes the rule as the survey does, only
        the defaults differ; where it has no such rule (FTRL in torch and optax), the form is the survey
        convention's. Each class lists its forms; ``gd.RULES[name].forms`` has them all, with the source file
        each was checked against. Recorded by :meth:`state_dict`.
    **hyperparameters
        The rule's hyperparameters (see the class) under the convention; each is also an attribute, writable
        between steps (``initial_accumulator_value``, used at construction, is read-only). None, or no value,
        is the convention's default.
    """

    rule = None  # the row of gdfast._registry.RULES, set by each subclass

    def __init_subclass__(cls, rule, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.rule = RULES[rule]
        for name in cls.rule.hyperparameter_names:
            setattr(cls, name, _hyperparameter_property(name))
        cls.__signature__ = _signature(cls.rule)
        if cls.__doc__ is not None:
            cls.__doc__ += _conventions_doc(cls.rule)

    def __init__(self, params, *, convention="survey", check_finite=False, sparse="lazy", clip_norm=None,
                 clip_value=None, weight_decay=0.0, decoupled_weight_decay=False, **hyperparameters):
        self._params, self._given, self._group_of, group_options = _param_groups(params)
        sparse = _validate.SPARSE_MODES.checked("sparse", sparse)
        self.clip_norm, self.clip_value = _validate.check(
            OPTIONS, {"clip_norm": clip_norm, "clip_value": clip_value}).values()
        self._decoupled = _validate.flag("decoupled_weight_decay", decoupled_weight_decay)
        self._form = _validate.convention(self.rule, convention, sparse)
        given = {"weight_decay": weight_decay, **hyperparameters}
        self._groups = [self._group({**given, **options}, where) for where, options in group_options]
        self._rebuild_arguments()
        self._mu_product_dtype = None  # float32: kept as torch keeps it under its float32 default (gdfast.torch)
        self.check_finite = bool(check_finite)
        self._steps = StepCounter()  # t and the lock that serializes steps from several threads
        self._state = [self._initial_state(p, self._groups[k].hyper) for p, k in zip(self._params, self._group_of)]
        self._batches = self._make_batches(range(len(self._params)))
        # The one C call of a dense step, where there is one and no per-step schedule to compute first.
        self._fast = self._batches[0][1] if len(self._batches) == 1 and not self._form.schedule else None
        self._sparse = SparseSteps(self.rule, self._params, self._state, sparse, self._form)

    @property
    def _kernel_id(self):
        """The C kernel this optimizer's convention runs (csrc/kernels.def)."""
        return self._form.kernel_id

    def _group(self, given, where):
        """A param group's settings from the keyword arguments overridden by its dict's (None: the default);
        ``where`` names the group's dict in an error ("" where there are no dicts)."""
        given = {name: value for name, value in given.items() if value is not None}
        try:
            weight_decay = self._checked_weight_decay(given.pop("weight_decay", 0.0))
            return _Group(_validate.hyperparameters(self.rule, given, self._form), weight_decay)
        except (TypeError, ValueError) as e:
            if not where:
                raise
            raise type(e)(f"{where}: {e}") from None

    def _initial_state(self, p, hyper):
        """The state buffers of param p at step 0 (its group's initial accumulator value, where the rule has one)."""
        init = [hyper[self._form.init[name]] if name in self._form.init else 0.0 for name in self.rule.slots]
        return tuple(np.zeros_like(p) if value == 0 else np.full_like(p, value) for value in init)

    def _make_batches(self, indices):
        """One C batch per dtype for these params: (their indices, or None for all params, DenseBatch)."""
        by_dtype = {}
        for i in indices:
            by_dtype.setdefault(self._params[i].dtype, []).append(i)
        whole = len(by_dtype) == 1 and len(indices) == len(self._params)
        n_groups = len(self._groups)
        return [(None if whole else idx,
                 DenseBatch(self._kernel_id, [self._params[i] for i in idx], [self._state[i] for i in idx],
                            [self._group_of[i] for i in idx] if n_groups > 1 else None, n_groups))
                for idx in by_dtype.values()]

    def _arguments_for(self, group, schedule=NO_SCHEDULE, grad_scale=1.0):
        return kernel_arguments(group.hyper, schedule, grad_scale, self.clip_value, group.weight_decay,
                                self._decoupled)

    def _rebuild_arguments(self):
        """Each group's kernel arguments, after a setting changed; ``_kernel_args`` is what a batch's step takes:
        the one group's Hyperparameters, or a tuple of one per group."""
        for group in self._groups:
            group.args = self._arguments_for(group)
        self._kernel_args = _rows(tuple(group.args for group in self._groups))

    def _row(self, args, i):
        """Param i's row of a step's kernel arguments."""
        return args[self._group_of[i]] if type(args) is tuple else args

    @property
    def param_groups(self):
        """The param groups (one, of every param, unless groups were given), torch's form: live views with
        ``"params"`` and the group's hyperparameters and ``weight_decay``; setting one
        (``opt.param_groups[0]["lr"] = 0.1``) checks it and uses it from the next step."""
        return [ParamGroup(self, k) for k in range(len(self._groups))]

    def _shared(self, name):
        """The value of setting ``name`` in every group (an AttributeError where the groups differ)."""
        values = {group.setting(name) for group in self._groups}
        if len(values) > 1:
            raise AttributeError(f"{name} differs between the {len(self._groups)} param groups: read "
                                 f"param_groups[k][{name!r}]")
        return values.pop()

    def _set(self, name, value, groups):
        """Set a hyperparameter or the weight decay in these groups (checked first), from the next step."""
        if name == "weight_decay":
            value = self._checked_weight_decay(value)
        elif name in CONSTRUCTION_ONLY:
            raise AttributeError(f"{name} sets the initial state; it is read-only after construction")
        else:
            value = _validate.hyperparameter(name, value)
        with self._steps:
            self._flush()  # exact sparse mode: skipped steps are replayed with the values they had
            for k in groups:
                self._groups[k].set(name, value)
            self._rebuild_arguments()

    @property
    def weight_decay(self):
        """lambda of the weight decay (0: none); checked when set, used from the next step (in every group:
        param_groups sets one)."""
        return self._shared("weight_decay")

    @weight_decay.setter
    def weight_decay(self, value):
        self._set("weight_decay", value, range(len(self._groups)))

    def _checked_weight_decay(self, value):
        value = _validate.check(OPTIONS, {"weight_decay": value})["weight_decay"]
        if value and self.rule.name == "ftrl":
            raise ValueError("FTRL takes no weight_decay: its L2 strength is lambda2")
        return value

    @property
    def decoupled_weight_decay(self):
        """Whether the weight decay is decoupled (AdamW's) rather than a term of the gradient (set at
        construction)."""
        return self._decoupled

    def _arguments(self, t, grads=(), scale=None):
        """The kernel arguments of step t (one row per group): the hyperparameters, Nadam's momentum schedule at
        t, and the global norm's factor of these (checked) gradients, unless a factor is given (a norm over
        more arrays than this optimizer's: gdfast.torch's)."""
        if scale is None:
            scale = 1.0 if self.clip_norm is None else _gradients.clip_factor(grads, self.clip_norm)
        if self._form.schedule or scale != 1.0:
            return _rows(tuple(self._arguments_for(group, self._schedule(group, t), scale)
                               for group in self._groups))
        return self._kernel_args

    def _schedule(self, group, t):
        """A group's Nadam momentum schedule at step t (convention "torch" or "keras"), else none."""
        if not self._form.schedule:
            return NO_SCHEDULE
        return nadam_schedule(group.hyper, t, group.mu_product, self._mu_product_dtype)

    @property
    def sparse(self):
        """The sparse mode, "lazy" or "exact" (set at construction)."""
        return self._sparse.mode

    @property
    def convention(self):
        """Whose equations and defaults: "survey", "torch", "keras" or "optax" (set at construction)."""
        return self._form.convention

    @property
    def params(self):
        """The bound parameters as given (the user's arrays or torch tensors, updated in place)."""
        return list(self._given)

    @property
    def t(self):
        """Steps taken so far (the survey's t of the last step)."""
        return self._steps.t

    @property
    def _t(self):
        return self._steps.t

    @_t.setter
    def _t(self, t):
        self._steps.t = t

    @property
    def hyperparameters(self):
        """A copy of the current hyperparameters (an AttributeError where param groups differ in one: see
        param_groups)."""
        return {name: self._shared(name) for name in self._groups[0].hyper}

    @property
    def state(self):
        """Per parameter, its state buffers by the survey's symbols (live arrays: do not resize)."""
        return [dict(zip(self.rule.slots, slots)) for slots in self._state]

    def step(self, grads):
        """One update of every parameter from its gradient.

        grads: one gradient per parameter, in order, or a bare gradient when the optimizer has a single
        parameter. A gradient is an ndarray of the parameter's dtype and shape (any strides), or a scipy.sparse
        matrix/array with the parameter's 2-D shape, or (1, n) for a 1-D parameter, or a ``gd.RowSparse`` of some
        of the parameter's rows (see ``sparse``).
        Nothing is written when a check fails. Steps called from several threads at once are taken one after
        another (a lock per optimizer), each as a step of its own.
        """
        fast = None if self.check_finite or self.clip_norm is not None else self._fast
        if fast is not None and fast.counted_step(grads, self._kernel_args, self._steps, self._sparse.stale):
            return  # one C call, the gradients as given
        grads = _gradients.grad_list(grads, len(self._params))
        if fast is not None and fast.counted_step(grads, self._kernel_args, self._steps, self._sparse.stale):
            return  # as given in a tuple, or torch tensors (now their arrays)
        with self._steps:
            self._step_checked(self._checked_grads(grads))

    def _step_scaled(self, grads, scale):
        """A step from gradients checked by _gradients.gradient, which the kernels scale by ``scale`` (a global
        norm's factor computed by the caller over more arrays than this optimizer's: gdfast.torch's)."""
        with self._steps:
            self._step_checked(self._unaliased(grads), scale)

    def _step_checked(self, grads, scale=None):
        """A step from checked gradients, dense and sparse (the lock held)."""
        if self.check_finite:
            _gradients.finite(grads)
        dense = [i for i, g in enumerate(grads) if not isinstance(g, _gradients.SparseGradient)]
        for i in dense:  # exact mode: a dense step starts from an up-to-date parameter
            self._sparse.flush(i, self._row(self._kernel_args, i), self._t)
        t = self._t + 1
        args = self._arguments(t, grads, scale)
        for idx, batch in self._batches if len(dense) == len(grads) else self._make_batches(dense):
            batch.step(grads if idx is None else [grads[i] for i in idx], args, t)
        for i, g in enumerate(grads):
            if isinstance(g, _gradients.SparseGradient):
                self._sparse.step(i, g, self._row(args, i), t)
        self._t = t
        if self._form.schedule:
            for group, row in zip(self._groups, args if type(args) is tuple else (args,)):
                group.mu_product = row.mu_product

    def _checked_grads(self, grads):
        """Each gradient checked against its parameter: a contiguous ndarray or a SparseGradient, copied where it
        shares memory with what the step writes (the kernels read it while writing those)."""
        return self._unaliased([_gradients.gradient(g, p, f"grads[{i}]")
                                for i, (g, p) in enumerate(zip(grads, self._params))])

    def _unaliased(self, grads):
        """Checked gradients, each copied where it shares memory with what the step writes."""
        grads = list(grads)
        for _, batch in self._batches:  # every batch: one dtype's step may write what another's reads
            for i, g in enumerate(grads):
                if batch.aliased(g.arrays() if isinstance(g, _gradients.SparseGradient) else [g]) >= 0:
                    grads[i] = g.copy()
        return grads

    def _advance(self, steps):
        """Count steps taken on this optimizer's arrays by an outside C loop (the Trainer's epochs)."""
        self._t += steps

    def flush(self):
        """Exact sparse mode: bring every coordinate up to the current step (apply the zero-gradient steps
        untouched coordinates have skipped). Nothing to do in the lazy mode."""
        with self._steps:
            self._flush()

    def _flush(self):
        for i in sorted(self._sparse.stale):
            self._sparse.flush(i, self._row(self._kernel_args, i), self._t)

    def state_dict(self):
        """The optimizer's state as a flat dict of plain numbers and arrays (copies).

        Keys: ``rule``, ``convention``, ``t``, each hyperparameter, ``mu_product`` (Nadam with the "torch" or
        "keras" convention: the running product of its momentum schedule) and ``<slot>.<i>`` for the slots of
        parameter i (e.g. ``m.0``, ``v.0``). With several param groups, each hyperparameter, ``mu_product`` and
        ``weight_decay`` is an array of one value per group, and ``group_of`` holds each parameter's group. It
        round-trips through ``np.savez`` / ``np.load(allow_pickle=False)``. In the exact sparse mode it flushes
        first, so every coordinate's counter is t and the state is exact.
        """
        with self._steps:
            self._flush()
            meta, arrays = self._encode()
            out = {"rule": meta["rule"], "convention": meta["convention"], "t": meta["t"], **self._group_entries()}
        out.update({name: a.copy() for name, a in arrays.items() if name.split(".")[0] in self.rule.slots})
        return out

    def _group_entries(self):
        """The state dict's entries of the groups' settings: the hyperparameters (and Nadam's mu_product) as
        numbers for one group; for several, of one value per group, weight_decay's too, and group_of."""
        names = [*self._groups[0].hyper, *(["mu_product"] if self._form.schedule else [])]
        if len(self._groups) == 1:
            return {name: self._groups[0].setting(name) for name in names}
        out = {name: np.array([group.setting(name) for group in self._groups])
               for name in [*names, "weight_decay"]}
        out["group_of"] = np.array(self._group_of, np.int64)
        return out

    # --- serialization: one encoding, used by state_dict, pickling and checkpoints (gdfast.checkpoint) ------

    _checkpoint_kind = "optimizer"

    def _encode(self, prefix="", params=True):
        """(meta, arrays): JSON-able numbers and strings, and the arrays under ``prefix``: ``param.<i>`` (unless
        ``params`` is false: an object that holds the parameters stores them itself), the slots ``<slot>.<i>``
        and the exact sparse mode's counters as they stand (nothing is flushed)."""
        sparse_meta, arrays = self._sparse.encode(prefix)
        groups = [{"hyperparameters": dict(group.hyper), "weight_decay": group.weight_decay,
                   "mu_product": group.mu_product, "n_params": self._group_of.count(k)}
                  for k, group in enumerate(self._groups)]
        meta = {"rule": self.rule.name, "t": self._t, "groups": groups,
                "check_finite": self.check_finite, "clip_norm": self.clip_norm, "clip_value": self.clip_value,
                "decoupled_weight_decay": self._decoupled, "n_params": len(self._params),
                "convention": self.convention, **sparse_meta}
        for i, (p, slots) in enumerate(zip(self._params, self._state)):
            if params:
                arrays[f"{prefix}param.{i}"] = p
            arrays.update({f"{prefix}{name}.{i}": buf for name, buf in zip(self.rule.slots, slots)})
        return meta, arrays

    @classmethod
    def _decode(cls, meta, arrays, prefix="", params=None):
        """The optimizer of an encoding, over ``params`` or the encoding's own (used as they are; copied where
        read-only), continuing bitwise as the encoded one would."""
        if meta["rule"] not in OPTIMIZERS:
            raise ValueError(f"unknown rule {meta['rule']!r}")
        if params is None:
            params = [checkpoint.writeable(arrays[f"{prefix}param.{i}"]) for i in range(meta["n_params"])]
        groups = meta.get("groups") or [{  # an encoding from before param groups
            "hyperparameters": meta["hyperparameters"], "weight_decay": meta.get("weight_decay", 0.0),
            "mu_product": meta.get("mu_product", 1.0), "n_params": meta["n_params"]}]
        params, settings = _split(params, groups)
        opt = OPTIMIZERS[meta["rule"]](params, check_finite=meta["check_finite"], sparse=meta["sparse"],
                                       convention=meta.get("convention", "survey"), clip_norm=meta.get("clip_norm"),
                                       clip_value=meta.get("clip_value"),
                                       decoupled_weight_decay=meta.get("decoupled_weight_decay", False), **settings)
        for i, slots in enumerate(opt._state):
            for name, buf in zip(opt.rule.slots, slots):
                src = arrays[f"{prefix}{name}.{i}"]
                if src.shape != buf.shape or src.dtype != buf.dtype:
                    raise ValueError(f"slot {name}.{i} has shape {src.shape} and dtype {src.dtype}, its parameter "
                                     f"{buf.shape} and {buf.dtype}")
                np.copyto(buf, src)
        opt._t = _validate.check(_STATE_SCALARS, {"t": meta["t"]})["t"]
        for group, encoded in zip(opt._groups, groups):  # the kernel arguments are built without it
            group.mu_product = _validate.check(_STATE_SCALARS, {"mu_product": encoded["mu_product"]})["mu_product"]
        opt._sparse.restore(meta, arrays, prefix)
        return opt

    def load_state_dict(self, state):
        """Restore a :meth:`state_dict` (a dict or a loaded .npz). Everything is checked before anything is
        written; slots must have their parameter's dtype and shape exactly, the param groups must be this
        optimizer's, and the convention too (a state without one, saved before conventions existed, is the
        survey's)."""
        keys = set(state.keys())
        rule = str(np.asarray(state["rule"])) if "rule" in keys else self.rule.name
        if rule != self.rule.name:
            raise ValueError(f"state is of rule {rule!r}, this optimizer is {self.rule.name!r}")
        convention = str(np.asarray(state["convention"])) if "convention" in keys else "survey"
        if convention != self._form.convention:
            raise ValueError(f"state is of convention {convention!r}, this optimizer's is "
                             f"{self._form.convention!r}: build it with convention={convention!r}")
        entries = self._group_entries()
        expected = {"rule", "t", *entries,
                    *(f"{name}.{i}" for i in range(len(self._params)) for name in self.rule.slots)}
        keys.discard("convention")
        if keys != expected:
            raise ValueError(f"state does not match this {type(self).__name__}: missing {sorted(expected - keys)}, "
                             f"unexpected {sorted(keys - expected)}")
        t = _validate.check(_STATE_SCALARS, {"t": _scalar(state["t"])}, "state[{!r}]")["t"]
        groups = self._loaded_groups(state, entries)
        sources = self._loaded_slots(state)
        with self._steps:
            for buf, src in sources:
                np.copyto(buf, src)
            self._sparse.forget()
            self._t, self._groups = t, groups
            self._rebuild_arguments()

    def _loaded_groups(self, state, entries):
        """The groups' settings of a state dict with these entries (see _group_entries), checked."""
        n = len(self._groups)
        if n == 1:
            rows = [{name: _scalar(state[name]) for name in entries}]
        else:
            if not np.array_equal(np.asarray(state["group_of"]), entries["group_of"]):
                raise ValueError(f"state['group_of'] is {np.asarray(state['group_of']).tolist()}, this optimizer's "
                                 f"param groups are {self._group_of}")
            columns = {name: _vector(state[name], n, f"state[{name!r}]") for name in entries if name != "group_of"}
            rows = [{name: column[k] for name, column in columns.items()} for k in range(n)]
        groups = []
        for k, row in enumerate(rows):
            row = _validate.check(_STATE_SCALARS, row, "state[{!r}]")
            mu_product = row.pop("mu_product", 1.0)
            weight_decay = self._checked_weight_decay(row.pop("weight_decay", self._groups[k].weight_decay))
            groups.append(_Group(row, weight_decay, mu_product))
        return groups

    def _loaded_slots(self, state):
        """(buffer, source) of every slot of a state dict, each checked against its parameter."""
        sources = []
        for i, (p, slots) in enumerate(zip(self._params, self._state)):
            for name, buf in zip(self.rule.slots, slots):
                src = np.asarray(state[f"{name}.{i}"])
                if src.dtype != p.dtype:
                    raise TypeError(f"state['{name}.{i}'] has dtype {src.dtype}, its parameter is {p.dtype}")
                if src.shape != p.shape:
                    raise ValueError(f"state['{name}.{i}'] has shape {src.shape}, its parameter {p.shape}")
                sources.append((buf, src))
        return sources

    def __repr__(self):
        if len(self._groups) == 1:
            settings = ", ".join(f"{k}={v:g}" for k, v in self._groups[0].hyper.items())
        else:
            settings = f"{len(self._groups)} param groups"
        convention = "" if self._form.convention == "survey" else f", convention={self._form.convention!r}"
        return f"{type(self).__name__}({len(self._params)} params, t={self._t}, {settings}{convention})"

    def save(self, path):
        """Write the parameters, the state, the step count and the exact sparse mode's counters (as they stand:
        nothing is flushed) to a checkpoint; ``gd.load(path)`` returns an optimizer over copies of the
        parameters that continues bitwise as this one would (see gdfast.checkpoint)."""
        checkpoint.save(self, path)

    def __reduce__(self):
        """Pickling: the encoding (the parameters as they are, so pickle keeps them shared with whatever else
        holds them; parameters that come back read-only, from a read-only memory map, are copied)."""
        return checkpoint.decoded, (type(self),) + self._encode()


# The options on the gradient (gdfast._validate): clipping's bounds, each None (none) or > 0, and the weight decay.
OPTIONS = {"clip_norm": _validate.NoneOr(_validate.Real(0, None, "neither")),
           "clip_value": _validate.NoneOr(_validate.Real(0, None, "neither")), "weight_decay": _validate.NONNEGATIVE}

# The numbers of a state dict: the step count (0: no step yet), the hyperparameters and Nadam's running product
# of its momentum schedule (a product of factors in [0, 1]).
_STATE_SCALARS = {"t": _validate.Integer(0), "mu_product": _validate.Real(0, 1),
                  "weight_decay": _validate.NONNEGATIVE, **_validate.HYPERPARAMETER_RANGES}


class _Group:
    """One param group's settings: the rule's hyperparameters, the weight decay, Nadam's running product of its
    momentum schedule (convention "torch" or "keras": mu_1 ... mu_t) and its kernel arguments (built by the
    optimizer from the others)."""

    __slots__ = ("hyper", "weight_decay", "mu_product", "args")

    def __init__(self, hyper, weight_decay, mu_product=1.0):
        self.hyper, self.weight_decay, self.mu_product, self.args = hyper, weight_decay, mu_product, None

    def setting(self, name):
        return getattr(self, name) if name in ("weight_decay", "mu_product") else self.hyper[name]

    def set(self, name, value):
        if name == "weight_decay":
            self.weight_decay = value
        else:
            self.hyper[name] = value


class ParamGroup(MutableMapping):
    """A live view of one of an optimizer's param groups, as torch.optim's param_groups entries: ``"params"``
    (the group's parameters as given; read-only), the rule's hyperparameters and ``"weight_decay"``. Setting
    a value checks it and uses it from the optimizer's next step; keys cannot be added or deleted."""

    def __init__(self, optimizer, index):
        self._optimizer, self._index = optimizer, index

    def _names(self):
        return ["params", *self._optimizer._groups[self._index].hyper, "weight_decay"]

    def __getitem__(self, key):
        opt = self._optimizer
        if key == "params":
            return [p for p, k in zip(opt._given, opt._group_of) if k == self._index]
        if key not in self._names():
            raise KeyError(key)
        return opt._groups[self._index].setting(key)

    def __setitem__(self, key, value):
        if key == "params":
            raise TypeError("a param group's params are set at construction")
        if key not in self._names():
            raise KeyError(f"{key!r}: a param group of {type(self._optimizer).__name__} has {self._names()}")
        self._optimizer._set(key, value, [self._index])

    def __delitem__(self, key):
        raise TypeError("a param group's keys cannot be deleted")

    def __iter__(self):
        return iter(self._names())

    def __len__(self):
        return len(self._names())

    def __repr__(self):
        return f"ParamGroup({ {k: (f'<{len(v)} params>' if k == 'params' else v) for k, v in self.items()} })"


def _param_groups(params):
    """(arrays, objects given, group of each, per group (its name in errors, its dict's settings)) of an
    optimizer's params: a list of dicts with "params" is param groups (torch's form), anything else one."""
    if not (isinstance(params, (list, tuple)) and params and any(isinstance(g, dict) for g in params)):
        arrays, given = _validate.params(params)
        return arrays, given, [0] * len(arrays), [("", {})]
    arrays, given, group_of, options, names = [], [], [], [], []
    for k, group in enumerate(params):
        if not isinstance(group, dict):
            raise TypeError(f"params[{k}] must be a dict like the others (param groups), got {type(group).__name__}")
        if "params" not in group:
            raise ValueError(f"params[{k}] has no 'params': a param group is a dict of 'params' and settings")
        a, g = _validate.params(group["params"], f"params[{k}]['params']")
        arrays += a
        given += g
        group_of += [k] * len(a)
        names += [f"params[{k}]['params'][{i}]" for i in range(len(a))]
        options.append((f"params[{k}]", {name: v for name, v in group.items() if name != "params"}))
    _validate.disjoint(arrays, names)
    return arrays, given, group_of, options


def _split(params, groups):
    """(params, keyword settings) of an encoding's param groups: one group's settings as keyword arguments, or
    several as {"params", settings} dicts."""
    settings = [{"weight_decay": group["weight_decay"], **group["hyperparameters"]} for group in groups]
    if len(groups) == 1:
        return params, settings[0]
    out, start = [], 0
    for group, setting in zip(groups, settings):
        out.append({"params": params[start:start + group["n_params"]], **setting})
        start += group["n_params"]
    return out, {}


def _rows(args):
    """A step's kernel arguments as a batch takes them: one Hyperparameters for one group, else the tuple."""
    return args[0] if len(args) == 1 else args


def _vector(x, n, name):
    """A state dict's array of one number per param group, as a list."""
    x = np.asarray(x)
    if x.shape != (n,):
        raise ValueError(f"{name} must hold one value per param group ({n}), got shape {x.shape}")
    return x.tolist()


def _scalar(x):
    """A number stored in a state dict (a Python number, or a 0-d array after np.load)."""
    x = np.asarray(x)
    if x.shape != ():
        raise ValueError(f"expected a scalar in the state, got an array of shape {x.shape}")
    return x.item()


def _hyperparameter_property(name):
    def known(self):
        if name not in self._groups[0].hyper:
            raise AttributeError(f"{type(self).__name__} with convention={self.convention!r} has no hyperparameter "
                                 f"{name!r}; it takes {list(self._groups[0].hyper)}")

    def get(self):
        known(self)
        return self._shared(name)

    def set(self, value):
        known(self)
        self._set(name, value, range(len(self._groups)))

    return property(get, set, doc=f"The hyperparameter {name}; checked when set, used from the next step (in every "
                                  "param group: param_groups sets one).")


def _signature(rule, weight_decay=0.0, decoupled=False):
    """params, the survey's hyperparameters with its defaults, the other conventions' extra hyperparameters
    (None: the convention's default), then the options."""
    P = inspect.Parameter
    extras = [name for name in rule.hyperparameter_names if name not in rule.defaults]
    return inspect.Signature(
        [P("params", P.POSITIONAL_OR_KEYWORD)]
        + [P(name, P.KEYWORD_ONLY, default=d) for name, d in rule.defaults.items()]
        + [P(name, P.KEYWORD_ONLY, default=None) for name in extras]
        + [P("convention", P.KEYWORD_ONLY, default="survey"), P("check_finite", P.KEYWORD_ONLY, default=False),
           P("sparse", P.KEYWORD_ONLY, default="lazy"), P("clip_norm", P.KEYWORD_ONLY, default=None),
           P("clip_value", P.KEYWORD_ONLY, default=None), P("weight_decay", P.KEYWORD_ONLY, default=weight_decay),
           P("decoupled_weight_decay", P.KEYWORD_ONLY, default=decoupled)])


def _conventions_doc(rule):
    """The rule's form under each convention, for its class docstring."""
    lines = ["", "    Conventions (``convention=``): the update; the defaults of what is not passed; the source it was "
             "checked against.", ""]
    for name in CONVENTIONS:
        form = rule.forms[name]
        defaults = ", ".join(f"{k}={v:g}" for k, v in form.defaults.items())
        kernel = "" if form.kernel == rule.name else f" (C kernel {form.kernel})"
        lines.append(f"    - ``{name}``: {form.equation}; {defaults}; {form.source}{kernel}.")
    return "\n".join(lines) + "\n"


class SGD(Optimizer, rule="sgd"):
    r"""Stochastic gradient descent: :math:`\theta \leftarrow \theta - \eta\, g_t`.

    Hyperparameters: lr (:math:`\eta`, 0.01). No state.
    """


class Momentum(Optimizer, rule="momentum"):
    r"""SGD with momentum (survey section 4.1):

    .. math:: v_t = \gamma v_{t-1} + \eta g_t, \qquad \theta \leftarrow \theta - v_t

    Hyperparameters: lr (:math:`\eta`, 0.01), gamma (0.9). State: v.
    """


class NAG(Optimizer, rule="nag"):
    r"""Nesterov accelerated gradient (survey section 4.2), in the look-ahead form of the survey's Nadam section:

    .. math:: v_t = \gamma v_{t-1} + \eta g_t, \qquad \phi \leftarrow \phi - (\gamma v_t + \eta g_t)

    The array holds :math:`\phi = \theta - \gamma v`, so the gradient the caller computes at the stored
    parameters is exactly the survey's :math:`\nabla J(\theta - \gamma v_{t-1})`.
    Hyperparameters: lr (:math:`\eta`, 0.01), gamma (0.9). State: v.
    """


class Adagrad(Optimizer, rule="adagrad"):
    r"""Adagrad (survey section 4.3), eps inside the square root as the survey writes it:

    .. math:: G_t = G_{t-1} + g_t^2, \qquad \theta \leftarrow \theta - \frac{\eta}{\sqrt{G_t + \epsilon}} g_t

    Hyperparameters: lr (0.01), eps (1e-8). State: G.
    """


class Adadelta(Optimizer, rule="adadelta"):
    r"""Adadelta (survey section 4.4):

    .. math::
        E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2, \quad
        \Delta\theta_t = -\frac{\sqrt{E[\Delta\theta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}} g_t, \quad
        E[\Delta\theta^2]_t = \gamma E[\Delta\theta^2]_{t-1} + (1-\gamma)\Delta\theta_t^2, \quad
        \theta \leftarrow \theta + \eta\, \Delta\theta_t

    Hyperparameters: gamma (0.9), eps (1e-6), lr (1.0: the survey's rule has no learning rate; another value
    scales the step). State: Eg2, Edx2.
    """


class RMSprop(Optimizer, rule="rmsprop"):
    r"""RMSprop (survey section 4.5):

    .. math:: E[g^2]_t = \gamma E[g^2]_{t-1} + (1-\gamma) g_t^2, \qquad
              \theta \leftarrow \theta - \frac{\eta}{\sqrt{E[g^2]_t + \epsilon}} g_t

    Hyperparameters: lr (0.001), gamma (0.9), eps (1e-8). State: Eg2.
    """


class Adam(Optimizer, rule="adam"):
    r"""Adam (survey section 4.6):

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \quad
        \hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}, \quad
        \theta \leftarrow \theta - \frac{\eta}{\sqrt{\hat v_t} + \epsilon} \hat m_t

    Hyperparameters: lr (0.001), beta1 (0.9), beta2 (0.999), eps (1e-8). State: m, v.
    """


class AdaMax(Optimizer, rule="adamax"):
    r"""AdaMax (survey section 4.7):

    .. math:: m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \quad u_t = \max(\beta_2 u_{t-1}, |g_t|), \quad
              \theta \leftarrow \theta - \frac{\eta}{u_t} \hat m_t

    Where :math:`u_t = 0` (all gradients so far zero) no step is taken. Hyperparameters: lr (0.002),
    beta1 (0.9), beta2 (0.999). State: m, u.
    """


class Nadam(Optimizer, rule="nadam"):
    r"""Nadam as the survey derives it (section 4.8):

    .. math:: \theta \leftarrow \theta - \frac{\eta}{\sqrt{\hat v_t} + \epsilon}
              \Big(\beta_1 \hat m_t + \frac{(1-\beta_1) g_t}{1-\beta_1^t}\Big)

    with :math:`m_t, v_t, \hat m_t, \hat v_t` as Adam. Hyperparameters: lr (0.002), beta1 (0.9), beta2 (0.999),
    eps (1e-8). State: m, v.
    """


class AMSGrad(Optimizer, rule="amsgrad"):
    r"""AMSGrad as the survey writes it (section 4.9), without bias correction:

    .. math:: m_t, v_t \text{ as Adam}, \quad \hat v_t = \max(\hat v_{t-1}, v_t), \quad
              \theta \leftarrow \theta - \frac{\eta}{\sqrt{\hat v_t} + \epsilon} m_t

    Hyperparameters: lr (0.001), beta1 (0.9), beta2 (0.999), eps (1e-8). State: m, v, vhat.
    """


class FTRL(Optimizer, rule="ftrl"):
    r"""FTRL-Proximal, a rule beyond the survey: H. B. McMahan et al., "Ad click prediction: a view from the
    trenches", KDD 2013, Algorithm 1. Per coordinate, with :math:`\alpha = \eta` and the gradient g taken at the
    current :math:`\theta`:

    .. math::
        \sigma = \frac{\sqrt{n + g^2} - \sqrt{n}}{\alpha}, \quad z \leftarrow z + g - \sigma \theta, \quad
        n \leftarrow n + g^2, \quad
        \theta \leftarrow \begin{cases} 0 & |z| \le \lambda_1 \\
        -\dfrac{z - \operatorname{sgn}(z)\, \lambda_1}{(\beta + \sqrt{n}) / \alpha + \lambda_2} & \text{otherwise}
        \end{cases}

    The per-coordinate learning rate is :math:`\alpha / (\beta + \sqrt{n})`; :math:`\lambda_1 > 0` sets
    coordinates to exactly 0 (sparse models). :math:`\theta` is set from z and n at every step, so a start
    :math:`\theta_0 \ne 0` (the paper's is 0) enters only through :math:`\sigma \theta_0` at a coordinate's first
    step; a zero gradient leaves z and n and sets :math:`\theta` to that closed form, which it already is after
    any step at the same lr (so the exact sparse mode catches up in closed form, and from a zero start at a
    constant lr the lazy mode equals it). lr = 0 takes no step. :math:`\sigma` is computed as
    :math:`g^2 / ((\sqrt{n + g^2} + \sqrt{n})\, \alpha)`, the same number without a difference of close roots.
    Hyperparameters: lr (:math:`\alpha`, 0.1), beta (1.0), lambda1 (0.0), lambda2 (0.0). State: z, n.
    Keras' Ftrl is the paper's with :math:`n_0` = initial_accumulator_value and its l2_regularization_strength
    :math:`= \lambda_2 / 2` (learning_rate_power -0.5 and no l2 shrinkage only), held to trajectories recorded
    from Keras 3.15.1 itself; torch.optim and optax have no FTRL (nothing to compare with), and their conventions
    run the paper's.
    """


class AdamW(Adam, rule="adam"):
    r"""AdamW (Loshchilov & Hutter, "Decoupled weight decay regularization", ICLR 2019): Adam whose weight decay
    is decoupled from the gradient, each step first

    .. math:: \theta \leftarrow \theta (1 - \eta \lambda)

    then Adam's step; ``gd.Adam(..., weight_decay=lam, decoupled_weight_decay=True)``, with torch's AdamW
    default lambda = 0.01 (``weight_decay``). With convention="torch" it is torch.optim.AdamW, with "optax"
    optax.adamw (whose lambda defaults to 1e-4: pass it).
    """

    def __init__(self, params, *, weight_decay=0.01, decoupled_weight_decay=True, **options):
        super().__init__(params, weight_decay=weight_decay, decoupled_weight_decay=decoupled_weight_decay, **options)


AdamW.__signature__ = _signature(AdamW.rule, 0.01, True)

OPTIMIZERS = {cls.rule.name: cls for cls in Optimizer.__subclasses__()}
OPTIMIZER_NAMES = _validate.Options(*OPTIMIZERS)  # an optimizer argument of the training entry points
