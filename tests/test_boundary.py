"""The hyperparameters cross into C as one object holding a gd_hyper (csrc/common.h): what it holds, that it is
read-only and rebuilt when a hyperparameter is set, and that a kernel refuses anything else."""
import numpy as np
import pytest

import gdfast as gd


def test_holds_the_rules_values_and_zero_elsewhere():
    h = gd.Adam([np.zeros(3)], lr=0.01)._kernel_args
    assert (h.lr, h.gamma, h.beta1, h.beta2, h.eps) == (0.01, 0.0, 0.9, 0.999, 1e-8)
    assert (h.mu, h.mu_next, h.mu_product) == (0.0, 0.0, 0.0)
    assert repr(h) == "Hyperparameters(lr=0.01, gamma=0.0, beta1=0.9, beta2=0.999, eps=1e-08)"


def test_is_read_only_and_rebuilt_when_a_hyperparameter_is_set():
    opt = gd.Momentum([np.zeros(3)], lr=0.1)
    before = opt._kernel_args
    with pytest.raises(AttributeError):
        before.lr = 0.5
    opt.lr = 0.5
    assert opt._kernel_args.lr == 0.5 and before.lr == 0.1


def test_takes_keywords_only_and_only_the_names_of_gd_hyper():
    make = type(gd.SGD([np.zeros(1)])._kernel_args)
    with pytest.raises(TypeError):
        make(0.1)
    with pytest.raises(TypeError):
        make(learning_rate=0.1)
    assert make(lr=0.1, mu=0.5).mu == 0.5


def test_nadam_schedule_travels_with_the_step():
    w = np.zeros(3)
    opt = gd.Nadam([w], convention="torch")
    opt.step(np.ones(3))
    h = opt._arguments(2)
    assert h.mu_product == opt._groups[0].mu_product * h.mu and 0 < h.mu < h.mu_next < 1
    assert "mu_product=" in repr(h)


def test_a_kernel_refuses_anything_but_the_object():
    w = np.zeros(3)
    opt = gd.Adam([w])
    with pytest.raises(TypeError):
        opt._fast.step([np.ones(3)], None, 1)
    with pytest.raises(TypeError):
        opt._fast.step([np.ones(3)], tuple(gd.RULES["adam"].defaults.values()), 1)
    assert not w.any()
