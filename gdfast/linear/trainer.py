"""Training linear models by gradient descent (Ruder, arXiv:1609.04747): batch, mini-batch and stochastic
gradient descent (section 2) with any of the update rules (section 4, and FTRL-Proximal), run by one C epoch loop
(csrc/linear.h, the GIL released), and the survey's strategies (section 6): shuffling, learning-rate schedules,
curriculum learning, early stopping and gradient noise.

A :class:`Trainer` owns everything a fit sets up once (the parameters and the optimizer, the C model with its
per-thread scratch buffers, the schedule, the random streams, the early-stopping record) and advances by whole
epochs (:meth:`Trainer.fit`) or by one pass over a chunk of examples (:meth:`Trainer.partial_fit`).
:func:`fit` is a Trainer's fit.
"""
import math
import time
import warnings

import numpy as np

from .. import _kernels, _validate
from .._progress import progress_bar
from .._validate import COUNT, FRACTION, N_THREADS, NONNEGATIVE, Integer, NoneOr, Options, Real
from ..optim import schedules
from ..optim.optimizers import OPTIMIZER_NAMES, OPTIMIZERS
from . import _stream, losses
from ._hot import HotFeatures
from .model import LinearModel

# A Trainer's numbers and names, and its fit's (gdfast._validate); batch_size's upper bound, the number of
# examples, is checked once the data is known.
TRAINER_CONSTRAINTS = {"optimizer": OPTIMIZER_NAMES, "batch_size": NoneOr(COUNT), "alpha": NONNEGATIVE,
                       "intercept_scale": NoneOr(NONNEGATIVE), "n_threads": N_THREADS, "epsilon": NONNEGATIVE,
                       "penalty": NoneOr(Options("l2", "l1", "elasticnet")), "l1_ratio": Real(0, 1),
                       "average": _validate.AVERAGE, "shuffle_buffer": COUNT, "holdout_period": NoneOr(Integer(2))}
FIXED_RATE_RULES = ("sgd", "momentum", "nag")  # their L1 penalty is cumulative (Tsuruoka et al., 2009)

# The defaults of a fit that names no optimizer (optimizer=None) or batch size (batch_size="auto"), by the kind of
# loss, chosen by measurement on five data sets (bench/bench_defaults.py, bench/results/defaults.md): Adam on
# mini-batches of 32 at lr 0.01 for the classification losses (on real sparse text it beats scikit-learn's
# SGDClassifier(loss="log_loss") in less time); SGD on single examples at lr 0.01 for the regression losses
# (Adam's and Adagrad's steps, bounded in parameter units, do not reach targets far from 0 in a few epochs).
FIT_DEFAULTS = {"classification": ("adam", 32, {"lr": 0.01}), "regression": ("sgd", 1, {})}
FIT_CONSTRAINTS = {"epochs": COUNT, "validation_fraction": NoneOr(FRACTION)}

