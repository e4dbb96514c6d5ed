"""Checkpoints: an optimizer, a trained LinearModel, a fitted GDClassifier/GDRegressor or a Factorization as one
versioned .npz file, read back with ``allow_pickle=False`` (a checkpoint holds arrays and JSON text, never code).

    opt.save("opt.npz");      opt = gd.load("opt.npz")        # parameters, state, step count, sparse counters
    model.save("model.npz");  model = gd.load("model.npz")    # + history and what resuming needs
    est.save("est.npz");      est = gd.load("est.npz")

This module is the container only: each class encodes itself (``_encode(prefix) -> (meta, arrays)`` and
``_decode(meta, arrays, prefix)``, the same encoding its pickling uses) and names its kind
(``_checkpoint_kind``); the table below says where each kind's class lives, imported when a file of that kind is
read. A resumed run is bitwise the run that was not interrupted: an optimizer keeps the exact sparse mode's
per-block step counters as they are (nothing is flushed), and a model keeps the random streams of its training
(shuffling, per-thread gradient noise), its schedule's state and its early-stopping record, so
``gd.fit(..., init=model)`` continues exactly where the first fit stopped (on one thread: Hogwild! runs differ
from run to run anyway).
"""
import importlib
import json
import zipfile

import numpy as np

FORMAT = "gdfast checkpoint"
VERSION = 1
# kind -> (module, class) of the classes that save themselves; imported by name when a file is read, so that
# this module imports none of them (they import it to save).
CLASSES = {
    "optimizer": ("gdfast.optim.optimizers", "Optimizer"),
    "model": ("gdfast.linear.model", "LinearModel"),
    "estimator": ("gdfast.linear.estimators", "_GDEstimator"),
    "factorization": ("gdfast.parallel.hogwild", "Factorization"),
}


def save(obj, path):
    """Write ``obj`` (an Optimizer, LinearModel, GDClassifier, GDRegressor or Factorization) to ``path``."""
    kind = getattr(type(obj), "_checkpoint_kind", None)
    if kind not in CLASSES:
        raise TypeError(f"gdfast saves an Optimizer, a LinearModel, a GDClassifier, a GDRegressor or a "
                        f"Factorization, not {type(obj).__name__}")
    meta, arrays = obj._encode()
    header = {"format": FORMAT, "version": VERSION, "kind": kind, **meta}
    arrays = {name: _plain(a, name) for name, a in arrays.items()}
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
    if meta.get("kind") not in CLASSES:
        raise ValueError(f"{path} holds an unknown kind of gdfast object: {meta.get('kind')!r}")
    module, name = CLASSES[meta["kind"]]
    try:
        return getattr(importlib.import_module(module), name)._decode(meta, arrays)
    except KeyError as e:
        raise ValueError(f"{path} is an incomplete gdfast checkpoint: {e} is missing") from None


def writeable(a):
    """An array of an encoding as a decoded object may update in place: itself, or a copy where it is read-only
    (a read-only memory map, say)."""
    return a if a.flags.writeable else a.copy()


def decoded(cls, meta, arrays):
    """The object of an encoding: what the encoded classes' pickling (``__reduce__``) calls."""
    return cls._decode(meta, arrays)


def _json_number(value):
    if isinstance(value, np.generic):  # numpy scalars among hyperparameters or history entries
        return value.item()
    raise TypeError(f"a checkpoint stores numbers, strings and arrays; got {type(value).__name__}")


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
