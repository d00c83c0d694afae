"""Experiments as declarations, and a resumable sweep runner.

An experiment file (``experiments/<name>.py``) defines ``EXPERIMENT = Experiment(...)``:
its question, the predictions (docs/PREDICTIONS.md) and theory functions it tests, and a
function ``runs(smoke) -> list[Run]`` that declares the grid.  ``progtheory sweep <name>``
trains every run not already finished, in order, into ``runs/<run_id>/`` (checkpoints, not
committed; a run shared by two experiments, such as a fixed-size baseline, is trained once)
and keeps the tidy tables
``experiments/results/<name>/{runs,metrics}.csv`` (committed) up to date after each run.

Resumability: a run whose summary says completed or diverged is skipped; a run with a
checkpoint is resumed; so killing a sweep at any moment loses at most the run in flight
since its last checkpoint.  ``--shard i/n`` runs every n-th run starting at i.

Probes: an experiment with ``probe_steps = k`` stops each run k updates after its last growth
step, on purpose (a measurement of the growth step, such as the jolt of the first updates,
not a finished run).  Such a run is recorded with status ``probed`` and is never taken as
finished by another experiment sharing its run id.

Concurrency: sweeps on one machine may share a runs folder (two shards, or two experiments
with a common baseline).  Before training a run a sweep takes the run folder's lock
(`progtheory.train.run_lock`, ``<runs>/<run_id>/.lock``, the one `train` holds); a run locked by a
live process is skipped (and trained by it).  The OS drops the lock of a dead process, so a
killed sweep's run is taken over by the next one.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from progtheory.config import ConfigError, TrainConfig, resolve_stages, run_id, validate
from progtheory.train import run_lock

DONE = ("completed", "diverged")
PROBED = "probed"  # stopped on purpose `Experiment.probe_steps` updates after its last growth step


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


def _status(run_dir: Path, stop: int | None = None) -> str | None:
    """The run's status from its summary: completed / diverged / interrupted, or `PROBED` when
    it was stopped at (or past) `stop`, the step a probe ends at; None without a summary."""
    path = run_dir / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    status = summary.get("status")
    if stop is not None and status == "interrupted" and summary.get("steps_done", 0) >= stop:
        return PROBED
    return status


def _finished_statuses(exp: Experiment) -> tuple[str, ...]:
    return DONE + (PROBED,) if exp.probe_steps is not None else DONE


def _finished(exp: Experiment, run_dir: Path, stop: int | None) -> bool:
    return _status(run_dir, stop) in _finished_statuses(exp)


def describe(exp: Experiment, *, smoke: bool = False, shard: tuple[int, int] = (0, 1),
             only: dict[str, list[str]] | None = None, runs_root: Path = Path("runs"),
             results_root: Path | None = None) -> list[dict]:
    """The planned runs with their status (done / partial / todo) and exact training FLOPs
    (`theory.compute.train_config_flops`; a probe's up to its `stop_step`); nothing is
    trained or written."""
    from progtheory.theory.compute import train_config_flops

    name = exp.name + ("_smoke" if smoke else "")
    results = (results_root or experiments_dir() / "results") / name
    recorded = _recorded(results) | set(_recorded_elsewhere(results))
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
    name = exp.name + ("_smoke" if smoke else "")
    run_root = runs_root  # keyed by run id only, so experiments share identical runs (e.g. baselines)
    results = (results_root or experiments_dir() / "results") / name
    summaries = []
    recorded = _recorded(results) | set(_recorded_elsewhere(results))
    bar = tqdm(todo, desc=f"sweep {name}", unit="run", disable=not progress)
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
        collect(exp, run_root, results, smoke=smoke)
    collect(exp, run_root, results, smoke=smoke)
    return summaries


def _recorded(results: Path, statuses: tuple[str, ...] = DONE + (PROBED,)) -> set[str]:
    """Run ids finished (completed, diverged, or probed) in the tidy tables of one results folder."""
    return {row["run_id"] for row in _read_csv(results / "runs.csv") if row.get("status") in statuses}


def _recorded_elsewhere(results: Path) -> dict[str, Path]:
    """run_id -> results folder of another experiment (a sibling of `results`) whose tables
    record the run as finished: a run shared by two experiments is trained once even when its
    run folder is gone, and the second experiment takes its rows from the first one's tables."""
    found: dict[str, Path] = {}
    if results.parent.is_dir():
        for other in sorted(p for p in results.parent.iterdir() if p.is_dir() and p != results):
            for rid in sorted(_recorded(other, DONE)):
                found.setdefault(rid, other)
    return found


RECORD_FILES = ("provenance", "growth_stats", "symmetry")  # per-run jsonl tables beside runs.csv (`collect`)


def _by_run(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for rec in records:
        out.setdefault(rec["run_id"], []).append(rec)
    return out


def _tables(folder: Path) -> tuple[dict, dict, dict]:
    """(runs row, metrics rows, {record file: records}) per run id of a results folder."""
    return ({row["run_id"]: row for row in _read_csv(folder / "runs.csv")}, _by_run(_read_csv(folder / "metrics.csv")),
            {name: _by_run(_read_jsonl(folder / f"{name}.jsonl")) for name in RECORD_FILES})


def _rows_from(tables: tuple[dict, dict, dict], rid: str, tags: dict) -> tuple[dict, list[dict], dict]:
    """A finished run's runs row, metrics rows and records as another experiment's tables
    (`_tables`) hold them, re-tagged with this experiment's tags.  Metrics keep the other
    experiment's step stride."""
    from progtheory.train.metrics import METRIC_COLUMNS
    from progtheory.train.run_dir import SUMMARY_KEYS

    runs, metrics, records = tables
    row = {"run_id": rid, **tags, **{k: v for k, v in runs[rid].items() if k in SUMMARY_KEYS}}
    metric_rows = [{**tags, **{k: m[k] for k in METRIC_COLUMNS if k in m}} for m in metrics.get(rid, [])]
    return row, metric_rows, {name: recs.get(rid, []) for name, recs in records.items()}


def _run_records(run_dir: Path, rid: str) -> dict[str, list[dict]]:
    """A finished run folder's records: its config and provenance, the branch statistics
    of the source at each growth step (``growth_stats_<step>.json``), and the copy symmetry
    of each probed state (the lines of ``symmetry.jsonl``)."""
    prov = {"run_id": rid, **{key: json.loads((run_dir / f"{key}.json").read_text())
                              for key in ("config", "provenance") if (run_dir / f"{key}.json").is_file()}}
    growth = sorted(run_dir.glob("growth_stats_*.json"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return {"provenance": [prov], "growth_stats": [{"run_id": rid, **json.loads(p.read_text())} for p in growth],
            "symmetry": [{"run_id": rid, **rec} for rec in _read_jsonl(run_dir / "symmetry.jsonl")]}


def collect(exp: Experiment, run_root: Path, results: Path, *, smoke: bool = False) -> None:
    """Rewrite runs.csv (one row per finished run) and metrics.csv (one row per run and step,
    or per `exp.metrics_stride` steps plus every evaluated step).

    Rows carry the run's tags, so analyses never parse configs; only finished runs appear (a
    probe's runs once stopped at `stop_step`, with status ``probed``).
    In metrics.csv a tag named like a metrics column (``lr``: the peak LR of a sweep) holds
    the metrics value (the LR of that step); join on run_id to get the tag.
    Rows already in the tables whose run folder is gone (e.g. on another machine) are kept.
    A run recorded as finished by another experiment under the same results root, whose run
    folder is gone, is taken from that experiment's tables.
    Also writes provenance.jsonl: per finished run, its config.json and provenance.json (code
    version, libraries, machine, command line), so each row traces to what produced it;
    growth_stats.jsonl: per growth step of a finished run, the source's branch statistics
    (`progtheory.train.branch_stats`), the input of `theory.expansion.expansion_loss_change`; and
    symmetry.jsonl: per probed state of a finished run whose growth copies blocks, how far the
    copies have separated (`progtheory.train.symmetry.copy_symmetry`), each line tagged with its run_id.
    """
    mine = _tables(results)
    old_runs = mine[0]
    elsewhere, cache = _recorded_elsewhere(results), {}
    rows, metric_rows = [], []
    records: dict[str, list[dict]] = {name: [] for name in RECORD_FILES}
    for r in exp.runs(smoke):
        rid = run_id(r.cfg)
        run_dir = run_root / rid
        status = _status(run_dir, stop_step(exp, r.cfg))
        if status in _finished_statuses(exp):
            summary = json.loads((run_dir / "summary.json").read_text())
            row = {"run_id": rid, **r.tags, **{k: v for k, v in summary.items() if not isinstance(v, (dict, list))},
                   "status": status}
            with open(run_dir / "metrics.csv", newline="") as f:
                more = [{**r.tags, **_short(m)} for m in csv.DictReader(f)
                        if int(m["step"]) % exp.metrics_stride == 0 or m["val_loss"] != ""]
            recs = _run_records(run_dir, rid)
        elif rid in old_runs:
            row, more = old_runs[rid], mine[1].get(rid, [])
            recs = {name: mine[2][name].get(rid, []) for name in RECORD_FILES}
        elif rid in elsewhere:
            if elsewhere[rid] not in cache:
                cache[elsewhere[rid]] = _tables(elsewhere[rid])
            row, more, recs = _rows_from(cache[elsewhere[rid]], rid, r.tags)
        else:
            continue
        rows.append(row)
        metric_rows.extend(more)
        for name in RECORD_FILES:
            records[name].extend(recs[name])
    results.mkdir(parents=True, exist_ok=True)
    _write_csv(results / "runs.csv", rows)
    _write_csv(results / "metrics.csv", metric_rows)
    for name in RECORD_FILES:
        if records[name] or (results / f"{name}.jsonl").is_file():
            _write_jsonl(results / f"{name}.jsonl", records[name])
    (results / "experiment.json").write_text(json.dumps({
        "name": exp.name, "question": exp.question, "predictions": list(exp.predictions),
        "theory": list(exp.theory), "scientific": list(exp.scientific), "nuisance": list(exp.nuisance),
        "budget": exp.budget, "design": exp.design, "smoke": smoke, "n_runs_declared": len(exp.runs(smoke)), "n_runs_done": len(rows),
    }, indent=2) + "\n")


_FLOAT_COLUMNS = ("flops", "flops_6n", "lr", "train_loss", "val_loss", "wall_time")


def _short(row: dict) -> dict:
    """The float columns of a metrics row to 7 significant digits (losses to ~1e-6 relative),
    so the committed per-step tables stay small; ids, integers and text unchanged."""
    return {k: (f"{float(v):.7g}" if k in _FLOAT_COLUMNS and v != "" else v) for k, v in row.items()}


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")  # shards of one sweep may write at once
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write_jsonl(path: Path, records: list[dict]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text("".join(json.dumps(rec, sort_keys=True) + "\n" for rec in records))
    tmp.replace(path)
