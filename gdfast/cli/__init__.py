"""`python -m gdfast demo | plot | bench | train`: gdfast at work, its pictures, its benchmarks, and training
linear models on svmlight files streamed from disk.

    python -m gdfast demo [--out DIR] [--data FILE.svm] [--rows N] [--epochs E] [--quick]
    python -m gdfast plot beale|saddle|ravine|rosenbrock [--optimizers sgd adam ...] [--steps N] [--out DIR]
    python -m gdfast bench [--full] [--only dense sparse ...]
    python -m gdfast train FILE.svm[.gz] [FILE ...] [--passes 5] [--holdout-period 10] [--test FILE.svm]
                                    [--out model.npz] [--init model.npz] [--optimizer adagrad] [--lr 0.1] ...
"""
import argparse
import sys

import numpy as np

import gdfast as gd


def sparse_classification(n_samples=50_000, n_features=2_000, nnz=20, seed=0):
    """A sparse two-class problem: nnz random features per row, labels from a random linear model."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, n_features, n_samples * nnz)
    X = sp.csr_matrix((rng.random(n_samples * nnz), (np.repeat(np.arange(n_samples), nnz), cols)),
                      shape=(n_samples, n_features))
    y = (X @ rng.standard_normal(n_features) + 0.5 * rng.logistic(size=n_samples) > 0).astype(int)
    return X, y


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gdfast", description="gdfast's demo, pictures, "
                                     "benchmarks, and training linear models on svmlight files")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_args = commands.add_parser("demo", help="every part of gdfast on real-sized data (about a minute)")
    demo_args.add_argument("--out", default="gdfast-demo", help="where the tables and pictures go")
    demo_args.add_argument("--data", help="an svmlight file with two classes instead of the built-in data set")
    demo_args.add_argument("--rows", type=int, default=150_000, help="rows of the built-in data set")
    demo_args.add_argument("--epochs", type=int, default=3)
    demo_args.add_argument("--quick", action="store_true", help="a small run of every part (seconds)")
    plot_args = commands.add_parser("plot", help="the rules' trajectories on a test surface (PNG and GIF)")
    plot_args.add_argument("surface", choices=["beale", "saddle", "ravine", "rosenbrock"])
    plot_args.add_argument("--optimizers", nargs="+", choices=list(gd.OPTIMIZERS), default=None)
    plot_args.add_argument("--steps", type=int, default=None)
    plot_args.add_argument("--out", default=".")
    bench_args = commands.add_parser("bench", help="the benchmark suite, quick (the source tree's bench/)")
    bench_args.add_argument("--full", action="store_true", help="the full sizes (minutes; writes bench/results)")
    bench_args.add_argument("--only", nargs="+", help="benchmarks to run, e.g. dense sparse")
    from . import train
    train.add_arguments(commands.add_parser("train", help="train a linear model on svmlight files, streamed"))
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            train.run(args)
        elif args.command == "demo":
            from ..viz import demo
            demo.run(args.out, args.data, args.rows, args.epochs, quick=args.quick)
        elif args.command == "plot":
            from .. import viz
            for path in viz.plot_command(args.surface, args.optimizers, args.steps, args.out):
                print(f"wrote {path}")
        else:
            from . import benchmarks
            results = benchmarks.run(quick=not args.full, only=args.only)
            if any(code for _, code, _ in results):
                sys.exit(1)
    except (ValueError, ImportError, FileNotFoundError) as e:  # bad arguments or files, or a missing extra
        parser.error(str(e))

