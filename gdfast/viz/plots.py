r"""Pictures of the update rules at work (Ruder, arXiv:1609.04747, "Visualization of algorithms"): trajectories
on the contours of a test surface (``gdfast.functions``), as a PNG or an animated GIF, and the curves of a
training run: its losses per epoch and its learning-rate schedule.

matplotlib is an optional extra (``pip install "gdfast[plot]"``); it is imported on first use, and pictures are
drawn on matplotlib's Agg canvas directly (no pyplot, no window, no change of the global backend).

The trajectories come from gdfast's own optimizers: for k = 1 .. steps,

.. math:: g_k = \nabla f(\text{stored array}), \qquad \text{opt.step}(g_k)

and the point recorded is the survey's :math:`\theta_k` (for NAG, which stores the look-ahead point
:math:`\phi = \theta - \gamma v`, that is :math:`\phi + \gamma v`).

    >>> from gdfast import viz
    >>> viz.plot_command("beale", out_dir="pictures")      # doctest: +SKIP
    ['pictures/beale.png', 'pictures/beale.gif']
"""
import os
from collections.abc import Mapping

import numpy as np

from .. import _validate
from .._validate import COUNT, HYPERPARAMETER_RANGES, NONNEGATIVE, NoneOr, Real
from ..optim import schedules as _schedules
from ..optim._registry import RULES
from ..optim.optimizers import OPTIMIZERS
from .functions import SURFACES, Surface

# The rules of the survey's animations (Alec Radford's: SGD, Momentum, NAG, Adagrad, Adadelta, RMSprop) and Adam,
# which the survey recommends right after them; ten trajectories would crowd one picture.
DEFAULT_OPTIMIZERS = ("sgd", "momentum", "nag", "adagrad", "adadelta", "rmsprop", "adam")

# A trajectory that leaves this box has diverged: its remaining points are NaN (the plots break the line there)
# instead of overflowing to inf and filling the log with warnings.
DIVERGED = 1e6

_INSTALL_HINT = 'gdfast.viz needs matplotlib: pip install "gdfast[plot]"'

# Picture sizes: small, because the PNGs of docs/images are committed (540 x 405 pixels, ~30-40 KB).
PNG_FIGSIZE, PNG_DPI = (6, 4.5), 90
GIF_FIGSIZE, GIF_DPI, GIF_FRAMES, GIF_FPS = (6, 4.5), 72, 60, 15

# The numbers the functions below take, each meaning the same in every one (gdfast._validate); None for steps
# and frames is the surface's or the GIF's default.
PLOT_CONSTRAINTS = {"steps": NoneOr(COUNT), "frames": NoneOr(COUNT), "fps": Real(0, None, "neither"),
                    "dpi": Real(0, None, "neither"), "eta0": NONNEGATIVE, "epochs": COUNT, "steps_per_epoch": COUNT}


# ----------------------------------------------------------------------------------------------- arguments


def _surface(surface):
    """A Surface from itself or its name in gdfast.functions.SURFACES."""
    if isinstance(surface, Surface):
        return surface
    if isinstance(surface, str) and surface.lower() in SURFACES:
        return SURFACES[surface.lower()]
    raise ValueError(f"unknown surface {surface!r}; choose one of {list(SURFACES)}")


def _optimizers(optimizers):
    """Rule names, checked: None (DEFAULT_OPTIMIZERS), one name, "a,b,c", or a list of names; repeats dropped."""
    if optimizers is None:
        return list(DEFAULT_OPTIMIZERS)
    if isinstance(optimizers, str):
        optimizers = optimizers.split(",")
    names = []
    for name in optimizers:
        key = name.strip().lower() if isinstance(name, str) else name
        if key not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {name!r} in optimizers; choose from {list(OPTIMIZERS)}")
        if key not in names:
            names.append(key)
    if not names:
        raise ValueError(f"optimizers is empty; choose from {list(OPTIMIZERS)}")
    return names


def _checked(**values):
    """The values, checked against PLOT_CONSTRAINTS: a list in the order given."""
    return list(_validate.check(PLOT_CONSTRAINTS, values).values())


