"""The measured depth exponent of the LR optimum (progtheory.analysis.lr)."""

import numpy as np
import pandas as pd
import pytest

from progtheory.analysis import lr as L


def _optima(exponent, noise=0.0, depths=(1, 2, 4, 8)):
    rng = np.random.default_rng(0)
    return pd.DataFrame(dict(depth=depths, at_edge=False,
                             lr_opt=[3e-3 * d ** exponent * np.exp(noise * rng.standard_normal()) for d in depths]))


def test_exponent_ci_recovers_a_power_law_and_its_interval_covers_it_under_noise():
    e, lo, hi, n = L.exponent_ci(_optima(-0.5))
    assert e == pytest.approx(-0.5, abs=1e-9) and n == 4 and lo == pytest.approx(hi, abs=1e-9)
    e, lo, hi, _ = L.exponent_ci(_optima(-0.5, noise=0.1))
    assert lo < -0.5 < hi and lo < e < hi


def test_equal_optima_give_exactly_zero_and_two_depths_give_no_interval():
    e, lo, hi, n = L.exponent_ci(_optima(0.0))
    assert e == 0.0 and np.copysign(1, e) == 1  # no signed zero in the report
    e, lo, hi, n = L.exponent_ci(_optima(-1.0, depths=(1, 4)))
    assert e == pytest.approx(-1.0) and np.isnan(lo) and np.isnan(hi) and n == 2
    assert np.isnan(L.exponent_ci(_optima(-1.0, depths=(4,)))[0])


def test_depth_exponent_reports_the_exponent_and_its_interval_per_group():
    optima = pd.concat([_optima(-1.0).assign(par="sp"), _optima(0.0).assign(par="mup")])
    out = L.depth_exponent(optima, ["par"]).set_index("par")
    assert out.loc["sp", "exponent"] == pytest.approx(-1.0) and out.loc["mup", "exponent"] == 0.0
    assert set(out.columns) >= {"lo", "hi", "n_depths", "n_at_edge"}
