"""The analysis of sweep tables: intervals over seeds, LR optima, the mixing table and its
jumps, compute accounting, the timing law and bound fits, recovery and the recipe's tau."""

import pytest
from experiment_data import ROOT, lr_grid, smoke

from progtheory import sweep


def test_mean_ci_matches_a_t_interval_and_handles_one_seed():
    from progtheory.analysis import mean_ci

    m, lo, hi, n = mean_ci([1.0, 2.0, 3.0])
    assert (m, n) == (2.0, 3) and hi - m == pytest.approx(4.302653 / 3 ** 0.5, rel=1e-5)  # t_{0.975,2}=4.3027
    assert mean_ci([5.0])[:3] == (5.0, 5.0, 5.0)


def test_lr_optima_recovers_a_known_optimum_and_flags_the_grid_edge():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import lr_optima

    lrs = [1e-3, 3e-3, 1e-2, 3e-2]
    rows = []
    for depth, best in [(2, 5e-3), (8, 1e-4)]:
        for lr in lrs:
            for seed in range(3):
                rows.append(dict(depth=depth, lr=lr, seed=seed, final_val_loss=2.0 + (np.log10(lr / best)) ** 2))
    rows.append(dict(depth=2, lr=1e-1, seed=0, final_val_loss=np.nan))  # a diverged run counts as +inf
    out = lr_optima(pd.DataFrame(rows), ["depth"]).set_index("depth")
    assert out.loc[2, "lr_opt"] == pytest.approx(5e-3, rel=1e-6) and not out.loc[2, "at_edge"]
    assert out.loc[8, "at_edge"] and out.loc[8, "lr_best"] == 1e-3  # true optimum lies below the grid


def test_lr_optima_uses_only_seeds_that_ran_the_whole_grid():
    import pandas as pd

    from progtheory.analysis import lr_optima

    rows = lr_grid(lambda t: 3e-3)
    rows = [r for r in rows if not (r["seed"] == 2 and r["lr"] == 3e-3)]  # seed 2 stopped part-way
    rows += [dict(r, final_val_loss=9.0) for r in rows if r["seed"] == 2]  # ... and was awful
    out = lr_optima(pd.DataFrame(rows), ["parametrization", "width", "depth"])
    assert (out.n_seeds == 2).all() and out.lr_opt.to_numpy() == pytest.approx(3e-3, rel=1e-6)


def test_predicted_optima_follow_predict_lrs_sp_rule_and_stay_flat_for_depth_mup():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import depth_exponent, lr_optima, predicted_lr_optima
    from progtheory.theory.parametrization import SP_ADAMW_DEPTH_EXPONENT as E

    # measured optima that follow predict_lr's sp + AdamW rule exactly (the measured depth
    # exponent E, width ~ 1/w), and are flat for depth-mup
    def best(t):
        return 3e-3 * (t["depth"] / 4) ** E * (128 / t["width"]) if t["parametrization"] == "sp" else 1.5e-3

    optima = lr_optima(pd.DataFrame(lr_grid(best, lrs=tuple(1e-4 * 2 ** k for k in range(10)))),
                       ["parametrization", "width", "depth"])
    pred = predicted_lr_optima(optima, base_depth=4, base_width=128).merge(
        optima, on=["parametrization", "width", "depth"])
    assert np.allclose(pred.lr, pred.lr_opt, rtol=0.02)
    slopes = depth_exponent(optima, ["parametrization", "width"]).set_index(["parametrization", "width"])
    assert slopes.loc[("sp", 128), "exponent"] == pytest.approx(E, abs=0.02)
    assert slopes.loc[("depth-mup", 256), "exponent"] == pytest.approx(0, abs=0.02)


def test_tuned_lr_is_the_best_grid_lr_and_says_when_it_is_at_the_edge():
    import pandas as pd

    from progtheory.analysis import tuned_lr

    runs = pd.DataFrame([dict(lr=lr, seed=s, final_val_loss=loss) for s in range(3)
                         for lr, loss in [(1e-3, 1.6), (2e-3, 1.5), (4e-3, 1.7)]])
    assert tuned_lr(runs) == {"lr": 2e-3, "loss": 1.5, "at_edge": False, "n": 3}
    assert tuned_lr(runs[runs.lr < 3e-3])["at_edge"]


def test_expansion_spike_measures_the_jump_after_tau():
    import pandas as pd

    from progtheory.analysis import expansion_spike

    steps = range(100)
    metrics = pd.DataFrame(dict(run_id="a", step=list(steps), depth=[0 if s < 50 else 4 for s in steps],
                                train_loss=[2.0 if s < 50 else (3.5 if s == 51 else 2.1) for s in steps]))
    runs = pd.DataFrame(dict(run_id=["a"], source=[0]))
    out = expansion_spike(runs, metrics)
    assert out.tau_step.iloc[0] == 50 and out.spike.iloc[0] == pytest.approx(1.5)


