"""Every declared experiment is valid and its smoke variant runs; sweeps skip finished runs,
resume a killed one, share runs between experiments, probe growth steps, and run in parallel."""

import json
from pathlib import Path

import pytest
from experiment_data import EXPERIMENTS, ROOT, smoke

from progtheory import sweep
from progtheory.config import ConfigError


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_full_grid_is_valid_and_free_of_duplicate_configs(name):
    exp = sweep.load_experiment(name, root=ROOT)
    runs = sweep.plan(exp)  # validates every config and rejects duplicates
    assert len(runs) >= 3 and exp.question and exp.predictions and exp.budget


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_smoke_variant_runs_and_writes_tidy_tables(name, tmp_path):
    exp, summaries = smoke(name, tmp_path)
    stopped = "interrupted" if exp.probe_steps else "completed"  # a probe stops on purpose
    assert summaries and all(s["status"] == stopped for s in summaries)
    folders = sweep.parts(exp, smoke=True)  # one per arm of an experiment with arms
    assert [f for f, _ in folders] == ([f"{x}_smoke" for x in exp.arms.values()] or [f"{name}_smoke"])
    prov = []
    for folder, part in folders:
        results = tmp_path / "results" / folder
        meta = json.loads((results / "experiment.json").read_text())
        assert meta["n_runs_done"] == meta["n_runs_declared"] == len(part.runs(True)) > 0
        header = (results / "metrics.csv").read_text().splitlines()[0].split(",")
        assert {"run_id", "step", "val_loss", "seed"} <= set(header)
        assert not exp.arms or exp.axis not in header  # the folder names the arm
        prov += [json.loads(line) for line in (results / "provenance.jsonl").read_text().splitlines()]
    assert sorted(p["run_id"] for p in prov) == sorted(s["run_id"] for s in summaries)
    assert all(p["config"]["steps"] > 0 and "torch" in p["provenance"] for p in prov)


def test_every_results_folder_keeps_the_run_ids_its_runs_were_trained_under():
    """A run id is a hash of the config, so a config built differently trains the run again.
    declared_run_ids.json lists, per results folder, the run ids (in order) of the runs declared
    for it by the experiment, or the arm of an experiment, that writes it: the four questions asked
    under two recipes (`mixing`, `init_strategies`, `frontier`, `budget`) and the experiments that
    share runs with them by id."""
    from progtheory.config import run_id

    pinned = json.loads((Path(__file__).parent / "declared_run_ids.json").read_text())
    declared = {folder: [run_id(r.cfg) for r in part.runs(False)]
                for name in EXPERIMENTS for folder, part in sweep.parts(sweep.load_experiment(name, root=ROOT))}
    assert {folder: declared.get(folder) for folder in pinned} == pinned


def test_every_run_a_committed_results_folder_records_is_still_declared_for_that_folder():
    """`collect` keeps only declared runs, so a run a committed folder records but no declaration
    names would drop out of the tables at the next sweep."""
    from progtheory.config import run_id

    results = ROOT / "experiments" / "results"
    declared = {folder: {run_id(r.cfg) for r in part.runs(False)}
                for name in EXPERIMENTS for folder, part in sweep.parts(sweep.load_experiment(name, root=ROOT))}
    checked = [f for f in declared if (results / f / "runs.csv").is_file()]
    if not checked:
        pytest.skip("no committed results in this checkout")
    for folder in checked:
        recorded = {row["run_id"] for row in sweep._read_csv(results / folder / "runs.csv")}
        assert recorded <= declared[folder], (folder, sorted(recorded - declared[folder]))


def test_an_arm_is_swept_by_its_tag_and_its_folder_name_as_an_experiment_is_refused_with_that_sweep():
    exp = sweep.load_experiment("mixing", root=ROOT)
    assert exp.arms == {"sp-adamw": "mixing", "recipe": "mixing_recipe"}
    runs = sweep.plan(exp, only=sweep.parse_only(["recipe=recipe"]))
    assert runs and {r.tags["recipe"] for r in runs} == {"recipe"}
    (folder, part), = [(f, p) for f, p in sweep.parts(exp) if f == "mixing_recipe"]
    assert [r.cfg for r in part.runs(False)] == [r.cfg for r in runs]
    assert all("recipe" not in r.tags for r in part.runs(False)) and part.design == {"recipe": "recipe"}
    with pytest.raises(ConfigError, match="progtheory sweep mixing --only recipe=recipe"):
        sweep.load_experiment("mixing_recipe", root=ROOT)
    with pytest.raises(ConfigError, match="progtheory sweep budget --only recipe=recipe-d64"):
        sweep.load_experiment("budget_small", root=ROOT)
    with pytest.raises(ConfigError, match="one at a time"):
        sweep.collect(exp, Path("runs"), Path("results"))


