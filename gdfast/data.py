"""Sources of training data larger than memory: svmlight/LIBSVM files read in chunks, as re-iterable streams that
gd.fit, gd.Trainer and the estimators' partial_fit train on (each pass over the source an epoch, in bounded
memory), and a reader thread that makes the next chunk while the C loop trains on this one.

    source = gd.data.svmlight(["part-0.svm.gz", "part-1.svm.gz"], n_features=2**20)
    model = gd.fit("logistic", source, None, "adagrad", lr=0.1, epochs=5, holdout_period=10)

A file is read a block of lines at a time, plain, gzip (``.gz``) or bzip2 (``.bz2``) by its name, and parsed in C
(csrc/svmlight.c: the values scikit-learn's load_svmlight_file gives, many times faster; bench/bench_stream.py).
"""
import bz2
import gzip
import os
import queue
import threading

import numpy as np
import scipy.sparse as sp

from . import _kernels, _validate
from ._validate import COUNT, Integer

BLOCK_BYTES = 1 << 22  # the bytes read from a file at a time; a chunk's lines are cut out of these
# How far the reader thread parses ahead: a shuffled pass gathers a window of shuffle_buffer rows (65536 by
# default) before training on it, so a reader only one chunk ahead would wait through every window's training.
PREFETCH_ROWS = 65536
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open}


def svmlight(paths, n_features, *, chunk_rows=4096, dtype=np.float64, zero_based=False, prefetch=True):
    """A re-iterable source of (X, y) chunks of ``chunk_rows`` lines each from svmlight/LIBSVM files.

    paths: a file or a list of files, read in order, each plain, .gz or .bz2 (by its name); a missing file is a
    FileNotFoundError now, before any training. n_features: the width of X (every chunk's, which the model
    needs before the first chunk); an index at or beyond it is a ValueError naming the file and line.
    dtype: X's, float32 or float64 (no cast afterwards). zero_based: whether the file's feature indices start at
    0 (False, the default: they start at 1, as the svmlight and LIBSVM formats define them; scikit-learn's
    dump_svmlight_file writes 0-based files unless told otherwise). prefetch: parse on a reader thread, up to
    PREFETCH_ROWS (65536) rows ahead of training. Each ``iter()`` is a new pass over the files; X is a float CSR
    matrix, y float64.
    A malformed line is a ValueError naming the file and the line, raised before anything of its chunk is
    trained on.
    """
    return SvmlightSource(paths, n_features, chunk_rows=chunk_rows, dtype=dtype, zero_based=zero_based,
                          prefetch=prefetch)


