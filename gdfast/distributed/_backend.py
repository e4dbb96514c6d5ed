"""How replicas run: "simulated" round-robin in the caller's thread (deterministic, with injected delays), or
"local" one thread per replica (the C kernels release the GIL). Ray is planned, not built."""
import threading
from concurrent.futures import ThreadPoolExecutor

BACKENDS = ("local", "simulated")


def check(backend):
    if backend == "ray":
        raise ValueError("backend='ray' is not built yet: use 'local' (threads) or 'simulated'")
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {list(BACKENDS)}, got {backend!r}")
    return backend


def run_epoch(backend, replicas, n_steps, step):
    """step(replica, s) for s < n_steps and every replica: simulated, the replicas take turns at each s; local,
    each replica runs its steps on its own thread. A replica's exception stops the others at their next step
    and is raised here with its traceback."""
    if backend == "simulated":
        for s in range(n_steps):
            for r in replicas:
                step(r, s)
        return
    stop = threading.Event()

    def run(r):
        for s in range(n_steps):
            if stop.is_set():
                return
            try:
                step(r, s)
            except BaseException:
                stop.set()
                raise

    with ThreadPoolExecutor(len(replicas)) as pool:
        futures = [pool.submit(run, r) for r in replicas]
    for f in futures:
        f.result()


def map_replicas(backend, fn, items):
    """[fn(item) for item in items], on one thread each for the local backend."""
    if backend == "simulated":
        return [fn(item) for item in items]
    with ThreadPoolExecutor(len(items)) as pool:
        return list(pool.map(fn, items))
