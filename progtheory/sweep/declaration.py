"""An experiment as a declaration: its runs (a tag dict and a config each), the question they
answer, the predictions and theory functions they test; and the loading of ``EXPERIMENT`` from an
experiment file (``experiments/<name>.py``)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from progtheory.config import ConfigError, TrainConfig, resolve_stages, run_id


@dataclass(frozen=True)
class Run:
    tags: dict                 # the scientific / nuisance coordinates of this run (e.g. tau, seed)
    cfg: TrainConfig


@dataclass(frozen=True)
class Experiment:
    name: str
    question: str
    predictions: tuple[str, ...]
    theory: tuple[str, ...]            # theory functions the experiment tests
    runs: Callable[[bool], list[Run]]  # smoke -> runs
    scientific: tuple[str, ...] = ()   # tag names varied on purpose
    nuisance: tuple[str, ...] = ("seed",)
    notes: str = ""
    budget: str = ""                   # stated compute budget on 2 CPU cores
    metrics_stride: int = 1            # keep every k-th step in metrics.csv (eval steps always kept)
    design: dict = field(default_factory=dict)  # design facts analyses read back from experiment.json
    probe_steps: int | None = None     # stop each run this many updates after its last growth step


def stop_step(exp: Experiment, cfg: TrainConfig) -> int | None:
    """The step at which a run of `exp` stops: None (its last step) unless `exp` is a probe,
    then its last growth step + ``probe_steps`` (at most ``cfg.steps``)."""
    if exp.probe_steps is None:
        return None
    stages = resolve_stages(cfg)
    if not stages:
        raise ConfigError(f"experiment {exp.name} probes growth steps (probe_steps={exp.probe_steps}) "
                          f"but declares a run without growth ({cfg.name or run_id(cfg)}); give it a GrowthPlan")
    return min(stages[-1][0] + exp.probe_steps, cfg.steps)


def experiments_dir(root: Path | None = None) -> Path:
    """The experiments folder: ``root/experiments`` when `root` is given; otherwise the one
    next to the installed package (a source checkout, ``pip install -e .``), so a sweep works
    from any directory; failing that, ``./experiments``."""
    if root is not None:
        return Path(root) / "experiments"
    import progtheory

    packaged = Path(progtheory.__file__).resolve().parent.parent / "experiments"
    return packaged if packaged.is_dir() else Path.cwd() / "experiments"


def load_experiment(name_or_path: str, root: Path | None = None, folder: Path | None = None) -> Experiment:
    """Load ``EXPERIMENT`` from ``<folder>/<name>.py`` (`folder` defaults to
    `experiments_dir(root)`) or from an explicit .py path."""
    folder = Path(folder) if folder is not None else experiments_dir(root)
    if not folder.is_dir():
        raise ConfigError(f"experiments folder {folder} does not exist; pass --experiments DIR, the folder "
                          f"that holds <name>.py files")
    path = Path(name_or_path)
    if path.suffix != ".py":
        path = folder / f"{name_or_path}.py"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
        raise ConfigError(f"experiment {name_or_path!r} not found at {path}; known experiments in "
                          f"{folder}: {known} (or pass --experiments DIR)")
    spec = importlib.util.spec_from_file_location(f"progtheory_experiment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as e:
        del sys.modules[spec.name]
        raise ConfigError(f"experiment file {path} has a syntax error at line {e.lineno}: {e.msg}; "
                          f"fix the file and run the sweep again") from None
    if not isinstance(getattr(module, "EXPERIMENT", None), Experiment):
        raise ConfigError(f"{path} must define EXPERIMENT = progtheory.sweep.Experiment(...)")
    return module.EXPERIMENT
