"""lrate.torch: the scheduler's resume and bounds, lr_find's restore, and bad input."""

import math

import numpy as np
import pytest
import torch

import lrate
import lrate.schedules as S
from lrate.torch import LRScheduler, lr_find


def test_a_state_dict_round_trip_gives_the_same_next_500_lrs():
    def make():
        m = torch.nn.Linear(3, 2)
        o = torch.optim.Adam(
            [{"params": [m.weight], "lr": 1e-3}, {"params": [m.bias], "lr": 1e-4}]
        )
        return m, o

    sched = lambda o: LRScheduler(o, S.OneCycle(max_lr=0.01, total_steps=1000))  # noqa: E731
    ma, oa = make()
    a = sched(oa)
    for _ in range(250):
        oa.step()
        a.step()
    state = a.state_dict()
    mb, ob = make()
    b = LRScheduler(ob, S.Constant(base_lr=1.0))
    b.load_state_dict(state)
    for _ in range(500):
        ga, gb = oa.param_groups, ob.param_groups
        assert b.get_last_lr() == a.get_last_lr()
        assert [g["lr"] for g in ga] == [g["lr"] for g in gb]
        assert [g["betas"] for g in ga] == [g["betas"] for g in gb]
        oa.step()
        ob.step()
        a.step()
        b.step()
    # Discriminative lrs keep their 10:1 ratio; past the end the last value holds.
    lrs = [g["lr"] for g in oa.param_groups]
    assert math.isclose(lrs[0] / lrs[1], 10.0, rel_tol=1e-9)
    for _ in range(400):
        oa.step()
        a.step()
    assert a.last_epoch == 1150
    assert oa.param_groups[0]["lr"] == pytest.approx(a.schedule.lr(999), rel=1e-12)


def test_bad_input_is_a_value_error_naming_the_field():
    cases = [
        (lambda: S.OneCycle(max_lr=-0.1, total_steps=100), "max_lr"),
        (lambda: S.OneCycle(max_lr=0.1, total_steps=0), "total_steps"),
        (lambda: S.CosineAnnealing(base_lr=float("nan"), t_max=10), "base_lr"),
        (lambda: S.from_torch("NoSuchLR", base_lr=0.1), "NoSuchLR"),
        (lambda: S.from_torch("StepLR", base_lr=0.1, step_size=3, gama=0.5), "gama"),
        (lambda: S.from_torch("StepLR", step_size=3), "base_lr"),
        (lambda: S.OneCycle(max_lr=0.1, total_steps=100).lr(-1), "step"),
        (lambda: S.OneCycle(max_lr=0.1, total_steps=100, bogus=1), "bogus"),
        (lambda: lrate.RangeTest(start_lr=-1.0), "start_lr"),
        (lambda: lrate.RangeTest(preset="keras"), "preset"),
        (lambda: S.from_dict({"one_cycle": {"max_lr": 0.1}}), "total_steps"),
    ]
    for make, field in cases:
        with pytest.raises(ValueError) as e:
            make()
        assert field in str(e.value), (field, str(e.value))


def test_arrays_and_dicts():
    s = S.Cyclic(base_lr=0.01, max_lr=0.1, step_size_up=10)
    steps = np.arange(0, 100, 7)
    assert np.allclose(s.lr_at(steps), [s.lr(int(t)) for t in steps])
    assert np.allclose(s.momentum_at(steps), [s.momentum(int(t)) for t in steps])
    assert S.Exponential(base_lr=0.1, gamma=0.9).momentum_at([0, 1]) is None
    for cls in (S.OneCycle, S.Cyclic, S.Wsd):
        assert cls.kind in S.KINDS.values()
    d = s.to_dict()
    assert list(d) == ["cyclic"] and S.from_dict(d) == s and type(S.from_dict(d)) is S.Cyclic


def small_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 4 * 4, 4),
    )


def quadrant_data(n=512, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = 0.3 * torch.randn(n, 1, 8, 8, generator=g)
    for i, c in enumerate(y.tolist()):
        r, q = divmod(c, 2)
        x[i, 0, 4 * r : 4 * r + 4, 4 * q : 4 * q + 4] += 1.0
    return torch.utils.data.TensorDataset(x, y)


def snapshot(model, opt):
    return (
        {k: v.clone() for k, v in model.state_dict().items()},
        {
            k: {n: (t.clone() if torch.is_tensor(t) else t) for n, t in v.items()}
            for k, v in opt.state_dict()["state"].items()
        },
        [dict(g) for g in opt.state_dict()["param_groups"]],
        torch.get_rng_state().clone(),
        model.training,
    )


def same(a, b):
    (ma, sa, ga, ra, ta), (mb, sb, gb, rb, tb) = a, b
    assert ma.keys() == mb.keys()
    for k in ma:
        assert torch.equal(ma[k], mb[k]), k
    assert sa.keys() == sb.keys()
    for k in sa:
        for n in sa[k]:
            x, y = sa[k][n], sb[k][n]
            assert torch.equal(x, y) if torch.is_tensor(x) else x == y, (k, n)
    assert ga == gb
    assert torch.equal(ra, rb)
    assert ta == tb


def test_lr_find_suggests_in_range_and_restores_everything_bit_for_bit():
    torch.manual_seed(0)
    model = small_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    loader = torch.utils.data.DataLoader(quadrant_data(), batch_size=32, shuffle=True)
    # A few real steps first, so that the optimizer has momentum buffers to restore.
    crit = torch.nn.CrossEntropyLoss()
    for x, y in list(loader)[:3]:
        opt.zero_grad()
        crit(model(x), y).backward()
        opt.step()
    model.eval()
    before = snapshot(model, opt)
    r = lr_find(model, opt, crit, loader, start_lr=1e-5, end_lr=10.0, num_iter=80)
    same(before, snapshot(model, opt))
    assert r.stop_reason in ("finished", "diverged")
    assert len(r.lrs) == len(r.losses) == len(r.smoothed) >= 20
    for rule, lr in r.suggestions.items():
        if lr is not None:
            assert 1e-6 <= lr <= 10.0, (rule, lr)
    assert r.suggestions["valley"] is not None
    assert r.max_lr is not None and 1e-5 <= r.max_lr <= 10.0
    assert r.min_lr == pytest.approx(r.max_lr / 4)
    # The lrs follow core's exponential sweep (fastai's: start·(end/start)^(i/num_iter)).
    assert r.lrs[0] == pytest.approx(1e-5)
    assert r.lrs[1] / r.lrs[0] == pytest.approx((10.0 / 1e-5) ** (1 / 80))
    # torch-lr-finder's preset and gradient accumulation run too.
    r2 = lr_find(model, opt, crit, loader, num_iter=30, preset="torch-lr-finder", accumulation_steps=2)
    same(before, snapshot(model, opt))
    assert len(r2.lrs) >= 10


def test_lr_find_plot_writes_svg(tmp_path):
    torch.manual_seed(1)
    model = small_cnn()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = torch.utils.data.DataLoader(quadrant_data(128), batch_size=16)
    r = lr_find(model, opt, torch.nn.CrossEntropyLoss(), loader, num_iter=20)
    p = r.plot(str(tmp_path / "c.svg"))
    assert open(p).read().startswith("<svg") or "svg" in open(p).read()[:200]


def test_the_stubs_name_every_schedule_class():
    import pathlib
    import re

    stub = (pathlib.Path(S.__file__).with_suffix(".pyi")).read_text()
    named = set(re.findall(r"^class (\w+)\(Schedule\)", stub, flags=re.M))
    assert named == set(S.KINDS)
