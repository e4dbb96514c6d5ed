"""gd.data.svmlight: svmlight/LIBSVM files read in chunks, against scikit-learn's load_svmlight_file, and trained
on as a stream."""
import bz2
import gzip
import os
import threading

import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from gdfast import _kernels, data

sklearn_datasets = pytest.importorskip("sklearn.datasets")

OPENERS = {"": open, ".gz": gzip.open, ".bz2": bz2.open}


def write(path, lines, suffix=""):
    """A file of the given text lines (plain, .gz or .bz2); its path."""
    path = str(path) + suffix
    with OPENERS[suffix](path, "wb") as f:
        f.write("".join(lines).encode())
    return path


def problem(n=500, d=30, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=0.2, format="csr", random_state=seed, data_rvs=rng.standard_normal)
    y = np.where(X @ rng.standard_normal(d) > 0, 1.0, -1.0)
    return X, y


def dumped(tmp_path, X, y, suffix="", zero_based=False):
    """X, y written by scikit-learn's dump_svmlight_file (16 significant digits: read back, X differs in the last
    bit), compressed by suffix."""
    plain = str(tmp_path / ("dump.svm" if zero_based else "dump1.svm"))
    sklearn_datasets.dump_svmlight_file(X, y, plain, zero_based=zero_based)
    with open(plain) as f:
        return write(tmp_path / f"data{int(zero_based)}.svm", f.readlines(), suffix)


def joined(source):
    """The chunks of a source, concatenated."""
    chunks = list(source)
    return sp.vstack([X for X, _ in chunks]).tocsr(), np.concatenate([y for _, y in chunks]), chunks


@pytest.mark.parametrize("suffix", ["", ".gz", ".bz2"])
@pytest.mark.parametrize("zero_based", [False, True])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_chunks_hold_what_scikit_learn_reads(tmp_path, suffix, zero_based, dtype):
    X, y = problem()
    path = dumped(tmp_path, X, y, suffix, zero_based)
    ours, labels, chunks = joined(data.svmlight(path, X.shape[1], chunk_rows=64, dtype=dtype,
                                                zero_based=zero_based))
    theirs, their_labels = sklearn_datasets.load_svmlight_file(path, n_features=X.shape[1], dtype=dtype,
                                                               zero_based=zero_based)
    assert [c[0].shape[0] for c in chunks] == [64] * 7 + [52]
    assert all(c[0].dtype == dtype and c[0].shape[1] == X.shape[1] for c in chunks)
    assert (ours != theirs).nnz == 0 and ours.dtype == theirs.dtype
    np.testing.assert_array_equal(labels, their_labels)


def test_comments_blank_lines_qid_and_tabs(tmp_path):
    path = write(tmp_path / "a.svm", ["# a header\n", "1 qid:7 1:0.5\t3:2 # why\n", "\n", "-2.5 2:1e-3\n",
                                      "0   \n", "3 4:-7"])  # the last line lacks its newline
    X, y, _ = joined(data.svmlight(path, 4))
    np.testing.assert_array_equal(y, [1, -2.5, 0, 3])
    np.testing.assert_array_equal(X.toarray(), [[0.5, 0, 2, 0], [0, 1e-3, 0, 0], [0, 0, 0, 0], [0, 0, 0, -7]])


def test_a_larger_file_than_one_read_is_cut_at_lines(tmp_path, monkeypatch):
    """Chunks are cut every chunk_rows lines wherever the reads of BLOCK_BYTES fall."""
    X, y = problem(n=300)
    path = dumped(tmp_path, X, y)
    monkeypatch.setattr(data, "BLOCK_BYTES", 97)
    ours, labels, chunks = joined(data.svmlight(path, X.shape[1], chunk_rows=7))
    theirs, their_labels = sklearn_datasets.load_svmlight_file(path, n_features=X.shape[1])
    assert [c[0].shape[0] for c in chunks] == [7] * 42 + [6]
    assert (ours != theirs).nnz == 0
    np.testing.assert_array_equal(labels, their_labels)


