"""Parallel and distributed SGD (the survey's section 5): Hogwild! matrix factorization (``hogwild``; Hogwild!
for linear models is gdfast.linear's trainer on threads) and Downpour SGD, delay-tolerant Adagrad and Elastic
Averaging SGD on a parameter server (``distributed``)."""
from . import distributed, hogwild
