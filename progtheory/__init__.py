"""progtheory: theory and simulation of progressive depth training (zero/one-layer -> L).

Torch is imported only when a torch-backed name is first used, so `progtheory.predict_lr`
and everything in `progtheory.theory` stay torch-free.

`progtheory.train` is the training function, `progtheory.train.loop.train`, although a
subpackage of that name exists: import the subpackage's modules by their full path
(``from progtheory.train.loop import train``, ``from progtheory.train import run_lock``).
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "GPTConfig": "progtheory.config",
    "TrainConfig": "progtheory.config",
    "DataConfig": "progtheory.config",
    "ScheduleConfig": "progtheory.config",
    "GrowthPlan": "progtheory.config",
    "ConfigError": "progtheory.config",
    "override": "progtheory.config",
    "predict_lr": "progtheory.theory.parametrization",
    "param_count": "progtheory.theory.compute",
    "flops_per_token": "progtheory.theory.compute",
    "GPT": "progtheory.core.model",
    "train": "progtheory.train.loop",
    "expand": "progtheory.core.growth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'progtheory' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)


class _Package(types.ModuleType):
    """This module, keeping `progtheory.train` the function: importing the subpackage
    `progtheory.train` would bind it here under the same name, and that binding is skipped."""

    def __setattr__(self, name: str, value) -> None:
        if name == "train" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