def test_a_second_sweep_skips_finished_runs_even_without_their_run_folders(tmp_path):
    smoke("mixing", tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "runs")  # e.g. another machine that has only the committed tables
    exp, again = smoke("mixing", tmp_path)
    assert again == []
    rows = (tmp_path / "results" / "mixing_smoke" / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + len(sweep.arm(exp, "sp-adamw").runs(True))
    prov = (tmp_path / "results" / "mixing_smoke" / "provenance.jsonl").read_text().splitlines()
    assert len(prov) == len(rows) - 1  # kept although the run folders are gone


def test_a_run_another_experiment_recorded_is_not_trained_again_and_is_collected_with_new_tags(tmp_path):
    """Run folders gone (a fresh machine with only the committed tables): a second experiment
    declaring one of the first one's runs takes its rows from the first one's tables."""
    import dataclasses
    import shutil

    from progtheory.config import run_id
    from progtheory.train.run_dir import SUMMARY_KEYS

    mixing, _ = smoke("mixing", tmp_path)
    shared = next(r for r in sweep.arm(mixing, "sp-adamw").runs(True) if r.tags["source"] >= 0)
    rid = run_id(shared.cfg)
    first = tmp_path / "results" / "mixing_smoke"
    summary_row = next(r for r in sweep._read_csv(first / "runs.csv") if r["run_id"] == rid)
    assert set(SUMMARY_KEYS) <= set(summary_row)
    shutil.rmtree(tmp_path / "runs")
    other = dataclasses.replace(mixing, name="reuse", arms={},
                                runs=lambda smoke: [sweep.Run({"arm": "x", "seed": 7}, shared.cfg)])
    assert [d["status"] for d in sweep.describe(other, smoke=True, runs_root=tmp_path / "runs",
                                                 results_root=tmp_path / "results")] == ["done"]
    assert sweep.run_sweep(other, smoke=True, runs_root=tmp_path / "runs", results_root=tmp_path / "results",
                           progress=False) == []
    second = tmp_path / "results" / "reuse_smoke"
    (row,) = sweep._read_csv(second / "runs.csv")
    assert row["arm"] == "x" and row["seed"] == "7" and "schedule" not in row
    assert {k: row[k] for k in SUMMARY_KEYS} == {k: summary_row[k] for k in SUMMARY_KEYS}
    old = [m for m in sweep._read_csv(first / "metrics.csv") if m["run_id"] == rid]
    new = sweep._read_csv(second / "metrics.csv")
    assert len(new) == len(old) > 0 and all(m["arm"] == "x" and "schedule" not in m for m in new)
    assert [(m["step"], m["val_loss"], m["lr"]) for m in new] == [(m["step"], m["val_loss"], m["lr"]) for m in old]
    prov = [json.loads(line) for line in (second / "provenance.jsonl").read_text().splitlines()]
    assert [p["run_id"] for p in prov] == [rid] and prov[0]["config"] == json.loads(
        next(line for line in (first / "provenance.jsonl").read_text().splitlines() if rid in line))["config"]
    growth = [json.loads(line) for line in (second / "growth_stats.jsonl").read_text().splitlines()]
    assert [g["run_id"] for g in growth] == [rid] and growth[0]["step"] > 0
    assert growth == [g for line in (first / "growth_stats.jsonl").read_text().splitlines()
                      if (g := json.loads(line))["run_id"] == rid]


def test_a_probe_stops_each_run_after_its_growth_step_and_records_it_for_itself_only(tmp_path):
    """A probe's runs stop `probe_steps` updates after their growth step with the jolt logged,
    are recorded as probed and skipped when swept again; an experiment of full runs sharing a
    run id resumes the stopped run to its end instead of taking the probe's record."""
    import dataclasses

    from progtheory.config import run_id
    from progtheory.train.probes import JOLT_STEPS

    kw = dict(runs_root=tmp_path / "runs", results_root=tmp_path / "results", progress=False)
    probe, summaries = smoke("jolt", tmp_path)
    for run, s in zip(probe.runs(True), summaries):
        tau = sweep.stop_step(probe, run.cfg) - JOLT_STEPS
        assert s["steps_done"] == tau + JOLT_STEPS < run.cfg.steps
        stats = json.loads((tmp_path / "runs" / s["run_id"] / f"growth_stats_{tau}.json").read_text())
        assert len(stats["jolt_loss"]) == JOLT_STEPS and "update" in stats
    rows = sweep._read_csv(tmp_path / "results" / "jolt_smoke" / "runs.csv")
    assert len(rows) == len(summaries) and {r["status"] for r in rows} == {sweep.PROBED}
    assert sweep.run_sweep(probe, smoke=True, **kw) == []
    from progtheory.theory.compute import train_config_flops

    listed = sweep.describe(probe, smoke=True, runs_root=kw["runs_root"], results_root=kw["results_root"])
    assert {d["status"] for d in listed} == {"done"}
    assert all(d["flops"] < train_config_flops(r.cfg)["progressive"] for d, r in zip(listed, probe.runs(True)))
    first = probe.runs(True)[0]
    full = dataclasses.replace(probe, name="full", probe_steps=None, runs=lambda smoke: [first])
    (done,) = sweep.run_sweep(full, smoke=True, **kw)
    assert done["run_id"] == run_id(first.cfg) and done["status"] == "completed"
    assert done["steps_done"] == first.cfg.steps
    with pytest.raises(ConfigError, match="probe_steps=0"):
        sweep.plan(dataclasses.replace(probe, probe_steps=0))
    fixed = sweep.Run({"seed": 0}, dataclasses.replace(first.cfg, growth=None))
    with pytest.raises(ConfigError, match="without growth"):
        sweep.plan(dataclasses.replace(probe, runs=lambda smoke: [fixed]))


def test_only_filters_runs_by_tag_and_rejects_unknown_tags():
    exp = sweep.load_experiment("mixing", root=ROOT)
    runs = sweep.plan(exp, only=sweep.parse_only(["schedule=wsd", "seed=0"]))
    assert runs and all(r.tags["schedule"] == "wsd" and r.tags["seed"] == 0 for r in runs)
    with pytest.raises(ConfigError, match="colour"):
        sweep.plan(exp, only={"colour": ["red"]})


def test_unknown_experiment_names_the_known_ones():
    with pytest.raises(ConfigError, match="mixing"):
        sweep.load_experiment("no_such_experiment", root=ROOT)


def test_a_killed_sweep_resumes_the_run_in_flight_and_ends_with_the_uninterrupted_tables(tmp_path):
    """Kill = a run dir left with a config, a partial metrics.csv and a mid-run checkpoint."""
    import pandas as pd

    from progtheory.config import run_id
    from progtheory.train.loop import train

    exp = sweep.load_experiment("mixing", root=ROOT)
    first = exp.runs(True)[0].cfg
    partial = tmp_path / "killed" / "runs" / run_id(first)
    train(first, partial, quiet=True, stop_after=first.ckpt_every + 3)  # rows past the checkpoint are lost
    sweep.run_sweep(exp, smoke=True, runs_root=tmp_path / "killed" / "runs",
                    results_root=tmp_path / "killed" / "results", progress=False)
    sweep.run_sweep(exp, smoke=True, runs_root=tmp_path / "clean" / "runs",
                    results_root=tmp_path / "clean" / "results", progress=False)
    a, b = (pd.read_csv(tmp_path / k / "results" / "mixing_smoke" / "metrics.csv") for k in ("killed", "clean"))
    cols = ["run_id", "step", "train_loss", "val_loss", "flops"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


def test_dry_run_lists_status_and_flops_without_training(tmp_path, capsys):
    from progtheory.cli import main

    exp = sweep.load_experiment("mixing", root=ROOT)
    rows = sweep.describe(exp, smoke=True, runs_root=tmp_path / "runs", results_root=tmp_path / "results")
    assert len(rows) == len(exp.runs(True)) and all(r["status"] == "todo" and r["flops"] > 0 for r in rows)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results").exists()
    fixed = [r for r in rows if r["source"] == -1]
    assert all(r["flops"] > max(p["flops"] for p in rows if p["source"] >= 0) for r in fixed)  # growth saves compute
    import os

    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        assert main(["sweep", "mixing", "--smoke", "--dry-run", "--runs-root", str(tmp_path / "runs")]) == 0
    finally:
        os.chdir(cwd)
    assert "to train" in capsys.readouterr().out


def test_committed_tables_keep_run_ids_that_look_like_numbers():
    from progtheory.sweep import _short

    row = {"run_id": "81679e9654", "step": "12", "train_loss": "5.579968452453613", "val_loss": ""}
    assert _short(row) == {"run_id": "81679e9654", "step": "12", "train_loss": "5.579968", "val_loss": ""}


def test_a_sweep_skips_a_run_another_live_process_is_training_and_takes_over_stale_locks(tmp_path):
    import subprocess
    import sys

    from progtheory.config import run_id
    from progtheory.train.run_lock import LOCK_NAME

    exp = sweep.load_experiment("mixing", root=ROOT)
    first, second = (run_id(r.cfg) for r in exp.runs(True)[:2])
    runs = tmp_path / "runs"
    hold = ("import sys, time\nfrom progtheory.train import run_lock\n"
            "lock = run_lock.acquire(sys.argv[1])\nprint('locked', flush=True)\ntime.sleep(600)\n")
    holder = subprocess.Popen([sys.executable, "-c", hold, str(runs / first)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"  # alive: it holds the first run's lock
        (runs / second).mkdir()
        (runs / second / LOCK_NAME).write_text("999999999 somewhere\n")  # left by a killed writer, unlocked
        _, summaries = smoke("mixing", tmp_path)
        assert (runs / first / LOCK_NAME).exists()
    finally:
        holder.kill()
        holder.communicate(timeout=60)
    trained = {s["run_id"] for s in summaries}
    assert first not in trained and second in trained
    assert len(trained) == len(exp.runs(True)) - 1
    assert not (runs / second / LOCK_NAME).exists()


def _parallel(args, tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": str(ROOT)}
    return subprocess.run(["bash", str(ROOT / "experiments" / "sweep_parallel.sh"), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_parallel_sweep_gathers_every_shard_and_leaves_the_checkout_alone(tmp_path):
    before = sorted(p.name for p in (ROOT / "experiments" / "results").iterdir())
    out = _parallel(["source_depth", "2", "240", str(tmp_path / "runs"), str(tmp_path / "out"), "--smoke"], tmp_path)
    assert out.returncode == 0, out.stderr
    rows = (tmp_path / "out" / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + len(sweep.load_experiment("source_depth", root=ROOT).runs(True))
    assert f"collected {len(rows) - 1} finished runs" in (tmp_path / "out" / "sweep.log").read_text()
    assert len((tmp_path / "out" / "provenance.jsonl").read_text().splitlines()) == len(rows) - 1
    assert sorted(p.name for p in (ROOT / "experiments" / "results").iterdir()) == before


def test_parallel_sweep_of_an_experiment_with_arms_gathers_each_arm_into_its_own_folder(tmp_path):
    out = _parallel(["frontier", "2", "240", str(tmp_path / "runs"), str(tmp_path / "out"), "--smoke"], tmp_path)
    assert out.returncode == 0, out.stderr
    exp = sweep.load_experiment("frontier", root=ROOT)
    for folder, part in sweep.parts(exp, smoke=True):
        rows = (tmp_path / "out" / folder / "runs.csv").read_text().splitlines()
        assert len(rows) == 1 + len(part.runs(True)) and "recipe" not in rows[0].split(",")
    assert f"collected {len(exp.runs(True))} finished runs" in (tmp_path / "out" / "sweep.log").read_text()


def test_parallel_sweep_refuses_a_used_output_folder_and_bad_arguments(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "runs.csv").write_text("run_id\nabc\n")
    used = _parallel(["mixing", "2", "60", str(tmp_path / "runs"), str(tmp_path / "out"), "--smoke"], tmp_path)
    assert used.returncode == 2 and "choose an empty OUTDIR" in used.stderr
    assert (tmp_path / "out" / "runs.csv").read_text() == "run_id\nabc\n" and not (tmp_path / "runs").exists()
    bad = _parallel(["mixing", "two", "60", str(tmp_path / "r"), str(tmp_path / "o")], tmp_path)
    assert bad.returncode == 2 and "N=two" in bad.stderr


def test_budget_states_the_training_split_it_counts_epochs_with():
    from progtheory.data.dataset import prepare_data

    import sys

    sweep.load_experiment("budget", root=ROOT)
    module = sys.modules["progtheory_experiment_budget"]  # registered by load_experiment
    cfg = module.small_base()
    assert module.TRAIN_BYTES == len(prepare_data(cfg.data, cfg.model.vocab_size).train)
