"""Seed-mean curves and paired final gaps (progtheory.analysis.stats)."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import stats as S


def _metrics():
    """Two runs logging lr every step and val_loss every other step; run b skips step 4."""
    rows = []
    for rid, offset in (("a", 0.0), ("b", 1.0)):
        for step in range(0, 400, 50):
            if rid == "b" and step == 300:
                continue
            rows.append(dict(run_id=rid, step=step, lr=1e-3, val_loss=2.0 + offset if step % 100 == 0 else np.nan))
    return pd.DataFrame(rows)


def test_mean_curve_is_the_seed_mean_where_runs_logged_and_nan_elsewhere():
    steps, lr, y = S.mean_curve(_metrics())
    assert list(steps) == list(range(0, 400, 50)) and np.allclose(lr, 1e-3)
    assert y[list(steps).index(100)] == pytest.approx(2.5)  # both runs evaluated
    assert y[list(steps).index(300)] == pytest.approx(2.0)  # run b did not log step 300
    assert np.isnan(y[list(steps).index(50)])  # no evaluation at step 50


def test_a_run_drawn_twice_weighs_twice_and_the_val_curve_starts_at_min_step():
    _, _, y = S.mean_curve(_metrics(), ["a", "a", "b"])
    assert y[2] == pytest.approx((2 * 2.0 + 3.0) / 3)
    steps, _, v = S.val_curve(_metrics(), ["a", "b"])
    assert np.isnan(v[steps < S.MIN_STEP]).all() and np.isfinite(v[steps == S.MIN_STEP]).all()


def test_paired_gaps_pair_each_progressive_run_with_the_fixed_run_sharing_its_tags():
    runs = pd.DataFrame(dict(source=[-1, -1, 0, 0, 0, 1], schedule="wsd", seed=[0, 1, 0, 1, 2, 0],
                             tau=[1.0, 1.0, 0.5, 0.5, 0.5, 0.5], final_val_loss=[2.0, 4.0, 2.2, 4.4, 9.9, 3.0]))
    got = {key: (list(rows.seed), gaps) for key, rows, gaps in S.paired_gaps(runs, ("schedule", "seed"),
                                                                               ("source", "tau"))}
    seeds, gaps = got[(0, 0.5)]
    assert seeds == [0, 1, 2] and gaps == pytest.approx([0.1, 0.1])  # seed 2 has no fixed twin
    assert got[(1, 0.5)][1] == pytest.approx([0.5])
