"""Running a declared experiment: the runs of a shard and an `--only` filter, validated before
anything trains (`plan`), their status and FLOPs without training (`describe`), and the
resumable runner (`run_sweep`), which takes each run folder's lock before training it."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from progtheory.config import ConfigError, resolve_stages, run_id, validate
from progtheory.sweep.declaration import Experiment, Run, experiments_dir, parts, stop_step
from progtheory.sweep.tables import _finished, _recorded, _recorded_elsewhere, collect
from progtheory.train import run_lock


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return 0, 1
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r} must look like i/n, e.g. 0/2") from None
    if not (n >= 1 and 0 <= i < n):
        raise ConfigError(f"--shard {text!r} needs n >= 1 and 0 <= i < n (shard i of n), e.g. 0/2 and 1/2")
    return i, n


def check_root(path: Path, flag: str) -> None:
    """Refuse a folder the sweep would write into (`--runs-root`, `--results-root`) when it,
    or a folder above it, is a regular file; writes nothing."""
    full = probe = Path(os.path.abspath(path))
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "is a file" if probe == full else f"lies below {probe}, which is a file"
        raise ConfigError(f"{flag} {path} {where}, not a folder; choose another {flag}")


def parse_only(items: list[str] | None) -> dict[str, list[str]]:
    """["seed=0", "tau=0.8", "seed=1"] -> {"seed": ["0", "1"], "tau": ["0.8"]}."""
    out: dict[str, list[str]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--only {item!r} must look like tag=value, e.g. --only seed=0")
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def _selected(tags: dict, only: dict[str, list[str]]) -> bool:
    return all(str(tags.get(k)) in values for k, values in only.items())


def plan(exp: Experiment, smoke: bool = False, shard: tuple[int, int] = (0, 1),
         only: dict[str, list[str]] | None = None) -> list[Run]:
    """The runs of this shard whose tags match `only`, validated (all before anything runs),
    duplicates rejected."""
    runs = exp.runs(smoke)
    only = only or {}
    tags = set().union(*(r.tags for r in runs)) if runs else set()
    unknown = sorted(set(only) - tags)
    if unknown:
        raise ConfigError(f"--only names unknown tags {unknown}; {exp.name} has tags {sorted(tags)}")
    seen: dict[str, dict] = {}
    if exp.probe_steps is not None and not (isinstance(exp.probe_steps, int) and exp.probe_steps >= 1):
        raise ConfigError(f"experiment {exp.name}: probe_steps={exp.probe_steps!r} must be an integer >= 1 "
                          f"(or None for full runs)")
    for r in runs:
        validate(r.cfg)
        stop_step(exp, r.cfg)
        if exp.arms and r.tags.get(exp.axis) not in exp.arms:
            raise ConfigError(f"experiment {exp.name}: run {r.tags} has {exp.axis}={r.tags.get(exp.axis)!r}, "
                              f"not one of its arms {sorted(exp.arms)}")
        rid = run_id(r.cfg)
        if rid in seen:
            raise ConfigError(f"experiment {exp.name}: runs {seen[rid]} and {r.tags} have the same config")
        seen[rid] = r.tags
    chosen = [r for r in runs if _selected(r.tags, only)]
    if only and not chosen:
        seen_values = {k: sorted({str(r.tags.get(k)) for r in runs}) for k in only}
        raise ConfigError(f"--only {only} matches none of the {len(runs)} runs of {exp.name}; "
                          f"the values it has: {seen_values}")
    i, n = shard
    return chosen[i::n]


def describe(exp: Experiment, *, smoke: bool = False, shard: tuple[int, int] = (0, 1),
             only: dict[str, list[str]] | None = None, runs_root: Path = Path("runs"),
             results_root: Path | None = None) -> list[dict]:
    """The planned runs with their status (done / partial / todo) and exact training FLOPs
    (`theory.compute.train_config_flops`; a probe's up to its `stop_step`); nothing is
    trained or written."""
    from progtheory.theory.compute import train_config_flops

    recorded = _recorded_under(exp, smoke, results_root or experiments_dir() / "results")
    out = []
    for r in plan(exp, smoke, shard, only):
        rid = run_id(r.cfg)
        run_dir = runs_root / rid
        stop = stop_step(exp, r.cfg)
        status = ("done" if rid in recorded or _finished(exp, run_dir, stop)
                  else "partial" if (run_dir / "config.json").is_file() else "todo")
        cfg = r.cfg if stop is None else replace(  # the same growth steps, cut at the probe's stop
            r.cfg, steps=stop, growth=replace(r.cfg.growth, stages=tuple(resolve_stages(r.cfg))))
        out.append({"run_id": rid, **r.tags, "status": status, "flops": train_config_flops(cfg)["progressive"]})
    return out


def run_sweep(exp: Experiment, *, smoke: bool = False, shard: tuple[int, int] = (0, 1),
              only: dict[str, list[str]] | None = None,
              runs_root: Path = Path("runs"), results_root: Path | None = None,
              quiet: bool = True, progress: bool = True) -> list[dict]:
    """Train every unfinished run of the shard (a probe's runs up to `stop_step`); refresh the
    tidy tables after each run."""
    from tqdm import tqdm

    from progtheory.train.loop import train

    todo = plan(exp, smoke, shard, only)
    run_root = runs_root  # keyed by run id only, so experiments share identical runs (e.g. baselines)
    results_root = results_root or experiments_dir() / "results"
    summaries = []
    recorded = _recorded_under(exp, smoke, results_root)
    bar = tqdm(todo, desc=f"sweep {exp.name}" + ("_smoke" if smoke else ""), unit="run", disable=not progress)
    for r in bar:
        rid = run_id(r.cfg)
        run_dir = run_root / rid
        bar.set_postfix_str(" ".join(f"{k}={v}" for k, v in r.tags.items()))
        stop = stop_step(exp, r.cfg)
        if rid in recorded or _finished(exp, run_dir, stop):
            continue
        try:
            lock = run_lock.acquire(run_dir)
        except run_lock.RunLocked as e:
            bar.write(f"{rid}: being trained by {e.holder}; skipped (run the sweep again later)")
            continue
        with lock:  # train takes it again; held here so the decision to resume sees a still folder
            if _finished(exp, run_dir, stop):  # finished by another process since the check above
                continue
            resume = (run_dir / "config.json").is_file()
            summaries.append(train(r.cfg, run_dir, resume=resume, quiet=quiet, stop_after=stop))
        _collect_parts(exp, run_root, results_root, smoke)
    _collect_parts(exp, run_root, results_root, smoke)
    return summaries


def _recorded_under(exp: Experiment, smoke: bool, results_root: Path) -> set[str]:
    """Run ids finished in the tables of `exp`'s results folders (`parts`), or recorded as
    finished by another experiment's tables under `results_root`."""
    out: set[str] = set()
    for folder, _ in parts(exp, smoke):
        out |= _recorded(results_root / folder) | set(_recorded_elsewhere(results_root / folder))
    return out


def _collect_parts(exp: Experiment, run_root: Path, results_root: Path, smoke: bool) -> None:
    """`collect` each results folder of `exp`: its own, or one per arm."""
    for folder, part in parts(exp, smoke):
        collect(part, run_root, results_root / folder, smoke=smoke)
