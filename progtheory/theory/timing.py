"""When to expand: mixing time, the latest tau that mixes, and a schedule-driven loss law
extended to a change of model size at tau.

Mixing (docs/BACKGROUND.md section 3): t_mix is the time after tau at which the progressive run's loss
meets the fixed-size run's; final losses match when tau + t_mix <= T, so tau = T - t_mix.

Loss law (Tissue et al. 2024, "Scaling law with learning rate annealing"):

    L(t) = L0 + A * S1(t)^(-alpha) - C * S2(t),
    S1(t) = sum_{i<=t} eta_i                      (forward area)
    S2(t) = sum_{i<=t} m_i,  m_i = lam m_{i-1} + max(eta_{i-1} - eta_i, 0)   (annealing area)

with lam ~ 0.999.  Choice made here: LR *increases* (warmup) add nothing to S2 (the paper's
S2 is built from LR drops).  No published law covers a change of model size mid-run; the
extension used here (`ProgressiveLaw`) is new and rests on these assumptions:

  1. before tau the run follows the source family's law (its own L0, A, alpha, C);
  2. at tau the target model starts where the source was: it is placed on the target law at
     the effective forward area S_eff solving L_target(S_eff, S2(tau)) = L_source(tau)
     (exact for function-preserving inits; a spike is ignored);
  3. the area deficit Delta = S1(tau) - S_eff decays with the forward area spent after tau,
     Delta(t) = Delta_tau * exp(-(S1(t) - S1(tau)) / S_mix), one constant S_mix per
     (source, target, init) fitted on pilot runs;
  4. both runs share the schedule, hence S1, S2 and the annealing benefit C * S2.

So a late tau, or a schedule that spends little LR after tau (cosine), leaves a deficit at T:
the law turns r(tau) into a predicted final-loss gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage, optimize

from progtheory.theory import _args
from progtheory.theory.compute import progressive_savings
from progtheory.theory.loss_laws import LossLaw, fit_loss_law, schedule_areas  # noqa: F401 (re-export)
from progtheory.theory.schedules import lr_factor

# ----------------------------------------------------------------------------- measured mixing


def _check_curve(steps, loss, what: str) -> tuple[np.ndarray, np.ndarray]:
    s = _args.finite_array(f"{what}: steps", steps)
    try:
        y = np.asarray(loss, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: loss must hold numbers only") from None
    if np.any(np.isnan(y)):
        raise ValueError(f"{what}: loss holds NaN; drop the steps without a loss first")
    if s.shape != y.shape or s.ndim != 1 or len(s) < 2:
        raise ValueError(f"{what}: steps and loss must be 1-D arrays of equal length >= 2, got {s.shape}, {y.shape}")
    if np.any(np.diff(s) <= 0):
        raise ValueError(f"{what}: steps must be strictly increasing")
    return s, y


def relative_gap(steps_prog, loss_prog, steps_fixed, loss_fixed, tau: float, window: int = 5):
    """(steps, smoothed relative gap (L_prog - L_fixed)/L_fixed) on the progressive run's steps
    >= tau that the fixed run covers; L_fixed is linearly interpolated, the gap smoothed by a
    running median of `window` points (robust to the loss spike and to eval noise)."""
    _args.number("tau", tau, 0.0)
    _args.integer("window", window, low=1)
    sp_, yp = _check_curve(steps_prog, loss_prog, "progressive curve")
    sf, yf = _check_curve(steps_fixed, loss_fixed, "fixed curve")
    keep = (sp_ >= tau) & (sp_ >= sf[0]) & (sp_ <= sf[-1])
    if keep.sum() < 1:
        raise ValueError(f"no progressive step >= tau={tau} lies inside the fixed run's steps [{sf[0]}, {sf[-1]}]")
    s = sp_[keep]
    gap = (yp[keep] - np.interp(s, sf, yf)) / np.interp(s, sf, yf)
    if window > 1:
        gap = ndimage.median_filter(gap, size=min(window, len(gap)), mode="nearest")
    return s, gap


def mixing_time(steps_prog, loss_prog, steps_fixed, loss_fixed, tau: float, eps: float = 0.005,
                window: int = 5) -> float:
    """Steps after tau until the progressive run has mixed: the first step from which the
    smoothed relative gap stays <= eps to the end of the curve (`relative_gap`).  Returns
    np.inf when the gap is still above eps at the last step.  eps = 0.005 is the paper's
    "within 0.5%" (docs/BACKGROUND.md section 2)."""
    if not (_args.number("eps", eps) > 0):
        raise ValueError(f"eps={eps} must be > 0 (a relative loss tolerance, e.g. 0.005)")
    s, gap = relative_gap(steps_prog, loss_prog, steps_fixed, loss_fixed, tau, window)
    above = np.flatnonzero(gap > eps)
    if above.size == 0:
        return float(s[0] - tau)
    if above[-1] == len(s) - 1:
        return float("inf")
    return float(s[above[-1] + 1] - tau)


def stable_phase(T: int, kind: str = "wsd", warmup: float = 0.02, decay: float = 0.1) -> tuple[int, int]:
    """[first, last] step of the constant-LR phase: [W, T - D] for wsd, [W, T - 1] otherwise
    (same rounding as `schedules.wsd`)."""
    _args.integer("total steps T", T, low=1)
    _args.number("warmup", warmup, 0.0, 1.0, high_open=True)
    _args.number("decay", decay, 0.0, 1.0)
    W = round(warmup * T)
    return W, (T - round(decay * T) if kind == "wsd" else T - 1)


def latest_tau(T: int, t_mix: float, kind: str = "wsd", warmup: float = 0.02, decay: float = 0.1):
    """Latest expansion step that still mixes: tau = T - t_mix, clipped to the stable phase
    (`stable_phase`); None when even the start of the stable phase leaves too little time."""
    lo, hi = stable_phase(T, kind, warmup, decay)
    if isinstance(t_mix, bool) or not isinstance(t_mix, (int, float, np.integer, np.floating)) or not t_mix >= 0:
        raise ValueError(f"t_mix={t_mix!r} must be a number >= 0 (inf when the run never mixed)")
    if not np.isfinite(t_mix) or T - t_mix < lo:
        return None
    return int(min(hi, np.floor(T - t_mix)))


def compute_saved_at(cfg, source_depth: int, target_depth: int, tau: int, T: int,
                     convention: str = "exact") -> float:
    """Fraction of training compute saved by growing source -> target at tau (`compute`)."""
    return progressive_savings(cfg, source_depth, [(tau, target_depth)], T, convention)["savings"]


# ----------------------------------------------------------------------------- schedule-driven loss law


# schedule_areas, LossLaw and fit_loss_law (Tissue et al. 2024) live in `loss_laws`; re-exported here.


@dataclass(frozen=True)
class ProgressiveLaw:
    """Loss of a run that switches from the `source` law to the `target` law at tau, with an
    area deficit that decays over the forward area S_mix (assumptions 1-4, module docstring)."""

    source: LossLaw
    target: LossLaw
    s_mix: float

    def predict(self, steps, lr, tau: float):
        S1, S2 = schedule_areas(steps, lr, self.target.lam)
        s = np.asarray(steps, dtype=float)
        before = s < tau
        s1_tau, s2_tau = (float(a[0]) for a in schedule_areas(steps, lr, self.target.lam, at=[tau]))
        L_src_tau = float(self.source.from_areas(s1_tau, s2_tau))
        t = self.target
        excess = L_src_tau + t.C * s2_tau - t.L0
        s_eff = (excess / t.A) ** (-1.0 / t.alpha) if excess > 0 and t.A > 0 else np.inf
        deficit0 = max(s1_tau - s_eff, 0.0)
        deficit = deficit0 * np.exp(-np.maximum(S1 - s1_tau, 0.0) / self.s_mix)
        after = t.from_areas(S1 - deficit, S2)
        return np.where(before, self.source.from_areas(S1, S2), after)


def fit_mixing_area(source: LossLaw, target: LossLaw, pilots, bounds: tuple[float, float] = (1e-6, 1e6)) -> ProgressiveLaw:
    """Calibrate S_mix on pilot progressive runs [(steps, lr, loss, tau), ...] (points after
    tau only), by bounded scalar minimisation over log S_mix; `source` and `target` are
    `fit_loss_law` fits of the source-depth and fixed-size runs."""
    if not pilots:
        raise ValueError("pilots is empty; give at least one (steps, lr, loss, tau) progressive curve")

    def sse(log_s):
        law = ProgressiveLaw(source, target, float(np.exp(log_s)))
        total = 0.0
        for steps, lr, loss, tau in pilots:
            s = np.asarray(steps, dtype=float)
            after = s >= tau
            total += float(np.sum((law.predict(steps, lr, tau)[after] - np.asarray(loss)[after]) ** 2))
        return total

    best = optimize.minimize_scalar(sse, bounds=np.log(bounds), method="bounded", options={"xatol": 1e-6})
    return ProgressiveLaw(source, target, float(np.exp(best.x)))


def predict_final_gap(law: ProgressiveLaw, tau_frac, T: int, peak_lr: float, kind: str = "wsd",
                      relative: bool = True, **schedule_kw):
    """Predicted final-loss gap L_prog(T) - L_fixed(T) (relative to L_fixed when `relative`) of an
    expansion at tau = tau_frac * T under the schedule (`schedules.lr_factor` kind and kw).
    Vectorized over tau_frac."""
    steps = np.arange(T)
    lr = peak_lr * lr_factor(steps, T, kind, **schedule_kw)
    fixed = float(law.target.predict(steps, lr)[-1])
    taus = np.atleast_1d(np.asarray(tau_frac, dtype=float))
    if np.any((taus <= 0) | (taus >= 1)):
        raise ValueError(f"tau_frac={tau_frac} must lie in (0, 1)")
    gaps = np.array([float(law.predict(steps, lr, round(u * T))[-1]) - fixed for u in taus])
    gaps = gaps / fixed if relative else gaps
    return float(gaps[0]) if np.ndim(tau_frac) == 0 else gaps


def predicted_latest_tau(law: ProgressiveLaw, T: int, peak_lr: float, eps: float = 0.005,
                         kind: str = "wsd", n_grid: int = 50, **schedule_kw):
    """Largest tau (as a step on a grid over the stable phase) whose predicted relative final
    gap is <= eps; None when none is."""
    lo, hi = stable_phase(T, kind, schedule_kw.get("warmup", 0.02), schedule_kw.get("decay", 0.1))
    grid = np.unique(np.linspace(max(lo, 1), hi, n_grid).round().astype(int))
    gaps = predict_final_gap(law, grid / T, T, peak_lr, kind, True, **schedule_kw)
    ok = grid[gaps <= eps]
    return int(ok.max()) if ok.size else None
