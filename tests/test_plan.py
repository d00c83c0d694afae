"""`progtheory plan` and the gap model's held-out score (progtheory.plan)."""

import json
from dataclasses import replace

import numpy as np
import pytest

from progtheory import cli, presets
from progtheory import plan as P
from progtheory.config import GrowthPlan, run_id, to_dict
from progtheory.theory import loss_laws as LL
from progtheory.theory.schedules import lr_factor

T = 1000
TAU = 500
LAW = LL.MultiPowerLaw(L0=1.4, A=0.6, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.5)
FIXED = replace(presets.default(), steps=T)
PROG = replace(FIXED, growth=GrowthPlan(source_depth=0, stages=((0.5, FIXED.model.n_layer),)))


def _write_run(folder, cfg, loss):
    """A run folder as `progtheory train` writes it, with a loss curve drawn from the law."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"run_id": run_id(cfg), **to_dict(cfg)}))
    steps = np.arange(T)
    lr = cfg.lr * lr_factor(steps, T, cfg.schedule.kind, cfg.schedule.warmup, cfg.schedule.decay)
    val = np.where(steps % 20 == 19, loss(steps, lr), np.nan)
    rows = ["run_id,step,lr,train_loss,val_loss"] + [
        f"r,{s},{e},{v if np.isfinite(v) else 3.0},{'' if np.isnan(v) else v}" for s, e, v in zip(steps, lr, val)]
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    return folder


def _fixed_loss(steps, lr):
    return LAW.predict(steps, lr)


def _prog_loss(steps, lr):
    out = np.full(len(steps), 5.0)
    out[TAU:] = LL.head_start_curve(LAW, lr, TAU, 40.0, steps[TAU:])
    return out


@pytest.fixture
def pilots(tmp_path):
    return _write_run(tmp_path / "fixed", FIXED, _fixed_loss), _write_run(tmp_path / "prog", PROG, _prog_loss)


def test_plan_recovers_the_head_start_and_answers_every_question(pilots):
    p = P.plan(*pilots, budgets=(1, 4))
    assert p["delta_per_step"] == pytest.approx(40.0 / TAU, rel=0.05)  # law refitted on one curve
    gaps = [g["gap"] for g in p["grid"] if g["T"] == T]
    assert gaps == sorted(gaps) and gaps[0] > 0
    assert {r["T"] for r in p["recommended"]} == {T, 4 * T}
    assert "recommended tau" in P.format_plan(p)


def test_plan_rejects_a_progressive_pilot_without_growth(pilots, capsys):
    fixed, _ = pilots
    assert cli.main(["plan", str(fixed), str(fixed)]) == 2
    assert "has no growth plan" in capsys.readouterr().err


def test_plan_rejects_pilots_with_different_configs(pilots, tmp_path):
    fixed, _ = pilots
    other = _write_run(tmp_path / "other", replace(PROG, lr=2 * PROG.lr), _prog_loss)
    with pytest.raises(P.PlanError, match="pilots differ in 'lr'"):
        P.plan(fixed, other)


def test_plan_rejects_an_empty_metrics_file(pilots, capsys):
    fixed, prog = pilots
    (prog / "metrics.csv").write_text("")
    assert cli.main(["plan", str(fixed), str(prog)]) == 2
    assert "has no validation loss" in capsys.readouterr().err


def test_gap_model_summary_counts_misses_and_trend_signs():
    rec = [dict(source=0, init="random", schedule="wsd", T=2000, tau=u, role=r, measured=m, predicted=p,
                error=p - m) for u, r, m, p in ((0.25, "held_out", 5.0, 6.0), (0.5, "pilot", 10.0, 10.0),
                                               (0.8, "held_out", 20.0, 17.0))]
    s = P.gap_model_summary(rec)
    assert s["n_held_out"] == 2 and s["mae"] == pytest.approx(2.0) and s["share_within"] == 0.5
    assert s["tau_trend"] == "2/2" and len(s["misses"]) == 1


def _as_recipe_arm(tmp_path, drop_pilot: bool = False):
    """`mixing`'s tuned-LR runs relabelled as the recipe arm's `mixing_recipe` (tag lr = RECIPE_LR)."""
    import shutil

    import pandas as pd

    src = P.__file__.rsplit("/progtheory/", 1)[0] + "/experiments/results/mixing"
    dst = tmp_path / "mixing_recipe"
    shutil.copytree(src, dst)
    runs = pd.read_csv(dst / "runs.csv")
    runs = runs[np.isclose(runs.lr, P.TUNED_LR)].assign(lr=P.RECIPE_LR)
    if drop_pilot:
        runs = runs[~((runs.source == 1) & (runs.schedule == "wsd") & np.isclose(runs.tau, 0.5))]
    runs.to_csv(dst / "runs.csv", index=False)
    return tmp_path


def test_the_recipe_arm_is_scored_on_its_own_runs_with_the_same_pilot_roles(tmp_path):
    from pathlib import Path

    root = Path(P.__file__).parents[1] / "experiments" / "results"
    sp = {(r["source"], r["schedule"], r["tau"]): r for r in P.score_gap_model(root) if r["T"] == 2000}
    recipe = P.score_gap_model(_as_recipe_arm(tmp_path), "recipe")
    assert {r["T"] for r in recipe} == {2000}  # budget belongs to the sp arm only
    for r in recipe:
        twin = sp[(r["source"], r["schedule"], r["tau"])]
        assert r["role"] == twin["role"] and r["predicted"] == pytest.approx(twin["predicted"], abs=1e-6)


def test_an_arm_without_its_declared_pilots_is_not_scored(tmp_path):
    with pytest.raises(ValueError, match=r"pilots \['1-layer copy wsd T=2000 tau=0.5'\] have no runs yet"):
        P.score_gap_model(_as_recipe_arm(tmp_path, drop_pilot=True), "recipe")
    with pytest.raises(ValueError, match="arm='muon' is unknown"):
        P.score_gap_model(tmp_path, "muon")


def test_the_d64_arm_declares_two_fixed_budgets_and_the_short_budgets_progressive_pilots():
    import pandas as pd

    runs = pd.DataFrame(dict(source=[-1, 0, 1, 0], init=["fixed", "random", "copy", "random"],
                             schedule="wsd", steps_T=[2500, 2500, 2500, 10000], tau=[1.0, 0.5, 0.5, 0.5]))
    assert P.missing_pilots(runs, "recipe-d64") == ["fixed wsd T=10000"]
    assert P.ARMS["recipe-d64"].experiments == ("budget_small",)
    assert set(P.ARMS["recipe-d64"].progressive_pilots.values()) == {("wsd", 2500, 0.5)}


def test_each_arm_is_labelled_by_its_recipe_and_has_its_own_figure():
    from progtheory import analysis, report

    assert P.ARMS["sp-adamw"].label == analysis.DEFAULT_RECIPE
    assert P.ARMS["recipe"].label == report.PAPER_RECIPE
    assert P.ARMS["recipe-d64"].label.startswith(report.PAPER_RECIPE)
    figures = [arm.figure for arm in P.ARMS.values()]
    assert len(set(figures)) == len(figures)
