"""Sparse float32 step time of gdfast against torch's sparse optimizers.

Two cases, each cycling through a pool of precomputed gradients (so that every step touches other rows, as in
training):

* embedding   a 1e6 x 64 table, 1024 distinct random rows touched per step (65,536 entries), given to gdfast as
              a gd.RowSparse (rows, values) and as a scipy CSR matrix of the table's shape; torch gets the same
              rows as a coalesced sparse COO tensor, as nn.Embedding(sparse=True) would give it.
* linear      a 1-D weight of 2^20 and 100 random nonzeros per step, as a (1, 2^20) CSR row.

Peers, in one process with 2 threads: gdfast every rule in ``sparse="lazy"`` and ``sparse="exact"``;
torch.optim.SparseAdam (lazy Adam) and torch.optim.Adagrad with sparse gradients (the two sparse optimizers
torch has).

Exact mode: for SGD and Adagrad it is the lazy mode (a zero-gradient step changes nothing); for the closed-form
rules (Momentum, NAG, Adadelta, RMSprop) a catch-up costs the same whatever the number of skipped steps. Adam, AdaMax, Nadam and AMSGrad replay each skipped step, so their
cost grows with the gap between two touches of a row until it settles near rows / (rows per step), ~977 steps
for the 1e6-row table. They are measured in that steady state on a 1e5-row table (gap ~98) with a pool of 512
gradients, reported as ns per replayed coordinate-step and extrapolated to the 1e6-row table.

The floor is the bytes a lazy step must move, 65,536 x (4 + 8 x (1 + slots)) (read the gradient, read and write
the parameter and each slot), at the streaming bandwidth of a dense y += a*x measured in the same run. Also
reported: the time to check a CSR gradient's structure (its indptr has one entry per table row).

Without torch (``pip install -e ".[bench]"``) its columns read n/a. The tables are printed and written to
bench/results/sparse.md (printed only with --quick).

Run:  python bench/bench_sparse.py            # full run, a few minutes
      python bench/bench_sparse.py --quick    # smoke test: fewer repetitions, tables of 1e5 and 1e4 rows
"""
import argparse
import os
import platform
import sys

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from gdfast.optim import _gradients  # noqa: E402
from timing import (best_of_rounds, git_head, machine, median_us, noisy_lines, optional_import,  # noqa: E402
                    write_result)

torch = optional_import("torch")

THREADS = 2
POOL = 64  # gradients cycled through
SLOTS = {name: len(rule.slots) for name, rule in gd.RULES.items()}
REPLAYED = tuple(r.name for r in gd.RULES.values() if r.catch_up == "steps")  # exact mode replays skipped steps


def cycle(items, fn):
    """A step function applying fn to the pool's items in turn, after one pass over them all (so that every
    page the steps touch has been mapped before any is timed)."""
    state = [0]

    def step():
        i = state[0]
        state[0] = (i + 1) % len(items)
        fn(items[i])
    for _ in items:
        step()
    return step


# ---------------------------------------------------------------------------------------------- cases
def embedding_pool(rng, n_rows, dim=64, touched=1024, size=POOL):
    """[(rows, values)]: distinct sorted rows and their gradient rows."""
    return [(np.sort(rng.choice(n_rows, touched, replace=False)), rng.standard_normal((touched, dim), np.float32))
            for _ in range(size)]


def linear_pool(rng, n, nnz=100):
    return [(np.sort(rng.choice(n, nnz, replace=False)), rng.standard_normal(nnz, np.float32)) for _ in range(POOL)]


def as_rows(rows, values, shape):
    return gd.RowSparse(rows, values)


def as_csr(rows, values, shape):
    """The CSR gradient gdfast takes: rows of a (n_rows, dim) table, or nonzeros of a (1, n) row."""
    if len(shape) == 1:
        return sp.csr_matrix((values, rows.astype(np.int32), np.array([0, len(rows)], np.int32)), shape=(1, shape[0]))
    dim = shape[1]
    indptr = np.zeros(shape[0] + 1, np.int32)
    indptr[rows + 1] = dim
    np.cumsum(indptr, out=indptr)
    indices = np.tile(np.arange(dim, dtype=np.int32), len(rows))
    return sp.csr_matrix((values.ravel(), indices, indptr), shape=shape)


