"""Every declared experiment's smoke variant runs; sweeps skip finished runs and resume; the
analysis and figure functions run on the smoke results."""

import json
from pathlib import Path

import numpy as np
import pytest

from progtheory import sweep
from progtheory.config import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_full_grid_is_valid_and_free_of_duplicate_configs(name):
    exp = sweep.load_experiment(name, root=ROOT)
    runs = sweep.plan(exp)  # validates every config and rejects duplicates
    assert len(runs) >= 3 and exp.question and exp.predictions and exp.budget


def _smoke(name, tmp_path, **kw):
    exp = sweep.load_experiment(name, root=ROOT)
    return exp, sweep.run_sweep(exp, smoke=True, runs_root=tmp_path / "runs", results_root=tmp_path / "results",
                                progress=False, **kw)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_smoke_variant_runs_and_writes_tidy_tables(name, tmp_path):
    exp, summaries = _smoke(name, tmp_path)
    stopped = "interrupted" if exp.probe_steps else "completed"  # a probe stops on purpose
    assert summaries and all(s["status"] == stopped for s in summaries)
    results = tmp_path / "results" / f"{name}_smoke"
    meta = json.loads((results / "experiment.json").read_text())
    assert meta["n_runs_done"] == meta["n_runs_declared"] == len(summaries)
    header = (results / "metrics.csv").read_text().splitlines()[0].split(",")
    assert {"run_id", "step", "val_loss", "seed"} <= set(header)
    prov = [json.loads(line) for line in (results / "provenance.jsonl").read_text().splitlines()]
    assert sorted(p["run_id"] for p in prov) == sorted(s["run_id"] for s in summaries)
    assert all(p["config"]["steps"] > 0 and "torch" in p["provenance"] for p in prov)


