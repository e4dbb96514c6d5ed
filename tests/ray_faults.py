"""Faults for the Ray backend's tests: a server actor's process (a shard's or the EASGD center's) or a replica
task's process dies mid-run (``os._exit``, as a kill would end it), or one of its calls raises.

gdfast has no fault option: the faults travel with the code the test's process ships to Ray. A Ray run wraps
two module attributes of gdfast.parallel.distributed._ray with ``ray.remote`` when it starts (RayRun): the class
of the server actors, ``_Durable``, and the replica task, ``_run_steps``. :func:`inject` replaces both, in this
process, by versions that fire the faults first (a subclass of _Durable, a wrapper of _run_steps), so the
workers run what RayRun pickles: the replacements, with the plan inside them. A monkeypatch of gdfast alone
would not do, since the workers are other processes with their own gdfast. This module is pickled by value,
so that the workers need not find it on their path.

A fault fires once per run though the actor restarts from its checkpoint and the task is retried (either
would reach the same call again): it leaves a marker file ``<name>.fault`` in the directory given, which the
tests also check to see that it did fire.
"""
import os
import sys

import ray

from gdfast.parallel.distributed import _ray

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])


def inject(monkeypatch, directory, **faults):
    """Fire ``faults`` in the Ray runs of this test: ``name=(call, kind)``, name "shard<i>", "center" or
    "replica<i>", kind "exit" (the process dies) or "raise" (a RuntimeError "injected fault at call <call> of
    <name>"). A server actor's calls are its updates, counted from 1 on from its checkpoint; a replica's are
    the steps of one task, counted from 0. The markers go to ``directory``."""
    plan = {name: (call, kind, os.path.join(os.fspath(directory), f"{name}.fault"))
            for name, (call, kind) in faults.items()}
    monkeypatch.setattr(_ray, "_Durable", _durable_with_faults(_ray._Durable, plan))
    monkeypatch.setattr(_ray, "_run_steps", _run_steps_with_faults(_ray._run_steps, plan))


def fire(plan, name, call):
    """The fault planned for ``name``, if any, when this is its call and it has not fired in this run."""
    if name not in plan:
        return
    at, kind, marker = plan[name]
    if call != at or os.path.exists(marker):
        return
    open(marker, "w").close()
    if kind == "exit":
        os._exit(1)
    raise RuntimeError(f"injected fault at call {at} of {name}")


def _durable_with_faults(durable, plan):
    """The server actors' class whose updates first fire the faults planned for the actor (named by its
    checkpoint file: shard<i> or center)."""

    class DurableWithFaults(durable):
        def write(self, origin, method, *args):
            fire(plan, os.path.basename(self.path), self.updates + 1)
            return super().write(origin, method, *args)

    return DurableWithFaults


def _run_steps_with_faults(run_steps, plan):
    """The replica task with each of its steps firing first the fault planned for the replica at that step."""

    def run_steps_with_faults(step, problem, replica, n_steps):
        return run_steps(_StepWithFaults(step, plan), problem, replica, n_steps)

    return run_steps_with_faults


class _StepWithFaults:
    """A replica's step that fires the replica's fault before stepping; every other attribute is the wrapped
    step's (the task attaches the problem to it and calls its finish)."""

    def __init__(self, step, plan):
        object.__setattr__(self, "step", step)
        object.__setattr__(self, "plan", plan)

    def __call__(self, replica, s):
        fire(self.plan, f"replica{replica.index}", s)
        return self.step(replica, s)

    def __getattr__(self, name):
        return getattr(self.step, name)

    def __setattr__(self, name, value):
        setattr(self.step, name, value)
