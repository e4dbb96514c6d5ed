"""Distributed SGD (the survey's section 5): Downpour SGD with a sharded parameter server, delay-tolerant
Adagrad (AdaptiveRevision) as the server's rule, and Elastic Averaging SGD, run by simulated replicas in one
process.

This first backend, ``backend="simulated"``, takes the replicas' steps in a fixed round-robin order and delivers
every push to the server ``delay`` server updates late: runs are deterministic, so methods can be compared under
controlled staleness and checked against plain single-process references. Threads and Ray backends are the next
steps (issue 6).
"""
from .downpour import downpour
from .easgd import easgd
from .server import AdaptiveRevision, ParameterServer

__all__ = ["downpour", "easgd", "ParameterServer", "AdaptiveRevision"]
