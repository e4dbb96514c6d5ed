"""Checkpoints: an optimizer, a trained LinearModel or a fitted GDClassifier/GDRegressor as one versioned .npz
file, read back with ``allow_pickle=False`` (a checkpoint holds arrays and JSON text, never code).

    opt.save("opt.npz");      opt = gd.load("opt.npz")        # parameters, state, step count, sparse counters
    model.save("model.npz");  model = gd.load("model.npz")    # + history and what resuming needs
    est.save("est.npz");      est = gd.load("est.npz")

A resumed run is bitwise the run that was not interrupted: an optimizer keeps the exact sparse mode's per-block
step counters as they are (nothing is flushed), and a model keeps the random streams of its fit (shuffling,
per-thread gradient noise), its schedule's state and its early-stopping record, so ``gd.fit(..., init=model)``
continues exactly where the first fit stopped (on one thread: Hogwild! runs differ from run to run anyway).
"""
import json
import zipfile

import numpy as np

FORMAT = "gdfast checkpoint"
VERSION = 1


def save(obj, path):
    """Write ``obj`` (an Optimizer, LinearModel, GDClassifier or GDRegressor) to ``path`` (.npz)."""
    kind, meta, arrays = _encode(obj)
    header = {"format": FORMAT, "version": VERSION, "kind": kind, **meta}
    np.savez(path, __meta__=np.array(json.dumps(header, default=_json_number)), **arrays)


def load(path):
    """Read a checkpoint written by :func:`save` (or an object's ``save``). A file that is not one, or is
    truncated or corrupt, raises ValueError naming it; a missing file FileNotFoundError."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in f.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except FileNotFoundError:
        raise
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable gdfast checkpoint ({type(e).__name__}: {e})") from None
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not a gdfast checkpoint")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path} is a gdfast checkpoint of version {meta.get('version')}; this gdfast reads "
                         f"version {VERSION}")
    try:
        return _DECODERS[meta["kind"]](meta, arrays)
    except KeyError as e:
        raise ValueError(f"{path} is an incomplete gdfast checkpoint: {e} is missing") from None


def _json_number(value):
    if isinstance(value, np.generic):  # numpy scalars among hyperparameters or history entries
        return value.item()
    raise TypeError(f"a checkpoint stores numbers, strings and arrays; got {type(value).__name__}")


def _encode(obj):
    from .optim import Optimizer
    from .linear import LinearModel
    if isinstance(obj, Optimizer):
        return ("optimizer", *_optimizer(obj, ""))
    if isinstance(obj, LinearModel):
        return ("model", *_model(obj, ""))
    if type(obj).__module__ == "gdfast.linear.estimators" and type(obj).__name__ in ("GDClassifier", "GDRegressor"):
        return ("estimator", *_estimator(obj))
    raise TypeError(f"gdfast saves an Optimizer, a LinearModel, a GDClassifier or a GDRegressor, not "
                    f"{type(obj).__name__}")


# --- optimizers ---------------------------------------------------------------------------------------------

def _optimizer(opt, prefix):
    """(meta, arrays) of an optimizer: its parameters, slots, step count, hyperparameters and the exact sparse
    mode's counters as they stand."""
    sparse = opt._sparse
    meta = {"rule": opt.rule.name, "t": opt._t, "hyperparameters": opt._hyper, "check_finite": opt.check_finite,
            "sparse": sparse.mode, "n_params": len(opt._params), "synced_at": list(sparse.synced_at),
            "stale": sorted(sparse.stale), "counted": [last is not None for last in sparse.last],
            "convention": opt.convention, "mu_product": getattr(opt, "_mu_product", 1.0)}
    arrays = {}
    for i, (p, slots) in enumerate(zip(opt._params, opt._state)):
        arrays[f"{prefix}param.{i}"] = p
        arrays.update({f"{prefix}{name}.{i}": buf for name, buf in zip(opt.rule.slots, slots)})
        if sparse.last[i] is not None:
            arrays[f"{prefix}last.{i}"] = sparse.last[i]
    return meta, arrays


def _load_optimizer(meta, arrays, prefix="", params=None):
    from .optim import OPTIMIZERS
    if meta["rule"] not in OPTIMIZERS:
        raise ValueError(f"unknown rule {meta['rule']!r}")
    n = meta["n_params"]
    if params is None:
        params = [np.array(arrays[f"{prefix}param.{i}"]) for i in range(n)]
    opt = OPTIMIZERS[meta["rule"]](params, check_finite=meta["check_finite"], sparse=meta["sparse"],
                                   convention=meta["convention"], **meta["hyperparameters"])
    opt._mu_product = meta["mu_product"]  # Nadam's running product of momenta (torch and Keras conventions)
    for i, slots in enumerate(opt._state):
        for name, buf in zip(opt.rule.slots, slots):
            src = arrays[f"{prefix}{name}.{i}"]
            if src.shape != buf.shape or src.dtype != buf.dtype:
                raise ValueError(f"slot {name}.{i} has shape {src.shape} and dtype {src.dtype}, its parameter "
                                 f"{buf.shape} and {buf.dtype}")
            np.copyto(buf, src)
    opt._t = int(meta["t"])
    sparse = opt._sparse
    sparse.synced_at = [int(s) for s in meta["synced_at"]]
    sparse.stale = set(meta["stale"])
    sparse.last = [np.array(arrays[f"{prefix}last.{i}"]) if counted else None
                   for i, counted in enumerate(meta["counted"])]
    return opt