def test_a_second_sweep_skips_finished_runs_even_without_their_run_folders(tmp_path):
    _smoke("mixing", tmp_path)
    import shutil

    shutil.rmtree(tmp_path / "runs")  # e.g. another machine that has only the committed tables
    _, again = _smoke("mixing", tmp_path)
    assert again == []
    rows = (tmp_path / "results" / "mixing_smoke" / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + len(sweep.load_experiment("mixing", root=ROOT).runs(True))
    prov = (tmp_path / "results" / "mixing_smoke" / "provenance.jsonl").read_text().splitlines()
    assert len(prov) == len(rows) - 1  # kept although the run folders are gone


def test_a_run_another_experiment_recorded_is_not_trained_again_and_is_collected_with_new_tags(tmp_path):
    """Run folders gone (a fresh machine with only the committed tables): a second experiment
    declaring one of the first one's runs takes its rows from the first one's tables."""
    import dataclasses
    import shutil

    from progtheory.config import run_id
    from progtheory.train.run_dir import SUMMARY_KEYS

    mixing, _ = _smoke("mixing", tmp_path)
    shared = next(r for r in mixing.runs(True) if r.tags["source"] >= 0)
    rid = run_id(shared.cfg)
    first = tmp_path / "results" / "mixing_smoke"
    summary_row = next(r for r in sweep._read_csv(first / "runs.csv") if r["run_id"] == rid)
    assert set(SUMMARY_KEYS) <= set(summary_row)
    shutil.rmtree(tmp_path / "runs")
    other = dataclasses.replace(mixing, name="reuse", runs=lambda smoke: [sweep.Run({"arm": "x", "seed": 7}, shared.cfg)])
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
    probe, summaries = _smoke("jolt", tmp_path)
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


def test_mixing_analysis_and_figures_run_on_smoke_results(tmp_path):
    pytest.importorskip("seaborn")
    from progtheory import analysis as A
    from progtheory import figures as F

    _smoke("mixing", tmp_path)
    runs, metrics = A.load_results("mixing_smoke", tmp_path / "results")
    table = A.mixing_table(runs, metrics, window=5)
    assert len(table) == (runs.source >= 0).sum()
    assert ((table.r_tau > 0) & (table.r_tau < 1)).all()
    summary = A.summarize(table, ["schedule", "source", "tau"], ["rel_gap", "recovered"])
    curves = A.mean_curves(runs, metrics, ["schedule", "source", "tau"])
    for name, fig in [("curves", F.mixing_curves(curves, "wsd", 0)), ("gap", F.final_gap_vs_tau(summary)),
                      ("r", F.gap_vs_r_tau(table))]:
        paths = F.save(fig, name, tmp_path / "fig")
        assert all(p.stat().st_size > 1000 for p in paths)


def test_mean_ci_matches_a_t_interval_and_handles_one_seed():
    from progtheory.analysis import mean_ci

    m, lo, hi, n = mean_ci([1.0, 2.0, 3.0])
    assert (m, n) == (2.0, 3) and hi - m == pytest.approx(4.302653 / 3 ** 0.5, rel=1e-5)  # t_{0.975,2}=4.3027
    assert mean_ci([5.0])[:3] == (5.0, 5.0, 5.0)


def test_report_covers_every_prediction_and_marks_missing_results_as_open(tmp_path):
    from progtheory import report

    records = report.build_records(tmp_path)
    assert [r.pid for r in records] == list(report.PREDICTIONS) == [f"P{i}" for i in range(1, 26)]
    assert all(r.verdict == "open" and r.parts[0].note.startswith("not yet measured") for r in records)
    text = report.render(records)
    assert text.count("\n| [P") == 25 and text.count("\n## P") == 25


def test_report_fills_mixing_rows_from_mixing_results(tmp_path):
    import shutil

    from progtheory import report

    _smoke("mixing", tmp_path)
    shutil.copytree(tmp_path / "results" / "mixing_smoke", tmp_path / "root" / "mixing")
    rows = {r.pid: r for r in report.build_records(tmp_path / "root")}
    for pid in ("P2", "P6", "P7", "P9"):
        assert rows[pid].source == "experiments/results/mixing" and rows[pid].verdict != "open"
        assert rows[pid].recipe == "sp + AdamW"  # read from each run's config
    assert rows["P14"].verdict == "open" and "lr_transfer" in rows["P14"].parts[0].note


def test_lr_optima_recovers_a_known_optimum_and_flags_the_grid_edge():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import lr_optima

    lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    rows = []
    for depth, best in [(2, 5e-3), (8, 1e-4)]:
        for lr in lrs:
            for seed in range(3):
                rows.append(dict(depth=depth, lr=lr, seed=seed, final_val_loss=2.0 + (np.log10(lr / best)) ** 2))
    rows.append(dict(depth=2, lr=1e-1, seed=0, final_val_loss=np.nan))  # a diverged run counts as +inf
    out = lr_optima(pd.DataFrame(rows), ["depth"]).set_index("depth")
    assert out.loc[2, "lr_opt"] == pytest.approx(5e-3, rel=1e-6) and not out.loc[2, "at_edge"]
    assert out.loc[8, "at_edge"] and out.loc[8, "lr_best"] == 1e-3  # true optimum lies below the grid


def test_expansion_spike_measures_the_jump_after_tau():
    import pandas as pd

    from progtheory.analysis import expansion_spike

    steps = range(100)
    metrics = pd.DataFrame(dict(run_id="a", step=list(steps), depth=[0 if s < 50 else 4 for s in steps],
                                train_loss=[2.0 if s < 50 else (3.5 if s == 51 else 2.1) for s in steps]))
    runs = pd.DataFrame(dict(run_id=["a"], source=[0]))
    out = expansion_spike(runs, metrics)
    assert out.tau_step.iloc[0] == 50 and out.spike.iloc[0] == pytest.approx(1.5)


def test_lr_transfer_figure_runs_on_smoke_results(tmp_path):
    from progtheory import analysis as A
    from progtheory import figures as F

    _smoke("lr_transfer", tmp_path)
    runs, _ = A.load_results("lr_transfer_smoke", tmp_path / "results")
    optima = A.lr_optima(runs, ["parametrization", "depth"])
    assert optima.at_edge.all()  # the smoke grid has two LRs: every optimum is at an edge
    import pandas as pd

    from progtheory import predict_lr

    predicted = pd.DataFrame([dict(parametrization=par, depth=d, lr=predict_lr(
        d, base_depth=4, base_lr=3e-3, parametrization=par, optimizer="adamw"))
        for par in runs.parametrization.unique() for d in (1, 2, 4)])
    for name, fig in [("lr", F.lr_transfer(runs, optima)), ("opt", F.lr_optimum_vs_depth(optima, predicted))]:
        paths = F.save(fig, name, tmp_path / "fig")
        assert all(p.stat().st_size > 1000 for p in paths)


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
    out = _parallel(["mixing", "2", "240", str(tmp_path / "runs"), str(tmp_path / "out"), "--smoke"], tmp_path)
    assert out.returncode == 0, out.stderr
    rows = (tmp_path / "out" / "runs.csv").read_text().splitlines()
    assert len(rows) == 1 + len(sweep.load_experiment("mixing", root=ROOT).runs(True))
    assert "collected" in (tmp_path / "out" / "sweep.log").read_text()
    assert len((tmp_path / "out" / "provenance.jsonl").read_text().splitlines()) == len(rows) - 1
    assert sorted(p.name for p in (ROOT / "experiments" / "results").iterdir()) == before


def test_parallel_sweep_refuses_a_used_output_folder_and_bad_arguments(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "runs.csv").write_text("run_id\nabc\n")
    used = _parallel(["mixing", "2", "60", str(tmp_path / "runs"), str(tmp_path / "out"), "--smoke"], tmp_path)
    assert used.returncode == 2 and "choose an empty OUTDIR" in used.stderr
    assert (tmp_path / "out" / "runs.csv").read_text() == "run_id\nabc\n" and not (tmp_path / "runs").exists()
    bad = _parallel(["mixing", "two", "60", str(tmp_path / "r"), str(tmp_path / "o")], tmp_path)
    assert bad.returncode == 2 and "N=two" in bad.stderr


def _lr_grid(best_of, lrs=(7.5e-4, 1.5e-3, 3e-3, 6e-3, 1.2e-2), seeds=(0, 1, 2), **fixed):
    """Synthetic LR-sweep rows whose loss is a parabola in log10(lr) around best_of(tags)."""
    import numpy as np

    rows = []
    for par in ("sp", "depth-mup"):
        for width in (128, 256):
            for depth in (1, 2, 4, 8):
                for lr in lrs:
                    for seed in seeds:
                        tags = dict(parametrization=par, width=width, depth=depth, lr=lr, seed=seed, **fixed)
                        best = best_of(tags)
                        rows.append({**tags, "final_val_loss": 2.0 + np.log10(lr / best) ** 2})
    return rows


def test_lr_optima_uses_only_seeds_that_ran_the_whole_grid():
    import pandas as pd

    from progtheory.analysis import lr_optima

    rows = _lr_grid(lambda t: 3e-3)
    rows = [r for r in rows if not (r["seed"] == 2 and r["lr"] == 3e-3)]  # seed 2 stopped part-way
    rows += [dict(r, final_val_loss=9.0) for r in rows if r["seed"] == 2]  # ... and was awful
    out = lr_optima(pd.DataFrame(rows), ["parametrization", "width", "depth"])
    assert (out.n_seeds == 2).all() and out.lr_opt.to_numpy() == pytest.approx(3e-3, rel=1e-6)


def test_predicted_optima_follow_predict_lrs_sp_rule_and_stay_flat_for_depth_mup():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import depth_exponent, lr_optima, predicted_lr_optima
    from progtheory.theory.parametrization import SP_ADAMW_DEPTH_EXPONENT as E

    # measured optima that follow predict_lr's sp + AdamW rule exactly (the measured depth
    # exponent E, width ~ 1/w), and are flat for depth-mup
    def best(t):
        return 3e-3 * (t["depth"] / 4) ** E * (128 / t["width"]) if t["parametrization"] == "sp" else 1.5e-3

    optima = lr_optima(pd.DataFrame(_lr_grid(best, lrs=tuple(1e-4 * 2 ** k for k in range(10)))),
                       ["parametrization", "width", "depth"])
    pred = predicted_lr_optima(optima, base_depth=4, base_width=128).merge(
        optima, on=["parametrization", "width", "depth"])
    assert np.allclose(pred.lr, pred.lr_opt, rtol=0.02)
    slopes = depth_exponent(optima, ["parametrization", "width"]).set_index(["parametrization", "width"])
    assert slopes.loc[("sp", 128), "exponent"] == pytest.approx(E, abs=0.02)
    assert slopes.loc[("depth-mup", 256), "exponent"] == pytest.approx(0, abs=0.02)


def test_p14_judges_transfer_only_under_the_papers_recipe_and_reports_sp_with_its_exponent(tmp_path):
    import pandas as pd

    from progtheory import report

    # sp follows 1/L inside the grid; the paper's recipe (completep + Muon-NSGD) is flat in L
    def best(t):
        return 3e-3 * (4 / t["depth"]) * (128 / t["width"]) if t["parametrization"] == "sp" else 1e-3

    folder = tmp_path / "lr_transfer"
    folder.mkdir()
    rows = pd.DataFrame(_lr_grid(best, lrs=tuple(1e-4 * 2 ** k for k in range(10)), device="cpu"))
    rows = rows.assign(parametrization=rows.parametrization.replace({"depth-mup": "completep"}))  # the recipe's
    rows = rows.assign(optimizer=rows.parametrization.map({"sp": "adamw", "completep": "muon"}))

    def p14(table):
        table.assign(run_id=range(len(table))).to_csv(folder / "runs.csv", index=False)
        pd.DataFrame(columns=["run_id", "step", "val_loss"]).to_csv(folder / "metrics.csv", index=False)
        return {r.pid: r for r in report.build_records(tmp_path)}["P14"]

    row = p14(rows)
    assert row.recipe == report.PAPER_RECIPE == "completep + Muon-NSGD" and row.verdict == "holds"
    sp = next(p for p in row.parts if p.claim.startswith("sp + AdamW"))
    assert not sp.judged and all(c.value == pytest.approx(-1, abs=0.05) for c in sp.conditions)
    drifting = rows.assign(final_val_loss=[2.0 + __import__("numpy").log10(r.lr / (1e-3 * r.depth / 4)) ** 2
                                           if r.optimizer == "muon" else r.final_val_loss for r in rows.itertuples()])
    assert p14(drifting).verdict == "fails"  # under the paper's recipe lr* ~ L^+1
    assert p14(rows[rows.lr >= 1e-4 * 2 ** 7]).verdict == "inconclusive"  # every optimum at the grid edge
    assert p14(rows[rows.optimizer == "adamw"]).verdict == "open"  # the paper's recipe not yet run


def test_mixing_pairs_each_progressive_run_with_the_fixed_run_of_its_own_lr():
    import pandas as pd

    from progtheory.analysis import mixing_table

    runs, metrics = [], []
    for lr, fixed_final in [(1e-3, 2.0), (2e-3, 1.0)]:
        for source in (-1, 0):
            rid = f"{lr}-{source}"
            runs.append(dict(run_id=rid, lr=lr, schedule="wsd", source=source, tau=0.5 if source >= 0 else 1.0,
                             seed=0, steps=10, final_val_loss=2.2 if source >= 0 else fixed_final,
                             flops=1.0, wall_time=1.0))
            metrics += [dict(run_id=rid, step=s, train_loss=2.0, val_loss=2.0, lr=lr) for s in range(10)]
    table = mixing_table(pd.DataFrame(runs), pd.DataFrame(metrics), window=3).set_index("lr")
    assert table.loc[1e-3, "rel_gap"] == pytest.approx(0.1) and table.loc[2e-3, "rel_gap"] == pytest.approx(1.2)


def test_tuned_lr_is_the_best_grid_lr_and_says_when_it_is_at_the_edge():
    import pandas as pd

    from progtheory.analysis import tuned_lr

    runs = pd.DataFrame([dict(lr=lr, seed=s, final_val_loss=loss) for s in range(3)
                         for lr, loss in [(1e-3, 1.6), (2e-3, 1.5), (4e-3, 1.7)]])
    assert tuned_lr(runs) == {"lr": 2e-3, "loss": 1.5, "at_edge": False, "n": 3}
    assert tuned_lr(runs[runs.lr < 3e-3])["at_edge"]


def test_report_decides_mixing_rows_at_the_lr_with_most_runs_and_quotes_the_other(tmp_path):
    import pandas as pd

    from progtheory import report

    _smoke("mixing", tmp_path)
    runs, metrics = (pd.read_csv(tmp_path / "results" / "mixing_smoke" / f"{t}.csv") for t in ("runs", "metrics"))
    base = float(runs.lr.iloc[0])
    part = runs[runs.schedule == "wsd"]  # a second LR with fewer runs, e.g. a sweep still running
    ids = {rid: f"{rid}-half" for rid in part.run_id}
    runs = pd.concat([runs, part.assign(lr=base / 2, run_id=part.run_id.map(ids))])
    metrics = pd.concat([metrics, metrics[metrics.run_id.isin(ids)].assign(run_id=lambda m: m.run_id.map(ids))])
    (tmp_path / "root" / "mixing").mkdir(parents=True)
    runs.to_csv(tmp_path / "root" / "mixing" / "runs.csv", index=False)
    metrics.to_csv(tmp_path / "root" / "mixing" / "metrics.csv", index=False)
    p2 = {r.pid: r for r in report.build_records(tmp_path / "root")}["P2"]
    assert p2.detail[0] == f"verdict at lr {base:g}" and any(d.startswith(f"at lr {base / 2:g}: ") for d in p2.detail)


def test_compute_accounting_predicts_the_flops_the_trainer_counts(tmp_path):
    from progtheory import analysis as A
    from progtheory import presets

    _smoke("mixing", tmp_path)
    runs, metrics = A.load_results("mixing_smoke", tmp_path / "results")
    model = presets.tiny().model
    acc = A.compute_accounting(A.mixing_table(runs, metrics, window=5), model, model.n_layer)
    assert len(acc) == (runs.source >= 0).sum()
    assert acc.flop_ratio.to_numpy() == pytest.approx(acc.pred_exact.to_numpy(), rel=1e-9)
    assert (acc.pred_exact > 1).all() and (acc.wall_ratio > 0).all()


def test_the_analysis_tells_tags_from_summary_fields_like_the_trainer_writes_them(tmp_path):
    import json

    from progtheory import analysis
    from progtheory.train.loop import train

    summary = train(sweep.load_experiment("mixing", root=ROOT).runs(True)[0].cfg, tmp_path / "run", quiet=True)
    assert set(summary) - {"run_id"} == analysis._SUMMARY_COLUMNS
    assert json.loads((tmp_path / "run" / "summary.json").read_text()).keys() == summary.keys()


@pytest.mark.parametrize("name,pids", [("init_strategies", ("P3", "P4", "P5", "P13", "P17")),
                                       ("source_depth", ("P10", "P11", "P12"))])
def test_report_fills_rows_from_smoke_results(name, pids, tmp_path):
    import shutil

    from progtheory import report

    _smoke(name, tmp_path)
    shutil.copytree(tmp_path / "results" / f"{name}_smoke", tmp_path / "root" / name)
    rows = {r.pid: r for r in report.build_records(tmp_path / "root")}
    filled = [pid for pid in pids if rows[pid].source.startswith(f"experiments/results/{name}")]
    assert len(filled) >= 2 and all(rows[pid].parts and rows[pid].recipe == "sp + AdamW" for pid in filled)


def test_jolt_probes_fill_p23_per_optimizer_with_both_models_and_the_ramp(tmp_path):
    import shutil

    from progtheory import report

    _smoke("jolt", tmp_path)
    shutil.copytree(tmp_path / "results" / "jolt_smoke", tmp_path / "root" / "jolt")
    rows = [r for r in report.build_records(tmp_path / "root") if r.pid == "P23"]
    assert sorted(r.recipe for r in rows) == ["completep + Muon-NSGD", "sp + AdamW", "sp + SGD"]
    for r in rows:
        first, peak, const, first_train, peak_train = r.parts  # the probes log update_train too
        assert first.judged and peak.judged and not const.judged and first_train.judged and peak_train.judged
        assert all(len(p.conditions) == 2 for p in r.parts)  # the smoke grid's two arms
        assert all(np.isfinite(c.value) for c in first.conditions + first_train.conditions)
        assert any("LR ramp" in line for line in r.detail)


def test_init_verdicts_follow_the_paired_differences():
    import numpy as np
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import report

    # copy beats random by ~5% in every seed; zero types are ~10% worse than copy and jump 0;
    # random and copy jump by ~1 nat; on the 2-layer source copy_last is worse, inter = stack
    gaps = {(1, "random"): 0.05, (1, "copy"): 0.0, (1, "zero"): 0.10, (1, "copy_zero"): 0.10,
            (1, "random_zero_out"): 0.10, (2, "copy_stack"): 0.0, (2, "copy_inter"): 0.0, (2, "copy_last"): 0.04}
    rows = [dict(source=s, init=i, rewarmup=0, seed=seed, rel_gap=g + 0.001 * seed,
                 jump=(0.0 if "zero" in i else 1.0) + 0.01 * seed, jump0=0.0 if "zero" in i else 0.9,
                 recovery=40.0 + seed, t_mix=np.inf)
            for (s, i), g in gaps.items() for seed in range(3)]
    got = {r.pid: r for r in report._init_at(pd.DataFrame(rows))}
    assert {pid: r.verdict for pid, r in got.items()} == {
        "P3": "holds", "P4": "holds", "P5": "holds", "P13": "holds", "P17": "holds"}
    assert [p.verdict for p in got["P3"].parts] == ["holds", "holds"]
    rows = [dict(r, rel_gap=-0.2 + 0.001 * r["seed"]) if r["init"] == "zero" else r for r in rows]
    assert {r.pid: r for r in report._init_at(pd.DataFrame(rows))}["P17"].verdict == "fails"  # zero far ahead
    rows = [dict(r, recovery=np.inf) for r in rows]  # spikes that never decay
    p3 = {r.pid: r for r in report._init_at(pd.DataFrame(rows))}["P3"]
    assert [p.verdict for p in p3.parts] == ["holds", "fails"] and p3.verdict == "fails"


def test_init_and_source_depth_figures_run_on_smoke_results(tmp_path):
    from progtheory import analysis as A
    from progtheory import figures as F

    _smoke("init_strategies", tmp_path)
    _smoke("source_depth", tmp_path)
    runs, metrics = A.load_results("init_strategies_smoke", tmp_path / "results")
    table = A.mixing_table(runs, metrics, window=5, spike=True)
    assert {"init", "rewarmup", "jump"} <= set(table.columns)
    summary = A.summarize(table, ["source", "init", "rewarmup"], ["rel_gap", "jump", "jump0"])
    curves = A.gap_around_tau(table, metrics, runs, ["source", "init", "rewarmup"], before=5, after=20)
    assert set(curves.init) == set(table.init) and curves.offset.min() == -5 and curves.offset.max() == 19
    gap_fig = F.gap_around_tau(curves)
    runs, metrics = A.load_results("source_depth_smoke", tmp_path / "results")
    paths = A.growth_paths(A.mixing_table(runs, metrics, window=5))
    front = A.pareto_front(A.summarize(paths, ["stages", "tau"], ["rel_gap", "frac"]))
    for name, fig in [("init", F.init_strategies(summary, function_preserving=("zero",))),
                      ("pareto", F.source_depth_pareto(paths, front)), ("gap", gap_fig)]:
        paths = F.save(fig, name, tmp_path / "fig")
        assert all(p.stat().st_size > 1000 for p in paths)


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
        _, summaries = _smoke("mixing", tmp_path)
        assert (runs / first / LOCK_NAME).exists()
    finally:
        holder.kill()
        holder.communicate(timeout=60)
    trained = {s["run_id"] for s in summaries}
    assert first not in trained and second in trained
    assert len(trained) == len(exp.runs(True)) - 1
    assert not (runs / second / LOCK_NAME).exists()


def test_timing_law_scores_recover_a_law_that_generated_the_curves():
    """Curves drawn exactly from a ProgressiveLaw: fitted on the fixed runs, the source's
    pre-tau curve and two pilots, the law predicts the held-out final gaps to 1e-3."""
    import numpy as np
    import pandas as pd

    from progtheory.analysis import timing_law_scores
    from progtheory.theory.schedules import lr_factor
    from progtheory.theory.timing import LossLaw, ProgressiveLaw

    T = 400
    law = ProgressiveLaw(source=LossLaw(2.4, 1.0, 0.5, 0.2), target=LossLaw(1.5, 2.0, 0.5, 0.3), s_mix=30.0)
    steps = np.arange(T)
    runs, metrics = [], []
    for kind, taus in [("wsd", (0.25, 0.5, 0.7, 0.95)), ("cosine", (0.25, 0.5, 0.7))]:
        lr = lr_factor(steps, T, kind, warmup=0.02, decay=0.1 if kind == "wsd" else 0.0)
        for tau in (1.0,) + taus:
            rid = f"{kind}-{tau}"
            loss = law.target.predict(steps, lr) if tau == 1.0 else law.predict(steps, lr, round(tau * T))
            runs.append(dict(run_id=rid, schedule=kind, source=-1 if tau == 1.0 else 0, tau=tau, seed=0, steps=T))
            metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, lr=lr, train_loss=loss)))
    scores, fitted = timing_law_scores(pd.DataFrame(runs), pd.concat(metrics), source=0, skip=5, tail=1)
    held = scores[~scores.pilot & ~scores.source_fit]
    assert len(held) == 3 and np.abs(held.predicted - held.measured).max() < 1e-3
    assert fitted.s_mix == pytest.approx(30.0, rel=0.05)


