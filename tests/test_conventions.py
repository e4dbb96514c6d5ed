"""convention="torch" | "keras" | "optax": every rule x convention against the frameworks themselves (golden
trajectories in tests/golden/conventions.npz, made by tests/golden/make_conventions.py on torch, Keras and optax;
and live, for each framework importable here), against gdfast/optim/reference.py (dense, lazy sparse, exact sparse),
and the convention's life in an optimizer (defaults, state_dict, pickling, errors)."""
import importlib.util
import json
import os
import pickle

import numpy as np
import pytest
import scipy.sparse as sp

import gdfast as gd
from gdfast import reference
from gdfast.optim._registry import CONVENTIONS

import frameworks
from conftest import TOLERANCE, random_grads

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "conventions.npz")
PAIRS = [(rule, convention) for rule in gd.RULES for convention in CONVENTIONS]
# The pairs whose framework has the rule (FTRL is in Keras only): those it can be held to.
COUNTERPARTS = {p for p in PAIRS if p[1] != "survey" and gd.RULES[p[0]].forms[p[1]].counterpart}
F64 = dict(rtol=1e-12, atol=1e-14)


def _golden():
    with np.load(GOLDEN) as f:
        meta = json.loads(bytes(f["meta"]).decode())
        return meta, f["theta0"], f["grads"], f["trajectory"]


META, THETA0, GRADS, TRAJECTORY = _golden()
GOLDEN_CASES = [(i, c["name"]) for i, c in enumerate(META["cases"])]


def test_golden_covers_every_framework_pair():
    assert {(c["rule"], c["convention"]) for c in META["cases"]} == COUNTERPARTS
    assert META["lr_change"] == frameworks.LR_CHANGE


def test_a_framework_without_the_rule_runs_the_survey_form():
    """FTRL under torch and optax, which have none: the survey convention's kernel and defaults, nothing else."""
    lacking = [p for p in PAIRS if p[1] != "survey" and p not in COUNTERPARTS]
    assert lacking == [("ftrl", "torch"), ("ftrl", "optax")]
    for rule, convention in lacking:
        form, survey = gd.RULES[rule].forms[convention], gd.RULES[rule].forms["survey"]
        assert (form.kernel, dict(form.defaults), dict(form.init), form.schedule) == (
            survey.kernel, dict(survey.defaults), {}, False)
        assert (rule, convention) not in reference.FORMS


@pytest.mark.parametrize("index", [i for i, _ in GOLDEN_CASES], ids=[n for _, n in GOLDEN_CASES])
def test_reproduces_the_frameworks_golden_trajectory(index):
    """float64: the framework's own trajectory (recorded from torch, Keras and optax) to rounding."""
    case = META["cases"][index]
    got = frameworks.run_gdfast(case["rule"], case["convention"], case["hyperparameters"], THETA0[index],
                                GRADS[index])
    np.testing.assert_allclose(got, TRAJECTORY[index], **F64)


@pytest.mark.parametrize("index", [i for i, _ in GOLDEN_CASES], ids=[n for _, n in GOLDEN_CASES])
def test_golden_trajectory_float32(index):
    case = META["cases"][index]
    got = frameworks.run_gdfast(case["rule"], case["convention"], case["hyperparameters"], THETA0[index],
                                GRADS[index], dtype=np.float32)
    np.testing.assert_allclose(got, TRAJECTORY[index], rtol=2e-5, atol=2e-6)


def _every_entry(g):
    """g as CSR with every entry in its structure, zeros included (sp.csr_matrix(g) would drop them)."""
    rows, cols = np.indices(g.shape)
    return sp.csr_matrix((g.ravel(), (rows.ravel(), cols.ravel())), shape=g.shape)


@pytest.mark.parametrize("index", [i for i, _ in GOLDEN_CASES], ids=[n for _, n in GOLDEN_CASES])
def test_golden_trajectory_lazy_sparse(index):
    """Every step as a sparse gradient touching every coordinate (CSR and RowSparse): the dense trajectory. (The
    zero gradients of the cases' first steps matter: FTRL's first step sets a coordinate to its closed form even
    with g = 0, where the lazy mode leaves an untouched one as it was.)"""
    case = META["cases"][index]
    for container in ("csr", "rows"):
        w = THETA0[index].copy().reshape(2, 2)
        opt = gd.OPTIMIZERS[case["rule"]]([w], convention=case["convention"], **case["hyperparameters"])
        for step, g in enumerate(GRADS[index], start=1):
            opt.lr = frameworks.lr_at(case["hyperparameters"], step)
            g = g.reshape(2, 2)
            opt.step(_every_entry(g) if container == "csr" else gd.RowSparse([0, 1], g))
            np.testing.assert_allclose(w.ravel(), TRAJECTORY[index][step - 1], **F64)


