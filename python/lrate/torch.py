"""lrate inside a PyTorch training loop.

- ``LRScheduler(optimizer, schedule)``: a ``torch.optim.lr_scheduler.LRScheduler`` whose lr
  (and momentum / Adam β1, where the schedule cycles it) is the lrate schedule's value at
  the step. It is closed form, so a resume needs only the step.
- ``ReduceLROnPlateau(optimizer, plateau)``: lrate-core's plateau rule (from
  ``lrate.schedules.from_torch("ReduceLROnPlateau", ...)``), stepped with a metric.
- ``lr_find(model, optimizer, criterion, loader)``: the LR range test for any torch model,
  which leaves the model, the optimizer and torch's RNG as they were; under
  ``torch.distributed`` every rank records the mean loss over ranks and so returns the
  same suggestions.
"""

import copy
import json
import math
from typing import Any, Dict, List, Optional

import torch
import torch.distributed as dist

from . import _lrate
from .schedules import Schedule, from_dict

_Base = torch.optim.lr_scheduler.LRScheduler


def _ratios(optimizer) -> List[float]:
    lrs = [g.get("initial_lr", g["lr"]) for g in optimizer.param_groups]
    if lrs[0] == 0:
        raise ValueError("optimizer: the first param group's lr is 0, so the groups' lr ratios are undefined")
    return [lr / lrs[0] for lr in lrs]


def _set_momentum(optimizer, m: float) -> None:
    for g in optimizer.param_groups:
        if "betas" in g:
            g["betas"] = (m, g["betas"][1])
        elif "momentum" in g:
            g["momentum"] = m


class LRScheduler(_Base):
    """Sets every param group's lr to ``schedule.lr(step) × group_lr / first_group_lr``.

    Where the schedule cycles momentum (``OneCycle``, ``Cyclic``) and ``cycle_momentum``,
    it also sets ``momentum`` (SGD) or ``betas[0]`` (Adam, AdamW). Past the end of a
    schedule with one (``OneCycle``'s ``total_steps``) its last value holds. ``state_dict()`` holds the step and the schedule's spec; after
    ``load_state_dict()`` the next lrs are those of an uninterrupted run.
    """

    def __init__(self, optimizer, schedule: Schedule, cycle_momentum: bool = True, last_epoch: int = -1):
        if not isinstance(schedule, Schedule):
            raise ValueError(f"schedule: expected an lrate.schedules.Schedule, got {type(schedule).__name__}")
        self.schedule = schedule
        self.cycle_momentum = bool(cycle_momentum)
        self.ratios = _ratios(optimizer)
        self._bind()
        super().__init__(optimizer, last_epoch)

    def _bind(self) -> None:
        # The compiled schedule's methods, looked up once (step() is on the hot path).
        self._lr_m = self.schedule._s.lr_and_momentum

    @staticmethod
    def _at(step: int) -> int:
        # lrate-core's lr(step) is defined for every step: OneCycle, WSD and the like hold
        # their last value past their end (where OneCycleLR raises), periodic ones go on.
        return max(step, 0)

    def get_lr(self) -> List[float]:
        lr = self.schedule.lr(self._at(self.last_epoch))
        return [lr * r for r in self.ratios]

    def step(self, epoch: Optional[int] = None) -> None:
        """Advances one step and sets the groups' lr (and momentum) to the schedule's.

        It does what torch's ``LRScheduler.step`` does for a closed-form schedule (the
        step count, ``last_epoch``, ``_last_lr``) without its generic machinery: lr and
        momentum are one call into lrate-core."""
        if epoch is not None:
            raise ValueError("step(epoch) is deprecated in torch and not supported: call step()")
        self._step_count += 1
        t = self.last_epoch = self.last_epoch + 1
        lr, m = self._lr_m(t if t > 0 else 0)
        groups = self.optimizer.param_groups
        if len(groups) == 1:
            groups[0]["lr"] = lr
            self._last_lr = [lr]
        else:
            last = self._last_lr = [lr * r for r in self.ratios]
            for g, v in zip(groups, last):
                g["lr"] = v
        if m is not None and self.cycle_momentum:
            _set_momentum(self.optimizer, m)

    def state_dict(self) -> Dict[str, Any]:
        return {
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "_last_lr": list(self._last_lr),
            "base_lrs": list(self.base_lrs),
            "ratios": list(self.ratios),
            "cycle_momentum": self.cycle_momentum,
            "schedule": self.schedule.to_dict(),
        }

    def load_state_dict(self, state_dict: Dict[str, Any]) -> None:
        s = dict(state_dict)
        self.schedule = from_dict(s.pop("schedule"))
        self._bind()
        self.ratios = list(s.pop("ratios"))
        self.cycle_momentum = bool(s.pop("cycle_momentum"))
        self.__dict__.update(s)
        # Put the optimizer where the saved run was, so the resumed run is exact even when
        # the optimizer's own state dict is not loaded.
        for g, lr in zip(self.optimizer.param_groups, self._last_lr):
            g["lr"] = lr
        if self.cycle_momentum:
            m = self.schedule.momentum(self._at(self.last_epoch))
            if m is not None:
                _set_momentum(self.optimizer, m)


