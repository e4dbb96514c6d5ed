"""Gradient clipping on gdfast's optimizers (issue 17, part 5): clip_norm is torch.nn.utils.clip_grad_norm_ over
all of a step's gradients (sparse ones included) and clip_value clip_grad_value_, then the step; checked against
live torch, against the same step on gradients clipped beforehand, and for the norm's own arithmetic."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch

import gdfast as gd
import gdfast._kernels as K


def clipped(grads, clip_norm=None, clip_value=None):
    """The gradients as torch clips them (copies, float64)."""
    tensors = [torch.tensor(g) for g in grads]
    for t in tensors:
        t.grad = t.clone()
    if clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(tensors, clip_norm)
    if clip_value is not None:
        torch.nn.utils.clip_grad_value_(tensors, clip_value)
    return [t.grad.numpy() for t in tensors]


@pytest.mark.parametrize("clip", [dict(clip_norm=0.5), dict(clip_value=0.05), dict(clip_norm=0.5, clip_value=0.05)],
                         ids=["norm", "value", "both"])
@pytest.mark.parametrize("rule", sorted(gd.OPTIMIZERS))
def test_a_clipped_step_is_the_step_on_torch_s_clipped_gradients(rule, clip):
    rng = np.random.default_rng(0)
    params = [rng.standard_normal((6, 3)), rng.standard_normal(3)]
    copies = [p.copy() for p in params]
    opt, plain = gd.OPTIMIZERS[rule](params, **clip), gd.OPTIMIZERS[rule](copies)
    for _ in range(20):
        grads = [rng.standard_normal((6, 3)), 0.01 * rng.standard_normal(3)]
        opt.step(grads)
        plain.step(clipped(grads, **clip))
    for p, q in zip(params, copies):
        np.testing.assert_allclose(p, q, rtol=1e-12, atol=1e-15)


def test_a_torch_model_steps_as_clip_grad_norm_then_torch_adam():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()
    twin = [p.detach().clone().requires_grad_() for p in model.parameters()]
    ours = gd.Adam(model.parameters(), lr=0.01, convention="torch", clip_norm=0.5)
    theirs = torch.optim.Adam(twin, lr=0.01)
    x, y = torch.randn(32, 5, dtype=torch.float64), torch.randn(32, 1, dtype=torch.float64)
    for _ in range(100):
        model.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        for p, q in zip(twin, model.parameters()):
            p.grad = q.grad.clone()
        torch.nn.utils.clip_grad_norm_(twin, 0.5)
        theirs.step()
        ours.step([p.grad for p in model.parameters()])
    for p, q in zip(model.parameters(), twin):
        torch.testing.assert_close(p.detach(), q.detach(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["rows", "csr"])
def test_the_global_norm_counts_sparse_gradients_as_their_dense_matrix(kind):
    """A row-sparse gradient with a repeated row, and a CSR one with duplicates: the norm is that of the summed
    (dense) gradient, and the lazy step takes the scaled values."""
    rng = np.random.default_rng(1)
    table, bias = rng.standard_normal((10, 4)), rng.standard_normal(4)
    rows, values = np.array([3, 1, 3]), rng.standard_normal((3, 4))
    dense = np.zeros((10, 4))
    np.add.at(dense, rows, values)
    grad = gd.RowSparse(rows, values) if kind == "rows" else sp.coo_matrix(
        (values.ravel(), (np.repeat(rows, 4), np.tile(np.arange(4), 3))), shape=(10, 4)).tocsr(copy=False)
    g_bias = rng.standard_normal(4)
    norm = np.sqrt((dense ** 2).sum() + (g_bias ** 2).sum())
    factor = min(1.0, 0.3 / (norm + 1e-6))
    copies = [table.copy(), bias.copy()]
    gd.Adagrad([table, bias], lr=0.1, clip_norm=0.3).step([grad, g_bias])
    touched = np.unique(rows)
    gd.Adagrad(copies, lr=0.1).step([gd.RowSparse(touched, factor * dense[touched]), factor * g_bias])
    np.testing.assert_allclose(table, copies[0], rtol=1e-13)
    np.testing.assert_allclose(bias, copies[1], rtol=1e-13)


def test_the_sum_of_squares_is_the_same_on_any_number_of_threads():
    x = np.random.default_rng(2).standard_normal(3 * 10**6)
    totals, before = [], K.get_num_threads()
    for n in (1, 2):
        gd.set_num_threads(n)
        totals.append(K.sum_squares(x))
    gd.set_num_threads(before)
    assert totals[0] == totals[1]
    assert totals[0] == pytest.approx(float(x @ x), rel=1e-12)
    assert K.sum_squares(x.astype(np.float32)) == pytest.approx(float(x @ x), rel=1e-6)
    assert K.sum_squares(np.zeros(0)) == 0.0


def test_small_gradients_are_left_alone_and_nan_stays_nan():
    w = np.zeros(3)
    opt = gd.SGD([w], lr=1.0, clip_norm=10.0, clip_value=5.0)
    opt.step(np.array([1.0, -2.0, 3.0]))
    np.testing.assert_array_equal(w, [-1.0, 2.0, -3.0])
    opt.step(np.array([np.nan, 100.0, -100.0]))
    assert np.isnan(w[0])


def test_clipping_travels_with_the_optimizer(tmp_path):
    w = np.zeros(3)
    opt = gd.Momentum([w], clip_norm=0.5, clip_value=0.1)
    opt.save(tmp_path / "opt.npz")
    back = gd.load(tmp_path / "opt.npz")
    assert (back.clip_norm, back.clip_value) == (0.5, 0.1)
    g = np.array([3.0, -4.0, 0.01])
    opt.step(g), back.step(g)
    np.testing.assert_array_equal(back.params[0], w)


@pytest.mark.parametrize("kwargs, match", [(dict(clip_norm=0.0), r"clip_norm must be None or a real number in \(0"),
                                           (dict(clip_value=-1.0), r"clip_value must be None or a real number in \(0"),
                                           (dict(clip_norm="1"), "clip_norm must be")])
def test_bad_clipping_options(kwargs, match):
    with pytest.raises((TypeError, ValueError), match=match):
        gd.Adam([np.zeros(2)], **kwargs)
