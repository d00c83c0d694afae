"""Loss-curve laws of a fixed-size run, driven by the learning-rate schedule: the loss at step
t as a function of the LRs eta_0 .. eta_t (numpy / scipy).

  Tissue et al. 2024, "Scaling law with learning rate annealing" (`LossLaw`):
      L(t) = L0 + A * S1(t)^(-alpha) - C * S2(t),
      S1(t) = sum_{i<=t} eta_i,  S2(t) = sum_{i<=t} m_i,  m_i = lam m_{i-1} + max(eta_{i-1} - eta_i, 0).

  Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
  Schedules", arXiv 2503.12811, eq. (1) (`MultiPowerLaw`):
      L(t) = L0 + A * (S1(t) + S_W)^(-alpha) - LD(t),
      LD(t) = B * sum_{k=1}^{t} (eta_{k-1} - eta_k) * G(eta_k^(-gamma) * S_k(t)),
      S_k(t) = sum_{tau=k}^{t} eta_tau,   G(x) = 1 - (C x + 1)^(-beta).
  The multiplicative form (`form="multiplicative"`, our variant, no published source; kept or
  dropped by its held-out score on fixed runs, `analysis.head_start.score_fixed_laws`) lets the decay bonus
  scale with the loss still to be gained,
      L(t) = L0 + A * (S1(t) + S_W)^(-alpha) * (1 - B * LD(t) / B_unit),  LD as above,
  so a longer run, whose power term is smaller, gains less from the same decay (the measured
  bonus shrinks with T, while the additive form's grows).  B_unit = 1 here: B is the share of
  the reducible loss removed per unit of LD.
  S1 + S_W is the LR area including warmup, so here it is the cumulative sum of every LR from
  step 0.  Choices made here (the paper starts t after warmup): LR drops are counted from the
  first step at the peak LR on (warmup increases add nothing, as for `LossLaw`); inside G,
  eta_k is floored at ETA_FLOOR x the peak LR so that a schedule that decays to exactly 0
  (the project's WSD) stays finite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, signal

ETA_FLOOR = 1e-3  # floor of eta_k / eta_peak inside G (module docstring)
AT_BOUND_RTOL = 1e-3  # a fitted parameter within this (relative, in log space) of a bound "sits at it"


# ----------------------------------------------------------------------------- helpers of the fits


def per_step_lr(steps, lr, n: int | None = None) -> np.ndarray:
    """LR on every integer step 0 .. n-1 (default: through the last logged step), linearly
    interpolated from the LR logged at `steps` (exact when every step is logged or the
    schedule is piecewise linear)."""
    s, lr = np.asarray(steps, dtype=float), np.asarray(lr, dtype=float)
    if s.shape != lr.shape or s.ndim != 1 or len(s) < 1:
        raise ValueError(f"steps {s.shape} and lr {lr.shape} must be 1-D arrays of equal length >= 1")
    if np.any(np.diff(s) <= 0) or s[0] < 0:
        raise ValueError("steps must be >= 0 and strictly increasing")
    if np.any(lr < 0) or not np.all(np.isfinite(lr)):
        raise ValueError("lr must be finite and >= 0 at every step")
    n = int(s[-1]) + 1 if n is None else int(n)
    return np.interp(np.arange(n), s, lr)


def _at_bound(values: dict, bounds: dict) -> tuple[str, ...]:
    """Names of the parameters whose value lies within AT_BOUND_RTOL (log space) of a bound."""
    out = []
    for name, v in values.items():
        lo, hi = bounds[name]
        span = np.log(hi) - np.log(lo)
        if min(abs(np.log(v) - np.log(lo)), abs(np.log(hi) - np.log(v))) <= AT_BOUND_RTOL * span:
            out.append(name)
    return tuple(out)


# ----------------------------------------------------------------------------- Tissue et al. 2024


def schedule_areas(steps, lr, lam: float = 0.999, at=None) -> tuple[np.ndarray, np.ndarray]:
    """(S1, S2) at each of `at` (default `steps`) from the LR logged at `steps` (Tissue et al. 2024).

    The LR is linearly interpolated onto every integer step from 0, then S1 = cumulative sum,
    S2 = cumulative sum of the momentum-filtered LR drops (module docstring)."""
    if not 0 < lam < 1:
        raise ValueError(f"lam={lam} must lie in (0, 1), e.g. 0.999")
    idx = np.round(np.asarray(steps if at is None else at, dtype=float)).astype(int)
    if np.any(idx < 0):
        raise ValueError("steps must be >= 0")
    eta = per_step_lr(steps, lr, max(int(np.max(steps)), int(idx.max())) + 1)
    drops = np.maximum(np.concatenate([[0.0], eta[:-1] - eta[1:]]), 0.0)
    m = signal.lfilter([1.0], [1.0, -lam], drops)
    return np.cumsum(eta)[idx], np.cumsum(m)[idx]


@dataclass(frozen=True)
class LossLaw:
    """L = L0 + A * S1^(-alpha) - C * S2 (Tissue et al. 2024; module docstring).  `at_bound`
    names the parameters a fit left at a bound of its search range."""

    L0: float
    A: float
    alpha: float
    C: float
    lam: float = 0.999
    at_bound: tuple[str, ...] = field(default=(), compare=False)

    def from_areas(self, S1, S2):
        return self.L0 + self.A * np.power(np.maximum(S1, 1e-12), -self.alpha) - self.C * np.asarray(S2)

    def predict(self, steps, lr, at=None):
        """Loss at each of `at` (default `steps`) under the LR logged at `steps`."""
        return self.from_areas(*schedule_areas(steps, lr, self.lam, at))


def fit_loss_law(curves, lam: float = 0.999, alpha_bounds: tuple[float, float] = (0.01, 3.0)) -> LossLaw:
    """Fit L0, A, alpha, C of `LossLaw` to one or more measured curves [(steps, lr, loss), ...].

    For fixed alpha the law is linear in (L0, A, C) with A, C >= 0, solved by
    scipy.optimize.lsq_linear; alpha is found by bounded scalar minimisation of the residual
    (variable projection).  Two schedules (e.g. WSD and cosine) separate C from A far better
    than one.  The result names in `at_bound` any of alpha, A, C left at a bound."""
    parts = [(*schedule_areas(s, lr, lam), np.asarray(y, dtype=float)) for s, lr, y in curves]
    S1, S2, y = (np.concatenate(p) for p in zip(*parts)) if parts else ([], [], np.array([]))
    if len(y) < 4:
        raise ValueError(f"need >= 4 (step, lr, loss) points to fit 4 constants, got {len(y)}")

    def solve(alpha):
        X = np.column_stack([np.ones_like(S1), np.power(np.maximum(S1, 1e-12), -alpha), -S2])
        res = optimize.lsq_linear(X, y, bounds=([0, 0, 0], [np.inf, np.inf, np.inf]), method="bvls")
        return res.x, float(np.sum((X @ res.x - y) ** 2))

    best = optimize.minimize_scalar(lambda a: solve(a)[1], bounds=alpha_bounds, method="bounded",
                                    options={"xatol": 1e-6})
    (L0, A, C), _ = solve(best.x)
    stuck = _at_bound({"alpha": float(best.x)}, {"alpha": alpha_bounds})
    stuck += tuple(name for name, v in (("A", A), ("C", C)) if v <= 0)
    return LossLaw(float(L0), float(A), float(best.x), float(C), lam, stuck)


# ----------------------------------------------------------------------------- Luo et al. 2025


def _mpl_terms(eta: np.ndarray, at: np.ndarray, alpha: float, C: float, beta: float, gamma: float,
               s0: float = 0.0, eta_before: float | None = None, chunk: int = 512):
    """(power term (s0 + S1(t))^(-alpha), LD(t) / B) at the steps `at` of the per-step LRs `eta`.

    With `eta_before` None the LRs start a run (drops count from the first peak step on);
    otherwise they continue a run whose last LR was `eta_before` and whose LR area so far is
    `s0`, and every change of LR counts, the one at step 0 included."""
    cum = s0 + np.cumsum(eta)
    drops = np.concatenate([[0.0 if eta_before is None else eta_before - eta[0]], eta[:-1] - eta[1:]])
    if eta_before is None:
        drops[: int(np.argmax(eta)) + 1] = 0.0
    k = np.flatnonzero(drops != 0.0)
    scale = C * np.maximum(eta[k], ETA_FLOOR * max(eta.max(), 1e-30)) ** (-gamma)
    start = cum[k] - eta[k]  # S_k(t) = cum[t] - start_k
    ld = np.zeros(len(at))
    for i in range(0, len(at), chunk):
        t = at[i:i + chunk]
        Sk = cum[t][:, None] - start[None, :]
        G = 1.0 - np.power(scale[None, :] * np.maximum(Sk, 0.0) + 1.0, -beta)
        ld[i:i + chunk] = np.where(k[None, :] <= t[:, None], G, 0.0) @ drops[k]
    return np.power(np.maximum(cum[at], 1e-12), -alpha), ld


@dataclass(frozen=True)
class MultiPowerLaw:
    """L(t) = L0 + A (S1(t) + S_W)^(-alpha) - LD(t), the multi-power law of Luo et al. 2025,
    arXiv 2503.12811, eq. (1) (module docstring for LD, G and the choices made here).  LRs are
    absolute (not multipliers), so the constants belong to one peak-LR scale.  `at_bound` names
    the parameters a fit left at a bound of its search range."""

    L0: float
    A: float
    alpha: float
    B: float
    C: float
    beta: float
    gamma: float
    at_bound: tuple[str, ...] = field(default=(), compare=False)
    form: str = "additive"  # or "multiplicative" (module docstring)
    shift: float = 0.0      # LR area added to S1 + S_W in the power term (fitted when asked)

    def __post_init__(self):
        if self.form not in MPL_FORMS:
            raise ValueError(f"form={self.form!r} is unknown; choose one of {MPL_FORMS}")

    def from_terms(self, p, ld) -> np.ndarray:
        """Loss from the power term p = (S1 + S_W)^(-alpha) and the decay term LD / B."""
        if self.form == "additive":
            return self.L0 + self.A * p - self.B * ld
        return self.L0 + self.A * p * (1.0 - self.B * ld)

    def stable_area(self, loss: float) -> float:
        """The LR area S at which the law's constant-LR curve L0 + A S^(-alpha) equals `loss`
        (inf when `loss` <= L0: the law never gets there)."""
        if loss <= self.L0:
            return float("inf")
        return float((self.A / (loss - self.L0)) ** (1.0 / self.alpha)) - self.shift

    def power(self, area) -> np.ndarray:
        """The power term (area + shift)^(-alpha) at LR area `area`."""
        return np.power(np.maximum(np.asarray(area, dtype=float) + self.shift, 1e-12), -self.alpha)

    def curve(self, eta, at, s0: float = 0.0, eta_before: float | None = None) -> np.ndarray:
        """Loss at the integer steps `at` of per-step LRs `eta` (`_mpl_terms` for s0, eta_before)."""
        p, ld = _mpl_terms(np.asarray(eta, dtype=float), np.asarray(at, dtype=int), self.alpha, self.C,
                           self.beta, self.gamma, s0 + self.shift, eta_before)
        return self.from_terms(p, ld)

    def predict(self, steps, lr, at=None) -> np.ndarray:
        """Loss at each of `at` (default `steps`) under the LR logged at `steps`."""
        at = np.round(np.asarray(steps if at is None else at, dtype=float)).astype(int)
        return self.curve(per_step_lr(steps, lr, max(int(np.max(steps)), int(at.max())) + 1), at)


MPL_FORMS = ("additive", "multiplicative")
MPL_BOUNDS = {"alpha": (0.01, 3.0), "C": (1e-4, 1e4), "beta": (0.01, 5.0), "gamma": (0.01, 2.0)}
_MPL_STARTS = ((0.5, 2.0, 0.6, 0.6), (0.3, 0.2, 1.0, 0.3), (1.0, 20.0, 0.4, 1.0))


def _per_step_curves(curves, stride: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(per-step LRs, steps, losses) of each measured curve (steps, lr, loss): finite losses
    only, every `stride`-th point."""
    data = []
    for steps, lr, loss in curves:
        s = np.round(np.asarray(steps, dtype=float)).astype(int)
        y = np.asarray(loss, dtype=float)
        if s.shape != y.shape:
            raise ValueError(f"steps {s.shape} and loss {y.shape} of a curve must have equal length")
        keep = np.isfinite(y)
        data.append((per_step_lr(steps, lr), s[keep][::stride], y[keep][::stride]))
    return data