@pytest.mark.parametrize("line, message", [
    ("one 1:2\n", "line 3: the label is not a number"),
    ("1 x:2\n", "line 3: a feature is not <index>:<value>"),
    ("1 2\n", "line 3: a feature is not <index>:<value>"),
    ("1 2:abc\n", "line 3: a feature's value is not a finite float64 number"),
    ("1 2:nan\n", "line 3: a feature's value is not a finite float64 number"),
    ("1 2:1e999\n", "line 3: a feature's value is not a finite float64 number"),
    ("1 6:1\n", r"line 3: a feature index is outside \[1, 5\]"),
    ("1 0:1\n", "line 3: .*pass zero_based=True"),
    ("1 -3:1\n", "line 3: a feature index is outside"),
    ("1 99999999999999999999:1\n", "line 3: a feature index is outside"),
])
def test_a_malformed_line_is_a_value_error_naming_file_and_line(tmp_path, line, message):
    path = write(tmp_path / "bad.svm", ["1 1:1\n", "-1 2:1\n", line, "1 3:1\n"])
    with pytest.raises(ValueError, match=f"bad.svm, {message}"):
        list(data.svmlight(path, 5))


def test_nothing_of_a_bad_chunk_is_trained_on(tmp_path):
    """The chunk is parsed whole before any of it reaches the trainer: the model after the error is the one
    trained on the chunks before it."""
    X, y = problem(n=40)
    good = dumped(tmp_path, X, y)
    with open(good) as f:
        lines = f.readlines()
    bad = write(tmp_path / "bad.svm", lines + lines[:5] + ["1 1:x\n"] + lines[5:20])
    X, y = sklearn_datasets.load_svmlight_file(good, n_features=X.shape[1])
    options = dict(batch_size=1, shuffle=False, n_threads=1, progress=False, classes=[-1.0, 1.0])
    trainer = gd.Trainer("logistic", "sgd", lr=0.1, **options)
    with pytest.raises(ValueError, match="bad.svm, line 46"):
        trainer.fit(data.svmlight(bad, X.shape[1], chunk_rows=40), None, epochs=1)
    expected = gd.fit("logistic", X, y, "sgd", lr=0.1, epochs=1, **options)
    np.testing.assert_array_equal(trainer.model.coef_, expected.coef_)


def test_a_missing_file_is_refused_before_training(tmp_path):
    present = write(tmp_path / "a.svm", ["1 1:1\n"])
    with pytest.raises(FileNotFoundError, match="missing.svm"):
        data.svmlight([present, str(tmp_path / "missing.svm")], 3)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"paths": []}, ValueError, "paths must name at least one"),
    ({"dtype": np.int32}, TypeError, "dtype must be float32 or float64, got int32"),
    ({"zero_based": 0}, TypeError, "zero_based must be True or False"),
    ({"prefetch": "yes"}, TypeError, "prefetch must be True or False"),
    ({"n_features": 2.5}, TypeError, "n_features must be an int"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, error, match):
    arguments = {"paths": write(tmp_path / "a.svm", ["1 1:1\n"]), "n_features": 3, **kwargs}
    with pytest.raises(error, match=match):
        data.svmlight(**arguments)


@pytest.mark.parametrize("rule", ["sgd", "adagrad", "adam"])
def test_training_from_files_is_bitwise_the_in_memory_fit(tmp_path, rule):
    """Two files (one gzipped), 50-line chunks, prefetched or not: shuffle=False and one thread give the model of
    fitting the matrix scikit-learn reads from them."""
    X, y = problem(n=600)
    first = dumped(tmp_path, X[:250], y[:250])
    os.rename(first, first + ".first")
    second = dumped(tmp_path, X[250:], y[250:], ".gz")
    paths = [first + ".first", second]
    X, y = sp.vstack([sklearn_datasets.load_svmlight_file(p, n_features=X.shape[1])[0] for p in paths]).tocsr(), y
    options = dict(batch_size=8, shuffle=False, n_threads=1, progress=False, lr=0.05, alpha=1e-4)
    whole = gd.fit("logistic", X, y, rule, epochs=3, **options)
    for prefetch in (True, False):
        source = data.svmlight(paths, X.shape[1], chunk_rows=50, prefetch=prefetch)
        streamed = gd.fit("logistic", source, None, rule, epochs=3, **options)
        np.testing.assert_array_equal(streamed.coef_, whole.coef_)
        np.testing.assert_array_equal(streamed.intercept_, whole.intercept_)


