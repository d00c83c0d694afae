"""Schedule-driven loss laws and the head-start model of a progressive run (theory.loss_laws)."""

import numpy as np
import pytest

from progtheory.theory import loss_laws as LL
from progtheory.theory.schedules import lr_factor

T = 2000
STEPS = np.arange(T)
PEAK = 1.5e-3
SCHEDULES = [PEAK * lr_factor(STEPS, T, kind, **kw)
             for kind, kw in (("wsd", {}), ("cosine", {}), ("wsd", {"decay": 0.3}))]
MPL = LL.MultiPowerLaw(L0=1.4, A=0.6, alpha=0.5, B=300.0, C=2.0, beta=0.6, gamma=0.5)


def test_multi_power_law_recovers_its_constants_from_its_own_curves():
    curves = [(STEPS, lr, MPL.predict(STEPS, lr)) for lr in SCHEDULES]
    fit = LL.fit_multi_power_law(curves, stride=20)
    got = (fit.L0, fit.A, fit.alpha, fit.B, fit.C, fit.beta, fit.gamma)
    # noise-free curves of the same family: only the optimizer's tolerance is left
    assert got == pytest.approx((1.4, 0.6, 0.5, 300.0, 2.0, 0.6, 0.5), rel=1e-3)
    assert fit.at_bound == ()


def test_tissue_law_recovers_its_constants_from_its_own_curves():
    true = LL.LossLaw(L0=1.4, A=0.6, alpha=0.5, C=0.5)
    fit = LL.fit_loss_law([(STEPS[::5], lr[::5], true.predict(STEPS, lr)[::5]) for lr in SCHEDULES[:2]])
    assert (fit.L0, fit.A, fit.alpha, fit.C) == pytest.approx((1.4, 0.6, 0.5, 0.5), rel=1e-3)


def test_a_fit_that_hits_a_bound_says_so():
    curves = [(STEPS, lr, MPL.predict(STEPS, lr)) for lr in SCHEDULES]
    fit = LL.fit_multi_power_law(curves, bounds={"alpha": (0.01, 0.3)}, stride=40)
    assert "alpha" in fit.at_bound


def test_the_decay_term_is_zero_without_an_lr_drop():
    lr = PEAK * lr_factor(STEPS, T, "constant", warmup=0.02)
    no_decay = MPL.L0 + MPL.A * np.cumsum(lr) ** -MPL.alpha
    np.testing.assert_allclose(MPL.predict(STEPS, lr), no_decay, rtol=1e-12)


def test_decaying_the_lr_lowers_the_predicted_loss():
    assert MPL.predict(STEPS, SCHEDULES[0])[-1] < MPL.predict(STEPS, PEAK * lr_factor(STEPS, T, "constant"))[-1]


def test_a_head_start_of_tau_steps_reproduces_the_fixed_run():
    eta = SCHEDULES[0]
    after = np.arange(1000, T)
    np.testing.assert_allclose(LL.head_start_curve(MPL, eta, 1000, 1000.0, after), MPL.curve(eta, after), rtol=1e-12)


def test_head_start_model_recovers_delta_from_a_synthetic_progressive_curve():
    eta = SCHEDULES[0]
    tau = 1000
    loss = np.full(T, np.nan)
    loss[tau:] = LL.head_start_curve(MPL, eta, tau, 120.0, STEPS[tau:])
    model = LL.fit_head_start(MPL, [(STEPS, eta, loss, tau)], form="constant")
    assert model.delta(tau) == pytest.approx(120.0, rel=1e-3)
    prop = LL.fit_head_start(MPL, [(STEPS, eta, loss, tau)])
    assert prop.d1 == pytest.approx(0.12, rel=1e-3)


def test_affine_head_start_recovers_both_coefficients_from_two_pilots():
    eta = SCHEDULES[0]
    pilots = []
    for tau in (500, 1500):
        loss = np.full(T, np.nan)
        loss[tau:] = LL.head_start_curve(MPL, eta, tau, 50.0 + 0.2 * tau, STEPS[tau:])
        pilots.append((STEPS, eta, loss, tau))
    model = LL.fit_head_start(MPL, pilots, form="affine")
    assert (model.d0, model.d1) == pytest.approx((50.0, 0.2), rel=2e-2)  # Nelder-Mead tolerance


def test_predicted_gap_grows_with_tau_and_shrinks_with_the_budget():
    model = LL.HeadStartModel(MPL, d0=0.0, d1=0.1)
    gaps_tau = [LL.predicted_gap(model, u, T, PEAK) for u in (0.25, 0.5, 0.8)]
    gaps_T = [LL.predicted_gap(model, 0.8, n, PEAK) for n in (1000, 4000, 16000)]
    assert gaps_tau[0] < gaps_tau[1] < gaps_tau[2]
    assert gaps_T[0] > gaps_T[1] > gaps_T[2] > 0


def test_planning_answers_are_consistent_with_the_predicted_gap():
    model = LL.HeadStartModel(MPL, d0=0.0, d1=0.1)
    tau = LL.latest_tau_within(model, T, PEAK, eps=0.01)
    assert tau is not None and LL.predicted_gap(model, tau, T, PEAK) <= 0.01
    assert LL.predicted_gap(model, tau + 0.9 / 40, T, PEAK) > 0.01
    good_source = LL.HeadStartModel(MPL, d0=0.0, d1=0.9)
    n = LL.smallest_budget(good_source, PEAK, tau_frac=0.8, eps=0.005, T_max=10**6)
    assert n is not None and LL.predicted_gap(good_source, 0.8, n, PEAK) <= 0.005
    assert LL.predicted_gap(good_source, 0.8, int(n / 1.05), PEAK) > 0.005


def test_equal_loss_efficiency_counts_the_cheaper_source_steps():
    model = LL.HeadStartModel(MPL, d0=0.0, d1=1.0)  # a source as good as the target: no gap
    out = LL.equal_loss_efficiency(model, 0.5, T, PEAK, flops_source=1.0, flops_target=4.0)
    assert out["T_eq"] == T
    assert out["efficiency"] == pytest.approx(T * 4.0 / (1000 * 1.0 + 1000 * 4.0))


def test_bad_arguments_name_the_value_and_the_fix():
    with pytest.raises(ValueError, match="tau_frac=1.2"):
        LL.predicted_gap(LL.HeadStartModel(MPL, 10.0), 1.2, T, PEAK)
    with pytest.raises(ValueError, match="form='cubic'"):
        LL.fit_head_start(MPL, [(STEPS, SCHEDULES[0], np.ones(T), 1000)], form="cubic")
    with pytest.raises(ValueError, match="pilots is empty"):
        LL.fit_head_start(MPL, [])
    with pytest.raises(ValueError, match="need >= 8"):
        LL.fit_multi_power_law([(STEPS[:3], SCHEDULES[0][:3], np.ones(3))])
