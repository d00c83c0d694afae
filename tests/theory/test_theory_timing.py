"""Mixing time, latest tau and the schedule-driven loss law (progtheory.theory.timing)."""

import numpy as np
import pytest

from progtheory.config import GPTConfig
from progtheory.theory import timing as Tm
from progtheory.theory.schedules import lr_factor

T = 2000
STEPS = np.arange(T)
LR_WSD = 3e-3 * lr_factor(STEPS, T, "wsd")
LR_COS = 3e-3 * lr_factor(STEPS, T, "cosine")
TARGET = Tm.LossLaw(L0=3.0, A=2.0, alpha=0.5, C=2.0)
SOURCE = Tm.LossLaw(L0=3.6, A=2.0, alpha=0.5, C=2.0)


def _synthetic_pair(tau, gap0=0.2, decay=100.0, noise=0.0, seed=0):
    fixed = 3.0 + 5.0 / np.sqrt(STEPS + 10.0)
    prog = fixed + np.where(STEPS >= tau, gap0 * np.exp(-(STEPS - tau) / decay), gap0)
    rng = np.random.default_rng(seed)
    return fixed + rng.normal(0, noise, T), prog + rng.normal(0, noise, T)


def test_mixing_time_recovers_the_decay_of_a_known_gap():
    fixed, prog = _synthetic_pair(tau=1000)
    # relative gap 0.2 e^{-t/100} / L falls under eps at t = 100 ln(0.2 / (eps L))
    L = 3.0 + 5.0 / np.sqrt(np.arange(1000, 2000) + 10.0)
    expected = np.argmax(0.2 * np.exp(-np.arange(1000) / 100.0) / L <= 0.005)
    assert Tm.mixing_time(STEPS, prog, STEPS, fixed, tau=1000, window=1) == pytest.approx(expected, abs=1)


def test_mixing_time_is_robust_to_eval_noise_and_a_spike():
    fixed, prog = _synthetic_pair(tau=1000, noise=0.002)
    prog[1500] += 1.0  # one bad evaluation long after mixing
    clean = Tm.mixing_time(STEPS, _synthetic_pair(1000)[1], STEPS, _synthetic_pair(1000)[0], 1000, window=1)
    noisy = Tm.mixing_time(STEPS, prog, STEPS, fixed, tau=1000, window=9)
    assert noisy == pytest.approx(clean, abs=40)


def test_a_run_that_never_mixes_has_infinite_mixing_time():
    fixed, prog = _synthetic_pair(tau=1000, decay=1e6)
    assert Tm.mixing_time(STEPS, prog, STEPS, fixed, tau=1000) == np.inf
    assert Tm.latest_tau(T, np.inf) is None


def test_latest_tau_is_T_minus_t_mix_clipped_to_the_stable_phase():
    assert Tm.latest_tau(1000, 300) == 700
    assert Tm.latest_tau(1000, 50) == 900          # decay phase starts at 900
    assert Tm.latest_tau(1000, 990) is None        # warmup ends at 20
    assert Tm.latest_tau(1000, 50, kind="cosine") == 950


def test_compute_saved_grows_with_tau():
    cfg = GPTConfig(vocab_size=256, block_size=64, n_layer=4, n_head=2, n_embd=64)
    s = [Tm.compute_saved_at(cfg, 0, 4, tau, 1000) for tau in (200, 500, 800)]
    assert s[0] < s[1] < s[2] < 0.8


def test_areas_match_direct_sums_for_every_logged_step():
    S1, S2 = Tm.schedule_areas(STEPS, LR_WSD)
    assert S1[-1] == pytest.approx(LR_WSD.sum())
    assert S2[1799] == 0 and np.all(np.diff(S2) >= 0)
    sparse = STEPS[::10]
    np.testing.assert_allclose(Tm.schedule_areas(sparse, LR_WSD[::10])[0], S1[::10], rtol=1e-2)


def test_loss_law_fitter_recovers_known_constants():
    curves = [(STEPS[::5], lr[::5], TARGET.predict(STEPS, lr)[::5]) for lr in (LR_WSD, LR_COS)]
    fit = Tm.fit_loss_law(curves)
    assert (fit.L0, fit.A, fit.alpha, fit.C) == pytest.approx((3.0, 2.0, 0.5, 2.0), rel=1e-3)


def test_loss_law_fit_on_wsd_predicts_cosine():
    noise = np.random.default_rng(0).normal(0, 1e-3, T)
    fit = Tm.fit_loss_law([(STEPS, LR_WSD, TARGET.predict(STEPS, LR_WSD) + noise)])
    np.testing.assert_allclose(fit.predict(STEPS, LR_COS)[100:],
                               TARGET.predict(STEPS, LR_COS)[100:], rtol=0.01)


def test_progressive_law_is_continuous_at_tau_and_tends_to_the_target():
    law = Tm.ProgressiveLaw(SOURCE, TARGET, s_mix=0.5)
    y = law.predict(STEPS, LR_WSD, 1000)
    assert y[1000] == pytest.approx(y[999], abs=0.01)
    fixed = TARGET.predict(STEPS, LR_WSD)
    assert y[1000] - fixed[1000] > y[-1] - fixed[-1] > 0


def test_mixing_area_fitter_recovers_a_known_value():
    truth = Tm.ProgressiveLaw(SOURCE, TARGET, s_mix=0.8)
    pilots = [(STEPS, LR_WSD, truth.predict(STEPS, LR_WSD, tau), tau) for tau in (800, 1200)]
    assert Tm.fit_mixing_area(SOURCE, TARGET, pilots).s_mix == pytest.approx(0.8, rel=1e-3)


def test_predicted_gap_grows_with_tau_and_is_worse_under_cosine():
    law = Tm.ProgressiveLaw(SOURCE, TARGET, s_mix=0.5)
    g_wsd = Tm.predict_final_gap(law, [0.3, 0.5, 0.8], T, 3e-3, "wsd")
    g_cos = Tm.predict_final_gap(law, [0.3, 0.5, 0.8], T, 3e-3, "cosine")
    assert np.all(np.diff(g_wsd) > 0) and np.all(g_cos > g_wsd)
    tau_wsd = Tm.predicted_latest_tau(law, T, 3e-3, eps=0.01, kind="wsd")
    tau_cos = Tm.predicted_latest_tau(law, T, 3e-3, eps=0.01, kind="cosine")
    assert tau_wsd > tau_cos


def test_bad_inputs_raise_naming_the_value():
    with pytest.raises(ValueError, match="eps=0"):
        Tm.mixing_time(STEPS, LR_WSD, STEPS, LR_WSD, 100, eps=0)
    with pytest.raises(ValueError, match="lam=1.5"):
        Tm.schedule_areas(STEPS, LR_WSD, lam=1.5)
    with pytest.raises(ValueError, match="tau_frac"):
        Tm.predict_final_gap(Tm.ProgressiveLaw(SOURCE, TARGET, 1.0), 1.2, T, 3e-3)
    with pytest.raises(ValueError, match="pilots is empty"):
        Tm.fit_mixing_area(SOURCE, TARGET, [])
