"""The source-offset law of a grown run against a fresh start (theory.loss_laws.fresh_offset)."""

import numpy as np
import pytest

from progtheory.theory.loss_laws.fresh_offset import OffsetLaw, fit_offset_law

S = np.array([500, 1250, 2000, 5000, 8000, 32000])


@pytest.mark.parametrize("true", [OffsetLaw(0.1, -0.2, 1.0), OffsetLaw(0.015, 0.06, 2.0)])
def test_offset_law_recovers_its_constants_from_its_own_points(true):
    fit = fit_offset_law(S, true(S))
    # noise-free points of the same family: only the 1-D search's tolerance is left
    assert (fit.d_inf, fit.b, fit.c) == pytest.approx((true.d_inf, true.b, true.c), rel=1e-3, abs=1e-5)


def test_offset_law_tends_to_d_inf_and_equals_d_inf_plus_b_at_the_reference():
    law = OffsetLaw(0.1, -0.2, 1.0)
    assert law(1000.0) == pytest.approx(-0.1)
    assert law(1e9) == pytest.approx(0.1, abs=1e-6)


def test_weights_pull_the_fit_toward_the_heavier_points():
    true = OffsetLaw(0.1, -0.2, 1.0)
    noisy = true(S) + np.array([0, 0, 0, 0, 0, 0.05])
    light = fit_offset_law(S, noisy, weights=[3, 3, 3, 3, 3, 1])
    heavy = fit_offset_law(S, noisy, weights=[3, 3, 3, 3, 3, 100])
    assert abs(heavy(32000) - noisy[-1]) < abs(light(32000) - noisy[-1])


def test_bad_input_is_refused_with_the_value():
    with pytest.raises(ValueError, match="three or more distinct S"):
        fit_offset_law([500, 500, 2000], [0.1, 0.1, 0.0])
    with pytest.raises(ValueError, match="one value per condition"):
        fit_offset_law([500, 2000, 8000], [0.1, 0.0])
    with pytest.raises(ValueError, match="must be positive"):
        OffsetLaw(0.0, 0.1, 1.0)(0)
