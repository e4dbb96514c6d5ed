"""gdfast's scikit-learn estimators against scikit-learn's own: GDClassifier and SGDClassifier with the same
parameters, per loss x penalty, seconds per epoch and the test metric, in one process, taken in turn.

Data (bench/datasets.py): the PyPI text set (~709k training rows of hashed name + summary, 2^20 features, ~9
nonzeros per row, 1.7% positive: the package is among the 15000 most downloaded) and the power-law set
(gd.datasets.make_classification(200000, 2^20), ~30 nonzeros per row, 160k training rows).

Settings: losses hinge, log_loss, modified_huber, squared_hinge, perceptron x penalties l2, l1, elasticnet (and
None for hinge and log_loss), each with max_iter=5, tol=None, shuffle=True, random_state=0 and scikit-learn's
other defaults (alpha 1e-4, the "optimal" rate, l1_ratio 0.15). Peers, in ROUNDS interleaved rounds:

* scikit-learn's SGDClassifier;
* gdfast 1t: GDClassifier with the same parameters: optimizer "sgd", batch_size 1, n_threads 1, scikit-learn's
  algorithm in C (csrc/plain_sgd.h);
* gdfast T1: the same on gdfast's own epoch loop (gd.Trainer, csrc/linear.h: it loads the next examples' rows and
  weights ahead), reached by passing schedule=gd.schedules.Optimal(alpha) (the same rate); L2 or no penalty only;
* gdfast 2t: n_threads=2, Hogwild! on the Trainer path (L2 or no penalty: the L1 and elastic-net penalties
  and averaging are scikit-learn's SGD's only and raise ValueError there, read n/a).

Seconds per epoch = the fit's wall time / 5 (the fit's own setup, validation and per-epoch work included, as a
user sees it), the median of the rounds; ratio = scikit-learn's seconds / gdfast's. Metrics on the held-out
rows: ROC-AUC of decision_function for every loss (the sensible one at 1.7% positives), log-loss of
predict_proba for log_loss and modified_huber. "same metric": AUC no more than 0.005 below scikit-learn's.
The project's goal: one thread >= 1.5x scikit-learn per epoch at the same metric, every core (2 here) >= 3x.

Then the profile, for a few settings: where an epoch's time goes, from the C loop run alone
(gdfast.linear.plain_sgd's PlainSGD.epoch on the estimator's data: shuffled order, the same in row order, i.e.
without the random-access memory latency, and without the all-ones sample weights the estimator passes), the
Trainer's C epochs (its history) and its setup (Hogwild!'s hot features).

Printed and written to bench/results/sklearn.md (printed only with --quick).

Run:  python bench/bench_sklearn.py [--quick]
"""
import argparse
import os
import platform
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast import _kernels  # noqa: E402
from gdfast.linear import losses, plain_sgd  # noqa: E402
from timing import NOISY, git_head, machine, write_result  # noqa: E402
from datasets import power_law, pypi_text  # noqa: E402

import sklearn  # noqa: E402
from sklearn.linear_model import SGDClassifier  # noqa: E402
from sklearn.metrics import log_loss, roc_auc_score  # noqa: E402

LOSSES = ("hinge", "log_loss", "modified_huber", "squared_hinge", "perceptron")
PENALTIES = ("l2", "l1", "elasticnet")
WITH_NONE = ("hinge", "log_loss")
EPOCHS = 5
ALPHA = 1e-4
PROBABILISTIC = ("log_loss", "modified_huber")
PROFILED = (("hinge", "l2"), ("log_loss", "l2"), ("log_loss", "elasticnet"))
PEERS = ("sklearn", "gdfast 1t", "gdfast T1", "gdfast 2t")


def settings():
    for loss in LOSSES:
        for penalty in PENALTIES + ((None,) if loss in WITH_NONE else ()):
            yield loss, penalty


def make(peer, loss, penalty):
    """A new estimator of a peer for (loss, penalty)."""
    common = dict(loss=loss, penalty=penalty, alpha=ALPHA, max_iter=EPOCHS, tol=None, shuffle=True, random_state=0)
    if peer == "sklearn":
        return SGDClassifier(**common)
    if peer == "gdfast 1t":
        return gd.GDClassifier(**common)
    if peer == "gdfast T1":
        return gd.GDClassifier(**common, schedule=gd.schedules.Optimal(ALPHA))
    return gd.GDClassifier(**common, n_threads=2)


def timed_fit(est, X, y):
    """Seconds of est.fit(X, y), or None where the setting is refused (ValueError: not on this path)."""
    start = time.perf_counter()
    try:
        est.fit(X, y)
    except ValueError as e:
        if "scikit-learn's SGD's only" in str(e):
            return None
        raise
    return time.perf_counter() - start


def metrics(est, loss, X, y):
    out = {"auc": roc_auc_score(y, est.decision_function(X))}
    if loss in PROBABILISTIC:
        out["logloss"] = log_loss(y, est.predict_proba(X)[:, 1], labels=[0, 1])
    return out


