"""The head-start baseline's arms and held-out scores (progtheory.analysis.head_start) and the
summary both gap models are judged by (progtheory.analysis.gap_model.gap_model_summary)."""

from pathlib import Path

import numpy as np
import pytest

from progtheory.analysis import gap_model
from progtheory.analysis import head_start as H
from progtheory.presets import RECIPE_LR, TUNED_LR

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "results"


def test_gap_model_summary_counts_misses_and_trend_signs():
    rec = [dict(source=0, init="random", schedule="wsd", T=2000, tau=u, role=r, measured=m, predicted=p,
                error=p - m) for u, r, m, p in ((0.25, "held_out", 5.0, 6.0), (0.5, "pilot", 10.0, 10.0),
                                               (0.8, "held_out", 20.0, 17.0))]
    s = gap_model.gap_model_summary(rec)
    assert s["n_held_out"] == 2 and s["mae"] == pytest.approx(2.0) and s["share_within"] == 0.5
    assert s["tau_trend"] == "2/2" and len(s["misses"]) == 1


def _as_recipe_arm(tmp_path, drop_pilot: bool = False):
    """`mixing`'s tuned-LR runs relabelled as its recipe arm's, in that arm's folder `mixing_recipe`
    (tag lr = RECIPE_LR)."""
    import shutil

    import pandas as pd

    src = RESULTS / "mixing"
    dst = tmp_path / "mixing_recipe"
    shutil.copytree(src, dst)
    runs = pd.read_csv(dst / "runs.csv")
    runs = runs[np.isclose(runs.lr, TUNED_LR)].assign(lr=RECIPE_LR)
    if drop_pilot:
        runs = runs[~((runs.source == 1) & (runs.schedule == "wsd") & np.isclose(runs.tau, 0.5))]
    runs.to_csv(dst / "runs.csv", index=False)
    return tmp_path


def test_the_recipe_arm_is_scored_on_its_own_runs_with_the_same_pilot_roles(tmp_path):
    sp = {(r["source"], r["schedule"], r["tau"]): r for r in H.score_gap_model(RESULTS) if r["T"] == 2000}
    recipe = H.score_gap_model(_as_recipe_arm(tmp_path), "recipe")
    assert {r["T"] for r in recipe} == {2000}  # budget belongs to the sp arm only
    for r in recipe:
        twin = sp[(r["source"], r["schedule"], r["tau"])]
        assert r["role"] == twin["role"] and r["predicted"] == pytest.approx(twin["predicted"], abs=1e-6)


def test_an_arm_without_its_declared_pilots_is_not_scored(tmp_path):
    with pytest.raises(ValueError, match=r"pilots \['1-layer copy wsd T=2000 tau=0.5'\] have no runs yet"):
        H.score_gap_model(_as_recipe_arm(tmp_path, drop_pilot=True), "recipe")
    with pytest.raises(ValueError, match="arm='muon' is unknown"):
        H.score_gap_model(tmp_path, "muon")


def test_the_d64_arm_declares_two_fixed_budgets_and_the_short_budgets_progressive_pilots():
    import pandas as pd

    runs = pd.DataFrame(dict(source=[-1, 0, 1, 0], init=["fixed", "random", "copy", "random"],
                             schedule="wsd", steps_T=[2500, 2500, 2500, 10000], tau=[1.0, 0.5, 0.5, 0.5]))
    assert H.missing_pilots(runs, "recipe-d64") == ["fixed wsd T=10000"]
    assert H.ARMS["recipe-d64"].experiments == ("budget",) and H.folders("recipe-d64") == ("budget_small",)
    assert set(H.ARMS["recipe-d64"].progressive_pilots.values()) == {("wsd", 2500, 0.5)}


def test_each_arm_is_labelled_by_its_recipe_and_has_its_own_figure():
    from progtheory import analysis, report

    assert H.ARMS["sp-adamw"].label == analysis.DEFAULT_RECIPE
    assert H.ARMS["recipe"].label == report.PAPER_RECIPE
    assert H.ARMS["recipe-d64"].label.startswith(report.PAPER_RECIPE)
    figures = [arm.figure for arm in H.ARMS.values()]
    assert len(set(figures)) == len(figures)
