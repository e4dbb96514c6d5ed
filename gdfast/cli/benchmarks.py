"""The benchmark suite (the source tree's bench/ folder), script by script: what ``python -m gdfast bench`` runs.

Each ``bench/bench_*.py`` runs in its own process, ``--quick`` by default (small sizes, a few seconds each; the
tables are printed only), or at full size (minutes; the tables are also written to bench/results/). The suite
ships with the source tree, not with the package: ``git clone`` the repository and ``pip install -e ".[bench]"``
(torch and scikit-learn, the peers; ``".[ray]"`` for Ray). A peer that is not installed reads n/a.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"


def scripts():
    """{short name: path} of the suite's scripts, sorted: {"dense": .../bench/bench_dense.py, ...}."""
    if not (BENCH / "timing.py").is_file():
        raise FileNotFoundError(
            f"no benchmark suite at {BENCH}: it ships with gdfast's source tree, not with the installed package; "
            "git clone the repository and pip install -e \".[bench]\" there")
    return {path.stem[len("bench_"):]: path for path in sorted(BENCH.glob("bench_*.py"))}


def run(quick=True, only=None, stream=None):
    """Run the benchmark scripts one after the other, streaming their output (the markdown tables) to `stream`.

    quick: pass ``--quick`` (small sizes, tables printed only); False runs the full sizes, which also rewrite
        bench/results/*.md.
    only: names of the scripts to run ("dense", "bench_dense" or "bench_dense.py"); None runs them all.
    stream: where the output goes, a text file; None is sys.stdout at the time of the call.

    Returns [(script name, return code, seconds)], in the order run. A script that fails is reported and the
    others still run: the caller exits non-zero if any code is. Raises FileNotFoundError when the source tree's
    bench/ folder is missing (gdfast installed from a wheel) and ValueError for a name in `only` that is not a
    script, listing the ones there are.
    """
    stream = sys.stdout if stream is None else stream
    available = scripts()
    if only is None:
        chosen = list(available)
    else:
        names = [only] if isinstance(only, str) else list(only)
        chosen = [n.removesuffix(".py").removeprefix("bench_") for n in names]
        unknown = [n for n, c in zip(names, chosen) if c not in available]
        if unknown:
            raise ValueError(f"no benchmark named {', '.join(map(repr, unknown))}; "
                             f"available: {', '.join(available)}")
        chosen = [n for n in available if n in chosen]  # the suite's order, once each
    mode = "quick" if quick else "full"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # lines as they come, not at exit
    results = []
    for name in chosen:
        script = available[name]
        print(f"\n=== {script.name} ({mode}) ===\n", file=stream, flush=True)
        start = time.perf_counter()
        with subprocess.Popen([sys.executable, str(script)] + (["--quick"] if quick else []), cwd=BENCH.parent,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              bufsize=1) as process:
            for line in process.stdout:
                stream.write(line)
                stream.flush()
        seconds = time.perf_counter() - start
        results.append((script.name, process.returncode, seconds))
        if process.returncode:
            print(f"\n{script.name} FAILED (exit code {process.returncode})", file=stream, flush=True)
    print("\n=== summary ===", file=stream)
    for name, code, seconds in results:
        print(f"{name:24} {'ok' if code == 0 else f'FAILED ({code})':12} {seconds:6.1f} s", file=stream)
    stream.flush()
    return results
