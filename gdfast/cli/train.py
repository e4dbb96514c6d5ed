"""`python -m gdfast train FILE [FILE ...]`: a linear model trained on svmlight/LIBSVM files as a stream (the
files are read in chunks on a reader thread, never held whole), showing rows/s and the progressive loss, saved
as a checkpoint that gd.load reads and a later ``--init`` continues."""
import sys

import numpy as np

from .. import data
from ..checkpoint import load
from ..linear import EarlyStopping, fit

SCAN_FEATURES = 2**31 - 1  # the widest index the reader takes, for the scan that finds a file's width


def add_arguments(parser):
    parser.add_argument("files", nargs="+", help="svmlight/LIBSVM files (plain, .gz, .bz2), read in order")
    parser.add_argument("--loss", default="logistic")
    parser.add_argument("--optimizer", default=None, help="a rule's name (default: fit's for the loss)")
    parser.add_argument("--lr", type=float, default=None, help="the rule's learning rate (fit's default)")
    parser.add_argument("--batch-size", type=int, default=None, help="examples per step (fit's default)")
    parser.add_argument("--passes", "--epochs", dest="passes", type=int, default=5, help="passes over the files")
    parser.add_argument("--alpha", type=float, default=0.0, help="L2 penalty")
    parser.add_argument("--holdout-period", type=int, default=None,
                        help="hold out every k-th example; its loss is each pass's validation loss")
    parser.add_argument("--early-stopping", type=int, default=None, metavar="PATIENCE",
                        help="stop after PATIENCE passes without a better validation loss")
    parser.add_argument("--test", help="an svmlight file: its loss after every pass (or, with --holdout-period, "
                                       "at the end) and its accuracy")
    parser.add_argument("--n-features", type=int, default=None,
                        help="the width of X (default: the model's with --init, else a first scan of the files, "
                             "which also tells 0-based from 1-based indices)")
    parser.add_argument("--zero-based", action="store_true", help="with --n-features: indices start at 0")
    parser.add_argument("--chunk-rows", type=int, default=4096)
    parser.add_argument("--threads", type=int, default=None, help="Hogwild! threads (default: every core)")
    parser.add_argument("--no-shuffle", action="store_true", help="train in the files' order")
    parser.add_argument("--init", help="a checkpoint (--out of an earlier run) to continue")
    parser.add_argument("--out", help="save the model as a checkpoint (gd.load reads it)")
    parser.add_argument("--seed", type=int, default=0)


def run(args):
    """Train on args.files as a stream; print each pass; test and save the model."""
    init = load(args.init) if args.init else None
    n_features, zero_based = _width(args, init)
    source = data.svmlight(args.files, n_features, chunk_rows=args.chunk_rows, zero_based=zero_based)
    test = _read(args.test, n_features, zero_based) if args.test else None
    print(f"{', '.join(args.files)}: {n_features} features ({'0' if zero_based else '1'}-based); loss {args.loss}, "
          f"{args.passes} passes" + (f", continuing {args.init}" if init else ""), flush=True)
    options = {} if args.lr is None else {"lr": args.lr}
    if args.early_stopping is not None:
        options["early_stopping"] = EarlyStopping(patience=args.early_stopping)
    model = fit(args.loss, source, None, args.optimizer, batch_size=args.batch_size or "auto", epochs=args.passes,
                alpha=args.alpha, holdout_period=args.holdout_period, shuffle=not args.no_shuffle,
                validation_data=test if args.holdout_period is None else None, n_threads=args.threads,
                random_state=args.seed, init=init, callbacks=[_report], **options)
    if test is not None:
        _report_test(model, test)
    if args.out:
        model.save(args.out)
        print(f"model saved to {args.out}")


def _width(args, init):
    """(n_features, zero_based): given, the model's, or found by a scan of the files."""
    if args.n_features is not None:
        return args.n_features, args.zero_based
    if init is not None:
        return init.coef_.shape[1], args.zero_based
    print("scanning the files for their number of features (--n-features skips this)", file=sys.stderr, flush=True)
    low, high = SCAN_FEATURES, -1
    for X, _ in data.svmlight(args.files, SCAN_FEATURES, chunk_rows=65536, zero_based=True):
        if X.nnz:
            low, high = min(low, int(X.indices.min())), max(high, int(X.indices.max()))
    if high < 0:
        raise ValueError(f"{args.files[0]}: no features in the files")
    zero_based = low == 0  # as scikit-learn's zero_based="auto": 1-based unless an index 0 appears
    return high + 1 if zero_based else high, zero_based


def _read(path, n_features, zero_based):
    """A (test) file in memory: (X, y)."""
    import scipy.sparse as sp
    chunks = list(data.svmlight(path, n_features, zero_based=zero_based))
    return sp.vstack([X for X, _ in chunks], format="csr"), np.concatenate([y for _, y in chunks])


def _report(entry):
    val = "" if entry["val_loss"] is None else f"  validation loss {entry['val_loss']:.5f}"
    print(f"pass {entry['epoch']:3d}  progressive loss {entry['progressive_loss']:.5f}  "
          f"this pass {entry['train_loss']:.5f}{val}  {entry['examples_per_second']:.3g} rows/s", flush=True)


def _report_test(model, test):
    X, y = test
    if model.classes_ is not None:
        print(f"test accuracy {np.mean(model.predict(X) == y):.4f}")
    else:
        print(f"test RMSE {np.sqrt(np.mean((model.predict(X).ravel() - y) ** 2)):.5f}")