class ReduceLROnPlateau:
    """lrate-core's reduce-on-plateau, PyTorch's semantics: ``step(metric)`` after each
    evaluation. Build ``plateau`` with ``from_torch("ReduceLROnPlateau", base_lr, ...)``;
    ``kwargs`` are kept so ``load_state_dict`` can replay the metrics seen."""

    def __init__(self, optimizer, base_lr: float, **torch_kwargs: Any):
        self.optimizer = optimizer
        self.base_lr = float(base_lr)
        self.kwargs = dict(torch_kwargs)
        self.ratios = _ratios(optimizer)
        self.metrics: List[float] = []
        self._p = _lrate.from_torch("ReduceLROnPlateau", json.dumps(self.kwargs), self.base_lr)
        self._apply(self._p.lr())

    def _apply(self, lr: float) -> None:
        for g, r in zip(self.optimizer.param_groups, self.ratios):
            g["lr"] = lr * r

    def step(self, metric: float) -> None:
        self.metrics.append(float(metric))
        self._apply(self._p.step(float(metric)))

    def get_last_lr(self) -> List[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> Dict[str, Any]:
        return {"base_lr": self.base_lr, "kwargs": self.kwargs, "metrics": list(self.metrics), "ratios": self.ratios}

    def load_state_dict(self, s: Dict[str, Any]) -> None:
        self.base_lr, self.kwargs, self.ratios = s["base_lr"], dict(s["kwargs"]), list(s["ratios"])
        self._p = _lrate.from_torch("ReduceLROnPlateau", json.dumps(self.kwargs), self.base_lr)
        self.metrics = []
        lr = self._p.lr()
        for m in s["metrics"]:
            self.metrics.append(m)
            lr = self._p.step(m)
        self._apply(lr)


RULES = ("minimum", "steep", "valley", "slide", "steepest")


class LRFinderResult:
    """What ``lr_find`` measured: ``lrs``, ``losses`` (raw), ``smoothed``, ``suggestions``
    (rule → lr or None), ``max_lr`` / ``min_lr`` (lrate-core's recommended bounds:
    ``near-min``, ``min_lr = max_lr / 4``; None when the curve gives none) and
    ``stop_reason`` (``finished``, ``diverged`` or ``non_finite``)."""

    def __init__(self, rt: "_lrate.RangeTest"):
        lrs, raw, smooth = rt.curve()
        self.lrs: List[float] = list(lrs)
        self.losses: List[Optional[float]] = list(raw)
        self.smoothed: List[Optional[float]] = list(smooth)
        self.suggestions: Dict[str, Optional[float]] = {r: rt.suggest(r) for r in RULES}
        b = rt.bounds("near-min", 4.0)
        self.min_lr, self.max_lr = (b if b is not None else (None, None))
        self.stop_reason: Optional[str] = rt.stop_reason()

    def plot(self, path: str) -> str:
        """Writes the smoothed loss against the lr (log scale) to ``path``: PNG or SVG with
        matplotlib when it is installed; without it, an SVG path gets a plain SVG written
        here and any other path raises ``ImportError`` saying to install matplotlib."""
        pts = [(lr, l) for lr, l in zip(self.lrs, self.smoothed) if l is not None and lr > 0]
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            if not str(path).lower().endswith(".svg"):
                raise ImportError("lr_find plot: matplotlib is not installed (pip install matplotlib); "
                                  "without it only an .svg path can be written") from None
            return self._svg(path, pts)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot([p[0] for p in pts], [p[1] for p in pts])
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("smoothed loss")
        if self.max_lr:
            ax.axvline(self.max_lr, linestyle="--", label=f"max_lr {self.max_lr:.2e}")
            ax.legend()
        fig.savefig(path)
        plt.close(fig)
        return path

    @staticmethod
    def _svg(path: str, pts) -> str:
        w, h = 600, 400
        if pts:
            xs = [math.log10(p[0]) for p in pts]
            ys = [p[1] for p in pts]
            x0, x1 = min(xs), max(xs) or 1
            y0, y1 = min(ys), max(ys)
            sx = (w - 40) / ((x1 - x0) or 1)
            sy = (h - 40) / ((y1 - y0) or 1)
            poly = " ".join(f"{20 + (x - x0) * sx:.1f},{h - 20 - (y - y0) * sy:.1f}" for x, y in zip(xs, ys))
        else:
            poly = ""
        with open(path, "w") as f:
            f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}">'
                    f'<polyline fill="none" stroke="black" points="{poly}"/></svg>\n')
        return path


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def _sweep(model, optimizer, criterion, loader, rt, ratios, accumulation_steps, device):
    it = iter(loader)

    def batch():
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(loader)
            return next(it)

    model.train()
    raw: List[float] = []
    while True:
        lr = rt.next_lr()
        if lr is None:
            break
        for g, r in zip(optimizer.param_groups, ratios):
            g["lr"] = lr * r
        optimizer.zero_grad()
        total = 0.0
        for _ in range(accumulation_steps):
            x, y = batch()
            if device is not None:
                x, y = x.to(device), y.to(device)
            loss = criterion(model(x), y) / accumulation_steps
            loss.backward()
            total += float(loss.detach())
        optimizer.step()
        if _distributed():
            t = torch.tensor([total], dtype=torch.float64, device=device)
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
            total = float(t.item()) / dist.get_world_size()
        raw.append(total)
        if rt.record(total) == "done":
            break
    return raw