def test_bound_fits_recover_a_curve_drawn_from_the_bound_and_skip_sparse_lr_logs():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import bound_fits
    from progtheory.theory import bounds
    from progtheory.theory.schedules import lr_factor

    T = 500
    etas = 0.01 * lr_factor(np.arange(T), T, "wsd", warmup=0.02, decay=0.1)
    taken = np.arange(1, T + 1)
    loss = bounds.bound_features(etas, taken) @ np.array([1.2, 3.0 ** 2, 0.5 ** 2])
    evaluated = (taken % 50 == 0) | (taken == T)
    m = pd.DataFrame(dict(run_id="a", step=taken - 1, lr=etas, val_loss=np.where(evaluated, loss, np.nan)))
    sparse = m[m.step % 100 == 0].assign(run_id="b")  # a run that logged only its eval steps
    out = bound_fits(pd.concat([m, sparse]), ["a", "b"]).set_index("run_id")
    assert list(out.index) == ["a"]
    assert out.loc["a", "r2"] == pytest.approx(1.0, abs=1e-9) and abs(out.loc["a", "rel_err"]) < 1e-6


def test_source_depth_verdicts_compare_growth_paths_at_equal_flops(monkeypatch, tmp_path):
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import report

    def table(two_stage_gap, deep_gap):
        # the 0- and 1-layer paths at three tau each (FLOP fraction, gap); deeper sources and
        # the two-stage path at one tau, all paired with the same fixed run per seed
        paths = {(0, "0->4", 0.5): (0.5, 0.15), (0, "0->4", 0.25): (0.75, 0.06), (0, "0->4", 0.8): (0.3, 0.4),
                 (1, "1->4", 0.5): (0.6, 0.03), (1, "1->4", 0.25): (0.8, 0.0), (1, "1->4", 0.8): (0.4, 0.06),
                 (2, "2->4", 0.5): (0.7, deep_gap), (3, "3->4", 0.5): (0.85, deep_gap),
                 (0, "0->2->4", 0.5): (0.6, two_stage_gap)}
        return pd.DataFrame([dict(run_id=f"{st}-{tau}-{seed}", fixed_run_id=f"f{seed}", source=s, stages=st, tau=tau,
                                  seed=seed, rel_gap=g + 0.001 * seed, t_mix=100.0 * (s + 1), flops=10 * f,
                                  flops_fixed=10.0) for (s, st, tau), (f, g) in paths.items() for seed in range(3)])

    def records(two_stage_gap, deep_gap):
        report._table.cache_clear()
        monkeypatch.setattr(A, "mixing_table", lambda runs, metrics, **kw: table(two_stage_gap, deep_gap))
        return {r.pid: r for r in report._source_depth_records(str(tmp_path))}

    monkeypatch.setattr(A, "load_results", lambda name, root: (pd.DataFrame(), pd.DataFrame()))
    got = records(0.05, -0.03)
    assert got["P11"].verdict == "fails"  # deeper sources end 3% below the fixed run, below any 0/1-layer path
    assert got["P12"].verdict == "fails"  # two stages at fraction 0.6: +5% against the 0-layer path's +11%
    assert got["P10"].verdict == "fails"  # t_mix 100 .. 400 steps: more than 2x apart
    got = records(0.30, 0.05)
    assert got["P11"].verdict == "holds"  # at fraction 0.7 the 1-layer path ends at +1.5%, below the 2-layer run's +5%
    assert got["P12"].verdict == "holds"


