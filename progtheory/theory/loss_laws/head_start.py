"""A progressive run as a fixed-size loss law with a head start (`HeadStartModel`, new: no
published law covers a change of model size mid-run), fitted on pilot progressive runs
(`fit_head_start`).  The fixed-size law is `fixed_size.MultiPowerLaw`.

The model rests on these assumptions:
  1. after the expansion at tau the run follows the fixed-size (target-depth) law, as a fresh
     target model would that had trained `delta` steps under the start of the same schedule
     (the head start, in steps of the target model) and then continued under its tail
     eta_tau .. eta_T;
  2. delta depends on the source depth and init and on tau only through the affine form
     delta(tau) = d0 + d1 * tau, fitted on one or two pilot runs (d1 = 0 with one pilot);
  3. the expansion spike of the first `settle` steps after tau is not modelled;
  4. both runs share the schedule, so the fixed run is the same law over the whole schedule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize

from progtheory.theory.loss_laws.fixed_size import MultiPowerLaw, _at_bound, per_step_lr


def head_start_curve(law: MultiPowerLaw, eta, tau: int, delta: float, at) -> np.ndarray:
    """Loss at the steps `at` (>= tau) of a run expanded at step tau, under the head-start
    assumption (module docstring, 1): the target-depth `law` run on the virtual schedule
    eta_0 .. eta_{delta-1}, eta_tau, eta_{tau+1}, .. (the first delta steps of the same schedule,
    then its tail from tau).  A head start longer than tau continues at eta_{tau-1}; delta may
    be fractional (the head's LR area is interpolated).

    Formula: L(t) = L0 + A (H(delta) + sum_{i=tau}^{t} eta_i)^(-alpha) - LD_tail(t), with
    H(delta) the LR area of the head and LD_tail the LR-decay term of the tail, which counts
    the drop from the head's last LR to eta_tau."""
    eta = np.asarray(eta, dtype=float)
    at = np.asarray(at, dtype=int)
    if not 0 < tau < len(eta):
        raise ValueError(f"tau={tau} must lie inside the schedule's steps (0, {len(eta)})")
    if np.any(at < tau):
        raise ValueError(f"every step in `at` must be >= tau={tau}; the head-start model covers the run after the expansion")
    if delta < 0:
        raise ValueError(f"delta={delta} must be >= 0 (a head start in target-model steps)")
    head = np.concatenate([[0.0], np.cumsum(eta[:tau])])
    extra = max(delta - tau, 0.0)
    area = float(np.interp(min(delta, tau), np.arange(tau + 1), head)) + extra * eta[tau - 1]
    last = eta[min(int(np.ceil(delta)), tau) - 1] if delta > 0 else eta[tau]
    return law.curve(eta[tau:], at - tau, s0=area, eta_before=max(last, eta[tau]) if delta > 0 else None)


@dataclass(frozen=True)
class HeadStartModel:
    """A progressive run as a fixed-size law with a head start (module docstring, 1-4):
    delta(tau) = d0 + d1 * tau target-model steps at expansion step tau, `law` the fixed-size
    (target-depth) `MultiPowerLaw`.  `at_bound` names the parameters a fit left at a bound."""

    law: MultiPowerLaw
    d0: float
    d1: float = 0.0
    at_bound: tuple[str, ...] = field(default=(), compare=False)

    def delta(self, tau: float) -> float:
        return max(self.d0 + self.d1 * tau, 0.0)

    def curve(self, eta, tau: int, at) -> np.ndarray:
        """Loss at the steps `at` (>= tau) of a run with per-step LRs `eta` expanded at step tau."""
        return head_start_curve(self.law, eta, tau, self.delta(tau), at)

    def final_gap(self, eta, tau: int) -> float:
        """Predicted relative final-loss gap L_prog(T-1) / L_fixed(T-1) - 1 under the per-step
        LRs `eta` (length T), expansion at step tau."""
        eta = np.asarray(eta, dtype=float)
        T = len(eta)
        prog = self.curve(eta, tau, [T - 1])[0]
        return float(prog / self.law.curve(eta, [T - 1])[0] - 1.0)


HEAD_START_FORMS = ("proportional", "constant", "affine")


def fit_head_start(law: MultiPowerLaw, pilots, form: str = "proportional", settle: int = 50,
                   bounds: tuple[float, float] = (1e-3, 1e6)) -> HeadStartModel:
    """Fit the head start of `HeadStartModel` on pilot progressive runs [(steps, lr, loss,
    tau), ...] of one source depth and init, using their points at steps >= tau + settle (the
    spike is not modelled; assumption 3).  The fixed-size `law` is not refitted.

    `form` (assumption 2): "proportional", delta = d1 tau (a transfer rate d1: target steps
    gained per source step); "constant", delta = d0; both from one pilot or more, by bounded
    scalar minimisation of the squared error over log delta(mean pilot tau) in `bounds`
    (steps).  "affine", delta = d0 + d1 tau, needs pilots at two or more taus (least squares
    from the proportional fit).  `at_bound` names delta when it sits at a bound."""
    if form not in HEAD_START_FORMS:
        raise ValueError(f"form={form!r} is unknown; choose one of {HEAD_START_FORMS}")
    if not pilots:
        raise ValueError("pilots is empty; give at least one (steps, lr, loss, tau) progressive curve")
    prepared = []
    for steps, lr, loss, tau in pilots:
        s = np.round(np.asarray(steps, dtype=float)).astype(int)
        y = np.asarray(loss, dtype=float)
        keep = (s >= tau + settle) & np.isfinite(y)
        if keep.sum() < 1:
            raise ValueError(f"a pilot expanded at tau={tau} has no loss at steps >= tau + settle = {tau + settle}")
        prepared.append((per_step_lr(steps, lr), int(tau), s[keep], y[keep]))
    taus = sorted({tau for _, tau, _, _ in prepared})
    if form == "affine" and len(taus) < 2:
        raise ValueError(f"form='affine' needs pilots at two or more taus, got tau={taus}; use 'proportional'")

    def sse(d0, d1):
        return sum(float(np.sum((head_start_curve(law, eta, tau, max(d0 + d1 * tau, 0.0), s) - y) ** 2))
                   for eta, tau, s, y in prepared)

    ref = float(np.mean(taus))  # the one-parameter forms are searched through delta at this tau
    one = (lambda d: sse(d, 0.0)) if form == "constant" else (lambda d: sse(0.0, d / ref))
    best = optimize.minimize_scalar(lambda u: one(np.exp(u)), bounds=np.log(bounds), method="bounded",
                                    options={"xatol": 1e-4})
    d = float(np.exp(best.x))
    stuck = _at_bound({"delta": d}, {"delta": bounds})
    if form == "constant":
        return HeadStartModel(law, d, 0.0, stuck)
    if form == "proportional":
        return HeadStartModel(law, 0.0, d / ref, stuck)
    res = optimize.minimize(lambda p: sse(p[0], p[1]), [0.0, d / ref], method="Nelder-Mead",
                            options={"xatol": 1e-3, "fatol": 1e-12})
    return HeadStartModel(law, float(res.x[0]), float(res.x[1]), ())
