"""gdfast.torch (issue 17, part 2): torch.optim drop-ins on gdfast's kernels. Each equals torch.optim over many
steps of a small model in float64 (param groups, a scheduler and a checkpoint exchanged with torch's optimizer
halfway, both ways), on sparse embeddings against SparseAdam and sparse Adagrad; torch's options gdfast does not
compute are refused; steps from two threads are serialized."""
import pickle

import numpy as np
import pytest
import torch

import gdfast as gd
import gdfast.torch as gt
from conftest import in_threads

X, Y = torch.randn(64, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)), \
    torch.randn(64, 1, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
CASES = [
    (gt.Adam, torch.optim.Adam, dict(lr=0.01)),
    (gt.Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (gt.Adam, torch.optim.Adam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (gt.AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (gt.SGD, torch.optim.SGD, dict(lr=0.05)),
    (gt.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, weight_decay=0.01)),
    (gt.SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, nesterov=True)),
    (gt.Adagrad, torch.optim.Adagrad, dict(lr=0.05, initial_accumulator_value=0.1, weight_decay=0.01)),
    (gt.Adadelta, torch.optim.Adadelta, dict(weight_decay=0.01)),
    (gt.RMSprop, torch.optim.RMSprop, dict(lr=0.01)),
    (gt.Adamax, torch.optim.Adamax, dict()),
    (gt.NAdam, torch.optim.NAdam, dict(weight_decay=0.01)),
]


def mlp():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()


@pytest.fixture
def float64_default():
    """torch keeps NAdam's mu_product in its default dtype: float64 here, as gdfast keeps it."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.mark.parametrize("ours, theirs, kwargs", CASES, ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)])
def test_equals_torch_optim_with_groups_a_scheduler_and_exchanged_checkpoints(ours, theirs, kwargs, float64_default):
    a, b = mlp(), mlp()
    groups = lambda m: [{"params": m[0].parameters(), "lr": kwargs.get("lr", 0.01) * 2},  # noqa: E731
                        {"params": m[2].parameters()}]
    opt_a, opt_b = ours(groups(a), **kwargs), theirs(groups(b), **kwargs)
    runs = [(a, opt_a, torch.optim.lr_scheduler.StepLR(opt_a, 10, 0.5)),
            (b, opt_b, torch.optim.lr_scheduler.StepLR(opt_b, 10, 0.5))]
    for step in range(100):
        for model, opt, scheduler in runs:
            opt.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
            opt.step()
            scheduler.step()
        if step == 50:  # ours into torch's, torch's into ours
            mine, torchs = opt_a.state_dict(), opt_b.state_dict()
            opt_a.load_state_dict(torchs)
            opt_b.load_state_dict(mine)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    assert [g["lr"] for g in opt_a.param_groups] == [g["lr"] for g in opt_b.param_groups]


@pytest.mark.parametrize("ours, theirs", [(gt.SparseAdam, torch.optim.SparseAdam), (gt.Adagrad, torch.optim.Adagrad)])
def test_sparse_embeddings_step_as_torch_s_sparse_optimizers(ours, theirs):
    tables = [torch.nn.Embedding(1000, 16, sparse=True, dtype=torch.float64) for _ in range(2)]
    tables[1].load_state_dict(tables[0].state_dict())
    opts = [ours(tables[0].parameters(), lr=0.01), theirs(tables[1].parameters(), lr=0.01)]
    rng = torch.Generator().manual_seed(3)
    for _ in range(50):
        ids = torch.randint(0, 1000, (64,), generator=rng)  # repeated ids: an uncoalesced gradient
        target = torch.randn(64, 16, dtype=torch.float64, generator=rng)
        for table, opt in zip(tables, opts):
            opt.zero_grad()
            ((table(ids) - target) ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(tables[0].weight, tables[1].weight, rtol=1e-10, atol=1e-12)


def test_the_parameters_are_stepped_in_their_memory_and_a_closure_is_called():
    model = mlp()
    pointers = [p.data_ptr() for p in model.parameters()]
    opt = gt.Adam(model.parameters(), lr=0.1)

    def closure():
        opt.zero_grad()
        loss = ((model(X) - Y) ** 2).mean()
        loss.backward()
        return loss

    first = opt.step(closure)
    for _ in range(20):
        last = opt.step(closure)
    assert last < first and [p.data_ptr() for p in model.parameters()] == pointers


@pytest.mark.parametrize("make, match", [
    (lambda ps: gt.Adam(ps, maximize=True), "maximize=True is not computed"),
    (lambda ps: gt.SGD(ps, lr=0.1, momentum=0.9, dampening=0.5), "dampening=0.5"),
    (lambda ps: gt.RMSprop(ps, centered=True), "centered=True"),
    (lambda ps: gt.RMSprop(ps, momentum=0.9), "momentum=0.9"),
    (lambda ps: gt.Adagrad(ps, lr_decay=0.1), "lr_decay=0.1"),
    (lambda ps: gt.Adam(ps, lr=-1.0), "Invalid learning rate"),  # torch's own check
])
def test_what_gdfast_does_not_compute_is_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make(mlp().parameters())


def test_steps_from_two_threads_are_serialized():
    w, serial = (torch.nn.Parameter(torch.zeros(10**6, dtype=torch.float64)) for _ in range(2))
    g = torch.randn(10**6, dtype=torch.float64)
    w.grad, serial.grad = g, g.clone()
    opt, reference = gt.Adam([w], lr=1e-3), torch.optim.Adam([serial], lr=1e-3)
    in_threads(lambda: [opt.step() for _ in range(100)])
    for _ in range(200):
        reference.step()
    torch.testing.assert_close(w, serial, rtol=1e-12, atol=1e-15)
    assert opt.state_dict()["state"][0]["step"] == 200


@pytest.mark.parametrize("clip", [dict(clip_norm=0.5), dict(clip_value=0.01), dict(clip_norm=0.5, clip_value=0.01)],
                         ids=["norm", "value", "both"])
def test_clipping_equals_clip_grad_norm_then_the_step(clip, float64_default):
    """gdfast.torch.SGD(params, lr=0.1, clip_norm=0.5) is torch.nn.utils.clip_grad_norm_(params, 0.5) and then
    torch's step (clip_value: clip_grad_value_ after it), the norm over every group's gradients."""
    a, b = mlp(), mlp()
    groups = lambda m: [{"params": m[0].parameters()}, {"params": m[2].parameters(), "lr": 0.05}]  # noqa: E731
    ours, theirs = gt.SGD(groups(a), lr=0.1, momentum=0.9, **clip), torch.optim.SGD(groups(b), lr=0.1, momentum=0.9)
    for _ in range(50):
        for model, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
        if "clip_norm" in clip:
            torch.nn.utils.clip_grad_norm_(b.parameters(), clip["clip_norm"])
        if "clip_value" in clip:
            torch.nn.utils.clip_grad_value_(b.parameters(), clip["clip_value"])
        ours.step()
        theirs.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    grads = [p.grad.clone() for p in a.parameters()]
    ours.step()
    assert all(torch.equal(p.grad, g) for p, g in zip(a.parameters(), grads))  # the gradients are not written
    with pytest.raises(ValueError, match=r"clip_norm must be None or a real number in \(0"):
        gt.Adam(a.parameters(), clip_norm=0.0)


def test_nadam_keeps_mu_product_as_torch_does_under_its_float32_default():
    """torch keeps NAdam's mu_product in its default dtype; under the float32 default gdfast.torch.NAdam rounds
    the product as torch does, so the float64 parameters still agree to rounding."""
    assert torch.get_default_dtype() == torch.float32
    a, b = mlp(), mlp()
    opt_a, opt_b = gt.NAdam(a.parameters(), weight_decay=0.01), torch.optim.NAdam(b.parameters(), weight_decay=0.01)
    for _ in range(100):
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-10, atol=1e-12)
    assert opt_a.state_dict()["state"][0]["mu_product"] == opt_b.state_dict()["state"][0]["mu_product"]


def test_a_pickled_optimizer_continues_as_the_original():
    """Pickled with its model (torch.save does the same), the optimizer comes back over the copied parameters,
    with its state and clipping, and continues bitwise as the original."""
    a = mlp()
    opt = gt.Adam(a.parameters(), lr=0.01, clip_norm=1.0)
    for _ in range(5):
        opt.zero_grad()
        ((a(X) - Y) ** 2).mean().backward()
        opt.step()
    b, twin = pickle.loads(pickle.dumps((a, opt)))
    assert twin.clip_norm == 1.0 and twin.state_dict()["state"][0]["step"] == 5
    for model, o in ((a, opt), (b, twin)):
        for _ in range(5):
            o.zero_grad()
            ((model(X) - Y) ** 2).mean().backward()
            o.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_ftrl_steps_as_gdfast_s_own_and_saves_its_state():
    """FTRL, which torch lacks: the steps of gd.FTRL on the same gradients, its z and n in the state_dict."""
    a = mlp()
    arrays = [p.detach().numpy().copy() for p in a.parameters()]
    opt, reference = gt.FTRL(a.parameters(), lr=0.5, lambda1=0.01), gd.FTRL(arrays, lr=0.5, lambda1=0.01)
    for _ in range(20):
        opt.zero_grad()
        ((a(X) - Y) ** 2).mean().backward()
        grads = [p.grad.numpy().copy() for p in a.parameters()]
        opt.step()
        reference.step(grads)
    for p, q in zip(a.parameters(), arrays):
        np.testing.assert_array_equal(p.detach().numpy(), q)
    state = opt.state_dict()["state"][0]
    assert set(state) == {"z", "n", "step"} and state["step"] == 20
    with pytest.raises(ValueError, match="lambda1 must be"):
        gt.FTRL(a.parameters(), lambda1=-1.0)
