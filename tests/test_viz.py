"""gdfast.viz: the pictures render, and the trajectories behind them show what the survey's "Visualization of
algorithms" section says (Ruder, arXiv:1609.04747), with the picture defaults of gdfast.functions."""
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import gdfast as gd
from gdfast import schedules, viz
from gdfast.functions import SURFACES
from gdfast.optim.minimize import minimize


def assert_picture(path, fmt):
    """A readable, non-empty, not blank image of the given format."""
    with Image.open(path) as im:
        assert im.format == fmt
        assert im.size[0] > 0 and im.size[1] > 0
        assert np.asarray(im.convert("L"), dtype=float).var() > 0
        return getattr(im, "n_frames", 1)


# ------------------------------------------------------------------------------------------------ pictures


def test_plot_contours_writes_a_png(tmp_path):
    out = viz.plot_contours("beale", steps=50, path=tmp_path / "beale.png")
    assert out == str(tmp_path / "beale.png")
    assert assert_picture(out, "PNG") == 1


def test_animate_writes_a_gif_with_several_frames(tmp_path):
    out = viz.animate("saddle", ["sgd", "adagrad"], steps=20, path=tmp_path / "saddle.gif", frames=4)
    assert assert_picture(out, "GIF") == 4


def test_plot_command_writes_png_and_gif(tmp_path):
    out_dir = tmp_path / "new" / "dir"
    paths = viz.plot_command("Saddle", optimizers="sgd,adam", steps=3, out_dir=str(out_dir))
    assert paths == [str(out_dir / "saddle.png"), str(out_dir / "saddle.gif")]
    assert_picture(paths[0], "PNG")
    assert assert_picture(paths[1], "GIF") == 4  # steps 0..3


def test_plot_history_one_or_several_runs(tmp_path):
    run = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": None} for e in range(1, 6)]
    validated = [{"epoch": e, "train_loss": 1.0 / e, "val_loss": 1.2 / e} for e in range(1, 6)]
    assert_picture(viz.plot_history(run, tmp_path / "one.png"), "PNG")
    assert_picture(viz.plot_history([run, validated], tmp_path / "two.png", labels=["sgd", "adam"]), "PNG")
    assert_picture(viz.plot_history({"zero loss": [{"epoch": 1, "train_loss": 0.0}]}, tmp_path / "z.png"), "PNG")
    with pytest.raises(ValueError, match="histories"):
        viz.plot_history([], tmp_path / "empty.png")
    with pytest.raises(ValueError, match="labels"):
        viz.plot_history([run, run], tmp_path / "bad.png", labels=["only one"])


@pytest.mark.parametrize("schedule", [schedules.StepDecay(0.5, 3), schedules.InverseTime(0.01), "cosine"])
def test_plot_schedule(tmp_path, schedule):
    assert_picture(viz.plot_schedule(schedule, 0.1, 10, tmp_path / "lr.png", steps_per_epoch=20), "PNG")


def test_a_diverging_run_is_cut_and_still_plotted(tmp_path):
    points = viz.trajectories("saddle", ["sgd"], steps=30, lr=100.0)["sgd"]  # y grows by 201 per step
    assert points.shape == (31, 2)
    finite = np.isfinite(points).all(axis=1)
    assert finite[0] and not finite[-1]
    assert np.abs(points[finite]).max() <= viz.DIVERGED
    assert_picture(viz.plot_contours("saddle", ["sgd"], steps=30, lr=100.0, path=tmp_path / "d.png"), "PNG")


# ------------------------------------------------------------------------------------------------ arguments


@pytest.mark.parametrize("call", [
    lambda: viz.trajectories("himmelblau"),
    lambda: viz.plot_command("himmelblau"),
])
def test_unknown_surface(call):
    with pytest.raises(ValueError, match=r"surface 'himmelblau'.*beale.*saddle"):
        call()


