"""Is a committed result reproduced by today's code?

A results folder is *fresh* when one of its runs, rebuilt from the config its provenance
records and retrained for its first `STEPS` steps on CPU with one thread, gives the committed
train loss at every committed step within `TOL` and the committed LR.  A folder that today's
code no longer reproduces carries a mark in its experiment.json, which the report shows beside
every verdict that reads it:

    "stale": {"since": <commit that changed the computation, or "unknown">,
              "produced_by": <the checked run's commit>, "why": <one sentence>,
              "max_abs_diff": <the measured difference>}

The train loss of a step is computed before that step's update, so steps 0..STEPS-1 depend
on the init, the data order, the model and the optimizer, and not on evaluation or the
length of the run.  The checked run is the fixed-size run made by the oldest commit (a
progressive run when the folder has none): it sees a change of init or model that a 0-layer
source would not, and the oldest commit is the one most likely to predate a change.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import subprocess
import tempfile
from pathlib import Path

from progtheory import config as C

STEPS = 20  # retrained steps: enough to carry an init, data or optimizer change into the loss
MAX_STEPS = 200  # a folder that keeps every 100th step is checked up to its first kept step after 0
TOL = 1e-4  # nats: fp32 reductions under another thread count move 20 steps' losses by ~1e-6
LR_RTOL = 1e-6  # committed tables keep 7 significant digits
MARK_FACTOR = 10  # a stale mark's max_abs_diff must match the measured one within this factor
REPO = Path(__file__).resolve().parents[2]


def folders(root: Path | str) -> list[str]:
    """The results folders under `root` that hold runs to check: a sweep's tables
    (provenance.jsonl and metrics.csv) or run folders (config.json, provenance.json and
    metrics.csv, e.g. the demo's fixed/ and progressive/)."""
    root = Path(root)
    return sorted(d.name for d in root.iterdir() if d.is_dir() and (_sweep_folder(d) or _run_folders(d)))


def _sweep_folder(d: Path) -> bool:
    return (d / "provenance.jsonl").is_file() and (d / "metrics.csv").is_file()


def _run_folders(d: Path) -> list[Path]:
    return sorted(s for s in d.iterdir() if s.is_dir()
                  and all((s / f).is_file() for f in ("config.json", "provenance.json", "metrics.csv")))


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _runs(folder: Path) -> list[dict]:
    """Each run of `folder` with a provenance record: {run_id, config, provenance, rows}, in
    the order listed; rows are its committed metrics rows."""
    if _sweep_folder(folder):
        recs = [json.loads(line) for line in (folder / "provenance.jsonl").read_text().splitlines() if line.strip()]
        rows: dict[str, list[dict]] = {}
        for row in _read_csv(folder / "metrics.csv"):
            rows.setdefault(row["run_id"], []).append(row)
        return [{"run_id": r["run_id"], "config": r["config"], "provenance": r.get("provenance", {}),
                 "rows": rows[r["run_id"]]} for r in recs if "config" in r and r["run_id"] in rows]
    out = []
    for d in _run_folders(folder):
        cfg = json.loads((d / "config.json").read_text())
        prov = json.loads((d / "provenance.json").read_text())
        out.append({"run_id": cfg["run_id"], "config": cfg, "provenance": prov, "rows": _read_csv(d / "metrics.csv")})
    return out


def _commit_time(sha: str | None) -> float:
    """Commit time of `sha` in this repository; inf when git or the commit is missing."""
    if not sha:
        return math.inf
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct", sha], cwd=REPO, capture_output=True,
                             text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return math.inf
    return float(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else math.inf


def pick_run(runs: list[dict]) -> dict:
    """The fixed-size run made by the oldest commit (a grown run when there is none; the
    first listed among equals)."""
    times = {sha: _commit_time(sha) for sha in {r["provenance"].get("git_sha") for r in runs}}
    return min(runs, key=lambda r: (r["config"].get("growth") is not None, times[r["provenance"].get("git_sha")]))


def _steps_to_check(rows: list[dict]) -> int:
    """STEPS, or up to the first committed step after 0 when the table keeps fewer than two
    rows below STEPS (a strided metrics.csv), at most MAX_STEPS."""
    steps = sorted(int(r["step"]) for r in rows)
    if sum(s < STEPS for s in steps) >= 2:
        return STEPS
    later = [s for s in steps if s > 0]
    return later[0] + 1 if later and later[0] < MAX_STEPS else STEPS


def retrain(config: dict, steps: int, out_dir: Path) -> list[dict]:
    """Metrics rows of the first `steps` steps of the run whose config.json is `config`,
    trained into `out_dir` on CPU with one thread, whatever device the config names."""
    import torch

    from progtheory.train.loop import train

    cfg = dataclasses.replace(C.from_run_json(config), device="cpu", compile=False)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        train(cfg, out_dir, quiet=True, stop_after=min(steps, cfg.steps))
    finally:
        torch.set_num_threads(threads)
    return _read_csv(out_dir / "metrics.csv")


def compare(committed: list[dict], fresh: list[dict]) -> tuple[float, float, list[int]]:
    """(max |train loss difference|, max relative LR difference, compared steps) over the
    committed rows whose step was retrained; the LR is compared where the table has it."""
    by_step = {int(r["step"]): r for r in fresh}
    loss_diff, lr_diff, steps = 0.0, 0.0, []
    for row in committed:
        step = int(row["step"])
        if step not in by_step:
            continue
        new = by_step[step]
        loss_diff = max(loss_diff, abs(float(row["train_loss"]) - float(new["train_loss"])))
        if row.get("lr", "") != "":
            lr_diff = max(lr_diff, abs(float(row["lr"]) - float(new["lr"])) / max(abs(float(new["lr"])), 1e-30))
        steps.append(step)
    return loss_diff, lr_diff, steps


def stale_mark(folder: Path | str) -> dict | None:
    """The "stale" entry of `folder`'s experiment.json, or None."""
    path = Path(folder) / "experiment.json"
    return json.loads(path.read_text()).get("stale") if path.is_file() else None


def check_folder(name: str, root: Path | str = "experiments/results", work: Path | str | None = None) -> dict:
    """Retrain one run of results folder `name` (`pick_run`) into `work` (a temporary folder
    when None) and compare it with the committed rows.  Returns {name, run_id, produced_by,
    max_abs_diff, lr_rel_diff, steps (those compared), fresh, checked (False when no run can
    be rebuilt), reason, mark (the folder's stale mark or None)}."""
    folder = Path(root) / name
    out = {"name": name, "run_id": None, "produced_by": None, "max_abs_diff": None, "lr_rel_diff": None,
           "steps": [], "fresh": False, "checked": False, "reason": "", "mark": stale_mark(folder)}
    runs = _runs(folder)
    if not runs:
        return {**out, "reason": f"{folder} has no run with a provenance record and metrics rows, "
                                 "so no config to retrain"}
    run = pick_run(runs)
    prov = run["provenance"]
    sha = (prov.get("git_sha") or "unknown")[:7]
    out.update(run_id=run["run_id"], produced_by=sha + ("-dirty" if prov.get("git_dirty") else ""))
    n = _steps_to_check(run["rows"])
    committed = [r for r in run["rows"] if int(r["step"]) < n]
    with tempfile.TemporaryDirectory(dir=work) as tmp:
        rows = retrain(run["config"], n, Path(tmp) / run["run_id"])
    loss_diff, lr_diff, steps = compare(committed, rows)
    fresh = bool(steps) and loss_diff <= TOL and lr_diff <= LR_RTOL
    reason = (f"run {run['run_id']} ({out['produced_by']}): train loss of steps {steps[0]}..{steps[-1]} "
              f"({len(steps)} committed rows) within {loss_diff:.2g} of today's code (tolerance {TOL:g}), "
              f"LR within {lr_diff:.2g} relative" if steps else f"run {run['run_id']}: no committed row below step {n}")
    return {**out, "max_abs_diff": loss_diff, "lr_rel_diff": lr_diff, "steps": steps, "fresh": fresh,
            "checked": bool(steps), "reason": reason}


def judge(result: dict) -> tuple[bool, str]:
    """(accepted, why) for a `check_folder` result: a fresh folder must carry no stale mark; a
    stale one must carry a mark whose max_abs_diff is within MARK_FACTOR of the measured one,
    so a mark cannot hide a later change."""
    name, mark, diff = result["name"], result["mark"], result["max_abs_diff"]
    where = f"experiments/results/{name}/experiment.json"
    if result["fresh"]:
        return (mark is None, f"{name} is reproduced by today's code ({result['reason']}) "
                              f"but {where} marks it stale: remove the mark")
    if mark is None:
        return False, (f"{name} is not reproduced by today's code ({result['reason']}): regenerate it, or mark it "
                       f'in {where} with "stale": {{"since", "produced_by", "why", "max_abs_diff": {diff:.3g}}}')
    marked = float(mark.get("max_abs_diff", math.nan))
    ok = marked > 0 and diff > 0 and 1 / MARK_FACTOR <= diff / marked <= MARK_FACTOR
    return ok, (f"{name}'s stale mark says max_abs_diff {marked:.3g} but today's code differs by {diff:.3g} "
                f"({result['reason']}): the computation changed again; re-measure and update the mark in {where}")
