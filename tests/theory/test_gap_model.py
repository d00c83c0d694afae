"""The grown-model gap model (theory.gap_model) and the laws it stands on (theory.loss_laws):
each piece recovers its constants from curves drawn from itself."""

import numpy as np
import pytest

from progtheory.theory import gap_model as GM
from progtheory.theory import loss_laws as LL
from progtheory.theory.schedules import lr_factor

T = 2000
STEPS = np.arange(T)
PEAK = 3.5e-3
WSD = PEAK * lr_factor(STEPS, T, "wsd", warmup=0.02, decay=0.1)
COSINE = PEAK * lr_factor(STEPS, T, "cosine", warmup=0.02)
TARGET = LL.MultiPowerLaw(L0=1.3, A=0.5, alpha=0.6, B=30.0, C=2.0, beta=0.6, gamma=0.5, shift=0.3)
SOURCE = LL.MultiPowerLaw(L0=2.4, A=0.2, alpha=0.8, B=10.0, C=2.0, beta=0.6, gamma=0.5)
GROWN = GM.GrownModel(TARGET, SOURCE, rate=0.6, lag=60 * PEAK, spike=0.4, recovery=20 * PEAK)
TAU = 1000


@pytest.mark.parametrize("form", LL.MPL_FORMS)
def test_both_law_forms_with_an_area_offset_recover_their_constants(form):
    # decay bonus about 0.1 nats, as measured; two WSD budgets, as the ladder's fixed pilots
    law = LL.MultiPowerLaw(L0=1.3, A=0.5, alpha=0.6, B=30.0 if form == "additive" else 85.0, C=2.0,
                           beta=0.6, gamma=0.5, form=form, shift=0.3)
    budgets = [PEAK * lr_factor(np.arange(n), n, "wsd", warmup=0.02, decay=0.1) for n in (1000, 4000)]
    curves = [(np.arange(len(lr)), lr, law.predict(np.arange(len(lr)), lr)) for lr in budgets]
    fit = LL.fit_multi_power_law(curves, stride=10, form=form, shift=True)
    long = PEAK * lr_factor(np.arange(16000), 16000, "wsd", warmup=0.02, decay=0.1)
    # the final loss of a budget 4x the longest fitted, the use the ladder makes of the law
    assert fit.curve(long, [15999])[0] == pytest.approx(law.curve(long, [15999])[0], rel=2e-3)
    # the multiplicative form's loose decay constants leave its power part within 3%
    assert (fit.L0, fit.A, fit.alpha, fit.shift) == pytest.approx((1.3, 0.5, 0.6, 0.3),
                                                                  rel=1e-3 if form == "additive" else 3e-2)
    if form == "additive":  # every constant; one decay shape leaves the multiplicative C, beta, gamma loose
        assert (fit.B, fit.C, fit.beta, fit.gamma) == pytest.approx((30.0, 2.0, 0.6, 0.5), rel=1e-3)


def test_an_unknown_law_form_is_refused():
    with pytest.raises(ValueError, match="form='cubic' is unknown"):
        LL.MultiPowerLaw(1.0, 1.0, 0.5, 1.0, 1.0, 0.5, 0.5, form="cubic")


def test_stable_area_inverts_the_constant_lr_curve():
    for loss in (1.5, 2.0, 3.0):
        S = TARGET.stable_area(loss)
        assert TARGET.L0 + TARGET.A * TARGET.power(S) == pytest.approx(loss, rel=1e-12)
    assert TARGET.stable_area(TARGET.L0) == float("inf")


def test_the_grown_model_starts_at_the_source_loss():
    # no learning yet (rate 0), no spike, no LR drop at tau (WSD's stable phase): the grown
    # model's loss is the source's own, to rounding
    for tau in (500, 1000, 1500):
        model = GM.GrownModel(TARGET, SOURCE, rate=0.0, lag=0.0, spike=0.0)
        assert model.curve(WSD, tau, [tau])[0] == pytest.approx(GM.source_loss(SOURCE, WSD, tau), rel=1e-9)


