"""gdfast: the update rules of Ruder's survey of gradient descent (arXiv:1609.04747), and FTRL-Proximal, as
in-place C kernels, and the training around them.

    import numpy as np, gdfast as gd
    w = np.zeros(1000, np.float32)
    opt = gd.Adam([w], lr=1e-3)
    opt.step([grad])                                   # dense, scipy.sparse or gd.RowSparse gradients
    model = gd.fit("logistic", X, y, "adagrad", lr=0.1, batch_size=1, epochs=5)   # Hogwild! on sparse X

The layout follows the survey (docs/architecture.md): ``gdfast.optim`` (section 4: the rules, schedules),
``gdfast.linear`` (sections 2 and 6: training linear models), ``gdfast.parallel`` (section 5: Hogwild!,
distributed SGD), ``gdfast.viz`` (the pictures, the demo), ``gdfast.nn`` (batch normalization) and
``gdfast.cli`` (``python -m gdfast``).
"""
import importlib
import sys

try:  # first, so that a checkout without the built extension is told so (not "partially initialized module")
    importlib.import_module(f"{__name__}._kernels")
except ModuleNotFoundError as e:
    if e.name != f"{__name__}._kernels":
        raise
    raise ImportError(
        "gdfast's C extension gdfast._kernels is not built. In a source checkout, build it with "
        "`pip install -e .` (or `python setup.py build_ext --inplace`); it needs a C compiler, Cython and "
        "NumPy") from None

from . import data, datasets, linear, nn, optim, parallel, viz
from ._kernels import get_num_threads, openmp_enabled
from ._threads import set_num_threads
from .checkpoint import load, save
from .linear import Curriculum, EarlyStopping, GradientNoise, LinearModel, Trainer, fit, losses
from .optim import (FTRL, SGD, NAG, AMSGrad, AdaMax, Adadelta, Adagrad, Adam, AdamW, Momentum, Nadam, Optimizer,
                    RMSprop, CONVENTIONS, OPTIMIZERS, RULES, RowSparse, kernels, minimize, reference, schedules)
from .parallel import distributed, hogwild
from .viz import functions

# The modules of gdfast's first, flat layout, at their old import paths (``import gdfast.schedules``,
# ``from gdfast.minimize import minimize``): each is the one module of the new layout, not a copy. (The
# estimators, which need scikit-learn, are at gdfast.linear.estimators and gd.GDClassifier.)
for _old, _new in {"kernels": "optim.kernels", "reference": "optim.reference", "schedules": "optim.schedules",
                   "minimize": "optim.minimize", "losses": "linear.losses", "train": "linear.trainer",
                   "hogwild": "parallel.hogwild", "distributed": "parallel.distributed",
                   "functions": "viz.functions"}.items():
    sys.modules[f"{__name__}.{_old}"] = sys.modules[f"{__name__}.{_new}"]
del _old, _new

__version__ = "0.1.0"

__all__ = ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "AdaMax", "Nadam", "AMSGrad",
           "FTRL", "Optimizer", "OPTIMIZERS", "RowSparse", "RULES", "CONVENTIONS", "kernels", "reference", "openmp_enabled",
           "set_num_threads", "get_num_threads", "fit", "Trainer", "minimize", "LinearModel", "Curriculum",
           "EarlyStopping", "GradientNoise", "losses", "schedules", "hogwild", "distributed", "datasets", "data",
           "save", "load"]  # GDClassifier, GDRegressor: on first use


def __getattr__(name):
    """The scikit-learn estimators, imported on first use (scikit-learn is an optional dependency)."""
    if name in ("GDClassifier", "GDRegressor"):
        from .linear import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'gdfast' has no attribute {name!r}")
