"""Param groups in gdfast's own optimizers (issue 17, part 3): a list of {"params", settings} dicts, as torch.optim
takes it. Each group steps as an optimizer of its own with its settings would (bitwise: the one C call per dtype
gives each array its group's row of hyperparameters), against live torch.optim's param groups, with sparse
gradients in either mode; param_groups views, state_dict, checkpoints and pickles keep the groups; bad groups
are refused before anything is written."""
import pickle

import numpy as np
import pytest
import torch

import gdfast as gd
from gdfast.optim.optimizers import ParamGroup

RULES = list(gd.RULES)


def cls_of(rule):
    return getattr(gd, gd.RULES[rule].class_name)


def second_group(rule, convention="survey"):
    """Settings unlike the defaults for a second group: each of lr, gamma, beta1 and eps the rule takes."""
    defaults = gd.RULES[rule].forms[convention].defaults
    wanted = {"lr": 3 * defaults["lr"], "gamma": 0.5, "beta1": 0.8, "eps": 1e-4, "momentum_decay": 0.002}
    return {name: value for name, value in wanted.items() if name in defaults}


def arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in [(6, 4), (5,), (3, 3)]]


def gradients(rng, params, steps):
    return [[rng.standard_normal(p.shape).astype(p.dtype) for p in params] for _ in range(steps)]


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_each_group_steps_as_its_own_optimizer_would(rule, dtype):
    """Groups 0 and 1 (one of them with weight decay), and the bare keyword arguments for group 2: each param
    ends bitwise where one optimizer per group, with that group's settings, takes it."""
    cls, extra = cls_of(rule), second_group(rule)
    wd = {} if rule == "ftrl" else {"weight_decay": 0.05}
    ps, alone = arrays(dtype), arrays(dtype)
    opt = cls([{"params": [ps[0]], **extra}, {"params": [ps[1]], **wd}, {"params": [ps[2]]}], lr=0.02)
    separate = [cls([alone[0]], **{"lr": 0.02, **extra}), cls([alone[1]], lr=0.02, **wd), cls([alone[2]], lr=0.02)]
    assert len(opt._batches) == 1  # still one C call: a row of hyperparameters per array
    for grads in gradients(np.random.default_rng(1), ps, 30):
        opt.step(grads)
        for o, g in zip(separate, grads):
            o.step([g])
    for p, q in zip(ps, alone):
        np.testing.assert_array_equal(p, q)
    for state, o in zip(opt.state, separate):
        for name, buf in state.items():
            np.testing.assert_array_equal(buf, o.state[0][name])


def test_groups_of_both_dtypes_and_nadams_schedule_per_group():
    """Nadam under torch's convention keeps its momentum schedule's product per group (each group's beta1 and
    momentum_decay); a group of float32 and float64 arrays is stepped by one call per dtype."""
    rng = np.random.default_rng(2)
    ps = [rng.standard_normal(4), rng.standard_normal(3).astype(np.float32), rng.standard_normal(2)]
    alone = [p.copy() for p in ps]
    extra = second_group("nadam", "torch")
    opt = gd.Nadam([{"params": ps[:2]}, {"params": ps[2:], **extra}], convention="torch")
    first, second = gd.Nadam(alone[:2], convention="torch"), gd.Nadam(alone[2:], convention="torch", **extra)
    assert len(opt._batches) == 2
    for grads in gradients(rng, ps, 25):
        opt.step(grads)
        first.step(grads[:2])
        second.step(grads[2:])
    for p, q in zip(ps, alone):
        np.testing.assert_array_equal(p, q)
    assert opt.state_dict()["mu_product"].tolist() == [first._groups[0].mu_product, second._groups[0].mu_product]


@pytest.mark.parametrize("sparse", ["lazy", "exact"])
def test_sparse_gradients_take_their_groups_settings(sparse):
    """A row-sparse embedding in one group and a dense bias in another, with decoupled weight decay only on the
    embedding: each equals its own optimizer, in either sparse mode (exact: the skipped rows' catch-up at
    the group's lr and decay)."""
    rng = np.random.default_rng(3)
    E, b = rng.standard_normal((50, 4)), rng.standard_normal(4)
    E2, b2 = E.copy(), b.copy()
    opt = gd.AdamW([{"params": [E], "lr": 0.05}, {"params": [b], "weight_decay": 0.0}], lr=1e-3,
                   weight_decay=0.1, sparse=sparse)
    opt_E = gd.AdamW([E2], lr=0.05, weight_decay=0.1, sparse=sparse)
    opt_b = gd.AdamW([b2], lr=1e-3, weight_decay=0.0, sparse=sparse)
    for _ in range(40):
        rows = rng.choice(50, 5, replace=False)
        g_E, g_b = gd.RowSparse(rows, rng.standard_normal((5, 4))), rng.standard_normal(4)
        opt.step([g_E, g_b])
        opt_E.step([g_E])
        opt_b.step([g_b])
    opt.flush()
    opt_E.flush()
    np.testing.assert_array_equal(E, E2)
    np.testing.assert_array_equal(b, b2)


