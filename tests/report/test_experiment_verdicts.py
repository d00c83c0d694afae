"""The validation report on experiment results: every prediction has a row, smoke results
and synthetic tables fill the rows they measure, and the verdicts follow the measured values."""

import numpy as np
import pytest
from experiment_data import lr_grid, smoke


def test_report_covers_every_prediction_and_marks_missing_results_as_open(tmp_path):
    from progtheory import report

    records = report.build_records(tmp_path)
    assert [r.pid for r in records] == list(report.PREDICTIONS) == [f"P{i}" for i in range(1, 30)]
    assert all(r.verdict == "open" and r.parts[0].note.startswith("not yet measured") for r in records)
    text = report.render(records)
    assert text.count("\n| [P") == 29 and text.count("\n## P") == 29


def test_report_fills_mixing_rows_from_mixing_results(tmp_path):
    import shutil

    from progtheory import report

    smoke("mixing", tmp_path)
    shutil.copytree(tmp_path / "results" / "mixing_smoke", tmp_path / "root" / "mixing")
    rows = {r.pid: r for r in report.build_records(tmp_path / "root")}
    for pid in ("P2", "P6", "P7", "P9"):
        assert rows[pid].source == "experiments/results/mixing" and rows[pid].verdict != "open"
        assert rows[pid].recipe == "sp + AdamW"  # read from each run's config
    assert rows["P14"].verdict == "open" and "lr_transfer" in rows["P14"].parts[0].note


def test_report_decides_mixing_rows_at_the_lr_with_most_runs_and_quotes_the_other(tmp_path):
    import pandas as pd

    from progtheory import report

    smoke("mixing", tmp_path)
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


@pytest.mark.parametrize("name,pids", [("init_strategies", ("P3", "P4", "P5", "P13", "P17")),
                                       ("source_depth", ("P10", "P11", "P12"))])
def test_report_fills_rows_from_smoke_results(name, pids, tmp_path):
    import shutil

    from progtheory import report

    smoke(name, tmp_path)
    shutil.copytree(tmp_path / "results" / f"{name}_smoke", tmp_path / "root" / name)
    rows = {r.pid: r for r in report.build_records(tmp_path / "root")}
    filled = [pid for pid in pids if rows[pid].source.startswith(f"experiments/results/{name}")]
    assert len(filled) >= 2 and all(rows[pid].parts and rows[pid].recipe == "sp + AdamW" for pid in filled)


def test_jolt_probes_fill_p23_per_optimizer_with_both_models_and_the_ramp(tmp_path):
    import shutil

    from progtheory import report

    smoke("jolt", tmp_path)
    shutil.copytree(tmp_path / "results" / "jolt_smoke", tmp_path / "root" / "jolt")
    rows = [r for r in report.build_records(tmp_path / "root") if r.pid == "P23"]
    assert sorted(r.recipe for r in rows) == ["completep + Muon-NSGD", "sp + AdamW", "sp + SGD"]
    for r in rows:
        first, peak, const, first_train, peak_train = r.parts  # the probes log update_train too
        assert first.judged and peak.judged and not const.judged and first_train.judged and peak_train.judged
        assert all(len(p.conditions) == 2 for p in r.parts)  # the smoke grid's two arms
        assert all(np.isfinite(c.value) for c in first.conditions + first_train.conditions)
        assert any("LR ramp" in line for line in r.detail)


def test_recipe_smoke_run_fills_p15(tmp_path):
    import shutil

    from progtheory import report

    smoke("recipe", tmp_path)
    shutil.copytree(tmp_path / "results" / "recipe_smoke", tmp_path / "root" / "recipe")
    row = {r.pid: r for r in report.build_records(tmp_path / "root")}["P15"]
    label = row.parts[0].conditions[0].label
    assert label.startswith("1-layer τ*=0.8T") and "of the fixed FLOPs" in label
    assert row.verdict in ("holds", "fails", "inconclusive") and row.source.startswith("experiments/results/recipe")


def test_budget_smoke_results_reach_the_p2_row(tmp_path):
    import shutil

    from progtheory import report

    smoke("budget", tmp_path)
    shutil.copytree(tmp_path / "results" / "budget_smoke", tmp_path / "root" / "budget")
    detail = " ".join({r.pid: r for r in report.build_records(tmp_path / "root")}["P2"].detail)
    assert "budget, 0-layer source" in detail and "T=80 − T=40" in detail


def test_budgets_d64_arm_smoke_results_reach_the_recipes_p2_detail_with_tokens_per_block_parameter(tmp_path):
    import shutil

    from progtheory import report

    smoke("budget", tmp_path, only={"recipe": ["recipe-d64"]})
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


def test_budget_text_reports_the_paired_trend_of_the_gap_with_T(monkeypatch, tmp_path):
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import report

    rows = [dict(source=0, tau=tau, steps_T=T, seed=seed, rel_gap=gap + 0.002 * seed)
            for tau, gaps in ((0.5, (0.2, 0.1, 0.05)), (0.8, (0.3, 0.3, 0.3)))
            for T, gap in zip((2000, 4000, 8000), gaps) for seed in range(3)]
    monkeypatch.setattr(A, "load_results", lambda name, root: (pd.DataFrame(), pd.DataFrame()))
    monkeypatch.setattr(A, "load_arms", lambda name, root, arms=None: (pd.DataFrame(), pd.DataFrame()))
    monkeypatch.setattr(A, "mixing_table", lambda runs, metrics, **kw: pd.DataFrame(rows))
    report._table.cache_clear()
    text = " ".join(report._budget_lines(str(tmp_path)))
    half, late = text.split("τ=0.8T")
    assert "T=8000 − T=2000: -15.0%" in half and "(shrinks)" in half
    assert "T=8000 − T=2000: +0.0%" in late and "(stays put)" in late


def test_p14_judges_transfer_only_under_the_papers_recipe_and_reports_sp_with_its_exponent(tmp_path):
    import pandas as pd

    from progtheory import report

    # sp follows 1/L inside the grid; the paper's recipe (completep + Muon-NSGD) is flat in L
    def best(t):
        return 3e-3 * (4 / t["depth"]) * (128 / t["width"]) if t["parametrization"] == "sp" else 1e-3

    folder = tmp_path / "lr_transfer"
    folder.mkdir()
    rows = pd.DataFrame(lr_grid(best, lrs=tuple(1e-4 * 2 ** k for k in range(10)), device="cpu"))
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
    monkeypatch.setattr(A, "load_arms", lambda name, root, arms=None: (pd.DataFrame(), pd.DataFrame()))
    got = records(0.05, -0.03)
    assert got["P11"].verdict == "fails"  # deeper sources end 3% below the fixed run, below any 0/1-layer path
    assert got["P12"].verdict == "fails"  # two stages at fraction 0.6: +5% against the 0-layer path's +11%
    assert got["P10"].verdict == "fails"  # t_mix 100 .. 400 steps: more than 2x apart
    got = records(0.30, 0.05)
    assert got["P11"].verdict == "holds"  # at fraction 0.7 the 1-layer path ends at +1.5%, below the 2-layer run's +5%
    assert got["P12"].verdict == "holds"