def as_torch(rows, values, shape):
    return torch.sparse_coo_tensor(torch.from_numpy(rows)[None], torch.from_numpy(values), shape).coalesce()


# ---------------------------------------------------------------------------------------------- peers
def gdfast_step(rule, shape, grads, mode):
    opt = gd.OPTIMIZERS[rule]([np.zeros(shape, np.float32)], sparse=mode)
    return cycle(grads, opt.step)


def torch_step(cls, shape, grads):
    p = torch.nn.Parameter(torch.zeros(shape))
    opt = cls([p], lr=1e-3)

    def step(g):
        p.grad = g
        opt.step()
    return cycle(grads, step)


def steady_exact_ns(rule, rng, n_rows, budget):
    """Exact mode of a replaying rule on an (n_rows, 64) table at its steady gap, RowSparse gradients:
    (us per step, ns per replayed coordinate-step over the lazy step, mean gap)."""
    grads = [as_rows(r, v, None) for r, v in embedding_pool(rng, n_rows, size=512)]
    lazy = gdfast_step(rule, (n_rows, 64), grads, "lazy")
    exact = gdfast_step(rule, (n_rows, 64), grads, "exact")
    gap = n_rows / 1024
    for _ in range(int(4 * gap)):  # past the cold start, where gaps are still short
        exact()
    t = best_of_rounds({"lazy": lazy, "exact": exact}, budget, f"{rule} exact steady ")
    return t["exact"], 1e3 * (t["exact"] - t["lazy"]) / (65536 * gap), gap


def roofline(budget):
    """GB/s of the in-place triad y += a*x at N=1e7, float32 (gdfast SGD)."""
    n = 10_000_000
    w, g = np.random.default_rng(1).standard_normal((2, n), dtype=np.float32)
    opt = gd.SGD([w])
    return 12 * n / median_us(lambda: opt.step(g), budget) / 1e3


def check_us(grads, shape, budget):
    """The CSR checks of one gradient (structure, index range, canonical form), as a step makes them."""
    p = np.zeros(shape, np.float32)
    return median_us(cycle(grads, lambda g: _gradients.sparse_grad(g, p, "g")), budget)


# ---------------------------------------------------------------------------------------------- report
def run_case(label, shape, pool, rules, budget, torch_peers):
    """{rule: {peer: us}} for gdfast on each format (lazy; exact for the closed-form rules) and torch."""
    formats = {"rows": [as_rows(r, v, shape) for r, v in pool], "csr": [as_csr(r, v, shape) for r, v in pool]}
    tg = [as_torch(r, v, shape) for r, v in pool] if torch_peers else []
    out = {}
    for rule in rules:
        steps = {}
        for name, grads in formats.items():
            steps[f"{name} lazy"] = gdfast_step(rule, shape, grads, "lazy")
            if rule not in REPLAYED:
                steps[f"{name} exact"] = gdfast_step(rule, shape, grads, "exact")
        if rule in torch_peers:
            steps["torch"] = torch_step(torch_peers[rule], shape, tg)
        out[rule] = best_of_rounds(steps, budget, f"{label} {rule} ")
        print(label, rule, {k: round(v, 1) for k, v in out[rule].items()}, flush=True)
        del steps
    return out, formats["csr"]


def ratio(a, b, spec=".1f"):
    return "n/a" if a is None or b is None else format(a / b, spec)