def test_equals_torch_optim_param_groups():
    """gd.Adam(groups, convention="torch") against torch.optim.Adam with the same groups (per-group lr and weight
    decay, one group's lr changed mid-run through param_groups) on a small model, float64, to 1e-10."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
    twin = [p.detach().clone().requires_grad_() for p in model.parameters()]
    mine = list(model.parameters())
    theirs = torch.optim.Adam([{"params": twin[:2], "lr": 0.02}, {"params": twin[2:], "weight_decay": 0.1}],
                              lr=0.005)
    ours = gd.Adam([{"params": mine[:2], "lr": 0.02}, {"params": mine[2:], "weight_decay": 0.1}], lr=0.005,
                   convention="torch")
    x, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 1, dtype=torch.float64)
    for step in range(150):
        if step == 75:
            theirs.param_groups[1]["lr"] = ours.param_groups[1]["lr"] = 0.05
        model.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        for p, q in zip(twin, mine):
            p.grad = q.grad.clone()
        theirs.step()
        ours.step([p.grad for p in mine])
    for p, q in zip(twin, mine):
        np.testing.assert_allclose(q.detach().numpy(), p.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_param_groups_views_read_and_set_each_group():
    a, b = np.ones(3), np.ones(2)
    opt = gd.Momentum([{"params": [a], "lr": 0.1}, {"params": b}], lr=0.01, gamma=0.5)
    groups = opt.param_groups
    assert all(isinstance(g, ParamGroup) for g in groups)
    assert dict(groups[0]) == {"params": [a], "lr": 0.1, "gamma": 0.5, "weight_decay": 0.0}
    assert groups[1]["params"][0] is b and groups[1]["lr"] == 0.01
    with pytest.raises(AttributeError, match=r"lr differs between the 2 param groups"):
        opt.lr
    assert opt.gamma == 0.5  # the groups share it
    groups[1]["lr"] = 0.1
    assert opt.lr == 0.1
    opt.gamma = 0.9  # every group
    assert [g["gamma"] for g in opt.param_groups] == [0.9, 0.9]
    opt.step([np.ones(3), np.ones(2)])
    np.testing.assert_allclose(a, 0.9)
    np.testing.assert_allclose(b, 0.9)
    with pytest.raises(ValueError, match="lr"):
        groups[0]["lr"] = -1.0
    with pytest.raises(KeyError, match="beta1"):
        groups[0]["beta1"] = 0.5
    with pytest.raises(TypeError, match="set at construction"):
        groups[0]["params"] = [a]
    with pytest.raises(TypeError, match="deleted"):
        del groups[0]["lr"]
    assert opt.param_groups[0]["lr"] == 0.1  # nothing changed by the refused sets
    assert "2 param groups" in repr(opt)


def test_one_group_of_everything_without_dicts():
    w = np.ones(3)
    opt = gd.Adam([w], lr=0.1)
    (group,) = opt.param_groups
    assert group["params"][0] is w and group["lr"] == 0.1
    group["lr"] = 0.2
    assert opt.lr == 0.2 and "lr" in opt.state_dict() and "group_of" not in opt.state_dict()


def grouped(seed=4):
    rng = np.random.default_rng(seed)
    E, b = rng.standard_normal((20, 3)), rng.standard_normal(3)
    opt = gd.Nadam([{"params": [E], "lr": 0.05, "weight_decay": 0.01}, {"params": [b], "beta1": 0.8}],
                   convention="torch")
    return opt, rng


def run(opt, rng, steps):
    for _ in range(steps):
        rows = rng.choice(20, 4, replace=False)
        opt.step([gd.RowSparse(rows, rng.standard_normal((4, 3))), rng.standard_normal(3)])


def test_state_dict_keeps_the_groups_and_continues_bitwise(tmp_path):
    opt, rng = grouped()
    run(opt, rng, 10)
    state = opt.state_dict()
    assert state["group_of"].tolist() == [0, 1] and state["lr"].tolist() == [0.05, 0.002]
    assert state["weight_decay"].tolist() == [0.01, 0.0] and state["beta1"].tolist() == [0.9, 0.8]
    np.savez(tmp_path / "s.npz", **state)
    other, _ = grouped(seed=5)
    other.load_state_dict(dict(np.load(tmp_path / "s.npz", allow_pickle=False)))
    for p, q in zip(other._params, opt._params):
        q[...] = p  # the same parameters, so that the runs can be compared
    run(opt, np.random.default_rng(9), 10)
    run(other, np.random.default_rng(9), 10)
    for p, q in zip(other._params, opt._params):
        np.testing.assert_array_equal(p, q)


def test_state_dict_of_other_groups_is_refused():
    opt, _ = grouped()
    state = opt.state_dict()
    flat = gd.Nadam([np.ones((20, 3)), np.ones(3)], convention="torch")
    with pytest.raises(ValueError, match="unexpected.*group_of"):
        flat.load_state_dict(state)
    bad = dict(state, lr=np.array([0.1, 0.2, 0.3]))
    with pytest.raises(ValueError, match=r"state\['lr'\] must hold one value per param group \(2\)"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="weight_decay"):
        opt.load_state_dict(dict(state, weight_decay=np.array([0.1, -1.0])))
    before = opt.param_groups[0]["lr"]
    with pytest.raises(ValueError, match="group_of"):
        opt.load_state_dict(dict(state, group_of=np.array([0, 0])))
    assert opt.param_groups[0]["lr"] == before


def test_checkpoint_and_pickle_keep_the_groups(tmp_path):
    opt, rng = grouped()
    run(opt, rng, 7)
    opt.save(tmp_path / "opt.npz")
    copies = [gd.load(tmp_path / "opt.npz"), pickle.loads(pickle.dumps(opt))]
    for back in copies:
        assert [dict(g, params=None) for g in back.param_groups] == [dict(g, params=None) for g in opt.param_groups]
    for o in [opt, *copies]:
        run(o, np.random.default_rng(8), 5)
    for back in copies:
        for p, q in zip(back._params, opt._params):
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("params, error, match", [
    ([{"params": [np.ones(2)]}, np.ones(2)], TypeError, r"params\[1\] must be a dict like the others"),
    ([{"lr": 0.1}], ValueError, r"params\[0\] has no 'params'"),
    ([{"params": []}], ValueError, r"params\[0\]\['params'\] is empty"),
    ([{"params": [np.ones(2)], "lr": -1.0}], ValueError, r"params\[0\]: lr"),
    ([{"params": [np.ones(2)]}, {"params": [np.ones(2)], "betta": 0.5}], TypeError,
     r"params\[1\]: .*unknown hyperparameter.*betta"),
    ([{"params": [np.ones(2)], "weight_decay": -0.1}], ValueError, r"params\[0\]: weight_decay"),
    ([{"params": [np.ones(2, np.int64)]}], TypeError, r"params\[0\]\['params'\]\[0\]"),
])
def test_bad_groups_are_refused(params, error, match):
    with pytest.raises(error, match=match):
        gd.Adam(params)


def test_groups_sharing_memory_are_refused():
    w = np.ones(4)
    with pytest.raises(ValueError, match=r"params\[0\]\['params'\]\[0\] and params\[1\]\['params'\]\[0\] share"):
        gd.SGD([{"params": [w]}, {"params": [w[:2]]}])
    with pytest.raises(ValueError, match=r"params\[1\]: FTRL takes no weight_decay"):
        gd.FTRL([{"params": [np.ones(2)]}, {"params": [np.ones(2)], "weight_decay": 0.1}])


def test_more_groups_than_the_step_keeps_on_its_stack():
    """20 groups (beyond csrc/impl.h's GD_STACK_GROUPS, 16: their coefficients allocated per step), each its own
    lr: each param ends bitwise where its own optimizer takes it."""
    rng = np.random.default_rng(6)
    ps = [rng.standard_normal(5) for _ in range(20)]
    alone = [p.copy() for p in ps]
    opt = gd.Adam([{"params": [p], "lr": 0.001 * (k + 1)} for k, p in enumerate(ps)])
    separate = [gd.Adam([p], lr=0.001 * (k + 1)) for k, p in enumerate(alone)]
    for grads in gradients(rng, ps, 10):
        opt.step(grads)
        for o, g in zip(separate, grads):
            o.step([g])
    for p, q in zip(ps, alone):
        np.testing.assert_array_equal(p, q)
