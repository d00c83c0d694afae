"""The copies' symmetry readings of P24 (progtheory.analysis.copies) on synthetic runs and logs."""

import json

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import copies as C
from progtheory.theory import copy_symmetry as CS


def _log(folder, run_id, tau, rel_dists: dict, cos: dict):
    """A collected symmetry.jsonl: one pair (0, 1), one matrix, the given rel_dist and cos per update k."""
    with open(folder / "symmetry.jsonl", "a") as f:
        for k, r in rel_dists.items():
            rec = {"run_id": run_id, "step": tau + k, "tau": tau, "updates": k, "groups": [[0, 1]],
                   "pairs": [{"i": 0, "j": 1, "cos": {"attn.c_attn": cos[k]}, "rel_dist": {"attn.c_attn": r}}]}
            f.write(json.dumps(rec) + "\n")


def _runs():
    rows = []
    for seed in (0, 1):
        for T, gaps in ((2500, {"copy": 12.0, "copy_noise": 12.0}), (10000, {"copy": 11.8, "copy_noise": 8.0})):
            fixed = 1.5 - 0.1 * (T == 10000) + 0.01 * seed
            rows.append(dict(run_id=f"f{T}{seed}", recipe="recipe", d=64, steps_T=T, tau=1.0, init="fixed", eps=0.0,
                             seed=seed, lr=1e-3, lam=0.01, final_val_loss=fixed))
            for init, gap in gaps.items():
                eps = 0.25 if init == "copy_noise" else 0.0
                rows.append(dict(run_id=f"{init}{T}{seed}", recipe="recipe", d=64, steps_T=T, tau=0.8, init=init,
                                 eps=eps, seed=seed, lr=1e-3, lam=0.01, final_val_loss=fixed * (1 + gap / 100)))
    return pd.DataFrame(rows)


def test_the_gap_fall_is_paired_by_seed_and_signed_positive_when_the_gap_shrinks():
    falls = C.gap_changes(_runs(), 2500, 10000).set_index(["init", "seed"]).fall
    assert falls[("copy", 0)] == pytest.approx(0.2, abs=1e-9)
    assert falls[("copy_noise", 1)] == pytest.approx(4.0, abs=1e-9)


def test_cosines_take_the_extremes_at_tau_and_at_the_last_probe(tmp_path):
    _log(tmp_path, "r", 2000, {0: 0.0, 1: 0.01, 500: 0.3}, {0: 0.99, 1: 0.98, 500: 0.7})
    cos = C.cosines(C.symmetry_table(tmp_path)).iloc[0]
    assert (cos.cos_tau_min, cos.cos_tau_max, cos.cos_end_min, cos.updates_end) == (0.99, 0.99, 0.7, 500)


def test_a_separation_that_follows_the_constant_drive_scores_a_ratio_of_one(tmp_path):
    runs = _runs()
    eta = C.lr_steps(runs.iloc[1])  # the copy run at T = 2,500
    tau = 2000
    r1 = 0.01
    drive = {k: abs(CS.separation(1.0, eta[tau:tau + k], 0.01)) for k in (1, 2, 5, 50, 500)}
    _log(tmp_path, runs.run_id.iloc[1], tau, {0: 0.0} | {k: r1 * d / drive[1] for k, d in drive.items()},
         dict.fromkeys((0, 1, 2, 5, 50, 500), 0.99))
    scores = C.separation_scores(C.symmetry_table(tmp_path), runs)
    assert list(scores.k) == [1, 2, 5, 50, 500]
    assert np.allclose(scores.ratio, 1.0)
    # in the stable phase the drive grows linearly: 50 updates separate 50x the first
    assert scores.set_index("k").measured[50] == pytest.approx(50 * r1, rel=1e-3)


def test_only_exact_copies_are_scored_for_separation(tmp_path):
    runs = _runs()
    noisy = runs[runs.init == "copy_noise"].run_id.iloc[0]
    _log(tmp_path, noisy, 2000, {0: 0.1, 1: 0.11}, {0: 0.99, 1: 0.99})
    assert C.separation_scores(C.symmetry_table(tmp_path), runs).empty


