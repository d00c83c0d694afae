"""The report's records built from results: the committed report regenerates byte for byte, the
null and equal-FLOP comparisons it rests on, recipe companions, and the sections judged on
fabricated results."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from progtheory import report
from progtheory.report import data, init, mixing
from progtheory.report.rule import FAILS, HOLDS, INCONCLUSIVE

ROOT = Path(__file__).resolve().parents[2]


def _schedules_table(gap_of):
    """Runs pooled over two schedules whose r(τ) differ at equal τ/T: WSD keeps r(τ) ≈ τ/T,
    cosine front-loads it (r = 1 − (1 − τ)²)."""
    rows = []
    for schedule, r_of in (("wsd", lambda t: t), ("cosine", lambda t: 1 - (1 - t) ** 2)):
        for tau in (0.1, 0.25, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            for seed in range(3):
                r = r_of(tau)
                rows.append(dict(schedule=schedule, tau=tau, r_tau=r, seed=seed, rel_gap=gap_of(r, tau) + 1e-4 * seed))
    return pd.DataFrame(rows)


def test_r_tau_beats_the_tau_over_T_null_when_the_gap_is_a_function_of_r_tau():
    from progtheory.analysis import correlation_against_null

    got = correlation_against_null(_schedules_table(lambda r, tau: r ** 2), n_boot=500)
    assert got["rho_x"] == pytest.approx(1.0, abs=5e-3) and got["rho_null"] < 0.95
    assert got["lo"] > 0 and got["n"] == 48


def test_the_null_wins_when_the_gap_is_a_function_of_tau_over_T_alone():
    from progtheory.analysis import correlation_against_null

    got = correlation_against_null(_schedules_table(lambda r, tau: tau ** 2), n_boot=500)
    assert got["rho_null"] == pytest.approx(1.0, abs=1e-2) and got["hi"] < 0


def test_equal_flop_difference_interpolates_the_reference_path_at_the_candidates_flop_fraction():
    from progtheory.analysis import equal_flop_difference

    rows = []
    for seed in range(3):
        # reference path: gap 0.20 at fraction 0.5, 0.10 at 0.7, 0.00 at 0.9 (linear in between)
        for frac, gap in ((0.5, 0.20), (0.7, 0.10), (0.9, 0.0)):
            rows.append(dict(source=0, seed=seed, flops=frac * 10, flops_fixed=10.0, rel_gap=gap))
        rows.append(dict(source=2, seed=seed, flops=6.0, flops_fixed=10.0, rel_gap=0.05 + 0.01 * seed))
        rows.append(dict(source=3, seed=seed, flops=9.5, flops_fixed=10.0, rel_gap=0.0))  # outside the range
    t = pd.DataFrame(rows)
    m, lo, hi, n = equal_flop_difference(t, t.source == 0, t.source == 2)
    assert n == 3 and m == pytest.approx(0.06 - 0.15)  # at fraction 0.6 the reference ends at +15%
    assert equal_flop_difference(t, t.source == 0, t.source == 3, through_fixed=False)[3] == 0
    # every path ends at the fixed run (fraction 1, gap 0): at 0.95 the reference ends at 0
    assert equal_flop_difference(t, t.source == 0, t.source == 3)[:2] == pytest.approx((0.0, 0.0))


def test_pareto_front_keeps_the_points_nothing_beats_on_both_cost_and_gap():
    from progtheory.analysis import pareto_front

    p = pd.DataFrame(dict(frac=[0.5, 0.6, 0.7, 0.8], rel_gap=[0.2, 0.25, 0.05, 0.06], name=list("abcd")))
    assert list(pareto_front(p).name) == ["a", "c"]


def test_compute_efficiency_is_the_frontier_flops_at_the_runs_loss_over_its_flops():
    from progtheory.analysis import compute_efficiency

    # frontier loss = 10 * C^(-0.1): a power law, exact under log-log interpolation
    C = np.array([1e3, 1e4, 1e5, 1e6])
    frontier = pd.DataFrame(dict(seed=0, steps=[1, 2, 3, 4], flops=C, final_val_loss=10 * C ** -0.1))
    runs = pd.DataFrame(dict(seed=0, final=[10 * 3e4 ** -0.1, 10 * 3e4 ** -0.1, 20.0], flops=[1e4, 6e4, 1e4]))
    out = compute_efficiency(runs, frontier)
    assert out.efficiency[0] == pytest.approx(3.0) and out.efficiency[1] == pytest.approx(0.5)
    assert np.isnan(out.efficiency[2]) and out.bound[2] == "above"  # worse than the cheapest frontier point


def test_the_committed_report_regenerates_byte_for_byte_from_the_committed_results():
    """VALIDATION.md is generated (`progtheory figures`); a change to the results or to the
    report code without regenerating it shows up here."""
    root = ROOT
    if not (root / "experiments" / "results" / "mixing" / "runs.csv").is_file():
        pytest.skip("no committed results in this checkout")
    text = report.render(report.build_records(root / "experiments" / "results"))
    assert text == (root / "VALIDATION.md").read_text(), "run `progtheory figures` and commit VALIDATION.md"


def test_saved_figures_are_byte_identical_when_saved_twice(tmp_path):
    import hashlib

    from progtheory import figures as F

    def digest(folder):
        fig, ax = F.plt.subplots()
        ax.plot(np.arange(5), np.arange(5) ** 2)
        paths = F.save(fig, "f", folder)
        F.plt.close(fig)
        return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]

    assert digest(tmp_path / "a") == digest(tmp_path / "b")


def test_an_experiments_recipe_arm_is_read_with_it_from_its_own_folder_and_keeps_its_recipe(tmp_path):
    src = ROOT / "experiments" / "results" / "init_strategies"
    shutil.copytree(src, tmp_path / "init_strategies")
    shutil.copytree(src, tmp_path / "init_recipe")
    prov = tmp_path / "init_recipe" / "provenance.jsonl"
    records = [json.loads(line) for line in prov.read_text().splitlines()]
    for rec in records:
        rec["config"]["model"]["parametrization"], rec["config"]["optimizer"] = "completep", "muon"
    prov.write_text("".join(json.dumps(rec) + "\n" for rec in records))
    runs, metrics = data.load("init_strategies", str(tmp_path))
    n = len(pd.read_csv(src / "runs.csv"))
    assert len(runs) == 2 * n and len(metrics) == 2 * len(pd.read_csv(src / "metrics.csv"))
    assert runs.recipe.value_counts().to_dict() == {"sp + AdamW": n, report.PAPER_RECIPE: n}
    assert report.PAPER_RECIPE == "completep + Muon-NSGD"


def _cpu_lr_folder(root: Path, c: float, e: float, held_c: float, seeds=range(3), rng_seed=0) -> None:
    """A fabricated `lr_transfer_cpu` results folder: loss = 1.5 + 0.2 ln(lr/lr*)^2 + noise with
    lr* = c L^e (held-out shapes: held_c L^e), one recipe (the paper's), x sqrt(2) grids."""
    rng = np.random.default_rng(rng_seed)
    design = dict(fit=[[d, w] for d in (1, 2, 4, 8) for w in (32, 64)], held_out=[[6, 48], [12, 48]],
                  length_check=[4, 64], steps=400, batch_size=16)
    rows, prov = [], []
    shapes = [(d, w, 400, held) for held, group in ((False, design["fit"]), (True, design["held_out"])) for d, w in group]
    shapes += [(4, 64, 800, False)]
    for seed in seeds:
        for depth, width, steps, held in shapes:
            if steps == 800 and seed:
                continue
            opt = (held_c if held else c) * depth ** e * math.exp(0.05 * rng.normal())
            for k in range(-4, 5):
                lr = opt * math.sqrt(2) ** k * 1.1
                rid = f"r{len(rows)}"
                rows.append(dict(run_id=rid, arm="recipe", depth=depth, width=width, lr=lr, seed=seed, steps=steps,
                                 held_out=held, status="completed",
                                 final_val_loss=1.5 + 0.2 * math.log(lr / opt) ** 2 + 0.001 * rng.normal()))
                prov.append(dict(run_id=rid, config=dict(model=dict(parametrization="completep"), optimizer="muon")))
    folder = root / "lr_transfer_cpu"
    folder.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(folder / "runs.csv", index=False)
    (folder / "provenance.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prov))
    (folder / "experiment.json").write_text(json.dumps(dict(name="lr_transfer_cpu", design=design)))


@pytest.mark.parametrize("held_c, verdict", [(0.01, HOLDS), (0.02, FAILS)])
def test_held_out_lr_optima_are_judged_per_shape_within_the_target(tmp_path, held_c, verdict):
    _cpu_lr_folder(tmp_path, c=0.01, e=0.0, held_c=held_c)  # held_c = 2c: every held-out optimum 2x off
    records = {(r.pid, r.recipe): r for r in report.build_records(tmp_path)}
    p21 = records["P21", report.PAPER_RECIPE]
    assert p21.verdict == verdict
    assert [c.label for c in p21.parts[0].conditions] == ["L6 w48", "L12 w48"]
    ratios = [c.value for c in p21.parts[0].conditions]
    assert ratios == pytest.approx([0.01 / held_c] * 2, rel=0.1)
    assert any("length check (L4 w64, seed 0), optimum: 400 steps ≈" in line for line in p21.detail)
    p14 = records["P14", report.PAPER_RECIPE]  # the depth exponent of the same fit: e = 0 transfers
    assert p14.parts[0].conditions[-1].label.startswith("CPU widths 32/64: e") and p14.verdict == HOLDS


def test_a_cpu_exponent_rests_only_on_located_optima(tmp_path):
    _cpu_lr_folder(tmp_path, c=0.01, e=0.0, held_c=0.01)
    runs = pd.read_csv(tmp_path / "lr_transfer_cpu" / "runs.csv")
    best = runs.loc[runs.groupby(["depth", "width", "seed", "steps"]).final_val_loss.idxmin()]
    edge = runs[(runs.depth == 8) & (runs.width == 32) & (runs.seed == 0) & (runs.lr > best[
        (best.depth == 8) & (best.width == 32) & (best.seed == 0)].lr.iloc[0] * 0.99)]
    runs.drop(edge.index[1:]).to_csv(tmp_path / "lr_transfer_cpu" / "runs.csv", index=False)  # optimum at the top edge
    p14 = {(r.pid, r.recipe): r for r in report.build_records(tmp_path)}["P14", report.PAPER_RECIPE]
    (cond,) = p14.parts[0].conditions
    assert "1 of 24 per-seed optima not located" in cond.label and cond.verdict == INCONCLUSIVE


def test_the_tau_star_runs_count_only_for_the_recipe_they_were_trained_under(tmp_path):
    """`recipe`'s τ* runs are sp + AdamW runs: the paper-recipe row of P15 must not judge them."""
    shutil.copytree(ROOT / "experiments" / "results" / "recipe", tmp_path / "recipe")
    none = pd.DataFrame({"source": []})
    sp, paper = (mixing.recipe_record(none, none, none, str(tmp_path), r) for r in ("sp + AdamW", report.PAPER_RECIPE))
    assert sp.parts[0].conditions and sp.verdict != "open"
    assert paper.parts[0].conditions == () and paper.verdict == "open"


def test_the_predicted_loss_change_at_tau_is_reported_per_init_against_the_measured_one():
    ok = pd.DataFrame(dict(init=["copy"] * 3 + ["zero"] * 3, init_scale=1.0,
                           predicted=[1.1, 1.3, 1.2, 0.0, 0.0, 0.0], ratio=[1.1, 1.2, 1.3, np.nan, np.nan, np.nan],
                           measured=[1.0, 1.1, 0.9, 1e-6, -1e-6, 0.0]))
    part = init.change_part(ok)
    assert not part.judged and [c.verdict for c in part.conditions] == ["holds", "holds"]
    off = ok.assign(ratio=[3.0, 3.2, 3.1, np.nan, np.nan, np.nan])
    assert init.change_part(off).conditions[0].verdict == "fails"
    # a small random block: both numbers near 1e-5, so the difference is judged, not the ratio
    tiny = pd.DataFrame(dict(init="random", init_scale=0.0625, predicted=[2e-7, 1e-7, 3e-7],
                             measured=[3e-5, -2e-5, 1e-5], ratio=[0.007, -0.005, 0.03]))
    (c,) = init.change_part(tiny).conditions
    assert c.label.startswith("random s=0.0625: measured − predicted") and c.verdict == "holds"
    assert init.change_part(pd.DataFrame()).conditions == ()


def test_the_report_reads_results_without_importing_torch():
    import subprocess
    import sys

    code = "import sys\nfrom progtheory import report\nassert 'torch' not in sys.modules, 'torch was imported'\n"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
