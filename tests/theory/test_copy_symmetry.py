"""How fast copies separate (theory.copy_symmetry) against real optimizer steps."""

import numpy as np
import pytest
import torch

from progtheory.core.optim import MuonNSGD
from progtheory.theory import copy_symmetry as CS
from progtheory.theory.schedules import lr_factor

K, PEAK = 60, 3e-3
ETA = PEAK * lr_factor(np.arange(K), K, "wsd", warmup=0.0, decay=0.3)


def test_the_linear_drive_is_the_exact_solution_of_sgd_on_a_quadratic_two_copy_loss():
    # L(w1, w2) = 1/2 (w1 Q w1 + w2 Q w2) + c1.w1 + c2.w2 + w1 R w2, R symmetric: the gradient
    # difference is (Q - R) D + (c1 - c2), so D follows the linear drive exactly
    rng = np.random.default_rng(0)
    n = 5
    M = rng.normal(size=(n, n))
    Q, R = M @ M.T / n + np.eye(n), 0.3 * (M + M.T) / n
    c1, c2 = rng.normal(size=n), rng.normal(size=n)
    w1 = w2 = rng.normal(size=n)
    eta, lam = 0.05, 0.2
    for _ in range(40):
        g1, g2 = Q @ w1 + c1 + R @ w2, Q @ w2 + c2 + R @ w1
        w1, w2 = (1 - eta * lam) * w1 - eta * g1, (1 - eta * lam) * w2 - eta * g2
    np.testing.assert_allclose(CS.separation_linear(c1 - c2, Q - R, eta, lam, 40), w1 - w2, rtol=1e-10, atol=1e-12)


def _two_copies(make, g_i, g_j, lam):
    """Final difference of two equal weights stepped by `make` under constant gradients."""
    start = torch.randn(g_i.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    wi, wj = torch.nn.Parameter(start.clone()), torch.nn.Parameter(start.clone())
    opts = [make([w], lam) for w in (wi, wj)]
    first = []
    for s in range(K):
        for w, g, opt in zip((wi, wj), (g_i, g_j), opts):
            for group in opt.param_groups:
                group["lr"] = float(ETA[s])
            w.grad = g.clone()
            before = w.detach().clone()
            opt.step()
            if s == 0:  # the first update u = ((1 - eta lam) w - w') / eta
                first.append(((1 - ETA[0] * lam) * before - w.detach()) / ETA[0])
    return (wi - wj).detach().numpy(), (first[0] - first[1]).numpy()


@pytest.mark.parametrize("name,make", [
    ("adamw", lambda p, lam: torch.optim.AdamW([dict(params=p, weight_decay=lam)], lr=PEAK, betas=(0.9, 0.95), eps=1e-12)),
    ("muon", lambda p, lam: MuonNSGD([dict(params=p, role="hidden")], lr=PEAK, weight_decay=lam)),
])
@pytest.mark.parametrize("lam", [0.0, 5.0])
def test_the_constant_drive_is_exact_while_each_copys_gradient_keeps_its_direction(name, make, lam):
    g = torch.Generator().manual_seed(0)
    g_i, g_j = torch.randn(6, 4, dtype=torch.float64, generator=g), torch.randn(6, 4, dtype=torch.float64, generator=g)
    delta, du0 = _two_copies(make, g_i, g_j, lam)
    # Muon orthogonalises in float32 (each step's rounding differs), AdamW steps in float64
    np.testing.assert_allclose(CS.separation(du0, ETA, lam), delta, rtol=1e-5 if name == "muon" else 1e-9, atol=1e-12)
    if name == "adamw":  # Adam's first step is the sign of the gradient
        np.testing.assert_allclose(du0, CS.first_update_difference(g_i.numpy(), g_j.numpy(), "adamw"), atol=1e-9)


def test_limits_no_drive_keeps_the_start_and_no_decay_sums_the_lr():
    assert CS.separation(0.0, ETA, 0.3, delta_0=2.0) == pytest.approx(2.0 * np.prod(1 - ETA * 0.3))
    assert CS.separation(1.0, ETA, 0.0) == pytest.approx(-ETA.sum())
    np.testing.assert_allclose(CS.separation_linear(np.ones(2), np.zeros((2, 2)), 0.1, 0.0, 7), -0.7 * np.ones(2))


def test_first_update_differences_and_the_relative_distance():
    g = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert np.all(CS.first_update_difference(g, g, "muon") == 0)
    np.testing.assert_allclose(CS.first_update_difference(g, -g, "sgd"), 2 * g)
    polar = CS.first_update_difference(g, -g, "muon") / 2  # the polar factor of g
    np.testing.assert_allclose(polar @ polar.T, np.eye(2), atol=1e-12)
    assert CS.relative_distance([3.0, 4.0], [0.0, 10.0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="optimizer='lion'"):
        CS.first_update_difference(g, g, "lion")
    with pytest.raises(ValueError, match="symmetric"):
        CS.separation_linear(np.ones(2), np.array([[0.0, 1.0], [0.0, 0.0]]), 0.1, 0.0, 3)
