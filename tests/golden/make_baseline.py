"""Record what gdfast computed before the architecture change (commit 56a0e11), so that tests can hold later
versions to it:

- fits.npz: the coefficients and intercepts of gd.fit for every rule, dense and CSR, one thread, in three batch
  modes and three losses, with shuffling, a schedule and gradient noise (bitwise: tests/test_baseline.py). The
  fits with gradient noise (batch 16) were recorded again when the noise's normal draws stopped calling libm's
  log and cos (csrc/random.h), whose last bit differs between CPUs: they moved by < 1e-9 relative, every other
  fit is as first recorded;
- checkpoints/*.npz: checkpoints written by that version (an optimizer in the exact sparse mode with stale
  blocks, a fitted model with its resume state, a fitted estimator), with what continuing each gives
  (checkpoints/expected.npz);
- public_api.json: the public names of gdfast and its public modules, and their signatures.

Run from the repository root with that version installed: python tests/golden/make_baseline.py
"""
import importlib
import inspect
import json
import re
import os
import sys
import warnings

import numpy as np
import scipy.sparse as sp

import gdfast as gd

HERE = os.path.dirname(os.path.abspath(__file__))
PUBLIC_MODULES = ["kernels", "schedules", "distributed", "nn", "functions", "viz", "losses", "hogwild", "datasets", "data"]
# The rules of that version, whose fits were recorded (a rule added since has no recorded fit).
RECORDED_RULES = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam", "adamax", "nadam", "amsgrad")


def fit_cases():
    """(name, arguments of gd.fit) of every recorded fit."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 12))
    X[rng.random(X.shape) < 0.6] = 0.0
    w = rng.standard_normal(12)
    y_reg = X @ w + 0.1 * rng.standard_normal(120)
    y_bin = (X @ w > 0).astype(int)
    y_multi = np.digitize(X @ w, [-1.0, 1.0])
    data = {"dense": X, "csr": sp.csr_matrix(X)}
    for rule in RECORDED_RULES:
        for layout, Xl in data.items():
            for loss, y in (("logistic", y_bin), ("squared", y_reg), ("softmax", y_multi)):
                for batch in (None, 1, 16):
                    yield (f"{rule}.{layout}.{loss}.{batch}",
                           dict(loss=loss, X=Xl, y=y, optimizer=rule, batch_size=batch, epochs=3, alpha=1e-3,
                                schedule="inverse_time" if batch == 1 else None, random_state=1,
                                gradient_noise=gd.GradientNoise(0.01) if batch == 16 else None,
                                n_threads=1, progress=False, lr=0.05))


def record_fits():
    out = {}
    for name, kw in fit_cases():
        model = gd.fit(kw.pop("loss"), kw.pop("X"), kw.pop("y"), **kw)
        out[name + ".coef"], out[name + ".intercept"] = model.coef_, model.intercept_
    np.savez_compressed(os.path.join(HERE, "fits.npz"), **out)


def checkpoint_problem():
    rng = np.random.default_rng(3)
    X = sp.random(200, 40, density=0.2, format="csr", random_state=3)
    y = (np.asarray(X.sum(axis=1)).ravel() + 0.1 * rng.standard_normal(200) > np.median(np.asarray(X.sum(axis=1)).ravel())).astype(int)
    return X, y


def record_checkpoints():
    folder = os.path.join(HERE, "checkpoints")
    os.makedirs(folder, exist_ok=True)
    expected = {}
    # An optimizer in the exact sparse mode, with blocks left behind by sparse steps.
    rng = np.random.default_rng(1)
    w = rng.standard_normal((50, 8))
    opt = gd.Adam([w], lr=0.01, sparse="exact")
    for _ in range(3):
        opt.step(gd.RowSparse(rng.integers(0, 50, 5), rng.standard_normal((5, 8))))
    opt.save(os.path.join(folder, "optimizer.npz"))
    grad = gd.RowSparse(np.array([1, 7]), np.ones((2, 8)))
    opt.step(grad)
    opt.flush()
    expected["optimizer.param"] = w.copy()
    # A model fitted with shuffling, noise, a threshold schedule and early stopping on a validation split.
    X, y = checkpoint_problem()
    kw = dict(batch_size=4, schedule=gd.schedules.Threshold(factor=0.5, patience=0), random_state=2,
              gradient_noise=gd.GradientNoise(0.01), early_stopping=gd.EarlyStopping(patience=2),
              validation_fraction=0.2, n_threads=1, progress=False, lr=0.05)
    model = gd.fit("logistic", X, y, "adagrad", epochs=3, **kw)
    model.save(os.path.join(folder, "model.npz"))
    more = gd.fit("logistic", X, y, "adagrad", epochs=2, init=model, **kw)
    expected["model.coef"], expected["model.intercept"] = more.coef_, more.intercept_
    # A fitted estimator.
    est = gd.GDClassifier(optimizer="adagrad", lr=0.1, batch_size=8, max_iter=3, random_state=0, n_threads=1)
    est.fit(X, y)
    est.save(os.path.join(folder, "estimator.npz"))
    est.partial_fit(X, y)
    expected["estimator.coef"], expected["estimator.intercept"] = est.coef_, est.intercept_
    np.savez(os.path.join(folder, "expected.npz"), **expected)


def describe(obj):
    """What the API pins of a public object: "module", "value", a signature, or a class's and its methods'."""
    if inspect.ismodule(obj):
        return "module"
    if inspect.isclass(obj):
        methods = {name: _signature(member) for name, member in vars(obj).items()
                   if not name.startswith("_") and callable(member)}
        return {"class": _signature(obj), "methods": methods}
    if callable(obj):
        return _signature(obj)
    return "value"


def public_api():
    """{module: {name: describe(object)}} for gdfast and its public modules (their own names)."""
    api = {"gdfast": {name: describe(getattr(gd, name)) for name in [*gd.__all__, "GDClassifier", "GDRegressor"]}}
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(f"gdfast.{module_name}")
        names = getattr(module, "__all__", None) or [
            name for name, obj in vars(module).items() if not name.startswith("_") and _defined_in(module, name, obj)]
        api[module_name] = {name: describe(getattr(module, name)) for name in sorted(names)}
    return api


def _defined_in(module, name, obj):
    """Whether a module's attribute is its own: not a module, not a class or function of another module, not a
    name it imports."""
    if inspect.ismodule(obj):
        return False
    if inspect.isclass(obj) or inspect.isfunction(obj):
        return obj.__module__ == module.__name__
    source = inspect.getsource(module)
    return not re.search(rf"^\s*(from\s+\S+\s+)?import\s[^\n]*\b{name}\b", source, re.M)


def _signature(obj):
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "callable"


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    what = sys.argv[1:] or ["fits", "checkpoints", "api"]
    if "fits" in what:
        record_fits()
    if "checkpoints" in what:
        record_checkpoints()
    if "api" in what:
        with open(os.path.join(HERE, "public_api.json"), "w") as f:
            json.dump(public_api(), f, indent=1, sort_keys=True)
            f.write("\n")
