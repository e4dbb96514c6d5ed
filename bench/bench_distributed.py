"""Distributed SGD under controlled delay and at equal communication (gd.distributed, simulated backend, so
every number is reproducible), and the wall time of the threads backend.

Data: gd.datasets.make_classification, 20k rows x 2^16 power-law features (~10 nonzeros), logistic loss.
1. Delay: Downpour with 8 replicas, fetch and push every step, batch 1, server Adagrad vs AdaptiveRevision
   (lr 1.0 and 0.3), every push delivered d = 0, 100, 1000 server updates late: training loss after 2 epochs.
2. Equal communication: each replica talks to the server every 4 steps, 4 replicas, batch 8, 5 epochs:
   Downpour (n_fetch = n_push = 4, local SGD lr 0.5, server Adagrad lr 0.5) against asynchronous EASGD and EAMSGD
   (tau = 4, lr 0.5, momentum 0.9): training loss after each epoch (simulated), then seconds and final loss on 4
   threads (local backend) and on a local Ray instance with every core (replicas as tasks, shards as actors).

Printed and written to bench/results/distributed.md (printed only with --quick). Without Ray
(``pip install -e ".[ray]"``) its column reads n/a.

Run:  python bench/bench_distributed.py
      python bench/bench_distributed.py --quick    # smoke test: 2k rows x 2^12 features, printed only
"""
import argparse
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from timing import git_head, machine, optional_import, write_result  # noqa: E402

ray = optional_import("ray", extra="ray")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2k rows x 2^12 features instead of 20k x 2^16")
    args = ap.parse_args()
    n_rows, n_features = (2_000, 2 ** 12) if args.quick else (20_000, 2 ** 16)
    X, y = gd.datasets.make_classification(n_rows=n_rows, n_features=n_features, mean_nnz=10)
    lines = ["# gdfast distributed SGD benchmark", "", f"- hardware: {machine()}",
             f"- gdfast commit {git_head()}; python {platform.python_version()}, numpy {np.__version__}",
             f"- data: {X.shape[0]} x {X.shape[1]}, {X.nnz / X.shape[0]:.1f} nonzeros per row, logistic loss", "",
             "## Delay: Downpour, 8 replicas, batch 1, training loss after 2 epochs", "",
             "| delay (server updates) | lr | Adagrad | AdaptiveRevision |", "|---:|---:|---:|---:|"]
    for delay in (0, 100, 1000):
        for lr in (0.3, 1.0):
            row = [gd.distributed.downpour("logistic", X, y, n_replicas=8, n_shards=2, n_fetch=1, n_push=1,
                                           batch_size=1, epochs=2, local_lr=0.0, server=server, lr=lr,
                                           delay=delay, random_state=0, backend="simulated").history_[-1]
                   ["train_loss"] for server in ("adagrad", "adaptive_revision")]
            lines.append(f"| {delay} | {lr} | {row[0]:.4f} | {row[1]:.4f} |")
            print(lines[-1], flush=True)
    runs = {
        "Downpour (Adagrad server)": lambda backend: gd.distributed.downpour(
            "logistic", X, y, n_replicas=4, n_shards=2, n_fetch=4, n_push=4, batch_size=8, epochs=5, local_lr=0.5,
            server="adagrad", lr=0.5, random_state=0, backend=backend),
        "EASGD async": lambda backend: gd.distributed.easgd(
            "logistic", X, y, n_replicas=4, mode="async", tau=4, lr=0.5, batch_size=8, epochs=5, random_state=0,
            backend=backend),
        "EAMSGD (momentum 0.9)": lambda backend: gd.distributed.easgd(
            "logistic", X, y, n_replicas=4, mode="async", tau=4, lr=0.5, momentum=0.9, batch_size=8, epochs=5,
            random_state=0, backend=backend),
    }
    lines += ["", "## Equal communication: every 4 steps per replica, 4 replicas, batch 8", "",
              "| method | loss after epochs 1..5 (simulated) | threads: s, loss | Ray: s, loss |",
              "|---|---|---:|---:|"]
    backends = ("local", "ray") if ray else ("local",)
    if ray:
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    for name, run in runs.items():
        curve = ", ".join(f"{h['train_loss']:.4f}" for h in run("simulated").history_)
        cells = ["n/a", "n/a"]
        for i, backend in enumerate(backends):
            start = time.perf_counter()
            loss = run(backend).history_[-1]["train_loss"]
            cells[i] = f"{time.perf_counter() - start:.2f}, {loss:.4f}"
        lines.append(f"| {name} | {curve} | {cells[0]} | {cells[1]} |")
        print(lines[-1], flush=True)
    if ray:
        ray.shutdown()
    print("\n".join(lines))
    write_result("distributed.md", lines, args.quick)


if __name__ == "__main__":
    sys.exit(main())
