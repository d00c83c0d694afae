"""The tidy tables of a sweep: a run folder's status, the runs a results folder records as
finished, and `collect`, which rewrites ``runs.csv``, ``metrics.csv`` and the per-run jsonl
records of a results folder from the run folders (or from another experiment's tables)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

from progtheory.config import ConfigError, run_id
from progtheory.sweep.declaration import Experiment, stop_step

DONE = ("completed", "diverged")
PROBED = "probed"  # stopped on purpose `Experiment.probe_steps` updates after its last growth step


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
    if exp.arms:
        raise ConfigError(f"experiment {exp.name} keeps each arm in its own results folder; collect them one "
                          f"at a time (`progtheory.sweep.parts`)")
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
    _write_declaration(exp, results, smoke, len(rows))


def _write_declaration(exp: Experiment, results: Path, smoke: bool, n_done: int) -> None:
    """experiment.json: the declaration `collect` wrote `results` from, and how many of its runs are done."""
    (results / "experiment.json").write_text(json.dumps({
        "name": exp.name, "question": exp.question, "predictions": list(exp.predictions),
        "theory": list(exp.theory), "scientific": list(exp.scientific), "nuisance": list(exp.nuisance),
        "budget": exp.budget, "design": exp.design, "smoke": smoke, "n_runs_declared": len(exp.runs(smoke)),
        "n_runs_done": n_done,
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