def test_a_source_that_flattens_brings_a_head_start_that_grows_slower_than_tau():
    areas = [GROWN.start_area(WSD, tau) for tau in (500, 1000, 1500)]
    assert areas[0] < areas[1] < areas[2]
    assert areas[2] - areas[1] < areas[1] - areas[0]


def test_the_grown_constants_are_recovered_from_a_synthetic_progressive_curve():
    pilots = []
    for eta in (WSD, COSINE):
        loss = np.full(T, np.nan)
        loss[TAU:] = GROWN.curve(eta, TAU, STEPS[TAU:])
        pilots.append(GM.Pilot(eta, TAU, STEPS, loss))
    fit = GM.fit_grown(TARGET, SOURCE, pilots, PEAK)
    assert (fit.rate, fit.lag / PEAK, fit.spike, fit.recovery / PEAK) == pytest.approx((0.6, 60, 0.4, 20), rel=1e-3)


def test_the_clock_exponent_is_recovered_where_two_schedules_separate_it():
    truth = GM.GrownModel(TARGET, SOURCE, rate=0.6, lag=60 * PEAK, spike=0.0, recovery=20 * PEAK, clock=0.5)
    pilots = []
    for eta in (WSD, COSINE):
        loss = np.full(T, np.nan)
        loss[TAU:] = truth.curve(eta, TAU, STEPS[TAU:])
        pilots.append(GM.Pilot(eta, TAU, STEPS, loss))
    fit = GM.fit_grown(TARGET, SOURCE, pilots, PEAK, clock=None)
    assert fit.clock == pytest.approx(0.5, abs=1e-3)
    one = GM.fit_grown(TARGET, SOURCE, pilots[:1], PEAK, clock=None)  # one schedule: q stays 1
    assert one.clock == 1.0


def test_the_spike_term_recovers_a_synthetic_spike():
    loss = np.full(T, np.nan)
    loss[TAU:] = GROWN.curve(WSD, TAU, STEPS[TAU:])
    fit = GM.fit_grown(TARGET, SOURCE, [GM.Pilot(WSD, TAU, STEPS, loss)], PEAK)
    assert fit.spike == pytest.approx(0.4, rel=1e-3)
    assert fit.recovery == pytest.approx(20 * PEAK, rel=1e-3)
    after = GROWN.curve(WSD, TAU, [TAU]) - GM.GrownModel(TARGET, SOURCE, 0.6, 60 * PEAK).curve(WSD, TAU, [TAU])
    assert after[0] == pytest.approx(0.4 * np.exp(-1 / 20), rel=1e-9)  # h e^(-a/kappa) at a = eta_peak


def test_a_grown_model_that_learns_as_fast_as_a_fresh_one_from_the_same_start_has_no_gap():
    # rate 1, no lag, no spike, and a source whose loss at tau equals the target's: the gap is 0
    same = GM.GrownModel(TARGET, TARGET, rate=1.0)
    assert abs(same.final_gap(WSD, TAU)) < 1e-3


def test_the_gap_shrinks_with_rate_and_grows_with_lag():
    gaps = [GM.GrownModel(TARGET, SOURCE, rate=r, lag=lag).final_gap(WSD, TAU)
            for r, lag in ((0.4, 0.0), (0.8, 0.0), (0.8, 100 * PEAK))]
    assert gaps[1] < gaps[0] and gaps[1] < gaps[2]


def test_bad_inputs_name_the_value():
    with pytest.raises(ValueError, match="pilots is empty"):
        GM.fit_grown(TARGET, SOURCE, [], PEAK)
    with pytest.raises(ValueError, match="peak_lr=0"):
        GM.fit_grown(TARGET, SOURCE, [GM.Pilot(WSD, TAU, STEPS, WSD)], 0)
    with pytest.raises(ValueError, match="tau=0"):
        GROWN.curve(WSD, 0, [10])
    with pytest.raises(ValueError, match="must lie in"):
        GROWN.curve(WSD, TAU, [TAU - 1])
