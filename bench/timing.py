"""Timing helpers shared by the benchmarks: medians of batched calls, interleaved rounds, the machine line,
optional peers, and where the tables go."""
import importlib
import os
import platform
import subprocess
import time

import numpy as np

ROUNDS = 3
NOISY = []  # measurements whose rounds disagreed (another process competing for the cores)


def median_us(fn, budget_s, min_samples=5, sample_s=1e-3):
    """Median wall time of fn() in microseconds: warm up, then batch calls so each sample lasts >= sample_s."""
    for _ in range(3):
        fn()
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(sample_s / once))
    samples = max(min_samples, int(budget_s / (once * inner)))
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner)
    return 1e6 * float(np.median(times))


def best_of_rounds(steps, budget_s, what=""):
    """{peer: us}: each peer measured in ROUNDS interleaved rounds; the lowest round median is kept, since
    noise on a shared machine (another process taking a core) only ever adds time. None stays None."""
    rounds = {k: [] for k, fn in steps.items() if fn is not None}
    for _ in range(ROUNDS):
        for k in rounds:
            rounds[k].append(median_us(steps[k], budget_s / ROUNDS))
    for k, r in rounds.items():
        if max(r) > 1.5 * min(r):
            NOISY.append(f"{what}{k}: " + ", ".join(f"{x:.1f}" for x in r))
    return {k: min(rounds[k]) if k in rounds else None for k in steps}


def noisy_lines():
    return ["", f"Noisy measurements (round medians differing by > 1.5x, the lowest is kept): {len(NOISY)}"] + \
        [f"- {x}" for x in NOISY]


def machine():
    """'model, N cores (arch)' from lscpu."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
    model = next((l.split(":", 1)[1].strip() for l in lscpu if l.startswith("Model name")), platform.processor())
    return f"{model}, {os.cpu_count()} cores ({platform.machine()})"


def git_head():
    out = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.abspath(__file__)))
    return out.stdout.strip() or "unknown"


def optional_import(name, extra="bench"):
    """The module `name`, or None after a one-line note: a peer that is not installed reads n/a."""
    try:
        return importlib.import_module(name)
    except ImportError:
        print(f"note: {name} is not installed, its results read n/a (pip install -e \".[{extra}]\")", flush=True)
        return None


def write_result(name, lines, quick=False):
    """bench/results/<name>, one line each; nothing in quick mode, whose tables are only printed (the results
    folder keeps the full runs' figures)."""
    if quick:
        return
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "w") as f:
        f.write("\n".join(lines) + "\n")
