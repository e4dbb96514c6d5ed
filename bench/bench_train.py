"""Logistic regression on sparse data: gdfast.fit against scikit-learn's SGDClassifier, same process.

Data: gdfast.datasets.make_classification (200k training + 20k test rows, 2^20 features, power-law feature
frequencies, ~30 nonzeros per row, float64), or an svmlight file (--svm FILE, with --test FILE or a 10% split).

* SGD, one thread: gdfast ``fit("logistic", optimizer="sgd", batch_size=1, schedule=Optimal(alpha))`` against
  ``SGDClassifier(loss="log_loss", learning_rate="optimal", alpha=alpha, tol=None)``: the same loss, penalty,
  step sizes and number of epochs, both shuffling every epoch, both shrinking every weight by the penalty at
  every step (gdfast scales W, Bottou's trick). Time per epoch is the difference between runs of EPOCHS and of
  1 epoch, divided by EPOCHS - 1 (so set-up costs cancel), best of 3 rounds taking the peers in turn; and test
  log-loss after EPOCHS epochs.
* Mini-batch curves: Adam and Adagrad with batches of 64 and 256, the test log-loss after each epoch.

Printed and written to bench/results/train.md (printed only with --quick). Without scikit-learn
(``pip install -e ".[bench]"``) its row reads n/a.

Run:  python bench/bench_train.py                 # a few minutes
      python bench/bench_train.py --quick         # 50k rows, fewer epochs, printed only
      python bench/bench_train.py --svm train.svm [--test test.svm]
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast.datasets import make_classification  # noqa: E402
from timing import git_head, machine, optional_import, write_result  # noqa: E402

sklearn = optional_import("sklearn")
if sklearn is not None:
    from sklearn.linear_model import SGDClassifier
    from sklearn.metrics import log_loss
else:
    def log_loss(y, p):
        """Mean log-loss of P(y = the larger label) = p, as sklearn.metrics.log_loss computes it."""
        p = np.clip(p, np.finfo(p.dtype).eps, 1 - np.finfo(p.dtype).eps)
        return -np.mean(np.where(y == np.max(y), np.log(p), np.log1p(-p)))

ALPHA = 1e-5


def load(args):
    if args.svm is None:
        n = 55_000 if args.quick else 220_000
        X, y = make_classification(n_rows=n)
        cut = n * 10 // 11
        return X[:cut], y[:cut], X[cut:], y[cut:], f"generated: {cut} x 2^20 train, {n - cut} test, {X.nnz / n:.1f} nnz/row"
    from sklearn.datasets import load_svmlight_file
    X, y = load_svmlight_file(args.svm)
    if args.test:
        Xt, yt = load_svmlight_file(args.test, n_features=X.shape[1])
    else:
        cut = X.shape[0] * 9 // 10
        X, y, Xt, yt = X[:cut], y[:cut], X[cut:], y[cut:]
    return X, y, Xt, yt, f"{args.svm}: {X.shape[0]} x {X.shape[1]} train, {Xt.shape[0]} test"


def sklearn_fit(X, y, epochs):
    clf = SGDClassifier(loss="log_loss", alpha=ALPHA, learning_rate="optimal", max_iter=epochs, tol=None,
                        shuffle=True, random_state=0)
    start = time.perf_counter()
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # max_iter reached: wanted here
            clf.fit(X, y)
    return time.perf_counter() - start, clf.predict_proba


def gdfast_fit(X, y, epochs):
    start = time.perf_counter()
    model = gd.fit("logistic", X, y, "sgd", batch_size=1, epochs=epochs, alpha=ALPHA,
                   schedule=gd.schedules.Optimal(ALPHA), random_state=0, progress=False)
    return time.perf_counter() - start, model.predict_proba


def per_epoch(fits, X, y, epochs, rounds=3):
    """{name: (seconds per epoch, predict_proba after `epochs`)}: (T(epochs) - T(1)) / (epochs - 1), each T the
    best of `rounds` rounds that take the peers in turn (the machine's speed drifts; noise only ever adds time)."""
    best = {name: [np.inf, np.inf, None] for name in fits}
    for _ in range(rounds):
        for name, fit in fits.items():
            t1, _ = fit(X, y, 1)
            tn, proba = fit(X, y, epochs)
            best[name] = [min(best[name][0], t1), min(best[name][1], tn), proba]
    return {name: ((tn - t1) / (epochs - 1), proba) for name, (t1, tn, proba) in best.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--svm", help="an svmlight training file")
    ap.add_argument("--test", help="its test file")
    args = ap.parse_args()
    gd.set_num_threads(1)
    epochs = 3 if args.quick else 5
    X, y, Xt, yt, what = load(args)
    nnz = X.nnz
    lines = ["# gdfast training benchmark: logistic regression on sparse data", "",
             f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, "
             f"scikit-learn {sklearn.__version__ if sklearn else 'not installed'}, "
             f"numpy {np.__version__}; one thread",
             f"- data: {what}; alpha = {ALPHA}", "",
             f"## SGD, {epochs} epochs, learning rate 'optimal'", "",
             "| | s per epoch | M nonzeros/s | test log-loss |", "|---|---:|---:|---:|"]
    fits = {"gdfast fit(sgd)": gdfast_fit}
    if sklearn is not None:
        fits = {"scikit-learn SGDClassifier": sklearn_fit, **fits}
    else:
        lines.append("| scikit-learn SGDClassifier | n/a | n/a | n/a |")
    results = per_epoch(fits, X, y, epochs)
    for name, (seconds, proba) in results.items():
        lines.append(f"| {name} | {seconds:.3f} | {nnz / seconds / 1e6:.1f} | {log_loss(yt, proba(Xt)[:, 1]):.4f} |")
        print(lines[-1], flush=True)
    results = {name: seconds for name, (seconds, _) in results.items()}
    if sklearn is not None:
        ratio = results["scikit-learn SGDClassifier"] / results["gdfast fit(sgd)"]
        lines += ["", f"gdfast is {ratio:.2f}x faster per epoch."]
    lines += ["", "## Mini-batch curves: test log-loss after each epoch", ""]
    curves = {}
    for rule, lr in (("adam", 1e-3), ("adagrad", 0.1)):
        for batch in (64, 256):
            model = gd.fit("logistic", X, y, rule, batch_size=batch, epochs=2 * epochs, lr=lr, alpha=ALPHA,
                           validation_data=(Xt, yt), random_state=0, progress=False)
            curves[f"{rule} lr={lr} batch={batch}"] = model.history_
            print(rule, batch, [round(h["val_loss"], 4) for h in model.history_], flush=True)
    names = list(curves)
    lines += ["| epoch | " + " | ".join(names) + " |", "|---:|" + "---:|" * len(names)]
    for e in range(2 * epochs):
        lines.append(f"| {e + 1} | " + " | ".join(f"{curves[n][e]['val_loss']:.4f}" for n in names) + " |")
    lines.append("")
    lines.append("Seconds per epoch: " + ", ".join(
        f"{n} {np.median([h['seconds'] for h in curves[n]]):.3f}" for n in names))
    print("\n".join(lines))
    write_result("train.md", lines, args.quick)


if __name__ == "__main__":
    sys.exit(main())
