"""Learning-rate schedules as pure functions of the step (numpy, no torch).

These functions are the single source of every schedule in progtheory: the trainer
calls `lr_factor` each step, and the theory modules (sums, r(tau), bounds) evaluate
the same function on a grid of steps.

All functions return the multiplier eta_t / eta_peak for 0-based steps t = 0 .. T-1.

Conventions (chosen here; the paper leaves them open):
  * warmup is linear from 1/W to 1 over the first W = round(warmup*T) steps
    (step t has factor (t+1)/W, so no step uses LR exactly 0);
  * WSD (Hu et al. 2024, "MiniCPM"): warmup, constant 1, then the last
    D = round(decay*T) steps decay from 1 to `final` with the chosen shape
    (step t in the decay phase has progress p = (t - (T-D) + 1)/D in (0, 1]);
  * cosine: warmup, then final + (1-final)*(1+cos(pi*p))/2 with p in (0, 1];
  * linear: warmup, then a linear ramp from 1 to `final`;
  * constant: warmup, then 1.
"""

from __future__ import annotations

import numpy as np

from progtheory.theory import _args
from progtheory.theory.options import DECAY_SHAPES


def _warmup(t: np.ndarray, W: int) -> np.ndarray:
    return np.minimum(1.0, (t + 1.0) / max(W, 1)) if W > 0 else np.ones_like(t, dtype=float)


def _decay_curve(p: np.ndarray, shape: str) -> np.ndarray:
    """Multiplier going from 1 (p=0) to 0 (p=1)."""
    if shape == "linear":
        return 1.0 - p
    if shape == "cosine":
        return 0.5 * (1.0 + np.cos(np.pi * p))
    if shape == "sqrt":
        return 1.0 - np.sqrt(p)
    raise ValueError(f"decay shape {shape!r} is unknown; choose one of {DECAY_SHAPES}")


def _check(T: int, warmup: float, decay: float, final: float) -> None:
    _args.integer("total steps T", T, low=1)
    _args.number("warmup", warmup, 0.0, 1.0, high_open=True)
    _args.number("decay", decay, 0.0, 1.0)
    _args.number("final", final, 0.0, 1.0)
    if T <= 0:
        raise ValueError(f"total steps T={T} must be > 0")
    if not 0 <= warmup < 1:
        raise ValueError(f"warmup={warmup} must be a fraction in [0, 1)")
    if not 0 <= decay <= 1 or warmup + decay > 1:
        raise ValueError(f"decay={decay} must be in [0, 1] with warmup + decay <= 1 (got {warmup + decay})")
    if not 0 <= final <= 1:
        raise ValueError(f"final={final} must lie in [0, 1]")


def wsd(t, T: int, warmup: float = 0.02, decay: float = 0.1, shape: str = "linear", final: float = 0.0):
    """Warmup-stable-decay: eta_t/eta = warm(t) for t < W; 1 in the stable phase;
    final + (1-final)*g(p) in the last D steps, g the decay shape (linear 1-p, cosine
    (1+cos(pi p))/2, sqrt 1-sqrt(p)).  Source: Hu et al. 2024 (MiniCPM); the paper uses
    2% warmup and 10% decay to 0 (docs/BACKGROUND.md section 6)."""
    _check(T, warmup, decay, final)
    t = _args.finite_array("t", t)
    W, D = round(warmup * T), round(decay * T)
    out = _warmup(t, W)
    if D > 0:
        p = np.clip((t - (T - D) + 1.0) / D, 0.0, 1.0)
        in_decay = t >= T - D
        out = np.where(in_decay, final + (1.0 - final) * _decay_curve(p, shape), out)
    return out


def cosine(t, T: int, warmup: float = 0.02, final: float = 0.0):
    """Cosine: warm(t) for t < W, then final + (1-final)*(1+cos(pi p))/2 with
    p = (t-W+1)/(T-W).  Source: Loshchilov & Hutter 2017."""
    _check(T, warmup, 0.0, final)
    t = _args.finite_array("t", t)
    W = round(warmup * T)
    p = np.clip((t - W + 1.0) / max(T - W, 1), 0.0, 1.0)
    return np.where(t < W, _warmup(t, W), final + (1.0 - final) * 0.5 * (1.0 + np.cos(np.pi * p)))


def linear(t, T: int, warmup: float = 0.02, final: float = 0.0):
    """Linear decay: warm(t) for t < W, then final + (1-final)*(1-p), p = (t-W+1)/(T-W)."""
    _check(T, warmup, 0.0, final)
    t = _args.finite_array("t", t)
    W = round(warmup * T)
    p = np.clip((t - W + 1.0) / max(T - W, 1), 0.0, 1.0)
    return np.where(t < W, _warmup(t, W), final + (1.0 - final) * (1.0 - p))


def constant(t, T: int, warmup: float = 0.0):
    """Constant after a linear warmup."""
    _check(T, warmup, 0.0, 0.0)
    t = _args.finite_array("t", t)
    return _warmup(t, round(warmup * T))


def lr_factor(t, T: int, kind: str = "wsd", warmup: float = 0.02, decay: float = 0.1,
              decay_shape: str = "linear", final_lr_frac: float = 0.0):
    """Dispatch on `kind` (the fields of `ScheduleConfig`); returns eta_t / eta_peak."""
    if kind == "wsd":
        return wsd(t, T, warmup, decay, decay_shape, final_lr_frac)
    if kind == "cosine":
        return cosine(t, T, warmup, final_lr_frac)
    if kind == "linear":
        return linear(t, T, warmup, final_lr_frac)
    if kind == "constant":
        return constant(t, T, warmup)
    raise ValueError(f"schedule kind {kind!r} is unknown; choose wsd, cosine, linear or constant")


def schedule_from_config(sched, T: int):
    """Vectorized callable t -> eta_t/eta_peak for a `ScheduleConfig`-like object."""
    kw = dict(kind=sched.kind, warmup=sched.warmup, decay=sched.decay,
              decay_shape=sched.decay_shape, final_lr_frac=sched.final_lr_frac)
    return lambda t: lr_factor(t, T, **kw)
