"""Defaults measured: what ``gd.fit(loss, X, y)``, the estimators and the distributed methods reach with what
they are given by default, beside scikit-learn's defaults and candidate defaults, so that the project can choose
defaults that train well.

1. gd.fit("logistic") candidates, its defaults and its first defaults (5 epochs of full-batch GD at lr 0.01) against
   SGDClassifier(), SGDClassifier(loss="log_loss"), GDClassifier() and GDClassifier(loss="log_loss"), on the
   power-law set, digits, breast_cancer and the PyPI text set (bench/datasets.py): test log-loss and ROC-AUC
   (binary) or accuracy (digits), and the fit's seconds (one run; n_threads as given: gd.fit's default is every
   core on CSR data, Hogwild!). gd.fit("squared") candidates against SGDRegressor() and GDRegressor() on diabetes
   (test R^2), and on the power-law and PyPI sets with their 0/1 labels as targets (test ROC-AUC of the
   predictions: does the default train on sparse data too?). Every run takes random_state=0.
2. The distributed methods (gd.distributed.downpour, delay_tolerant_adagrad, easgd) on the README's example,
   make_classification(4000, 2^12), with their defaults but the learning rate (and a few other settings), on
   their default backend (threads): the training log-loss after their default 5 epochs on the README's 4000 rows,
   and the held-out log-loss of the same run on make_classification(5000, 2^12) split 4000 / 1000, beside serial
   Adagrad (gd.fit(..., "adagrad", batch_size=32, epochs=5, n_threads=1): the methods' batch and epochs) at the
   same rates. The reference is serial Adagrad at the rate of the grid with the lowest held-out loss; a setting
   qualifies when its training loss is within 1% of the reference's (lower is fine).
3. gd.hogwild.factorize on the README's example (500 x 200 ratings of an exact rank-10 matrix, 32k to fit, 8k
   held out) and on a noisy one (bench_hogwild's generator: 5000 x 1000, rank 10, noise sd 0.1, 100k ratings,
   10% held out): test RMSE after the default 10 epochs for SGD (the default rule) and serial Adagrad
   (n_threads=1) over lr x mu grids.

Printed and written to bench/results/defaults.md (printed only with --quick).

Run:  python bench/bench_defaults.py [--quick]
"""
import argparse
import functools
import os
import platform
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from timing import git_head, machine, write_result  # noqa: E402
from datasets import bundled, power_law, pypi_text  # noqa: E402
from bench_hogwild import ratings as noisy_ratings  # noqa: E402  (its noisy rank-10 ratings, 10% held out)

import sklearn  # noqa: E402
from sklearn.linear_model import SGDClassifier, SGDRegressor  # noqa: E402
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score  # noqa: E402

IT = gd.schedules.InverseTime
SK_RATE = dict(schedule=IT(power=0.25), lr=0.01)  # scikit-learn's SGDRegressor rate: eta0 / t^0.25 (k=1: (1+t))

