"""Calibrated LR transfer (progtheory.theory.lr_calibration) and predict_lr's argument checks."""

import math
from pathlib import Path

import numpy as np
import pytest

from progtheory.theory import lr_calibration as LC
from progtheory.theory import parametrization as P
from progtheory.theory.parametrization import predict_lr

LRS = 1e-6 * np.sqrt(2) ** np.arange(24)  # a x sqrt(2) grid, 1e-6 .. 3e-3


def sweep(c=0.02, e=-0.5, f=-1.0, depths=(1, 2, 4, 8), widths=(64, 128), seeds=range(4), noise=0.002,
          jitter=0.1, curvature=0.4, lrs=LRS, rng_seed=0):
    """Synthetic tidy LR sweep: loss = 1.5 + curvature/2 * ln(lr/lr*)^2 + noise, with
    lr* = c L^e w^f times a per-(shape, seed) log-normal jitter."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for s in seeds:
        for L in depths:
            for w in widths:
                opt = c * L ** e * w ** f * math.exp(jitter * rng.normal())
                for lr in lrs:
                    loss = 1.5 + curvature / 2 * math.log(lr / opt) ** 2 + noise * rng.normal()
                    rows.append(dict(depth=L, width=w, seed=s, lr=float(lr), final_val_loss=loss))
    return rows


def test_fitter_recovers_known_exponents_from_noisy_sweeps():
    cal = LC.fit_lr_transfer(sweep())
    # tolerance: 10% log-normal jitter of each optimum over 32 optima gives a standard error ~0.03 on e
    assert cal.e == pytest.approx(-0.5, abs=0.1)
    assert cal.f == pytest.approx(-1.0, abs=0.15)
    assert cal.exponent_interval("e")[0] < -0.5 < cal.exponent_interval("e")[1]
    assert cal.exponent_interval("f")[0] < -1.0 < cal.exponent_interval("f")[1]
    assert cal.width_fitted and cal.depths == (1, 2, 4, 8) and not cal.flagged


def test_noiseless_quadratic_sweep_is_recovered_exactly_with_its_curvature():
    cal = LC.fit_lr_transfer(sweep(noise=0, jitter=0, curvature=0.3))
    assert (cal.c, cal.e, cal.f) == pytest.approx((0.02, -0.5, -1.0), rel=1e-9, abs=1e-9)
    assert cal.curvature == pytest.approx(0.3, rel=1e-9)
    assert cal.loss_penalty(2.0) == pytest.approx(0.15 * math.log(2) ** 2)


def test_calibrated_predict_lr_equals_c_times_L_to_e_times_w_to_f():
    cal = LC.fit_lr_transfer(sweep())
    for L, w in [(3, 96), (12, 192), (1, 64)]:
        assert predict_lr(L, width=w, calibration=cal) == pytest.approx(cal.c * L ** cal.e * w ** cal.f, rel=1e-12)
    np.testing.assert_allclose(predict_lr(np.array([3, 12]), width=96, calibration=cal),
                               [predict_lr(3, width=96, calibration=cal), predict_lr(12, width=96, calibration=cal)])


def test_interval_brackets_the_calibrated_prediction():
    cal = LC.fit_lr_transfer(sweep())
    lo, hi = cal.interval(6, 96)
    assert lo < predict_lr(6, width=96, calibration=cal) < hi


def test_an_empty_table_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        LC.fit_lr_transfer([])


def test_a_single_depth_is_an_error():
    with pytest.raises(ValueError, match="single depth"):
        LC.fit_lr_transfer(sweep(depths=(4,)))


def test_optima_at_the_grid_edge_are_flagged_and_left_out_of_the_fit():
    rows = sweep(widths=(64,))
    cut = [r for r in rows if not (r["depth"] == 8 and r["lr"] > 4.5e-5)]  # L=8's optimum (~5.5e-5) now at the top
    cal = LC.fit_lr_transfer(cut)
    assert {o.flag for o in cal.flagged} == {"high edge"} and {o.depth for o in cal.flagged} == {8}
    assert cal.depths == (1, 2, 4) and "high edge" in cal.summary()


def test_edges_at_all_but_one_depth_are_an_error_naming_the_fix():
    rows = [r for r in sweep(widths=(64,)) if r["depth"] == 1 or r["lr"] < 1e-5]
    with pytest.raises(ValueError, match="high edge.*extend those LR grids"):
        LC.fit_lr_transfer(rows)


def test_nan_losses_count_as_diverged_runs_and_are_flagged_never_fitted():
    rows = sweep(widths=(64,), seeds=range(2))
    for r in rows:
        if r["depth"] == 2:
            r["final_val_loss"] = math.nan
    cal = LC.fit_lr_transfer(rows)
    assert {(o.depth, o.flag) for o in cal.flagged} == {(2, "all diverged")}
    assert 2 not in cal.depths


def test_a_diverged_neighbour_of_the_best_lr_is_flagged():
    lrs, losses = [1e-3, 2e-3, 4e-3, 8e-3], [1.6, 1.5, float("nan"), 2.0]
    assert LC.grid_optimum(lrs, losses)[3] == "diverged neighbour"
    assert LC.grid_optimum(lrs[:2], losses[:2])[3] == "too few LRs"


@pytest.mark.parametrize("change, match", [
    (dict(lr="fast"), "lr='fast' is not a number"),
    (dict(depth=0), "depth=0 must be a whole number >= 1"),
    (dict(lr=-1e-3), "lr=-0.001 must be a finite number > 0"),
])
def test_bad_fields_name_the_row_and_value(change, match):
    rows = sweep(widths=(64,), seeds=range(1))
    rows[3].update(change)
    with pytest.raises(ValueError, match=match):
        LC.fit_lr_transfer(rows)


def test_a_missing_column_and_a_duplicate_run_are_errors():
    rows = sweep(widths=(64,), seeds=range(1))
    with pytest.raises(ValueError, match="no 'seed' column"):
        LC.fit_lr_transfer([{k: v for k, v in r.items() if k != "seed"} for r in rows])
    with pytest.raises(ValueError, match="two rows for depth=1"):
        LC.fit_lr_transfer(rows + rows[:1])


def test_one_seed_gives_a_fit_but_no_interval():
    cal = LC.fit_lr_transfer(sweep(seeds=range(1)))
    assert math.isfinite(cal.e)
    with pytest.raises(ValueError, match="no interval.*>= 2 seeds"):
        cal.interval(4, 64)


def test_a_single_width_calibration_refuses_other_widths():
    cal = LC.fit_lr_transfer(sweep(widths=(64,)))
    assert not cal.width_fitted and cal.f == 0.0
    assert predict_lr(4, calibration=cal) == predict_lr(4, width=64, calibration=cal)
    with pytest.raises(ValueError, match="fitted at width 64 only"):
        predict_lr(4, width=128, calibration=cal)


def test_calibrated_predict_lr_rejects_a_second_anchor_or_another_parametrization():
    cal = LC.fit_lr_transfer(sweep(), parametrization="sp", optimizer="adamw")
    with pytest.raises(ValueError, match="base_lr=0.001 with calibration"):
        predict_lr(4, width=64, base_lr=1e-3, calibration=cal)
    with pytest.raises(ValueError, match="fitted for 'sp'"):
        predict_lr(4, width=64, parametrization="depth-mup", calibration=cal)


@pytest.mark.parametrize("field, value", [
    ("depth", float("nan")), ("depth", float("inf")), ("depth", 1e308), ("depth", "4"), ("depth", 0), ("depth", True),
    ("depth", np.array([2.0, np.nan])), ("base_lr", float("nan")), ("base_lr", float("inf")), ("base_lr", -1.0),
    ("base_lr", "1e-3"), ("base_depth", float("nan")), ("base_depth", 0), ("width", float("inf")),
])
def test_predict_lr_rejects_nan_inf_strings_and_out_of_range_values(field, value):
    kw = dict(depth=8, base_depth=4, base_lr=1e-3, parametrization="sp", optimizer="adamw", width=128, base_width=128)
    kw[field] = value
    with pytest.raises(ValueError, match=field):
        predict_lr(kw.pop("depth"), **kw)


def test_predict_lr_without_calibration_needs_an_anchor():
    with pytest.raises(ValueError, match="base_lr is required"):
        predict_lr(4, base_depth=4, parametrization="sp", optimizer="adamw")


def test_held_out_shapes_on_the_law_score_near_one_and_off_law_shapes_do_not():
    cal = LC.fit_lr_transfer(sweep())
    held = LC.score_held_out(cal, sweep(depths=(6, 12), widths=(96,), seeds=range(3), rng_seed=1))
    assert [(r["depth"], r["width"]) for r in held] == [(6, 96), (12, 96)]
    for r in held:
        assert r["ratio"] == pytest.approx(1.0, abs=0.25) and r["within"]
        assert r["ratio_lo"] < r["ratio"] < r["ratio_hi"] and r["n"] == 3
    off = LC.score_held_out(cal, sweep(c=0.04, depths=(6,), widths=(96,), seeds=range(3), rng_seed=2))
    assert off[0]["ratio"] == pytest.approx(0.5, rel=0.25) and not off[0]["within"]


def test_a_held_out_shape_without_located_optima_has_no_ratio():
    cal = LC.fit_lr_transfer(sweep())
    rows = [r for r in sweep(depths=(6,), widths=(96,), seeds=range(2), rng_seed=3) if r["lr"] > 1e-4]
    (row,) = LC.score_held_out(cal, rows)
    assert math.isnan(row["ratio"]) and row["flags"] == "low edge" and not row["within"]


def test_shape_optima_give_a_seed_interval_around_the_geometric_mean():
    rows = LC.shape_optima(LC.find_optima(sweep(widths=(64,))))
    assert all(r["lo"] < r["lr_opt"] < r["hi"] and r["n"] == 4 for r in rows)


def test_read_runs_filters_completed_rows_by_column(tmp_path):
    (tmp_path / "runs.csv").write_text("depth,width,lr,seed,status,parametrization,final_val_loss\n"
                                       "1,64,0.001,0,completed,sp,1.5\n1,64,0.002,0,failed,sp,\n"
                                       "1,64,0.001,0,completed,mup,1.4\n")
    assert len(LC.read_runs(tmp_path, parametrization="sp")) == 1
    with pytest.raises(ValueError, match="no column 'optimizer'"):
        LC.read_runs(tmp_path, optimizer="adamw")
    with pytest.raises(ValueError, match="no runs table"):
        LC.read_runs(tmp_path / "missing")


def test_the_sp_depth_exponent_in_predict_lr_is_the_one_fitted_from_the_committed_sweep():
    rows = LC.read_runs(Path(__file__).parents[2] / "experiments" / "results" / "lr_transfer", parametrization="sp")
    cal = LC.fit_lr_transfer(rows)
    assert round(cal.e, 2) == P.SP_ADAMW_DEPTH_EXPONENT
    lo, hi = cal.exponent_interval("e")
    assert (round(lo, 2), round(hi, 2)) == (-0.09, 0.19)


@pytest.mark.parametrize("argv, match", [
    (["--base-lr", "-1"], "--base-lr -1.0 must be a finite LR > 0"),
    (["--base-lr", "nan"], "--base-lr nan must be a finite LR > 0"),
    (["--base-depth", "0"], "--base-depth 0 must lie in [1, 10000]"),
])
def test_predict_command_rejects_a_bad_anchor_before_printing_anything(argv, match, capsys):
    from progtheory.cli import main

    assert main(["predict", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and match in err


def test_predict_command_anchors_at_the_presets_own_lr_and_depth(capsys):
    from progtheory.cli import main
    from progtheory.presets import default

    assert main(["predict", "--depths", "4"]) == 0
    out = capsys.readouterr().out
    assert f"base_lr={default().lr:g} at base_depth={default().model.n_layer}" in out
    assert out.splitlines()[-1].split()[-1] == f"{default().lr:.3g}"


def test_predict_command_prints_the_calibrated_lr_and_its_interval(tmp_path, capsys):
    import csv

    from progtheory.cli import main

    rows = [dict(r, parametrization="sp", status="completed") for r in sweep(widths=(128,), seeds=range(3))]
    with (tmp_path / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["predict", "--results", str(tmp_path), "--depths", "8"]) == 0
    out = capsys.readouterr().out
    cal = LC.fit_lr_transfer(LC.read_runs(tmp_path, parametrization="sp"))
    lo, hi = cal.interval(8)
    assert "calibrated on" in out and f"{cal.predict(8):.3g}" in out and f"[{lo:.3g}, {hi:.3g}]" in out
    assert main(["predict", "--results", str(tmp_path), "--set", "model.n_embd=256"]) == 2
    assert "fitted at width 128 only" in capsys.readouterr().err


def test_fit_and_score_keeps_the_held_out_shapes_out_of_the_fit():
    rows = sweep() + sweep(depths=(6, 12), widths=(96,), seeds=range(3), rng_seed=1)
    cal, scores = LC.fit_and_score(rows, held_out=[(6, 96), (12, 96)])
    assert 96 not in cal.widths and {(r["depth"], r["width"]) for r in scores} == {(6, 96), (12, 96)}
    with pytest.raises(ValueError, match="no runs at the held-out shapes"):
        LC.fit_and_score(sweep(), held_out=[(6, 96)])


def _experiment_module(name):
    import importlib.util

    path = Path(__file__).parents[2] / "experiments" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_test_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cpu_sweep_declares_both_arms_three_seeds_and_held_out_shapes_outside_the_fit():
    m = _experiment_module("lr_transfer_cpu")
    runs = m.runs(False)
    assert {r.tags["arm"] for r in runs} == {"sp-adamw", "recipe"}
    assert {r.tags["seed"] for r in runs} == {0, 1, 2}
    assert len(m.HELD_OUT) >= 2 and not set(m.HELD_OUT) & set(m.FIT)
    assert {(r.tags["depth"], r.tags["width"]) for r in runs if r.tags["held_out"]} == set(m.HELD_OUT)
    lrs = sorted({r.tags["lr"] for r in runs if r.tags["arm"] == "sp-adamw"})
    assert np.allclose(np.diff(np.log(lrs)), math.log(2) / 2, atol=1e-3)  # a x sqrt(2) grid
    assert {r.cfg.optimizer for r in runs if r.tags["arm"] == "recipe"} == {"muon"}
    assert len(m.runs(True)) < 20


def test_cpu_sweep_extends_a_grid_whose_best_lr_is_at_an_edge(tmp_path):
    m = _experiment_module("lr_transfer_cpu")
    grid = sorted({m._lr(3e-3 * g) for g in m.GRID})
    lines = ["arm,depth,width,seed,steps,lr,status,final_val_loss"]
    lines += [f"sp-adamw,1,32,0,400,{lr},completed,{1.5 + i * 0.01}" for i, lr in enumerate(grid)]  # best at low edge
    lines += [f"sp-adamw,2,32,0,400,{lr},completed,{1.5 + abs(i - 3) * 0.01}" for i, lr in enumerate(grid)]  # inside
    lines += [f"sp-adamw,4,32,0,400,{lr},completed,1.5" for lr in grid[:3]]  # incomplete grid: not judged
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    ext = m.extensions(tmp_path / "runs.csv")
    assert ext[("sp-adamw", 1, 32, 0, 400)] == [m._lr(grid[0] / math.sqrt(2))]
    assert ext[("sp-adamw", 2, 32, 0, 400)] == [] and ("sp-adamw", 4, 32, 0, 400) not in ext


def test_readme_lr_examples_run_as_written(monkeypatch, capsys):
    import re

    from progtheory.config import validate
    from progtheory.train import loop

    trained = []
    monkeypatch.setattr(loop, "train", lambda cfg, out: trained.append((validate(cfg), out)))
    monkeypatch.chdir(Path(__file__).parents[2])
    text = (Path(__file__).parents[2] / "README.md").read_text()
    section = text[text.index("## The LR at another depth"):text.index("## Theory in the code")]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 2
    namespace = {}
    for block in blocks:
        exec(block, namespace)  # noqa: S102 - the README's own example code
    assert [cfg.model.n_layer for cfg, _ in trained] == [2, 4, 8]
    assert all(cfg.model.parametrization == "sp" and cfg.optimizer == "adamw" for cfg, _ in trained)
    assert "lr* =" in capsys.readouterr().out


def test_predict_command_selects_a_recipe_tagged_sweep_by_the_configs_of_its_runs(tmp_path, capsys):
    """A sweep whose rows carry an arm tag, not the parametrization (lr_transfer_cpu): predict
    fits only the runs whose config has the preset's recipe, at the design's run length."""
    import csv
    import json

    from progtheory.cli import main

    arms = {"recipe": (dict(model=dict(parametrization="completep"), optimizer="muon"), 2e-3),
            "sp-adamw": (dict(model=dict(parametrization="sp"), optimizer="adamw"), 5e-4)}
    rows, prov = [], []
    for arm, (config, c) in arms.items():
        for steps in (400, 800):  # the 800-step rows repeat shapes and seeds: a duplicate unless filtered out
            for r in sweep(c=c, e=0.0, f=0.0, widths=(32, 64), seeds=range(3), rng_seed=steps):
                rid = f"r{len(rows)}"
                rows.append(dict(r, run_id=rid, arm=arm, steps=steps, status="completed"))
                prov.append(dict(run_id=rid, config=config))
    with (tmp_path / "runs.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "provenance.jsonl").write_text("".join(json.dumps(p) + "\n" for p in prov))
    (tmp_path / "experiment.json").write_text(json.dumps(dict(design=dict(steps=400))))
    for preset, (_, c) in (("recipe", arms["recipe"]), ("tuned", arms["sp-adamw"])):
        assert main(["predict", "--preset", preset, "--results", str(tmp_path), "--set", "model.n_embd=48",
                     "--depths", "6"]) == 0
        calibrated = float(capsys.readouterr().out.splitlines()[-1].split()[-3])
        assert calibrated == pytest.approx(c, rel=0.15)
    assert main(["predict", "--preset", "recipe", "--set", "optimizer=sgd", "--results", str(tmp_path)]) == 2
    assert "no completed runs with {'recipe': 'completep + SGD', 'steps': 400}" in capsys.readouterr().err


def test_read_runs_keeps_a_diverged_run_as_a_point_of_infinite_loss(tmp_path):
    lines = ["depth,width,seed,lr,status,final_val_loss"]
    lines += [f"1,32,0,{lr},completed,{loss}" for lr, loss in ((1e-3, 2.5), (2e-3, 2.4), (4e-3, 2.45))]
    lines += ["1,32,0,8e-3,diverged,10.9", "1,32,0,1.6e-2,failed,"]  # a failed run is no measurement
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    rows = LC.read_runs(tmp_path)
    assert [r["final_val_loss"] for r in rows] == ["2.5", "2.4", "2.45", ""]
    (opt,) = LC.find_optima(rows)
    assert opt.n_lrs == 4 and opt.lr_best == 2e-3


def test_cpu_sweep_counts_a_diverged_run_as_part_of_a_complete_grid(tmp_path):
    m = _experiment_module("lr_transfer_cpu")
    grid = sorted({m._lr(1e-2 * g) for g in m.GRID})
    lines = ["arm,depth,width,seed,steps,lr,status,final_val_loss"]
    lines += [f"recipe,6,48,1,400,{lr},completed,{2.3 + i * 0.01}" for i, lr in enumerate(grid[:-1])]
    lines += [f"recipe,6,48,1,400,{grid[-1]},diverged,10.9"]  # best at the low edge, top LR diverged
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    assert m.extensions(tmp_path / "runs.csv")[("recipe", 6, 48, 1, 400)] == [m._lr(grid[0] / math.sqrt(2))]
