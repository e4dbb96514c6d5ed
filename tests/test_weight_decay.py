"""Weight decay on every rule (issue 17, part 4): coupled (torch's weight_decay, g + lambda theta) and decoupled
(AdamW, theta (1 - lr lambda) first) against live torch.optim over many steps (float64); in the exact sparse mode
the rows a step skips decay as the dense steps decay them (in closed form for SGD and decoupled Adagrad); in
the lazy mode they do not."""
import json
import os

import numpy as np
import pytest
import torch

import gdfast as gd

WD = 0.1
# (name, torch's optimizer over params, gdfast's class and hyperparameters under convention="torch")
TORCH = [
    ("sgd", lambda ps: torch.optim.SGD(ps, lr=0.05, weight_decay=WD), gd.SGD, dict(lr=0.05)),
    ("momentum", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=WD), gd.Momentum,
     dict(lr=0.05, gamma=0.9)),
    ("nag", lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=WD), gd.NAG,
     dict(lr=0.05, gamma=0.9)),
    ("adagrad", lambda ps: torch.optim.Adagrad(ps, lr=0.05, weight_decay=WD), gd.Adagrad, dict(lr=0.05)),
    ("adadelta", lambda ps: torch.optim.Adadelta(ps, lr=1.0, weight_decay=WD), gd.Adadelta, dict(lr=1.0)),
    ("rmsprop", lambda ps: torch.optim.RMSprop(ps, lr=0.01, weight_decay=WD), gd.RMSprop, dict(lr=0.01)),
    ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=WD), gd.Adam, dict(lr=0.01)),
    ("adamax", lambda ps: torch.optim.Adamax(ps, lr=0.01, weight_decay=WD), gd.AdaMax, dict(lr=0.01)),
    ("nadam", lambda ps: torch.optim.NAdam(ps, lr=0.01, weight_decay=WD), gd.Nadam, dict(lr=0.01)),
    ("amsgrad", lambda ps: torch.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=WD), gd.AMSGrad,
     dict(lr=0.01)),
]
DECOUPLED = [
    ("adamw", lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=WD), gd.AdamW, dict(lr=0.01)),
    ("amsgrad", lambda ps: torch.optim.AdamW(ps, lr=0.01, amsgrad=True, weight_decay=WD), gd.AMSGrad,
     dict(lr=0.01)),
    ("nadam", lambda ps: torch.optim.NAdam(ps, lr=0.01, weight_decay=WD, decoupled_weight_decay=True), gd.Nadam,
     dict(lr=0.01)),
]


TIGHT = dict(rtol=1e-10, atol=1e-12)
# Nadam's torch form (the momentum schedule) drifts from torch's NAdam by ~1e-9 over 200 steps of this model with
# or without weight decay (its schedule's products are rounded in another order): the decay is not the cause.
TOLERANCE = {"nadam": dict(rtol=1e-7, atol=1e-9)}