def test_mixing_pairs_each_progressive_run_with_the_fixed_run_of_its_own_lr():
    import pandas as pd

    from progtheory.analysis import mixing_table

    runs, metrics = [], []
    for lr, fixed_final in [(1e-3, 2.0), (2e-3, 1.0)]:
        for source in (-1, 0):
            rid = f"{lr}-{source}"
            runs.append(dict(run_id=rid, lr=lr, schedule="wsd", source=source, tau=0.5 if source >= 0 else 1.0,
                             seed=0, steps=10, final_val_loss=2.2 if source >= 0 else fixed_final,
                             flops=1.0, wall_time=1.0))
            metrics += [dict(run_id=rid, step=s, train_loss=2.0, val_loss=2.0, lr=lr) for s in range(10)]
    table = mixing_table(pd.DataFrame(runs), pd.DataFrame(metrics), window=3).set_index("lr")
    assert table.loc[1e-3, "rel_gap"] == pytest.approx(0.1) and table.loc[2e-3, "rel_gap"] == pytest.approx(1.2)


def test_jump0_is_the_function_change_at_tau_and_jump_includes_the_first_updates():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import mixing_table

    steps = np.arange(100)
    noise = 0.2 * np.sin(steps)  # same batches in both runs
    # function-preserving expansion at 50 (row 50 unchanged), then a jolt of +0.5 for three updates
    gap = 0.1 + np.where((steps > 50) & (steps <= 53), 0.5, 0.0)
    runs, metrics = [], []
    for source, rid, extra in ((-1, "f", 0.0), (1, "p", gap)):
        runs.append(dict(run_id=rid, source=source, tau=0.5 if source >= 0 else 1.0, seed=0, steps=100,
                         final_val_loss=2.0, flops=1.0, wall_time=1.0))
        metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, train_loss=2.0 + noise + extra, val_loss=2.0, lr=1e-3)))
    row = mixing_table(pd.DataFrame(runs), pd.concat(metrics), window=5, spike=True).iloc[0]
    assert row.jump0 == pytest.approx(0.0, abs=1e-9) and row.jump == pytest.approx(0.5, abs=1e-9)


def test_gap_around_tau_averages_the_paired_gap_over_seeds():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import gap_around_tau

    steps = np.arange(100)
    runs, metrics = [], []
    for seed in (0, 1):
        for source, rid in ((-1, f"f{seed}"), (1, f"p{seed}")):
            runs.append(dict(run_id=rid, source=source, tau=0.5 if source >= 0 else 1.0, seed=seed, init="copy", steps=100))
            gap = 0.0 if source < 0 else np.where(steps < 50, 0.2, 1.0 + seed)  # seed 0 jumps to 1, seed 1 to 2
            metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, train_loss=3.0 + np.cos(steps + seed) + gap)))
    runs, metrics = pd.DataFrame(runs), pd.concat(metrics)
    table = pd.DataFrame(dict(source=[1, 1], tau=0.5, seed=[0, 1], init="copy", steps=100))
    out = gap_around_tau(table, metrics, runs, ["init"], before=10, after=20, smooth=1).set_index("offset")
    assert list(out.index) == list(range(-10, 20)) and (out.n == 2).all()
    assert out.loc[-1, "gap"] == pytest.approx(0.2) and out.loc[5, "gap"] == pytest.approx(1.5)
    assert out.loc[5, "lo"] < 1.5 < out.loc[5, "hi"]
    smooth = gap_around_tau(table, metrics, runs, ["init"], before=10, after=20, smooth=5).set_index("offset")
    assert smooth.loc[-1, "gap"] == pytest.approx(0.2) and smooth.loc[0, "gap"] == pytest.approx(1.5)  # no leak across tau


def test_spike_recovery_counts_the_steps_until_the_gap_is_back_near_its_pre_tau_level():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import spike_recovery

    steps = np.arange(200)
    noise = 0.3 * np.sin(steps)  # shared batches: cancels in the gap
    fixed = pd.DataFrame(dict(step=steps, train_loss=2.0 + noise))
    # gap 0.1 before tau = 100, jumps to 1.1 and decays linearly to 0.1 at step 150, then 0.05
    gap = np.where(steps < 100, 0.1, np.where(steps < 150, 1.1 - (steps - 100) / 50, 0.05))
    prog = pd.DataFrame(dict(step=steps, train_loss=2.0 + noise + gap))
    got = spike_recovery(prog, fixed, 100, window=10, tol=0.05)
    # first window [100 + s, 110 + s) whose mean gap is <= 0.1 + 0.05: computed by hand from the gap
    want = next(s for s in range(100) if gap[100 + s:110 + s].mean() <= 0.15 + 1e-12)
    assert got == want and 40 < got < 50
    assert spike_recovery(prog, fixed, 100, window=10, tol=0.0) > got  # all the way back takes longer
    assert spike_recovery(pd.DataFrame(dict(step=steps, train_loss=2.0 + noise + np.where(steps < 100, 0.1, 0.2))),
                          fixed, 100) == np.inf  # settles 0.1 nats above its pre-tau level: never recovers
    assert spike_recovery(fixed.assign(train_loss=fixed.train_loss + 0.1), fixed, 100) == 0.0  # no spike