def _start(surface, start):
    if start is None:
        start = surface.start
    point = np.array(start, dtype=np.float64)
    if point.shape != (2,) or not np.isfinite(point).all():
        raise ValueError(f"start must be a finite point (x, y), got {start!r}")
    return point


def _learning_rates(surface, names, lr):
    """The learning rate of each rule: lr for all (a number), lr[name] (a dict), else the surface's picture
    default, else the rule's own default."""
    if isinstance(lr, Mapping):
        unknown = [k for k in lr if k not in OPTIMIZERS]
        if unknown:
            raise ValueError(f"unknown optimizer(s) {unknown} in lr; choose from {list(OPTIMIZERS)}")
        overrides = dict(lr)
    elif lr is None:
        overrides = {}
    else:
        overrides = {name: lr for name in names}
    label = "lr[{!r}]" if isinstance(lr, Mapping) else "lr"
    return {name: HYPERPARAMETER_RANGES["lr"].checked(label.format(name), overrides.get(
        name, surface.lrs.get(name, RULES[name].defaults["lr"]))) for name in names}


# ----------------------------------------------------------------------------------------------- trajectories


def trajectories(surface, optimizers=None, steps=None, start=None, lr=None):
    r"""Run each rule on a surface and record its points.

    surface: a ``gdfast.functions.Surface`` or its name ("beale", "saddle", "rosenbrock", "ravine").
    optimizers: rule names (a list, or one comma-separated string); None: ``DEFAULT_OPTIMIZERS``.
    steps: steps of each rule (None: the surface's default). start: the start point (None: the surface's).
    lr: one learning rate for all rules, a dict rule -> lr, or None (the surface's per-rule picture defaults).
    Other hyperparameters are the rules' defaults.

    Returns a dict rule name -> float64 array (steps + 1, 2): row 0 is the start, row k the survey's
    :math:`\theta_k` after k steps of :math:`\theta_k = U(\theta_{k-1}, \nabla f)` by ``gd.OPTIMIZERS[name]``.
    A run that diverges (a non-finite gradient, or a coordinate beyond ``DIVERGED``) stops there: its later
    rows are NaN.
    """
    surface = _surface(surface)
    names = _optimizers(optimizers)
    steps, = _checked(steps=steps)
    steps = surface.steps if steps is None else steps
    start = _start(surface, start)
    rates = _learning_rates(surface, names, lr)
    return {name: _trajectory(surface, name, start, rates[name], steps) for name in names}


def _trajectory(surface, name, start, lr, steps):
    theta = start.copy()  # the optimizer's array, updated in place by the C kernel
    opt = OPTIMIZERS[name]([theta], lr=lr)
    points = np.full((steps + 1, 2), np.nan)
    points[0] = start
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is cut below, not warned about
        for k in range(1, steps + 1):
            grad = surface.gradient(theta)
            if not np.isfinite(grad).all():
                break
            opt.step(grad)
            point = _survey_theta(opt, theta)
            if not (np.isfinite(point).all() and np.abs(point).max() <= DIVERGED):
                break
            points[k] = point
    return points


def _survey_theta(opt, stored):
    """The survey's theta: the stored array, except for NAG whose array is the look-ahead point
    phi = theta - gamma v (as in gdfast.minimize)."""
    if opt.rule.name != "nag":
        return stored.copy()
    return stored + opt.gamma * opt.state[0]["v"]


# ----------------------------------------------------------------------------------------------- drawing


