"""Write tests/golden/conventions.npz: the trajectories the real frameworks take on the conventions' test cases
(tests/frameworks.py), which tests/test_conventions.py holds gdfast to without any framework installed.

    pip install torch keras optax          # jax CPU comes with optax; Keras runs on its torch backend
    KERAS_BACKEND=torch python tests/golden/make_conventions.py

Every case runs on the framework itself (torch.optim, Keras 3, optax), in float64; none is transcribed. The
file holds, case by case (in the order of ``meta["cases"]``), the start point, the gradients and the parameters
after each step, and in ``meta`` (UTF-8 JSON as bytes) each case's rule, convention and hyperparameters and the
frameworks' versions. Run it again when a case or a framework version changes, and commit the .npz.

    python tests/golden/make_conventions.py --missing

records only the cases the file lacks (a new rule's), on the frameworks those need, and keeps the recorded ones
as they are; each case it adds carries the versions it ran on (``meta["cases"][i]["versions"]``). The FTRL cases
were recorded so, on Keras 3.15.1 with its jax backend (jax 0.10.2, x64).
"""
import importlib
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for frameworks.py
os.environ.setdefault("KERAS_BACKEND", "torch")

import frameworks  # noqa: E402


def framework_versions(convention):
    """The versions a case of this convention runs on (Keras: and its backend's)."""
    if convention == "torch":
        import torch
        return {"torch": torch.__version__}
    if convention == "optax":
        import jax
        import optax
        return {"optax": optax.__version__, "jax": jax.__version__}
    import keras
    backend = keras.backend.backend()
    return {"keras": keras.__version__, "keras_backend": backend, backend: importlib.import_module(backend).__version__}


def versions():
    return {**framework_versions("torch"), **framework_versions("optax"), **framework_versions("keras"),
            "numpy": np.__version__}


def record(name, rule, convention, hyper):
    """One case run on its framework: (its meta, theta0, grads, trajectory)."""
    theta0, grads = frameworks.case_data(name)
    trajectory = frameworks.RUNNERS[convention](rule, hyper, theta0, grads)
    print(f"{name:28s} {trajectory[-1]}")
    return {"name": name, "rule": rule, "convention": convention, "hyperparameters": hyper}, theta0, grads, trajectory


def main(path=os.path.join(HERE, "conventions.npz"), missing=False):
    """Every case, or (missing) the cases the file at path lacks, added after the recorded ones."""
    meta, columns = {"cases": [], "versions": None}, ([], [], [])
    if missing:
        with np.load(path) as f:
            meta = json.loads(bytes(f["meta"]).decode())
            columns = tuple(list(f[key]) for key in ("theta0", "grads", "trajectory"))
    recorded = {case["name"] for case in meta["cases"]}
    for name, rule, convention, hyper in frameworks.cases():
        if name in recorded:
            continue
        case, *arrays = record(name, rule, convention, hyper)
        if missing:
            case["versions"] = {**framework_versions(convention), "numpy": np.__version__}
        meta["cases"].append(case)
        for column, array in zip(columns, arrays):
            column.append(array)
    meta["versions"] = meta["versions"] or versions()
    meta["lr_change"] = frameworks.LR_CHANGE
    theta0s, gradss, trajectories = (np.array(column) for column in columns)
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), theta0=theta0s, grads=gradss,
             trajectory=trajectories)
    print(f"wrote {path}: {len(meta['cases'])} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(*[a for a in arguments if a != "--missing"], missing="--missing" in arguments)
