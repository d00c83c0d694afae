"""Every figure function draws from the analysed smoke results of its experiment and saves
PNG and PDF."""

import pytest
from experiment_data import smoke


def test_mixing_analysis_and_figures_run_on_smoke_results(tmp_path):
    pytest.importorskip("seaborn")
    from progtheory import analysis as A
    from progtheory import figures as F

    smoke("mixing", tmp_path)
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


def test_lr_transfer_figure_runs_on_smoke_results(tmp_path):
    from progtheory import analysis as A
    from progtheory import figures as F

    smoke("lr_transfer", tmp_path)
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


def test_init_and_source_depth_figures_run_on_smoke_results(tmp_path):
    from progtheory import analysis as A
    from progtheory import figures as F

    smoke("init_strategies", tmp_path)
    smoke("source_depth", tmp_path)
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


def test_gap_vs_budget_figure_runs_on_smoke_results(tmp_path):
    import pandas as pd

    from progtheory import analysis as A
    from progtheory import figures as F

    smoke("budget", tmp_path)
    runs, metrics = A.load_results("budget_smoke", tmp_path / "results")
    summary = A.summarize(A.mixing_table(runs, metrics, window=5), ["steps_T", "tau"], ["rel_gap"])
    assert sorted(summary.steps_T) == [40, 80]
    predicted = pd.DataFrame(dict(steps_T=[40, 80], tau=0.5, rel_gap=[0.1, 0.05]))
    paths = F.save(F.gap_vs_budget(summary, predicted), "budget", tmp_path / "fig")
    assert all(p.stat().st_size > 1000 for p in paths)
