"""gd.hogwild.factorize: lock-free SGD matrix factorization."""
import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd


def low_rank(n_users=300, n_items=200, rank=3, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    L, R = rng.standard_normal((n_users, rank)), rng.standard_normal((n_items, rank))
    u, v = np.nonzero(rng.random((n_users, n_items)) < density)
    M = sp.csr_matrix((np.einsum("ij,ij->i", L[u], R[v]), (u, v)), shape=(n_users, n_items))
    test = rng.random(M.nnz) < 0.1
    coo = M.tocoo()
    part = lambda keep: sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=M.shape)  # noqa: E731
    return part(~test), part(test)


def test_sgd_recovers_a_low_rank_matrix():
    train, test = low_rank()
    f = gd.hogwild.factorize(train, 3, "sgd", epochs=60, lr=0.03, mu=0.001, n_threads=1, test=test,
                             random_state=0, progress=False)
    rmse = [h["test_rmse"] for h in f.history_]
    assert rmse[-1] < 0.1 * rmse[0] and rmse[-1] < 0.15
    assert f.rmse(test) == pytest.approx(rmse[-1])
    assert f.optimizer_.t == 60 * train.nnz


def test_float32_ratings_train_in_float32():
    train, test = low_rank(seed=2)
    train32, test32 = train.astype(np.float32), test.astype(np.float32)
    f = gd.hogwild.factorize(train32, 3, "adam", epochs=30, lr=0.02, n_threads=2, test=test32, random_state=0,
                             progress=False)
    assert f.user_factors.dtype == np.float32 and f.history_[-1]["test_rmse"] < 0.2 * f.history_[0]["test_rmse"]


def test_one_thread_is_deterministic_and_two_threads_converge():
    """Two threads race on the 200 item rows (lost updates, Adagrad's G included), so they follow another
    trajectory, slower the more the threads overlap (under a sanitizer, say); they still converge."""
    train, test = low_rank(seed=1)
    runs = [gd.hogwild.factorize(train, 3, "adagrad", epochs=20, lr=0.2, n_threads=k, test=test,
                                 random_state=0, progress=False) for k in (1, 1, 2)]
    np.testing.assert_array_equal(runs[0].user_factors, runs[1].user_factors)
    rmse = [h["test_rmse"] for h in runs[2].history_]
    assert rmse[-1] < 0.5 * rmse[0] and np.isfinite(runs[2].user_factors).all()


def test_the_step_matches_the_formula():
    """One rating, one SGD step: L_u -= lr (e R_v + mu/deg L_u), R_v -= lr (e L_u + mu/deg R_v)."""
    M = sp.csr_matrix(([2.0], ([0], [1])), shape=(1, 2))
    f = gd.hogwild.factorize(M, 2, "sgd", epochs=1, lr=0.1, mu=0.5, n_threads=1, init_scale=1.0, random_state=3,
                             progress=False)
    rng = np.random.default_rng(3)
    L, R = rng.standard_normal((1, 2)), rng.standard_normal((2, 2))
    e = L[0] @ R[1] - 2.0
    np.testing.assert_allclose(f.user_factors[0], L[0] - 0.1 * (e * R[1] + 0.5 * L[0]))
    np.testing.assert_allclose(f.item_factors[1], R[1] - 0.1 * (e * L[0] + 0.5 * R[1]))
    np.testing.assert_array_equal(f.item_factors[0], R[0])


@pytest.mark.parametrize("M, kwargs, error, match", [
    (np.ones((2, 2)), {}, TypeError, "scipy.sparse matrix"),
    (sp.csr_matrix(np.ones((2, 2), np.int64)), {}, TypeError, "does not cast"),
    (sp.csr_matrix((2, 2)), {}, ValueError, "no stored entries"),
    (sp.csr_matrix(np.ones((2, 2))), {"rank": 0}, ValueError, "rank must be an int >= 1"),
    (sp.csr_matrix(np.ones((2, 2))), {"optimizer": "lbfgs"}, ValueError, "optimizer must be one of"),
    (sp.csr_matrix(np.ones((2, 2))), {"n_threads": 0}, ValueError, "n_threads"),
])
def test_bad_input(M, kwargs, error, match):
    kwargs = {"rank": 2, **kwargs}
    with pytest.raises(error, match=match):
        gd.hogwild.factorize(M, progress=False, **kwargs)
