"""A torch CPU training loop of an embedding model stepped by torch's optimizers and by gdfast's, in one process.

The model: nn.EmbeddingBag(1e6, 64, mode="mean", sparse=True) and an MLP 64 -> 256 -> 256 -> 1 (ReLU), float32,
trained on random bags (1024 bags of 8 ids a step: up to 8192 rows of the table, given as torch makes them, an
uncoalesced sparse COO gradient) against random targets with the mean squared error. Each step is forward,
backward, then the optimizers:

* torch:  torch.optim.SparseAdam on the table, torch.optim.Adam(foreach=True) on the MLP (torch's fastest
          CPU path for a list of small tensors; fused=True is timed too where this torch has it);
* gdfast: gdfast.torch.SparseAdam on the table (SparseAdam's lazy, epsilon-hat Adam) and gdfast.torch.Adam on
          the MLP, stepping the tensors in place.

Reported: median ms of each optimizer step (the table's, the MLP's) and of the whole step, over STEPS timed
steps after WARMUP; the ratios torch / gdfast. The goals (issue 17): the sparse embedding's step >= 10x faster
than SparseAdam, the dense part >= 2x faster than torch's foreach Adam. Printed and written to
bench/results/torch.md (printed only with --quick).

Run:  python bench/bench_torch.py [--quick]
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast.torch as gt  # noqa: E402
from timing import git_head, machine, write_result  # noqa: E402

ROWS, DIM, BAGS, IDS = 10**6, 64, 1024, 8


def model():
    torch.manual_seed(0)
    table = torch.nn.EmbeddingBag(ROWS, DIM, mode="mean", sparse=True)
    mlp = torch.nn.Sequential(torch.nn.Linear(DIM, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                              torch.nn.ReLU(), torch.nn.Linear(256, 1))
    return table, mlp


def optimizers(kind, table, mlp):
    """(the table's step, the MLP's step): functions of no argument stepping from the .grad fields."""
    dense = list(mlp.parameters())
    if kind == "gdfast":
        return gt.SparseAdam([table.weight], lr=1e-3).step, gt.Adam(dense, lr=1e-3).step
    sparse_opt = torch.optim.SparseAdam([table.weight], lr=1e-3)
    options = {"fused": True} if kind == "torch fused" else {"foreach": True}
    dense_opt = torch.optim.Adam(dense, lr=1e-3, **options)
    return sparse_opt.step, dense_opt.step


def run(kind, steps, warmup):
    table, mlp = model()
    step_table, step_mlp = optimizers(kind, table, mlp)
    rng = torch.Generator().manual_seed(1)
    times = {"table": [], "mlp": [], "whole": []}
    for i in range(warmup + steps):
        ids = torch.randint(0, ROWS, (BAGS * IDS,), generator=rng)
        offsets = torch.arange(0, BAGS * IDS, IDS)
        target = torch.randn(BAGS, 1, generator=rng)
        t0 = time.perf_counter()
        for p in (table.weight, *mlp.parameters()):
            p.grad = None
        loss = ((mlp(table(ids, offsets)) - target) ** 2).mean()
        loss.backward()
        t1 = time.perf_counter()
        step_table()
        t2 = time.perf_counter()
        step_mlp()
        t3 = time.perf_counter()
        if i >= warmup:
            times["table"].append(t2 - t1)
            times["mlp"].append(t3 - t2)
            times["whole"].append(t3 - t0)
    return {k: 1e3 * float(np.median(v)) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps")
    args = ap.parse_args()
    steps, warmup = (20, 5) if args.quick else (200, 20)
    torch.set_num_threads(os.cpu_count())
    kinds = ["torch", "gdfast"] + (["torch fused"] if "fused" in torch.optim.Adam.__init__.__code__.co_varnames
                                   else [])
    results = {kind: run(kind, steps, warmup) for kind in kinds}
    lines = ["# gdfast.torch: an embedding model's training step, torch's optimizers against gdfast's", "",
             f"- {machine()}; gdfast {git_head()}, torch {torch.__version__}, {torch.get_num_threads()} threads "
             f"(torch and gdfast)",
             f"- EmbeddingBag({ROWS}, {DIM}, sparse) + MLP {DIM}-256-256-1, float32, {BAGS} bags of {IDS} ids a step; "
             f"median ms over {steps} steps", "",
             "| optimizers | table step ms | MLP step ms | whole step ms |", "|---|---:|---:|---:|"]
    for kind, r in results.items():
        name = {"torch": "torch: SparseAdam + Adam(foreach)", "torch fused": "torch: SparseAdam + Adam(fused)",
                "gdfast": "gdfast.torch: SparseAdam + Adam"}[kind]
        lines.append(f"| {name} | {r['table']:.3f} | {r['mlp']:.3f} | {r['whole']:.3f} |")
    ours, theirs = results["gdfast"], results["torch"]
    lines += ["", f"- table step: SparseAdam / gdfast = {theirs['table'] / ours['table']:.1f}x (goal >= 10x)",
              f"- MLP step: Adam(foreach) / gdfast = {theirs['mlp'] / ours['mlp']:.1f}x (goal >= 2x)"
              + (f"; Adam(fused) / gdfast = {results['torch fused']['mlp'] / ours['mlp']:.1f}x"
                 if "torch fused" in results else ""),
              f"- whole step: torch / gdfast = {theirs['whole'] / ours['whole']:.2f}x"]
    print("\n".join(lines))
    write_result("torch.md", lines, args.quick)


if __name__ == "__main__":
    main()
