"""Hogwild!'s hot features: the features most rows hold, kept on per-thread replicas (csrc/linear_impl.h)."""
import numpy as np


class HotFeatures:
    """Hogwild! with batches of one example: the features present in at least 1% of the rows (at most MAX_HOT,
    most frequent first) and b live on per-thread replicas in the C loop (csrc/linear_impl.h), merged into the
    shared W every MERGE_EVERY steps. The loop reads ``bits`` (one bit per feature: hot or not) per nonzero and
    ``slot`` (one int32 per feature: its replica row) per hot nonzero; X, W and the optimizer state stay as they
    are.

    The frequencies are counted on a sample of SAMPLE_BLOCKS evenly spread blocks of rows (SAMPLE_ROWS in all),
    so that choosing costs a small share of an epoch whatever n is; a feature in 1% of the rows is in about
    SAMPLE_ROWS / 100 sampled rows, and one just under the threshold is as good a choice as one just over it."""

    MAX_HOT, SHARE, MERGE_EVERY = 1024, 0.01, 1024
    SAMPLE_ROWS, SAMPLE_BLOCKS = 65536, 64
    # The rules whose state a merge may sum thread by thread: none, or sums (Adagrad's G, FTRL's z and n). A
    # decaying average (Adam's v, RMSprop's E[g^2], ...) summed over threads' changes can go below 0 (a NaN at its
    # square root), a velocity comes out doubled: those rules share their hot rows as they share the cold ones.
    MERGEABLE_RULES = ("sgd", "adagrad", "ftrl")

    def __init__(self, features, d):
        self.features = np.ascontiguousarray(features, np.int64)  # replica row s -> the feature
        self.slot = np.full(d, -1, np.int32)
        self.slot[self.features] = np.arange(len(self.features), dtype=np.int32)
        hot = np.zeros(-(-d // 64) * 64, bool)
        hot[self.features] = True
        self.bits = np.packbits(hot, bitorder="little").view(np.uint64)  # bit j of word j // 64: little-endian

    @property
    def n_hot(self):
        return len(self.features)

    @classmethod
    def choose(cls, arrays, n, d, threads, batch_size, rule):
        """The hot features of CSR arrays (indptr, indices, data), or None where Hogwild! keeps no replicas."""
        if threads == 1 or batch_size != 1 or isinstance(arrays, np.ndarray) or rule not in cls.MERGEABLE_RULES:
            return None
        counts, rows = cls._sample_counts(arrays[0], arrays[1], n, d)
        hot = np.flatnonzero(counts >= max(1, cls.SHARE * rows))
        hot = hot[np.argsort(-counts[hot], kind="stable")][:cls.MAX_HOT]
        return cls(hot, d) if len(hot) else None

    @classmethod
    def _sample_counts(cls, indptr, indices, n, d):
        """(how many sampled rows hold each feature, the number of rows sampled): every row when n is at most
        SAMPLE_ROWS, else SAMPLE_BLOCKS blocks of contiguous rows spread over X (their indices gathered: the
        sample's size, not X's)."""
        if n <= cls.SAMPLE_ROWS:
            return np.bincount(indices[:int(indptr[-1])], minlength=d), n
        block = cls.SAMPLE_ROWS // cls.SAMPLE_BLOCKS
        starts = np.linspace(0, n - block, cls.SAMPLE_BLOCKS).astype(np.int64)
        sample = np.concatenate([indices[int(indptr[s]):int(indptr[s + block])] for s in starts])
        return np.bincount(sample, minlength=d), block * cls.SAMPLE_BLOCKS

    def kernel_args(self):
        """The C model's hot-feature arguments (gdfast._kernels.LinearModel)."""
        return {"hot_bits": self.bits, "hot_slot": self.slot, "hot_features": self.features, "merge_every": self.MERGE_EVERY}
