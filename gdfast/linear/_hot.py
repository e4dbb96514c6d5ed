"""Hogwild!'s hot features: the features most rows hold, kept on per-thread replicas (csrc/linear_impl.h)."""
import numpy as np

from . import losses


class HotFeatures:
    """Hogwild! with batches of one example: the features present in at least 1% of the rows (at most
    MAX_HOT, most frequent first) are renumbered 0..n_hot-1, so the C loop keeps them (and b) on per-thread
    replicas (csrc/linear_impl.h); training runs on renumbered copies of X's indices, W and its state, mapped
    back at the end."""

    MAX_HOT, SHARE, MERGE_EVERY = 1024, 0.01, 1024
    # The rules whose state a merge may sum thread by thread: none, or sums (Adagrad's G, FTRL's z and n). A
    # decaying average (Adam's v, RMSprop's E[g^2], ...) summed over threads' changes can go below 0 (a NaN at its
    # square root), a velocity comes out doubled: those rules share their hot rows as they share the cold ones.
    MERGEABLE_RULES = ("sgd", "adagrad", "ftrl")

    def __init__(self, perm):
        self.perm = perm  # internal feature -> the user's
        self.inverse = np.empty_like(perm)
        self.inverse[perm] = np.arange(len(perm))

    @classmethod
    def choose(cls, arrays, n, d, threads, batch_size, rule):
        if threads == 1 or batch_size != 1 or isinstance(arrays, np.ndarray) or rule not in cls.MERGEABLE_RULES:
            return None
        counts = np.bincount(arrays[1][:int(arrays[0][-1])], minlength=d)
        hot = np.flatnonzero(counts >= max(1, cls.SHARE * n))
        hot = hot[np.argsort(-counts[hot], kind="stable")][:cls.MAX_HOT]
        if not len(hot):
            return None
        rest = np.setdiff1d(np.arange(d), hot, assume_unique=True)
        found = cls(np.concatenate([hot, rest]))
        found.n_hot = len(hot)
        return found

    def kernel_args(self):
        return self.n_hot, self.MERGE_EVERY

    def renumbered(self, arrays, y_enc, n, d, weight=None):
        """The examples with features renumbered (each row sorted again, on copies)."""
        import scipy.sparse as sp
        indptr, indices, data = arrays
        X = sp.csr_matrix((data.copy(), self.inverse[indices].astype(indices.dtype), indptr.copy()), shape=(n, d))
        X.has_sorted_indices = False
        X.sort_indices()
        self.arrays = (X.indptr, X.indices, X.data)  # kept alive with the LinearData
        return losses.data(self.arrays, y_enc, n, d, weight)

    def to_internal(self, W, b, opt):
        """W and an optimizer over [renumbered W, b] with the state renumbered alike."""
        W_internal = W[self.perm]
        state = opt.state_dict()
        for name in opt.rule.slots:
            state[f"{name}.0"] = state[f"{name}.0"][self.perm]
        internal = type(opt)([W_internal, b], convention=opt.convention)
        internal.load_state_dict(state)
        return W_internal, internal

    def user_order(self, W_internal):
        return W_internal[self.inverse]

    def back(self, W_internal, internal, W, opt):
        """The user's W and optimizer, given the renumbered ones' values and state."""
        W[...] = self.user_order(W_internal)
        state = internal.state_dict()
        for name in opt.rule.slots:
            state[f"{name}.0"] = self.user_order(state[f"{name}.0"])
        opt.load_state_dict(state)
        return W, opt