def test_a_reader_stopped_early_ends_its_thread(tmp_path):
    X, y = problem(n=400)
    source = data.svmlight(dumped(tmp_path, X, y), X.shape[1], chunk_rows=10)
    before = threading.active_count()
    chunks = iter(source)
    next(chunks)
    chunks.close()  # the consumer stops: the reader must not stay blocked on a full queue
    for thread in threading.enumerate():
        if thread.name == "gdfast-reader":
            thread.join(timeout=5)
    assert threading.active_count() == before


def test_a_reader_error_reaches_the_caller(tmp_path):
    def failing():
        yield 1
        raise OSError("disk gone")

    items = data._prefetched(failing())
    assert next(items) == 1
    with pytest.raises(OSError, match="disk gone"):
        next(items)


def test_numbers_are_read_as_strtod_reads_them():
    """The parser's own decimal reading (csrc/svmlight.c) gives the correctly rounded double of every form a
    file may hold, labels and values, as Python's float(), and falls back where it cannot (hex, long digits)."""
    rng = np.random.default_rng(0)
    formats = ["%r", "%.16g", "%.17g", "%.6f", "%e", "%.3e", "%.15g", "%.1f", "%.20f", "%.10E", "+%.5g"]
    values = np.abs(rng.standard_normal(40000)) * 10.0 ** rng.integers(-30, 30, 40000)
    values[::2] *= -1
    texts = [(fmt % abs(x)) if fmt[0] == "+" else repr(float(x)) if fmt == "%r" else fmt % x
             for x, fmt in zip(values, rng.choice(formats, values.size))]
    texts += ["0", "-0", "-0.0", "1.", "+.5", ".5", "9007199254740993", "9007199254740992", "1e22", "1e23",
              "123456789012345678901234", "0.000000000000000000000000001", "4.9e-324", "1.7976931348623157e308",
              "00000000001.5", "1E5", "2e+3", "0x1p3", "18446744073709551617"]
    text = "".join(f"{t} 1:{t}\n" for t in texts).encode()
    code, _, y, _, _, data64 = _kernels.svmlight_parse(text, 2, False, True)
    expected = np.array([float.fromhex(t) if t.startswith("0x") else float(t) for t in texts])
    assert code == _kernels.SVM_OK
    np.testing.assert_array_equal(y.view(np.int64), expected.view(np.int64))  # -0.0 too
    np.testing.assert_array_equal(data64.view(np.int64), expected.view(np.int64))


def test_a_value_beyond_float32_is_refused_for_float32(tmp_path):
    path = write(tmp_path / "big.svm", ["1 1:3e38\n", "1 1:4e38\n"])
    assert list(data.svmlight(path, 2))[0][0][1, 0] == 4e38
    with pytest.raises(ValueError, match="line 2: a feature's value is not a finite float32 number"):
        list(data.svmlight(path, 2, dtype=np.float32))


LIMITED_CHILD = """
import resource, sys
import numpy as np, scipy.sparse as sp
import gdfast as gd

mode, path, n_features, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open("/proc/self/status") as f:
    data_now = next(int(line.split()[1]) for line in f if line.startswith("VmData")) * 1024
limit = data_now + (64 << 20)  # 64 MB more than this process holds after its imports
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
if mode == "load":  # the limit binds: the file's rows do not fit in memory
    try:
        sp.vstack([X for X, _ in gd.data.svmlight(path, n_features)])
    except MemoryError:
        sys.exit(0)
    sys.exit("the file's rows fit under the limit")
model = gd.fit("logistic", gd.data.svmlight(path, n_features), None, "sgd", lr=0.05, batch_size=1, epochs=1,
               shuffle=False, n_threads=1, progress=False, classes=[0.0, 1.0])
np.save(out, model.coef_)
"""


