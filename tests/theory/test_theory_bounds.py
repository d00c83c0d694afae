"""LR sums, r(tau), closed forms and convex bounds (progtheory.theory.bounds)."""

import numpy as np
import pytest

from progtheory.theory import bounds as B

SCHEDULES = [("wsd", "linear"), ("wsd", "cosine"), ("wsd", "sqrt"), ("cosine", "linear"),
             ("linear", "linear"), ("constant", "linear")]


@pytest.mark.parametrize("kind, shape", SCHEDULES)
def test_closed_forms_agree_with_the_numeric_sums(kind, shape):
    # continuous-time forms differ from the discrete sums by O(1/T): at T = 20000 well under 1e-3
    T = 20000
    kw = dict(warmup=0.05, decay=0.2, decay_shape=shape, final_lr_frac=0.1)
    e = B.schedule_values(T, kind, **kw)
    S, Q = B.lr_sums(e)
    assert B.area_fraction(1.0, kind, quantity="total", **kw) * T == pytest.approx(S, rel=1e-3)
    assert B.area_fraction(1.0, kind, quantity="total_sq", **kw) * T == pytest.approx(Q, rel=1e-3)
    taus = np.array([0, 500, 3000, 9000, 15000, 17000, 19000, 20000])
    np.testing.assert_allclose(B.area_fraction(taus / T, kind, **kw), B.r_of_tau(e, taus), atol=1e-3)


def test_closed_form_error_shrinks_as_the_horizon_grows():
    def err(T):
        return abs(B.area_fraction(0.8) - B.r_of_tau(B.schedule_values(T), int(0.8 * T)))
    assert err(8000) < err(1000) / 4


def test_r_tau_is_zero_at_start_one_at_end_and_nondecreasing():
    for kind, shape in SCHEDULES:
        e = B.schedule_values(1000, kind, decay_shape=shape)
        r = B.r_of_tau(e, np.arange(1001))
        assert r[0] == 0 and r[-1] == pytest.approx(1.0) and np.all(np.diff(r) >= 0)


def test_paper_r_values_for_wsd_and_cosine():
    assert B.area_fraction(0.8, "wsd", warmup=0.02, decay=0.1) == pytest.approx(0.84, abs=0.005)
    assert B.area_fraction(0.5, "cosine", warmup=0.02) == pytest.approx(0.81, abs=0.005)
    assert B.r_of_tau(B.schedule_values(10000, "wsd"), 8000) == pytest.approx(0.84, abs=0.005)
    assert B.r_of_tau(B.schedule_values(10000, "cosine"), 5000) == pytest.approx(0.81, abs=0.005)


def test_wsd_total_area_has_the_expected_symbolic_form():
    import sympy as sp

    cf = B.closed_form("wsd", "linear")
    w, d, f = sp.symbols("w d f", nonnegative=True)
    assert sp.simplify(cf["total"] - (1 - w / 2 - d * (1 - f) / 2)) == 0


def test_last_iterate_bound_exceeds_the_averaged_bound():
    e = 0.01 * B.schedule_values(500, "wsd")
    assert B.last_iterate_bound(e, 1.0, 1.0) > B.averaged_iterate_bound(e, 1.0, 1.0)


def test_constant_schedule_bound_matches_hand_computation():
    e = np.full(4, 0.5)
    # S = 2, Q = 1: D^2/(2S) + G^2 Q/(2S) = 1/4 + 1/4; extra = 1/2 * sum_k e_k/tail_{>k} * tailsq_k/tail_k
    extra = 0.5 * sum(0.5 / (0.5 * (4 - k - 1)) * (0.25 * (4 - k)) / (0.5 * (4 - k)) for k in range(3))
    assert B.averaged_iterate_bound(e, 1.0, 1.0) == pytest.approx(0.5)
    assert B.last_iterate_bound(e, 1.0, 1.0) == pytest.approx(0.5 + extra)


def test_optimal_peak_lr_minimises_the_bound_and_scales_as_inverse_sqrt_T():
    f = B.schedule_values(2000, "wsd")
    g_star, b_star = B.optimal_peak_lr(f, 2.0, 1.0)
    for g in (0.7 * g_star, 1.4 * g_star):
        assert B.last_iterate_bound(g * f, 2.0, 1.0) > b_star
    assert B.last_iterate_bound(g_star * f, 2.0, 1.0) == pytest.approx(b_star)
    g4, _ = B.optimal_peak_lr(B.schedule_values(8000, "wsd"), 2.0, 1.0, bound="averaged")
    g1, _ = B.optimal_peak_lr(B.schedule_values(2000, "wsd"), 2.0, 1.0, bound="averaged")
    assert g4 / g1 == pytest.approx(0.5, rel=0.01)


def test_fitter_recovers_bound_constants_and_predicts_the_remainder():
    e = 0.05 * B.schedule_values(1000, "wsd")
    steps = np.arange(20, 1001, 20)
    truth = B.BoundFit(L_star=2.5, D=3.0, G=1.5, r2=1.0)
    y = truth.predict(e, steps)
    fit = B.fit_bound(e, steps[:40], y[:40])  # fit on the first 80% of the run
    assert (fit.L_star, fit.D, fit.G) == pytest.approx((2.5, 3.0, 1.5), rel=1e-4)
    np.testing.assert_allclose(fit.predict(e, steps[40:]), y[40:], rtol=1e-6)
    noisy = y + np.random.default_rng(0).normal(0, 1e-3, y.shape)
    assert B.fit_bound(e, steps, noisy).r2 > 0.95


def test_progressive_gap_grows_with_r_tau_and_with_a_worse_teleport():
    g = B.progressive_gap(np.array([0.2, 0.8]), 0.5, 1.0, 1.0, 10.0)
    assert g[1] > g[0]
    assert B.progressive_gap(0.5, 0.5, 4.0, 1.0, 10.0) > B.progressive_gap(0.5, 0.5, 1.0, 1.0, 10.0)


def test_bad_inputs_raise_naming_the_value():
    e = B.schedule_values(100)
    with pytest.raises(ValueError, match="tau=200"):
        B.r_of_tau(e, 200)
    with pytest.raises(ValueError, match="u=1.5"):
        B.area_fraction(1.5)
    with pytest.raises(ValueError, match="kind 'step'"):
        B.closed_form("step")
    with pytest.raises(ValueError, match="no positive step"):
        B.last_iterate_bound(np.zeros(5), 1.0, 1.0)