# gd.fit("logistic", X, y, **options): (label, options); n_threads left out is gd.fit's default (every core).
LOGISTIC = [
    ("gd.fit() defaults (adam, b32, lr 0.01, 5 ep)", {}),
    ("gd.fit before: batch GD (sgd), lr 0.01, 5 epochs", dict(optimizer="sgd", batch_size=None)),
    ("sgd, b1, optimal, alpha 1e-4, 5 ep", dict(optimizer="sgd", batch_size=1, schedule="optimal", alpha=1e-4)),
    ("sgd, b1, optimal, alpha 1e-4, 10 ep", dict(optimizer="sgd", batch_size=1, schedule="optimal", alpha=1e-4,
                                                 epochs=10)),
    ("sgd, b1, optimal, alpha 1e-5, 5 ep", dict(optimizer="sgd", batch_size=1, schedule="optimal", alpha=1e-5)),
    ("sgd, b1, 0.01/(1+t)^0.25, alpha 1e-4, 5 ep", dict(optimizer="sgd", batch_size=1, alpha=1e-4, **SK_RATE)),
    ("adagrad, b1, lr 0.1, 5 ep", dict(optimizer="adagrad", batch_size=1, lr=0.1)),
    ("adagrad, b1, lr 0.5, 5 ep", dict(optimizer="adagrad", batch_size=1, lr=0.5)),
    ("adagrad, b1, lr 1.0, 5 ep", dict(optimizer="adagrad", batch_size=1, lr=1.0)),
    ("adam, b1, lr 0.01, 5 ep", dict(optimizer="adam", batch_size=1, lr=0.01)),
    ("adam, b1, lr 0.01, 3 ep", dict(optimizer="adam", batch_size=1, lr=0.01, epochs=3)),
    ("adam, b1, lr 0.003, 5 ep", dict(optimizer="adam", batch_size=1, lr=0.003)),
    ("adam, b32, lr 0.01, 5 ep", dict(optimizer="adam", batch_size=32, lr=0.01)),
    ("sgd, b1, optimal, alpha 1e-5, 5 ep, 1 thread", dict(optimizer="sgd", batch_size=1, schedule="optimal",
                                                          alpha=1e-5, n_threads=1)),
    ("adagrad, b1, lr 0.5, 5 ep, 1 thread", dict(optimizer="adagrad", batch_size=1, lr=0.5, n_threads=1)),
    ("adam, b1, lr 0.01, 5 ep, 1 thread", dict(optimizer="adam", batch_size=1, lr=0.01, n_threads=1)),
]
SQUARED = [
    ("gd.fit() defaults (sgd, b1, lr 0.01, 5 ep)", {}),
    ("gd.fit before: batch GD (sgd), lr 0.01, 5 epochs", dict(optimizer="sgd", batch_size=None)),
    ("sgd, b1, 0.01/(1+t)^0.25, alpha 1e-4, 5 ep", dict(optimizer="sgd", batch_size=1, alpha=1e-4, **SK_RATE)),
    ("sgd, b1, 0.01/(1+t)^0.25, alpha 1e-4, 10 ep", dict(optimizer="sgd", batch_size=1, alpha=1e-4, epochs=10,
                                                        **SK_RATE)),
    ("sgd, b1, lr 0.01 constant, 5 ep", dict(optimizer="sgd", batch_size=1, lr=0.01)),
    ("sgd, b1, optimal, alpha 1e-4, 5 ep", dict(optimizer="sgd", batch_size=1, schedule="optimal", alpha=1e-4)),
    ("adagrad, b1, lr 0.5, 5 ep", dict(optimizer="adagrad", batch_size=1, lr=0.5)),
    ("adagrad, b1, lr 5, 5 ep", dict(optimizer="adagrad", batch_size=1, lr=5.0)),
    ("adam, b1, lr 0.01, 5 ep", dict(optimizer="adam", batch_size=1, lr=0.01)),
    ("adam, b1, lr 1.0, 5 ep", dict(optimizer="adam", batch_size=1, lr=1.0)),
    ("sgd, b1, 0.01/(1+t)^0.25, alpha 1e-4, 5 ep, 1 thread", dict(optimizer="sgd", batch_size=1, alpha=1e-4,
                                                                  n_threads=1, **SK_RATE)),
]


def fitted(spec, X, y, loss):
    """(model, seconds): spec is a callable making an estimator, or gd.fit's options."""
    start = time.perf_counter()
    if callable(spec):
        model = spec().fit(X, y)
    else:
        model = gd.fit(loss, X, y, progress=False, random_state=0, **spec)
    return model, time.perf_counter() - start


def classification_cell(model, ds):
    """'log-loss / AUC' (binary) or 'log-loss / accuracy' (digits); '-' for a model without probabilities."""
    Xt, yt = ds["X_test"], ds["y_test"]
    try:
        proba = model.predict_proba(Xt)
    except AttributeError:
        proba = None
    if proba is not None and not np.isfinite(proba).all():
        return "diverged", None
    binary = len(np.unique(ds["y_train"])) == 2
    ll = None if proba is None else log_loss(yt, proba, labels=np.unique(ds["y_train"]))
    second = roc_auc_score(yt, model.decision_function(Xt)) if binary else accuracy_score(yt, model.predict(Xt))
    return f"{'-' if ll is None else f'{ll:.4f}'} / {second:.4f}", (ll, second)


def regression_cell(model, ds):
    """'R^2' for a real target; 'AUC' of the predictions for 0/1 labels taken as targets."""
    pred = model.predict(ds["X_test"])
    if not np.isfinite(pred).all():
        return "diverged", None
    if ds["task"] == "regression":
        value = r2_score(ds["y_test"], pred)
    else:
        value = roc_auc_score(ds["y_test"], pred)
    return f"{value:.4f}", value


