"""The saturation grid's analysis (`analysis.saturation`, P26) on synthetic runs with known gaps."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import saturation as S
from progtheory.report import saturation as R

FIXED = {2500: 1.60, 4000: 1.55, 10000: 1.50}
TAU_OF = {2500: 500, 4000: 2000, 10000: 8000}


def _runs(copy_gap: dict, zero_gap: dict, seeds=(0, 1, 2)) -> pd.DataFrame:
    """Runs whose paired gaps are exactly copy_gap[tau_step] + seed / 10 (percent), likewise the 0-layer source."""
    rows = []
    for seed in seeds:
        for T, loss in FIXED.items():
            tau_step = TAU_OF[T]
            rows.append(dict(tau_step=tau_step, steps_T=T, tau=1.0, source=-1, init="fixed", seed=seed,
                             final_val_loss=loss))
            for src, init, gaps in ((0, "random", zero_gap), (1, "copy", copy_gap)):
                g = (gaps[tau_step] + seed / 10) / 100
                rows.append(dict(tau_step=tau_step, steps_T=T, tau=tau_step / T, source=src, init=init, seed=seed,
                                 final_val_loss=loss * (1 + g)))
    return pd.DataFrame(rows)


def _stated(memory: dict) -> pd.DataFrame:
    return pd.DataFrame([dict(tau_step=TAU_OF[T], T=T, tau=TAU_OF[T] / T, source=s, init=i, predicted=10.0, lo=9.0,
                              hi=11.0, memory=memory[s]) for T in FIXED for s, i in ((0, "random"), (1, "copy"))])


def test_seed_gaps_recover_the_constructed_gaps():
    runs = _runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0})
    g = S.seed_gaps(runs).set_index(["source", "tau_step", "seed"]).gap
    assert g[(1, 2000, 2)] == pytest.approx(8.2, abs=1e-9)
    assert g[(0, 500, 0)] == pytest.approx(10.0, abs=1e-9)
    m = S.measured_gaps(runs).set_index(["source", "tau_step"])
    assert m.loc[(1, 8000), "measured"] == pytest.approx(12.1, abs=1e-9) and m.loc[(1, 8000), "n_seeds"] == 3


def test_a_rising_copy_gap_is_saturation_and_not_memory():
    runs = _runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0})
    changes = S.age_changes(runs).set_index(["source", "tau_step"])
    assert changes.loc[(1, 8000), "change"] == pytest.approx(7.0, abs=1e-9)
    assert changes.loc[(0, 8000), "change"] == pytest.approx(0.0, abs=1e-9)
    v = S.verdicts(runs, _stated({0: 10.1, 1: 12.1}))
    assert v["saturation"]["holds"] and not v["memory"]["holds"]
    assert (v["saturation"]["copy_rise"], v["saturation"]["excess"]) == pytest.approx((7.0, 7.0), abs=1e-9)


def test_a_gap_that_ignores_the_age_is_memory_and_not_saturation():
    runs = _runs({500: 12.0, 2000: 12.5, 8000: 12.0}, {500: 18.0, 2000: 18.0, 8000: 18.0})
    v = S.verdicts(runs, _stated({0: 18.1, 1: 12.1}))
    assert v["memory"]["holds"] and not v["saturation"]["holds"]
    assert v["gap_model"]["n"] == 6 and v["gap_model"]["mae"] == pytest.approx(np.mean([8.1, 2.1, 8.1, 2.6, 8.1, 2.1]))


def test_the_report_judges_the_claim_and_reports_both_statements(tmp_path):
    root = tmp_path / "experiments" / "results"
    (root / "saturation").mkdir(parents=True)
    _runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0}).to_csv(
        root / "saturation" / "runs.csv", index=False)
    (tmp_path / "experiments" / "predictions").mkdir()
    _stated({0: 10.1, 1: 12.1}).to_csv(tmp_path / R.PREDICTIONS, index=False)
    (record,) = R.p26_records(str(root))
    claim, losses, model, memory = record.parts
    assert claim.judged and not losses.judged and not model.judged and not memory.judged
    assert losses.conditions[0].value == pytest.approx(-0.10)  # the fixed run: 1.60 -> 1.50
    assert record.verdict == "holds"
    assert [c.value for c in claim.conditions] == pytest.approx([7.0, 7.0])
    assert len(model.conditions) == len(memory.conditions) == 4   # tau = 8,000 is the ladder's, not restated


def test_loss_changes_separate_the_grown_runs_loss_from_the_fixed_runs():
    runs = _runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0})
    ch = S.loss_changes(runs).set_index("source").change
    assert ch[-1] == pytest.approx(-0.10)
    assert ch[0] == pytest.approx(-0.10 * 1.101)   # the same gap at every age: the fixed run's fall carried over
    assert ch[1] == pytest.approx(1.50 * (1 + np.array([12.0, 12.1, 12.2]) / 100).mean()
                                  - 1.60 * (1 + np.array([5.0, 5.1, 5.2]) / 100).mean())


def test_the_figure_draws_both_panels_from_the_synthetic_grid():
    from progtheory import figures

    runs = _runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0})
    fig = figures.saturation(S.seed_gaps(runs), _stated({0: 10.1, 1: 12.1}), S.TOLERANCE)
    left, right = fig.axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["500", "2,000", "8,000"]
    mean_lines = [line for line in right.get_lines() if line.get_linestyle() == "-" and len(line.get_xdata()) == 3]
    assert [list(line.get_ydata()) for line in mean_lines] == [pytest.approx([0, 0, 0]), pytest.approx([0, 3, 7])]


def _with_fresh(runs: pd.DataFrame, loss: float) -> pd.DataFrame:
    fresh = pd.DataFrame([dict(tau_step=S.FRESH, steps_T=2000, tau=1.0, source=-1, init="fixed", seed=seed,
                               final_val_loss=loss + seed / 1000) for seed in (0, 1, 2)])
    return pd.concat([runs, fresh], ignore_index=True)


def test_grown_runs_are_compared_with_the_fresh_start_of_their_seed():
    runs = _with_fresh(_runs({500: 5.0, 2000: 8.0, 8000: 12.0}, {500: 10.0, 2000: 10.0, 8000: 10.0}), 1.70)
    d = S.against_fresh(runs).set_index(["source", "tau_step"])
    expected = np.mean([1.60 * (1 + (10.0 + s / 10) / 100) - (1.70 + s / 1000) for s in (0, 1, 2)])
    assert d.loc[(0, 500), "diff"] == pytest.approx(expected) and d.loc[(0, 500), "n_seeds"] == 3
    assert S.loss_changes(runs).set_index("source").change[-1] == pytest.approx(-0.10)  # the fresh runs left out


def test_p27_holds_when_the_0_layer_source_ends_above_the_fresh_start_and_the_copy_below(tmp_path):
    root = tmp_path / "experiments" / "results"
    (root / "saturation").mkdir(parents=True)
    # 0-layer: 1.60-1.50 x 1.2 = 1.92-1.80 > 1.70; copy at tau = 8,000: 1.50 x 1.05 = 1.575 < 1.70
    runs = _with_fresh(_runs({500: 5.0, 2000: 5.0, 8000: 5.0}, {500: 20.0, 2000: 20.0, 8000: 20.0}), 1.70)
    runs.to_csv(root / "saturation" / "runs.csv", index=False)
    (record,) = R.p27_records(str(root))
    assert record.verdict == "holds" and len(record.parts[0].conditions) == 4
    runs.assign(final_val_loss=np.where(runs.tau_step == S.FRESH, 2.5, runs.final_val_loss)).to_csv(
        root / "saturation" / "runs.csv", index=False)
    assert R.p27_records(str(root))[0].verdict == "fails"   # a fresh start better than every grown run


def test_ladder_runs_are_paired_with_the_fresh_start_of_their_steps_after_tau():
    ladder = pd.DataFrame([dict(schedule="wsd", steps_T=T, tau=0.8, source=s, init=i, seed=seed,
                                final_val_loss=loss + seed / 100)
                           for T, loss in ((2500, 2.4), (10000, 1.75)) for s, i in ((0, "random"), (1, "copy"))
                           for seed in (0, 1)])
    fresh = pd.DataFrame([dict(steps_T=S, source=-1, seed=seed, final_val_loss=loss)
                          for S, loss in ((500, 2.2), (2000, 1.70)) for seed in (0, 1)])
    d = S.ladder_against_fresh(ladder, fresh).set_index(["source", "T"])
    assert d.loc[(0, 2500), "steps_after_tau"] == 500 and d.loc[(0, 2500), "diff"] == pytest.approx(0.205)
    assert d.loc[(1, 10000), "diff"] == pytest.approx(0.055) and d.loc[(1, 10000), "n_seeds"] == 2
    untagged = S.ladder_against_fresh(ladder.drop(columns="init"), fresh)   # the ladder's own table tags no init
    assert sorted(set(zip(untagged.source, untagged.init))) == [(0, "random"), (1, "copy")]


def test_the_fresh_start_figure_draws_one_line_per_source():
    from progtheory import figures

    table = pd.DataFrame([dict(source=s, init=i, T=5 * S_, steps_after_tau=S_, n_seeds=n, diff=d, lo=d - 0.01,
                               hi=d + 0.01) for s, i, d in ((0, "random", 0.05), (1, "copy", -0.1))
                          for S_, n in ((500, 3), (32000, 1))])
    (ax,) = figures.fresh_start(table).axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["500", "32,000"]
    assert len(ax.containers) == 2   # one errorbar line per source
