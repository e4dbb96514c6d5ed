"""`python -m gdfast [demo | train FILE]`: the rules at work, and training linear models on svmlight files.

    python -m gdfast demo                  every rule fitting a small least-squares problem
    python -m gdfast train FILE.svm [--loss logistic] [--optimizer adagrad] [--lr 0.1] [--batch-size 1]
                                    [--epochs 5] [--alpha 0] [--test FILE.svm] [--out model.npz]
"""
import argparse
import sys
import time

import numpy as np

import gdfast as gd


def least_squares(n_samples=2000, n_features=200, seed=0):
    """A deterministic, ill-conditioned least-squares problem: features scaled over two decades."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features)) * np.logspace(0, -2, n_features)
    w_true = rng.standard_normal(n_features)
    y = X @ w_true + 0.01 * rng.standard_normal(n_samples)
    return X, y


def demo(steps=500, batch_size=64, seed=0):
    X, y = least_squares(seed=seed)
    rng = np.random.default_rng(seed)
    batches = [rng.integers(0, len(y), batch_size) for _ in range(steps)]
    lr = {"sgd": 0.05, "momentum": 0.01, "nag": 0.01, "adagrad": 0.5, "adadelta": 1.0, "rmsprop": 0.01,
          "adam": 0.05, "adamax": 0.05, "nadam": 0.05, "amsgrad": 0.05}
    print(f"gdfast {gd.__version__}  OpenMP: {gd.openmp_enabled()}  threads: {gd.get_num_threads()}")
    print(f"mini-batch GD ({batch_size} of {len(y)} rows, {steps} steps) on least squares, "
          f"{X.shape[1]} features, condition ~1e4\n")
    print(f"{'rule':10} {'lr':>6}  {'start loss':>10}  {'final loss':>10}  {'µs/step (kernel)':>16}")
    for name, rule in gd.RULES.items():
        w = np.zeros(X.shape[1])
        opt = gd.OPTIMIZERS[name]([w], lr=lr[name])
        start = 0.5 * np.mean((X @ w - y) ** 2)
        kernel_time = 0.0
        for idx in batches:
            Xb, yb = X[idx], y[idx]
            g = Xb.T @ (Xb @ w - yb) / batch_size
            t0 = time.perf_counter()
            opt.step(g)
            kernel_time += time.perf_counter() - t0
        final = 0.5 * np.mean((X @ w - y) ** 2)
        print(f"{rule.class_name:10} {lr[name]:>6g}  {start:>10.4f}  {final:>10.4f}  "
              f"{kernel_time / steps * 1e6:>16.2f}")


def sparse_classification(n_samples=50_000, n_features=2_000, nnz=20, seed=0):
    """A sparse two-class problem: nnz random features per row, labels from a random linear model."""
    import scipy.sparse as sp
    rng = np.random.default_rng(seed)
    cols = rng.integers(0, n_features, n_samples * nnz)
    X = sp.csr_matrix((rng.random(n_samples * nnz), (np.repeat(np.arange(n_samples), nnz), cols)),
                      shape=(n_samples, n_features))
    y = (X @ rng.standard_normal(n_features) + 0.5 * rng.logistic(size=n_samples) > 0).astype(int)
    return X, y


def demo_fit(epochs=3):
    X, y = sparse_classification()
    cut = len(y) * 4 // 5
    print(f"\ngd.fit: logistic regression, {cut} sparse examples x {X.shape[1]} features "
          f"({X.nnz // len(y)} nonzeros each), {epochs} epochs\n")
    print(f"{'optimizer':10} {'batch':>5}  {'train loss':>10}  {'test acc':>8}  {'s/epoch':>8}")
    for optimizer, batch, lr in (("sgd", 1, 0.1), ("adagrad", 1, 0.1), ("adam", 32, 0.01), ("nag", None, 5.0)):
        model = gd.fit("logistic", X[:cut], y[:cut], optimizer, batch_size=batch, epochs=epochs, lr=lr,
                       progress=False, random_state=0)
        acc = np.mean(model.predict(X[cut:]) == y[cut:])
        seconds = np.mean([h["seconds"] for h in model.history_])
        print(f"{optimizer:10} {batch or 'all':>5}  {model.history_[-1]['train_loss']:>10.4f}  {acc:>8.3f}  "
              f"{seconds:>8.4f}")


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
    if test is not None and args.loss != "squared":
        print(f"test accuracy {np.mean(model.predict(test[0]) == test[1]):.4f}")
    if args.out:
        np.savez(args.out, coef=model.coef_, intercept=model.intercept_, loss=args.loss,
                 classes=model.classes_ if model.classes_ is not None else np.zeros(0))
        print(f"model saved to {args.out}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gdfast", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    demo_args = commands.add_parser("demo", help="every rule fitting a small least-squares problem")
    demo_args.add_argument("--steps", type=int, default=500)
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
    if args.command == "train":
        args.batch_size = args.batch_size or None
        train(args)
        return
    steps = getattr(args, "steps", 500)
    if steps < 1:
        parser.error("--steps must be >= 1")
    demo(steps=steps)
    demo_fit()


if __name__ == "__main__":
    main()