def measure(ds, rounds):
    """{(loss, penalty): {peer: (median s per epoch, metrics) or None}}, peers taken in turn each round."""
    X, y, Xt, yt = ds["X_train"], ds["y_train"], ds["X_test"], ds["y_test"]
    results = {}
    for loss, penalty in settings():
        times = {p: [] for p in PEERS}
        last = {}
        for _ in range(rounds):
            for peer in PEERS:
                if times[peer] is None:
                    continue
                est = make(peer, loss, penalty)
                s = timed_fit(est, X, y)
                if s is None:
                    times[peer] = None
                    continue
                times[peer].append(s / EPOCHS)
                last[peer] = est
        row = {}
        for peer in PEERS:
            if times[peer] is None:
                row[peer] = None
                continue
            t = times[peer]
            if max(t) > 1.5 * min(t):
                NOISY.append(f"{ds['name']} {loss} {penalty} {peer}: " + ", ".join(f"{x:.3f}" for x in t))
            row[peer] = (float(np.median(t)), metrics(last[peer], loss, Xt, yt))
        results[(loss, penalty)] = row
        print(ds["name"], loss, penalty, {p: None if v is None else (round(v[0], 4), {k: round(m, 4) for k, m in
                                                                                      v[1].items()})
                                          for p, v in row.items()}, flush=True)
    return results


def _fmt_s(cell):
    return "n/a" if cell is None else f"{cell[0]:.3f}"


def _ratio(base, cell):
    return None if cell is None else base[0] / cell[0]


def _fmt_ratio(r):
    return "n/a" if r is None else f"{r:.2f}x"


def _same(base, cell):
    """gdfast's metric is scikit-learn's: AUC no more than 0.005 below."""
    return cell is not None and cell[1]["auc"] >= base[1]["auc"] - 0.005


def table(ds, results):
    lines = [f"### {ds['name']}: {ds['description']}", "",
             "| loss | penalty | sklearn s/epoch | gdfast 1t | 1t ratio | gdfast T1 | T1 ratio | gdfast 2t | 2t ratio "
             "| AUC sklearn / 1t / T1 / 2t | log-loss sklearn / 1t / T1 / 2t |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for (loss, penalty), row in results.items():
        base = row["sklearn"]
        auc = " / ".join("n/a" if row[p] is None else f"{row[p][1]['auc']:.4f}" for p in PEERS)
        ll = (" / ".join("n/a" if row[p] is None else f"{row[p][1]['logloss']:.4f}" for p in PEERS)
              if loss in PROBABILISTIC else "")
        cells = [loss, str(penalty), _fmt_s(base)]
        for p in PEERS[1:]:
            cells += [_fmt_s(row[p]), _fmt_ratio(_ratio(base, row[p]))]
        lines.append("| " + " | ".join(cells + [auc, ll]) + " |")
    return lines


def goal_lines(all_results):
    """The goal check: how many settings reach it, and the geometric means of the ratios."""
    lines = ["", "### The goal: 1 thread >= 1.5x, every core (2) >= 3x scikit-learn per epoch at the same metric", "",
             "| data | peer | settings run | geometric mean ratio | min / max ratio | >= target at the same metric |",
             "|---|---|---:|---:|---:|---:|"]
    for name, results in all_results.items():
        for peer, target in (("gdfast 1t", 1.5), ("gdfast T1", 1.5), ("gdfast 2t", 3.0)):
            ratios, met = [], 0
            for row in results.values():
                r = _ratio(row["sklearn"], row[peer])
                if r is None:
                    continue
                ratios.append(r)
                met += r >= target and _same(row["sklearn"], row[peer])
            if not ratios:
                continue
            gm = float(np.exp(np.mean(np.log(ratios))))
            lines.append(f"| {name} | {peer} (target {target}x) | {len(ratios)} | {gm:.2f}x | {min(ratios):.2f}x / "
                         f"{max(ratios):.2f}x | {met} of {len(ratios)} |")
    return lines


def _median_s(fn, rounds):
    ts = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - start)
    return float(np.median(ts))