def test_a_file_larger_than_the_memory_limit_of_a_child_trains_to_the_in_memory_model(tmp_path):
    """A child process whose memory (RLIMIT_DATA) is 64 MB above what its imports take cannot hold the file's
    rows (~160 MB of CSR: loading them is a MemoryError there), yet another such child trains on the file to
    the model the parent fits on those rows in memory."""
    import subprocess
    import sys
    rng = np.random.default_rng(0)
    n_features, rows, copies = 4096, 10000, 170
    indices = np.sort(rng.choice(n_features, (rows, 8)), axis=1)  # duplicates kept, as a file may hold them
    values = np.round(rng.random((rows, 8)), 3)
    labels = rng.integers(0, 2, rows)
    lines = [f"{labels[i]} " + " ".join(f"{j + 1}:{v:g}" for j, v in zip(indices[i], values[i])) + "\n"
             for i in range(rows)]
    path = write(tmp_path / "big.svm", lines * copies)
    assert os.path.getsize(path) > 128 << 20
    out = tmp_path / "coef.npy"
    for mode in ("load", "train"):
        child = subprocess.run([sys.executable, "-c", LIMITED_CHILD, mode, path, str(n_features), str(out)],
                               capture_output=True, text=True, timeout=300)
        assert child.returncode == 0, f"{mode}: {child.stderr[-2000:]}"
    block = sp.csr_matrix((values.ravel(), indices.ravel(), np.arange(0, 8 * rows + 1, 8)), (rows, n_features))
    block.sum_duplicates()
    X = sp.vstack([block] * copies, format="csr")
    expected = gd.fit("logistic", X, np.tile(labels, copies).astype(float), "sgd", lr=0.05, batch_size=1, epochs=1,
                      shuffle=False, n_threads=1, progress=False, classes=[0.0, 1.0])
    np.testing.assert_array_equal(np.load(out), expected.coef_)


def test_random_bytes_never_crash_the_parser():
    """Mutated files (random bytes, NULs, colons, newlines, digits): the parser returns a code, and what it
    accepts has every index in range and every value finite (run under AddressSanitizer by .ci/sanitize)."""
    rng = np.random.default_rng(0)
    base = b"1 qid:2 1:0.5 3:-2e-3 # c\n-1 2:7\n\n0 4:1.25e+2 5:3\n"
    alphabet = np.frombuffer(b"0123456789:.-+eE #\n\t\x00xinfa qid", np.uint8)
    for _ in range(3000):
        text = bytearray(base * int(rng.integers(1, 4)))
        for _ in range(int(rng.integers(1, 6))):
            at = int(rng.integers(0, len(text) + 1))
            piece = rng.choice(alphabet, int(rng.integers(1, 4))) if rng.random() < 0.8 else \
                rng.integers(0, 256, int(rng.integers(1, 4)), dtype=np.uint8)
            text[at:at + int(rng.integers(0, 3))] = bytes(piece)
        n_features, zero_based, is_double = int(rng.integers(1, 8)), *(bool(b) for b in rng.random(2) < 0.5)
        code, bad, y, indptr, indices, values = _kernels.svmlight_parse(bytes(text), n_features, zero_based,
                                                                        is_double)
        assert code in (_kernels.SVM_OK, _kernels.SVM_LABEL, _kernels.SVM_INDEX, _kernels.SVM_VALUE,
                        _kernels.SVM_RANGE)
        assert indptr[0] == 0 and indptr[-1] == indices.size == values.size and y.size == indptr.size - 1
        assert np.all((indices >= 0) & (indices < n_features)) and np.isfinite(values).all()
        assert (bad >= 0) == (code != _kernels.SVM_OK)
