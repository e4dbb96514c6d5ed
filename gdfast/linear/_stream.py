"""Training from a stream of chunks: what a Trainer's pass over a source reads, in what order.

A source is a re-iterable of chunks ``(X, y)`` or ``(X, y, sample_weight)`` (a list, or an object whose
``__iter__`` starts a new pass, such as :func:`gdfast.data.svmlight`); a one-shot iterator (a generator) makes
one pass. A pass reads the chunks as *segments*: each chunk in its own row order (shuffle=False), or, with
shuffling, windows of consecutive chunks of at least ``shuffle_buffer`` rows, each copied into one matrix and
trained in a random order of its rows (approximate shuffling, as tf.data's and Vowpal Wabbit's buffers are:
rows further apart than a window never swap). Memory is one window (or one chunk) and the next chunk.
"""
import numpy as np
import scipy.sparse as sp


def is_stream(X, y):
    """Whether fit's (X, y) is a stream of chunks: y None and X iterable but not an array or a sparse matrix."""
    return (y is None and not isinstance(X, (np.ndarray, str, bytes)) and not sp.issparse(X)
            and hasattr(X, "__iter__"))


class Stream:
    """A source of chunks checked for its shape: ``passes()`` gives one iterator of ``(index, X, y, weight)`` per
    pass; a one-shot iterator allows one pass (``epochs`` > 1 is a ValueError, before training)."""

    def __init__(self, source, epochs=1):
        self.source = source
        self.one_shot = hasattr(source, "__next__")  # an iterator (a generator): its __iter__ is itself
        self._used = False
        if self.one_shot and epochs > 1:
            raise ValueError(f"X is a one-shot iterator of chunks ({type(source).__name__}), which makes one pass, "
                             f"but epochs={epochs}: pass a list of chunks or an object whose __iter__ starts a new "
                             "pass (such as gd.data.svmlight)")

    def chunks(self):
        """One pass: (index, X, y, weight or None) per chunk; a chunk that is not such a tuple is a TypeError, a
        source with no chunk a ValueError."""
        if self.one_shot and self._used:
            raise ValueError("X is a one-shot iterator of chunks and its pass has been made")
        self._used = True
        index = -1
        for index, chunk in enumerate(self.source):
            if not isinstance(chunk, tuple) or len(chunk) not in (2, 3):
                raise TypeError(f"chunk {index} of X must be a tuple (X, y) or (X, y, sample_weight), got "
                                f"{type(chunk).__name__}" + (f" of {len(chunk)}" if isinstance(chunk, tuple) else ""))
            kind = _kind(chunk[0], index)
            first = kind if index == 0 else first
            if kind != first:
                raise ValueError(f"chunk {index} of X has {kind[0]} features, dtype {kind[1]} and is "
                                 f"{'sparse' if kind[2] else 'dense'}; chunk 0 has {first[0]}, {first[1]} and is "
                                 f"{'sparse' if first[2] else 'dense'}")
            yield (index, *chunk) if len(chunk) == 3 else (index, chunk[0], chunk[1], None)
        if index < 0:
            raise ValueError("X, a stream of chunks, holds no chunk")


def _kind(X, index):
    """(features, dtype, sparse) of a chunk's X, which every chunk of a stream shares."""
    if not (sp.issparse(X) or isinstance(X, np.ndarray)) or X.ndim != 2:
        raise TypeError(f"chunk {index} of X: X must be a 2-D numpy.ndarray or scipy.sparse matrix, got "
                        f"{type(X).__name__}" + (f" of shape {X.shape}" if hasattr(X, "shape") else ""))
    return X.shape[1], X.dtype, sp.issparse(X)


def segments(chunks, shuffle, buffer_rows):
    """The segments of one pass: (first chunk's index, X, y, weight, order, positions): the rows to train in
    ``order`` (None: a random order, drawn by the trainer, whose random stream is set up by the first chunk)
    and each row's position in the pass (from 0, for the holdout)."""
    position = 0
    if not shuffle:
        for index, X, y, weight in chunks:
            n = X.shape[0]
            yield index, X, y, weight, np.arange(n, dtype=np.int64), np.arange(position, position + n)
            position += n
        return
    window = []
    for chunk in chunks:
        window.append(chunk)
        if sum(c[1].shape[0] for c in window) >= buffer_rows:
            yield _window(window, position)
            position += sum(c[1].shape[0] for c in window)
            window = []
    if window:
        yield _window(window, position)


def _window(window, position):
    """Consecutive chunks as one segment, to be trained in a random order of all their rows."""
    index = window[0][0]
    if len(window) == 1:
        _, X, y, weight = window[0]
    else:
        X = concatenate([c[1] for c in window], index)
        y = np.concatenate([np.asarray(c[2]) for c in window])
        weight = (None if all(c[3] is None for c in window) else
                  np.concatenate([np.ones(c[1].shape[0]) if c[3] is None else np.asarray(c[3], np.float64)
                                  for c in window]))
    n = X.shape[0]
    return index, X, y, weight, None, np.arange(position, position + n)


def concatenate(blocks, index=0):
    """Row blocks (all dense or all sparse) as one matrix; CSR for sparse blocks."""
    if all(sp.issparse(b) for b in blocks):
        return sp.vstack(blocks, format="csr")
    if any(sp.issparse(b) for b in blocks):
        raise ValueError(f"chunks from {index} on mix dense and sparse X")
    return np.concatenate(blocks)


def rows(X, y, weight, order):
    """The rows ``order`` of a chunk, copied: (X, y, weight)."""
    return X[order], np.asarray(y)[order], None if weight is None else np.asarray(weight)[order]


def joined(first, second):
    """Two (X, y, weight) row sets as one, in this order."""
    X = concatenate([first[0], second[0]])
    y = np.concatenate([first[1], second[1]])
    if first[2] is None and second[2] is None:
        return X, y, None
    weights = [np.ones(part[0].shape[0]) if part[2] is None else part[2] for part in (first, second)]
    return X, y, np.concatenate(weights)
