"""A grown run's final loss as a fresh start's plus a source offset (`OffsetLaw`, empirical:
no published law; the form is read off the ladder's and the fresh starts' measured runs,
experiments/LOG.md 2026-12-06).

The model rests on these assumptions:
  1. a model grown at step tau of T ends where a fresh target-depth model trained only the
     S = T - tau steps after tau, under the same schedule tail, ends (the fixed-size law on that
     tail, `fixed_size.MultiPowerLaw`), plus an offset delta that depends on the source depth
     and init and on S only (not on the source's age tau: `saturation` measured a 16x older source
     moving the final loss by 0.03-0.05 nats);
  2. per source, delta(S) = d_inf + b * (S / S_REF)^(-c), c > 0: a benefit (b < 0, the copy) or a
     penalty (b > 0, a 0-layer source) that fades with the steps after tau, leaving d_inf;
  3. the offset law is fitted on measured conditions and extrapolated in S: beyond the largest
     fitted S it is an extrapolation with no measurement behind it, and its interval (bootstrap
     over seeds) does not cover a change of form.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

S_REF = 1000.0  # steps: the scale b is stated at
C_BOUNDS = (0.05, 4.0)


@dataclass(frozen=True)
class OffsetLaw:
    """delta(S) = d_inf + b * (S / S_REF)^(-c) (nats; module docstring, assumption 2)."""

    d_inf: float
    b: float
    c: float

    def __call__(self, S) -> np.ndarray:
        S = np.asarray(S, dtype=float)
        if np.any(S <= 0):
            raise ValueError(f"S={S} must be positive: the steps trained after tau")
        return self.d_inf + self.b * (S / S_REF) ** (-self.c)


def fit_offset_law(S, delta, weights=None) -> OffsetLaw:
    """Least-squares `OffsetLaw` through the measured offsets `delta` (nats) at steps after tau `S`
    (three or more distinct S; `weights` per point, e.g. seed counts).  c is searched on a grid
    in C_BOUNDS and refined; d_inf and b are linear given c."""
    S = np.asarray(S, dtype=float)
    delta = np.asarray(delta, dtype=float)
    w = np.ones_like(S) if weights is None else np.asarray(weights, dtype=float)
    if S.shape != delta.shape or S.shape != w.shape:
        raise ValueError(f"S, delta and weights must have one value per condition; got shapes "
                         f"{S.shape}, {delta.shape}, {w.shape}")
    if len(np.unique(S)) < 3:
        raise ValueError(f"fit_offset_law needs three or more distinct S (steps after tau); got {sorted(set(S))}")
    sw = np.sqrt(w)

    def linear(c):
        X = np.stack([np.ones_like(S), (S / S_REF) ** (-c)], axis=1)
        coef, *_ = np.linalg.lstsq(X * sw[:, None], delta * sw, rcond=None)
        return coef, float(np.sum(w * (X @ coef - delta) ** 2))

    grid = np.geomspace(*C_BOUNDS, 60)
    c0 = grid[int(np.argmin([linear(c)[1] for c in grid]))]
    res = optimize.minimize_scalar(lambda c: linear(c)[1], bounds=(max(C_BOUNDS[0], c0 / 1.2), min(C_BOUNDS[1], c0 * 1.2)),
                                   method="bounded")
    c = float(res.x) if res.fun <= linear(c0)[1] else float(c0)
    (d_inf, b), _ = linear(c)
    return OffsetLaw(float(d_inf), float(b), c)