_DOC_OPTIONS = """
    loss: a loss of gdfast.losses ("squared", "logistic", "hinge", "softmax", "modified_huber", "huber", ...;
    scikit-learn's names "log_loss" and "squared_error" too). A classification loss with more than two classes
    fits one output per class: multinomial for softmax, one-vs-rest for the others. epsilon: the huber and
    epsilon-insensitive losses' threshold.
    sample_weight (fit, partial_fit): a weight >= 0 per example, scaling its loss; an example of weight 0 is
    left out of the epoch (it takes no step and counts none).
    optimizer: a rule's name ("sgd", "adam", ... see gd.OPTIMIZERS) with its ``**hyperparameters`` (lr=...); None
    (the default): Adam at lr 0.01 for a classification loss, SGD at lr 0.01 for a regression loss (FIT_DEFAULTS,
    measured in bench/results/defaults.md), or init's rule. The optimizers' options go with them: clip_norm (each
    step's gradient of W and b, its L2 penalty term and noise included, scaled to that global norm at most, as
    torch.nn.utils.clip_grad_norm_; computed in the C loop), clip_value, weight_decay and
    decoupled_weight_decay. SGD on sparse X applies its penalty and weight decay to every weight at each step
    (a scale of W), except with clipping, which takes the gradient with its penalty term: then to the weights
    the step touches, as every other rule does.
    batch_size: None for batch gradient descent (all n examples per step), 1 for stochastic, b for mini-batches
    of b; "auto" (the default): 32 for a classification loss, 1 for a regression loss. Each step minimises the mean loss of its batch plus the penalty: alpha/2 ||W||^2 (penalty "l2", the
    default), alpha ||W||_1 ("l1"), alpha (l1_ratio ||W||_1 + (1 - l1_ratio)/2 ||W||^2) ("elasticnet", scikit-learn's
    form) or none (None). The L2 part is in the gradient; the L1 part follows each step on the weights it touched:
    for sgd, momentum and nag the cumulative truncation of Tsuruoka et al. (2009), for the adaptive rules the
    proximal step of the rule's own per-coordinate rate (gdfast.optim.reference.l1_proximal). On CSR data both
    reach the features a batch touches, the lazy convention of sparse SGD.
    average: True, or the step to start at, for Polyak-Ruppert averaging: the model's parameters are then the
    means of the iterates from that step on (lazily on CSR data), any rule.
    schedule: a gdfast.schedules.Schedule or its name; it scales the optimizer's lr per step or per epoch ("optimal"
    is scikit-learn's rate for this fit's alpha, which must then be > 0).
    shuffle: a new order of the examples every epoch (seeded by random_state).
    curriculum: a Curriculum, which orders the examples by difficulty instead (shuffle is then unused).
    early_stopping: an EarlyStopping; validation_data=(X_val, y_val), or validation_fraction of the examples
    held out (by row index: X is not copied; a curriculum's difficulty function then sees all of X), gives it (and the schedule's threshold rule) a validation loss to watch.
    gradient_noise: a GradientNoise. callbacks: functions called with each epoch's history entry; one that
    returns True stops training. progress: a progress bar of epochs (tqdm).
    n_threads: threads for CSR data (None: gd.get_num_threads(), every core unless set). With more than one
    the epoch runs as Hogwild! (Niu et al., 2011): the threads split each epoch's order and update the shared
    W, b and optimizer state without locks; with batches of one and a rule whose state merges by sums (sgd,
    adagrad, ftrl), the features in at least 1% of the rows (of the first data the trainer sees) and b live on
    per-thread replicas merged every 1024 steps. The L2 penalty
    then reaches the touched weights only, and results vary from run to run: pass n_threads=1 for a
    deterministic run (for a given random_state). Dense data trains on one thread (its steps use gd's threads
    for a large W).
    classes: every class a classifier will see (when y may lack some, as in one batch of a stream).
    init: a LinearModel to continue training (its parameters, optimizer state, step count, schedule position
    and state, history, random streams and early-stopping record: two fits of k epochs on one thread equal one
    of 2k, also after model.save and gd.load; the loss, features, dtype and optimizer must match; X, y and
    random_state should be the same for a validation_fraction split to be); ``**hyperparameters`` then update
    its optimizer's.
    Streams (X a re-iterable of (X_chunk, y_chunk) or (X_chunk, y_chunk, sample_weight) chunks, y None: a list,
    gd.data.svmlight(...), or any object whose ``iter()`` starts a new pass; a generator serves one epoch):
    each epoch is a pass over the source, batches running on across chunk boundaries, so that with shuffle=False
    and one thread the model is bitwise that of the chunks' concatenation in memory. shuffle_buffer: with
    shuffle, consecutive chunks are gathered into windows of at least this many rows, each permuted (the
    approximate shuffle of tf.data and Vowpal Wabbit: an example moves only within its window). holdout_period:
    every k-th example of each pass is held out, not trained on; its loss at the parameters of the moment is the
    epoch's val_loss (Vowpal Wabbit's --holdout_period), which early_stopping watches. Every history entry has
    ``progressive_loss``, the mean loss of the examples trained on so far, each taken before its own update
    (Vowpal Wabbit's progressive validation), and ``examples``, their count.
"""