def _available(framework):
    """Whether the framework itself is importable here (Keras through its torch backend). The live comparisons
    are collected only for those; the golden trajectories above cover every framework everywhere."""
    needs = {"torch": ["torch"], "keras": ["keras", "torch"], "optax": ["optax"]}[framework]
    if framework == "keras" and os.environ.get("KERAS_BACKEND", "torch") != "torch":
        return False
    return all(importlib.util.find_spec(module) is not None for module in needs)


LIVE = [(name, rule, convention, hyper) for name, rule, convention, hyper in frameworks.cases()
        if _available(convention)]


if LIVE:  # collected where a framework is installed (torch: the test extra, so in CI; Keras and optax: not)
    @pytest.mark.parametrize("name, rule, convention, hyper", LIVE, ids=[c[0] for c in LIVE])
    def test_matches_the_live_framework(name, rule, convention, hyper):
        run = frameworks.RUNNERS[convention]
        theta0, grads = frameworks.case_data(name + ".live")
        np.testing.assert_allclose(frameworks.run_gdfast(rule, convention, hyper, theta0, grads),
                                   run(rule, hyper, theta0, grads), **F64)

    @pytest.mark.parametrize("name, rule, convention, hyper", [c for c in LIVE if c[2] == "torch"],
                             ids=[c[0] for c in LIVE if c[2] == "torch"])
    def test_matches_live_torch_float32(name, rule, convention, hyper):
        run = frameworks.RUNNERS["torch"]
        theta0, grads = frameworks.case_data(name + ".live32")
        np.testing.assert_allclose(frameworks.run_gdfast(rule, convention, hyper, theta0, grads, np.float32),
                                   run(rule, hyper, theta0, grads, np.float32), rtol=1e-5, atol=1e-6)


# ---- against gdfast/optim/reference.py -------------------------------------------------------------------------------

def _reference_run(rule, convention, theta0, grads, hyper, lr_half_at=None):
    theta = np.asarray(theta0, np.float64)
    state = reference.initial_state(gd.RULES[rule].slots, theta, hyper)
    f = reference.step(rule, convention)
    for t, g in enumerate(grads, start=1):
        h = dict(hyper, lr=hyper["lr"] / 2) if lr_half_at and t >= lr_half_at else hyper
        theta, *state = f(theta, g, *state, t=t, **h)
    return theta, state


@pytest.mark.parametrize("rule, convention", PAIRS)
@pytest.mark.parametrize("which", ["defaults", "other"])
def test_matches_reference(rule, convention, which, dtype):
    hyper = frameworks.hyper_sets(gd.RULES[rule], convention)[which]
    rng = np.random.default_rng(40)
    theta0 = rng.standard_normal(97).astype(dtype)
    grads = random_grads(rng, theta0.shape, dtype, 60)
    grads[0][:10] = 0  # zero gradients: AdaMax's u = 0, Adagrad's G = its initial value
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule]([w], convention=convention, **hyper)
    for t, g in enumerate(grads, start=1):
        if t == 31:
            opt.lr = hyper["lr"] / 2
        opt.step(g)
    expected, state = _reference_run(rule, convention, theta0, grads, hyper, lr_half_at=31)
    np.testing.assert_allclose(w, expected, **TOLERANCE[dtype])
    for name, e in zip(gd.RULES[rule].slots, state):
        np.testing.assert_allclose(opt.state[0][name], e, **TOLERANCE[dtype], err_msg=name)


def _sparse_steps(rng, shape, n, density=0.3):
    steps = []
    for _ in range(n):
        touched = rng.random(shape) < density
        dense = np.where(touched, rng.standard_normal(shape), 0.0)
        steps.append((dense, touched))
    return steps


@pytest.mark.parametrize("rule, convention, mode", [
    (rule, convention, mode) for rule, convention in PAIRS for mode in ("lazy", "exact")
    if not (mode == "exact" and gd.RULES[rule].forms[convention].catch_up == "no")])  # refused: tested below
