"""The memory model's fit on pilots and its held-out statements (progtheory.analysis.memory)."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import memory as M
from progtheory.theory import weight_decay as WD


def _runs(gap_0=20.0, floor=5.0):
    """Fixed and 0-layer runs at the pilot condition whose gaps follow the memory model exactly."""
    rec, T, tau = M.PILOT
    A = M.lr_area_after(rec, T, tau)
    rows = []
    for lam in (0.01, 0.03, 0.3):
        for seed in (0, 1):
            fixed = 1.5 + 0.01 * seed
            gap = WD.forgetting_gap(lam * A, gap_0, floor) / 100
            rows.append(dict(recipe=rec, steps_T=T, lam=lam, seed=seed, source=-1, tau=1.0, final_val_loss=fixed))
            rows.append(dict(recipe=rec, steps_T=T, lam=lam, seed=seed, source=0, tau=tau,
                             final_val_loss=fixed * (1 + gap)))
    return pd.DataFrame(rows)


def test_the_pilots_give_gap_0_and_floor_and_the_held_out_lam_is_predicted():
    gaps = M.measured_gaps(_runs())
    fits = M.fit_pilots(gaps)
    assert fits[0] == pytest.approx((20.0, 5.0), rel=1e-9)
    held = gaps[np.isclose(gaps.lam, 0.03)].gap.iloc[0]
    assert M.predict(fits, *M.PILOT, 0, 0.03)["gap"] == pytest.approx(held, rel=1e-9)


def test_elsewhere_the_statement_is_a_ratio_that_is_one_at_the_anchor_and_falls_with_lam():
    fits = {0: (20.0, 5.0)}
    at_anchor = M.predict(fits, "recipe", 10000, 0.5, 0, M.ANCHOR_LAM)["ratio"]
    assert at_anchor == pytest.approx(1.0)
    ratios = [M.predict(fits, "recipe", 10000, 0.5, 0, lam)["ratio"] for lam in (0.03, 0.1, 1.0)]
    assert ratios[0] > ratios[1] > ratios[2] > 5.0 / 20.0 * 0.99  # never below the floor share


def test_the_lr_area_after_tau_is_the_schedules_own():
    # WSD at T = 10,000: tau = 0.8T leaves 1,000 stable steps and a 1,000-step linear decay
    assert M.lr_area_after("recipe", 10000, 0.8) == pytest.approx(M.PEAK_LR["recipe"] * 1500.5, rel=1e-3)
    with pytest.raises(ValueError, match="recipe='muon'"):
        M.lr_area_after("muon", 10000, 0.8)


def test_missing_pilots_are_named():
    gaps = M.measured_gaps(_runs())
    with pytest.raises(ValueError, match="need gaps at lam"):
        M.fit_pilots(gaps[~np.isclose(gaps.lam, 0.3)])
    with pytest.raises(ValueError, match="no pilot runs"):
        M.fit_pilots(gaps.iloc[:0])


def _with_elsewhere(runs, ratio_at_003=0.8, anchor=10.0):
    """Add a non-pilot condition (tau = 0.5T): gap `anchor` at lam = 0.01 and anchor * ratio at 0.03."""
    rows = []
    for lam, gap in ((0.01, anchor), (0.03, anchor * ratio_at_003)):
        for seed in (0, 1):
            rows.append(dict(recipe="recipe", steps_T=10000, lam=lam, seed=seed, source=0, tau=0.5,
                             final_val_loss=(1.5 + 0.01 * seed) * (1 + gap / 100)))
    return pd.concat([runs, pd.DataFrame(rows)], ignore_index=True)


def test_the_predictions_match_the_model_and_their_bootstrap_brackets_exact_pilots():
    runs = _with_elsewhere(_runs())
    table = M.predictions(runs, [("recipe", 10000, 0.8, 0, 0.03), ("recipe", 10000, 0.5, 0, 0.03)])
    at_pilot, elsewhere = table.iloc[0], table.iloc[1]
    fits = {0: (20.0, 5.0)}
    assert at_pilot.statement == "gap" and at_pilot.predicted == pytest.approx(M.predict(fits, *M.PILOT, 0, 0.03)["gap"])
    assert at_pilot.lo == pytest.approx(at_pilot.predicted) and at_pilot.hi == pytest.approx(at_pilot.predicted)
    assert elsewhere.statement == "ratio" and elsewhere.anchor_gap == pytest.approx(10.0)
    assert elsewhere.predicted_gap == pytest.approx(10.0 * elsewhere.predicted)


def test_a_stated_ratio_is_scored_through_the_anchor_of_the_same_seeds():
    runs = _with_elsewhere(_runs(), ratio_at_003=0.8)
    stated = pd.DataFrame([dict(recipe="recipe", T=10000, tau=0.5, source=0, lam=0.03, statement="ratio",
                                predicted=0.9, lo=0.85, hi=0.95)])
    row = M.score(runs, stated).iloc[0]
    assert row.n_seeds == 2
    assert row.predicted == pytest.approx(9.0, rel=1e-6) and row.measured == pytest.approx(8.0, rel=1e-6)
    assert row.error == pytest.approx(1.0, rel=1e-5) and len(row.errors) == 2
    assert M.score(runs, stated.assign(lam=0.1)).empty  # not yet measured: left out


def test_the_fair_reading_compares_each_arm_at_its_best_lam():
    runs = _runs()
    runs.loc[(runs.source < 0) & (runs.lam == 0.3), "final_val_loss"] += 0.2  # decay hurts the fixed run
    fair = M.best_lam_gaps(runs).iloc[0]
    assert fair.lam_fixed == pytest.approx(0.01) and fair.lam_prog == pytest.approx(0.3)
    prog = runs[(runs.source == 0) & (runs.lam == 0.3)].final_val_loss.mean()
    fixed = runs[(runs.source < 0) & (runs.lam == 0.01)].final_val_loss.mean()
    assert fair.gap == pytest.approx(100 * (prog / fixed - 1))


def test_predictions_are_stated_once(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("x\n")
    with pytest.raises(FileExistsError, match="stated once"):
        M.write_predictions(_runs(), path)
    assert path.read_text() == "x\n"


def test_ratio_at_is_one_at_its_reference_and_pure_decay_without_a_floor():
    assert M.ratio_at(0.3, 5.0, 0.1, 0.1) == pytest.approx(1.0)
    assert M.ratio_at(1.0, 5.0, 1.0, 0.01) == pytest.approx(1.0)            # all floor: lam changes nothing
    assert M.ratio_at(0.0, 5.0, 0.3, 0.01) == pytest.approx(np.exp(-0.29 * 5.0))  # no floor: exp(-(lam - lam_ref) A)


def test_clock_errors_score_the_lam_blind_clock_by_the_anchor_and_the_memory_clock_by_its_statement():
    runs = _runs()
    A = M.lr_area_after(*M.PILOT)
    stated = pd.DataFrame([dict(recipe="recipe", T=10000, tau=0.8, source=0, lam=0.03, statement="gap",
                                predicted=WD.forgetting_gap(0.03 * A, 20.0, 5.0), lo=0.0, hi=0.0)])
    gap_model = pd.DataFrame([dict(schedule="wsd", T=10000, tau=0.8, source=0, init="random", predicted=25.0)])
    e = M.clock_errors(runs, stated, gap_model).iloc[0]
    anchor, held = WD.forgetting_gap(0.01 * A, 20.0, 5.0), WD.forgetting_gap(0.03 * A, 20.0, 5.0)
    assert e[M.CLOCKS[0]] == pytest.approx(anchor - held)
    assert e[M.CLOCKS[1]] == pytest.approx(0.0, abs=1e-9)
    assert e[M.CLOCKS[2]] == pytest.approx(25.0 - held)
    assert e[M.CLOCKS[3]] == pytest.approx(25.0 * held / anchor - held)
    scores = M.clock_scores(M.clock_errors(runs, stated, gap_model))
    assert set(scores.clock) == set(M.CLOCKS) and (scores.n == 1).all()


def test_lam_advice_scales_the_gap_and_recommends_only_near_a_measured_condition():
    runs = _runs()
    A = M.lr_area_after(*M.PILOT)
    near = M.lam_advice(runs, A, 10000, 0.8, 0, 18.0, 0.01)
    gaps = [r["gap"] for r in near["scaled"]]
    assert gaps[0] == pytest.approx(18.0) and all(a > b for a, b in zip(gaps, gaps[1:]))
    assert near["measured"]["lam"] == 0.3 and near["measured"]["T"] == 10000   # the lowest progressive loss
    assert M.lam_advice(runs, 4 * A, 40000, 0.8, 0, 18.0, 0.01)["measured"] is None


def test_the_fair_reading_pairs_seeds_and_gives_an_interval():
    (row,) = M.best_lam_gaps(_runs()).itertuples()
    assert (row.lam_prog, row.lam_fixed, row.n_seeds) == (0.3, 0.01, 2)
    assert row.lo <= row.seed_gap <= row.hi and row.seed_gap == pytest.approx(row.gap, abs=0.05)


def _costed(runs):
    """`_runs` with what the frontier needs: run ids, the target's name, FLOPs (fixed 10, grown 4)."""
    return runs.assign(run_id=[f"r{i}" for i in range(len(runs))], name="recipe-d32",
                       flops=np.where(runs.source < 0, 10.0, 4.0))


