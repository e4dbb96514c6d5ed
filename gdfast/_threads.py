"""Thread count of the kernels."""
from . import _kernels
from ._validate import COUNT


def set_num_threads(n):
    """Use at most n OpenMP threads in the kernels called from this thread (like OMP_NUM_THREADS, or
    threadpoolctl's ``threadpool_limits(n, user_api="openmp")``). Kernels fork threads only above a size where
    that pays (see the README's Threads section). No effect in a build without OpenMP."""
    _kernels.set_num_threads(COUNT.checked("n", n))
