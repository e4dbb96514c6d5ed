"""CPU torch tensors in place (issue 17, parts 1 and 6): every optimizer and functional kernel steps float32 and
float64 tensors in their own memory (same data_ptr, same numbers as on ndarrays), takes torch's sparse COO
gradients (nn.Embedding(sparse=True)'s, coalesced or not) as RowSparse, and refuses what it cannot step in place;
steps from several threads on one optimizer are serialized."""
import numpy as np
import pytest
import torch

import gdfast as gd
from conftest import in_threads

DTYPES = [torch.float32, torch.float64]


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("name", sorted(gd.OPTIMIZERS))
def test_every_optimizer_steps_a_tensor_in_place_as_it_steps_an_array(name, dtype):
    gen = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(50, 3, dtype=dtype, generator=gen))
    b = torch.randn(3, dtype=dtype, generator=gen)
    arrays = [w.detach().numpy().copy(), b.numpy().copy()]
    pointers = [w.data_ptr(), b.data_ptr()]
    opt, reference = gd.OPTIMIZERS[name]([w, b]), gd.OPTIMIZERS[name](arrays)
    for _ in range(5):
        grads = [torch.randn(50, 3, dtype=dtype, generator=gen), torch.randn(3, dtype=dtype, generator=gen)]
        opt.step(grads)
        reference.step([g.numpy() for g in grads])
    assert [w.data_ptr(), b.data_ptr()] == pointers and opt.params[0] is w
    np.testing.assert_array_equal(w.detach().numpy(), arrays[0])
    np.testing.assert_array_equal(b.numpy(), arrays[1])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_functional_kernels_take_tensors_for_param_grad_and_state(dtype):
    p, m, v = torch.ones(10, dtype=dtype), torch.zeros(10, dtype=dtype), torch.zeros(10, dtype=dtype)
    arrays = [a.numpy().copy() for a in (p, m, v)]
    g = torch.linspace(-1, 1, 10, dtype=dtype)
    gd.kernels.adam(p, g, m, v, t=1, lr=0.1)
    gd.kernels.adam(arrays[0], g.numpy(), *arrays[1:], t=1, lr=0.1)
    for tensor, array in zip((p, m, v), arrays):
        np.testing.assert_array_equal(tensor.numpy(), array)


@pytest.mark.parametrize("coalesce", [False, True], ids=["uncoalesced", "coalesced"])
@pytest.mark.parametrize("mode", ["lazy", "exact"])
def test_a_sparse_embedding_gradient_is_taken_as_its_rows(coalesce, mode):
    """nn.Embedding(sparse=True) gives an uncoalesced COO gradient, a row per lookup: the step equals the one
    on the RowSparse of the same rows (repeated rows summed)."""
    emb = torch.nn.Embedding(100, 8, sparse=True, dtype=torch.float64)
    table = emb.weight.detach().numpy().copy()
    opt, reference = gd.Adam(emb.parameters(), lr=0.01, sparse=mode), gd.Adam([table], lr=0.01, sparse=mode)
    for ids in ([[1, 2, 2, 5]], [[7, 1, 99, 7]]):
        emb.zero_grad()
        emb(torch.tensor(ids)).pow(2).sum().backward()
        grad = emb.weight.grad.coalesce() if coalesce else emb.weight.grad
        assert grad.is_coalesced() == coalesce
        opt.step(grad)
        rows = grad._indices()[0].numpy()
        reference.step(gd.RowSparse(rows, grad._values().numpy()))
    opt.flush(), reference.flush()
    np.testing.assert_allclose(emb.weight.detach().numpy(), table, rtol=1e-15, atol=0)


@pytest.mark.parametrize("make, error, match", [
    (lambda: gd.SGD([torch.zeros(3, dtype=torch.int64)]), TypeError, r"params\[0\] is a torch tensor of torch.int64"),
    (lambda: gd.SGD([torch.zeros(3, dtype=torch.float16)]), TypeError, "does not cast"),
    (lambda: gd.SGD([torch.zeros(4, 4)[:, 0]]), ValueError, r"params\[0\] must be C-contiguous.*tensor.contiguous"),
    (lambda: gd.SGD([torch.zeros(4).to_sparse()]), TypeError, r"params\[0\] is a torch.sparse_coo torch tensor"),
    (lambda: gd.SGD([torch.zeros(4)]).step(torch.zeros(4, dtype=torch.float64)), TypeError,
     r"grads\[0\] has dtype float64 but its parameter is float32"),
    (lambda: gd.SGD([torch.zeros(4, 2)]).step(torch.zeros(5, 2).to_sparse()), ValueError,
     r"grads\[0\] has shape \(5, 2\) but its parameter has shape \(4, 2\)"),
    (lambda: gd.SGD([torch.zeros(4, 2)]).step(torch.zeros(4, 2).to_sparse(2)), ValueError, "2 sparse dimensions"),
    (lambda: gd.SGD([torch.zeros(4, 2)]).step(torch.sparse_coo_tensor([[0, 9]], torch.ones(2, 2), (4, 2))),
     ValueError, r"rows\[1\] = 9 is outside \[0, 4\)"),
    (lambda: gd.kernels.sgd(torch.zeros(3), torch.zeros(3, dtype=torch.int32), t=1), TypeError,
     r"grad is a torch tensor of torch.int32"),
])
def test_tensors_it_cannot_step_in_place_are_refused_by_name(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_a_module_s_parameters_are_stepped_in_place():
    model = torch.nn.Linear(4, 2, dtype=torch.float64)
    opt = gd.SGD(model.parameters(), lr=0.5)
    x = torch.ones(3, 4, dtype=torch.float64)
    model(x).sum().backward()
    before = model.weight.detach().clone()
    opt.step([p.grad for p in model.parameters()])
    torch.testing.assert_close(model.weight.detach(), before - 0.5 * 3 * torch.ones(2, 4, dtype=torch.float64))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "row-sparse"])
def test_steps_from_two_threads_are_serialized(sparse):
    """200 steps from each of two threads equal 400 serial steps (each Adam step is one, with its own t: with
    the same gradient every time, any order of them gives the serial result exactly)."""
    n = 10**6 if not sparse else 10**5
    shape = (n,) if not sparse else (n // 10, 10)
    rng = np.random.default_rng(0)
    g = rng.standard_normal(shape)
    if sparse:
        rows = np.sort(rng.choice(shape[0], 1000, replace=False))
        g = gd.RowSparse(rows, g[rows])
    w, serial = np.zeros(shape), np.zeros(shape)
    opt, reference = gd.Adam([w], lr=1e-3, sparse="exact"), gd.Adam([serial], lr=1e-3, sparse="exact")
    in_threads(lambda: [opt.step(g) for _ in range(200)])
    for _ in range(400):
        reference.step(g)
    opt.flush(), reference.flush()
    assert opt.t == 400
    np.testing.assert_array_equal(w, serial)
