"""Dense float32 step time of gdfast's eleven update rules against torch.optim (which has no FTRL) and naive NumPy.

Measures, in one process with 2 threads (torch and gdfast; NumPy ufuncs are single-threaded), the median
microseconds per optimizer step for N = 1e3, 1e5, 1e7 elements in one array, for 100 arrays of random
sizes totalling 1e6, and for those 100 arrays in 10 param groups of 10, each group with its own lr (one C call
still, each array taking its group's row of hyperparameters; torch's param groups alike), for each of:

* gdfast     ``opt.step(grads)``
* torch      ``torch.optim`` with ``foreach=True``, and with ``fused=True`` where torch accepts it on CPU
             (p.grad is set once to a fixed tensor; only ``opt.step()`` is timed)
* numpy      the rule written naively with in-place ufuncs (``out=``), a dict of small functions below.

Effective bandwidth counts 4*N*(3 + 2*slots) bytes per step (read g, read+write theta and each state slot).
The roofline is the in-place triad y += a*x at N=1e7 (12 bytes/element), measured in the same run as the
better of torch ``y.add_(x, alpha=a)`` and gdfast SGD (which is that triad); every rule at N=1e7 is reported
as a percentage of it. The table is printed and written to bench/results/dense.md (printed only with --quick).
Without torch (``pip install -e ".[bench]"``) its columns read n/a.

Run:  python bench/bench_dense.py            # full run, a few minutes
      python bench/bench_dense.py --quick    # smoke test: fewer repetitions, no N=1e5 or 1e7, printed only
"""
import argparse
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the repo's gdfast
import gdfast as gd  # noqa: E402
from timing import best_of_rounds, git_head, machine, noisy_lines, optional_import, write_result  # noqa: E402

torch = optional_import("torch")

THREADS = 2
SLOTS = {name: len(rule.slots) for name, rule in gd.RULES.items()}
LIST_CASE = "100 arrays, 1e6"
GROUPS_CASE = "100 arrays in 10 groups, 1e6"