def test_recipe_tau_is_T_minus_the_median_pilot_t_mix_clipped_to_the_stable_phase():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import recipe_tau

    table = pd.DataFrame(dict(source=[1, 1, 1, 0], schedule="wsd", steps=2000,
                              t_mix=[300.0, 500.0, np.inf, np.inf]))
    got = recipe_tau(table, 1)  # median of the pilots that mixed: 400 -> tau* = 1600, inside [40, 1800]
    assert got == dict(t_mix=400.0, tau_step=1600, tau=0.8, T=2000, n_pilots=2)
    assert recipe_tau(table.assign(t_mix=[10.0, 30.0, np.inf, np.inf]), 1)["tau_step"] == 1800  # stable-phase end
    assert recipe_tau(table, 0) is None  # no 0-layer pilot mixed: no tau*
    assert recipe_tau(table.assign(t_mix=1990.0), 1) is None  # T - t_mix before the stable phase


def test_compute_accounting_predicts_the_flops_the_trainer_counts(tmp_path):
    from progtheory import analysis as A
    from progtheory import presets

    smoke("mixing", tmp_path)
    runs, metrics = A.load_results("mixing_smoke", tmp_path / "results")
    model = presets.tiny().model
    acc = A.compute_accounting(A.mixing_table(runs, metrics, window=5), model, model.n_layer)
    assert len(acc) == (runs.source >= 0).sum()
    assert acc.flop_ratio.to_numpy() == pytest.approx(acc.pred_exact.to_numpy(), rel=1e-9)
    assert (acc.pred_exact > 1).all() and (acc.wall_ratio > 0).all()


def test_the_analysis_tells_tags_from_summary_fields_like_the_trainer_writes_them(tmp_path):
    import json

    from progtheory import analysis
    from progtheory.train.loop import train

    summary = train(sweep.load_experiment("mixing", root=ROOT).runs(True)[0].cfg, tmp_path / "run", quiet=True)
    assert set(summary) - {"run_id"} == analysis._SUMMARY_COLUMNS
    assert json.loads((tmp_path / "run" / "summary.json").read_text()).keys() == summary.keys()


def test_timing_law_scores_recover_a_law_that_generated_the_curves():
    """Curves drawn exactly from a ProgressiveLaw: fitted on the fixed runs, the source's
    pre-tau curve and two pilots, the law predicts the held-out final gaps to 1e-3."""
    import numpy as np
    import pandas as pd

    from progtheory.analysis import timing_law_scores
    from progtheory.theory.schedules import lr_factor
    from progtheory.theory.timing import LossLaw, ProgressiveLaw

    T = 400
    law = ProgressiveLaw(source=LossLaw(2.4, 1.0, 0.5, 0.2), target=LossLaw(1.5, 2.0, 0.5, 0.3), s_mix=30.0)
    steps = np.arange(T)
    runs, metrics = [], []
    for kind, taus in [("wsd", (0.25, 0.5, 0.7, 0.95)), ("cosine", (0.25, 0.5, 0.7))]:
        lr = lr_factor(steps, T, kind, warmup=0.02, decay=0.1 if kind == "wsd" else 0.0)
        for tau in (1.0,) + taus:
            rid = f"{kind}-{tau}"
            loss = law.target.predict(steps, lr) if tau == 1.0 else law.predict(steps, lr, round(tau * T))
            runs.append(dict(run_id=rid, schedule=kind, source=-1 if tau == 1.0 else 0, tau=tau, seed=0, steps=T))
            metrics.append(pd.DataFrame(dict(run_id=rid, step=steps, lr=lr, train_loss=loss)))
    scores, fitted = timing_law_scores(pd.DataFrame(runs), pd.concat(metrics), source=0, skip=5, tail=1)
    held = scores[~scores.pilot & ~scores.source_fit]
    assert len(held) == 3 and np.abs(held.predicted - held.measured).max() < 1e-3
    assert fitted.s_mix == pytest.approx(30.0, rel=0.05)


def test_bound_fits_recover_a_curve_drawn_from_the_bound_and_skip_sparse_lr_logs():
    import numpy as np
    import pandas as pd

    from progtheory.analysis import bound_fits
    from progtheory.theory import bounds
    from progtheory.theory.schedules import lr_factor

    T = 500
    etas = 0.01 * lr_factor(np.arange(T), T, "wsd", warmup=0.02, decay=0.1)
    taken = np.arange(1, T + 1)
    loss = bounds.bound_features(etas, taken) @ np.array([1.2, 3.0 ** 2, 0.5 ** 2])
    evaluated = (taken % 50 == 0) | (taken == T)
    m = pd.DataFrame(dict(run_id="a", step=taken - 1, lr=etas, val_loss=np.where(evaluated, loss, np.nan)))
    sparse = m[m.step % 100 == 0].assign(run_id="b")  # a run that logged only its eval steps
    out = bound_fits(pd.concat([m, sparse]), ["a", "b"]).set_index("run_id")
    assert list(out.index) == ["a"]
    assert out.loc["a", "r2"] == pytest.approx(1.0, abs=1e-9) and abs(out.loc["a", "rel_err"]) < 1e-6
