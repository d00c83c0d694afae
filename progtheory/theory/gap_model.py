"""The loss of a grown model after a depth expansion, and the final gap it predicts (numpy /
scipy; never torch).

A run trained at the source depth until step tau, then grown to the target depth, is modelled
after tau as the target depth's fixed-size law (`loss_laws.MultiPowerLaw`, either form) at an
effective LR area, plus a spike:

    L(t) = law.from_terms(p(t), LD_tail(t)) + h * exp(-a(t) / kappa),           t >= tau,
    p(t) = (S0 + r * max(a(t) - lag, 0))^(-alpha),    a(t) = sum_{i=tau}^{t} eta_i,
    S0   = law.stable_area(L_src(tau)).

Assumptions, one per piece (our model: no published law covers a change of model size
mid-run; it is judged only by its score on runs it was not fitted to, VALIDATION.md P20):
  1. Start matched on the source's loss.  The grown model begins where the target law's
     constant-LR curve L0 + A S^(-alpha) has the source's loss at tau, L_src(tau), taken from a
     law fitted to the source phase (steps < tau) of the pilots.  A source whose loss flattens
     (a 0-layer model) thus brings a head start that grows slowly with tau, not in proportion.
  2. Dead time and rate.  For an LR area `lag` after tau the grown model gains nothing; then
     each unit of LR area counts `r` units of the fresh model's (r < 1: slower than a fresh
     model, as the grown models' equivalent-step slopes of 0.46-0.95 in experiments/LOG.md).
  3. Spike.  The expansion adds h nats (a copy's function change, a fresh block's noise), lost
     e-fold every `kappa` of LR area.
  4. Annealing.  LD_tail counts only the LR drops from tau on (the source's loss at tau already
     holds the source's own annealing; what is to come is the grown model's).  Under the
     multiplicative law the bonus scales with the grown model's reducible loss, so a grown
     model, further from L0, gains more from the same decay.
  5. The fixed run is the law over the whole schedule; the final gap is
     L_grown(T-1) / L_fixed(T-1) - 1.
Where it must fail: a source whose loss at tau is below the target law's reach (S0 infinite),
and schedules whose LR after tau is far from the pilots' (the rate r is fitted on the pilots'
tails).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from progtheory.theory.loss_laws.fixed_size import MultiPowerLaw, _mpl_terms, fit_multi_power_law, per_step_lr

# Search ranges of the grown-model constants; lag and kappa are in units of the pilots' peak LR
# (steps at the peak LR), so one range serves every peak LR.
GROWN_BOUNDS = {"rate": (0.02, 2.0), "lag": (0.0, 2000.0), "spike": (0.0, 5.0), "recovery": (1.0, 2000.0),
                "clock": (0.0, 1.0)}


@dataclass(frozen=True)
class Pilot:
    """A progressive pilot curve: per-step LRs `eta` of the whole run, the expansion step `tau`,
    and the validation loss at `steps` (NaN where not measured)."""

    eta: np.ndarray
    tau: int
    steps: np.ndarray
    loss: np.ndarray


def source_loss(source: MultiPowerLaw, eta, tau: int) -> float:
    """L_src(tau): the source law's loss after the steps 0 .. tau-1 of `eta` (assumption 1)."""
    eta = np.asarray(eta, dtype=float)
    if not 0 < tau <= len(eta):
        raise ValueError(f"tau={tau} must lie in (0, {len(eta)}], the schedule's steps")
    return float(source.curve(eta[:tau], [tau - 1])[0])


@dataclass(frozen=True)
class GrownModel:
    """The grown model of the module docstring: target `law`, `source` law, rate r, dead time
    `lag` and spike recovery `recovery` (LR area), spike height `spike` (nats).  `at_bound`
    names the constants a fit left at a bound."""

    law: MultiPowerLaw
    source: MultiPowerLaw
    rate: float = 1.0
    lag: float = 0.0
    spike: float = 0.0
    recovery: float = 1.0
    at_bound: tuple[str, ...] = field(default=(), compare=False)
    clock: float = 1.0   # q: a(t) = eta_peak * sum (eta_i / eta_peak)^q; 1 is LR area, 0 counts steps

    def start_area(self, eta, tau: int) -> float:
        """S0 (assumption 1); a source loss at or below the law's L0 is clipped just above it."""
        ell = source_loss(self.source, eta, tau)
        return self.law.stable_area(max(ell, self.law.L0 + 1e-6))

    def curve(self, eta, tau: int, at) -> np.ndarray:
        """Loss at the integer steps `at` (each >= tau) of a run with per-step LRs `eta`
        expanded at step `tau` (module docstring)."""
        eta = np.asarray(eta, dtype=float)
        at = np.asarray(at, dtype=int)
        if not 0 < tau < len(eta):
            raise ValueError(f"tau={tau} must lie inside the schedule's steps (0, {len(eta)})")
        if np.any(at < tau) or np.any(at >= len(eta)):
            raise ValueError(f"every step in `at` must lie in [tau={tau}, {len(eta)}); the model covers the run after the expansion")
        tail = eta[tau:]
        peak = eta.max()
        a = peak * np.cumsum((tail / peak) ** self.clock)[at - tau]
        s_eff = self.start_area(eta, tau) + self.rate * np.maximum(a - self.lag, 0.0)
        _, ld = _mpl_terms(tail, at - tau, self.law.alpha, self.law.C, self.law.beta, self.law.gamma,
                           eta_before=eta[tau - 1])
        p = self.law.power(s_eff)
        return self.law.from_terms(p, ld) + self.spike * np.exp(-a / self.recovery)

    def final_gap(self, eta, tau: int) -> float:
        """L_grown(T-1) / L_fixed(T-1) - 1 under the per-step LRs `eta` (length T) (assumption 5)."""
        eta = np.asarray(eta, dtype=float)
        T = len(eta)
        return float(self.curve(eta, tau, [T - 1])[0] / self.law.curve(eta, [T - 1])[0] - 1.0)


