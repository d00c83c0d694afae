"""The first Adam step on new parameters and the jolt of the first updates
(progtheory.theory.jolt)."""

import math

import numpy as np
import pytest

from progtheory.theory import jolt as J
from progtheory.theory.init_scale import gaussian_spectral_norm


def test_first_adam_step_moves_every_coordinate_by_the_lr_whatever_its_scale():
    assert J.adam_first_step_move(3e-3) == pytest.approx(3e-3)
    assert J.adam_first_step_move(3e-3, steps=5) == pytest.approx(5 * 3e-3)
    tiny = J.adam_first_step_jolt(3e-3, init_std=1e-4, fan_out=256, fan_in=256)
    big = J.adam_first_step_jolt(3e-3, init_std=0.02, fan_out=256, fan_in=256)
    assert tiny["coordinate_relative"] == pytest.approx(200 * big["coordinate_relative"])
    assert J.adam_first_step_jolt(3e-3, init_std=0.0, fan_out=8, fan_in=8)["spectral_ratio"] == math.inf


def test_first_adam_step_matches_a_numpy_adam_on_a_rank_one_gradient():
    rng = np.random.default_rng(0)
    delta, x = rng.normal(size=64), rng.normal(size=32)
    g = np.outer(delta, x)
    m, v = 0.1 * g, 0.05 * g * g                     # beta1 = 0.9, beta2 = 0.95, one step
    step = 3e-3 * (m / 0.1) / (np.sqrt(v / 0.05) + 1e-12)
    assert np.abs(step) == pytest.approx(np.full(g.shape, 3e-3))
    jolt = J.adam_first_step_jolt(3e-3, init_std=0.02, fan_out=64, fan_in=32)
    w0 = gaussian_spectral_norm(0.02, 64, 32)
    assert np.linalg.norm(step, 2) / w0 == pytest.approx(jolt["spectral_ratio"], rel=1e-6)


def test_adam_steps_under_a_constant_gradient_follow_the_line_model_without_curvature():
    # one recursion serves both: with curvature 0 the line model's gradient factor stays 1
    moved = [J.adam_first_step_move(3e-3, steps=k, beta1=0.9, beta2=0.95) for k in (1, 2, 5)]
    line = J.line_path(1.0, 0.0, [3e-3] * 5, "adamw", momentum=0.9, beta2=0.95)
    assert moved == pytest.approx(line[[0, 1, 4]], rel=1e-12)


def test_a_shrinking_gradient_makes_later_adam_steps_shorter_than_the_lr():
    assert J.adam_first_step_move(3e-3, steps=3, grad_ratio=0.5) < 3 * 3e-3


def test_safe_lr_and_ramp_bound_the_first_step():
    safe = J.safe_new_param_lr(0.02, 256, 256, max_spectral_ratio=0.1)
    assert J.adam_first_step_jolt(safe, init_std=0.02, fan_out=256, fan_in=256)["spectral_ratio"] == pytest.approx(0.1)
    R = J.rewarmup_steps(3e-3, safe)
    assert 3e-3 * J.rewarmup_factor(0, R) <= safe * (1 + 1e-12)
    assert J.rewarmup_factor(R - 1, R) == 1.0 and J.rewarmup_factor(5, 0) == 1.0


def test_adam_and_muon_paths_grow_by_the_lr_and_sgd_momentum_lengthens_the_path():
    assert np.allclose(J.path_length([0.1] * 3, "adamw"), [0.1, 0.2, 0.3])
    assert np.allclose(J.path_length([0.1] * 3, "muon"), [0.1, 0.2, 0.3])
    assert np.allclose(J.path_length([0.1] * 2, "sgd", momentum=0.9), [0.1, 0.1 + 0.19])


def test_the_ramp_for_a_jolt_budget_keeps_the_predicted_increase_within_it():
    slope, curv, lr = 1.0, 1e4, 1e-2          # without a ramp 10 steps overshoot: s = 0.1, dL = 40
    R = J.rewarmup_for_jolt(slope, curv, lr, "adamw", budget=0.05)
    assert R > 10
    f = np.minimum(1.0, np.arange(1, 11) / R)
    assert J.jolt_curve(slope, curv, lr * f, "adamw").max() <= 0.05 + 1e-12
    f = np.minimum(1.0, np.arange(1, 11) / (R - 1))
    assert J.jolt_curve(slope, curv, lr * f, "adamw").max() > 0.05
    assert J.rewarmup_for_jolt(slope, 1.0, lr, "adamw") == 0   # a flat direction needs no ramp


def test_jolt_functions_reject_an_unknown_optimizer_by_name():
    with pytest.raises(ValueError, match="optimizer='lion'"):
        J.path_length([1e-3], "lion")
