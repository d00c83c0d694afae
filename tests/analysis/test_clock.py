"""Every progressive run on the memory clock (`analysis.clock`): pairing by config, lam * A, one curve."""

import json

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import clock as C
from progtheory.theory import weight_decay as WD
from progtheory.theory.schedules import lr_factor

SCHEDULE = {"kind": "wsd", "warmup": 0.02, "decay": 0.1, "decay_shape": "linear", "final_lr_frac": 0.0}


def _cfg(run_id, lam, seed=0, growth=None, steps=1000):
    return {"run_id": run_id, "name": "x", "steps": steps, "lr": 0.01, "weight_decay": lam, "seed": seed,
            "schedule": SCHEDULE, "model": {"n_embd": 32, "parametrization": "sp"}, "optimizer": "adamw",
            "ckpt_every": 100, "growth": growth}


def _folder(root, name, rows):
    """A results folder: runs.csv and provenance.jsonl of (config, final loss, status) rows."""
    f = root / name
    f.mkdir(parents=True)
    pd.DataFrame([{"run_id": c["run_id"], "final_val_loss": loss, "status": st} for c, loss, st in rows]).to_csv(
        f / "runs.csv", index=False)
    (f / "provenance.jsonl").write_text("".join(json.dumps({"run_id": c["run_id"], "config": c}) + "\n"
                                                for c, _, _ in rows))


def _grown(run_id, lam, seed=0, tau=0.8):
    return _cfg(run_id, lam, seed, {"source_depth": 0, "init": "random", "stages": [[tau, 4]]})


def test_runs_pair_with_the_fixed_run_of_the_same_config_across_folders(tmp_path):
    _folder(tmp_path, "a", [(_cfg("f1", 0.1), 2.0, "completed"), (_cfg("f2", 0.1, seed=1), 2.2, "completed")])
    _folder(tmp_path, "b", [(_grown("p1", 0.1), 2.2, "completed"), (_grown("p2", 0.1, seed=1), 2.2, "completed"),
                            (_grown("p3", 0.3), 2.5, "completed"), (_grown("p4", 0.1, seed=2), 9.0, "diverged")])
    g = C.project_gaps(tmp_path).set_index("run_id")
    assert sorted(g.index) == ["p1", "p2"]  # p3 has no fixed run at lam = 0.3, p4 did not complete
    assert g.loc["p1", "gap"] == pytest.approx(10.0) and g.loc["p2", "gap"] == pytest.approx(0.0, abs=1e-9)
    eta = 0.01 * lr_factor(np.arange(1000), 1000, "wsd", 0.02, 0.1)
    assert g.loc["p1", "lam_A"] == pytest.approx(0.1 * WD.lr_area(eta, 800))
    assert (g.loc["p1", "tau_step"], g.loc["p1", "tau"]) == (800, 0.8)


def test_gaps_on_one_memory_curve_are_explained_and_a_budget_spread_is_not():
    lam_A = np.array([0.01, 0.1, 0.5, 1.0, 3.0])
    on_curve = pd.DataFrame({"recipe": "r", "source": 0, "init": "random", "lam_A": lam_A,
                             "gap": WD.forgetting_gap(lam_A, 20.0, 4.0)})
    (row,) = C.one_curve(on_curve).itertuples()
    assert row.r2 == pytest.approx(1.0) and (row.gap_0, row.floor) == pytest.approx((20.0, 4.0))
    spread = on_curve.assign(gap=[40.0, 5.0, 30.0, 6.0, 20.0])
    assert C.one_curve(spread).r2.iloc[0] < 0.5