def sci(n):
    """1e6 for 1_000_000."""
    return f"{n:.0e}".replace("e+0", "e")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, an embedding table of 1e5 rows "
                    "(1e4 for the steady state of the replaying rules)")
    args = ap.parse_args()
    gd.set_num_threads(THREADS)
    budget = 0.06 if args.quick else 0.6
    n_rows = 100_000 if args.quick else 1_000_000  # rows of the embedding table, and of the steady-state table
    steady_rows = n_rows // 10
    rng = np.random.default_rng(0)
    roof = roofline(budget)
    torch_peers = {}
    if torch is not None:
        torch.set_num_threads(THREADS)
        torch_peers = {"adam": torch.optim.SparseAdam, "adagrad": torch.optim.Adagrad}

    lines = ["# gdfast sparse step benchmark", "",
             f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, "
             f"torch {torch.__version__ if torch else 'not installed'}, numpy {np.__version__}; "
             f"threads: gdfast {gd.get_num_threads()}, torch {torch.get_num_threads() if torch else 'n/a'}",
             f"- float32; median us per step over a pool of {POOL} gradients; streaming bandwidth (y += a*x, "
             f"N=1e7) {roof:.1f} GB/s", ""]

    shape = (n_rows, 64)
    emb, emb_csr = run_case("embedding", shape, embedding_pool(rng, shape[0]), list(SLOTS), budget, torch_peers)
    check = check_us(emb_csr, shape, budget)
    del emb_csr
    lines += [f"## Embedding {sci(n_rows)} x 64, 1024 rows (65,536 entries) per step", "",
              "torch: SparseAdam for adam, Adagrad with a sparse gradient for adagrad. Exact mode of the replaying "
              "rules: next table.", "",
              "| rule | RowSparse lazy us | RowSparse exact us | exact / lazy | CSR lazy us | CSR exact us | torch us "
              "| torch / RowSparse lazy | floor us | lazy / floor |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rule, t in emb.items():
        floor = 65536 * (4 + 8 * (1 + SLOTS[rule])) / roof / 1e3
        lines.append(f"| {rule} | {t['rows lazy']:.1f} | {fmt(t.get('rows exact'))} | "
                     f"{ratio(t.get('rows exact'), t['rows lazy'], '.2f')} | {t['csr lazy']:.1f} | "
                     f"{fmt(t.get('csr exact'))} | {fmt(t.get('torch'))} | {ratio(t.get('torch'), t['rows lazy'])} | "
                     f"{floor:.1f} | {t['rows lazy'] / floor:.1f} |")
    lines += ["", f"CSR structure check of one gradient (indptr of {sci(n_rows)} + 1 entries, 65,536 indices): "
              f"{check:.1f} us of the {emb['adam']['csr lazy']:.1f} us of a CSR lazy Adam step.", ""]

    lines += ["## Exact mode of the replaying rules, steady state", "",
              f"A {sci(steady_rows)} x 64 table, RowSparse gradients from a pool of 512 (mean gap between two touches "
              f"of a row ~{steady_rows / 1024:.0f} steps), after 4 x gap warm-up steps; extrapolated to the "
              f"{sci(n_rows)}-row table (gap ~{n_rows / 1024:.0f}) as lazy + 65,536 x {n_rows / 1024:.0f} x ns.", "",
              f"| rule | exact us ({sci(steady_rows)} rows) | ns per replayed coordinate-step | "
              f"estimated exact us ({sci(n_rows)} rows) |",
              "|---|---:|---:|---:|"]
    for rule in REPLAYED:
        us, ns, _ = steady_exact_ns(rule, rng, steady_rows, budget)
        est = emb[rule]["rows lazy"] + 65536 * (n_rows / 1024) * ns / 1e3
        lines.append(f"| {rule} | {us:.0f} | {ns:.3f} | {est:.0f} |")
        print(lines[-1], flush=True)

    n = 2 ** 20
    lin, _ = run_case("linear", (n,), linear_pool(rng, n), ["sgd", "momentum", "adagrad", "adam"], budget,
                      torch_peers)
    lines += ["", "## Linear model: 1-D weight of 2^20, 100 nonzeros per step", "",
              "| rule | CSR lazy us | CSR exact us | RowSparse lazy us | torch us | torch / CSR lazy |",
              "|---|---:|---:|---:|---:|---:|"]
    for rule, t in lin.items():
        lines.append(f"| {rule} | {t['csr lazy']:.1f} | {fmt(t.get('csr exact'))} | {t['rows lazy']:.1f} | "
                     f"{fmt(t.get('torch'))} | {ratio(t.get('torch'), t['csr lazy'])} |")
    lines += noisy_lines()
    print("\n".join(lines))
    write_result("sparse.md", lines, args.quick)


def fmt(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)


if __name__ == "__main__":
    sys.exit(main())