def run_both(make_torch, cls, hyper, decoupled, steps=200):
    """A small MLP trained by torch's optimizer and, on its twin, by gdfast's: the same gradients each step."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    twin = [p.detach().clone().requires_grad_() for p in model.parameters()]
    theirs = make_torch(twin)
    ours = cls(model.parameters(), convention="torch", weight_decay=WD, decoupled_weight_decay=decoupled, **hyper)
    x, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    for _ in range(steps):
        model.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        for p, q in zip(twin, model.parameters()):
            p.grad = q.grad.clone()
        theirs.step()
        ours.step([p.grad for p in model.parameters()])
    return list(model.parameters()), twin


@pytest.mark.parametrize("name, make_torch, cls, hyper", TORCH, ids=[c[0] for c in TORCH])
def test_coupled_weight_decay_is_torch_s(name, make_torch, cls, hyper):
    ours, theirs = run_both(make_torch, cls, hyper, decoupled=False)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p.detach(), q.detach(), **TOLERANCE.get(name, TIGHT))


@pytest.mark.parametrize("name, make_torch, cls, hyper", DECOUPLED, ids=[c[0] for c in DECOUPLED])
def test_decoupled_weight_decay_is_torch_s(name, make_torch, cls, hyper):
    ours, theirs = run_both(make_torch, cls, hyper, decoupled=True)
    for p, q in zip(ours, theirs):
        torch.testing.assert_close(p.detach(), q.detach(), **TOLERANCE.get(name, TIGHT))


EXACT = [name for name in sorted(gd.OPTIMIZERS) if name != "ftrl"]


@pytest.mark.parametrize("decoupled", [False, True], ids=["coupled", "decoupled"])
@pytest.mark.parametrize("rule", EXACT)
def test_the_exact_mode_decays_skipped_rows_as_the_dense_steps_do(rule, decoupled):
    """Row-sparse steps touching a few rows each, in the exact mode, then a flush: the dense steps with zero
    gradients on the other rows."""
    rng = np.random.default_rng(3)
    table = rng.standard_normal((20, 3))
    dense_table = table.copy()
    options = dict(weight_decay=WD, decoupled_weight_decay=decoupled)
    sparse_opt = gd.OPTIMIZERS[rule]([table], sparse="exact", **options)
    dense_opt = gd.OPTIMIZERS[rule]([dense_table], **options)
    for _ in range(30):
        rows = np.sort(rng.choice(20, 3, replace=False))
        values = rng.standard_normal((3, 3))
        sparse_opt.step(gd.RowSparse(rows, values))
        dense = np.zeros((20, 3))
        dense[rows] = values
        dense_opt.step(dense)
    sparse_opt.flush()
    np.testing.assert_allclose(table, dense_table, rtol=1e-11, atol=1e-14)


def test_the_lazy_mode_leaves_untouched_rows_alone():
    table = np.ones((10, 2))
    opt = gd.AdamW([table], lr=0.1, weight_decay=0.5)
    opt.step(gd.RowSparse(np.array([2]), np.ones((1, 2))))
    assert (table[np.arange(10) != 2] == 1).all() and (table[2] != 1).all()


def test_sgd_s_skipped_rows_decay_in_closed_form():
    """A row skipped by 20000 steps of decoupled SGD decays by one power, (1 - lr lambda)^k, as the row stepped
    every time (with a zero gradient) decays by k products."""
    table = np.ones((2, 1))
    opt = gd.SGD([table], lr=0.01, sparse="exact", weight_decay=1e-3, decoupled_weight_decay=True)
    touch = gd.RowSparse(np.array([0]), np.zeros((1, 1)))
    for _ in range(20000):
        opt.step(touch)
    opt.flush()
    np.testing.assert_allclose(table[:, 0], (1 - 1e-5) ** 20000, rtol=1e-10)


def test_weight_decay_is_settable_saved_and_checked(tmp_path):
    w = np.ones(3)
    opt = gd.Adam([w], weight_decay=0.1, decoupled_weight_decay=True)
    opt.weight_decay = 0.2
    opt.save(tmp_path / "opt.npz")
    back = gd.load(tmp_path / "opt.npz")
    assert (back.weight_decay, back.decoupled_weight_decay) == (0.2, True)
    opt.step(np.ones(3)), back.step(np.ones(3))
    np.testing.assert_array_equal(back.params[0], w)
    with pytest.raises(ValueError, match=r"weight_decay must be finite and in \[0, inf\), got -1"):
        gd.Adam([w], weight_decay=-1)
    with pytest.raises(TypeError, match="decoupled_weight_decay must be True or False"):
        gd.Adam([w], weight_decay=0.1, decoupled_weight_decay="yes")
    with pytest.raises(ValueError, match="FTRL takes no weight_decay"):
        gd.FTRL([w], weight_decay=0.1)
    assert gd.AdamW([w]).weight_decay == 0.01 and gd.AdamW([w]).decoupled_weight_decay


GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "weight_decay.npz"))
GOLDEN_META = json.loads(GOLDEN["meta"].tobytes())


@pytest.mark.parametrize("case", sorted(GOLDEN_META["cases"]))
def test_the_recorded_trajectories_of_optax_adamw_and_torch(case):
    """optax.adamw and torch's AdamW and Adam(weight_decay) as they ran (tests/golden/make_weight_decay.py),
    float64, 60 steps."""
    spec = GOLDEN_META["cases"][case]
    name, kwargs = spec["gdfast"]
    w = GOLDEN[f"{case}.theta0"].copy()
    opt = getattr(gd, name)([w], convention=spec["convention"], **kwargs)
    trajectory = []
    for g in GOLDEN[f"{case}.grads"]:
        opt.step(g)
        trajectory.append(w.copy())
    np.testing.assert_allclose(np.array(trajectory), GOLDEN[f"{case}.trajectory"], rtol=1e-12, atol=1e-14)
