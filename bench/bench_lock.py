"""What the lock that serializes an optimizer's steps costs: one Adam step of N = 1e3 (float32 and float64)
through ``opt.step`` (its fast path, one C call that takes the optimizer's lock, checks the gradients, counts
and steps: DenseBatch.counted_step) against the fast path as it was before the lock (grad_list, then
DenseBatch.ready and DenseBatch.step, the step count kept in Python), median us over interleaved rounds, the
lowest round kept. The goal: the lock costs under 5% of the step.

Run:  python bench/bench_lock.py [--quick]    (--quick: shorter timings, printed only)
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast.optim import _gradients  # noqa: E402
from timing import median_us, write_result  # noqa: E402


def measure(dtype, n, budget, rounds):
    w, g = np.zeros(n, dtype), np.ones(n, dtype)
    opt = gd.Adam([w])
    fast, count = opt._fast, [0]

    def unlocked():  # Optimizer.step's fast path as it was before the lock
        grads = _gradients.grad_list(g, 1)
        if fast is not None and not opt._sparse.stale and fast.ready(grads):
            count[0] += 1
            fast.step(grads, opt._kernel_args, count[0])

    best = {}
    for _ in range(rounds):
        for name, fn in (("locked", lambda: opt.step(g)), ("unlocked", unlocked)):
            best[name] = min(best.get(name, np.inf), median_us(fn, budget, sample_s=5e-4))
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="shorter timings")
    args = ap.parse_args()
    budget, rounds = (0.02, 3) if args.quick else (0.2, 9)
    lines = ["# gdfast: the cost of the step lock", "",
             f"- {os.cpu_count()} cores, Adam, N = 1000, median us per step, lowest of {rounds} interleaved rounds",
             "", "| dtype | opt.step, locked us | the former fast path, no lock us | locked / former |", "|---|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    for dtype in (np.float32, np.float64):
        t = measure(dtype, 1000, budget, rounds)
        row = (f"| {np.dtype(dtype).name} | {t['locked']:.3f} | {t['unlocked']:.3f} | "
               f"{t['locked'] / t['unlocked']:.2f} |")
        print(row, flush=True)
        lines.append(row)
    write_result("lock.md", lines, args.quick)


if __name__ == "__main__":
    main()