def test_the_best_lam_frontier_takes_each_budgets_best_lam_and_other_budgets_from_elsewhere():
    runs = _costed(_runs())
    runs.loc[(runs.source < 0) & (runs.lam == 0.03), "final_val_loss"] -= 0.1  # the fixed run's best lam
    others = pd.DataFrame([dict(run_id=f"o{T}{s}", name=n, steps_T=T, source=-1, seed=s, flops=T / 1000,
                                final_val_loss=1.0) for T, n in ((10000, "recipe-d32"), (40000, "recipe-d32"),
                                                                 (40000, "other-d64")) for s in (0, 1)])
    f = M.best_lam_frontier(runs, others)
    assert set(f[f.steps == 10000].lam) == {0.03} and len(f[f.steps == 10000]) == 2   # not the other lams, not `others`
    assert set(f[f.steps == 40000].run_id) == {"o400000", "o400001"}                  # a budget weight_decay lacks
    assert f[f.steps == 40000].lam.isna().all()


def test_efficiency_at_best_lam_reads_the_frontier_and_bounds_a_loss_above_it():
    runs = _costed(_runs())
    T = M.PILOT[1]
    cheap = pd.DataFrame([dict(run_id=f"c{s}", name="recipe-d32", steps_T=T // 4, source=-1, seed=s, flops=2.0,
                               final_val_loss=None) for s in (0, 1)])
    prog = runs[(runs.source == 0) & (runs.lam == 0.3)].set_index("seed").final_val_loss
    cheap["final_val_loss"] = prog.loc[[0, 1]].to_numpy()                 # a cheaper fixed run ends where the grown run does
    (row,) = M.best_lam_efficiency(runs, cheap).itertuples()
    assert row.lam_prog == 0.3 and row.n_above == 0
    assert row.eff == pytest.approx(2.0 / 4.0) and row.frontier_T == "2,500, 10,000"
    above = M.best_lam_efficiency(runs).iloc[0]                              # only the 10,000-step frontier: above it
    assert np.isnan(above.eff) and above.n_above == 2 and above.bound == pytest.approx(10.0 / 4.0)