class SvmlightSource:
    """svmlight/LIBSVM files as a re-iterable stream of (X, y) chunks (see :func:`svmlight`)."""

    def __init__(self, paths, n_features, *, chunk_rows=4096, dtype=np.float64, zero_based=False, prefetch=True):
        paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
        if not paths:
            raise ValueError("paths must name at least one svmlight file")
        for path in paths:
            if not os.path.isfile(path):
                raise FileNotFoundError(f"svmlight file not found: {os.fspath(path)!r}")
        n_features, chunk_rows = _validate.check({"n_features": Integer(1, 2**31 - 1), "chunk_rows": COUNT},
                                                 {"n_features": n_features, "chunk_rows": chunk_rows}).values()
        if np.dtype(dtype) not in (np.float32, np.float64):
            raise TypeError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        for name, flag in (("zero_based", zero_based), ("prefetch", prefetch)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        self.paths, self.n_features, self.chunk_rows = [os.fspath(p) for p in paths], n_features, chunk_rows
        self.dtype, self.zero_based, self.prefetch = np.dtype(dtype), bool(zero_based), bool(prefetch)

    def __iter__(self):
        chunks = (chunk for path in self.paths for chunk in self._file_chunks(path))
        return _prefetched(chunks, depth=-(-PREFETCH_ROWS // self.chunk_rows)) if self.prefetch else chunks

    def __repr__(self):
        return (f"svmlight({self.paths!r}, n_features={self.n_features}, chunk_rows={self.chunk_rows}, "
                f"dtype={self.dtype.name}, zero_based={self.zero_based})")

    def _file_chunks(self, path):
        """The (X, y) chunks of one file: its lines, chunk_rows at a time, parsed."""
        for block, text in enumerate(_line_blocks(path, self.chunk_rows)):
            chunk = self._parse(text, path, 1 + block * self.chunk_rows)  # every block but the last: chunk_rows lines
            if chunk[0].shape[0]:
                yield chunk

    def _parse(self, text, path, first_line):
        """A block of whole lines as (X, y), parsed in C (csrc/svmlight.c, the GIL released); a fault names its
        file and line."""
        code, bad, y, indptr, indices, data = _kernels.svmlight_parse(text, self.n_features, self.zero_based,
                                                                      self.dtype == np.float64)
        if code != _kernels.SVM_OK:
            line = text.split(b"\n")[bad][:120].decode("utf-8", "replace")
            raise ValueError(f"{path}, line {first_line + bad}: {self._fault(code)}: {line!r}")
        return sp.csr_matrix((data, indices, indptr), shape=(len(y), self.n_features)), y

    def _fault(self, code):
        low = 0 if self.zero_based else 1
        return {_kernels.SVM_CAPACITY: "the chunk holds 2^31 entries or more (int32 indices): lower chunk_rows",
                _kernels.SVM_LABEL: "the label is not a number",
                _kernels.SVM_INDEX: "a feature is not <index>:<value> with an integer index",
                _kernels.SVM_VALUE: f"a feature's value is not a finite {self.dtype.name} number",
                _kernels.SVM_RANGE: f"a feature index is outside [{low}, {self.n_features - 1 + low}] (n_features="
                                    f"{self.n_features}, " + ("0-based)" if self.zero_based else
                                    "1-based: pass zero_based=True for a file whose indices start at 0)")}[code]


def _line_blocks(path, lines):
    """The bytes of a file (plain, .gz or .bz2) in blocks of ``lines`` whole lines (the last may hold fewer and
    lack its newline), read BLOCK_BYTES at a time; a block's pieces are joined once (no copy per read)."""
    opener = _OPENERS.get(os.path.splitext(path)[1].lower(), open)
    pieces, pending = [], 0  # the bytes read since the last cut, and their newlines
    with opener(path, "rb") as f:
        while block := f.read(BLOCK_BYTES):
            newlines = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
            start = 0
            for end in newlines[lines - pending - 1::lines]:  # pending < lines: the first cut completes a block
                yield b"".join(pieces + [block[start:end + 1]])
                pieces, start = [], end + 1
            pieces.append(block[start:])
            pending = int(np.count_nonzero(newlines >= start)) + (pending if start == 0 else 0)
    rest = b"".join(pieces)
    if rest.strip():
        yield rest


def _prefetched(iterable, depth=1):
    """The items of ``iterable``, made on a reader thread up to ``depth`` ahead of the caller (so that parsing
    the next chunk overlaps training on this one: the C loop releases the GIL). An exception in the reader is
    raised in the caller; a caller that stops early stops the reader."""
    items, stop = queue.Queue(maxsize=depth), threading.Event()

    def read():
        try:
            for item in iterable:
                if not _put(items, ("item", item), stop):
                    return
            _put(items, ("end", None), stop)
        except BaseException as e:  # noqa: B902 - handed to the caller, which raises it
            _put(items, ("error", e), stop)

    reader = threading.Thread(target=read, name="gdfast-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()


def _put(items, item, stop):
    """Put item on the queue unless the caller has stopped; whether it was put."""
    while not stop.is_set():
        try:
            items.put(item, timeout=0.05)
            return True
        except queue.Full:
            continue
    return False
