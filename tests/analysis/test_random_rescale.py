"""The random_rescale grid's analysis (`analysis.random_rescale`, P29) and its verdicts on synthetic runs with
known answers."""

from pathlib import Path

import pandas as pd
import pytest

from progtheory.analysis import random_rescale as RR
from progtheory.report import random_rescale as R

ROOT = Path(__file__).resolve().parents[2]
LOSS = {"fixed": 1.40, "zero": 1.50, "copy_absorb": 1.57, "copy_rescale": 1.53, "random_absorb": 1.56,
        "random_rescale": 1.51}
TAGS = {"fixed": (-1, "fixed", "absorb"), "zero": (0, "random", "absorb"), "copy_absorb": (1, "copy", "absorb"),
        "copy_rescale": (1, "copy", "rescale"), "random_absorb": (1, "random", "absorb"),
        "random_rescale": (1, "random", "rescale")}


def _runs(loss=LOSS, budgets=(2500, 10000, 40000), seeds=(0, 1, 2)) -> pd.DataFrame:
    rows = []
    for T in budgets:
        for seed in seeds:
            for arm, (src, init, old) in TAGS.items():
                rows.append(dict(run_id=f"{arm}-{T}-{seed}", steps_T=T, tau=1.0 if src < 0 else 0.8, source=src,
                                 init=init, old_blocks=old, seed=seed, final_val_loss=loss[arm] + seed / 1000))
    return pd.DataFrame(rows)


def _ablation(runs, fresh_absorb=0.01, fresh_rescale=0.2, block0=10.0) -> pd.DataFrame:
    r = runs[(runs.source == 1) & (runs.init == "random")]
    fresh = r.old_blocks.map({"absorb": fresh_absorb, "rescale": fresh_rescale})
    return pd.DataFrame({"run_id": r.run_id, "ablation_0": block0, "ablation_1": fresh, "ablation_2": fresh * 2,
                         "ablation_3": fresh * 3})


def _folder(tmp_path, runs, ablation=None) -> Path:
    folder = tmp_path / "random_rescale"
    folder.mkdir()
    runs.to_csv(folder / "runs.csv", index=False)
    if ablation is not None:
        ablation.to_csv(folder / "ablation.csv", index=False)
    return folder


def test_each_run_lands_in_its_arm_and_the_gaps_are_over_the_fixed_run_of_its_seed():
    runs = _runs()
    assert list(RR.arm_of(runs)[:6]) == list(TAGS)
    wide = RR.arms(runs).set_index(["steps_T", "seed"])
    assert wide.loc[(40000, 2), "random_rescale"] == pytest.approx(1.512)
    gaps = RR.gaps(RR.arms(runs)).set_index(["steps_T", "seed"])
    assert "fixed" not in gaps
    assert gaps.loc[(10000, 1), "zero"] == pytest.approx(1.501 / 1.401 - 1)


def test_fresh_costs_average_the_three_new_blocks_per_policy(tmp_path):
    runs = _runs()
    costs = RR.fresh_costs(_folder(tmp_path, runs, _ablation(runs))).set_index(["steps_T", "seed"])
    assert costs.loc[(2500, 0), "cost_absorb"] == pytest.approx(0.02)      # (1 + 2 + 3) / 3 x 0.01
    assert costs.loc[(2500, 0), "cost_rescale"] == pytest.approx(0.4)
    assert costs.loc[(2500, 0), "dominance_absorb"] == pytest.approx(10.0 / 0.02)
    assert RR.fresh_costs(tmp_path).empty                                    # no ablation table


def test_p29_holds_when_the_rescaled_random_blocks_learn_end_lower_and_beat_the_rescaled_copy(tmp_path):
    runs = _runs()
    (record,) = R.p29_records(str(_folder(tmp_path, runs, _ablation(runs)).parent))
    assert [p.verdict for p in record.parts[:3]] == ["holds"] * 3
    assert len(record.parts[0].conditions) == 3 and len(record.parts[1].conditions) == 2
    assert record.verdict == "holds"


@pytest.mark.parametrize("change, failing", [
    (dict(fresh_rescale=0.03), 0),                       # the fresh blocks learn only 1.5x more
    (dict(loss={**LOSS, "random_rescale": 1.58, "copy_rescale": 1.60}), 1),  # above the absorbed random blocks
    (dict(loss={**LOSS, "random_rescale": 1.545}), 2),   # below the absorbed ones, above the rescaled copy
])
def test_p29_fails_on_the_part_a_contrary_measurement_breaks(tmp_path, change, failing):
    runs = _runs(loss=change.get("loss", LOSS))
    ablation = _ablation(runs, **{k: v for k, v in change.items() if k != "loss"})
    (record,) = R.p29_records(str(_folder(tmp_path, runs, ablation).parent))
    verdicts = [p.verdict for p in record.parts[:3]]
    assert verdicts[failing] == "fails" and record.verdict == "fails"
    assert all(v == "holds" for i, v in enumerate(verdicts) if i != failing)


def test_p29_waits_for_its_runs_and_its_ablation(tmp_path):
    (empty,) = R.p29_records(str(tmp_path))
    assert empty.parts == () and empty.verdict == "open" and empty.recipe == "completep + Muon-NSGD"
    runs = _runs()
    runs = runs[~((runs.old_blocks == "rescale") & (runs.init == "random"))]
    (record,) = R.p29_records(str(_folder(tmp_path, runs).parent))
    assert [p.conditions for p in record.parts[:3]] == [(), (), ()]
    assert record.verdict == "open"


def test_the_committed_statement_is_the_one_the_analysis_judges(tmp_path):
    committed = pd.read_csv(ROOT / "experiments" / "predictions" / "random_rescale.csv", dtype=str)
    assert committed.equals(RR.STATEMENT.astype(str))
    with pytest.raises(FileExistsError, match="stated once"):
        RR.write_statement(ROOT / "experiments" / "predictions" / "random_rescale.csv")


def test_block_costs_list_every_grown_run_with_an_ablation_by_arm(tmp_path):
    runs = _runs()
    grown = runs[runs.source >= 0]
    ablation = pd.DataFrame({"run_id": grown.run_id, "ablation_0": 4.0, "ablation_1": 1.0, "ablation_2": 2.0,
                             "ablation_3": 3.0})
    costs = RR.block_costs(_folder(tmp_path, runs, ablation))
    assert len(costs) == len(grown) and set(costs.arm) == set(RR.ARMS[1:])
    assert (costs.cost == 2.0).all() and (costs.dominance == 2.0).all()


def test_the_figure_draws_each_grown_arm_and_says_when_the_ablation_is_missing(tmp_path):
    from progtheory import figures

    runs = _runs()
    folder = _folder(tmp_path, runs, _ablation(runs))
    fig = figures.random_rescale(RR.gaps(RR.arms(runs)), RR.block_costs(folder), "P29")
    gap_ax, cost_ax = fig.axes
    assert len(gap_ax.get_legend().get_texts()) == 5 and len(cost_ax.get_legend().get_texts()) == 2
    assert cost_ax.get_yscale() == "log"
    (blank,) = figures.random_rescale(RR.gaps(RR.arms(runs)), RR.block_costs(tmp_path)).axes[1].texts
    assert "not measured" in blank.get_text()
    paths = figures.save(fig, "random_rescale", tmp_path / "fig")
    assert all(p.stat().st_size > 1000 for p in paths)
