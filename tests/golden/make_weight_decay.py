"""Write tests/golden/weight_decay.npz: the trajectories torch's AdamW, torch's Adam with weight_decay and optax's
adamw take on fixed gradients, which tests/test_weight_decay.py holds gdfast's weight decay to without either
framework installed (torch is live there too; optax is not in the test extra).

    pip install torch==2.13.0 optax      # jax CPU comes with optax
    python tests/golden/make_weight_decay.py

Each case runs on the framework itself in float64 (none is transcribed): 60 steps of a 20-element parameter
from a seeded start and seeded gradients. The file holds per case ``<case>.theta0``, ``<case>.grads`` and
``<case>.trajectory`` (the parameter after each step), and in ``meta`` (JSON bytes) each case's framework, call
and the versions.
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS, SIZE = 60, 20
# case: (framework, its optimizer's arguments, gdfast's class name and arguments, convention)
CASES = {
    "optax_adamw": ("optax", {"learning_rate": 0.01, "weight_decay": 0.1},
                    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}), "optax"),
    "optax_adamw_default_decay": ("optax", {"learning_rate": 0.01},
                                  ("AdamW", {"lr": 0.01, "weight_decay": 1e-4}), "optax"),
    "torch_adamw": ("torch_adamw", {"lr": 0.01, "weight_decay": 0.1},
                    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}), "torch"),
    "torch_adam_coupled": ("torch_adam", {"lr": 0.01, "weight_decay": 0.1},
                           ("Adam", {"lr": 0.01, "weight_decay": 0.1}), "torch"),
}


def run_optax(kwargs, theta0, grads):
    import jax
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax
    opt = optax.adamw(**kwargs)
    params = jnp.asarray(theta0)
    state, out = opt.init(params), []
    for g in grads:
        updates, state = opt.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        out.append(np.asarray(params))
    return np.array(out)


def run_torch(cls, kwargs, theta0, grads):
    import torch
    p = torch.nn.Parameter(torch.tensor(theta0))
    opt, out = getattr(torch.optim, cls)([p], **kwargs), []
    for g in grads:
        p.grad = torch.tensor(g)
        opt.step()
        out.append(p.detach().numpy().copy())
    return np.array(out)


def main():
    import optax
    import torch
    arrays, meta = {}, {"versions": {"torch": torch.__version__, "optax": optax.__version__}, "cases": {}}
    for i, (name, (framework, kwargs, gdfast, convention)) in enumerate(CASES.items()):
        rng = np.random.default_rng(i)
        theta0, grads = rng.standard_normal(SIZE), rng.standard_normal((STEPS, SIZE))
        if framework == "optax":
            trajectory = run_optax(kwargs, theta0, grads)
        else:
            trajectory = run_torch({"torch_adamw": "AdamW", "torch_adam": "Adam"}[framework], kwargs, theta0, grads)
        arrays.update({f"{name}.theta0": theta0, f"{name}.grads": grads, f"{name}.trajectory": trajectory})
        meta["cases"][name] = {"framework": framework, "arguments": kwargs, "gdfast": gdfast,
                               "convention": convention}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez_compressed(os.path.join(HERE, "weight_decay.npz"), **arrays)


if __name__ == "__main__":
    main()
