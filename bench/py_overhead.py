"""Issue 15's speed targets, measured in one run (a benchmark, not a timed test).

1. One ``lrate.torch.LRScheduler.step()`` against torch's own ``OneCycleLR.step()``, on the
   same kind of optimizer (SGD with momentum, one param group), ``STEPS`` steps each,
   alternating over ``ROUNDS`` rounds. Target: lrate ≤ 1/5 of torch's cost.
2. ``lrate.torch.lr_find`` against torch-lr-finder's ``LRFinder.range_test`` on the same
   model, loader and ``num_iter`` (100; torch-lr-finder with ``step_mode="exp"`` and no
   early stop, lrate with its fastai preset, which stops at divergence: both run every
   batch here because the loss never diverges at these lrs), time per batch, alternating.
   Target: lrate no slower.

Prints each round and the ratios (mean ± sd over rounds) with the CPU, torch's version and
the commit. Run it in the venv that has lrate, torch and torch-lr-finder:

    OMP_NUM_THREADS=2 target/py-venv/bin/python bench/py_overhead.py
"""

import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import provenance  # noqa: E402

import lrate  # noqa: E402
import lrate.schedules as S  # noqa: E402
from lrate.torch import LRScheduler, lr_find  # noqa: E402

STEPS = int(os.environ.get("STEPS", 20000))
ROUNDS = int(os.environ.get("ROUNDS", 5))
NUM_ITER = 100


def per_step(make):
    p = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(p, lr=0.1, momentum=0.9)
    sched = make(opt)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        sched.step()
    return (time.perf_counter() - t0) / STEPS


def torch_onecycle(opt):
    import warnings

    warnings.simplefilter("ignore")  # "step() before optimizer.step()": no training here
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.4, total_steps=STEPS + 10)


def lrate_onecycle(opt):
    return LRScheduler(opt, S.OneCycle(max_lr=0.4, total_steps=STEPS + 10))


def setup():
    torch.manual_seed(0)
    x, y = torch.randn(3200, 1, 16, 16), torch.randint(0, 10, (3200,))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16 * 8 * 8, 10),
    )
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return model, opt, torch.nn.CrossEntropyLoss(), loader


def time_lrate_find():
    model, opt, crit, loader = setup()
    t0 = time.perf_counter()
    r = lr_find(model, opt, crit, loader, start_lr=1e-6, end_lr=1e-2, num_iter=NUM_ITER)
    return (time.perf_counter() - t0) / len(r.lrs), len(r.lrs)


def time_tlf_find():
    from torch_lr_finder import LRFinder

    model, opt, crit, loader = setup()
    f = LRFinder(model, opt, crit, device="cpu")
    t0 = time.perf_counter()
    f.range_test(loader, start_lr=1e-6, end_lr=1e-2, num_iter=NUM_ITER, step_mode="exp", diverge_th=1e9)
    n = len(f.history["lr"])
    f.reset()
    return (time.perf_counter() - t0) / n, n


def mean_sd(v):
    return statistics.mean(v), (statistics.stdev(v) if len(v) > 1 else 0.0)


def main():
    import importlib.metadata as md

    draft = provenance.check_tree()  # a dirty tree: refused unless DRAFT=1 (then marked)
    prov = provenance.provenance(
        anchors={"torch": torch.__version__, "torch-lr-finder": md.version("torch-lr-finder")}, draft=draft)
    print(("DRAFT: " if draft else "") + provenance.md_line(prov)
          + f" OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}; lrate {lrate.__version__}.")
    sched_ratios, find_ratios = [], []
    for r in range(ROUNDS):
        t_torch = per_step(torch_onecycle)
        t_lrate = per_step(lrate_onecycle)
        sched_ratios.append(t_lrate / t_torch)
        f_lrate, n_lrate = time_lrate_find()
        f_tlf, n_tlf = time_tlf_find()
        find_ratios.append(f_lrate / f_tlf)
        print(f"round {r + 1}: step() torch OneCycleLR {t_torch * 1e6:.2f} us, lrate LRScheduler {t_lrate * 1e6:.2f} us "
              f"(ratio {t_lrate / t_torch:.3f}); range test per batch torch-lr-finder {f_tlf * 1e3:.2f} ms "
              f"({n_tlf} batches), lrate {f_lrate * 1e3:.2f} ms ({n_lrate} batches) (ratio {f_lrate / f_tlf:.3f})")
    m, s = mean_sd(sched_ratios)
    print(f"LRScheduler.step() / OneCycleLR.step(): {m:.3f} ± {s:.3f} over {ROUNDS} rounds (target ≤ 0.2)")
    m, s = mean_sd(find_ratios)
    print(f"lr_find / torch-lr-finder time per batch: {m:.3f} ± {s:.3f} over {ROUNDS} rounds (target ≤ 1)")


if __name__ == "__main__":
    main()