def _matplotlib():
    """matplotlib's Figure and Agg canvas, imported on first use."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(_INSTALL_HINT) from e
    return Figure, FigureCanvasAgg


def _figure(figsize):
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # attaches itself: savefig and the GIF writer render through Agg
    return fig


def _color(name):
    """One fixed colour per rule (tab10 by its place in gd.OPTIMIZERS), the same in every picture."""
    return f"C{list(OPTIMIZERS).index(name) % 10}"


def _levels(surface, z):
    """Contour levels: geometric for surfaces whose values span decades above a minimum of 0 (so the valley
    floor gets as many lines as the walls), evenly spaced otherwise (the saddle, which goes below 0)."""
    if surface.log_levels:
        top = float(np.max(z))
        floor = max(float(np.min(z)), top * 1e-7, 1e-12)
        return np.geomspace(floor, top, 30)
    return np.linspace(float(np.min(z)), float(np.max(z)), 25)


def _draw_surface(ax, surface):
    """The contours of f over the surface's window, its minimum (a star) and the axes' labels."""
    x = np.linspace(*surface.xlim, 240)
    y = np.linspace(*surface.ylim, 240)
    grid = np.stack(np.meshgrid(x, y), axis=-1)
    z = surface.value(grid)
    norm = None
    if surface.log_levels:
        from matplotlib.colors import LogNorm
        norm = LogNorm()
    ax.contour(x, y, z, levels=_levels(surface, z), cmap="viridis", norm=norm, linewidths=0.6, alpha=0.6)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, "*", color="crimson", markersize=14, zorder=5, label="minimum")
    ax.set_xlim(surface.xlim)
    ax.set_ylim(surface.ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"{surface.name}: f = {surface.formula}", fontsize=9)


def _draw_start(ax, paths):
    start = next(iter(paths.values()))[0]
    ax.plot(*start, "o", color="black", markersize=5, zorder=5, label="start")


def _legend(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, borderaxespad=0)


def _save(fig, path, dpi):
    """Write the figure; a .png as a 256-colour palette image, a quarter of the size of matplotlib's RGBA PNG
    with no visible difference on these line drawings (the pictures get committed). Other suffixes (.svg,
    .pdf, .jpg) go through matplotlib's savefig."""
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        fig.savefig(path, dpi=dpi)
        return path
    from PIL import Image  # a dependency of matplotlib

    fig.set_dpi(dpi)
    fig.canvas.draw()
    rgb = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
    rgb.quantize(256).save(path, format="PNG", optimize=True)
    return path


# ----------------------------------------------------------------------------------------------- surfaces


def plot_contours(surface, optimizers=None, steps=None, path=None, *, start=None, lr=None, figsize=PNG_FIGSIZE,
                  dpi=PNG_DPI):
    """Draw each rule's trajectory (``trajectories``; same arguments) on the contours of the surface, with the
    start (black dot), each rule's last point (a dot) and the minimum (red star); write a PNG to path (None:
    "<surface name>.png"; a .svg or .pdf suffix writes that instead) and return the path. Contour levels are
    log-spaced for surfaces with a minimum of 0 (Beale, Rosenbrock, ravine)."""
    surface = _surface(surface)
    dpi, = _checked(dpi=dpi)
    paths = trajectories(surface, optimizers, steps, start, lr)
    return _contour_picture(surface, paths, path or f"{surface.name}.png", figsize, dpi)


def _contour_picture(surface, paths, path, figsize, dpi):
    fig = _figure(figsize)
    ax = fig.add_subplot()
    _draw_surface(ax, surface)
    _draw_start(ax, paths)
    for rank, (name, points) in enumerate(paths.items()):
        # Earlier rules on top: SGD's short path at the saddle would hide under Momentum's and NAG's.
        z = 4 - rank / len(paths)
        ax.plot(points[:, 0], points[:, 1], "-", color=_color(name), linewidth=1.4, label=name, zorder=z)
        ax.plot(*_last_finite(points), "o", color=_color(name), markersize=4, zorder=z)
    _legend(ax)
    return _save(fig, path, dpi)


def _last_finite(points):
    """The last recorded point (a diverged run's NaN rows are skipped)."""
    finite = np.isfinite(points).all(axis=1)
    return points[np.flatnonzero(finite)[-1]]


