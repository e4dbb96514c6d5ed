"""The update rules of the survey's section 4 (and FTRL-Proximal, beyond it) and what drives them: the rule table
(``RULES``: the C kernels, their state and each framework's form), the optimizers that step bound arrays in place
(dense, CSR and row-sparse gradients), the functional kernels (``kernels``), the literal reference
(``reference``), learning-rate schedules (``schedules``) and a scipy-style minimizer (``minimize``)."""
from . import kernels, reference, schedules
from ._gradients import RowSparse
from ._registry import CONVENTIONS, RULES
from .minimize import minimize
from .optimizers import (FTRL, SGD, NAG, AMSGrad, AdaMax, Adadelta, Adagrad, Adam, AdamW, Momentum, Nadam, Optimizer,
                         RMSprop, OPTIMIZERS)