def lr_find(model, optimizer, criterion, loader, start_lr: float = 1e-7, end_lr: float = 10.0,
            num_iter: int = 100, preset: str = "fastai", accumulation_steps: int = 1,
            repeats: int = 1, device=None) -> LRFinderResult:
    """The LR range test: train ``num_iter`` batches while the lr grows exponentially from
    ``start_lr`` to ``end_lr`` (each param group keeps its lr ratio to the first), stopping
    at divergence by the ``preset``'s rule (``"fastai"`` or ``"torch-lr-finder"``).

    The loop is this: ``next_lr()``, forward, loss, backward (``accumulation_steps``
    batches, loss divided by it), optimizer step, ``record(loss)``; lrate-core decides the
    lrs, smoothing, stop and suggestions. Under ``torch.distributed`` the batch loss is
    averaged over ranks before ``record``, so every rank returns the same result.
    ``repeats`` > 1 runs that many sweeps from the same start and feeds the per-batch mean
    loss (up to the shortest sweep) to one final range test.

    Afterwards the model's parameters and buffers, the optimizer's state and param groups
    and torch's RNG state are as they were.
    """
    if int(accumulation_steps) < 1:
        raise ValueError(f"accumulation_steps must be at least 1, got {accumulation_steps}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rt = _lrate.RangeTest(float(start_lr), float(end_lr), int(num_iter), preset)
    ratios = _ratios(optimizer)
    saved_model = copy.deepcopy(model.state_dict())
    saved_opt = copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    saved_cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    was_training = model.training
    try:
        sweeps = []
        for k in range(int(repeats)):
            if k:
                model.load_state_dict(saved_model)
                optimizer.load_state_dict(saved_opt)
                rt = _lrate.RangeTest(float(start_lr), float(end_lr), int(num_iter), preset)
            sweeps.append(_sweep(model, optimizer, criterion, loader, rt, ratios, int(accumulation_steps), device))
        if len(sweeps) > 1:
            n = min(len(s) for s in sweeps)
            rt = _lrate.RangeTest(float(start_lr), float(end_lr), int(num_iter), preset)
            for i in range(n):
                if rt.record(sum(s[i] for s in sweeps) / len(sweeps)) == "done":
                    break
        return LRFinderResult(rt)
    finally:
        model.load_state_dict(saved_model)
        optimizer.load_state_dict(saved_opt)
        torch.set_rng_state(saved_rng)
        if saved_cuda is not None:
            torch.cuda.set_rng_state_all(saved_cuda)
        model.train(was_training)


__all__ = ["LRScheduler", "ReduceLROnPlateau", "lr_find", "LRFinderResult"]