def fit_multi_power_law(curves, bounds: dict | None = None, stride: int = 1, form: str = "additive",
                        shift: bool = False) -> MultiPowerLaw:
    """Fit the seven constants of `MultiPowerLaw` to measured curves [(steps, lr, loss), ...],
    one entry per schedule (e.g. a seed-mean curve each).

    Variable projection: for fixed (alpha, C, beta, gamma) the law is linear in (L0, A, B) with
    A, B >= 0 (scipy.optimize.lsq_linear); those four are fitted in log space by
    scipy.optimize.least_squares inside `bounds` (default MPL_BOUNDS) from a few starting
    points, the best kept.  `stride` keeps every stride-th point of each curve (speed).  The
    result names in `at_bound` any parameter left at a bound (A or B at 0 included).  `form`
    "multiplicative" fits the multiplicative variant, linear in (L0, A, A B) the same way.
    `shift` also fits an offset of the LR area in the power term, from -0.9 x the smallest LR
    area measured to the larger of 2 x that and 0.1 x the largest (the early curve need not follow one power of S1 + S_W; a free S_W is the
    multi-power law paper's own variable)."""
    if form not in MPL_FORMS:
        raise ValueError(f"form={form!r} is unknown; choose one of {MPL_FORMS}")
    bounds = {**MPL_BOUNDS, **(bounds or {})}
    data = _per_step_curves(curves, stride)
    y_all = np.concatenate([d[2] for d in data]) if data else np.array([])
    if len(y_all) < 8:
        raise ValueError(f"need >= 8 (step, lr, loss) points to fit 7 constants, got {len(y_all)}")
    names = ("alpha", "C", "beta", "gamma")
    lo, hi = (np.log([bounds[n][i] for n in names]) for i in (0, 1))
    if shift:
        areas = [np.cumsum(eta)[at] for eta, at, _ in data]
        s_min, s_max = min(float(a.min()) for a in areas), max(float(a.max()) for a in areas)
        lo, hi = np.append(lo, -0.9 * s_min), np.append(hi, max(2.0 * s_min, 0.1 * s_max))

    def design(theta):
        a, C, b, g = np.exp(theta[:4])
        s0 = theta[4] if shift else 0.0
        cols = [_mpl_terms(eta, at, a, C, b, g, s0) for eta, at, _ in data]
        p, ld = (np.concatenate(c) for c in zip(*cols))
        return np.column_stack([np.ones_like(p), p, -ld if form == "additive" else -p * ld])

    def linear(theta):
        X = design(theta)
        res = optimize.lsq_linear(X, y_all, bounds=([0, 0, 0], [np.inf, np.inf, np.inf]), method="bvls")
        return res.x, X @ res.x - y_all

    best = None
    for start in _MPL_STARTS:
        x0 = np.clip(np.append(np.log(start), [0.0] if shift else []), lo + 1e-6, hi - 1e-6)
        res = optimize.least_squares(lambda th: linear(th)[1], x0, bounds=(lo, hi), x_scale=1.0)
        if best is None or res.cost < best.cost:
            best = res
    (L0, A, B), _ = linear(best.x)
    if form == "multiplicative":
        B = B / A if A > 0 else 0.0
    values = dict(zip(names, np.exp(best.x[:4])))
    stuck = _at_bound(values, bounds) + tuple(n for n, v in (("A", A), ("B", B)) if v <= 0)
    return MultiPowerLaw(float(L0), float(A), float(values["alpha"]), float(B), float(values["C"]),
                         float(values["beta"]), float(values["gamma"]), stuck, form,
                         float(best.x[4]) if shift else 0.0)


def r_squared(measured, predicted) -> float:
    """Coefficient of determination 1 - SS_res / SS_tot of `predicted` against `measured`."""
    y, p = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    return float(1.0 - np.sum((y - p) ** 2) / np.sum((y - y.mean()) ** 2))
