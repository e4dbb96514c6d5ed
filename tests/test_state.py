"""state_dict / load_state_dict: plain arrays and numbers, np.savez round trip, bitwise resume."""
import numpy as np
import pytest

import gdfast as gd

from conftest import random_grads


def test_resume_through_savez_is_bitwise(rule, dtype, tmp_path):
    rng = np.random.default_rng(10)
    theta0 = [rng.standard_normal(33).astype(dtype), rng.standard_normal((4, 5)).astype(dtype)]
    grads = [random_grads(rng, p.shape, dtype, 40) for p in theta0]
    cls = gd.OPTIMIZERS[rule.name]

    straight = [p.copy() for p in theta0]
    opt = cls(straight, lr=rule.defaults["lr"] * 2)
    for k in range(40):
        opt.step([g[k] for g in grads])

    first = [p.copy() for p in theta0]
    opt = cls(first, lr=rule.defaults["lr"] * 2)
    for k in range(20):
        opt.step([g[k] for g in grads])
    np.savez(tmp_path / "opt.npz", **opt.state_dict())
    resumed = [p.copy() for p in first]
    opt2 = cls(resumed)  # other hyperparameters: the state brings them back
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as saved:
        opt2.load_state_dict(saved)
    assert opt2.t == 20 and opt2.lr == rule.defaults["lr"] * 2
    for k in range(20, 40):
        opt2.step([g[k] for g in grads])
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a, b)


def test_state_dict_keys_and_copies():
    w = np.zeros(3)
    opt = gd.Adam([w])
    opt.step(np.ones(3))
    sd = opt.state_dict()
    assert set(sd) == {"rule", "convention", "t", "lr", "beta1", "beta2", "eps", "m.0", "v.0"}
    assert sd["rule"] == "adam" and sd["convention"] == "survey" and sd["t"] == 1
    np.testing.assert_allclose(sd["m.0"], 0.1)
    opt.step(np.ones(3))
    np.testing.assert_allclose(sd["m.0"], 0.1)  # a copy, not the live buffer


def _stepped_adam():
    opt = gd.Adam([np.zeros(3)])
    opt.step(np.ones(3))
    return opt


@pytest.mark.parametrize("change, error, match", [
    (lambda s: s.update(rule="sgd"), ValueError, "rule 'sgd'"),
    (lambda s: s.pop("v.0"), ValueError, "missing"),
    (lambda s: s.update(extra=1), ValueError, "unexpected"),
    (lambda s: s.update({"m.0": np.zeros(3, np.float32)}), TypeError, "dtype"),
    (lambda s: s.update({"m.0": np.zeros(4)}), ValueError, "shape"),
    (lambda s: s.update(t=-1), ValueError, "t"),
    (lambda s: s.update(beta1=1.0), ValueError, "beta1"),
])
def test_bad_state_is_rejected_before_any_write(change, error, match):
    opt = _stepped_adam()
    before = opt.state_dict()
    bad = opt.state_dict()
    bad["m.0"] = bad["m.0"] + 5
    bad["t"] = 7
    change(bad)
    with pytest.raises(error, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["t"] == before["t"]
    np.testing.assert_array_equal(after["m.0"], before["m.0"])
