"""PyTorch parity through the package: every case of the PyTorch reference file drives a
real torch optimizer with ``lrate.torch.LRScheduler(opt, from_torch(...))`` (or
``lrate.torch.ReduceLROnPlateau``), and the optimizer's lr and momentum / β1 before every
step must match the reference. A few cases also run torch's own scheduler beside it."""

import json

import pytest
import torch

from conftest import golden
from lrate.schedules import from_torch
from lrate.torch import LRScheduler, ReduceLROnPlateau

REL, ABS = 1e-5, 1e-9


def close(a, b):
    return abs(a - b) <= max(ABS, REL * abs(a))


def optimizer(case, params):
    m = case["optimizer_momentum_or_beta1"]
    if case["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=case["base_lr"], betas=(m, 0.999))
    return torch.optim.SGD(params, lr=case["base_lr"], momentum=m)


def momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def run_case(case):
    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = optimizer(case, p)
    if case["class"] == "ReduceLROnPlateau":
        sched = ReduceLROnPlateau(opt, case["base_lr"], **case["args"])
    else:
        kw = dict(case["args"])
        kw.setdefault("base_lr", case["base_lr"])
        sched = LRScheduler(opt, from_torch(case["class"], **kw))
    for t, (wl, wm) in enumerate(zip(case["lr"], case["momentum_or_beta1"])):
        g = opt.param_groups[0]
        assert close(wl, g["lr"]), f"{case['name']}: lr[{t}] torch {wl!r}, lrate {g['lr']!r}"
        assert close(wm, momentum(g)), f"{case['name']}: momentum[{t}] torch {wm!r}, lrate {momentum(g)!r}"
        p[0].grad = torch.ones(2)
        opt.step()
        if case["class"] == "ReduceLROnPlateau":
            sched.step(case["metrics"][t])
        else:
            sched.step()


def test_every_reference_case():
    cases = json.load(open(golden("LRATE_PYTORCH_GOLDEN", "pytorch_schedules.json")))["cases"]
    assert cases, "no cases"
    failed = []
    for case in cases:
        try:
            run_case(case)
        except AssertionError as e:
            failed.append(str(e))
    print(f"parity: {len(cases) - len(failed)}/{len(cases)} cases")
    assert not failed, "\n".join(failed)


LIVE = [
    ("OneCycleLR", dict(max_lr=0.3, total_steps=80, three_phase=True)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.2, step_size_up=7, mode="triangular2")),
    ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=2, eta_min=1e-4)),
]


@pytest.mark.parametrize("cls,kwargs", LIVE)
def test_beside_torchs_own_scheduler(cls, kwargs):
    pa, pb = [torch.nn.Parameter(torch.zeros(1))], [torch.nn.Parameter(torch.zeros(1))]
    oa = torch.optim.SGD(pa, lr=0.05, momentum=0.9)
    ob = torch.optim.SGD(pb, lr=0.05, momentum=0.9)
    ta = getattr(torch.optim.lr_scheduler, cls)(oa, **kwargs)
    tb = LRScheduler(ob, from_torch(cls, **{"base_lr": 0.05, **kwargs}))
    for t in range(75):
        ga, gb = oa.param_groups[0], ob.param_groups[0]
        assert close(ga["lr"], gb["lr"]), (t, ga["lr"], gb["lr"])
        assert close(ga["momentum"], gb["momentum"]), (t, ga["momentum"], gb["momentum"])
        for o, p in ((oa, pa), (ob, pb)):
            p[0].grad = torch.ones(1)
            o.step()
        ta.step()
        tb.step()
