"""lrate for PyTorch users: lrate-core's closed-form schedules and LR range test.

- ``lrate.schedules``: every lrate-core schedule as a class (``OneCycle(max_lr=0.4,
  total_steps=1404)``), ``from_dict`` / ``to_dict`` in lrate-core's serde format, and
  ``from_torch`` for PyTorch scheduler classes.
- ``lrate.torch``: ``LRScheduler`` (a ``torch.optim.lr_scheduler.LRScheduler``) and
  ``lr_find`` (the range test for any torch model, DDP-safe).
- ``lrate.RangeTest``: the range test for any other framework's loop.

Everything is computed by lrate-core (Rust); nothing is implemented twice.
"""

from ._lrate import RangeTest
from . import schedules

__all__ = ["RangeTest", "schedules"]
__version__ = "0.1.0"