@pytest.mark.parametrize("container", ["csr", "rows"])
def test_sparse_matches_reference(rule, convention, mode, container, dtype):
    r = gd.RULES[rule]
    hyper = frameworks.hyper_sets(r, convention)["other"]
    rng = np.random.default_rng(41)
    shape = (12, 5) if container == "csr" else (40, 3)
    theta0 = rng.standard_normal(shape).astype(dtype)
    steps = _sparse_steps(rng, shape, 30, 0.3 if container == "csr" else 1.0)
    if container == "rows":  # a few whole rows per step
        steps = [(np.where(rows[:, None], d, 0.0), np.repeat(rows[:, None], shape[1], 1))
                 for (d, _), rows in zip(steps, (rng.random(shape[0]) < 0.2 for _ in steps))]
    w = theta0.copy()
    opt = gd.OPTIMIZERS[rule]([w], convention=convention, sparse=mode, **hyper)
    theta = theta0.astype(np.float64)
    state = reference.initial_state(r.slots, theta, hyper)
    ref = getattr(reference, f"sparse_{mode}")
    for t, (dense, touched) in enumerate(steps, start=1):
        if container == "csr":
            g = sp.csr_matrix((dense[touched].astype(dtype), np.nonzero(touched)), shape=shape)
        else:
            rows = np.flatnonzero(touched[:, 0])
            g = gd.RowSparse(rows, dense[rows].astype(dtype))
        opt.step(g)
        theta, *state = ref(rule, theta, dense.astype(dtype).astype(np.float64), touched, *state, t=t,
                            convention=convention, **hyper)
    opt.flush()
    tolerance = TOLERANCE[dtype] if mode == "lazy" or dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w, theta, **tolerance)
    for name, e in zip(r.slots, state):
        np.testing.assert_allclose(opt.state[0][name], e, **tolerance, err_msg=name)


@pytest.mark.parametrize("rule, convention", [p for p in PAIRS if gd.RULES[p[0]].forms[p[1]].catch_up == "replay"])
def test_exact_replay_equals_dense_steps_bitwise(rule, convention):
    """The exact mode's replay of a framework's form runs its dense step's very coefficients."""
    rng = np.random.default_rng(42)
    theta0 = rng.standard_normal((8, 16))
    w_sparse, w_dense = theta0.copy(), theta0.copy()
    o_sparse = gd.OPTIMIZERS[rule]([w_sparse], convention=convention, sparse="exact")
    o_dense = gd.OPTIMIZERS[rule]([w_dense], convention=convention)
    for t in range(25):
        rows = [t % 8]
        g = np.zeros((8, 16))
        g[rows] = rng.standard_normal((1, 16))
        o_sparse.step(gd.RowSparse(rows, g[rows]))
        o_dense.step(g)
    o_sparse.flush()
    np.testing.assert_array_equal(w_sparse, w_dense)


@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_exact_mode_refused_for_nadam_schedule(convention):
    with pytest.raises(ValueError, match=f"sparse='exact' is not available for Nadam with convention='{convention}'"):
        gd.Nadam([np.zeros(3)], convention=convention, sparse="exact")
    gd.Nadam([np.zeros(3)], convention=convention, sparse="lazy")
    gd.Nadam([np.zeros(3)], convention="optax", sparse="exact")


# ---- the convention in an optimizer ------------------------------------------------------------------------------

def test_survey_is_the_default_and_unchanged(rule, dtype):
    rng = np.random.default_rng(43)
    theta0 = rng.standard_normal(33).astype(dtype)
    a, b = theta0.copy(), theta0.copy()
    oa, ob = gd.OPTIMIZERS[rule.name]([a]), gd.OPTIMIZERS[rule.name]([b], convention="survey")
    assert oa.convention == "survey" and oa.hyperparameters == dict(rule.defaults)
    for g in random_grads(rng, theta0.shape, dtype, 10):
        oa.step(g)
        ob.step(g)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("bad", ["Torch", "pytorch", "", None, 1])
def test_bad_convention_names_the_valid_ones(rule, bad):
    with pytest.raises(ValueError, match=r"convention must be one of \['survey', 'torch', 'keras', 'optax'\]"):
        gd.OPTIMIZERS[rule.name]([np.zeros(2)], convention=bad)
    with pytest.raises(ValueError, match="convention must be one of"):
        getattr(gd.kernels, rule.name)(np.zeros(2), np.zeros(2), *[np.zeros(2) for _ in rule.slots], t=1,
                                       convention=bad)


