"""How fast two copies of one block separate after an expansion (numpy only; never torch).

Two new blocks i and j that start as copies of one trained block hold equal weights at tau.
They differ afterwards only because their updates differ: they sit at different depths, so they
see different inputs and receive different gradients.  With D_k = W_i - W_j after k steps and
decoupled weight decay `lam` (every optimizer of the project steps w <- (1 - eta lam) w - eta u),

    D_{k+1} = (1 - eta_k lam) D_k - eta_k (u_i,k - u_j,k)                                 (1)

exactly, whatever the optimizer's direction u.  Unrolled (P as in `theory.weight_decay`),

    D_k = P(0, k) D_0 - sum_{s<k} eta_s P(s+1, k) du_s.                                   (2)

First-order pictures of the drive du (our derivation, no published source; stated with where
each must fail):
  * constant drive (`separation`): du_s = du_0, the difference of the first updates, for every
    s.  Exact for AdamW and Muon-NSGD when each copy's gradient keeps its direction (Adam's
    m/sqrt(v) and Muon's orthogonalised Nesterov momentum then repeat their first step), so
    D grows like -du_0 (sum of eta) while lam * (LR area) << 1, and saturates at -du_0 / lam.
    It fails once the gradients turn, i.e. once the loss has moved by more than its quadratic
    range, or once D is no longer small against W.  Measured (`copy_symmetry`, P24 (c)): it
    follows Muon-NSGD's copies within x2 for 50 updates and overshoots AdamW's 1.5-2.4x by 10.
    With fresh optimizer state AdamW's first step is sign(g), its largest; minibatch noise then
    enters v and shrinks m / sqrt(v), so the drive decays (a reading, not yet a prediction).
  * linear drive (`separation_linear`): for SGD on a loss quadratic near the copies, the
    gradient difference is d + H D (d from the different inputs at D = 0, H the curvature along
    D), so D_{k+1} = ((1 - eta lam) I - eta H) D_k - eta d, solved exactly by the
    eigendecomposition of a symmetric H.  It fails where the loss is not quadratic.
The first update's difference du_0 is measurable at tau from one step of each copy; the growth
statistics give its size (`branch_stats`).
"""

from __future__ import annotations

import numpy as np


def separation(delta_u, eta, lam: float = 0.0, delta_0=0.0) -> np.ndarray:
    """D after len(eta) steps under the constant drive `delta_u` (eq. 2 with du_s = du_0), per-step
    LRs `eta`, decoupled weight decay `lam`, starting difference `delta_0` (0 for exact copies)."""
    eta = np.asarray(eta, dtype=float)
    if eta.ndim != 1 or np.any(eta < 0):
        raise ValueError("eta must be a 1-D array of per-step LRs >= 0")
    if lam < 0 or not np.isfinite(lam):
        raise ValueError(f"lam={lam} must be a finite weight decay >= 0")
    factors = 1.0 - eta * lam
    if np.any(factors <= 0):
        raise ValueError(f"lam={lam} x the peak LR {eta.max():.3g} >= 1: the decay flips the weights' sign")
    # P(s+1, k) for s = 0 .. k-1: the product of the factors after step s
    after = np.concatenate([np.cumprod(factors[::-1])[::-1][1:], [1.0]])
    drive = float(np.sum(eta * after))
    return np.prod(factors) * np.asarray(delta_0, dtype=float) - drive * np.asarray(delta_u, dtype=float)


def separation_linear(d, H, eta: float, lam: float, k: int, delta_0=None) -> np.ndarray:
    """D after `k` SGD steps at constant LR `eta` with gradient difference d + H D (symmetric
    H), weight decay `lam`: the exact solution of D_{s+1} = A D_s - eta d, A = (1 - eta lam) I
    - eta H, i.e. D_k = A^k D_0 - eta (sum_{s<k} A^s) d, through H's eigendecomposition."""
    d = np.asarray(d, dtype=float)
    H = np.asarray(H, dtype=float)
    if H.shape != (len(d), len(d)) or not np.allclose(H, H.T):
        raise ValueError(f"H must be a symmetric {len(d)} x {len(d)} matrix, got shape {H.shape}")
    if k < 0 or int(k) != k:
        raise ValueError(f"k={k} must be a whole number of steps >= 0")
    D0 = np.zeros_like(d) if delta_0 is None else np.asarray(delta_0, dtype=float)
    h, V = np.linalg.eigh(H)
    a = 1.0 - eta * lam - eta * h
    with np.errstate(divide="ignore", invalid="ignore"):
        geo = np.where(np.isclose(a, 1.0), float(k), (1.0 - a ** k) / (1.0 - a))
    return V @ (a ** k * (V.T @ D0) - eta * geo * (V.T @ d))


def first_update_difference(g_i, g_j, optimizer: str) -> np.ndarray:
    """du_0 = u_i - u_j of two copies' first updates from their gradients, with fresh optimizer
    state: AdamW's first step is sign(g) (bias-corrected, eps neglected), Muon's the polar factor
    U V^T of the gradient (its Newton-Schulz iteration approximates it; singular values of its
    output lie in about [0.7, 1.2], so this is a first-order value), SGD's the gradient itself.
    Shape-scaled step sizes (Muon's) are left to the caller."""
    g_i, g_j = np.asarray(g_i, dtype=float), np.asarray(g_j, dtype=float)
    if g_i.shape != g_j.shape:
        raise ValueError(f"g_i {g_i.shape} and g_j {g_j.shape} must have one shape")
    if optimizer == "adamw":
        return np.sign(g_i) - np.sign(g_j)
    if optimizer == "muon":
        return _polar(g_i) - _polar(g_j)
    if optimizer == "sgd":
        return g_i - g_j
    raise ValueError(f"optimizer={optimizer!r} is unknown; choose adamw, muon or sgd")


def _polar(G: np.ndarray) -> np.ndarray:
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    return U @ Vt


def relative_distance(delta, W) -> float:
    """||D|| / ||W||: the copies' separation relative to the weight they started from."""
    n = float(np.linalg.norm(np.asarray(W, dtype=float)))
    if n == 0:
        raise ValueError("W is all zeros; the relative distance is undefined")
    return float(np.linalg.norm(np.asarray(delta, dtype=float)) / n)