def profile(ds, rounds):
    """Where an epoch goes, per profiled setting: the fits per epoch, the C loop alone (shuffled; in row order;
    without sample weights), the Trainer's C epochs and its setup at 1 and 2 threads."""
    X, y = ds["X_train"], ds["y_train"]
    n, d = X.shape
    arrays, _, _, _ = losses.features(X)
    y_pm = np.where(y == 1, 1.0, -1.0).astype(X.dtype)
    lines = [f"#### {ds['name']}", "",
             "| loss | penalty | sklearn fit | sklearn fit, shuffle=False | gdfast 1t fit | C loop, shuffled | "
             "C loop, no weights | C loop, row order | outside the C loop | random-access share | T1 C epoch | "
             "T1 setup | 2t C epoch | 2t setup |", "|---|---|" + "---:|" * 12]
    for loss, penalty in PROFILED:
        common = dict(loss=loss, penalty=penalty, alpha=ALPHA, max_iter=EPOCHS, tol=None, random_state=0)
        sk = _median_s(lambda: SGDClassifier(**common, shuffle=True).fit(X, y), rounds) / EPOCHS
        sk_seq = _median_s(lambda: SGDClassifier(**common, shuffle=False).fit(X, y), rounds) / EPOCHS
        gd1 = _median_s(lambda: gd.GDClassifier(**common).fit(X, y), rounds) / EPOCHS
        est = gd.GDClassifier(**common)
        rng = np.random.default_rng(0)

        def c_loop(weight, shuffled):
            """The median seconds of EPOCHS epochs of PlainSGD over the data (as fit_one sets it up)."""
            data = losses.data(arrays, y_pm, n, d, weight)
            w = np.zeros(d, X.dtype)
            q = np.zeros_like(w) if penalty in ("l1", "elasticnet") else None
            sgd = _kernels.PlainSGD(plain_sgd.settings(est, loss, 1.0, 1.0, 0.01, True), w, None, q, 0.0, 0.0, 1.0,
                                    0.0, 0.0)
            ts = []
            for _ in range(EPOCHS):
                order = rng.permutation(n) if shuffled else np.arange(n, dtype=np.int64)
                start = time.perf_counter()
                sgd.epoch(data, order)
                ts.append(time.perf_counter() - start)
            return float(np.median(ts))

        shuffled = float(np.median([c_loop(np.ones(n), True) for _ in range(rounds)]))
        no_weight = float(np.median([c_loop(None, True) for _ in range(rounds)]))
        in_order = float(np.median([c_loop(np.ones(n), False) for _ in range(rounds)]))
        trainer_cells = []
        for nt in (1, 2):
            epochs, setups = [], []
            for _ in range(rounds):
                try:
                    e = gd.GDClassifier(**common, n_threads=nt, schedule=gd.schedules.Optimal(ALPHA))
                    start = time.perf_counter()
                    e.fit(X, y)
                    wall = time.perf_counter() - start
                except ValueError:
                    break
                h = [entry["seconds"] for entry in e.model_.history_]
                epochs.append(float(np.median(h)))
                setups.append(wall - sum(h))
            trainer_cells += ([f"{np.median(epochs):.3f}", f"{np.median(setups):.3f}"] if epochs else ["n/a", "n/a"])
        lines.append(f"| {loss} | {penalty} | {sk:.3f} | {sk_seq:.3f} | {gd1:.3f} | {shuffled:.3f} | "
                     f"{no_weight:.3f} | {in_order:.3f} | {gd1 - shuffled:.3f} | "
                     f"{(shuffled - in_order) / gd1:.0%} | " + " | ".join(trainer_cells) + " |")
        print(lines[-1], flush=True)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (60k PyPI rows, 20k power-law rows), printed")
    args = ap.parse_args()
    rounds = 2 if args.quick else 3
    warnings.simplefilter("ignore")  # ConvergenceWarning etc.: the runs are fixed at 5 epochs
    load0 = os.getloadavg()[0]
    sets = [pypi_text(n_rows=60_000) if args.quick else pypi_text(),
            power_law(20_000) if args.quick else power_law()]
    all_results = {}
    for ds in sets:
        all_results[ds["name"]] = measure(ds, rounds)
    profile_lines = []
    for ds in sets:
        profile_lines += profile(ds, rounds) + [""]
    lines = ["# gdfast estimators vs scikit-learn's SGDClassifier", "", f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, numpy {np.__version__}, "
             f"scikit-learn {sklearn.__version__}",
             f"- load average at start {load0:.2f}, at end {os.getloadavg()[0]:.2f} (another process on the 2 cores "
             "slows the 2-thread runs most)",
             f"- max_iter={EPOCHS}, tol=None, shuffle=True, random_state=0, alpha={ALPHA}, learning_rate='optimal'; "
             f"seconds per epoch = fit wall time / {EPOCHS}, median of {rounds} interleaved rounds",
             "- 1t: GDClassifier (scikit-learn's algorithm in C, one thread); T1: the Trainer's loop, one thread "
             "(schedule=Optimal(alpha)); 2t: n_threads=2 (Hogwild!); ratio = scikit-learn s / gdfast s", ""]
    for ds in sets:
        lines += table(ds, all_results[ds["name"]]) + [""]
    lines += goal_lines(all_results)
    lines += ["", "### Profile: seconds per epoch", "",
              "fit: wall / 5. C loop: PlainSGD.epoch alone (gdfast 1t's loop) on a shuffled order with the all-ones "
              "sample weights the estimator passes, without weights, and in row order (sequential memory access). "
              "outside the C loop = gdfast 1t fit - C loop shuffled; random-access share = (shuffled - row order) / "
              "fit. T1 / 2t: the Trainer's C epoch (median of its history) and its setup (fit wall - its epochs; "
              "with 2 threads it includes choosing and renumbering Hogwild!'s hot features).", ""]
    lines += profile_lines + ["", f"Noisy measurements (rounds differing by > 1.5x; the median is reported): {len(NOISY)}"]
    lines += [f"- {x}" for x in NOISY]
    print("\n".join(lines))
    write_result("sklearn.md", lines, args.quick)


if __name__ == "__main__":
    main()
