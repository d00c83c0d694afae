"""An experiment as a declaration: its runs (a tag dict and a config each), the question they
answer, the predictions and theory functions they test, and its arms (one question under several
recipes, each arm in its own results folder); and the loading of ``EXPERIMENT`` from an
experiment file (``experiments/<name>.py``)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field, replace
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
    # One question under several recipes: the tag `axis` of each run names its arm, and `arms` maps
    # each value of it to the results folder of that arm's runs, whose tables carry no `axis`
    # column (the folder says which arm).  Empty: one results folder, named after the experiment.
    arms: dict = field(default_factory=dict)
    axis: str = "recipe"


def arm(exp: Experiment, value: str) -> Experiment:
    """Arm `value` of `exp` as an experiment of its own: the runs tagged with it, the axis tag
    dropped, and the arm named in `design` (experiment.json)."""
    if value not in exp.arms:
        raise ConfigError(f"experiment {exp.name} has no arm {exp.axis}={value}; its arms: {sorted(exp.arms)}")

    def runs(smoke: bool) -> list[Run]:
        return [Run({k: v for k, v in r.tags.items() if k != exp.axis}, r.cfg)
                for r in exp.runs(smoke) if r.tags.get(exp.axis) == value]

    return replace(exp, runs=runs, arms={}, scientific=tuple(t for t in exp.scientific if t != exp.axis),
                   design={**exp.design, exp.axis: value})


def parts(exp: Experiment, smoke: bool = False) -> list[tuple[str, Experiment]]:
    """(results folder, the experiment whose runs it holds) of each folder `exp` writes: the
    experiment itself in ``<name>``, or each arm (`arm`) in its own folder; ``_smoke`` appended
    for the smoke variant."""
    suffix = "_smoke" if smoke else ""
    if not exp.arms:
        return [(exp.name + suffix, exp)]
    return [(folder + suffix, arm(exp, value)) for value, folder in exp.arms.items()]


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
        _refuse_arm_folder(name_or_path, folder)
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


def _refuse_arm_folder(name: str, folder: Path) -> None:
    """Refuse `name` when it is the results folder of an arm of an experiment in `folder`, naming
    the sweep of that arm (``--only <axis>=<arm>``)."""
    for path in sorted(folder.glob("*.py")):
        if path.stem.startswith("_") or f'"{name}"' not in path.read_text():
            continue
        try:
            exp = load_experiment(str(path))
        except ConfigError:
            continue
        for value, results in exp.arms.items():
            if results == name:
                raise ConfigError(f"{name!r} is the arm {exp.axis}={value} of experiment {exp.name!r} (its results "
                                  f"stay in results/{name}); run it with `progtheory sweep {exp.name} "
                                  f"--only {exp.axis}={value}`")
