"""Thread count of the kernels."""
import numbers

from . import _kernels


def set_num_threads(n):
    """Use at most n OpenMP threads in the kernels called from this thread (like OMP_NUM_THREADS, or
    threadpoolctl's ``threadpool_limits(n, user_api="openmp")``). Kernels fork threads only above a size where
    that pays (see the README's Threads section). No effect in a build without OpenMP."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    _kernels.set_num_threads(int(n))
