"""Every lrate-core schedule as a class; a schedule is a pure function of the step.

Keyword arguments are named as in lrate-core (its serde format, the TOML / JSON the CLI
reads), e.g. ``OneCycle(max_lr=0.4, total_steps=1404)``; omitted ones take core's
defaults. A bad value raises ``ValueError`` naming the field (core's ``ConfigError``).

``Warmup(warmup_steps=5, start_lr=0.0, schedule=CosineAnnealing(...))`` and
``Sequential(schedules=[...], milestones=[...])`` compose them.
"""

import json
import math
from typing import Any, Dict, Optional, Sequence

import numpy as np

from . import _lrate

# Class name -> lrate-core serde tag.
KINDS = {
    "Constant": "constant",
    "Step": "step",
    "MultiStep": "multi_step",
    "Exponential": "exponential",
    "Polynomial": "polynomial",
    "Linear": "linear",
    "ConstantFactor": "constant_factor",
    "InverseTime": "inverse_time",
    "CosineAnnealing": "cosine_annealing",
    "WarmRestarts": "warm_restarts",
    "Cyclic": "cyclic",
    "OneCycle": "one_cycle",
    "PiecewiseConstant": "piecewise_constant",
    "Wsd": "wsd",
    "CosineWithWarmup": "cosine_with_warmup",
    "CosineHardRestarts": "cosine_with_restarts",
    "InverseSqrt": "inverse_sqrt",
    "PolynomialWithWarmup": "polynomial_with_warmup",
    "TimmCosine": "timm_cosine",
    "TimmTanh": "timm_tanh",
    "TimmPoly": "timm_poly",
    "Warmup": "warmup",
    "Sequential": "sequential",
}


def _plain(v: Any, field: str = "") -> Any:
    """Schedules inside arguments become their dicts, numpy scalars numbers. NaN and ±inf
    cannot travel in JSON to core, so they are refused here, as core refuses them
    (``must be finite``), naming the field."""
    if isinstance(v, Schedule):
        return v.to_dict()
    if isinstance(v, (list, tuple)):
        return [_plain(x, field) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x, str(k)) for k, x in v.items()}
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"{field or 'value'}: must be finite (not NaN or infinite), got {v}")
    return v


def _steps(steps: Sequence[int]) -> list:
    a = np.asarray(steps)
    if a.ndim != 1:
        raise ValueError(f"steps must be a 1-D sequence, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"steps must be integers, got dtype {a.dtype}")
    return [int(x) for x in a]


class Schedule:
    """A closed-form schedule. Build one with a subclass, ``from_dict`` or ``from_torch``."""

    kind: str = ""

    def __init__(self, **kwargs: Any) -> None:
        if not self.kind:
            raise TypeError("use a schedule class such as OneCycle, or from_dict")
        text = json.dumps({self.kind: _plain(kwargs)}, allow_nan=True)
        self._s = _lrate.Schedule.from_json(text)

    @classmethod
    def _wrap(cls, raw: "_lrate.Schedule") -> "Schedule":
        kind = raw.kind()
        sub = _BY_KIND.get(kind, Schedule)
        obj = sub.__new__(sub)
        obj._s = raw
        return obj

    def lr(self, step: int) -> float:
        """The learning rate at ``step`` (0-based)."""
        return self._s.lr(int(step))

    def momentum(self, step: int) -> Optional[float]:
        """SGD momentum / Adam β1 at ``step``; None where the schedule does not cycle it."""
        return self._s.momentum(int(step))

    def lr_at(self, steps: Sequence[int]) -> np.ndarray:
        """``lr`` of each step of a sequence or numpy array, as a float64 array."""
        return np.asarray(self._s.lr_many(_steps(steps)), dtype=np.float64)

    def momentum_at(self, steps: Sequence[int]) -> Optional[np.ndarray]:
        """``momentum`` of each step as a float64 array; None where there is none."""
        m = self._s.momentum_many(_steps(steps))
        return None if m is None else np.asarray(m, dtype=np.float64)

    @property
    def total_steps(self) -> Optional[int]:
        """The steps the schedule is defined for, if it has an end."""
        return self._s.natural_length()

    def to_dict(self) -> Dict[str, Any]:
        """lrate-core's serde format, e.g. ``{"one_cycle": {"max_lr": 0.4, ...}}``."""
        return json.loads(self._s.to_json())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        (kind, args), = self.to_dict().items()
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


_BY_KIND: Dict[str, type] = {}
for _name, _kind in KINDS.items():
    _cls = type(_name, (Schedule,), {"kind": _kind, "__doc__": f"lrate-core's `{_kind}` schedule."})
    globals()[_name] = _cls
    _BY_KIND[_kind] = _cls


def from_dict(d: Dict[str, Any]) -> Schedule:
    """The schedule of lrate-core's serde format (what ``to_dict`` gives)."""
    if not isinstance(d, dict):
        raise ValueError(f"expected a dict such as {{'one_cycle': {{...}}}}, got {type(d).__name__}")
    return Schedule._wrap(_lrate.Schedule.from_json(json.dumps(_plain(d), allow_nan=True)))


def from_torch(class_name: str, **torch_kwargs: Any):
    """The lrate schedule equal to PyTorch's ``class_name(optimizer, **torch_kwargs)``.

    ``base_lr=`` gives the optimizer's initial lr, which PyTorch reads from the optimizer
    (``CyclicLR`` takes its own ``base_lr`` argument, which is that too). ``SequentialLR``
    takes ``schedulers=[(class_name, kwargs), ...]`` and ``milestones``.
    ``ReduceLROnPlateau`` gives a ``Plateau`` (fed a metric; see
    ``lrate.torch.ReduceLROnPlateau``). The mapping is lrate-compat's, the one the PyTorch
    parity test checks; an unknown class or argument raises ``ValueError``.
    """
    args = dict(torch_kwargs)
    if class_name == "CyclicLR":
        base_lr = args.get("base_lr")
    else:
        base_lr = args.pop("base_lr", None)
    if base_lr is None:
        if class_name not in ("OneCycleLR",):
            raise ValueError(f"base_lr: {class_name} needs the optimizer's initial lr (base_lr=...)")
        base_lr = 0.0  # OneCycleLR derives every lr from max_lr
    if "schedulers" in args:
        args["schedulers"] = [[c, dict(a)] for c, a in args["schedulers"]]
    raw = _lrate.from_torch(class_name, json.dumps(_plain(args), allow_nan=True), float(base_lr))
    if isinstance(raw, _lrate.Plateau):
        return raw
    return Schedule._wrap(raw)


__all__ = ["Schedule", "from_dict", "from_torch", "KINDS"] + list(KINDS)
