"""Training linear models by gradient descent (Ruder, arXiv:1609.04747): batch, mini-batch and stochastic
gradient descent (section 2) with any of the ten update rules (section 4), run by one C epoch loop
(csrc/linear.h, the GIL released), and the survey's strategies (section 6): shuffling, learning-rate schedules,
early stopping and gradient noise.
"""
import math
import time
import warnings

import numpy as np

from .. import _kernels, _validate
from .._validate import COUNT, FRACTION, N_THREADS, NONNEGATIVE, NoneOr
from ..optim import schedules
from ..optim._sparse import LAZY
from ..optim.optimizers import OPTIMIZER_NAMES, OPTIMIZERS
from . import losses
from ._hot import HotFeatures
from .model import LinearModel

# fit's numbers and names (gdfast._validate); batch_size's upper bound, the number of examples, is checked
# once the data is known.
FIT_CONSTRAINTS = {"optimizer": OPTIMIZER_NAMES, "batch_size": NoneOr(COUNT), "epochs": COUNT, "alpha": NONNEGATIVE,
                   "intercept_scale": NoneOr(NONNEGATIVE), "validation_fraction": NoneOr(FRACTION),
                   "n_threads": N_THREADS}


def fit(loss, X, y, optimizer="sgd", *, batch_size=None, epochs=5, alpha=0.0, fit_intercept=True,
        intercept_scale=None, schedule=None, shuffle=True, curriculum=None, early_stopping=None,
        validation_data=None, validation_fraction=None, gradient_noise=None, random_state=None, callbacks=(),
        progress=True, classes=None, init=None, n_threads=None, **hyperparameters):
    """Fit a linear model by gradient descent; returns a :class:`LinearModel`.

    loss: "squared", "logistic", "hinge" or "softmax" (see gdfast.losses). X: an n x d float32/float64 ndarray or
    scipy.sparse matrix (the model takes X's dtype); y: n targets (numbers, or class labels).
    optimizer: a rule's name ("sgd", "adam", ... see gd.OPTIMIZERS) with its ``**hyperparameters`` (lr=...).
    batch_size: None for batch gradient descent (all n examples per step), 1 for stochastic, b for mini-batches
    of b. Each step minimises the mean loss of its batch plus alpha/2 ||W||^2 (on CSR data the penalty's
    gradient is applied to the features a batch touches, the lazy convention of sparse SGD).
    schedule: a gdfast.schedules.Schedule or its name; it scales the optimizer's lr per step or per epoch.
    shuffle: a new order of the examples every epoch (seeded by random_state).
    curriculum: a Curriculum, which orders the examples by difficulty instead (shuffle is then unused).
    early_stopping: an EarlyStopping; validation_data=(X_val, y_val), or validation_fraction of the examples
    held out, gives it (and the schedule's threshold rule) a validation loss to watch.
    gradient_noise: a GradientNoise. callbacks: functions called with each epoch's history entry; one that
    returns True stops training. progress: a progress bar of epochs (tqdm).
    n_threads: threads for CSR data (None: gd.get_num_threads(), every core unless set). With more than one
    the epoch runs as Hogwild! (Niu et al., 2011): the threads split each epoch's order and update the shared
    W, b and optimizer state without locks; with batches of one, the features in at least 1% of the rows and b
    live on per-thread replicas merged every 1024 steps. The L2 penalty then reaches the touched weights only,
    and results vary from run to run: pass n_threads=1 for a deterministic run (for a given random_state).
    Dense data trains on one thread (its steps use gd's threads for a large W).
    classes: every class a classifier will see (when y may lack some, as in one batch of a stream).
    init: a LinearModel to continue training (its parameters, optimizer state, step count, schedule position
    and state, history, random streams and early-stopping record: two fits of k epochs on one thread equal one
    of 2k, also after model.save and gd.load; the loss, features, dtype and optimizer must match; X, y and
    random_state should be the same for a validation_fraction split to be); ``**hyperparameters`` then update
    its optimizer's.
    """
    loss = losses.loss_name(loss)
    for name in ("sparse", "check_finite"):
        if name in hyperparameters:
            raise TypeError(f"fit takes no {name!r}: its sparse steps are lazy and its data is checked finite")
    optimizer, batch_size, epochs, alpha, intercept_scale, validation_fraction, n_threads = _validate.check(
        FIT_CONSTRAINTS, {"optimizer": optimizer, "batch_size": batch_size, "epochs": epochs, "alpha": alpha,
                          "intercept_scale": intercept_scale, "validation_fraction": validation_fraction,
                          "n_threads": n_threads}).values()
    rng = np.random.default_rng(random_state)
    X, y, validation_data = _hold_out(X, y, validation_data, validation_fraction, rng)
    arrays, n, d, dtype = losses.features(X)
    if init is not None and classes is None:
        classes = init.classes_
    y_enc, classes, K = losses.targets(loss, y, n, dtype, None if classes is None else np.asarray(classes))
    train = losses.data(arrays, y_enc, n, d)
    validation = _validation(loss, validation_data, d, dtype, classes)
    if batch_size is None:
        batch_size = n
    elif batch_size > n:
        raise ValueError(f"batch_size must be None (batch), 1 (stochastic) or an int in [1, {n}], got {batch_size!r}")
    if init is None:
        W, b = np.zeros((d, K), dtype), np.zeros(K, dtype)
        opt, history = OPTIMIZERS[optimizer]([W, b], **hyperparameters), []
        eta0 = opt.lr
    else:
        W, b, opt, history, eta0 = _continued(init, loss, optimizer, d, K, dtype, hyperparameters)
    if intercept_scale is None:
        intercept_scale = 1.0 if isinstance(arrays, np.ndarray) else 0.01
    threads = _threads(n_threads, arrays)
    hot = HotFeatures.choose(arrays, n, d, threads, batch_size)
    W_user, opt_user = W, opt  # Hogwild! with hot features trains renumbered copies (HotFeatures)
    if hot is not None:
        train, W, opt = hot.renumbered(arrays, y_enc, n, d), *hot.to_internal(W, b, opt)
    scratches = [_scratch(arrays, d, K, dtype, rng, hot) for _ in range(threads)]
    model = _kernels.LinearModel(opt._kernel_id, _kernels.LOSSES[loss], W, b, *_slots(opt), scratches, LAZY,
                                 bool(fit_intercept), intercept_scale, *(hot.kernel_args() if hot else ()))
    sched = schedules.schedule(schedule)
    best, first_epoch = (math.inf, None), len(history)
    if init is not None and getattr(init, "_resume", None) is not None:
        best = _resumed(init._resume, W, b, rng, scratches, sched, early_stopping, best)
    n_steps = threads * -(-(-(-n // threads)) // int(batch_size))  # step numbers an epoch may use (linear.h)
    scores = _fixed_difficulty(curriculum, X, y, n)
    bar = _progress(progress, epochs)
    for epoch in range(first_epoch, first_epoch + epochs):
        order = _epoch_order(curriculum, shuffle, n, rng, scores, model, train)
        lr = sched.rates(eta0, epoch, opt.t, n_steps)
        noise = gradient_noise.sd(opt.t, n_steps) if gradient_noise else np.zeros(n_steps)
        start = time.perf_counter()
        order = np.ascontiguousarray(order, np.int64)  # no copy: already int64
        total, steps = model.epoch(train, order, int(batch_size), alpha, *opt._kernel_args, opt.t, lr, noise)
        seconds = time.perf_counter() - start
        opt._advance(steps)
        entry = {"epoch": epoch + 1, "train_loss": total / n,
                 "val_loss": losses.mean_loss(loss, validation, hot.user_order(W) if hot else W, b)
                 if validation else None,
                 "lr": float(lr[steps - 1]), "seconds": seconds, "examples_per_second": n / max(seconds, 1e-12)}
        history.append(entry)
        if bar is not None:
            bar.set_postfix(loss=f"{entry['train_loss']:.4g}", ex_per_s=f"{entry['examples_per_second']:.3g}")
            bar.update()
        watched = entry["val_loss"] if validation else entry["train_loss"]
        if not math.isfinite(watched):
            warnings.warn(f"gdfast.fit: the loss became {watched} at epoch {epoch + 1}; stopping (lower lr?)")
            break
        sched.observe(watched)
        if early_stopping is not None:
            if watched < best[0] - early_stopping.min_delta:
                best = (watched, (W.copy(), b.copy(), epoch))
            elif best[1] is not None and epoch - best[1][2] >= early_stopping.patience:
                break
        if any(cb(entry) is True for cb in callbacks):
            break
    if bar is not None:
        bar.close()
    resume = _resume_state(rng, scratches, sched, best if hot is None else (math.inf, None))
    if early_stopping is not None and early_stopping.restore_best and best[1] is not None:
        resume["last"] = (W.copy(), b.copy())  # where training stood: a continued fit goes on from there
        W[...], b[...] = best[1][0], best[1][1]
    if hot is not None:
        W, opt = hot.back(W, opt, W_user, opt_user)
    fitted = LinearModel(loss, W, b, classes, history, opt, eta0)
    fitted._resume = resume
    return fitted


def _resume_state(rng, scratches, sched, best):
    """What a later fit(init=model) needs to continue this one exactly: the random streams (shuffling and each
    thread's noise generator), the schedule's state and the early-stopping record (value, W, b, epoch)."""
    return {"rng": rng.bit_generator.state, "streams": [s["rng"].copy() for s in scratches],
            "schedule": {"class": type(sched).__name__,
                         "state": {k: v for k, v in vars(sched).items() if k.startswith("_")}},
            "best": None if best[1] is None else (best[0], *best[1]),  # its arrays are copies already
            "last": None}


def _resumed(resume, W, b, rng, scratches, sched, early_stopping, best):
    """Continue the streams and records of the fit that made init (see _resume_state); returns ``best``. The
    noise streams continue where the thread count is the same."""
    rng.bit_generator.state = resume["rng"]
    if len(resume["streams"]) == len(scratches):
        for scratch, stream in zip(scratches, resume["streams"]):
            scratch["rng"][...] = stream
    if resume["schedule"]["class"] == type(sched).__name__:
        vars(sched).update(resume["schedule"]["state"])
    if resume["last"] is not None:  # the model holds its best epoch's parameters; training went on from these
        W[...], b[...] = resume["last"]
    if early_stopping is not None and resume["best"] is not None:
        value, best_W, best_b, epoch = resume["best"]
        best = (value, (best_W, best_b, epoch))  # never written in place: an improvement makes a new record
    return best


def _continued(init, loss, optimizer, d, K, dtype, hyperparameters):
    """(W, b, optimizer, history, eta0) of a model to train on, checked against what this fit asks for."""
    if not isinstance(init, LinearModel):
        raise TypeError(f"init must be a gdfast.LinearModel from an earlier fit, got {type(init).__name__}")
    opt = init.optimizer_
    if init.loss != loss or opt.rule.name != optimizer or init._W.shape != (d, K) or init._W.dtype != dtype:
        raise ValueError(f"init was fit with loss {init.loss!r}, optimizer {opt.rule.name!r}, {init._W.shape[0]} "
                         f"features, {init._W.shape[1]} outputs and dtype {init._W.dtype}; this fit has "
                         f"{loss!r}, {optimizer!r}, {d} features, {K} outputs and {dtype}")
    convention = hyperparameters.pop("convention", opt.convention)
    if convention != opt.convention:
        raise ValueError(f"init was fit with convention {opt.convention!r}; this fit asks for {convention!r}")
    for name, value in hyperparameters.items():
        setattr(opt, name, value)
    return init._W, init._b, opt, list(init.history_), hyperparameters.get("lr", init._eta0)


def _fixed_difficulty(curriculum, X, y, n):
    """A curriculum's scores when they do not change during training (an array, or a callable's answer)."""
    if curriculum is None or isinstance(curriculum.difficulty, str):
        return None
    difficulty = curriculum.difficulty
    scores = np.asarray(difficulty(X, y) if callable(difficulty) else difficulty, np.float64)
    if scores.shape != (n,):
        raise ValueError(f"curriculum difficulty must give one score per training example ({n}), got shape "
                         f"{scores.shape}")
    return scores


def _epoch_order(curriculum, shuffle, n, rng, scores, model, train):
    if curriculum is None:
        return rng.permutation(n) if shuffle else np.arange(n)
    if scores is None:  # difficulty "loss": each example's loss under the current model
        scores = np.empty(n)
        model.loss_gradient(train, scores)
    return curriculum.order(scores, rng)


def _hold_out(X, y, validation_data, fraction, rng):
    """(X, y, validation_data): a fraction of the examples (fit's validation_fraction, checked there) drawn out
    at random, or as given."""
    if fraction is None:
        return X, y, validation_data
    if validation_data is not None:
        raise ValueError("pass validation_data or validation_fraction, not both")
    n = X.shape[0]
    n_val = int(round(fraction * n))
    if not 1 <= n_val < n:
        raise ValueError(f"validation_fraction={fraction} of {n} examples leaves no validation or no training data")
    order = rng.permutation(n)
    y = np.asarray(y)
    val, keep = np.sort(order[:n_val]), np.sort(order[n_val:])
    return X[keep], y[keep], (X[val], y[val])


def _validation(loss, validation_data, d, dtype, classes):
    if validation_data is None:
        return None
    X_val, y_val = validation_data
    arrays, n, d_val, dtype_val = losses.features(X_val, "validation X")
    if d_val != d or dtype_val != dtype:
        raise ValueError(f"validation X must have the training data's {d} features and dtype {dtype}, "
                         f"got {d_val} and {dtype_val}")
    y_enc, _, _ = losses.targets(loss, y_val, n, dtype, classes, "validation y")
    return losses.data(arrays, y_enc, n, d)


def _slots(opt):
    """The state buffers of W and of b, in the rule's order."""
    return tuple(tuple(state[name] for name in opt.rule.slots) for state in opt.state)


def _threads(n_threads, arrays):
    """Threads for the epoch loop: one for dense data, else n_threads (fit's, checked and resolved there)."""
    return n_threads if not isinstance(arrays, np.ndarray) else 1


def _scratch(arrays, d, K, dtype, rng, hot=None):
    """One thread's buffers (csrc/linear.h, gd_scratch), its noise generator seeded from rng."""
    sparse = not isinstance(arrays, np.ndarray)
    rows = d if sparse else 0
    replica = 2 * (1 + _kernels.MAX_SLOTS) * (hot.n_hot + 1) * K if hot else 0
    return {"grad_w": _guarded(d * K, dtype).reshape(d, K), "grad_b": _guarded(K, dtype), "z": _guarded(K, dtype),
            "dz": _guarded(K, dtype), "values": _guarded(rows * K, dtype).reshape(rows, K),
            "stamp": np.zeros(rows, np.int64), "touched": np.zeros(rows, np.int64),
            "rng": _guarded(4, np.uint64, rng.integers(1, 2**63, 4, dtype=np.uint64)),
            "replica": _guarded(replica, dtype)}


def _guarded(n, dtype, values=None):
    """n zeros (or values) with a cache line of slack on each side: Hogwild!'s threads write their own small
    buffers at every step, and two of them sharing a line would make the threads fight over it."""
    pad = 64 // np.dtype(dtype).itemsize
    out = np.zeros(n + 2 * pad, dtype)[pad:pad + n]
    if values is not None:
        out[...] = values
    return out


def _progress(progress, epochs):
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=epochs, unit="epoch", desc="gdfast.fit", leave=False)