@pytest.mark.parametrize("optimizers", [["sgd", "lbfgs"], "sgd,lbfgs", []])
def test_unknown_optimizer(optimizers, tmp_path):
    with pytest.raises(ValueError, match=r"optimizers.*'adam'"):
        viz.plot_command("beale", optimizers=optimizers, out_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()  # checked before anything is written


@pytest.mark.parametrize("steps, error", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError)])
def test_bad_steps(steps, error, tmp_path):
    with pytest.raises(error, match="steps must be None or an int >= 1"):
        viz.plot_command("beale", steps=steps, out_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_bad_lr_and_start():
    with pytest.raises(ValueError, match=r"lr.*'adam'"):
        viz.trajectories("beale", lr={"adan": 0.1})
    with pytest.raises(ValueError, match="start"):
        viz.trajectories("beale", start=(1.0, np.nan))


# ------------------------------------------------------------------------------------------------ trajectories


def test_trajectories_are_gdfast_steps():
    """Row k is theta after k steps of the rule: SGD on the saddle in closed form, and NAG's theta (not the
    look-ahead point its array stores) as gdfast.minimize reports it."""
    saddle = SURFACES["saddle"]
    paths = viz.trajectories("saddle", ["sgd", "nag"], steps=25)
    assert set(paths) == {"sgd", "nag"}
    lr, k = saddle.lrs["sgd"], np.arange(26)
    x0, y0 = saddle.start
    np.testing.assert_allclose(paths["sgd"], np.stack([x0 * (1 - 2 * lr) ** k, y0 * (1 + 2 * lr) ** k], axis=-1),
                               rtol=1e-12)
    beale = SURFACES["beale"]
    nag = viz.trajectories("beale", ["nag"], steps=40)["nag"]
    res = minimize(lambda p: (beale.value(p), beale.gradient(p)), beale.start, jac=True, method="nag",
                   options={"lr": beale.lrs["nag"], "maxiter": 40, "gtol": 0.0})
    np.testing.assert_allclose(nag[-1], res.x, rtol=1e-12)


def test_defaults_cover_every_rule():
    paths = viz.trajectories("beale", optimizers=list(gd.OPTIMIZERS), steps=5)
    assert list(paths) == list(gd.OPTIMIZERS)
    assert list(viz.trajectories("ravine", steps=1)) == list(viz.DEFAULT_OPTIMIZERS)


def first_step_beyond(points, bound):
    """The first step at which |y| exceeds bound (None: never)."""
    beyond = np.flatnonzero(np.abs(points[:, 1]) > bound)
    return int(beyond[0]) if beyond.size else None


@pytest.fixture(scope="module")
def saddle_paths():
    return viz.trajectories("saddle", optimizers=list(gd.OPTIMIZERS))


def test_saddle_sgd_stays_at_the_saddle(saddle_paths):
    """Survey: SGD finds it difficult to break symmetry. It slides down x to the saddle point and stays on the
    ridge: after 100 steps y is 0.007 (from 0.001)."""
    sgd = saddle_paths["sgd"]
    assert first_step_beyond(sgd, 0.01) is None
    assert np.hypot(*sgd[-1]) < 0.15


def test_saddle_momentum_and_nag_escape_late(saddle_paths):
    """Survey: Momentum and NAG find it difficult to break symmetry but eventually escape (|y| > 0.5 only after
    60 steps; far away by step 100)."""
    for name in ("momentum", "nag"):
        assert first_step_beyond(saddle_paths[name], 0.5) > 55
        assert abs(saddle_paths[name][-1, 1]) > 10


def test_saddle_adaptive_rules_head_down_quickly(saddle_paths):
    """Survey: Adagrad, RMSprop and Adadelta quickly head down the negative slope (Adam too): each passes
    |y| = 0.5 within 30 steps, before Momentum and NAG have left |y| < 0.1."""
    latest_escape = max(first_step_beyond(saddle_paths[n], 0.5) for n in ("adagrad", "rmsprop", "adadelta", "adam"))
    assert latest_escape <= 30
    for name in ("momentum", "nag"):
        assert first_step_beyond(saddle_paths[name], 0.1) > latest_escape


@pytest.fixture(scope="module")
def beale_paths():
    return viz.trajectories("beale", optimizers=["sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop"])


def test_beale_adaptive_rules_converge_without_detour(beale_paths):
    """Survey: Adagrad, Adadelta and RMSprop head off in the right direction (down into the valley, never below
    it) and converge similarly fast; SGD with the lr of Momentum and NAG is still far off."""
    beale = SURFACES["beale"]
    for name in ("adagrad", "adadelta", "rmsprop"):
        assert beale_paths[name][:, 1].min() > 0.1
        assert float(beale.value(beale_paths[name][-1])) < 0.05
    assert float(beale.value(beale_paths["sgd"][-1])) > 0.5


def test_beale_momentum_and_nag_are_led_off_track(beale_paths):
    """Survey: Momentum and NAG are led off-track (they overshoot far below the valley, y < -0.5) and NAG
    corrects its course sooner (a smaller overshoot and a shorter path), and both reach the minimum."""
    beale = SURFACES["beale"]
    momentum, nag = beale_paths["momentum"], beale_paths["nag"]
    assert momentum[:, 1].min() < nag[:, 1].min() < -0.5

    def length(points):
        return np.linalg.norm(np.diff(points, axis=0), axis=1).sum()

    assert length(nag) < length(momentum)
    for points in (momentum, nag):
        assert float(beale.value(points[-1])) < 0.01


def test_matplotlib_is_optional(monkeypatch, tmp_path):
    """Importing gdfast.viz and computing trajectories need no matplotlib; drawing says how to get it."""
    code = "import sys, gdfast.viz as v; v.trajectories('beale', steps=2); assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(gd.__file__)))
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # makes `import matplotlib.figure` fail
    with pytest.raises(ImportError, match=r'pip install "gdfast\[plot\]"'):
        viz.plot_contours("beale", steps=2, path=tmp_path / "b.png")
    with pytest.raises(ImportError, match="gdfast"):
        viz.plot_command("beale", steps=2, out_dir=str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
