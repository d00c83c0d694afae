"""The memory model's fit on pilots and its held-out statements (progtheory.analysis.memory)."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import memory as M
from progtheory.theory import weight_decay as WD


def _runs(gap_0=20.0, floor=5.0):
    """Fixed and 0-layer runs at the pilot condition whose gaps follow the memory model exactly."""
    rec, T, tau = M.PILOT
    A = M.lr_area_after(rec, T, tau)
    rows = []
    for lam in (0.01, 0.03, 0.3):
        for seed in (0, 1):
            fixed = 1.5 + 0.01 * seed
            gap = WD.forgetting_gap(lam * A, gap_0, floor) / 100
            rows.append(dict(recipe=rec, steps_T=T, lam=lam, seed=seed, source=-1, tau=1.0, final_val_loss=fixed))
            rows.append(dict(recipe=rec, steps_T=T, lam=lam, seed=seed, source=0, tau=tau,
                             final_val_loss=fixed * (1 + gap)))
    return pd.DataFrame(rows)


def test_the_pilots_give_gap_0_and_floor_and_the_held_out_lam_is_predicted():
    gaps = M.measured_gaps(_runs())
    fits = M.fit_pilots(gaps)
    assert fits[0] == pytest.approx((20.0, 5.0), rel=1e-9)
    held = gaps[np.isclose(gaps.lam, 0.03)].gap.iloc[0]
    assert M.predict(fits, *M.PILOT, 0, 0.03)["gap"] == pytest.approx(held, rel=1e-9)


def test_elsewhere_the_statement_is_a_ratio_that_is_one_at_the_anchor_and_falls_with_lam():
    fits = {0: (20.0, 5.0)}
    at_anchor = M.predict(fits, "recipe", 10000, 0.5, 0, M.ANCHOR_LAM)["ratio"]
    assert at_anchor == pytest.approx(1.0)
    ratios = [M.predict(fits, "recipe", 10000, 0.5, 0, lam)["ratio"] for lam in (0.03, 0.1, 1.0)]
    assert ratios[0] > ratios[1] > ratios[2] > 5.0 / 20.0 * 0.99  # never below the floor share


def test_the_lr_area_after_tau_is_the_schedules_own():
    # WSD at T = 10,000: tau = 0.8T leaves 1,000 stable steps and a 1,000-step linear decay
    assert M.lr_area_after("recipe", 10000, 0.8) == pytest.approx(M.PEAK_LR["recipe"] * 1500.5, rel=1e-3)
    with pytest.raises(ValueError, match="recipe='muon'"):
        M.lr_area_after("muon", 10000, 0.8)


def test_missing_pilots_are_named():
    gaps = M.measured_gaps(_runs())
    with pytest.raises(ValueError, match="need gaps at lam"):
        M.fit_pilots(gaps[~np.isclose(gaps.lam, 0.3)])
    with pytest.raises(ValueError, match="no pilot runs"):
        M.fit_pilots(gaps.iloc[:0])
