"""`python -m gdfast [demo]`: the rules, and each of them fitting a small least-squares problem.

The full demo (training on sparse data, Hogwild!, batch normalization, the survey's pictures) arrives with
the training issues; for now this shows every rule working through the public API.
"""
import argparse
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gdfast", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="demo", choices=["demo"])
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be >= 1")
    demo(steps=args.steps)


if __name__ == "__main__":
    main()
