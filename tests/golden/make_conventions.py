"""Write tests/golden/conventions.npz: the trajectories the real frameworks take on the conventions' test cases
(tests/frameworks.py), which tests/test_conventions.py holds gdfast to without any framework installed.

    pip install torch keras optax          # jax CPU comes with optax; Keras runs on its torch backend
    KERAS_BACKEND=torch python tests/golden/make_conventions.py

Every case runs on the framework itself (torch.optim, Keras 3, optax), in float64; none is transcribed. The
file holds, case by case (in the order of ``meta["cases"]``), the start point, the gradients and the parameters
after each step, and in ``meta`` (UTF-8 JSON as bytes) each case's rule, convention and hyperparameters and the frameworks' versions. Run it again when a case or a framework version changes, and commit the .npz.
"""
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # tests/, for frameworks.py
os.environ.setdefault("KERAS_BACKEND", "torch")

import frameworks  # noqa: E402


def versions():
    import jax
    import keras
    import optax
    import torch
    return {"torch": torch.__version__, "keras": keras.__version__, "optax": optax.__version__,
            "jax": jax.__version__, "numpy": np.__version__}


def main(path=os.path.join(HERE, "conventions.npz")):
    cases, theta0s, gradss, trajectories = [], [], [], []
    for name, rule, convention, hyper in frameworks.cases():
        theta0, grads = frameworks.case_data(name)
        trajectory = frameworks.RUNNERS[convention](rule, hyper, theta0, grads)
        cases.append({"name": name, "rule": rule, "convention": convention, "hyperparameters": hyper})
        theta0s.append(theta0), gradss.append(grads), trajectories.append(trajectory)
        print(f"{name:28s} {trajectory[-1]}")
    meta = {"cases": cases, "versions": versions(), "lr_change": frameworks.LR_CHANGE}
    np.savez(path, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8), theta0=np.array(theta0s), grads=np.array(gradss),
             trajectory=np.array(trajectories))
    print(f"wrote {path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main(*sys.argv[1:])
