"""``python -m gdfast demo``: every part of gdfast at work on real-sized data, in one command.

(a) logistic regression on a deterministic sparse data set (gd.datasets.make_classification, or an svmlight
    file) with each of the eleven rules, mini-batch and stochastic, each at the best of a small grid of learning
    rates chosen on a validation split: test loss, accuracy and time;
(b) Hogwild!: the same SGD fit on one thread and on every core;
(c) batch normalization: a small MLP on scikit-learn's digits over a grid of learning rates, with and without
    BatchNorm;
(d) the survey's pictures: the rules' trajectories on the Beale function and at a saddle point.
The tables are printed and written, with the pictures, to ``out`` (default ./gdfast-demo/).
"""
import os
import time

import numpy as np

from .. import datasets
from ..linear import trainer as train
from ..optim._registry import RULES

# Learning-rate grids: the rule's default lr times these factors (Adadelta's lr is a plain multiplier, 1 the
# survey's rule, so it gets factors around 1).
LR_FACTORS = (1.0, 10.0, 100.0, 1000.0)
ADADELTA_FACTORS = (0.3, 1.0, 3.0, 10.0)
MODES = {"mini-batch 32": 32, "SGD": 1}


def run(out="gdfast-demo", data=None, n_rows=150_000, epochs=3, quick=False, progress=True):
    """The whole demo; returns the paths it wrote. quick: a small run of every part (a few seconds)."""
    from tqdm.auto import tqdm
    if quick:
        n_rows, epochs = min(n_rows, 6000), 1
    os.makedirs(out, exist_ok=True)
    X, y, name = _dataset(data, n_rows)
    split = _split(X, y)
    grid = [(rule, mode, lr) for mode in MODES for rule in RULES for lr in _lrs(rule)]
    bar = tqdm(total=len(grid) + 4, desc="gdfast demo", disable=not progress, unit="job")
    sections = [f"# gdfast demo\n\ndata: {name}, {X.shape[0]} rows x {X.shape[1]} features, "
                f"{X.nnz / X.shape[0]:.1f} nonzeros per row; train/validation/test 70/15/15; {epochs} epochs"]
    sections.append(_rules_table(split, grid, epochs, bar))
    sections.append(_hogwild_table(split, epochs, bar))
    sections.append(_batchnorm_table(bar, quick))
    pictures = _pictures(out, bar, quick)
    bar.close()
    report = "\n\n".join(sections) + "\n"
    print(report)
    path = os.path.join(out, "results.md")
    with open(path, "w") as f:
        f.write(report)
    print(f"wrote {path} and {', '.join(pictures)}")
    return [path, *pictures]


def _dataset(data, n_rows):
    if data is None:
        X, y = datasets.make_classification(n_rows=n_rows, n_features=2 ** 20, mean_nnz=40)
        return X, y, "make_classification (power-law sparse, seed 0)"
    from sklearn.datasets import load_svmlight_file
    X, y = load_svmlight_file(data)
    return X.tocsr(), y, data


def _split(X, y, seed=0):
    """(train, validation, test) pairs: 70/15/15 of a fixed permutation."""
    order = np.random.default_rng(seed).permutation(X.shape[0])
    a, b = int(0.7 * len(order)), int(0.85 * len(order))
    return [(X[rows], y[rows]) for rows in (order[:a], order[a:b], order[b:])]


def _lrs(rule):
    factors = ADADELTA_FACTORS if rule == "adadelta" else LR_FACTORS
    return [RULES[rule].defaults["lr"] * f for f in factors]


def _scores(model, X, y):
    """(mean log-loss, accuracy) of a two-class model on (X, y)."""
    z = model.decision_function(X)
    sign = np.where(y == model.classes_[1], 1.0, -1.0)
    return float(np.mean(np.logaddexp(0.0, -sign * z))), float(np.mean((z > 0) == (sign > 0)))


def _rules_table(split, grid, epochs, bar):
    (X, y), (X_val, y_val), (X_test, y_test) = split
    best = {}
    for rule, mode, lr in grid:
        bar.set_postfix_str(f"{rule}, {mode}, lr {lr:g}")
        start = time.perf_counter()
        model = train.fit("logistic", X, y, rule, batch_size=MODES[mode], epochs=epochs, lr=lr, progress=False,
                          random_state=0, n_threads=1)
        seconds = time.perf_counter() - start
        val = _scores(model, X_val, y_val)[0]
        if (rule, mode) not in best or val < best[rule, mode][0]:
            best[rule, mode] = (val, lr, model, seconds)
        bar.update()
    lines = ["## (a) Logistic regression, each rule at its best learning rate (chosen on validation)", "",
             "| rule | mode | lr | test loss | test accuracy | seconds |", "|---|---|---:|---:|---:|---:|"]
    ranked = sorted(best.items(), key=lambda item: _scores(item[1][2], X_test, y_test)[0])
    for (rule, mode), (_, lr, model, seconds) in ranked:
        loss, accuracy = _scores(model, X_test, y_test)
        lines.append(f"| {RULES[rule].class_name} | {mode} | {lr:g} | {loss:.4f} | {accuracy:.4f} | "
                     f"{seconds:.2f} |")
    return "\n".join(lines)


def _hogwild_table(split, epochs, bar):
    from .._kernels import get_num_threads
    (X, y), _, (X_test, y_test) = split
    lines = ["## (b) Hogwild!: SGD, batch 1, lr 0.1, one thread and every core", "",
             "| threads | seconds per epoch | million nonzeros per second | test loss |", "|---:|---:|---:|---:|"]
    for n_threads in sorted({1, get_num_threads()}):
        bar.set_postfix_str(f"Hogwild! on {n_threads} threads")
        model = train.fit("logistic", X, y, "sgd", batch_size=1, epochs=epochs, lr=0.1, progress=False,
                          random_state=0, n_threads=n_threads)
        seconds = min(h["seconds"] for h in model.history_)
        lines.append(f"| {n_threads} | {seconds:.3f} | {X.nnz / seconds / 1e6:.0f} | "
                     f"{_scores(model, X_test, y_test)[0]:.4f} |")
    bar.update()
    return "\n".join(lines)


def _batchnorm_table(bar, quick):
    """SGD with momentum 0.9, where the effect is clearest (bench/results/batchnorm.md has plain SGD too)."""
    from .. import nn
    bar.set_postfix_str("batch normalization on digits")
    lrs, epochs = ((0.01, 0.3), 2) if quick else ((0.003, 0.01, 0.03, 0.1, 0.3, 1.0), 20)
    rows = nn.batchnorm_comparison(lrs=lrs, epochs=epochs, optimizer="momentum", gamma=0.9)
    bar.update()
    return nn.comparison_table(rows, f"(c) Batch normalization: MLP 64-64-64-64-10 on the digits, SGD with "
                                     f"momentum 0.9, {epochs} epochs, with and without BatchNorm")


def _pictures(out, bar, quick):
    from . import plots as viz
    paths = []
    for surface in ("beale", "saddle"):
        bar.set_postfix_str(f"pictures: {surface}")
        paths += viz.plot_command(surface, steps=20 if quick else None, out_dir=out)
        bar.update()
    return paths
