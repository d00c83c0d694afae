"""The jolt of the first updates of new blocks: how far the first Adam step from fresh state
moves a new matrix, the loss change after k = 1..K optimizer steps from fresh state, per
optimizer, and the LR ramp (`GrowthPlan.rewarmup_steps`) that keeps either within a budget.

First Adam step (`adam_first_step_move`, `adam_first_step_jolt`): with bias correction the
first step moves every coordinate by exactly lr * sign(g_1), whatever the parameter's init
scale (Kingma & Ba 2015, section 2.1), so a small new matrix is moved far relative to its own
size; `safe_new_param_lr` and `rewarmup_steps` size a ramp that bounds that move.

Model: the loss along the update path, to second order,

    L(theta - s v) - L(theta) ~ -s * slope + s^2/2 * curvature,

with v the first step's direction per unit LR and (slope, curvature) = (g . v, v^T G v)
measured at tau on the new parameters (`progtheory.train.branch_stats.update_statistics`; G the
Gauss-Newton matrix of the cross-entropy).  The direction of each optimizer's first step
from fresh state:

    AdamW   v = sign(g): m_hat_1 / sqrt(v_hat_1) = g / |g|, so every coordinate moves by lr,
            whatever its scale (Kingma & Ba 2015, sec. 2.1); slope = ||g||_1.
    Muon    v = sqrt(fan_out/fan_in) * orth(g) per matrix (spectral norm lr sqrt(fan_out/fan_in),
            Yang, Simon & Bernstein 2023; Jordan et al. 2024), g / rms(g) for vectors
            (normalised SGD); slope ~ sum sqrt(fan_out/fan_in) ||g||_* (nuclear norm).
    SGD     v = g; slope = ||g||^2.

Two models of the first K steps, both fed by the same two numbers:

  * constant gradient (`jolt_curve`): the gradient is held at its tau value, so each
    optimizer keeps stepping along v and only the distance s_k = sum of the step sizes
    changes: AdamW and Muon move lr_i per step (normalised), SGD with heavy-ball momentum mu
    moves lr_i (1 - mu^i) / (1 - mu) at step i.  It can only grow once past the line minimum.
  * line model (`jolt_line`; our derivation, no published source): the optimizer's own update
    rule run on the quadratic along v, the gradient at distance s taken parallel to the one at
    tau, g(s) = c(s) g with c(s) = 1 - s curvature / slope (the projection of the quadratic
    model onto the line; exact when the loss depends on the new parameters only through one
    linear functional).  Because every coordinate's gradient shares the factor c, AdamW's
    m_hat / sqrt(v_hat) is sign(g) times the same scalar ratio of the moment averages of c,
    Muon's orthogonalised Nesterov momentum is orth(g) times the sign of the momentum of c,
    and SGD's heavy ball moves by the momentum of c times g: the distance s_k follows a
    scalar recursion, and the optimizer turns back once it has passed the line minimum
    s* = slope / curvature.  Left out: the old parameters' simultaneous updates, weight decay
    and AdamW's eps.

All functions are numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from progtheory.theory import _args
from progtheory.theory.init_scale import gaussian_spectral_norm
from progtheory.theory.options import OPTIMIZERS


def _optimizer(name: str) -> str:
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer={name!r} is unknown; choose one of {OPTIMIZERS}")
    return name


def _lrs(lrs) -> np.ndarray:
    lr = _args.finite_array("lrs", lrs)
    if lr.ndim != 1 or len(lr) == 0 or np.any(lr < 0):
        raise ValueError(f"lrs={lrs!r} must be a non-empty 1-D sequence of LRs >= 0")
    return lr


def _adam_moments(m: float, v: float, c: float, k: int, beta1: float, beta2: float):
    """One Adam moment update at step k (1-based) for a gradient of size c: the new (m, v) and
    the bias-corrected m_hat and sqrt(v_hat), so the step is lr * m_hat / sqrt(v_hat)."""
    m = beta1 * m + (1 - beta1) * c
    v = beta2 * v + (1 - beta2) * c * c
    return m, v, m / (1 - beta1 ** k), math.sqrt(v / (1 - beta2 ** k))


# ----------------------------------------------------------------------------- the first Adam step on new parameters

def adam_first_step_move(lr: float, steps: int = 1, beta1: float = 0.9, beta2: float = 0.95,
                         grad_ratio: float = 1.0) -> float:
    """Per-coordinate displacement after `steps` Adam steps from fresh state (m = v = 0),
    ignoring eps and weight decay.

    With bias correction, m_hat_1 = g_1 and v_hat_1 = g_1^2, so the first step moves every
    coordinate by exactly lr * sign(g_1), whatever the parameter's init scale (Kingma & Ba
    2015, section 2.1: |step| <= lr).  For a gradient of constant sign and magnitude ratio
    `grad_ratio` = g_{k+1}/g_k the k-th step is lr * m_hat_k / sqrt(v_hat_k); with
    grad_ratio = 1 every step moves lr, so `steps` steps move steps * lr.
    """
    _args.number("lr", lr, 0.0, low_open=True)
    _args.integer("steps", steps, low=1)
    _args.number("beta1", beta1, 0.0, 1.0, high_open=True)
    _args.number("beta2", beta2, 0.0, 1.0, high_open=True)
    _args.number("grad_ratio", grad_ratio)
    m = v = total = 0.0
    g = 1.0
    for k in range(1, steps + 1):
        m, v, m_hat, rms = _adam_moments(m, v, g, k, beta1, beta2)
        total += lr * m_hat / rms
        g *= grad_ratio
    return total


def adam_first_step_jolt(lr: float, *, init_std: float, fan_out: int, fan_in: int,
                         input_rms: float = 1.0, multiplier: float = 1.0) -> dict[str, float]:
    """Size of the first Adam step on a new fan_out x fan_in matrix with fresh state.

    The update is lr * sign(G); a per-token gradient G = delta x^T is rank one, so sign(G) =
    sign(delta) sign(x)^T is rank one too, with spectral norm lr sqrt(fan_out fan_in).
    Returns ``coordinate_relative`` lr / init_std (inf for a zero init), ``spectral_ratio`` =
    ||dW||_2 / ||W_0||_2 (init norm from `gaussian_spectral_norm`; inf for zero init), and
    ``output_change``: RMS change of the branch output on an input aligned with the gradient's
    input, multiplier * lr * fan_in * input_rms * sqrt(2/pi) (sum of |x_j| for Gaussian x).
    A pilot saw val loss jump from 6.10 to 8.13 one step after inserting random blocks at
    lr 3e-3: at d = 256, std 0.02, spectral_ratio = 3e-3 * 256 / (0.02 * 32) = 1.2.
    """
    _args.number("lr", lr, 0.0, low_open=True)
    _args.number("input_rms", input_rms, 0.0)
    _args.number("multiplier", multiplier)
    w0 = gaussian_spectral_norm(init_std, fan_out, fan_in)
    dw = lr * math.sqrt(fan_out * fan_in)
    return {
        "coordinate_relative": lr / init_std if init_std > 0 else math.inf,
        "spectral_ratio": dw / w0 if w0 > 0 else math.inf,
        "output_change": multiplier * lr * fan_in * input_rms * math.sqrt(2.0 / math.pi),
    }


def safe_new_param_lr(init_std: float, fan_out: int, fan_in: int, max_spectral_ratio: float = 0.1) -> float:
    """Largest LR whose first Adam step changes a new matrix's spectral norm by at most
    `max_spectral_ratio` of its init norm (inverse of `adam_first_step_jolt`'s spectral_ratio)."""
    if _args.number("init_std", init_std) <= 0:
        raise ValueError(f"init_std={init_std} must be > 0; a zero init has no scale to compare with")
    _args.number("max_spectral_ratio", max_spectral_ratio, 0.0, low_open=True)
    return max_spectral_ratio * gaussian_spectral_norm(init_std, fan_out, fan_in) / math.sqrt(fan_out * fan_in)


def rewarmup_steps(lr: float, safe_lr: float) -> int:
    """Length R of a linear LR ramp for new parameters only (first factor 1/R) such that the
    first step uses at most `safe_lr`: R = ceil(lr / safe_lr).  The trainer's option is
    `GrowthPlan.rewarmup_steps`; `rewarmup_factor` gives the ramp."""
    if _args.number("lr", lr) <= 0 or _args.number("safe_lr", safe_lr) <= 0:
        raise ValueError(f"lr={lr} and safe_lr={safe_lr} must be > 0")
    return max(1, math.ceil(lr / safe_lr))


def rewarmup_factor(steps_since_expansion, ramp_steps: int):
    """LR factor of new parameters: min(1, (s + 1)/R) for s = steps since the expansion;
    1 when ramp_steps = 0.  Vectorized over s."""
    _args.integer("ramp_steps", ramp_steps, low=0)
    s = _args.finite_array("steps_since_expansion", steps_since_expansion)
    out = np.ones_like(s) if ramp_steps == 0 else np.minimum(1.0, (s + 1.0) / ramp_steps)
    return float(out) if out.ndim == 0 else out


# ----------------------------------------------------------------------------- the path of the first updates

def path_length(lrs, optimizer: str, momentum: float = 0.9) -> np.ndarray:
    """Distance s_k travelled along the first direction after k = 1..len(lrs) steps with LRs
    `lrs` (the scheduled LR times any ramp factor), from fresh state and a constant gradient:
    AdamW, Muon: s_k = sum_(i<=k) lr_i;  SGD (torch heavy ball, buf_1 = g):
    s_k = sum_(i<=k) lr_i (1 - mu^i) / (1 - mu)."""
    _optimizer(optimizer)
    lr = _lrs(lrs)
    if optimizer == "sgd":
        mu = _args.number("momentum", momentum, 0.0, 1.0, high_open=True)
        i = np.arange(1, len(lr) + 1)
        lr = lr * (1 - mu ** i) / (1 - mu) if mu > 0 else lr
    return np.cumsum(lr)


def jolt_curve(slope: float, curvature: float, lrs, optimizer: str, momentum: float = 0.9) -> np.ndarray:
    """Predicted loss change (nats) after k = 1..len(lrs) steps of the new parameters:
    dL_k = -s_k * slope + s_k^2 / 2 * curvature (`path_length`).  `slope` and `curvature`
    are the optimizer's own (`branch_stats.update_statistics`)."""
    _args.number("slope", slope)
    _args.number("curvature", curvature, 0.0)
    s = path_length(lrs, optimizer, momentum)
    return -s * slope + 0.5 * s * s * curvature


def line_path(slope: float, curvature: float, lrs, optimizer: str, momentum: float = 0.9,
              beta2: float = 0.95) -> np.ndarray:
    """Distance s_k along the first direction after k = 1..len(lrs) steps in the line model
    (module docstring): c_k = 1 - s_(k-1) curvature / slope, and with the optimizer's moment
    averages of c,

        AdamW  M_k = b1 M + (1 - b1) c_k, V_k = b2 V + (1 - b2) c_k^2 (bias-corrected),
               s_k = s_(k-1) + lr_k M_hat_k / sqrt(V_hat_k)            (b1 = `momentum`)
        Muon   B_k = mu B + c_k, s_k = s_(k-1) + lr_k sign(c_k + mu B_k)  (Nesterov)
        SGD    B_k = mu B + c_k, s_k = s_(k-1) + lr_k B_k                 (heavy ball)

    With curvature 0 (c = 1) it is `path_length`.  A zero slope (no gradient) never moves."""
    _optimizer(optimizer)
    _args.number("slope", slope, 0.0)
    _args.number("curvature", curvature, 0.0)
    mu = _args.number("momentum", momentum, 0.0, 1.0, high_open=True)
    b2 = _args.number("beta2", beta2, 0.0, 1.0, high_open=True)
    lr = _lrs(lrs)
    out = np.zeros(len(lr))
    if slope == 0:
        return out
    s = m = v = 0.0
    for k, step in enumerate(lr, start=1):
        c = 1.0 - s * curvature / slope
        if optimizer == "adamw":
            m, v, m_hat, rms = _adam_moments(m, v, c, k, mu, b2)
            s += step * m_hat / rms
        elif optimizer == "muon":
            m = mu * m + c
            s += step * float(np.sign(c + mu * m))
        else:
            m = mu * m + c
            s += step * m
        out[k - 1] = s
    return out


def jolt_line(slope: float, curvature: float, lrs, optimizer: str, momentum: float = 0.9,
              beta2: float = 0.95) -> np.ndarray:
    """Predicted loss change (nats) after k = 1..len(lrs) steps in the line model:
    dL_k = -s_k slope + s_k^2 / 2 curvature with s_k from `line_path`.  Equals `jolt_curve`
    at k = 1, and at every k when the curvature is 0."""
    s = line_path(slope, curvature, lrs, optimizer, momentum, beta2)
    return -s * slope + 0.5 * s * s * curvature


def max_path_length(slope: float, curvature: float, budget: float) -> float:
    """Largest distance s with -s slope + s^2/2 curvature <= budget (nats):
    s_max = (slope + sqrt(slope^2 + 2 curvature budget)) / curvature (inf for curvature 0)."""
    _args.number("slope", slope)
    _args.number("curvature", curvature, 0.0)
    _args.number("budget", budget, 0.0)
    if curvature == 0:
        return math.inf
    return (slope + math.sqrt(max(slope * slope + 2 * curvature * budget, 0.0))) / curvature


def rewarmup_for_jolt(slope: float, curvature: float, lr: float, optimizer: str, budget: float = 0.05,
                      horizon: int = 10, momentum: float = 0.9, max_steps: int = 100_000) -> int:
    """Shortest linear ramp R of the new parameters' LR (factor min(1, (s + 1)/R) at step s
    after the expansion, `GrowthPlan.rewarmup_steps`) whose predicted loss increase stays within
    `budget` nats for each of the first `horizon` steps; 0 when no ramp is needed.

    The loss change along the path is convex in the distance s, so the bound holds at every
    step when it holds at the last one: s_horizon(R) <= `max_path_length`.  A ramp longer than
    `horizon` keeps lowering s_horizon, so R may exceed the horizon.  Raises when even
    `max_steps` does not suffice."""
    _args.number("lr", lr, 0.0, low_open=True)
    _args.integer("horizon", horizon, low=1)
    s_max = max_path_length(slope, curvature, budget)

    def s_end(R: int) -> float:
        return float(path_length(lr * rewarmup_factor(np.arange(horizon), R), optimizer, momentum)[-1])

    if s_end(0) <= s_max:
        return 0
    lo, hi = 1, 2
    while s_end(hi) > s_max:
        lo, hi = hi, hi * 2
        if hi > max_steps:
            raise ValueError(f"no ramp up to {max_steps} steps keeps the jolt within budget={budget}; "
                             f"lower lr={lr} or raise the budget")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if s_end(mid) > s_max else (lo, mid)
    return hi