def estimator_table(title, rows, sets, loss, cell):
    """Rows x data sets: metric cell and seconds; returns (lines, {(row, set): (value, seconds)})."""
    names = [ds["name"] for ds in sets]
    lines = [f"### {title}", "", "| estimator | " + " | ".join(f"{n} | s" for n in names) + " |",
             "|---|" + "---:|---:|" * len(names)]
    values = {}
    for label, spec in rows:
        cells = []
        for ds in sets:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model, seconds = fitted(spec, ds["X_train"], ds["y_train"], loss)
                text, value = cell(model, ds)
            values[(label, ds["name"])] = (value, seconds)
            cells += [text, f"{seconds:.2f}" if seconds >= 0.1 else f"{seconds:.3f}"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    return lines, values


def logistic_verdict(values, sets, base="scikit-learn SGDClassifier(loss='log_loss')"):
    """Which gd.fit candidates reach scikit-learn's log_loss default's test log-loss on the PyPI set in no more
    time, and how they fare against it on the other sets."""
    lines = ["", f"Candidates at least as good as {base} on the PyPI text (test log-loss <= its, seconds <= its), "
                 "and their test log-loss / its on each set:", ""]
    ref_ll, ref_s = values[(base, "pypi text")][0][0], values[(base, "pypi text")][1]
    for label, _ in LOGISTIC:
        v, s = values[(label, "pypi text")]
        if v is None or v[0] is None or not (v[0] <= ref_ll and s <= ref_s):
            continue
        rel = []
        for ds in sets:
            mine, theirs = values[(label, ds["name"])][0], values[(base, ds["name"])][0]
            rel.append(f"{ds['name']} {mine[0] / theirs[0]:.2f}" if mine and theirs else f"{ds['name']} n/a")
        lines.append(f"- {label}: PyPI {v[0]:.4f} in {s:.2f} s (scikit-learn {ref_ll:.4f} in {ref_s:.2f} s); "
                     + ", ".join(rel))
    if len(lines) == 3:
        lines.append("- none")
    return lines


def squared_sets(sets_cls, diabetes):
    """diabetes, and the sparse classification sets with their 0/1 labels as regression targets."""
    out = [diabetes]
    for ds in sets_cls:
        if sp.issparse(ds["X_train"]):
            out.append(dict(ds, name=f"{ds['name']} (0/1 targets, AUC)",
                            y_train=ds["y_train"].astype(np.float64), y_test=ds["y_test"]))
    return out


# --- 2. the distributed methods --------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _readme_data(n_rows):
    return gd.datasets.make_classification(n_rows=n_rows, n_features=2 ** 12)


def _train_test(f):
    """(training log-loss on the README's 4000 rows, held-out log-loss of a run on the 5000-row set, seconds of
    the README run)."""
    X, y = _readme_data(4000)
    X5, y5 = _readme_data(5000)
    start = time.perf_counter()
    m = f(X, y)
    seconds = time.perf_counter() - start
    m5 = f(X5[:4000], y5[:4000])
    train = log_loss(y, m.predict_proba(X)[:, 1])
    test = log_loss(y5[4000:], m5.predict_proba(X5[4000:])[:, 1])
    return train, test, seconds


def distributed(quick):
    D = gd.distributed
    serial = ("serial Adagrad (gd.fit, batch 32, 5 ep, 1 thread)",
              lambda lr: lambda X, y: gd.fit("logistic", X, y, "adagrad", lr=lr, batch_size=32, epochs=5,
                                             n_threads=1, random_state=0, progress=False))
    adagrad_like = [
        serial,
        ("downpour: defaults (4 replicas, fetch/push every 5, local_lr 0.01), server lr",
         lambda lr: lambda X, y: D.downpour("logistic", X, y, lr=lr, random_state=0)),
        ("downpour: local_lr = lr", lambda lr: lambda X, y: D.downpour("logistic", X, y, lr=lr, local_lr=lr,
                                                                        random_state=0)),
        ("downpour: fetch/push every step", lambda lr: lambda X, y: D.downpour("logistic", X, y, lr=lr, n_fetch=1,
                                                                                n_push=1, random_state=0)),
        ("delay_tolerant_adagrad: defaults (4 replicas), lr",
         lambda lr: lambda X, y: D.delay_tolerant_adagrad("logistic", X, y, lr=lr, random_state=0)),
        ("delay_tolerant_adagrad: 8 replicas (README), lr",
         lambda lr: lambda X, y: D.delay_tolerant_adagrad("logistic", X, y, lr=lr, n_replicas=8, random_state=0)),
        ("easgd: Adagrad workers (async, tau 1, alpha 0.9/4), lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, optimizer="adagrad", random_state=0)),
        ("easgd: Adagrad workers, sync, lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, optimizer="adagrad", mode="sync",
                                         random_state=0)),
    ]
    sgd_like = [
        ("serial SGD (gd.fit, batch 32, 5 ep, 1 thread)",
         lambda lr: lambda X, y: gd.fit("logistic", X, y, "sgd", lr=lr, batch_size=32, epochs=5, n_threads=1,
                                        random_state=0, progress=False)),
        ("easgd: SGD workers (async, tau 1, alpha 0.9/4), lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, optimizer="sgd", random_state=0)),
        ("easgd: SGD workers, sync, lr", lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, optimizer="sgd",
                                                                        mode="sync", random_state=0)),
        ("EAMSGD: tau 4, momentum 0.9 (README: 0.99), lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, tau=4, momentum=0.9, random_state=0)),
        ("EAMSGD: tau 1, momentum 0.9, lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, momentum=0.9, random_state=0)),
        ("EAMSGD: tau 4, momentum 0.99 (README), lr",
         lambda lr: lambda X, y: D.easgd("logistic", X, y, lr=lr, tau=4, momentum=0.99, random_state=0)),
    ]
    lrs_a = (0.01, 0.1, 0.3, 0.5, 0.7, 1.0, 2.0, 3.0) if not quick else (0.01, 0.5, 2.0)
    lrs_s = (0.01, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0) if not quick else (0.01, 1.0, 10.0)
    lines = ["## 2. Distributed methods on the README's example (make_classification(4000, 2^12), logistic, "
             "5 epochs, batch 32, local backend)", "",
             "Each cell: training log-loss on the README's 4000 rows / held-out log-loss (the same run on a 5000-row "
             "set, 4000 fitted, 1000 held out) / seconds of the README run.", ""]
    results = {}
    for title, group, lrs in (("Adagrad server methods", adagrad_like, lrs_a),
                              ("EASGD (workers step with SGD or Nesterov momentum)", sgd_like, lrs_s)):
        lines += [f"### {title}", "", "| method | " + " | ".join(f"lr {lr}" for lr in lrs) + " |",
                  "|---|" + "---|" * len(lrs)]
        for label, make in group:
            cells = []
            for lr in lrs:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    train, test, seconds = _train_test(make(lr))
                results[(label, lr)] = (train, test)
                cells.append(f"{train:.4f} / {test:.4f} / {seconds:.2f}")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        lines.append("")
    # the reference and what qualifies
    ref_lr = min(lrs_a, key=lambda lr: results[(serial[0], lr)][1])
    ref_train, ref_test = results[(serial[0], ref_lr)]
    lines += [f"Reference: serial Adagrad at lr {ref_lr} (lowest held-out loss of its grid): training {ref_train:.4f}, "
              f"held-out {ref_test:.4f}. Within 1% of its training loss (<= {1.01 * ref_train:.4f}), the setting "
              "with the lowest held-out loss, per method:", ""]
    for label, _ in adagrad_like[1:] + sgd_like[1:]:
        lrs = lrs_a if any(label == a for a, _ in adagrad_like) else lrs_s
        ok = [lr for lr in lrs if results[(label, lr)][0] <= 1.01 * ref_train]
        best_train = min(lrs, key=lambda lr: results[(label, lr)][0])
        if ok:
            lr = min(ok, key=lambda lr: results[(label, lr)][1])
            lines.append(f"- {label}: lr {lr}: {results[(label, lr)][0]:.4f} / {results[(label, lr)][1]:.4f}")
        else:
            lines.append(f"- {label}: none; lowest training loss {results[(label, best_train)][0]:.4f} at lr "
                         f"{best_train} ({results[(label, best_train)][0] / ref_train - 1:+.0%} of the reference)")
    return lines


# --- 3. factorize ----------------------------------------------------------------------------------------

def readme_ratings():
    """The README's Hogwild! example: 40,000 entries of an exact rank-10 500 x 200 matrix, 80% to fit."""
    rng = np.random.default_rng(0)
    U, V = rng.normal(0, 0.5, (500, 10)), rng.normal(0, 0.5, (200, 10))
    u, v = np.divmod(rng.choice(500 * 200, 40_000, replace=False), 200)
    r = np.sum(U[u] * V[v], axis=1)
    return (sp.csr_matrix((r[:32_000], (u[:32_000], v[:32_000])), shape=(500, 200)),
            sp.csr_matrix((r[32_000:], (u[32_000:], v[32_000:])), shape=(500, 200)))


def factorize(quick):
    examples = [("README: 500 x 200, exact rank 10, 32k / 8k entries", readme_ratings()),
                ("noisy: 5000 x 1000, rank 10 + noise sd 0.1, 100k entries, 10% held out",
                 noisy_ratings(1000, 200, 20_000) if quick else noisy_ratings(5000, 1000, 100_000))]
    grids = [("sgd (default rule, every core)", "sgd", None, (0.01, 0.02, 0.05, 0.1)),
             ("adagrad, 1 thread (serial)", "adagrad", 1, (0.03, 0.1, 0.3, 1.0))]
    mus = (0.05, 0.02, 0.0)
    lines = ["## 3. gd.hogwild.factorize (rank 10, default 10 epochs; first defaults: sgd, lr 0.01, mu 0.05; now "
             "lr 0.1, mu 0.02)", "",
             "Each cell: test RMSE after 10 epochs / seconds.", ""]
    for title, (M, T) in examples:
        lines += [f"### {title}", "", "| rule | mu | " + " | ".join(f"lr {lr}" for lr in grids[0][3]) +
                  " | rule | " + " | ".join(f"lr {lr}" for lr in grids[1][3]) + " |",
                  "|---|---:|" + "---:|" * len(grids[0][3]) + "---|" + "---:|" * len(grids[1][3])]
        best = {}
        for mu in mus:
            cells = []
            for label, rule, threads, lrs in grids:
                if rule == "adagrad":
                    cells.append(label)
                for lr in lrs:
                    start = time.perf_counter()
                    f = gd.hogwild.factorize(M, 10, rule, mu=mu, lr=lr, n_threads=threads, test=T, random_state=0,
                                             progress=False)
                    seconds = time.perf_counter() - start
                    rmse = f.history_[-1]["test_rmse"]
                    best.setdefault(rule, []).append((rmse, lr, mu))
                    cells.append(f"{rmse:.4f} / {seconds:.2f}")
            lines.append(f"| {grids[0][0]} | {mu} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
        ref = min(best["adagrad"])
        ok = sorted((r for r in best["sgd"] if r[0] <= 1.01 * ref[0]), key=lambda r: (-r[1], r[0]))
        lines += ["", f"Serial Adagrad's best: {ref[0]:.4f} (lr {ref[1]}, mu {ref[2]}); SGD settings within 1%: "
                  + (", ".join(f"lr {r[1]} mu {r[2]}: {r[0]:.4f}" for r in sorted(ok)) if ok else "none") +
                  f"; SGD's best {min(best['sgd'])[0]:.4f} (lr {min(best['sgd'])[1]}, mu {min(best['sgd'])[2]}).", ""]
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (60k PyPI rows, 20k power-law rows), printed")
    ap.add_argument("--part", type=int, choices=(1, 2, 3), help="only this part")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    lines = ["# Defaults measured", "", f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, numpy {np.__version__}, "
             f"scikit-learn {sklearn.__version__}; load average at start {load0:.2f}", ""]
    if args.part in (None, 1):
        digits, breast, diabetes = bundled()
        pypi = pypi_text(n_rows=60_000) if args.quick else pypi_text()
        plaw = power_law(20_000) if args.quick else power_law()
        sets = [plaw, digits, breast, pypi]
        lines += ["## 1. gd.fit candidates beside scikit-learn's defaults", ""]
        lines += [f"- {ds['name']}: {ds['description']}" for ds in sets + [diabetes]] + [""]
        classifiers = [
            ("scikit-learn SGDClassifier()", lambda: SGDClassifier(random_state=0)),
            ("scikit-learn SGDClassifier(loss='log_loss')", lambda: SGDClassifier(loss="log_loss", random_state=0)),
            ("GDClassifier()", lambda: gd.GDClassifier(random_state=0)),
            ("GDClassifier(loss='log_loss')", lambda: gd.GDClassifier(loss="log_loss", random_state=0)),
        ] + LOGISTIC
        t, values = estimator_table("Logistic loss: test log-loss / ROC-AUC (digits: log-loss / accuracy), and "
                                    "seconds of the fit", classifiers, sets, "logistic", classification_cell)
        lines += t + logistic_verdict(values, sets) + [""]
        regressors = [("scikit-learn SGDRegressor()", lambda: SGDRegressor(random_state=0)),
                      ("GDRegressor()", lambda: gd.GDRegressor(random_state=0))] + SQUARED
        t, _ = estimator_table("Squared loss: test R^2 (diabetes) or ROC-AUC of the predictions (0/1 targets), and "
                               "seconds of the fit", regressors, squared_sets([plaw, pypi], diabetes), "squared",
                               regression_cell)
        lines += t + [""]
    if args.part in (None, 2):
        lines += distributed(args.quick) + [""]
    if args.part in (None, 3):
        lines += factorize(args.quick)
    lines.append(f"- load average at end {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))
    write_result("defaults.md" if args.part is None else f"defaults-part{args.part}.md", lines, args.quick)


if __name__ == "__main__":
    main()
