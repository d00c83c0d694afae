"""Decoupled weight decay as an EMA (theory.weight_decay): the surviving share of the weights at
tau, against the real optimizers' update rules and the symbolic series."""

import numpy as np
import pytest
import sympy as sp
import torch

from progtheory.core.optim import MuonNSGD
from progtheory.theory import weight_decay as WD
from progtheory.theory.schedules import lr_factor

T, TAU, PEAK = 400, 300, 3.5e-3
ETA = PEAK * lr_factor(np.arange(T), T, "wsd", warmup=0.02, decay=0.1)


def _run(make, w0, lam, grads):
    """Weights after steps TAU .. T-1 of the optimizer `make` from `w0`, each step's gradient
    given (independent of the weights), the LR following ETA."""
    w = torch.nn.Parameter(w0.clone())
    opt = make([w], lam)
    for s in range(TAU, T):
        for g in opt.param_groups:
            g["lr"] = float(ETA[s])
        w.grad = grads[s - TAU].clone()
        opt.step()
    return w.detach()


OPTIMIZERS = {
    "adamw": lambda p, lam: torch.optim.AdamW([dict(params=p, weight_decay=lam)], lr=PEAK, betas=(0.9, 0.95)),
    "muon-hidden": lambda p, lam: MuonNSGD([dict(params=p, role="hidden")], lr=PEAK, weight_decay=lam),
    "nsgd-vector": lambda p, lam: MuonNSGD([dict(params=p, role="embedding")], lr=PEAK, weight_decay=lam),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("lam", [0.0, 0.1, 10.0])
def test_the_surviving_share_is_exact_under_each_optimizer(name, lam):
    # Two starts, one gradient sequence: the updates are equal, so the difference of the final
    # weights is the share P(tau, T) of the difference of the starts (float64, to rounding).
    torch.manual_seed(0)
    grads = [torch.randn(8, 6, dtype=torch.float64) for _ in range(T - TAU)]
    a, b = torch.randn(8, 6, dtype=torch.float64), torch.randn(8, 6, dtype=torch.float64)
    make = OPTIMIZERS[name]
    diff = _run(make, a, lam, grads) - _run(make, b, lam, grads)
    share = WD.surviving_share(ETA, TAU, lam)
    torch.testing.assert_close(diff, share * (a - b), rtol=1e-9, atol=1e-12)


def test_limits_no_decay_keeps_everything_and_a_constant_lr_is_an_exponential():
    assert WD.surviving_share(ETA, TAU, 0.0) == 1.0
    const = np.full(1000, 2e-3)
    assert WD.surviving_share(const, 200, 0.5, exact=False) == pytest.approx(np.exp(-0.5 * 2e-3 * 800), rel=1e-12)
    # the product and its exponential form agree to O(lam^2 sum eta^2)
    exact, approx = WD.surviving_share(const, 200, 0.5), WD.surviving_share(const, 200, 0.5, exact=False)
    assert abs(np.log(exact) - np.log(approx)) <= 0.5 ** 2 * np.sum(const[200:] ** 2)


def test_the_symbolic_series_is_the_exponential_form_to_first_order():
    P, series = WD.symbolic_share()
    eta, lam, n = sp.symbols("eta lambda n", positive=True)
    assert sp.simplify(series - (-lam * eta * n - lam ** 2 * eta ** 2 * n / 2)) == 0


def test_the_memory_clock_of_the_recipe_is_small():
    # the recipe's eta = 3.5e-3 and lam = 0.01 over the 2,000 steps after tau = 0.8T of
    # T = 10,000: about 0.07 timescales (the share left is 93%)
    eta = PEAK * lr_factor(np.arange(10000), 10000, "wsd", warmup=0.02, decay=0.1)
    assert WD.memory_clock(eta, 8000, 0.01) == pytest.approx(0.01 * PEAK * (1000 + 500), rel=1e-2)


def test_the_forgetting_model_recovers_its_constants():
    clocks = np.array([0.05, 0.5, 2.6])
    gaps = WD.forgetting_gap(clocks, gap_0=20.0, floor=5.0)
    assert WD.fit_forgetting(clocks, gaps) == pytest.approx((20.0, 5.0), rel=1e-12)
    with pytest.raises(ValueError, match="two or more distinct"):
        WD.fit_forgetting([0.5, 0.5], [1.0, 2.0])


def test_bad_inputs_name_the_value():
    with pytest.raises(ValueError, match="lam=-1"):
        WD.surviving_share(ETA, TAU, -1.0)
    with pytest.raises(ValueError, match="tau=500"):
        WD.lr_area(ETA, 500)
    with pytest.raises(ValueError, match="flips the weights' sign"):
        WD.surviving_share(ETA, TAU, 1e4)
