"""Distributed SGD (the survey's section 5, "Parallelizing and distributing SGD"): Downpour SGD with a sharded
parameter server, delay-tolerant Adagrad (AdaptiveRevision) as the server's rule, and Elastic Averaging SGD.

One API for every backend: ``backend="local"`` (default: replicas on threads of this process, the C kernels
releasing the GIL), ``"simulated"`` (deterministic round-robin with pushes delivered ``delay`` updates late, for
comparing methods under controlled staleness) or ``"ray"`` / :class:`RayBackend` (replicas as Ray tasks, server
shards and the EASGD center as checkpointed Ray actors; ``pip install "gdfast[ray]"``).
"""
from ._ray import RayBackend
from .downpour import delay_tolerant_adagrad, downpour
from .easgd import easgd
from .server import AdaptiveRevision, Center, ParameterServer

__all__ = ["downpour", "delay_tolerant_adagrad", "easgd", "ParameterServer", "Center", "AdaptiveRevision",
           "RayBackend"]
