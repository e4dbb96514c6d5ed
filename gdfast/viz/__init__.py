"""The survey's pictures: test surfaces (``functions``), contour plots, animations, loss curves and schedules
(matplotlib, the ``plot`` extra, imported on first use) and the demo (``demo``)."""
from . import functions
from .plots import (DEFAULT_OPTIMIZERS, DIVERGED, GIF_DPI, GIF_FIGSIZE, GIF_FPS, GIF_FRAMES, PNG_DPI, PNG_FIGSIZE,
                    animate, plot_command, plot_contours, plot_history, plot_schedule, trajectories)