def test_spike_recovery_counts_the_steps_until_the_gap_is_back_near_its_pre_tau_level():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import spike_recovery

    steps = np.arange(200)
    noise = 0.3 * np.sin(steps)  # shared batches: cancels in the gap
    fixed = pd.DataFrame(dict(step=steps, train_loss=2.0 + noise))
    # gap 0.1 before tau = 100, jumps to 1.1 and decays linearly to 0.1 at step 150, then 0.05
    gap = np.where(steps < 100, 0.1, np.where(steps < 150, 1.1 - (steps - 100) / 50, 0.05))
    prog = pd.DataFrame(dict(step=steps, train_loss=2.0 + noise + gap))
    got = spike_recovery(prog, fixed, 100, window=10, tol=0.05)
    # first window [100 + s, 110 + s) whose mean gap is <= 0.1 + 0.05: computed by hand from the gap
    want = next(s for s in range(100) if gap[100 + s:110 + s].mean() <= 0.15 + 1e-12)
    assert got == want and 40 < got < 50
    assert spike_recovery(prog, fixed, 100, window=10, tol=0.0) > got  # all the way back takes longer
    assert spike_recovery(pd.DataFrame(dict(step=steps, train_loss=2.0 + noise + np.where(steps < 100, 0.1, 0.2))),
                          fixed, 100) == np.inf  # settles 0.1 nats above its pre-tau level: never recovers
    assert spike_recovery(fixed.assign(train_loss=fixed.train_loss + 0.1), fixed, 100) == 0.0  # no spike