# --- models -------------------------------------------------------------------------------------------------

def _model(model, prefix):
    meta = {"loss": model.loss, "history": model.history_, "eta0": model._eta0,
            "optimizer": None, "resume": None}
    arrays = {f"{prefix}W": model._W, f"{prefix}b": model._b}
    if model.classes_ is not None:
        arrays[f"{prefix}classes"] = _plain(model.classes_, "classes_")
    if model.optimizer_ is not None:
        meta["optimizer"], opt_arrays = _optimizer(model.optimizer_, prefix + "opt.")
        arrays.update({k: v for k, v in opt_arrays.items() if ".param." not in k})  # W and b: stored above
    resume = getattr(model, "_resume", None)
    if resume is not None:
        meta["resume"] = {"rng": resume["rng"], "schedule": resume["schedule"],
                          "best": None if resume["best"] is None else [resume["best"][0], resume["best"][3]]}
        for i, stream in enumerate(resume["streams"]):
            arrays[f"{prefix}stream.{i}"] = stream
        if resume["best"] is not None:
            arrays[f"{prefix}best.W"], arrays[f"{prefix}best.b"] = resume["best"][1], resume["best"][2]
        meta["resume"]["n_streams"] = len(resume["streams"])
        meta["resume"]["last"] = resume["last"] is not None
        if resume["last"] is not None:
            arrays[f"{prefix}last.W"], arrays[f"{prefix}last.b"] = resume["last"]
    return meta, arrays


def _load_model(meta, arrays, prefix=""):
    from .linear import LinearModel
    W, b = np.array(arrays[f"{prefix}W"]), np.array(arrays[f"{prefix}b"])
    classes = arrays.get(f"{prefix}classes")
    opt = None if meta["optimizer"] is None else _load_optimizer(meta["optimizer"], arrays, prefix + "opt.", [W, b])
    model = LinearModel(meta["loss"], W, b, classes, meta["history"], opt, meta["eta0"])
    resume = meta["resume"]
    if resume is not None:
        best = resume["best"]
        model._resume = {"rng": resume["rng"], "schedule": resume["schedule"],
                         "streams": [np.array(arrays[f"{prefix}stream.{i}"]) for i in range(resume["n_streams"])],
                         "best": None if best is None else
                         (best[0], np.array(arrays[f"{prefix}best.W"]), np.array(arrays[f"{prefix}best.b"]), best[1]),
                         "last": (np.array(arrays[f"{prefix}last.W"]), np.array(arrays[f"{prefix}last.b"]))
                         if resume["last"] else None}
    return model


def _plain(a, name):
    """An array numpy stores without pickling (numbers or strings), or a TypeError naming it."""
    a = np.asarray(a)
    if a.dtype.hasobject:
        try:
            a = a.astype(str) if all(isinstance(v, str) for v in a.ravel()) else a.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} holds Python objects of dtype {a.dtype}: a checkpoint stores numbers and "
                            f"strings only") from None
    return a


# --- estimators ---------------------------------------------------------------------------------------------

def _estimator(est):
    meta = {"class": type(est).__name__, "params": {k: _param(v) for k, v in est.get_params().items()},
            "fitted": hasattr(est, "model_")}
    arrays = {}
    if meta["fitted"]:
        meta["model"], arrays = _model(est.model_, "model.")
        meta["n_features_in"] = int(est.n_features_in_)
        if hasattr(est, "classes_"):
            arrays["est.classes"] = _plain(est.classes_, "classes_")
    return meta, arrays


def _load_estimator(meta, arrays):
    from .linear import estimators
    if meta["class"] not in ("GDClassifier", "GDRegressor"):
        raise ValueError(f"unknown estimator {meta['class']!r}")
    est = getattr(estimators, meta["class"])(**{k: _unparam(v) for k, v in meta["params"].items()})
    if meta["fitted"]:
        model = _load_model(meta["model"], arrays, "model.")
        est.model_, est.coef_, est.intercept_ = model, model.coef_, model.intercept_
        est.n_iter_, est.n_features_in_ = len(model.history_), meta["n_features_in"]
        if "est.classes" in arrays:
            est.classes_ = arrays["est.classes"]
    return est


def _param(value):
    """An estimator parameter as JSON: plain values as they are, a schedule or GradientNoise as its class and
    attributes (its state included)."""
    from .linear import strategies
    from .optim import schedules
    if isinstance(value, (schedules.Schedule, strategies.GradientNoise)):
        return {"__object__": type(value).__name__, "attributes": vars(value)}
    if isinstance(value, dict):
        return {k: _param(v) for k, v in value.items()}
    return value


def _unparam(value):
    from .linear import strategies
    from .optim import schedules
    if isinstance(value, dict) and "__object__" in value:
        classes = {cls.__name__: cls for cls in (*schedules.SCHEDULES.values(), strategies.GradientNoise)}
        if value["__object__"] not in classes:
            raise ValueError(f"unknown parameter object {value['__object__']!r}")
        obj = object.__new__(classes[value["__object__"]])
        vars(obj).update(value["attributes"])
        return obj
    if isinstance(value, dict):
        return {k: _unparam(v) for k, v in value.items()}
    return value


_DECODERS = {"optimizer": _load_optimizer, "model": _load_model, "estimator": _load_estimator}
