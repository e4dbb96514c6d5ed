"""Checks of the distributed options that both the runners (_backend) and the Ray backend's options (_ray) make:
kept apart from both so that _backend, which starts Ray runs, can import _ray without _ray importing it back."""
import numpy as np


def int_at_least(name, value, low=0):
    """value as an int, or a ValueError naming ``name`` if it is not an int >= low (bool is not an int here)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return int(value)