def animate(surface, optimizers=None, steps=None, path=None, *, start=None, lr=None, frames=GIF_FRAMES,
            fps=GIF_FPS, figsize=GIF_FIGSIZE, dpi=GIF_DPI):
    """The picture of ``plot_contours`` as an animated GIF: the trajectories grow over at most ``frames``
    frames (steps are subsampled evenly, the last frame shows the last step), each with a dot at its current
    point. Writes path (None: "<surface name>.gif") with matplotlib's PillowWriter and returns it."""
    surface = _surface(surface)
    frames, fps, dpi = _checked(frames=frames, fps=fps, dpi=dpi)
    frames = GIF_FRAMES if frames is None else frames
    paths = trajectories(surface, optimizers, steps, start, lr)
    return _animation(surface, paths, path or f"{surface.name}.gif", frames, fps, figsize, dpi)


def _animation(surface, paths, path, frames, fps, figsize, dpi):
    from matplotlib.animation import FuncAnimation, PillowWriter

    steps = len(next(iter(paths.values()))) - 1
    # Which step each frame shows: evenly spaced from the start to the last step.
    shown = np.unique(np.linspace(0, steps, min(frames, steps + 1)).round().astype(int))
    fig = _figure(figsize)
    ax = fig.add_subplot()
    _draw_surface(ax, surface)
    _draw_start(ax, paths)
    z = {name: 4 - rank / len(paths) for rank, name in enumerate(paths)}  # earlier rules on top, as in the PNG
    lines = {name: ax.plot([], [], "-", color=_color(name), linewidth=1.4, label=name, zorder=z[name])[0]
             for name in paths}
    heads = {name: ax.plot([], [], "o", color=_color(name), markersize=4, zorder=z[name])[0] for name in paths}
    _legend(ax)
    counter = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=8)
    # Lay the figure out once: the frames only move lines, and the layout engine would otherwise measure every
    # tick label again for each of the two draws per frame.
    fig.canvas.draw()
    fig.set_layout_engine("none")

    def draw_frame(i):
        k = shown[i]
        for name, points in paths.items():
            done = points[:k + 1]
            lines[name].set_data(done[:, 0], done[:, 1])
            heads[name].set_data([done[-1, 0]], [done[-1, 1]])
        counter.set_text(f"step {k}")
        return [*lines.values(), *heads.values(), counter]

    animation = FuncAnimation(fig, draw_frame, frames=len(shown), blit=False, repeat=False)
    path = os.fspath(path)
    animation.save(path, writer=PillowWriter(fps=fps), dpi=dpi)
    return path


def plot_command(surface_name, optimizers=None, steps=None, out_dir="."):
    """``python -m gdfast plot SURFACE [--optimizers A,B,...] [--steps N] [--out DIR]``: write
    ``<surface>.png`` (``plot_contours``) and ``<surface>.gif`` (``animate``) into out_dir, created if needed,
    and return their paths [png, gif].

    surface_name: one of gdfast.functions.SURFACES ("beale", "saddle", "rosenbrock", "ravine"),
    case-insensitive. optimizers: rule names (a list, or one comma-separated string); None: the survey's six
    (SGD, Momentum, NAG, Adagrad, Adadelta, RMSprop) and Adam. steps: an integer >= 1; None: the surface's
    default. Start point and learning rates are the surface's picture defaults.
    Unknown names or steps < 1 raise ValueError (naming the argument and the choices), steps that is not an int
    TypeError, before anything is written.
    """
    surface = _surface(surface_name)
    paths = trajectories(surface, optimizers, steps)  # checks optimizers and steps
    _matplotlib()  # the install hint before a directory is made
    os.makedirs(out_dir, exist_ok=True)
    png = _contour_picture(surface, paths, os.path.join(out_dir, f"{surface.name}.png"), PNG_FIGSIZE, PNG_DPI)
    gif = _animation(surface, paths, os.path.join(out_dir, f"{surface.name}.gif"), GIF_FRAMES, GIF_FPS,
                     GIF_FIGSIZE, GIF_DPI)
    return [png, gif]


# ----------------------------------------------------------------------------------------------- training runs