def test_recipe_tau_is_T_minus_the_median_pilot_t_mix_clipped_to_the_stable_phase():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import recipe_tau

    table = pd.DataFrame(dict(source=[1, 1, 1, 0], schedule="wsd", steps=2000,
                              t_mix=[300.0, 500.0, np.inf, np.inf]))
    got = recipe_tau(table, 1)  # median of the pilots that mixed: 400 -> tau* = 1600, inside [40, 1800]
    assert got == dict(t_mix=400.0, tau_step=1600, tau=0.8, T=2000, n_pilots=2)
    assert recipe_tau(table.assign(t_mix=[10.0, 30.0, np.inf, np.inf]), 1)["tau_step"] == 1800  # stable-phase end
    assert recipe_tau(table, 0) is None  # no 0-layer pilot mixed: no tau*
    assert recipe_tau(table.assign(t_mix=1990.0), 1) is None  # T - t_mix before the stable phase


def test_recipe_smoke_run_fills_p15(tmp_path):
    import shutil

    from progtheory import report

    _smoke("recipe", tmp_path)
    shutil.copytree(tmp_path / "results" / "recipe_smoke", tmp_path / "root" / "recipe")
    row = {r.pid: r for r in report.build_records(tmp_path / "root")}["P15"]
    label = row.parts[0].conditions[0].label
    assert label.startswith("1-layer τ*=0.8T") and "of the fixed FLOPs" in label
    assert row.verdict in ("holds", "fails", "inconclusive") and row.source.startswith("experiments/results/recipe")


