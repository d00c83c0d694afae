"""`progtheory plan`: the grown model fitted on a user's pilot folders (progtheory.planner)."""

import json
from dataclasses import replace

import numpy as np
import pytest

from progtheory import cli, presets
from progtheory import planner as P
from progtheory.config import GrowthPlan, run_id, to_dict
from progtheory.theory import gap_model as GM
from progtheory.theory import loss_laws as LL
from progtheory.theory.schedules import lr_factor

T = 1000
TAU = 500
LAW = LL.MultiPowerLaw(L0=1.4, A=0.6, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.5)
FIXED = replace(presets.default(), steps=T)
PROG = replace(FIXED, growth=GrowthPlan(source_depth=0, stages=((0.5, FIXED.model.n_layer),)))


def _write_run(folder, cfg, loss, n=T):
    """A run folder as `progtheory train` writes it (`n` steps), with a loss curve drawn from the law."""
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"run_id": run_id(cfg), **to_dict(cfg)}))
    steps = np.arange(n)
    lr = cfg.lr * lr_factor(steps, n, cfg.schedule.kind, cfg.schedule.warmup, cfg.schedule.decay)
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


def test_plan_answers_every_question_from_the_old_two_folder_form(pilots):
    p = P.plan(*pilots, budgets=(1, 4), n_boot=0)
    (g,) = p["groups"]
    assert (g["source"], g["init"], g["target"]) == (0, "random", FIXED.model.n_layer)
    assert {r["T"] for r in g["recommended"]} == {T, 4 * T} and len(g["grid"]) == 2 * 5
    assert p["fixed_T"] == [T] and "one budget" in P.format_plan(p)
    assert "no interval: every pilot has one seed" in P.format_plan(p)


# ----------------------------------------------------------------------------- the grown model's pilots

SRC_LAW = LL.MultiPowerLaw(L0=2.2, A=0.3, alpha=0.5, B=200.0, C=2.0, beta=0.6, gamma=0.5)
GROWN = GM.GrownModel(LAW, SRC_LAW, rate=0.7, lag=0.3, spike=0.2, recovery=0.2)


def _grown_run(folder, kind, steps, tau=None, seed=0, init="random"):
    """A run folder whose validation curve is GROWN's (or, without tau, LAW's) at `steps` steps."""
    sched = replace(FIXED.schedule, kind=kind)
    cfg = replace(FIXED, steps=steps, schedule=sched, seed=seed)
    if tau is not None:
        cfg = replace(cfg, growth=GrowthPlan(source_depth=0 if init == "random" else 1, init=init,
                                             stages=((tau, FIXED.model.n_layer),)))
    s = np.arange(steps)
    eta = cfg.lr * lr_factor(s, steps, kind, sched.warmup, sched.decay)
    if tau is None:
        loss = LAW.curve(eta, s)
    else:
        t = round(tau * steps)
        loss = np.concatenate([SRC_LAW.curve(eta[:t], s[:t]), GROWN.curve(eta, t, s[t:])])
    return _write_run(folder, cfg, lambda *_: loss + 0.002 * seed, n=steps)


@pytest.fixture(scope="module")
def grown_pilots(tmp_path_factory):
    root = tmp_path_factory.mktemp("grown")
    fixed = [_grown_run(root / "f1", "wsd", T), _grown_run(root / "f2", "wsd", 2 * T)]
    prog = [_grown_run(root / "p1", "wsd", T, 0.5), _grown_run(root / "p2", "cosine", T, 0.5)]
    return fixed, prog


def test_plan_recovers_the_grown_models_gap_at_a_held_out_budget(grown_pilots):
    p = P.plan(*grown_pilots, budgets=(1, 4), taus=(0.5, 0.8), n_boot=0)
    (g,) = p["groups"]
    for c in g["grid"]:
        true = 100 * LL.predicted_gap(GROWN, c["tau"], c["T"], FIXED.lr, "wsd", warmup=0.02, decay=0.1)
        assert c["gap"] == pytest.approx(true, abs=0.5), c  # noise-free pilots from the model's own family
    assert p["fixed_T"] == [T, 2 * T] and "its extrapolation in T is fitted" in P.format_plan(p)
    assert g["pilots"][0]["measured"] is not None and p["held_out"]["mae"] > 0


def test_plan_states_what_weight_decay_does_at_tau_08(grown_pilots):
    p = P.plan(*grown_pilots, budgets=(1, 4), taus=(0.5, 0.8), n_boot=0)
    (g,) = p["groups"]
    w = g["weight_decay"]
    at_08 = next(c["gap"] for c in g["grid"] if c["T"] == 4 * T and c["tau"] == 0.8)
    scaled = {r["lam"]: r["gap"] for r in w["scaled"]}
    assert w["T"] == 4 * T and scaled[FIXED.weight_decay] == pytest.approx(at_08)
    assert scaled[1.0] < scaled[0.01]
    assert "weight decay at T=4000" in P.format_plan(p)
    assert not w["same_recipe"] and "not your recipe" in P.format_plan(p)  # sp + AdamW pilots: nothing recommended


def test_plan_gives_an_interval_when_a_pilot_has_several_seeds(grown_pilots, tmp_path):
    fixed, prog = grown_pilots
    extra = _grown_run(tmp_path / "f1s1", "wsd", T, seed=1)
    p = P.plan([*fixed, extra], prog, budgets=(1,), taus=(0.5,), n_boot=3)
    (c,) = p["groups"][0]["grid"]
    assert c["lo"] <= c["gap"] + 1e-9 and c["hi"] >= c["gap"] - 1e-9 and "90% interval" in p["interval"]


def test_plan_cli_prints_the_answers_and_writes_the_figure(grown_pilots, tmp_path, capsys):
    fixed, prog = grown_pilots
    fig = tmp_path / "surface.png"
    assert cli.main(["plan", "--fixed", *map(str, fixed), "--progressive", *map(str, prog), "--budgets", "1", "2",
                     "--target-T", "3000", "--figure", str(fig)]) == 0
    out = capsys.readouterr().out
    assert "held-out conditions of the ladder" in out and "copy init" in out and "3000" in out
    assert fig.is_file() and fig.stat().st_size > 0


def test_plan_rejects_a_fixed_pilot_with_growth(grown_pilots, capsys):
    fixed, prog = grown_pilots
    assert cli.main(["plan", "--fixed", str(prog[0]), "--progressive", str(prog[1])]) == 2
    assert "has a growth plan" in capsys.readouterr().err


def test_plan_rejects_fixed_pilots_with_different_configs(grown_pilots, tmp_path):
    fixed, prog = grown_pilots
    other = _write_run(tmp_path / "other", replace(FIXED, lr=2 * FIXED.lr), _fixed_loss)
    with pytest.raises(P.PlanError, match="pilots differ in 'lr'"):
        P.plan([fixed[0], other], prog)


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
