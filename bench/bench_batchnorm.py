"""Batch normalization and the learning rate (the survey's section 6, "Batch normalization": it "allows us to use
much higher learning rates"), on scikit-learn's digits with gdfast.nn.

Model: MLP 64 -> 64 -> 64 -> 64 -> 10 (ReLU; He init, Glorot for the output), with and without BatchNorm after
each hidden Dense layer; the same seed gives both the same split, initialization and batch order.
Training: 20 epochs, batches of 32, on 75% of the 1797 digits (pixels standardized); test accuracy on the rest.
1. Plain SGD at lr 0.01 .. 10.
2. SGD with momentum 0.9 (gd.Momentum) at lr 0.003 .. 1: the effective step is about 10x lr.
Each cell lists seeds 0, 1, 2 (data split, initialization and batch order all change with the seed).

Run:  python bench/bench_batchnorm.py [--quick]   (--quick: one seed, 5 epochs, printed only)
"""
import argparse
import math
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
from gdfast import nn  # noqa: E402
from timing import git_head, machine, write_result  # noqa: E402

SEEDS = (0, 1, 2)
EPOCHS, HIDDEN, BATCH_SIZE = 20, (64, 64, 64), 32
GRIDS = [("Plain SGD", "sgd", (0.01, 0.1, 0.3, 1.0, 3.0, 10.0), {}),
         ("SGD with momentum 0.9", "momentum", (0.003, 0.01, 0.03, 0.1, 0.3, 1.0), {"gamma": 0.9})]


def comparison_rows(optimizer, lrs, hyperparameters, seeds, epochs):
    """{(lr, batch_norm): [row of each seed]} from nn.batchnorm_comparison."""
    runs = {}
    for seed in seeds:
        for row in nn.batchnorm_comparison(lrs, epochs, HIDDEN, BATCH_SIZE, optimizer, seed, **hyperparameters):
            runs.setdefault((row["lr"], row["batch_norm"]), []).append(row)
    return runs


def loss_cell(loss):
    return f"{loss:.3f}" if math.isfinite(loss) else str(loss)


def table(runs):
    n_runs = len(next(iter(runs.values())))
    lines = [f"| lr | BatchNorm | final train loss | test accuracy | diverged | seconds ({n_runs} runs) |",
             "|---:|:---:|---|---|---:|---:|"]
    for (lr, batch_norm), rows in runs.items():
        losses = " / ".join(loss_cell(r["train_loss"]) for r in rows)
        accuracies = " / ".join(f"{r['test_accuracy']:.3f}" for r in rows)
        diverged = sum(r["diverged"] for r in rows)
        seconds = sum(r["seconds"] for r in rows)
        lines.append(f"| {lr:g} | {'yes' if batch_norm else 'no'} | {losses} | {accuracies} | {diverged}/{len(rows)} "
                     f"| {seconds:.2f} |")
        print(lines[-1], flush=True)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seeds, epochs = (SEEDS[:1], 5) if args.quick else (SEEDS, EPOCHS)
    lines = ["# gdfast batch normalization benchmark", "", f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, numpy {np.__version__}",
             "- data: scikit-learn digits (1797 x 64, 10 classes), 75/25 split by seed, pixels standardized",
             f"- model: MLP 64 -> {' -> '.join(map(str, HIDDEN))} -> 10, ReLU, with or without BatchNorm after "
             f"each hidden Dense (momentum 0.1, eps 1e-5); {epochs} epochs, batch {BATCH_SIZE}",
             f"- cells: seeds {' / '.join(map(str, seeds))}; train loss = the last epoch's mean batch loss (training mode), "
             "test accuracy in eval mode (running statistics); a diverged run (nan/inf loss) stops there"]
    start = time.perf_counter()
    for title, optimizer, lrs, hyperparameters in GRIDS:
        lines += ["", f"## {title}", ""]
        lines += table(comparison_rows(optimizer, lrs, hyperparameters, seeds, epochs))
    total = time.perf_counter() - start
    lines += ["", f"Total: {total:.1f} s for {len(GRIDS)} grids x {len(seeds)} seeds "
              f"(one grid for one seed: {total / len(GRIDS) / len(seeds):.1f} s)"]
    print("\n".join(lines))
    write_result("batchnorm.md", lines, args.quick)


if __name__ == "__main__":
    sys.exit(main())