# ---------------------------------------------------------------------------------------------- peers
def grouped(params, n_groups, lr):
    """params as n_groups param groups of consecutive arrays, group k with lr * (1 + k / n_groups); the list as
    it is for one group."""
    if n_groups == 1:
        return params
    size = -(-len(params) // n_groups)
    return [{"params": params[k * size:(k + 1) * size], "lr": lr * (1 + k / n_groups)} for k in range(n_groups)]


def gdfast_step(rule, params, grads, n_groups=1):
    opt = gd.OPTIMIZERS[rule](grouped(params, n_groups, gd.RULES[rule].defaults["lr"]))
    return lambda: opt.step(grads)


TORCH = {  # rule -> (torch.optim class name, kwargs); torch.optim has no FTRL
    "sgd": ("SGD", dict(lr=0.01)),
    "momentum": ("SGD", dict(lr=0.01, momentum=0.9)),
    "nag": ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
    "adagrad": ("Adagrad", dict(lr=0.01)),
    "adadelta": ("Adadelta", dict(lr=1.0, rho=0.9)),
    "rmsprop": ("RMSprop", dict(lr=1e-3, alpha=0.9)),
    "adam": ("Adam", dict(lr=1e-3)),
    "adamax": ("Adamax", dict(lr=2e-3)),
    "nadam": ("NAdam", dict(lr=2e-3)),
    "amsgrad": ("Adam", dict(lr=1e-3, amsgrad=True)),
}


def torch_step(rule, params, grads, mode, n_groups=1):
    """mode 'foreach' or 'fused'; None when torch refuses that mode for this rule on CPU, or is not installed."""
    if torch is None or rule not in TORCH:
        return None
    name, kw = TORCH[rule]
    cls = getattr(torch.optim, name)
    ps = [torch.from_numpy(p) for p in params]  # torch's own copies below: the peers never share memory
    ps = [p.clone().requires_grad_(True) for p in ps]
    for p, g in zip(ps, grads):
        p.grad = torch.from_numpy(g.copy())
    try:
        opt = cls(grouped(ps, n_groups, kw["lr"]), **kw, **{mode: True})
        with torch.no_grad():
            opt.step()
    except (RuntimeError, TypeError, ValueError):
        return None
    return opt.step


def _adam_moments(g, m, v, tmp, b1=0.9, b2=0.999):
    m *= b1; np.multiply(g, 1 - b1, out=tmp); m += tmp
    v *= b2; np.multiply(g, g, out=tmp); tmp *= 1 - b2; v += tmp


def np_sgd(p, g, s, tmp, t, lr=0.01):
    np.multiply(g, lr, out=tmp); p -= tmp


def np_momentum(p, g, s, tmp, t, lr=0.01, gamma=0.9):
    v, = s; v *= gamma; np.multiply(g, lr, out=tmp); v += tmp; p -= v


def np_nag(p, g, s, tmp, t, lr=0.01, gamma=0.9):
    v, = s; v *= gamma; np.multiply(g, lr, out=tmp); v += tmp; p -= tmp; np.multiply(v, gamma, out=tmp); p -= tmp


def np_adagrad(p, g, s, tmp, t, lr=0.01, eps=1e-8):
    G, = s; np.multiply(g, g, out=tmp); G += tmp
    np.add(G, eps, out=tmp); np.sqrt(tmp, out=tmp); np.divide(g, tmp, out=tmp); tmp *= lr; p -= tmp


def np_adadelta(p, g, s, tmp, t, lr=1.0, gamma=0.9, eps=1e-6):
    Eg2, Edx2 = s; tmp, tmp2 = tmp
    Eg2 *= gamma; np.multiply(g, g, out=tmp); tmp *= 1 - gamma; Eg2 += tmp
    np.add(Edx2, eps, out=tmp); np.add(Eg2, eps, out=tmp2); np.divide(tmp, tmp2, out=tmp); np.sqrt(tmp, out=tmp)
    tmp *= g  # tmp = -dx
    Edx2 *= gamma; np.multiply(tmp, tmp, out=tmp2); tmp2 *= 1 - gamma; Edx2 += tmp2
    tmp *= lr; p -= tmp


def np_rmsprop(p, g, s, tmp, t, lr=1e-3, gamma=0.9, eps=1e-8):
    Eg2, = s; Eg2 *= gamma; np.multiply(g, g, out=tmp); tmp *= 1 - gamma; Eg2 += tmp
    np.add(Eg2, eps, out=tmp); np.sqrt(tmp, out=tmp); np.divide(g, tmp, out=tmp); tmp *= lr; p -= tmp


def np_adam(p, g, s, tmp, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = s; _adam_moments(g, m, v, tmp, b1, b2)
    np.multiply(v, 1 / (1 - b2**t), out=tmp); np.sqrt(tmp, out=tmp); tmp += eps
    np.divide(m, tmp, out=tmp); tmp *= lr / (1 - b1**t); p -= tmp


def np_adamax(p, g, s, tmp, t, lr=2e-3, b1=0.9, b2=0.999):
    m, u = s; m *= b1; np.multiply(g, 1 - b1, out=tmp); m += tmp
    u *= b2; np.abs(g, out=tmp); np.maximum(u, tmp, out=u)
    with np.errstate(divide="ignore", invalid="ignore"):  # u = 0 where every g so far was 0 (NaN, as in 0/0)
        np.divide(m, u, out=tmp)
    tmp *= lr / (1 - b1**t); p -= tmp


def np_nadam(p, g, s, tmp, t, lr=2e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = s; tmp, tmp2 = tmp; _adam_moments(g, m, v, tmp, b1, b2)
    np.multiply(m, b1, out=tmp); np.multiply(g, 1 - b1, out=tmp2); tmp += tmp2; tmp *= 1 / (1 - b1**t)
    np.multiply(v, 1 / (1 - b2**t), out=tmp2); np.sqrt(tmp2, out=tmp2); tmp2 += eps
    np.divide(tmp, tmp2, out=tmp); tmp *= lr; p -= tmp


def np_amsgrad(p, g, s, tmp, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v, vhat = s; _adam_moments(g, m, v, tmp, b1, b2); np.maximum(vhat, v, out=vhat)
    np.sqrt(vhat, out=tmp); tmp += eps; np.divide(m, tmp, out=tmp); tmp *= lr; p -= tmp


def np_ftrl(p, g, s, tmp, t, lr=0.1, beta=1.0):  # lambda1 = lambda2 = 0 (the defaults): theta = -z / denominator
    z, n = s; tmp, tmp2 = tmp
    np.sqrt(n, out=tmp2); np.multiply(g, g, out=tmp); n += tmp; np.sqrt(n, out=tmp)
    np.subtract(tmp, tmp2, out=tmp2); tmp2 *= 1 / lr; tmp2 *= p; z += g; z -= tmp2  # z += g - sigma theta
    tmp += beta; tmp *= 1 / lr; np.divide(z, tmp, out=p); np.negative(p, out=p)


NUMPY = {name: globals()["np_" + name] for name in SLOTS}


def numpy_step(rule, params, grads):
    params = [p.copy() for p in params]
    state = [tuple(np.zeros_like(p) for _ in range(SLOTS[rule])) for p in params]
    two = rule in ("adadelta", "nadam", "ftrl")  # the rules that need a second scratch array
    scratch = [(np.empty_like(p), np.empty_like(p)) if two else np.empty_like(p) for p in params]
    fn, t = NUMPY[rule], [0]

    def step():
        t[0] += 1
        for p, g, s, tmp in zip(params, grads, state, scratch):
            fn(p, g, s, tmp, t[0])
    return step


# ---------------------------------------------------------------------------------------------- cases
def cases(quick):
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 20_000, 100)
    sizes = np.floor(sizes / sizes.sum() * 1_000_000).astype(int)
    sizes[0] += 1_000_000 - sizes.sum()
    lists = [(LIST_CASE, list(sizes), 1), (GROUPS_CASE, list(sizes), 10)]
    if quick:
        return [("1e3", [1000], 1), *lists]
    return [("1e3", [1000], 1), ("1e5", [100_000], 1), ("1e7", [10_000_000], 1), *lists]


def roofline(budget):
    """GB/s of the in-place triad y += a*x at N=1e7, float32: torch add_ (where installed) and gdfast SGD."""
    n = 10_000_000
    w, g = np.random.default_rng(1).standard_normal((2, n), dtype=np.float32)
    steps = {"gdfast sgd": gdfast_step("sgd", [w], [g])}
    if torch is not None:
        x, y = torch.randn(n), torch.randn(n)
        steps = {"torch add_": lambda: y.add_(x, alpha=1e-6), **steps}
    t = best_of_rounds(steps, budget, "roofline ")
    return {k: 12 * n / us / 1e3 for k, us in t.items()}


def header():
    return [f"- hardware: {machine()}",
            f"- gdfast commit {git_head()}; python {platform.python_version()}, "
            f"torch {torch.__version__ if torch else 'not installed'}, numpy {np.__version__}",
            f"- gdfast openmp_enabled: {gd.openmp_enabled()}, threads: gdfast {gd.get_num_threads()}, "
            f"torch {torch.get_num_threads() if torch else 'n/a'} (numpy ufuncs: 1), "
            f"min_per_thread {_min_per_thread()}",
            "- float32; median us per step; GB/s = 4*N*(3 + 2*slots) bytes / time"]


def _min_per_thread():
    import gdfast._kernels as K
    return K.get_min_per_thread()


def fmt(x, spec=".1f"):
    return "n/a" if x is None else format(x, spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, N=1e3 and the 100 arrays only")
    args = ap.parse_args()
    if torch is not None:
        torch.set_num_threads(THREADS)
    gd.set_num_threads(THREADS)
    budget = 0.03 if args.quick else 0.6  # seconds of timed calls per measurement, over ROUNDS rounds

    roof = roofline(budget)
    roof_gbs = max(roof.values())
    lines = ["# gdfast dense step benchmark", ""] + header() + [
        "- roofline (y += a*x, N=1e7, 2 threads): " + ", ".join(f"{k} {v:.1f} GB/s" for k, v in roof.items())
        + f" -> {roof_gbs:.1f} GB/s", "",
        "| rule | size | gdfast us | torch foreach us | torch fused us | numpy us | speedup vs best torch "
        "| gdfast GB/s | % roofline |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    rng = np.random.default_rng(0)
    for label, sizes, n_groups in cases(args.quick):
        params = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
        grads = [rng.standard_normal(s, dtype=np.float32) for s in sizes]
        n = sum(sizes)
        for rule in SLOTS:
            steps = {"gdfast": gdfast_step(rule, [p.copy() for p in params], grads, n_groups),
                     "foreach": torch_step(rule, params, grads, "foreach", n_groups),
                     "fused": torch_step(rule, params, grads, "fused", n_groups),
                     "numpy": numpy_step(rule, params, grads)}
            t = best_of_rounds(steps, budget, f"{rule} {label} ")
            del steps
            best = min((t[k] for k in ("foreach", "fused") if t[k] is not None), default=None)
            speedup = "n/a" if best is None else f"{best / t['gdfast']:.2f}x"
            gbs = 4 * n * (3 + 2 * SLOTS[rule]) / t["gdfast"] / 1e3
            pct = f"{100 * gbs / roof_gbs:.0f}%" if n == 10_000_000 else ""
            row = (f"| {rule} | {label} | {t['gdfast']:.1f} | {fmt(t['foreach'])} | {fmt(t['fused'])} | "
                   f"{t['numpy']:.1f} | {speedup} | {gbs:.1f} | {pct} |")
            print(row, flush=True)
            lines.append(row)
    lines += noisy_lines()
    print("\n".join(noisy_lines()))
    write_result("dense.md", lines, args.quick)  # a smoke test never overwrites the full table


if __name__ == "__main__":
    sys.exit(main())
