"""Decoupled weight decay as an exponential moving average: how much of the weights at the
expansion survives to the end of the run (numpy / sympy; never torch).

Under decoupled weight decay (Loshchilov & Hutter 2019, "Decoupled weight decay
regularization") every optimizer of the project (AdamW, Muon-NSGD, normalized SGD) steps

    w_{s+1} = (1 - eta_s * lam) * w_s - eta_s * u_s,

with u_s the optimizer's own direction (Adam's m/sqrt(v), Muon's orthogonalised momentum, the
normalized momentum) and eta_s the group's LR at step s.  Unrolled from the expansion step tau,

    w_T = P(tau, T) * w_tau - sum_{s=tau}^{T-1} P(s+1, T) * eta_s * u_s,
    P(a, b) = prod_{s=a}^{b-1} (1 - eta_s * lam),

so the weights are the share P(tau, T) of the state at tau plus an exponential moving average of
the updates since (Wang & Aitchison 2024, "How to set AdamW's weight decay as you scale model and
dataset size": timescale 1 / (eta * lam) steps at a constant LR).  For eta_s * lam << 1,

    P(tau, T) = exp(-lam * A(tau, T)) * (1 + O(lam^2 sum eta_s^2)),   A = sum_{s=tau}^{T-1} eta_s,

the LR area after tau: the schedule enters only through its area.  Limits: lam = 0 keeps the
whole state (P = 1); a constant LR eta gives exp(-lam * eta * (T - tau)).

The memory reading of the progressive gap (`forgetting_gap`; our model, no published source,
judged by `experiments/LOG.md` and P25): the grown model and the fixed model differ at the end by
what their states at tau still contribute, so with the update-driven part shared the gap decays
with that share: gap(lam) = floor + (gap_0 - floor) * P(tau, T).  It must fail where lam is so
large that the fixed model itself degrades (its loss rises with lam: the floor then moves).
"""

from __future__ import annotations

import numpy as np
import sympy as sp


def lr_area(eta, tau: int, T: int | None = None) -> float:
    """A(tau, T) = sum_{s=tau}^{T-1} eta_s of per-step LRs `eta` (T defaults to len(eta))."""
    eta = np.asarray(eta, dtype=float)
    T = len(eta) if T is None else int(T)
    if not 0 <= tau <= T <= len(eta):
        raise ValueError(f"need 0 <= tau={tau} <= T={T} <= {len(eta)} (the schedule's steps)")
    return float(eta[tau:T].sum())


def surviving_share(eta, tau: int, lam: float, T: int | None = None, exact: bool = True) -> float:
    """P(tau, T): the share of the weights at step tau left at step T under decoupled weight
    decay `lam` and per-step LRs `eta` (module docstring): the exact product, or with
    exact=False its exponential form exp(-lam * A(tau, T))."""
    if lam < 0 or not np.isfinite(lam):
        raise ValueError(f"lam={lam} must be a finite weight decay >= 0")
    eta = np.asarray(eta, dtype=float)
    T = len(eta) if T is None else int(T)
    if not exact:
        return float(np.exp(-lam * lr_area(eta, tau, T)))
    lr_area(eta, tau, T)  # checks the range
    factors = 1.0 - eta[tau:T] * lam
    if np.any(factors <= 0):
        raise ValueError(f"lam={lam} x the peak LR {eta.max():.3g} >= 1: the decay flips the weights' sign")
    return float(np.exp(np.sum(np.log(factors))))


def memory_clock(eta, tau: int, lam: float, T: int | None = None) -> float:
    """lam * A(tau, T): the number of weight-decay timescales the run passes after tau."""
    return float(lam) * lr_area(eta, tau, T)


def forgetting_gap(clock, gap_0: float, floor: float = 0.0):
    """The memory model's gap at memory clock(s) `clock` = lam * A (module docstring):
    floor + (gap_0 - floor) * exp(-clock)."""
    return floor + (gap_0 - floor) * np.exp(-np.asarray(clock, dtype=float))


def fit_forgetting(clocks, gaps) -> tuple[float, float]:
    """(gap_0, floor) of `forgetting_gap` by least squares (linear in both) on measured gaps at
    the memory clocks `clocks`; needs two distinct clocks."""
    x = np.exp(-np.asarray(clocks, dtype=float))
    y = np.asarray(gaps, dtype=float)
    if len(np.unique(np.round(x, 12))) < 2:
        raise ValueError("need gaps at two or more distinct memory clocks lam * A to fit gap_0 and floor")
    X = np.column_stack([x, 1.0 - x])
    (gap_0, floor), *_ = np.linalg.lstsq(X, y, rcond=None)
    return float(gap_0), float(floor)


def symbolic_share():
    """(P, its series in lam to second order) for a constant LR eta over n steps, in sympy: the
    product (1 - eta lam)^n against exp(-lam eta n) (the module's approximation)."""
    eta, lam, n = sp.symbols("eta lambda n", positive=True)
    P = (1 - eta * lam) ** n
    return P, sp.series(sp.log(P), lam, 0, 3).removeO()