def fit_source_law(pilots: list[Pilot], form: str = "additive", shift: bool = False) -> MultiPowerLaw:
    """The source law (assumption 1): `fit_multi_power_law` on the source phase (steps < tau) of
    every pilot's validation curve, in the form of the target law."""
    curves = []
    for p in pilots:
        keep = (p.steps < p.tau) & np.isfinite(p.loss)
        curves.append((np.arange(p.tau), p.eta[:p.tau], _on_grid(p.steps[keep], p.loss[keep], p.tau)))
    return fit_multi_power_law(curves, form=form, shift=shift)


def _on_grid(steps, loss, n) -> np.ndarray:
    """`loss` placed on the integer steps 0 .. n-1 (NaN where not measured)."""
    y = np.full(n, np.nan)
    y[np.asarray(steps, dtype=int)] = loss
    return y


def fit_grown(law: MultiPowerLaw, source: MultiPowerLaw, pilots: list[Pilot], peak_lr: float,
              bounds: dict | None = None, clock: float | None = None) -> GrownModel:
    """Fit rate, lag, spike and recovery of `GrownModel` (the laws held fixed) to the pilots'
    validation points after tau by scipy.optimize.least_squares in `bounds` (default
    GROWN_BOUNDS; lag and recovery in units of `peak_lr`), from a few starting points, the
    best kept.  The clock exponent q is fitted too (in [0, 1]) when `clock` is None and the
    pilots' LRs after tau differ in shape (two schedules separate LR area from steps);
    otherwise it is `clock` (default 1, LR area)."""
    if not pilots:
        raise ValueError("pilots is empty; give at least one progressive pilot curve")
    if peak_lr <= 0:
        raise ValueError(f"peak_lr={peak_lr} must be > 0 (the pilots' peak LR)")
    b = {**GROWN_BOUNDS, **(bounds or {})}
    data = []
    for p in pilots:
        v = (p.steps >= p.tau) & np.isfinite(p.loss)
        if v.sum() < 1:
            raise ValueError(f"a pilot expanded at tau={p.tau} has no validation loss after tau")
        data.append((p.eta, p.tau, p.steps[v].astype(int), p.loss[v]))
    free_clock = clock is None and len({_shape(eta, tau) for eta, tau, _, _ in data}) > 1
    names = ("rate", "lag", "spike", "recovery") + (("clock",) if free_clock else ())
    if sum(len(d[3]) for d in data) < len(names):
        raise ValueError(f"need >= {len(names)} points after tau to fit {names}")
    scale = np.array([1.0, peak_lr, 1.0, peak_lr, 1.0][:len(names)])
    lo = np.array([b[n][0] for n in names]) * scale
    hi = np.array([b[n][1] for n in names]) * scale
    fixed_q = 1.0 if clock is None else clock

    def model(x, stuck=()):
        return GrownModel(law, source, *x[:4], at_bound=stuck, clock=x[4] if free_clock else fixed_q)

    def residual(x):
        m = model(x)
        return np.concatenate([m.curve(eta, tau, s) - y for eta, tau, s, y in data])

    best = None
    for start in ((0.7, 50.0, 0.1, 30.0, 0.7), (0.4, 200.0, 0.5, 100.0, 0.3), (1.0, 0.0, 0.0, 10.0, 1.0)):
        x0 = np.clip(np.array(start[:len(names)]) * scale, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))
        res = optimize.least_squares(residual, x0, bounds=(lo, hi), x_scale=(hi - lo) / 10)
        if best is None or res.cost < best.cost:
            best = res
    near = np.abs(best.x - lo) <= 1e-6 * (hi - lo)
    near |= np.abs(hi - best.x) <= 1e-6 * (hi - lo)
    return model(best.x, tuple(n for n, at in zip(names, near) if at))


def _shape(eta, tau: int) -> tuple:
    """The LRs after tau relative to their first, rounded: equal for runs of one schedule."""
    tail = np.asarray(eta[tau:], dtype=float)
    return tuple(np.round(tail[np.linspace(0, len(tail) - 1, 9).astype(int)] / tail[0], 3))


def pilot_from_curve(steps, lr, loss, tau: int, n: int | None = None) -> Pilot:
    """A `Pilot` from logged curves: the LR logged at `steps` put on every step through `n`
    (`per_step_lr`), the validation `loss` at `steps` (NaN where none)."""
    steps = np.asarray(steps, dtype=int)
    return Pilot(per_step_lr(steps, lr, n), int(tau), steps, np.asarray(loss, dtype=float))