def plot_history(histories, path, labels=None, *, figsize=(6, 4), dpi=PNG_DPI):
    """Loss per epoch of one or several training runs: train loss solid, validation loss dashed (same colour
    per run), log-scale y when every loss is positive (a loss of 0, as the hinge loss can reach, stays linear).

    histories: one history (gdfast's list of dicts per epoch with "epoch", "train_loss" and "val_loss", which
    may be None), a fitted model with ``history_``, a list of those, or a dict label -> history.
    labels: one per run (None: the dict's keys, or "run 1", "run 2", ... for several runs). Writes a PNG to path
    and returns it.
    """
    dpi, = _checked(dpi=dpi)
    runs = _runs(histories, labels)
    fig = _figure(figsize)
    ax = fig.add_subplot()
    positive = True
    for i, (label, history) in enumerate(runs):
        epochs = [entry["epoch"] for entry in history]
        train = np.array([entry["train_loss"] for entry in history], dtype=float)
        val = np.array([np.nan if entry.get("val_loss") is None else entry["val_loss"] for entry in history],
                       dtype=float)
        prefix = f"{label}: " if label else ""
        ax.plot(epochs, train, "-", color=f"C{i % 10}", label=prefix + "train")
        if np.isfinite(val).any():
            ax.plot(epochs, val, "--", color=f"C{i % 10}", label=prefix + "validation")
        shown = np.concatenate([train, val])
        positive &= bool(np.all(shown[np.isfinite(shown)] > 0))
    if positive:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=8)
    return _save(fig, path, dpi)


def _runs(histories, labels):
    """[(label, history)] from the forms plot_history accepts."""
    if isinstance(histories, Mapping):
        labels = list(histories) if labels is None else labels
        histories = list(histories.values())
    elif hasattr(histories, "history_") or _is_history(histories):
        histories = [histories]
    histories = [getattr(h, "history_", h) for h in histories]
    if not histories or not all(_is_history(h) for h in histories):
        raise ValueError("histories must be a non-empty training history (a list of dicts with 'epoch' and "
                         "'train_loss'), a fitted model, a list of those or a dict label -> history")
    if labels is None:
        labels = [""] if len(histories) == 1 else [f"run {i}" for i in range(1, len(histories) + 1)]
    labels = list(labels)
    if len(labels) != len(histories):
        raise ValueError(f"labels has {len(labels)} entries for {len(histories)} histories")
    return list(zip(labels, histories))


def _is_history(h):
    return (isinstance(h, (list, tuple)) and len(h) > 0 and isinstance(h[0], Mapping)
            and {"epoch", "train_loss"} <= set(h[0]))


def plot_schedule(schedule, eta0, epochs, path, *, steps_per_epoch=100, figsize=(6, 3.5), dpi=PNG_DPI):
    r"""The learning rate :math:`\eta` of every step of ``epochs`` epochs of ``steps_per_epoch`` steps, as the
    training loop asks for it (``schedule.rates(eta0, epoch, t0, n_steps)``): a staircase for per-epoch
    schedules, a curve for per-step ones (InverseTime, Optimal). The x axis counts epochs.

    schedule: a ``gdfast.schedules.Schedule``, a name in ``gdfast.schedules.SCHEDULES`` or None (constant).
    The Threshold rule changes the rate only on the objectives it observes during training, so on its own it
    plots as a constant. Writes a PNG to path and returns it.
    """
    schedule = _schedules.schedule(schedule)
    eta0, epochs, steps_per_epoch, dpi = _checked(eta0=eta0, epochs=epochs, steps_per_epoch=steps_per_epoch, dpi=dpi)
    rates = np.concatenate([schedule.rates(eta0, epoch, epoch * steps_per_epoch, steps_per_epoch)
                            for epoch in range(epochs)])
    t = np.arange(rates.size) / steps_per_epoch  # step i's rate holds from i to i + 1
    fig = _figure(figsize)
    ax = fig.add_subplot()
    ax.plot(t, rates, "-", drawstyle="steps-post")
    ax.set_xlim(0, epochs)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"{schedule!r}, eta0 = {eta0:g}", fontsize=9)
    return _save(fig, path, dpi)