def test_defaults_come_with_the_convention():
    assert gd.Adam([np.zeros(2)], convention="keras").eps == 1e-7
    assert gd.Adam([np.zeros(2)], convention="torch").eps == 1e-8
    r = gd.RMSprop([np.zeros(2)], convention="torch")
    assert (r.lr, r.gamma, r.eps) == (0.01, 0.99, 1e-8)
    assert gd.Adagrad([np.zeros(2)], convention="torch").eps == 1e-10
    assert gd.Adadelta([np.zeros(2)], convention="keras").hyperparameters == {"gamma": 0.95, "eps": 1e-7, "lr": 0.001}
    assert gd.Nadam([np.zeros(2)], convention="torch").momentum_decay == 0.004
    assert gd.AdaMax([np.zeros(2)], convention="torch").eps == 1e-8
    assert gd.Adam([np.zeros(2)], convention="keras", eps=1e-3).eps == 1e-3  # a passed value wins
    assert gd.Adam([np.zeros(2)], convention="keras", eps=None).eps == 1e-7  # None: the default


def test_every_forms_defaults_are_valid():
    for rule in gd.RULES.values():
        for form in rule.forms.values():
            for name, value in form.defaults.items():
                assert gd._validate.hyperparameter(name, value) == value
            assert set(rule.defaults) <= set(form.defaults)


@pytest.mark.parametrize("convention, expected", [("survey", 0.0), ("torch", 0.0), ("keras", 0.1), ("optax", 0.1)])
def test_adagrad_initial_accumulator(convention, expected, dtype):
    w = np.zeros((3, 2), dtype)
    opt = gd.Adagrad([w], convention=convention)
    np.testing.assert_array_equal(opt.state[0]["G"], np.full((3, 2), expected, dtype))
    if convention != "survey":
        assert opt.initial_accumulator_value == expected
        opt2 = gd.Adagrad([w.copy()], convention=convention, initial_accumulator_value=0.25)
        np.testing.assert_array_equal(opt2.state[0]["G"], 0.25)
        with pytest.raises(AttributeError, match="read-only after construction"):
            opt2.initial_accumulator_value = 1.0
    else:
        with pytest.raises(TypeError, match="unknown hyperparameter"):
            gd.Adagrad([w], initial_accumulator_value=0.1)


def test_hyperparameters_a_convention_lacks():
    with pytest.raises(TypeError, match=r"AdaMax got unknown hyperparameter\(s\) \['eps'\]"):
        gd.AdaMax([np.zeros(2)], eps=1e-8)
    with pytest.raises(TypeError, match="AdaMax with convention='keras' got unknown"):
        gd.AdaMax([np.zeros(2)], convention="keras", gamma=0.5)
    opt = gd.AdaMax([np.zeros(2)])
    with pytest.raises(AttributeError, match="has no hyperparameter 'eps'"):
        opt.eps
    with pytest.raises(AttributeError, match="has no hyperparameter 'eps'"):
        opt.eps = 1e-3


def test_forms_equal_to_the_survey_run_its_kernel():
    """Where a framework computes a rule as the survey writes it, the convention changes the defaults only."""
    same = {p for p in PAIRS if (p[0], p[1]) not in reference.FORMS}
    for rule, convention in same:
        assert gd.RULES[rule].forms[convention].kernel == rule, (rule, convention)
    for (rule, convention), f in reference.FORMS.items():
        assert gd.RULES[rule].forms[convention].kernel == f.__name__, (rule, convention)


@pytest.mark.parametrize("rule, convention", PAIRS)
def test_state_dict_round_trip_is_bitwise(rule, convention, tmp_path):
    rng = np.random.default_rng(44)
    theta0 = rng.standard_normal(20)
    grads = random_grads(rng, theta0.shape, np.float64, 30)
    straight = theta0.copy()
    opt = gd.OPTIMIZERS[rule]([straight], convention=convention)
    for g in grads:
        opt.step(g)
    first = theta0.copy()
    opt = gd.OPTIMIZERS[rule]([first], convention=convention)
    for g in grads[:15]:
        opt.step(g)
    saved = opt.state_dict()
    assert saved["convention"] == convention
    np.savez(tmp_path / "s.npz", **saved)
    resumed = first.copy()
    opt2 = gd.OPTIMIZERS[rule]([resumed], convention=convention)
    with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
        opt2.load_state_dict(f)
    for g in grads[15:]:
        opt2.step(g)
    np.testing.assert_array_equal(resumed, straight)
    pickled = pickle.loads(pickle.dumps(opt))
    assert pickled.convention == convention and pickled.hyperparameters == opt.hyperparameters
    for g in grads[15:]:
        pickled.step(g)
    np.testing.assert_array_equal(pickled.params[0], straight)


