"""progtheory: theory and simulation of progressive depth training (zero/one-layer -> L).

Torch is imported only when a torch-backed name is first used, so `progtheory.predict_lr`
and everything in `progtheory.theory` stay torch-free.
"""

from __future__ import annotations

import importlib

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
    "train": "progtheory.trainer",
    "expand": "progtheory.core.growth",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'progtheory' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
