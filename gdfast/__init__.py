"""gdfast: the update rules of Ruder's survey of gradient descent (arXiv:1609.04747) as in-place C kernels,
and the training around them.

    import numpy as np, gdfast as gd
    w = np.zeros(1000, np.float32)
    opt = gd.Adam([w], lr=1e-3)
    opt.step([grad])                                   # dense, scipy.sparse or gd.RowSparse gradients
    model = gd.fit("logistic", X, y, "adagrad", lr=0.1, batch_size=1, epochs=5)   # Hogwild! on sparse X
"""
from . import datasets, distributed, hogwild, kernels, losses, reference, schedules
from ._kernels import get_num_threads, openmp_enabled
from ._registry import CONVENTIONS, RULES
from .optim import (SGD, NAG, AMSGrad, AdaMax, Adadelta, Adagrad, Adam, Momentum, Nadam, Optimizer, RMSprop,
                    OPTIMIZERS)
from ._sparse import RowSparse
from ._threads import set_num_threads
from .minimize import minimize
from .checkpoint import load, save
from .train import Curriculum, EarlyStopping, GradientNoise, LinearModel, fit

__version__ = "0.1.0"

__all__ = ["SGD", "Momentum", "NAG", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdaMax", "Nadam", "AMSGrad",
           "Optimizer", "OPTIMIZERS", "RowSparse", "RULES", "CONVENTIONS", "kernels", "reference", "openmp_enabled",
           "set_num_threads", "get_num_threads", "fit", "minimize", "LinearModel", "Curriculum", "EarlyStopping",
           "GradientNoise", "losses", "schedules", "hogwild", "distributed",
           "datasets", "save", "load"]  # GDClassifier, GDRegressor: on first use


def __getattr__(name):
    """The scikit-learn estimators, imported on first use (scikit-learn is an optional dependency)."""
    if name in ("GDClassifier", "GDRegressor"):
        from . import estimators
        return getattr(estimators, name)
    raise AttributeError(f"module 'gdfast' has no attribute {name!r}")