def test_gap_around_tau_averages_the_paired_gap_over_seeds():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import gap_around_tau

    steps = np.arange(100)
    runs, metrics = [], []
    for seed in (0, 1):
        for source, rid in ((-1, f"f{seed}"), (1, f"p{seed}")):
            runs.append(dict(run_id=rid, source=source, tau=0.5 if source >= 0 else 1.0, seed=seed, init="copy", steps=100))
            gap = 0.0 if source < 0 else np.where(steps < 50, 0.2, 1.0 + seed)  # seed 0 jumps to 1, seed 1 to 2
            metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, train_loss=3.0 + np.cos(steps + seed) + gap)))
    runs, metrics = pd.DataFrame(runs), pd.concat(metrics)
    table = pd.DataFrame(dict(source=[1, 1], tau=0.5, seed=[0, 1], init="copy", steps=100))
    out = gap_around_tau(table, metrics, runs, ["init"], before=10, after=20, smooth=1).set_index("offset")
    assert list(out.index) == list(range(-10, 20)) and (out.n == 2).all()
    assert out.loc[-1, "gap"] == pytest.approx(0.2) and out.loc[5, "gap"] == pytest.approx(1.5)
    assert out.loc[5, "lo"] < 1.5 < out.loc[5, "hi"]
    smooth = gap_around_tau(table, metrics, runs, ["init"], before=10, after=20, smooth=5).set_index("offset")
    assert smooth.loc[-1, "gap"] == pytest.approx(0.2) and smooth.loc[0, "gap"] == pytest.approx(1.5)  # no leak across tau


