"""The copy_multiplier grid's analysis (`analysis.copy_multiplier`, P28) on synthetic runs with known answers."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import copy_multiplier as CM
from progtheory.report import copy_multiplier as R

LOSS = {"fixed": 1.40, "zero": 1.50, "absorbed": 1.57, "rescaled": 1.48}
ARMS = {"fixed": (-1, "fixed", "absorb"), "zero": (0, "random", "absorb"), "absorbed": (1, "copy", "absorb"),
        "rescaled": (1, "copy", "rescale")}


def _runs(loss=LOSS, budgets=(10000, 40000), seeds=(0, 1, 2)) -> pd.DataFrame:
    rows = []
    for T in budgets:
        for seed in seeds:
            for arm, (src, init, old) in ARMS.items():
                rows.append(dict(run_id=f"{arm}-{T}-{seed}", steps_T=T, tau=1.0 if src < 0 else 0.8, source=src,
                                 init=init, old_blocks=old, seed=seed, final_val_loss=loss[arm] + seed / 1000))
    return pd.DataFrame(rows)


def _growth(runs, absorbed=2.0, rescaled=0.3) -> pd.DataFrame:
    g = runs[runs.source == 1]
    change = np.where(g.old_blocks == "rescale", rescaled, absorbed)
    return pd.DataFrame({"run_id": g.run_id, "loss": 1.8, "loss_grown": 1.8 + change})


def _norms(runs, absorbed=3.0, rescaled=1.2) -> pd.DataFrame:
    scale = {"fixed": 1.0, "zero": 0.8, "absorbed": absorbed, "rescaled": rescaled}
    arm = runs.run_id.str.split("-").str[0]
    return pd.DataFrame({"run_id": runs.run_id, "attn_proj": 10 * arm.map(scale), "mlp_proj": 6 * arm.map(scale)})


def test_arms_and_spikes_pair_each_budget_and_seed():
    runs = _runs()
    wide = CM.arms(runs).set_index(["steps_T", "seed"])
    assert wide.loc[(40000, 2), "rescaled"] == pytest.approx(1.482)
    assert list(wide.columns) == ["fixed", "zero", "absorbed", "rescaled"]
    s = CM.spikes(runs, _growth(runs)).set_index(["steps_T", "seed"])
    assert s.loc[(10000, 1), "absorb"] == pytest.approx(2.0) and s.loc[(10000, 1), "rescale"] == pytest.approx(0.3)
    d = CM.paired(CM.arms(runs), "rescaled", "absorbed").set_index("steps_T")
    assert d.loc[40000, "diff"] == pytest.approx(-0.09) and d.loc[40000, "n_seeds"] == 3


def test_norm_ratios_are_against_the_fixed_run_of_the_same_seed():
    runs = _runs()
    r = CM.norm_ratios(runs, _norms(runs))
    assert set(r.arm) == {"absorbed", "rescaled"} and len(r) == 12
    assert r[r.arm == "absorbed"].ratio.to_numpy() == pytest.approx(3.0)


def test_the_statement_bounds_come_from_the_ladder():
    runs = _runs()
    ladder = runs[runs.old_blocks == "absorb"].assign(schedule="wsd")
    t = CM.statement(ladder, _growth(ladder), budgets=(10000, 40000))
    a = t[(t.part == "a") & (t.steps_T == 10000)].bound.iloc[0]
    assert a == pytest.approx(CM.SPIKE_SHARE * 2.0)
    c = t[(t.part == "c") & (t.steps_T == 40000)].bound.to_numpy()
    assert c == pytest.approx([1.571, 1.501])


@pytest.mark.parametrize("rescaled_loss, rescaled_norm, verdict", [(1.48, 1.2, "holds"), (1.60, 1.2, "fails")])
def test_p28_holds_when_every_bound_holds_and_fails_when_the_loss_does_not_fall(tmp_path, rescaled_loss,
                                                                                 rescaled_norm, verdict):
    runs = _runs({**LOSS, "rescaled": rescaled_loss})
    folder = tmp_path / "results" / "copy_multiplier"
    folder.mkdir(parents=True)
    runs.to_csv(folder / "runs.csv", index=False)
    _growth(runs).to_json(folder / "growth_stats.jsonl", orient="records", lines=True)
    _norms(runs, rescaled=rescaled_norm).to_csv(folder / "norms.csv", index=False)
    (rec,) = R.p28_records(str(tmp_path / "results"))
    assert [p.claim[:3] for p in rec.parts if p.judged] == ["(a)", "(b)", "(c)"]
    assert rec.verdict == verdict


def test_the_figure_draws_three_panels_with_or_without_norms():
    from progtheory import figures

    runs = _runs()
    for ratios in (None, CM.norm_ratios(runs, _norms(runs))):
        fig = figures.copy_multiplier(CM.arms(runs), CM.spikes(runs, _growth(runs)), ratios)
        assert len(fig.axes) == 3 and len(fig.axes[0].lines) > 0
        figures.plt.close(fig)