def test_load_state_dict_refuses_another_convention():
    opt = gd.Adam([np.zeros(3)], convention="keras")
    opt.step(np.ones(3))
    state = opt.state_dict()
    survey = gd.Adam([np.zeros(3)])
    with pytest.raises(ValueError, match="state is of convention 'keras', this optimizer's is 'survey'"):
        survey.load_state_dict(state)
    assert survey.t == 0
    old = survey.state_dict()
    del old["convention"]  # a state saved before conventions: the survey's
    gd.Adam([np.zeros(3)]).load_state_dict(old)
    with pytest.raises(ValueError, match="state is of convention 'survey'"):
        gd.Adam([np.zeros(3)], convention="torch").load_state_dict(old)


def test_nadam_schedule_state_keeps_the_running_product():
    opt = gd.Nadam([np.zeros(3)], convention="torch")
    for _ in range(3):
        opt.step(np.ones(3))
    mu = [0.9 * (1 - 0.5 * 0.96 ** (s * 0.004)) for s in (1, 2, 3)]
    assert opt.state_dict()["mu_product"] == mu[0] * mu[1] * mu[2]
    bad = opt.state_dict()
    bad["mu_product"] = 1.5
    with pytest.raises(ValueError, match="mu_product"):
        opt.load_state_dict(bad)


def test_repr_names_the_convention():
    assert "convention='torch'" in repr(gd.RMSprop([np.zeros(2)], convention="torch"))
    assert "convention" not in repr(gd.RMSprop([np.zeros(2)]))


@pytest.mark.parametrize("rule, convention", [p for p in PAIRS if not gd.RULES[p[0]].forms[p[1]].schedule])
def test_functional_kernel_equals_optimizer_bitwise(rule, convention):
    rng = np.random.default_rng(45)
    theta0 = rng.standard_normal(17)
    r = gd.RULES[rule]
    hyper = dict(r.forms[convention].defaults)
    w_obj, w_fun = theta0.copy(), theta0.copy()
    opt = gd.OPTIMIZERS[rule]([w_obj], convention=convention)
    slots = reference.initial_state(r.slots, theta0, hyper)
    for t, g in enumerate(random_grads(rng, theta0.shape, np.float64, 12), start=1):
        opt.step(g)
        getattr(gd.kernels, rule)(w_fun, g, *slots, t=t, convention=convention)
    np.testing.assert_array_equal(w_fun, w_obj)


@pytest.mark.parametrize("convention", ["torch", "keras"])
def test_functional_nadam_schedule_refused(convention):
    with pytest.raises(ValueError, match="running product"):
        gd.kernels.nadam(np.zeros(2), np.ones(2), np.zeros(2), np.zeros(2), t=1, convention=convention)


def test_fit_runs_the_conventions_kernel():
    """The C training loop steps the convention's kernel: one batch step of fit equals the optimizer's step."""
    rng = np.random.default_rng(47)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    model = gd.fit("squared", X, y, optimizer="rmsprop", convention="torch", batch_size=None, epochs=2,
                   progress=False)
    assert model.optimizer_.convention == "torch"
    W, b = np.zeros((3, 1)), np.zeros(1)
    opt = gd.RMSprop([W, b], convention="torch")
    for _ in range(2):  # fit's full-batch step: the mean gradient of (x w + b - y)^2 / 2
        r = X @ W[:, 0] + b[0] - y
        opt.step([(X.T @ r / len(y))[:, None], np.array([r.mean()])])
    np.testing.assert_allclose(model.coef_, W[:, 0], rtol=1e-12)
    with pytest.raises(ValueError, match="cannot run in the C training loops"):
        gd.fit("squared", X, y, optimizer="nadam", convention="torch", epochs=1, progress=False)
