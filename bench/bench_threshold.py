"""Where forking a second thread starts to pay for a dense float32 step (Adam and SGD).

For N from 4096 to 1e6 it times one step (median us, best of 3 interleaved rounds) with
  * 1 thread                 gd.set_num_threads(1)
  * 2 threads, forced        gd.set_num_threads(2) with K.set_min_per_thread(1), so every N is split
  * 2 threads, default       gd.set_num_threads(2) with the library's default threshold (for reference)
and reports the smallest N per thread (N / 2) from which the forced 2-thread step is faster than 1 thread
(and stays faster for every larger N). Printed and written to bench/results/threshold.md.

Run:  python bench/bench_threshold.py
      python bench/bench_threshold.py --quick    # smoke test: every other N, shorter timings, printed only
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
import gdfast._kernels as K  # noqa: E402
from timing import median_us, write_result  # noqa: E402

SIZES = [4096, 8192, 16384, 32768, 65536, 131072, 262144, 1_000_000]
DEFAULT_MIN = K.get_min_per_thread()
CONFIGS = {"1 thread": (1, DEFAULT_MIN), "2 threads forced": (2, 1), "2 threads default": (2, DEFAULT_MIN)}


def measure(rule, n, budget):
    rng = np.random.default_rng(0)
    opt = gd.OPTIMIZERS[rule]([rng.standard_normal(n, dtype=np.float32)])
    g = rng.standard_normal(n, dtype=np.float32)
    best = {}
    for _ in range(3):  # interleaved rounds; the lowest round median is kept (noise only adds time)
        for name, (threads, min_per_thread) in CONFIGS.items():
            gd.set_num_threads(threads)
            K.set_min_per_thread(min_per_thread)
            us = median_us(lambda: opt.step([g]), budget, sample_s=5e-4)
            best[name] = min(best.get(name, us), us)
    K.set_min_per_thread(DEFAULT_MIN)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="every other N and shorter timings")
    args = ap.parse_args()
    sizes = SIZES[::2] + SIZES[-1:] if args.quick else SIZES
    budget = 0.02 if args.quick else 0.1  # seconds of timed calls per configuration and round
    lines = ["# gdfast: when do 2 threads pay for a dense step", "",
             f"- {os.cpu_count()} cores, openmp_enabled {gd.openmp_enabled()}, float32, median us per step, "
             f"default min_per_thread {DEFAULT_MIN}", "",
             "| rule | N | N/thread | " + " | ".join(f"{c} us" for c in CONFIGS) + " | 1 thread / 2 forced |",
             "|---|---:|---:|" + "---:|" * (len(CONFIGS) + 1)]
    print("\n".join(lines), flush=True)
    summary = []
    for rule in ("sgd", "adam"):
        faster = []
        for n in sizes:
            t = measure(rule, n, budget)
            ratio = t["1 thread"] / t["2 threads forced"]
            faster.append(ratio > 1)
            row = f"| {rule} | {n} | {n // 2} | " + " | ".join(f"{t[c]:.1f}" for c in CONFIGS) + f" | {ratio:.2f} |"
            print(row, flush=True)
            lines.append(row)
        # smallest N from which 2 threads win at every larger N too
        k = next((i for i in range(len(sizes)) if all(faster[i:])), None)
        summary.append(f"- {rule}: 2 threads faster from N = {sizes[k]} ({sizes[k] // 2} per thread)"
                       if k is not None else f"- {rule}: 2 threads never faster up to N = {sizes[-1]}")
    lines += [""] + summary
    print("\n".join(summary))
    write_result("threshold.md", lines, args.quick)


if __name__ == "__main__":
    main()
