"""The prepared device run (experiments/gpu/run.sh): its CPU smoke mode writes the tidy files
a full run writes, for the same grid."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

from progtheory.config import validate

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "experiments" / "gpu" / "run.sh"


def _decisive():
    spec = importlib.util.spec_from_file_location("gpu_decisive", ROOT / "experiments" / "gpu" / "decisive.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grid(runs):
    return sorted((r.tags["arm"], r.tags["source"], r.tags["tau"]) for r in runs)


@pytest.fixture(scope="module")
def smoke_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu_out")
    env = {**os.environ, "OUT": str(out), "RUNS_ROOT": str(tmp_path_factory.mktemp("gpu_runs")),
           "DEADLINE_S": "600", "PYTHONWARNINGS": "error"}
    done = subprocess.run([str(SCRIPT), "--smoke"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def test_smoke_run_writes_every_tidy_file_with_one_row_per_run(smoke_out):
    assert {p.name for p in smoke_out.iterdir()} >= {"runs.csv", "metrics.csv", "provenance.jsonl",
                                                    "experiment.json", "sweep.log", "device.txt"}
    with open(smoke_out / "runs.csv", newline="") as f:
        runs = list(csv.DictReader(f))
    smoke_grid = _decisive().runs(smoke=True)
    assert len(runs) == len(smoke_grid) and {r["status"] for r in runs} == {"completed"}
    assert sorted((r["arm"], int(r["source"]), float(r["tau"])) for r in runs) == _grid(smoke_grid)
    provenance = [json.loads(line) for line in (smoke_out / "provenance.jsonl").read_text().splitlines()]
    assert {p["run_id"] for p in provenance} == {r["run_id"] for r in runs}
    assert all("git" in json.dumps(p["provenance"]) for p in provenance)
    with open(smoke_out / "metrics.csv", newline="") as f:
        assert {m["run_id"] for m in csv.DictReader(f)} == {r["run_id"] for r in runs}


def test_the_full_run_has_the_smoke_grid_at_each_budget_on_cuda():
    decisive = _decisive()
    full = decisive.runs(smoke=False)
    for r in full:
        validate(r.cfg)
    assert {r.cfg.device for r in full} == {"cuda"}
    smoke_grid = _grid(decisive.runs(smoke=True))
    for steps in decisive.BUDGETS:
        assert _grid([r for r in full if r.tags["T"] == steps]) == smoke_grid
    # the short budget first, so a shard finishes it before it starts a long run
    assert [r.tags["T"] for r in full] == sorted(r.tags["T"] for r in full)


def test_the_long_budget_stays_within_four_epochs_of_the_corpus():
    from progtheory import presets
    from progtheory.data import prepare_data

    decisive = _decisive()
    cfg = presets.tuned()
    n_train = prepare_data(cfg.data, cfg.model.vocab_size).meta["n_tokens"]["train"]
    assert n_train == decisive.TRAIN_TOKENS
    tokens = max(decisive.BUDGETS) * decisive.BATCH * cfg.model.block_size
    assert 3.5 < tokens / n_train <= 4.0
