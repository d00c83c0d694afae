"""Tables of a device run of `decisive.py`, finished and cut runs alike (used by run.sh).

    python experiments/gpu/collect.py plan [--smoke]
        the lanes: runs, planned FLOPs and steps of each, in the order each lane trains them
    python experiments/gpu/collect.py tables RUNS_ROOT OUT TABLES [--smoke]
        OUT/runs.csv     one row per declared run: its tags, status, steps done, losses
        OUT/metrics.csv  per run and step up to where the run stopped (every
                         `metrics_stride`-th step, every evaluated step and the last step)
        TABLES/provenance.jsonl, TABLES/experiment.json

Status: completed, diverged, interrupted (stopped by the deadline's SIGINT, summary written),
cut (killed before it could write a summary; its rows up to the kill are kept) or
not_started.  Reads the run folders only (config.json, summary.json, metrics.csv,
provenance.json), so it works on any run the deadline stopped.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
METRIC_KEYS = ("step", "tokens", "flops", "depth", "lr", "train_loss", "val_loss", "wall_time")


def _experiment():
    from progtheory import sweep

    return sweep.load_experiment(str(HERE / "decisive.py"))


def _declared(exp, smoke: bool) -> list[tuple[str, dict, object, float]]:
    """(run_id, tags, config, planned FLOPs) of every declared run, in declaration order."""
    from progtheory.config import run_id
    from progtheory.theory.compute import train_config_flops

    return [(run_id(r.cfg), r.tags, r.cfg, train_config_flops(r.cfg)["progressive"]) for r in exp.runs(smoke)]


def plan_text(smoke: bool) -> str:
    runs = _declared(_experiment(), smoke)
    lines = []
    for lane in sorted({tags["lane"] for _, tags, _, _ in runs}):
        mine = [(rid, tags, cfg, fl) for rid, tags, cfg, fl in runs if tags["lane"] == lane]
        lines.append(f"lane {lane}: {len(mine)} runs, {sum(fl for *_, fl in mine):.3g} FLOPs, "
                     f"{sum(cfg.steps for _, _, cfg, _ in mine)} steps: " +
                     ", ".join(f"{tags['arm']} T={tags['T']} src={tags['source']} tau={tags['tau']}"
                               for _, tags, _, _ in mine))
    return "\n".join(lines)


def _metrics(path: Path) -> list[dict]:
    """The complete rows of a run's metrics.csv (a row cut by a kill mid-write is dropped)."""
    if not path.is_file():
        return []
    rows = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                int(row["step"])
                float(row["wall_time"])
            except (KeyError, TypeError, ValueError):
                continue
            rows.append(row)
    return rows


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def run_row(rid: str, tags: dict, cfg, flops: float, run_dir: Path) -> tuple[dict, list[dict]]:
    """A run's runs.csv row and all its metrics rows, however it stopped."""
    rows = _metrics(run_dir / "metrics.csv")
    summary = _read_json(run_dir / "summary.json")
    status = (summary or {}).get("status") or ("cut" if run_dir.is_dir() else "not_started")
    evals = [r for r in rows if r["val_loss"] != ""]
    last = rows[-1] if rows else {}
    row = {"run_id": rid, **tags, "status": status, "steps": cfg.steps,
           "steps_done": int(last["step"]) + 1 if rows else 0,
           "final_val_loss": evals[-1]["val_loss"] if evals else "",
           "final_val_step": evals[-1]["step"] if evals else "",
           "best_val_loss": min((float(r["val_loss"]) for r in evals), default=""),
           "final_train_loss": last.get("train_loss", ""), "depth": last.get("depth", ""),
           "flops": last.get("flops", ""), "wall_time": last.get("wall_time", ""), "planned_flops": flops}
    if summary:
        row.update({k: v for k, v in summary.items() if k not in row and not isinstance(v, (dict, list))})
        row["steps_done"] = summary.get("steps_done", row["steps_done"])
    return row, rows


def tables(runs_root: Path, out: Path, tables_dir: Path, smoke: bool) -> str:
    exp = _experiment()
    runs, metrics, provenance, lines = [], [], [], []
    for rid, tags, cfg, flops in _declared(exp, smoke):
        run_dir = runs_root / rid
        row, rows = run_row(rid, tags, cfg, flops, run_dir)
        runs.append(row)
        metrics.extend({"run_id": rid, **tags, **{k: m[k] for k in METRIC_KEYS}} for i, m in enumerate(rows)
                       if int(m["step"]) % exp.metrics_stride == 0 or m["val_loss"] != "" or i == len(rows) - 1)
        if run_dir.is_dir():
            provenance.append({"run_id": rid, **{k: _read_json(run_dir / f"{k}.json")
                                                 for k in ("config", "provenance", "summary")}})
        lines.append(f"lane {tags['lane']} {tags['arm']:<6} T={tags['T']:<6} src={tags['source']:<2} "
                     f"tau={tags['tau']:<4} {row['status']:<11} {row['steps_done']:>6}/{cfg.steps:<6} "
                     f"val {row['final_val_loss'] or '-'} at step {row['final_val_step'] or '-'}")
    _write_csv(out / "runs.csv", runs)
    _write_csv(out / "metrics.csv", metrics)
    tables_dir.mkdir(parents=True, exist_ok=True)
    (tables_dir / "provenance.jsonl").write_text("".join(json.dumps(p, sort_keys=True) + "\n" for p in provenance))
    counts = Counter(r["status"] for r in runs)
    (tables_dir / "experiment.json").write_text(json.dumps({
        "name": exp.name, "question": exp.question, "predictions": list(exp.predictions),
        "theory": list(exp.theory), "scientific": list(exp.scientific), "nuisance": list(exp.nuisance),
        "budget": exp.budget, "design": exp.design, "smoke": smoke, "metrics_stride": exp.metrics_stride,
        "n_runs_declared": len(runs), "statuses": dict(counts),
    }, indent=2) + "\n")
    head = "runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f" (of {len(runs)} declared)"
    return "\n".join([head, *lines])


def _write_csv(path: Path, rows: list[dict]) -> None:
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k in row if k not in keys)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("plan").add_argument("--smoke", action="store_true")
    t = sub.add_parser("tables")
    for name in ("runs_root", "out", "tables_dir"):
        t.add_argument(name, type=Path)
    t.add_argument("--smoke", action="store_true")
    args = p.parse_args(argv)
    if args.cmd == "plan":
        print(plan_text(args.smoke))
    else:
        print(tables(args.runs_root, args.out, args.tables_dir, args.smoke))
    return 0


if __name__ == "__main__":
    sys.exit(main())
