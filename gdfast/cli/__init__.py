"""`python -m gdfast demo | plot | bench | train`: gdfast at work, its pictures, its benchmarks, and training
linear models on svmlight files.

    python -m gdfast demo [--out DIR] [--data FILE.svm] [--rows N] [--epochs E] [--quick]
    python -m gdfast plot beale|saddle|ravine|rosenbrock [--optimizers sgd adam ...] [--steps N] [--out DIR]
    python -m gdfast bench [--full] [--only dense sparse ...]
    python -m gdfast train FILE.svm [--loss logistic] [--optimizer adagrad] [--lr 0.1] [--batch-size 1]
                                    [--epochs 5] [--alpha 0] [--test FILE.svm] [--out model.npz]
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


def train(args):
    """Fit a linear model on an svmlight/LIBSVM file, printing each epoch; optionally test and save it."""
    try:
        from sklearn.datasets import load_svmlight_file
    except ImportError:
        sys.exit("python -m gdfast train reads svmlight files with scikit-learn: pip install 'gdfast[sklearn]'")
    X, y = load_svmlight_file(args.file)
    test = None
    if args.test:
        test = load_svmlight_file(args.test, n_features=X.shape[1])
    print(f"{args.file}: {X.shape[0]} examples, {X.shape[1]} features, {X.nnz} nonzeros; loss {args.loss}, "
          f"{args.optimizer}, batch size {args.batch_size or 'all'}, {args.epochs} epochs")
    hyperparameters = {} if args.lr is None else {"lr": args.lr}

    def report(entry):
        val = "" if entry["val_loss"] is None else f"  test loss {entry['val_loss']:.5f}"
        print(f"epoch {entry['epoch']:3d}  train loss {entry['train_loss']:.5f}{val}  lr {entry['lr']:.3g}  "
              f"{entry['examples_per_second']:.3g} examples/s", flush=True)

    model = gd.fit(args.loss, X, y, args.optimizer, batch_size=args.batch_size, epochs=args.epochs,
                   alpha=args.alpha, validation_data=test, random_state=args.seed, callbacks=[report],
                   progress=False, **hyperparameters)
    if test is not None and model.classes_ is not None:
        print(f"test accuracy {np.mean(model.predict(test[0]) == test[1]):.4f}")
    if args.out:
        np.savez(args.out, coef=model.coef_, intercept=model.intercept_, loss=args.loss,
                 classes=model.classes_ if model.classes_ is not None else np.zeros(0))
        print(f"model saved to {args.out}")


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
    train_args = commands.add_parser("train", help="fit a linear model on an svmlight file")
    train_args.add_argument("file")
    train_args.add_argument("--loss", default="logistic", choices=list(gd.losses.LOSSES))
    train_args.add_argument("--optimizer", default="sgd", choices=list(gd.OPTIMIZERS))
    train_args.add_argument("--lr", type=float, default=None, help="the rule's learning rate (its default)")
    train_args.add_argument("--batch-size", type=int, default=1, help="0 for the whole data set (batch GD)")
    train_args.add_argument("--epochs", type=int, default=5)
    train_args.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    train_args.add_argument("--test", help="an svmlight file to report the loss on after every epoch")
    train_args.add_argument("--out", help="save coef, intercept and classes to this .npz")
    train_args.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            args.batch_size = args.batch_size or None
            train(args)
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
    except (ValueError, ImportError) as e:  # bad arguments, or an extra that is not installed
        parser.error(str(e))

