"""Learning-rate sums, r(tau), convex SGD bounds, their optimal peak LR and a bound fitter.

Every schedule comes from `progtheory.theory.schedules.lr_factor` (the single source); the
numeric functions here sum it over the discrete steps t = 0 .. T-1 (step t of the trainer is
step t+1 of the papers' 1-based notation).

Closed forms (`closed_form`, `area_fraction`) are derived with sympy in *continuous time*:
the schedule is a function of u = t/T in [0, 1] and the sums become integrals, e.g.
sum_{t<tau} eta_t ~ T * int_0^{tau/T} eta(u) du.  They differ from the discrete sums by O(1/T)
(the warmup's (t+1)/W offset and the decay's end points); a test checks the agreement.

Convex bounds (SGD on a convex, G-Lipschitz loss, ||x_1 - x*|| <= D, steps eta_1..eta_T):

  averaged iterate   L* + D^2/(2 S) + G^2 Q/(2 S),     S = sum eta_t, Q = sum eta_t^2
                     (Nesterov 2004; in this form Defazio et al. 2023 eq. 2)
  last iterate       the averaged bound + (G^2/2) sum_{k<T} eta_k/(sum_{t>k} eta_t)
                                                  * (sum_{t>=k} eta_t^2)/(sum_{t>=k} eta_t)
                     (Defazio, Cutkosky, Mehta & Mishchenko 2023, Thm. 1; used for LLM
                     schedules by Schaipp et al. 2025).  docs/BACKGROUND.md section 3.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import sympy as sp
from scipy import optimize

from progtheory.theory import _args
from progtheory.theory.options import DECAY_SHAPES
from progtheory.theory.schedules import lr_factor

# ----------------------------------------------------------------------------- numeric sums


def schedule_values(T: int, kind: str = "wsd", **kw) -> np.ndarray:
    """eta_t / eta_peak for t = 0..T-1 from `lr_factor` (kw: warmup, decay, decay_shape,
    final_lr_frac)."""
    T = _args.integer("total steps T", T, low=1)
    return np.asarray(lr_factor(np.arange(T), T, kind, **kw), dtype=float)


def _constants(**values) -> None:
    """D, G >= 0 and any other named constants finite."""
    for name, v in values.items():
        _args.number(name, v, 0.0 if name in ("D", "G") else -np.inf)


def lr_sums(etas) -> tuple[float, float]:
    """(sum eta_t, sum eta_t^2) of a schedule array."""
    e = _args.finite_array("etas", etas)
    return float(e.sum()), float(np.square(e).sum())


def r_of_tau(etas, tau):
    """r(tau) = sum_{t < tau} eta_t / sum_t eta_t: the share of the LR mass spent before the
    expansion at step `tau` (0-based; tau steps have run).  r(0) = 0, r(T) = 1, nondecreasing.
    Vectorized over integer `tau` in [0, T].  Source: docs/BACKGROUND.md section 3."""
    e = _args.finite_array("etas", etas)
    c = np.concatenate([[0.0], np.cumsum(e)])
    k = _args.finite_array("tau", tau)
    if np.any(k < 0) or np.any(k > len(e)) or np.any(k != np.round(k)):
        raise ValueError(f"tau={tau} must be integer steps in [0, T={len(e)}]")
    out = c[k.astype(int)] / c[-1]
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------- closed forms (sympy)

_u, _p, _w, _d, _f = sp.symbols("u p w d f", nonnegative=True)


def _pieces(kind: str, shape: str) -> list[tuple[sp.Expr, sp.Expr, sp.Expr]]:
    """(h(p), start, width) pieces of the continuous schedule on s in [0, 1]: on
    [start, start + width] the LR factor is h(p) with p = (s - start)/width in [0, 1].

    w = warmup fraction, d = decay fraction (wsd), f = final LR fraction.  Warmup p on [0, w];
    wsd: 1 on [w, 1-d], then f + (1-f) g(p) on [1-d, 1] with g the decay shape;
    cosine / linear: f + (1-f) g(p) on [w, 1].
    """
    warm = (_p, sp.Integer(0), _w)
    shapes = {"linear": 1 - _p, "cosine": (1 + sp.cos(sp.pi * _p)) / 2, "sqrt": 1 - sp.sqrt(_p)}
    if kind == "constant":
        return [warm, (sp.Integer(1), _w, 1 - _w)]
    if kind == "wsd":
        return [warm, (sp.Integer(1), _w, 1 - _w - _d), (_f + (1 - _f) * shapes[shape], 1 - _d, _d)]
    if kind in ("cosine", "linear"):
        return [warm, (_f + (1 - _f) * shapes[kind], _w, 1 - _w)]
    raise ValueError(f"schedule kind {kind!r} is unknown; choose wsd, cosine, linear or constant")


@functools.lru_cache(maxsize=None)
def closed_form(kind: str = "wsd", decay_shape: str = "linear") -> dict[str, sp.Expr]:
    """Sympy closed forms in u = tau/T, w, d, f (continuous time, see module docstring):

    ``area(u)``  = int_0^u eta(s) ds   (Piecewise in u),
    ``total``    = int_0^1 eta(s) ds,
    ``total_sq`` = int_0^1 eta(s)^2 ds,
    ``r(u)``     = area(u) / total.

    Each piece is integrated in its own progress variable p (ds = width dp).
    T * total ~ sum eta_t and T * total_sq ~ sum eta_t^2 for a schedule of T steps.
    Example: WSD (linear decay, f=0): total = 1 - w/2 - d/2, so r(0.8) = 0.79/0.94 = 0.840
    at w=0.02, d=0.1.
    """
    if decay_shape not in DECAY_SHAPES:
        raise ValueError(f"decay_shape={decay_shape!r} is unknown; choose linear, cosine or sqrt")
    q = sp.Symbol("q", nonnegative=True)
    area_parts, acc, total_sq = [], sp.Integer(0), sp.Integer(0)
    for h, start, width in _pieces(kind, decay_shape):
        partial = sp.integrate(h, (_p, 0, q)).subs(q, (_u - start) / width)
        area_parts.append((acc + width * partial, _u <= start + width))
        acc = acc + width * sp.integrate(h, (_p, 0, 1))
        total_sq = total_sq + width * sp.integrate(sp.expand(h ** 2), (_p, 0, 1))
    total = sp.simplify(acc)
    area = sp.Piecewise(*area_parts, (total, True))
    return {"area": area, "total": total, "total_sq": sp.simplify(total_sq), "r": area / total}


@functools.lru_cache(maxsize=None)
def _lambdified(kind: str, decay_shape: str, name: str):
    return sp.lambdify((_u, _w, _d, _f), closed_form(kind, decay_shape)[name], "numpy")


def area_fraction(u, kind: str = "wsd", warmup: float = 0.02, decay: float = 0.1,
                  decay_shape: str = "linear", final_lr_frac: float = 0.0, quantity: str = "r"):
    """Fast numeric value of a `closed_form` quantity (``r``, ``area``, ``total``, ``total_sq``)
    at u = tau/T (vectorized over u); lambdified from the sympy expression.

    Continuous time: r(0.8) for WSD (2% warmup, 10% linear decay) is 0.840 and r(0.5) for
    cosine (2% warmup) is 0.812, matching docs/BACKGROUND.md section 3 (0.84 / 0.81).
    """
    _args.number("warmup", warmup, 0.0, 1.0)
    _args.number("decay", decay, 0.0, 1.0)
    _args.number("final_lr_frac", final_lr_frac, 0.0, 1.0)
    if warmup <= 0:
        warmup = 1e-12  # the warmup piece has zero width; avoids 0/0 in the unused branch
    if kind == "wsd" and decay <= 0:
        decay = 1e-12
    uu = _args.finite_array("u", u)
    if np.any((uu < 0) | (uu > 1)):
        raise ValueError(f"u={u} must lie in [0, 1] (u = tau / T)")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray(_lambdified(kind, decay_shape, quantity)(uu, warmup, decay, final_lr_frac), dtype=float)
    out = np.broadcast_to(out, uu.shape) if out.ndim < uu.ndim else out
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------- convex bounds


def averaged_iterate_bound(etas, D: float, G: float, L_star: float = 0.0) -> float:
    """L* + D^2/(2 S) + G^2 Q / (2 S) with S = sum eta, Q = sum eta^2 (absolute LRs).

    Assumes convex G-Lipschitz loss, initial distance D; bounds the eta-weighted average
    iterate (module docstring)."""
    _constants(D=D, G=G, L_star=L_star)
    S, Q = lr_sums(etas)
    if S <= 0:
        raise ValueError("the schedule has no positive step; sum of etas must be > 0")
    return L_star + D * D / (2 * S) + G * G * Q / (2 * S)


def _last_iterate_terms(e: np.ndarray) -> tuple[float, float, float]:
    """(a, b, S) with last_iterate_bound = L* + D^2 a + G^2 b and S = sum eta.

    Trailing zero LRs are dropped first: a zero step leaves the iterate unchanged, and the
    term eta_k / sum_{t>k} eta_t would otherwise divide by zero."""
    nz = np.flatnonzero(e > 0)
    if nz.size == 0:
        raise ValueError("the schedule has no positive step; sum of etas must be > 0")
    e = e[: nz[-1] + 1]
    S, Q = e.sum(), np.square(e).sum()
    tail = np.cumsum(e[::-1])[::-1]             # sum_{t>=k} eta_t
    tail_sq = np.cumsum(np.square(e)[::-1])[::-1]
    after = tail[1:]                             # sum_{t>k} eta_t for k < T
    k = slice(0, len(e) - 1)
    extra = 0.5 * np.sum(e[k] / after * tail_sq[k] / tail[k]) if len(e) > 1 else 0.0
    return 1.0 / (2 * S), Q / (2 * S) + extra, S


def last_iterate_bound(etas, D: float, G: float, L_star: float = 0.0) -> float:
    """Defazio et al. 2023 (Thm. 1) last-iterate bound for convex G-Lipschitz SGD:

        L* + D^2/(2 S) + G^2 Q/(2 S) + (G^2/2) sum_{k<T} eta_k/(sum_{t>k} eta_t)
                                        * (sum_{t>=k} eta_t^2)/(sum_{t>=k} eta_t).

    Schaipp et al. 2025 show its shape tracks LLM loss curves under WSD and cosine.
    `etas` are absolute step sizes; trailing zeros are dropped (see `_last_iterate_terms`)."""
    _constants(D=D, G=G, L_star=L_star)
    a, b, _ = _last_iterate_terms(_args.finite_array("etas", etas))
    return L_star + D * D * a + G * G * b


def optimal_peak_lr(factors, D: float, G: float, bound: str = "last") -> tuple[float, float]:
    """Peak LR gamma minimising the bound for eta_t = gamma * factors[t]; returns (gamma*, bound).

    Both bounds have the form a/gamma + b*gamma (the D^2 term scales as 1/gamma, the G^2 terms
    as gamma), so gamma* = sqrt(a/b) and the minimum is 2 sqrt(a b).  For the averaged bound
    gamma* = D/(G sqrt(sum f_t^2)), which scales as 1/sqrt(T) for a fixed schedule shape.
    """
    _constants(D=D, G=G)
    f = _args.finite_array("factors", factors)
    if bound == "averaged":
        S, Q = lr_sums(f)
        a, b = D * D / (2 * S), G * G * Q / (2 * S)
    elif bound == "last":
        a1, b1, _ = _last_iterate_terms(f)
        a, b = D * D * a1, G * G * b1
    else:
        raise ValueError(f"bound={bound!r} must be 'averaged' or 'last'")
    return float(np.sqrt(a / b)), float(2 * np.sqrt(a * b))


def progressive_gap(r_tau, loss_gap: float, dist_teleport_sq: float, dist_fresh_sq: float, sum_eta: float):
    """Difference of the averaged-iterate bounds of a progressive and a fixed-size run:

        gap = r(tau) (L(w*) - L(W*)) + (||x_tau - x*||^2 - ||x_0 - x*||^2) / (2 sum_{t<=T} eta_t)

    Model (docs/BACKGROUND.md section 3): projected SGD that keeps the new parameters x at 0 until tau,
    teleports them to x_tau, then trains W = [w, x]; convex G-Lipschitz loss.
    `loss_gap` = L(w*) - L(W*) >= 0 is the capacity gap of the small model.

    Caveat: this is a difference of two *upper bounds*, not a bound on the difference of the
    losses; a negative value does not prove the progressive run is better.  It also favours
    zero init of x (small ||x_tau - x*||), which the paper rejects on feature-learning grounds:
    the convex model has no dead-gradient mechanism.
    """
    r = _args.finite_array("r_tau", r_tau)
    if np.any((r < 0) | (r > 1)):
        raise ValueError(f"r_tau={r_tau} must lie in [0, 1] (a share of the LR mass)")
    _constants(loss_gap=loss_gap, dist_teleport_sq=dist_teleport_sq, dist_fresh_sq=dist_fresh_sq)
    _args.number("sum_eta", sum_eta, 0.0, low_open=True)
    return r * loss_gap + (dist_teleport_sq - dist_fresh_sq) / (2.0 * sum_eta)


# ----------------------------------------------------------------------------- fitting to a measured curve


def bound_features(etas, steps) -> np.ndarray:
    """Per evaluation step t: the coefficients (1, a_t, b_t) with bound(t) = L* + D^2 a_t + G^2 b_t,
    a_t, b_t from the last-iterate bound of the steps taken so far, eta_0..eta_{t-1}."""
    e = np.asarray(etas, dtype=float)
    rows = []
    for t in np.asarray(steps, dtype=int):
        if not 1 <= t <= len(e):
            raise ValueError(f"step {t} must lie in [1, len(etas)={len(e)}]")
        a, b, _ = _last_iterate_terms(e[:t])
        rows.append((1.0, a, b))
    return np.array(rows)


@dataclass(frozen=True)
class BoundFit:
    L_star: float
    D: float
    G: float
    r2: float

    def predict(self, etas, steps) -> np.ndarray:
        """Bound-shaped loss prediction at `steps` (1-based counts of steps taken)."""
        return bound_features(etas, steps) @ np.array([self.L_star, self.D ** 2, self.G ** 2])


def fit_bound(etas, steps, losses) -> BoundFit:
    """Fit L*, D, G of the last-iterate bound to a measured loss curve (Schaipp et al. 2025 fit
    the same form).  The bound is linear in (L*, D^2, G^2), so this is a bounded linear
    least-squares problem (scipy.optimize.lsq_linear, D^2, G^2 >= 0).  Fit on a prefix of the
    curve and call `BoundFit.predict` for the remainder.  `steps` count steps taken (>= 1)."""
    X = bound_features(etas, steps)
    y = np.asarray(losses, dtype=float)
    if len(y) != len(X) or len(y) < 3:
        raise ValueError(f"need >= 3 (step, loss) pairs of equal length, got {len(X)} steps, {len(y)} losses")
    res = optimize.lsq_linear(X, y, bounds=([-np.inf, 0, 0], [np.inf, np.inf, np.inf]))
    resid = y - X @ res.x
    ss = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(resid ** 2) / ss if ss > 0 else 1.0
    return BoundFit(float(res.x[0]), float(np.sqrt(res.x[1])), float(np.sqrt(res.x[2])), float(r2))
