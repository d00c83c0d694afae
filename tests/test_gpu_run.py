"""The prepared device run (experiments/gpu/run.sh): its CPU smoke mode keeps the file contract a
device brings back (at most 8 files, 2 folders down, 16 MiB each, plain names), the deadline cuts
runs without losing their rows, and the commit travels without git."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from progtheory.config import run_id, validate

ROOT = Path(__file__).resolve().parents[1]
GPU = ROOT / "experiments" / "gpu"
OUT_FILES = {"summary.txt", "device.txt", "checks.txt", "bench.txt", "bench.jsonl", "runs.csv", "metrics.csv",
             "results.tar.gz"}


def _module(name: str):
    spec = importlib.util.spec_from_file_location(f"gpu_{name}", GPU / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _grid(runs):
    return sorted((r.tags["arm"], r.tags["source"], r.tags["tau"]) for r in runs)


def _csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """One smoke run on a copy that has no git (GIT_DIR points nowhere), the commit coming from
    the file prepare.sh writes; its deadline cuts the long budget mid-run."""
    tmp = tmp_path_factory.mktemp("gpu")
    commit_file = tmp / "COMMIT"
    subprocess.run([str(GPU / "prepare.sh"), str(commit_file)], check=True, capture_output=True, timeout=60)
    out = tmp / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROGTHEORY_COMMIT") and k != "PROGTHEORY_DIRTY"}
    env.update(OUT=str(out), GIT_DIR=str(tmp / "no-git"), PROGTHEORY_COMMIT_FILE=str(commit_file),
               OMP_NUM_THREADS="1", PYTHONWARNINGS="error")
    done = subprocess.run([str(GPU / "run.sh"), "--smoke", "--deadline", "55"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    with tarfile.open(out / "results.tar.gz") as tar:
        packed = {m.name.removeprefix("./"): tar.extractfile(m).read().decode() for m in tar.getmembers() if m.isfile()}
    return out, packed, commit_file


@pytest.mark.slow
def test_smoke_brings_back_at_most_8_files_2_folders_down_each_under_16_mib_with_plain_names(smoke):
    out, _, _ = smoke
    files = [p for p in out.rglob("*") if p.is_file()]
    assert not [p for p in out.rglob("*") if p.is_dir()]  # the staging folder is packed and gone
    assert {p.name for p in files} == OUT_FILES and len(files) <= 8
    for p in files:
        parts = p.relative_to(out).parts
        assert len(parts) <= 3 and all(re.fullmatch(r"[A-Za-z0-9._-]+", part) for part in parts)
        assert p.stat().st_size <= 16 * 2**20


@pytest.mark.slow
def test_the_deadline_cuts_the_long_runs_and_every_started_run_keeps_its_rows_up_to_the_cut(smoke):
    out, packed, _ = smoke
    decisive = _module("decisive")
    declared = {run_id(r.cfg): r for r in decisive.runs(smoke=True)}
    runs = _csv((out / "runs.csv").read_text())
    assert {r["run_id"] for r in runs} == set(declared) and len(runs) == len(declared)
    statuses = {r["status"] for r in runs}
    assert "completed" in statuses and statuses <= {"completed", "interrupted", "cut", "not_started"}
    cut = [int(r["steps_done"]) for r in runs if r["status"] in ("interrupted", "cut")]
    assert max(cut, default=0) > 0  # a long run stopped mid-way (each lane holds 5 x 100,000 steps)
    metrics = _csv((out / "metrics.csv").read_text())
    stride = json.loads(packed["tables/experiment.json"])["metrics_stride"]
    for r in runs:
        mine = [m for m in metrics if m["run_id"] == r["run_id"]]
        if r["status"] == "not_started":
            assert not mine and f"runs/{r['run_id']}/config.json" not in packed
            continue
        own = _csv(packed.get(f"runs/{r['run_id']}/metrics.csv", ""))  # the run folder's own rows
        kept = [m for i, m in enumerate(own)
                if int(m["step"]) % stride == 0 or m["val_loss"] != "" or i == len(own) - 1]
        assert [(m["step"], m["train_loss"]) for m in mine] == [(m["step"], m["train_loss"]) for m in kept]
        assert len(own) == int(r["steps_done"]) <= int(r["steps"])
        assert {(m["arm"], m["lane"]) for m in mine} <= {(r["arm"], r["lane"])}


@pytest.mark.slow
def test_the_commit_travels_without_git_into_device_txt_and_every_runs_provenance(smoke):
    out, packed, commit_file = smoke
    recorded = re.match(r"PROGTHEORY_COMMIT=([0-9a-f]{40})\nPROGTHEORY_DIRTY=(yes|no)\n", commit_file.read_text())
    sha, dirty = recorded.groups()
    assert re.search(rf"^commit {sha} dirty={dirty} \(from {re.escape(str(commit_file))}, prepared ",
                     (out / "device.txt").read_text(), re.M)
    provenance = [json.loads(line)["provenance"] for line in packed["tables/provenance.jsonl"].splitlines()]
    assert provenance and {(p["git_sha"], p["git_dirty"]) for p in provenance} == {(sha, dirty == "yes")}
    assert packed["COMMIT"] == commit_file.read_text()


@pytest.mark.slow
def test_the_checks_say_what_ran_and_what_is_untested(smoke):
    out, packed, _ = smoke
    checks, summary = (out / "checks.txt").read_text(), (out / "summary.txt").read_text()
    assert "== pytest_cuda: exit 0 (passed)" in checks
    assert "DDP on GPUs is untested" in checks
    rows = [json.loads(line) for line in (out / "bench.jsonl").read_text().splitlines()]
    assert [(r["case"], r["kind"], r["mode"]) for r in rows] == [
        ("default (L4)", "rows", "eager"), ("bytes d32 L2", "rows", "eager"),
        ("bytes d32 L1->L2", "progressive_rows", "eager")]
    assert all(r["fraction_of_peak"] > 0 and r["fraction_of_datasheet_peak"] is None for r in rows)  # no GPU
    assert "bytes d32 L2" in (out / "bench.txt").read_text() and "bytes d32 L1->L2" in (out / "bench.txt").read_text()
    assert re.search(r"lane 0: exit 124 \(stopped by the deadline\)", summary)
    assert "logs/lane_0.log" in packed and "plan.txt" in packed
    assert not [name for name in packed if name.endswith(".pt")]


def test_lanes_balance_flops_within_four_thirds_and_train_short_runs_first():
    from progtheory.theory.compute import train_config_flops

    decisive = _module("decisive")
    for smoke_, n in ((False, decisive.LANES), (True, decisive.SMOKE_LANES)):
        runs = decisive.runs(smoke=smoke_)
        assert {r.tags["lane"] for r in runs} == set(range(n))
        flops = [train_config_flops(r.cfg)["progressive"] for r in runs]
        load = [sum(f for r, f in zip(runs, flops) if r.tags["lane"] == i) for i in range(n)]
        assert max(load) <= 4 / 3 * max(max(flops), sum(flops) / n)  # LPT's bound against the optimum
        for i in range(n):  # a lane trains its runs in declared order: short budget, then fewer FLOPs, first
            mine = [(r.tags["T"], f) for r, f in zip(runs, flops) if r.tags["lane"] == i]
            assert mine == sorted(mine)
    fixed_long = [r.tags["lane"] for r in decisive.runs(smoke=False)
                  if r.tags["source"] == -1 and r.tags["T"] == max(decisive.BUDGETS)]
    assert len(fixed_long) == 2 and len(set(fixed_long)) == 2


def test_every_case_run_sh_benchmarks_is_one_bench_cases_knows_on_its_device():
    import shlex

    script = (GPU / "run.sh").read_text().replace("\\\n", " ")
    calls = [line for line in script.splitlines() if "bench_cases.py" in line and "run_check" in line]
    bench_cases = _module("bench_cases")
    assert len(calls) == 4  # smoke eager; eager, compiled, compiled 124M
    for line in calls:
        args = bench_cases.build_parser().parse_args(shlex.split(line.split("bench_cases.py", 1)[1]))
        fixed, grown = bench_cases.known_cases(args.device)
        assert set(args.labels) <= set(fixed) | set(grown), (line, args.labels)


def test_lanes_refuse_fewer_than_one_lane():
    with pytest.raises(ValueError, match="n=0"):
        _module("decisive").lanes([1.0, 2.0], 0)


def test_the_full_run_has_the_smoke_grid_at_each_budget_on_cuda():
    decisive = _module("decisive")
    full, smoke_runs = decisive.runs(smoke=False), decisive.runs(smoke=True)
    for r in full:
        validate(r.cfg)
    assert {r.cfg.device for r in full} == {"cuda"} and {r.cfg.device for r in smoke_runs} == {"cpu"}
    grid = _grid([r for r in full if r.tags["T"] == decisive.BUDGETS[0]])
    for runs, budgets in ((full, decisive.BUDGETS), (smoke_runs, decisive.SMOKE_BUDGETS)):
        assert {r.tags["T"] for r in runs} == set(budgets)
        for steps in budgets:
            assert _grid([r for r in runs if r.tags["T"] == steps]) == grid
        # the short budget first, so a lane finishes it before it starts a long run
        assert [r.tags["T"] for r in runs] == sorted(r.tags["T"] for r in runs)


def test_the_long_budget_stays_within_four_epochs_of_the_corpus():
    from progtheory import presets
    from progtheory.data import prepare_data

    decisive = _module("decisive")
    cfg = presets.tuned()
    n_train = prepare_data(cfg.data, cfg.model.vocab_size).meta["n_tokens"]["train"]
    assert n_train == decisive.TRAIN_TOKENS
    tokens = max(decisive.BUDGETS) * decisive.BATCH * cfg.model.block_size
    assert 3.5 < tokens / n_train <= 4.0


def test_provenance_takes_the_commit_from_the_environment_where_git_is_missing(monkeypatch):
    from progtheory.train import provenance

    monkeypatch.setattr(provenance, "_git", lambda *args: None)
    monkeypatch.setenv("PROGTHEORY_COMMIT", "0123abc")
    monkeypatch.setenv("PROGTHEORY_DIRTY", "yes")
    assert provenance.git_state() == {"git_sha": "0123abc", "git_dirty": True}
    monkeypatch.delenv("PROGTHEORY_COMMIT")
    monkeypatch.delenv("PROGTHEORY_DIRTY")
    assert provenance.git_state() == {"git_sha": None, "git_dirty": None}