def test_budget_text_reports_the_paired_trend_of_the_gap_with_T(monkeypatch, tmp_path):
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import report

    rows = [dict(source=0, tau=tau, steps_T=T, seed=seed, rel_gap=gap + 0.002 * seed)
            for tau, gaps in ((0.5, (0.2, 0.1, 0.05)), (0.8, (0.3, 0.3, 0.3)))
            for T, gap in zip((2000, 4000, 8000), gaps) for seed in range(3)]
    monkeypatch.setattr(A, "load_results", lambda name, root: (pd.DataFrame(), pd.DataFrame()))
    monkeypatch.setattr(A, "mixing_table", lambda runs, metrics, **kw: pd.DataFrame(rows))
    report._table.cache_clear()
    text = " ".join(report._budget_lines(str(tmp_path)))
    half, late = text.split("τ=0.8T")
    assert "T=8000 − T=2000: -15.0%" in half and "(shrinks)" in half
    assert "T=8000 − T=2000: +0.0%" in late and "(stays put)" in late


def test_budget_smoke_results_reach_the_p2_row(tmp_path):
    import shutil

    from progtheory import report

    _smoke("budget", tmp_path)
    shutil.copytree(tmp_path / "results" / "budget_smoke", tmp_path / "root" / "budget")
    detail = " ".join({r.pid: r for r in report.build_records(tmp_path / "root")}["P2"].detail)
    assert "budget, 0-layer source" in detail and "T=80 − T=40" in detail