class Trainer:
    """Trains one linear model by gradient descent: set up once, advanced by epochs or by chunks.

    ``Trainer(loss, optimizer, **options).fit(X, y, epochs)`` is :func:`gdfast.fit`; ``partial_fit(X_chunk,
    y_chunk)`` makes one pass (one epoch) over a chunk, continuing the same parameters, optimizer state, step
    count, schedule, random streams and history, so a stream of chunks costs its C loop and the chunk's checks,
    not a new setup. The parameters, the optimizer and the C model (per-thread scratch buffers, noise
    generators) are made when the first data arrives, which fixes the number of features, the dtype, dense or
    CSR and (for Hogwild!) the hot features; every later chunk must match them.

    Attributes: ``model`` (the LinearModel being trained, its arrays live), ``history`` (one dict per epoch).
    The options (all but ``epochs`` and the validation data, which are fit's):
    """

    def __init__(self, loss, optimizer=None, *, batch_size="auto", alpha=0.0, fit_intercept=True,
                 intercept_scale=None, schedule=None, shuffle=True, curriculum=None, early_stopping=None,
                 gradient_noise=None, random_state=None, callbacks=(), progress=True, classes=None, init=None,
                 n_threads=None, epsilon=0.1, penalty="l2", l1_ratio=0.15, average=False, shuffle_buffer=65536,
                 holdout_period=None, **hyperparameters):
        self.loss = losses.loss_name(loss)
        optimizer, batch_size, hyperparameters = _defaults(self.loss, optimizer, batch_size, classes, init,
                                                           hyperparameters)
        for name in ("sparse", "check_finite"):
            if name in hyperparameters:
                raise TypeError(f"fit takes no {name!r}: its sparse steps are lazy and its data is checked finite")
        (optimizer, batch_size, alpha, intercept_scale, n_threads, self.epsilon, penalty, l1_ratio,
         self.average, self.shuffle_buffer, self.holdout_period) = _validate.check(
            TRAINER_CONSTRAINTS, {"optimizer": optimizer, "batch_size": batch_size, "alpha": alpha,
                                  "intercept_scale": intercept_scale, "n_threads": n_threads, "epsilon": epsilon,
                                  "penalty": penalty, "l1_ratio": l1_ratio, "average": average,
                                  "shuffle_buffer": shuffle_buffer, "holdout_period": holdout_period}).values()
        share = {"l2": 0.0, "l1": 1.0, "elasticnet": l1_ratio, None: None}[penalty]
        self._l2, self._l1 = (0.0, 0.0) if share is None else (alpha * (1 - share), alpha * share)
        if self._l1 > 0 and optimizer == "ftrl":
            raise ValueError("penalty: FTRL-Proximal computes its weights from its own state, so an L1 step after it "
                             "would be undone; give FTRL its L1 as lambda1= (and its L2 as lambda2=)")
        if init is not None and not isinstance(init, LinearModel):
            raise TypeError(f"init must be a gdfast.LinearModel from an earlier fit, got {type(init).__name__}")
        self.optimizer_name, self.batch_size = optimizer, batch_size
        self.alpha, self.intercept_scale = alpha, intercept_scale
        self.fit_intercept, self.shuffle, self.curriculum = bool(fit_intercept), shuffle, curriculum
        self.early_stopping, self.gradient_noise, self.callbacks = early_stopping, gradient_noise, callbacks
        self.progress, self.n_threads, self.init = progress, n_threads, init
        self.classes = classes if classes is not None or init is None else init.classes_
        self.hyperparameters = hyperparameters
        self.rng = np.random.default_rng(random_state)
        self.schedule = _schedule(schedule, alpha)
        self.model = None  # made with the C model, at the first data (_setup)

    @property
    def history(self):
        return [] if self.model is None else self.model.history_

    def __repr__(self):
        shape = "not set up" if self.model is None else f"{self._d} features, {self._dtype}, {self._threads} threads"
        return (f"Trainer({self.loss!r}, {self.optimizer_name!r}, batch_size={self.batch_size}, {shape}, "
                f"epochs={len(self.history)})")

    # --- advancing ---------------------------------------------------------------------------------------

    def fit(self, X, y, epochs=5, *, sample_weight=None, validation_data=None, validation_fraction=None):
        """``epochs`` epochs over (X, y), or over a stream of chunks X (y None), with the strategies of this
        trainer; returns the LinearModel."""
        epochs, validation_fraction = _validate.check(
            FIT_CONSTRAINTS, {"epochs": epochs, "validation_fraction": validation_fraction}).values()
        if _stream.is_stream(X, y):
            return self._fit_stream(_stream.Stream(X, epochs), epochs, sample_weight, validation_data,
                                    validation_fraction)
        keep, held_out = _hold_out(X, validation_data, validation_fraction, self.rng)
        train, n = self._data(X, y, sample_weight)
        n_train = n if keep is None else len(keep)
        if self.batch_size is not None and self.batch_size > n_train:
            raise ValueError(f"batch_size must be None (batch), 1 (stochastic) or an int in [1, {n_train}], "
                             f"got {self.batch_size!r}")
        validation = ((train, held_out) if held_out is not None else
                      _validation(self.loss, validation_data, self._d, self._dtype, self.model.classes_))
        scores = _fixed_difficulty(self.curriculum, X, y, n)
        scores = scores[keep] if scores is not None and keep is not None else scores
        return self._run_epochs(epochs, lambda bar: self._epoch(train, n_train, self.batch_size or n_train, scores,
                                                                validation, keep), validation is not None)

    def _run_epochs(self, epochs, one_epoch, validated):
        """The epochs of a fit: one_epoch(bar) returns each one's history entry (None: nothing to train on); the
        progress bar, early stopping and callbacks between them."""
        bar = progress_bar(self.progress, epochs)
        for _ in range(epochs):
            entry = one_epoch(bar)
            if entry is None:  # every weight 0
                break
            if bar is not None:
                bar.set_postfix(loss=f"{entry['progressive_loss']:.4g}",
                                ex_per_s=f"{entry['examples_per_second']:.3g}")
                bar.update()
            if self._should_stop(entry, validated):
                break
        if bar is not None:
            bar.close()
        self._restore_best()
        return self._published()

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over the chunk (X, y), or one pass over a stream of chunks X (y None), continuing the model
        (batches of min(batch_size, len(y))); returns the LinearModel. Early stopping and callbacks act in
        :meth:`fit` only."""
        if _stream.is_stream(X, y):
            if sample_weight is not None:
                raise ValueError("sample_weight: a stream's chunks carry their own, as (X, y, sample_weight)")
            self._pass(_stream.Stream(X), None, None)
            return self._published()
        train, n = self._data(X, y, sample_weight)
        self._epoch(train, n, min(self.batch_size or n, n), _fixed_difficulty(self.curriculum, X, y, n), None)
        return self._published()

    def _epoch(self, train, n, batch, scores, validation, rows=None):
        """One pass over checked examples (the n examples rows of train, or all n): the C loop over this
        epoch's order, and its history entry."""
        self._continue_from_last()
        epoch = len(self.model.history_)
        order = _epoch_order(self.curriculum, self.shuffle, n, self.rng, scores, self._c_model, train, rows)
        if self._weight is not None:  # an example of weight 0 takes no step
            order = order[self._weight[order] > 0]
            if order.size == 0:
                return None
        totals = _PassTotals()
        totals.add(order.size, *self._steps(train, order, batch, epoch))
        self._fold_scale()
        return self._entry(epoch, totals, self._loss_on(validation))

    def _continue_from_last(self):
        if self._last is not None:  # the model holds its best epoch's parameters; training went on from these
            self._W[...], self._b[...] = self._last
            self._last = None

    def _steps(self, train, order, batch, epoch):
        """The C loop over ``order`` (int64 rows of train) in batches of epoch ``epoch``: (sum of the examples'
        losses, the last step's learning rate, seconds)."""
        opt, m = self._opt, order.size
        n_steps = self._threads * -(-(-(-m // self._threads)) // int(batch))  # step numbers it may use (linear.h)
        lr = self.schedule.rates(self.model._eta0, epoch, opt.t, n_steps)
        noise = self.gradient_noise.sd(opt.t, n_steps) if self.gradient_noise else np.zeros(n_steps)
        start = time.perf_counter()
        order = np.ascontiguousarray(order, np.int64)  # no copy: already int64
        total, steps = self._c_model.epoch(train, order, int(batch), self._l2, opt._kernel_args, opt.t, lr, noise)
        seconds = time.perf_counter() - start
        opt._advance(steps)
        return total, float(lr[steps - 1]), seconds

    def _fold_scale(self):
        """SGD's scaled W (kept scaled through a pass: linear.h, gd_model.w_scale) made plain, as the C loop
        would at the end of its call (the same products)."""
        if self._w_scale[0] != 1:
            self._W *= self._W.dtype.type(self._w_scale[0])
            self._w_scale[0] = 1

    def _entry(self, epoch, totals, val_loss):
        """The history entry of a finished epoch; progressive_loss is the mean loss of every example so far
        (each before its own step) over all epochs, Vowpal Wabbit's progressive validation."""
        history = self.model.history_
        seen = sum(h.get("examples", 0) for h in history) + totals.m
        before = sum(h["train_loss"] * h.get("examples", 0) for h in history)
        entry = {"epoch": epoch + 1, "train_loss": totals.total / max(totals.m, 1), "val_loss": val_loss,
                 "lr": totals.lr, "seconds": totals.seconds,
                 "examples_per_second": totals.m / max(totals.seconds, 1e-12), "examples": totals.m,
                 "progressive_loss": (before + totals.total) / max(seen, 1)}
        history.append(entry)
        return entry

    # --- streams -------------------------------------------------------------------------------------------

    def _fit_stream(self, stream, epochs, sample_weight, validation_data, validation_fraction):
        """fit over a stream of chunks: each epoch one pass over the source (linear/_stream.py)."""
        if sample_weight is not None:
            raise ValueError("sample_weight: a stream's chunks carry their own, as (X, y, sample_weight)")
        if validation_fraction is not None:
            raise ValueError("validation_fraction needs X in memory; on a stream hold out every k-th example "
                             "with holdout_period=k")
        if self.curriculum is not None:
            raise ValueError("curriculum: ordering every example by difficulty needs X in memory, not a stream")
        if validation_data is not None and self.holdout_period is not None:
            raise ValueError("pass validation_data or holdout_period, not both")
        return self._run_epochs(epochs, lambda bar: self._pass(stream, validation_data, bar),
                                validation_data is not None or self.holdout_period is not None)

    def _pass(self, stream, validation_data, bar):
        """One epoch over a stream: its segments' rows in whole batches, a batch begun at the end of a segment
        finished with the first rows of the next (so that, in order on one thread, the steps are those of one
        epoch over the chunks' concatenation); the holdout's loss, each segment's before it trains."""
        if self.batch_size is None:
            raise ValueError("batch_size=None (batch gradient descent) steps once per pass over all the examples: "
                             "it needs X in memory, not a stream")
        batch, epoch = self.batch_size, len(self.history)
        totals, carry = _PassTotals(), None
        for index, X, y, weight, order, positions in _stream.segments(stream.chunks(), self.shuffle,
                                                                      self.shuffle_buffer):
            train = self._chunk_data(index, X, y, weight)
            self._continue_from_last()  # (the model is set up from the first chunk on)
            order = self.rng.permutation(X.shape[0]) if order is None else order
            order = self._held_out(train, order, positions, totals)
            if self._weight is not None:
                order = order[self._weight[order] > 0]
            if carry is not None:
                head, order = order[:batch - carry[0].shape[0]], order[batch - carry[0].shape[0]:]
                carry = _stream.joined(carry, _stream.rows(X, y, weight, head))
                if carry[0].shape[0] == batch:
                    carry = self._train_rows(index, carry, epoch, totals)
            whole = order.size - order.size % batch
            if whole:
                totals.add(whole, *self._steps(train, order[:whole], batch, epoch))
            if whole < order.size:
                carry = _stream.rows(X, y, weight, order[whole:])
            _show_progress(bar, totals)
        if carry is not None:
            self._train_rows(index, carry, epoch, totals)
        if totals.m == 0:
            return None
        self._fold_scale()
        return self._entry(epoch, totals, self._stream_validation(validation_data, totals))

    def _chunk_data(self, index, X, y, weight):
        """A chunk's LinearData (Trainer._data), a fault in it named by the chunk's index."""
        try:
            return self._data(X, y, weight)[0]
        except (TypeError, ValueError) as e:
            hint = ("; the first chunk gives a classifier its classes unless classes= names them all"
                    if self.model is None and "classes or more" in str(e) else "")
            raise type(e)(f"chunk {index} of X: {e}{hint}") from None

    def _train_rows(self, index, rows, epoch, totals):
        """One batch of rows (X, y, weight) copied out of two segments; returns None (no rows carried on)."""
        train = self._chunk_data(index, *rows)
        totals.add(rows[0].shape[0], *self._steps(train, np.arange(rows[0].shape[0]), self.batch_size, epoch))
        return None

    def _held_out(self, train, order, positions, totals):
        """order without the holdout's rows (every holdout_period-th example of the pass), whose loss at the
        current parameters goes into totals."""
        if self.holdout_period is None:
            return order
        held = (positions[order] + 1) % self.holdout_period == 0
        if held.any():
            self._fold_scale()
            rows = np.ascontiguousarray(order[held], np.int64)
            totals.held += losses.mean_loss(self.loss, train, self._W, self._b, self.epsilon, rows=rows) * rows.size
            totals.n_held += rows.size
        return order[~held]

    def _stream_validation(self, validation_data, totals):
        """The epoch's validation loss on a stream: the holdout's mean, or validation_data's loss."""
        if self.holdout_period is not None:
            return totals.held / totals.n_held if totals.n_held else None
        if validation_data is None:
            return None
        if getattr(self, "_validation_set", (None,))[0] is not validation_data:
            self._validation_set = (validation_data, _validation(self.loss, validation_data, self._d, self._dtype,
                                                                 self.model.classes_))
        return self._loss_on(self._validation_set[1])

    def _loss_on(self, validation):
        """The mean loss on the validation examples (None without): (LinearData, its rows or None)."""
        if validation is None:
            return None
        examples, rows = validation
        return losses.mean_loss(self.loss, examples, self._W, self._b, self.epsilon, rows=rows)

    def _should_stop(self, entry, validated):
        """After an epoch of fit: a non-finite loss, early stopping or a callback ends training."""
        watched = entry["val_loss"] if validated else entry["train_loss"]
        if not math.isfinite(watched):
            warnings.warn(f"gdfast.fit: the loss became {watched} at epoch {entry['epoch']}; stopping (lower lr?)")
            return True
        self.schedule.observe(watched)
        stopping, epoch = self.early_stopping, entry["epoch"] - 1
        if stopping is not None:
            if watched < self._best[0] - stopping.min_delta:
                self._best = (watched, (self._W.copy(), self._b.copy(), epoch))
            elif self._best[1] is not None and epoch - self._best[1][2] >= stopping.patience:
                return True
        return any(cb(entry) is True for cb in self.callbacks)

    def _restore_best(self):
        """Early stopping with restore_best: the model takes its best epoch's parameters; where training
        stood is kept for a later epoch to continue from."""
        stopping, best = self.early_stopping, self._best
        if stopping is not None and stopping.restore_best and best[1] is not None:
            self._last = (self._W.copy(), self._b.copy())
            self._W[...], self._b[...] = best[1][0], best[1][1]

    def _published(self):
        """The model, on CSR data with every feature's mean brought up to the last step."""
        state = self.model._penalty_state
        if "avg_stamp" in state:
            _average_up_to(state["avg_w"], self._W, state["avg_stamp"], self.average, self._opt.t)
        return self.model

    # --- setting up ----------------------------------------------------------------------------------------

    def _data(self, X, y, sample_weight=None):
        """(LinearData, n) of a chunk, checked against the trainer's model (set up at the first chunk); its
        weights are kept for its epochs (self._weight)."""
        arrays, n, d, dtype = losses.features(X)
        weight = losses.example_weights(sample_weight, n)
        if self.model is None:
            y_enc, classes, K = losses.targets(self.loss, y, n, dtype, _classes(self.classes))
            self._setup(arrays, n, d, dtype, K, classes)
        else:
            if d != self._d or dtype != self._dtype or isinstance(arrays, np.ndarray) != self._dense:
                raise ValueError(f"X has {d} features, dtype {dtype} and is {_layout(isinstance(arrays, np.ndarray))}; "
                                 f"this trainer was set up for {self._d} features, dtype {self._dtype} and "
                                 f"{_layout(self._dense)} data")
            y_enc, _, _ = losses.targets(self.loss, y, n, dtype, self.model.classes_)
        self._weight = weight
        capacity = _capacity(arrays, n, d, self.batch_size or n)
        if capacity > self._capacity:  # a chunk with longer rows than the buffers were made for
            self._capacity = capacity
            self._scratches = [_scratch(arrays, d, self._b.size, dtype, capacity, None, self._hot, old["rng"])
                               for old in self._scratches]
            self._c_model = self._new_c_model()
        return losses.data(arrays, y_enc, n, d, weight), n

    def _setup(self, arrays, n, d, dtype, K, classes):
        """The parameters, the optimizer and the C model with its scratch buffers: once, at the first data."""
        self._d, self._dtype, self._dense = d, dtype, isinstance(arrays, np.ndarray)
        if self.init is None:
            W, b = np.zeros((d, K), dtype), np.zeros(K, dtype)
            opt, history = OPTIMIZERS[self.optimizer_name]([W, b], **self.hyperparameters), []
            eta0 = opt.lr
        else:
            W, b, opt, history, eta0 = _continued(self.init, self.loss, self.optimizer_name, d, K, dtype,
                                                  dict(self.hyperparameters))
        state = self._penalty_arrays(W, b, d, self.init._penalty_state if self.init is not None else {})
        self.model = LinearModel(self.loss, W, b, classes, history, opt, eta0, state)
        self.model._average_from = self.average or None
        self.model._trainer = self
        if self.intercept_scale is None:
            self.intercept_scale = 1.0 if self._dense else 0.01
        self._threads = _threads(self.n_threads, arrays)
        plain_steps = self._l1 == 0 and not self.average  # the hot replicas know no L1 penalty nor averages
        self._hot = (HotFeatures.choose(arrays, n, d, self._threads, self.batch_size or n, opt.rule.name)
                     if plain_steps else None)
        self._W, self._b, self._opt = W, b, opt
        self._w_scale = np.ones(1)  # SGD's scaled W through a pass (linear.h: gd_model.w_scale)
        self._capacity = _capacity(arrays, n, d, self.batch_size or n)
        self._scratches = [_scratch(arrays, d, K, dtype, self._capacity, self.rng, self._hot)
                           for _ in range(self._threads)]
        self._c_model = self._new_c_model()
        self._best, self._last = (math.inf, None), None
        resume = None if self.init is None else self.init._resume
        if resume is not None:
            self._resume(resume)

    def _new_c_model(self):
        """The C model over the trainer's arrays and scratch buffers (pointers taken once)."""
        return _kernels.LinearModel(
            self._opt._kernel_id, _kernels.LOSSES[self.loss], self._W, self._b, *_slots(self._opt), self._scratches,
            self.fit_intercept, self.intercept_scale, **(self._hot.kernel_args() if self._hot else {}),
            epsilon=self.epsilon, l1=self._l1, avg_start=self.average or 1, w_scale=self._w_scale,
            clip_norm=self._opt.clip_norm or 0.0, **self.model._penalty_state)

    def _penalty_arrays(self, W, b, d, kept):
        """The L1 penalty's and the averages' arrays (gd_model's l1_u, l1_q, avg_w, avg_b, avg_stamp), continued
        from a model's where it has them (the same shapes)."""
        state = {}
        if self._l1 > 0:
            state["l1_u"] = np.zeros(1)
            if self.optimizer_name in FIXED_RATE_RULES:
                state["l1_q"] = np.zeros_like(W)
        if self.average:
            state.update(avg_w=np.zeros_like(W), avg_b=np.zeros_like(b),
                         avg_stamp=np.full(d, self.average - 1, np.int64))
        for name, array in state.items():
            if name in kept and kept[name].shape == array.shape and kept[name].dtype == array.dtype:
                state[name] = kept[name]
        if self._dense:
            state.pop("avg_stamp", None)  # dense data brings every mean up to date at every step
        return state

    # --- continuing ----------------------------------------------------------------------------------------

    def resume_state(self):
        """What a later Trainer(init=model) needs to continue this one exactly: the random streams (shuffling
        and each thread's noise generator), the schedule's state and the early-stopping record (value, W, b,
        epoch), and where training stood when the model took its best epoch's parameters."""
        sched, best, last = self.schedule, self._best, self._last
        return {"rng": self.rng.bit_generator.state, "streams": [s["rng"].copy() for s in self._scratches],
                "schedule": {"class": type(sched).__name__,
                             "state": {k: v for k, v in vars(sched).items() if k.startswith("_")}},
                "best": None if best[1] is None else (best[0], *best[1]),  # its arrays are copies already
                "last": last}

    def _resume(self, resume):
        """Continue the streams and records of the trainer that made init (see resume_state). The noise
        streams continue where the thread count is the same."""
        self.rng.bit_generator.state = resume["rng"]
        if len(resume["streams"]) == len(self._scratches):
            for scratch, stream in zip(self._scratches, resume["streams"]):
                scratch["rng"][...] = stream
        if resume["schedule"]["class"] == type(self.schedule).__name__:
            vars(self.schedule).update(resume["schedule"]["state"])
        if resume["last"] is not None:
            W, b = resume["last"]
            self._last = (W.copy(), b.copy())
        if self.early_stopping is not None and resume["best"] is not None:
            value, best_W, best_b, epoch = resume["best"]
            self._best = (value, (best_W, best_b, epoch))  # never written in place: an improvement makes a new record


class _PassTotals:
    """What an epoch adds up: examples trained, their losses, the last rate, the C loop's seconds, and the
    holdout's loss sum and count."""

    def __init__(self):
        self.m, self.total, self.lr, self.seconds, self.held, self.n_held = 0, 0.0, None, 0.0, 0.0, 0
        self._shown = time.perf_counter()

    def add(self, m, total, lr, seconds):
        self.m, self.total, self.lr, self.seconds = self.m + m, self.total + total, lr, self.seconds + seconds


def _show_progress(bar, totals, every=0.5):
    """A long pass's progress on the bar, at most every ``every`` seconds: its mean loss so far and rows/s."""
    now = time.perf_counter()
    if bar is not None and totals.m and now - totals._shown >= every:
        bar.set_postfix(loss=f"{totals.total / totals.m:.4g}", ex_per_s=f"{totals.m / max(totals.seconds, 1e-12):.3g}")
        totals._shown = now


def fit(loss, X, y, optimizer=None, *, batch_size="auto", epochs=5, alpha=0.0, fit_intercept=True,
        intercept_scale=None, schedule=None, shuffle=True, curriculum=None, early_stopping=None,
        validation_data=None, validation_fraction=None, gradient_noise=None, random_state=None, callbacks=(),
        progress=True, classes=None, init=None, n_threads=None, sample_weight=None, epsilon=0.1, penalty="l2",
        l1_ratio=0.15, average=False, shuffle_buffer=65536, holdout_period=None, **hyperparameters):
    """Fit a linear model by gradient descent; returns a :class:`LinearModel` (``Trainer(...).fit(X, y)``).

    X: an n x d float32/float64 ndarray or scipy.sparse matrix (the model takes X's dtype); y: n targets
    (numbers, or class labels); or X a stream of chunks and y None (below). epochs: passes over the examples.
    The options:
    """
    trainer = Trainer(loss, optimizer, batch_size=batch_size, alpha=alpha, fit_intercept=fit_intercept,
                      intercept_scale=intercept_scale, schedule=schedule, shuffle=shuffle, curriculum=curriculum,
                      early_stopping=early_stopping, gradient_noise=gradient_noise, random_state=random_state,
                      callbacks=callbacks, progress=progress, classes=classes, init=init, n_threads=n_threads,
                      epsilon=epsilon, penalty=penalty, l1_ratio=l1_ratio, average=average,
                      shuffle_buffer=shuffle_buffer, holdout_period=holdout_period, **hyperparameters)
    model = trainer.fit(X, y, epochs, sample_weight=sample_weight, validation_data=validation_data,
                        validation_fraction=validation_fraction)
    model._resume = trainer.resume_state()  # the model keeps what continuing needs, not the scratch buffers
    return model


Trainer.__doc__ += _DOC_OPTIONS  # one text of the options for both (a docstring must be a literal)
fit.__doc__ += _DOC_OPTIONS


def _defaults(loss, optimizer, batch_size, classes, init, hyperparameters):
    """(optimizer, batch_size, hyperparameters) with FIT_DEFAULTS where the fit names no optimizer (None) or batch
    size ("auto"); continuing a model (init), its rule and its hyperparameters."""
    kind = "classification" if loss in losses.CLASSIFICATION or classes is not None else "regression"
    rule, batch, rule_hyperparameters = FIT_DEFAULTS[kind]
    if isinstance(batch_size, str) and batch_size == "auto":
        batch_size = batch
    if optimizer is None and isinstance(init, LinearModel) and init.optimizer_ is not None:
        return init.optimizer_.rule.name, batch_size, hyperparameters
    if optimizer is None:
        return rule, batch_size, {**rule_hyperparameters, **hyperparameters}
    return optimizer, batch_size, hyperparameters


def _schedule(spec, alpha):
    """The schedule of a fit: by name "optimal" it is scikit-learn's rate for the fit's own L2 penalty alpha."""
    if isinstance(spec, str) and spec == "optimal":
        if not alpha > 0:
            raise ValueError("schedule='optimal' needs an L2 penalty alpha > 0: its rate is 1 / (alpha (t_0 + t - 1)); "
                             f"got alpha={alpha}")
        return schedules.Optimal(alpha)
    return schedules.schedule(spec)


def _classes(classes):
    return None if classes is None else np.asarray(classes)


def _layout(dense):
    return "dense" if dense else "sparse (CSR)"


def _continued(init, loss, optimizer, d, K, dtype, hyperparameters):
    """(W, b, optimizer, history, eta0) of a model to train on (a LinearModel: the Trainer checked), checked
    against what this fit asks for."""
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


def _epoch_order(curriculum, shuffle, n, rng, scores, model, train, rows=None):
    """This epoch's order of the n training examples: of train's rows ``rows`` (a validation split's training
    part, in place), or of all of train's."""
    if curriculum is None:
        order = rng.permutation(n) if shuffle else np.arange(n)
    else:
        if scores is None:  # difficulty "loss": each example's loss under the current model
            scores = np.empty(n)
            model.loss_gradient(train, scores, rows=rows)
        order = curriculum.order(scores, rng)
    return order if rows is None else rows[order]


def _hold_out(X, validation_data, fraction, rng):
    """(training rows, validation rows) of X: a fraction of the examples (fit's validation_fraction, checked
    there) drawn out at random, both sorted, to be trained on and evaluated in place (no copy of X); or
    (None, None) without a fraction."""
    if fraction is None:
        return None, None
    if validation_data is not None:
        raise ValueError("pass validation_data or validation_fraction, not both")
    n = X.shape[0]
    n_val = int(round(fraction * n))
    if not 1 <= n_val < n:
        raise ValueError(f"validation_fraction={fraction} of {n} examples leaves no validation or no training data")
    order = rng.permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _validation(loss, validation_data, d, dtype, classes):
    if validation_data is None:
        return None
    X_val, y_val = validation_data
    arrays, n, d_val, dtype_val = losses.features(X_val, "validation X")
    if d_val != d or dtype_val != dtype:
        raise ValueError(f"validation X must have the training data's {d} features and dtype {dtype}, "
                         f"got {d_val} and {dtype_val}")
    y_enc, _, _ = losses.targets(loss, y_val, n, dtype, classes, "validation y")
    return losses.data(arrays, y_enc, n, d), None


def _average_up_to(mean, W, stamp, start, t):
    """The means of the features whose weights did not move since their stamp, brought up to step t (the lazy
    averages of csrc/linear_impl.h, gd_average_catch_up, for every feature at once)."""
    seen = np.maximum(stamp - start + 1, 0)
    now = t - start + 1
    if now < 1:
        return
    stale = seen < now
    factor = (1.0 - seen[stale] / now).astype(mean.dtype)
    mean[stale] += (W[stale] - mean[stale]) * factor[:, None]
    stamp[stale] = t


def _slots(opt):
    """The state buffers of W and of b, in the rule's order."""
    return tuple(tuple(state[name] for name in opt.rule.slots) for state in opt.state)


def _threads(n_threads, arrays):
    """Threads for the epoch loop: one for dense data, else n_threads (the Trainer's, checked and resolved)."""
    return n_threads if not isinstance(arrays, np.ndarray) else 1


def _capacity(arrays, n, d, batch):
    """The most distinct features one batch of CSR rows can touch (csrc/linear.h, gd_scratch's cap): min(d,
    batch x the longest row); 0 for dense data."""
    if isinstance(arrays, np.ndarray):
        return 0
    longest = int(np.diff(arrays[0]).max())
    return min(d, min(batch, n) * longest)


def _scratch(arrays, d, K, dtype, capacity, rng, hot=None, stream=None):
    """One thread's buffers (csrc/linear.h, gd_scratch) for batches touching up to `capacity` features, its noise
    generator seeded from rng (or continuing `stream`)."""
    dense = isinstance(arrays, np.ndarray)
    table = 1 << max(1, (2 * capacity - 1).bit_length())  # a power of two >= 2 capacity
    replica = 2 * (1 + _kernels.MAX_SLOTS) * (hot.n_hot + 1) * K if hot else 0
    stream = rng.integers(1, 2**63, 4, dtype=np.uint64) if stream is None else stream
    return {"grad_w": _guarded(d * K if dense else 0, dtype).reshape(-1, K), "grad_b": _guarded(K, dtype),
            "z": _guarded(K, dtype), "dz": _guarded(K, dtype), "values": _guarded(capacity * K, dtype),
            "touched": np.zeros(capacity, np.int64), "table": np.full(table, -1, np.int32),
            "rng": _guarded(4, np.uint64, stream), "replica": _guarded(replica, dtype)}


def _guarded(n, dtype, values=None):
    """n zeros (or values) with a cache line of slack on each side: Hogwild!'s threads write their own small
    buffers at every step, and two of them sharing a line would make the threads fight over it."""
    pad = 64 // np.dtype(dtype).itemsize
    out = np.zeros(n + 2 * pad, dtype)[pad:pad + n]
    if values is not None:
        out[...] = values
    return out
