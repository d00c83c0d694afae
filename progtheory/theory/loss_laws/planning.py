"""Planning answers of a gap model (`head_start.HeadStartModel`, `theory.gap_model.GrownModel`:
anything with `final_gap(eta, tau)`, `curve(eta, tau, at)` and the fixed-size `law`) under a
schedule of T steps: the predicted final gap at tau/T, the latest tau within a tolerance, the
smallest budget that reaches parity, and the compute efficiency at equal loss.
"""

from __future__ import annotations

import numpy as np

from progtheory.theory.schedules import lr_factor


def _schedule(T: int, peak_lr: float, kind: str, schedule_kw: dict) -> np.ndarray:
    if T < 2 or peak_lr <= 0:
        raise ValueError(f"T={T} must be >= 2 and peak_lr={peak_lr} > 0")
    return peak_lr * lr_factor(np.arange(T), T, kind, **schedule_kw)


def predicted_gap(model, tau_frac: float, T: int, peak_lr: float, kind: str = "wsd",
                  **schedule_kw) -> float:
    """Relative final gap L_prog(T) / L_fixed(T) - 1 that `model` predicts for an expansion at
    tau = round(tau_frac * T) under the schedule `kind` (`schedules.lr_factor`, its kw) over T
    steps at `peak_lr` (`model.final_gap`: a `HeadStartModel` or a `gap_model.GrownModel`)."""
    if not 0 < tau_frac < 1:
        raise ValueError(f"tau_frac={tau_frac} must lie in (0, 1)")
    return model.final_gap(_schedule(T, peak_lr, kind, schedule_kw), max(1, round(tau_frac * T)))


def latest_tau_within(model, T: int, peak_lr: float, eps: float = 0.005,
                      kind: str = "wsd", n_grid: int = 41, **schedule_kw) -> float | None:
    """Largest tau/T on a grid of `n_grid` points over (0, 1) (stopping at the decay phase for
    WSD: tau < 1 - decay) whose predicted relative final gap is <= eps; None when none is.
    The predicted gap grows with tau under the head-start model, so the first grid point above
    eps ends the search."""
    if eps <= 0:
        raise ValueError(f"eps={eps} must be > 0 (a relative loss tolerance, e.g. 0.005)")
    top = 1.0 - schedule_kw.get("decay", 0.1) if kind == "wsd" else 1.0
    best = None
    for u in np.linspace(0.0, top, n_grid + 1)[1:]:
        if u >= 1 or predicted_gap(model, float(u), T, peak_lr, kind, **schedule_kw) > eps:
            break
        best = float(u)
    return best


def smallest_budget(model, peak_lr: float, tau_frac: float = 0.8, eps: float = 0.005,
                    T_min: int = 100, T_max: int = 1_000_000, kind: str = "wsd", **schedule_kw) -> int | None:
    """Smallest T (steps, within 2%) at which an expansion at tau = tau_frac * T has a predicted
    relative final gap <= eps, by bisection on log T in [T_min, T_max] (the head-start model's
    gap shrinks as T grows at fixed tau/T); None when even T_max is not enough.  Default: the
    paper's claim of parity (0.5%) at tau = 0.8T."""
    def ok(T):
        return predicted_gap(model, tau_frac, int(T), peak_lr, kind, **schedule_kw) <= eps

    if ok(T_min):
        return int(T_min)
    if not ok(T_max):
        return None
    lo, hi = float(T_min), float(T_max)
    while hi / lo > 1.02:
        mid = float(np.sqrt(lo * hi))
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return int(np.ceil(hi))


def equal_loss_efficiency(model, tau_frac: float, T: int, peak_lr: float,
                          flops_source: float, flops_target: float, kind: str = "wsd", **schedule_kw) -> dict:
    """Compute efficiency at equal loss: the FLOPs a fixed-size run needs to reach the
    progressive run's predicted final loss, over the progressive run's FLOPs.

    The fixed run of length T_eq under the same schedule shape reaches L_fixed(T_eq) =
    L_prog(T) (bisection on T_eq in [2, T]; T_eq = T when the full fixed run ends above the
    progressive one); FLOPs are per step: fixed T_eq * flops_target,
    progressive tau * flops_source + (T - tau) * flops_target (`theory.compute` gives the
    per-token counts).  Returns dict(loss_prog, T_eq, efficiency); efficiency > 1 means the
    progressive run is the cheaper way to that loss.  `model` is any gap model with
    `curve(eta, tau, at)` and the fixed-size `law` (`HeadStartModel`, `gap_model.GrownModel`)."""
    if flops_source <= 0 or flops_target <= 0:
        raise ValueError(f"flops_source={flops_source} and flops_target={flops_target} must be > 0")
    tau = max(1, round(tau_frac * T))
    eta = _schedule(T, peak_lr, kind, schedule_kw)
    loss = float(model.curve(eta, tau, [T - 1])[0])

    def fixed_final(n):
        return float(model.law.curve(_schedule(int(n), peak_lr, kind, schedule_kw), [int(n) - 1])[0])

    lo, hi = 2, T
    if fixed_final(hi) > loss:  # even the full fixed run ends above the progressive one
        T_eq = T
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if fixed_final(mid) > loss else (lo, mid)
        T_eq = hi
    prog = tau * flops_source + (T - tau) * flops_target
    return {"loss_prog": loss, "T_eq": int(T_eq), "efficiency": float(T_eq * flops_target / prog)}