def test_budget_small_smoke_results_reach_the_recipes_p2_detail_with_tokens_per_block_parameter(tmp_path):
    import shutil

    from progtheory import report

    _smoke("budget_small", tmp_path)
    shutil.copytree(tmp_path / "results" / "budget_small_smoke", tmp_path / "root" / "budget_small")
    report._load.cache_clear()
    report._table.cache_clear()
    lines = report._budget_lines(str(tmp_path / "root"), report.PAPER_RECIPE)
    text = " ".join(lines)
    assert "budget_small, 0-layer source" in text and "budget_small, 1-layer source" in text
    # the smoke target: 2 blocks of width 32 with biases, 40 steps of 8 x 32 tokens
    blocks = 2 * (12 * 32 ** 2 + 13 * 32)
    assert f"tokens per block parameter {40 * 8 * 32 / blocks:.3g} at T=40" in text
    assert report._budget_lines(str(tmp_path / "root")) == ()  # sp + AdamW reads `budget`, absent here


def test_gap_vs_budget_figure_runs_on_smoke_results(tmp_path):
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import figures as F

    _smoke("budget", tmp_path)
    runs, metrics = A.load_results("budget_smoke", tmp_path / "results")
    summary = A.summarize(A.mixing_table(runs, metrics, window=5), ["steps_T", "tau"], ["rel_gap"])
    assert sorted(summary.steps_T) == [40, 80]
    predicted = pd.DataFrame(dict(steps_T=[40, 80], tau=0.5, rel_gap=[0.1, 0.05]))
    paths = F.save(F.gap_vs_budget(summary, predicted), "budget", tmp_path / "fig")
    assert all(p.stat().st_size > 1000 for p in paths)


def test_jump0_is_the_function_change_at_tau_and_jump_includes_the_first_updates():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import mixing_table

    steps = np.arange(100)
    noise = 0.2 * np.sin(steps)  # same batches in both runs
    # function-preserving expansion at 50 (row 50 unchanged), then a jolt of +0.5 for three updates
    gap = 0.1 + np.where((steps > 50) & (steps <= 53), 0.5, 0.0)
    runs, metrics = [], []
    for source, rid, extra in ((-1, "f", 0.0), (1, "p", gap)):
        runs.append(dict(run_id=rid, source=source, tau=0.5 if source >= 0 else 1.0, seed=0, steps=100,
                         final_val_loss=2.0, flops=1.0, wall_time=1.0))
        metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, train_loss=2.0 + noise + extra, val_loss=2.0, lr=1e-3)))
    row = mixing_table(pd.DataFrame(runs), pd.concat(metrics), window=5, spike=True).iloc[0]
    assert row.jump0 == pytest.approx(0.0, abs=1e-9) and row.jump == pytest.approx(0.5, abs=1e-9)


def test_budget_small_states_the_training_split_it_counts_epochs_with():
    from progtheory.data.dataset import prepare_data

    import sys

    sweep.load_experiment("budget_small", root=ROOT)
    module = sys.modules["progtheory_experiment_budget_small"]  # registered by load_experiment
    cfg = module.base()
    assert module.TRAIN_BYTES == len(prepare_data(cfg.data, cfg.model.vocab_size).train)