def test_expansion_changes_take_late_predictions_only_where_the_runs_own_statistics_had_none(tmp_path, monkeypatch):
    from progtheory.analysis import growth_stats

    runs = pd.DataFrame([dict(run_id=r, recipe="recipe", d=64, steps_T=2500, tau=tau, init=init, eps=eps, seed=0,
                              lr=1e-3, lam=0.01, final_val_loss=1.5)
                         for r, tau, init, eps in (("f", 1.0, "fixed", 0.0), ("c", 0.8, "copy", 0.0),
                                                   ("n", 0.8, "copy_noise", 0.25))])
    scores = pd.DataFrame({"run_id": ["c", "n"], "predicted": [0.6, np.nan], "measured": [1.2, 1.0]})
    monkeypatch.setattr(C, "declared_runs", lambda root: runs)
    monkeypatch.setattr(growth_stats, "expansion_change_scores",
                        lambda folder: scores if folder.name == C.EXPERIMENT else pd.DataFrame())
    (tmp_path / C.EXPERIMENT).mkdir()
    (tmp_path / C.EXPERIMENT / C.NOISY_CHANGE).write_text("run_id,predicted\nn,0.7\nc,9.9\n")
    t = C.expansion_changes(tmp_path).set_index("run_id")
    assert list(t.index) == ["c", "n"]                                        # the fixed run has no change at tau
    assert t.loc["c", "ratio"] == pytest.approx(0.5)                          # its own prediction is kept
    assert t.loc["n", "predicted"] == 0.7 and t.loc["n", "ratio"] == pytest.approx(0.7)


def test_p5_per_budget_pairs_the_copy_with_random_blocks_by_seed(monkeypatch):
    from progtheory.report import copies as RC

    rows = [dict(run_id=f"{i}{s}{T}", recipe="recipe", d=64, steps_T=T, tau=0.8, init=i, eps=0.0, seed=s,
                 lr=1e-3, lam=0.01, final_val_loss=1.5 + 0.01 * s + (0.02 if i == "copy" else 0.0))
            for T in (2500, 10000) for s in (0, 1, 2) for i in ("copy", "random")]
    rows = [r for r in rows if not (r["steps_T"] == 10000 and r["init"] == "random" and r["seed"] == 2)]
    monkeypatch.setattr(C, "declared_runs", lambda root: pd.DataFrame(rows))
    part = RC.p5_budget_part("unused", RC.PAPER_RECIPE)
    assert [c.n for c in part.conditions] == [3, 2]                       # the unpaired seed is left out
    assert all(c.value == pytest.approx(0.02) for c in part.conditions) and not part.judged
    assert RC.p5_budget_part("unused", "sp + AdamW") is None


def test_d32_gap_fall_is_reported_per_init_and_labels_name_adamw():
    from progtheory.report import copies as RC

    loss = {("fixed", 10000): 1.50, ("fixed", 40000): 1.40, ("copy", 10000): 1.65, ("copy", 40000): 1.54,
            ("random", 10000): 1.62, ("random", 40000): 1.47}
    rows = [dict(run_id=f"{i}{s}{T}", recipe="recipe", d=32, steps_T=T, tau=1.0 if i == "fixed" else 0.8, init=i,
                 eps=0.0, seed=s, lr=1e-3, lam=0.01, final_val_loss=loss[i, T])
            for (i, T) in loss for s in (0, 1)]
    part = RC._falls_d32(pd.DataFrame(rows))
    falls = {c.label.split(":")[0]: c.value for c in part.conditions}
    assert falls["copy ε=0"] == pytest.approx(100 * (1.65 / 1.50 - 1.54 / 1.40))
    assert falls["random ε=0"] == pytest.approx(100 * (1.62 / 1.50 - 1.47 / 1.40))
    assert not part.judged and all(c.n == 2 for c in part.conditions)
    tuned = pd.Series(dict(recipe="tuned", d=64, steps_T=10000, seed=1))
    assert RC._tag(tuned) == "d=64, T=10,000, seed 1, sp + AdamW"
    assert "AdamW" not in RC._tag(tuned.replace("tuned", "recipe"))


def test_separation_exponents_recover_power_laws_inside_the_window_only():
    ks = np.array([1, 10, 50, 100, 200, 500, 1000, 2000])
    rows = [dict(run_id="r", i=0, j=j, matrix=m, k=k, measured=0.01 * k ** 0.5 * (1 + j), predicted=0.01 * k,
                 ratio=np.nan) for j in (1, 2) for m in ("a", "b") for k in ks]
    rows += [dict(run_id="r", i=0, j=1, matrix="a", k=k, measured=1.0, predicted=1.0, ratio=np.nan) for k in (20, 3000)]
    ex = C.separation_exponents(pd.DataFrame(rows), 50, 1000).set_index("run_id")
    assert ex.loc["r", "measured"] == pytest.approx(0.5) and ex.loc["r", "predicted"] == pytest.approx(1.0)
    assert ex.loc["r", "n"] == 4
    assert C.separation_exponents(pd.DataFrame(rows), 2000, 5000).empty   # fewer than three k in the window
