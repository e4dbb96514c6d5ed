"""Linear models trained by gradient descent (the survey's sections 2 and 6): the losses, the trainer and its
C epoch loop (batch, mini-batch and stochastic gradient descent), the strategies (shuffling, curriculum, early
stopping, gradient noise), the hot features of Hogwild!, and scikit-learn estimators (``estimators``, imported on
first use: scikit-learn is optional)."""
from . import losses
from .model import LinearModel
from .strategies import Curriculum, EarlyStopping, GradientNoise
from .trainer import Trainer, fit
