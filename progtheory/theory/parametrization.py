"""Parametrization rules: init std, residual multipliers, per-group LR and Adam eps (no torch).

The model and the optimizer builder call these functions; nothing about scaling is
hard-coded in the torch code.  Parameter roles:

  * ``embedding``  token and position embeddings (the token embedding is also the tied head),
  * ``hidden``     2-D matrices inside transformer blocks (attention qkv/proj, MLP fc/proj),
  * ``vector``     LayerNorm gains/biases and linear biases inside the blocks,
  * ``final_norm`` the final LayerNorm `ln_f`: it sits outside every residual branch, so no
                   depth rule applies to it (the CompleteP reference implementation leaves the
                   final norm at multiplier 1); width rules treat it as a vector (none).

Parametrizations (docs/BACKGROUND.md section 4):

  ``sp``         GPT-2 standard: every weight N(0, 0.02^2); the two residual output
                 projections N(0, (0.02/sqrt(2L))^2) (Radford et al. 2019); no multipliers.
  ``mup``        width-muP for Adam (Yang et al. 2021, Tensor Programs V, Table 3): hidden
                 init std 0.02*sqrt(w0/w), hidden LR * w0/w, hidden Adam eps * w0/w, logits * w0/w.
  ``depth-mup``  mup + residual branches * (L/L0)^(-1/2) (Yang et al. 2023, Tensor Programs VI;
                 Bordelon et al. 2023).
  ``completep``  mup + residual branches * (L/L0)^(-1) (Dey et al. 2025, CompleteP).

w0 = base width, L0 = base depth: at (L0, w0) every rule is the identity.
"""

from __future__ import annotations

import math

import numpy as np

from progtheory.theory.options import OPTIMIZERS, PARAMETRIZATIONS

ROLES = ("embedding", "hidden", "vector", "final_norm")

_DEFAULT_ALPHA = {"sp": 0.0, "mup": 0.0, "depth-mup": 0.5, "completep": 1.0}


def _check_param(parametrization: str) -> None:
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization={parametrization!r} is unknown; choose one of {PARAMETRIZATIONS}")


def _check_opt(optimizer: str) -> None:
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is unknown; choose one of {OPTIMIZERS}")


def depth_alpha(parametrization: str, alpha: float | None = None) -> float:
    """Residual-branch exponent alpha: sp 0, mup 0, depth-mup 1/2, completep 1; `alpha` overrides."""
    _check_param(parametrization)
    if alpha is not None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha} must lie in [0, 1]")
        return float(alpha)
    return _DEFAULT_ALPHA[parametrization]


def residual_multiplier(depth: int, base_depth: int, alpha: float) -> float:
    """Branch multiplier (L/L0)^(-alpha) applied to every attention and MLP output.

    Source: Tensor Programs VI (alpha=1/2), CompleteP (alpha=1).  Depth 0 has no branches
    and returns 1.
    """
    if depth < 0 or base_depth < 1:
        raise ValueError(f"depth={depth} must be >= 0 and base_depth={base_depth} >= 1")
    if depth == 0:
        return 1.0
    return float((depth / base_depth) ** (-alpha))


def init_std(kind: str, *, parametrization: str, depth: int, width: int, base_width: int,
             std: float = 0.02) -> float:
    """Init std of a weight of kind ``embedding``, ``hidden_in`` (qkv, fc) or ``hidden_out``
    (attention and MLP output projections).

    sp:   embedding/hidden_in `std`; hidden_out std/sqrt(2L) (GPT-2).
    muP family: embedding `std` (width-independent); hidden std*sqrt(w0/w) (fan-in scaling,
          so each hidden matrix's spectral norm stays Theta(1) relative to its base), no depth
          factor: depth is handled by the residual multiplier.
    """
    _check_param(parametrization)
    if kind == "embedding":
        return std
    if kind not in ("hidden_in", "hidden_out"):
        raise ValueError(f"weight kind {kind!r} is unknown; use embedding, hidden_in or hidden_out")
    if parametrization == "sp":
        return std / math.sqrt(2 * max(depth, 1)) if kind == "hidden_out" else std
    return std * math.sqrt(base_width / width)


def output_multiplier(parametrization: str, width: int, base_width: int) -> float:
    """Logit multiplier: 1 for sp, w0/w for the muP family (muP readout, TP-V Table 3)."""
    return 1.0 if parametrization == "sp" else base_width / width


def _depth_lr_exponent(optimizer: str, alpha: float) -> float:
    """Exponent e in LR ~ (L/L0)^e for hidden matrices and vectors.

    Adam / Muon (scale-invariant updates): each block moves the residual stream by
    ~ L^-alpha * eta; L blocks move it by L^(1-alpha) * eta, so eta ~ L^(alpha-1).
    SGD: the gradient also carries L^-alpha, so per block L^-2alpha * eta, total
    L^(1-2alpha) * eta, so eta ~ L^(2alpha-1).  (Depth-muP: Adam L^-1/2, SGD L^0;
    CompleteP: Adam L^0.)
    """
    _check_opt(optimizer)
    return 2 * alpha - 1 if optimizer == "sgd" else alpha - 1


def _width_lr_exponent(optimizer: str, role: str) -> float:
    """Exponent f in LR ~ (w/w0)^f under muP (TP-V Table 3; spectral scaling for Muon)."""
    if role != "hidden":
        return 0.0
    if optimizer == "adamw":
        return -1.0
    return 0.0  # sgd: hidden LR width-independent under muP; muon: spectral scaling in the update


def lr_multipliers(parametrization: str, optimizer: str, *, depth: int, base_depth: int,
                   width: int, base_width: int, alpha: float | None = None) -> dict[str, float]:
    """Per-role LR multipliers the optimizer applies on top of the user's LR.

    sp applies none (its transfer is only predicted, by `predict_lr`); mup applies the width
    rule (hidden (w/w0)^f, f as in `predict_lr`; embeddings and vectors width-free: TP-V,
    Table 3, Adam column); depth-mup / completep also apply (L/L0)^e to ``hidden`` and
    ``vector`` (TP-VI; CompleteP, Table 1); embeddings and the final norm (``final_norm``)
    are untouched since they sit outside the residual branches.  Regime: as `predict_lr`.  Known simplification: TP-V's SGD rule also
    scales the embedding LR with width; it is not applied here (identity at base width).
    Identity at (base_depth, base_width) for every parametrization and optimizer.
    """
    _check_param(parametrization)
    _check_opt(optimizer)
    out = {r: 1.0 for r in ROLES}
    if parametrization == "sp":
        return out
    a = depth_alpha(parametrization, alpha)
    for role in ROLES:
        m = (width / base_width) ** _width_lr_exponent(optimizer, role)
        if parametrization in ("depth-mup", "completep") and role in ("hidden", "vector") and depth > 0:
            m *= (depth / base_depth) ** _depth_lr_exponent(optimizer, a)
        out[role] = float(m)
    return out


def muon_step_scale(fan_out: int, fan_in: int) -> float:
    """Spectral norm of a Muon step per unit LR for a fan_out x fan_in matrix: sqrt(fan_out/fan_in).

    Assumption: the orthogonalized momentum O has all singular values ~1 (Newton-Schulz), so the
    step lr * sqrt(fan_out/fan_in) * O has ||dW||_2 = lr * sqrt(fan_out/fan_in), the spectral
    condition for feature learning (Yang, Simon & Bernstein 2023, eq. 3; docs/BACKGROUND.md).
    torch.optim.Muon's default uses sqrt(max(1, fan_out/fan_in)) instead (equal unless wide).
    """
    if fan_out < 1 or fan_in < 1:
        raise ValueError(f"fan_out={fan_out} and fan_in={fan_in} must be >= 1")
    return math.sqrt(fan_out / fan_in)


def adam_eps_multipliers(parametrization: str, *, depth: int, base_depth: int, width: int,
                         base_width: int, alpha: float | None = None) -> dict[str, float]:
    """Adam eps multipliers: eps tracks the gradient scale of each role.

    Hidden gradients scale as (w0/w) under muP and carry the branch multiplier
    (L/L0)^-alpha under depth rules (CompleteP, Dey et al. 2025, Table 1).  The final norm
    (``final_norm``) is outside every branch: its gradient carries no branch multiplier, so
    its eps stays 1.
    """
    _check_param(parametrization)
    out = {r: 1.0 for r in ROLES}
    if parametrization == "sp":
        return out
    a = depth_alpha(parametrization, alpha)
    d = (depth / base_depth) ** (-a) if parametrization in ("depth-mup", "completep") and depth > 0 else 1.0
    out["hidden"] = float(base_width / width * d)
    out["vector"] = float(d)
    return out


# Measured with `theory.lr_calibration.fit_lr_transfer` on experiments/results/lr_transfer (sp,
# AdamW, width 128, depths 1-8, seeds 0-1, 2000 steps, bf16 on one GPU): e = +0.05, 95% bootstrap
# interval over seeds [-0.09, +0.19] (with 2 seeds: the spread of the single-seed fits).
# tests/theory/test_lr_calibration.py recomputes it from the committed table.
SP_ADAMW_DEPTH_EXPONENT = 0.05
MAX_DEPTH, MAX_WIDTH, MAX_LR = 10_000, 10**8, 100.0


def _real(name: str, value, lo: float, hi: float, *, open_lo: bool = False) -> float:
    """`value` as a float in [lo, hi] ((lo, hi] with open_lo); rejects bools, strings, nan, inf."""
    if type(value) is not int and type(value) is not float:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ValueError(f"{name}={value!r} must be a number (got {type(value).__name__})")
    v = float(value)
    if not (lo < v <= hi if open_lo else lo <= v <= hi):  # also false for nan
        raise ValueError(f"{name}={value!r} must be a finite number in {'(' if open_lo else '['}{lo:g}, {hi:g}]")
    return v


def _depths(depth) -> np.ndarray:
    d = np.asarray(depth)
    if d.dtype.kind not in "iuf":
        raise ValueError(f"depth={depth!r} must be a number or an array of numbers (got dtype {d.dtype})")
    d = d.astype(float)
    bad = d[~((d >= 1) & (d <= MAX_DEPTH))]
    if bad.size:
        raise ValueError(f"depth={bad.flat[0]!r} must be a finite number in [1, {MAX_DEPTH}] "
                         "(a 0-layer model has no hidden matrices)")
    return d


def _no_rule(what: str, parametrization: str, optimizer: str) -> ValueError:
    return ValueError(f"predict_lr has no published or measured {what} rule for parametrization="
                      f"{parametrization!r} with optimizer={optimizer!r}; fit one from your own LR sweep with "
                      "progtheory.theory.lr_calibration.fit_lr_transfer and pass calibration=, or use "
                      "depth-mup / completep (published depth rules)")


def _exponents(parametrization: str, optimizer: str, alpha) -> tuple[float | None, float | None]:
    """(e, f) of `predict_lr` without a calibration; None where no sourced rule exists."""
    if parametrization not in _DEFAULT_ALPHA:
        _check_param(parametrization)
    if optimizer not in OPTIMIZERS:
        _check_opt(optimizer)
    if parametrization in ("depth-mup", "completep"):
        a = _DEFAULT_ALPHA[parametrization] if alpha is None else depth_alpha(parametrization, alpha)
        e = 2.0 * a - 1.0 if optimizer == "sgd" else a - 1.0
    elif parametrization == "sp" and optimizer == "adamw" and not alpha:
        e = SP_ADAMW_DEPTH_EXPONENT
    else:
        if alpha is not None:
            depth_alpha(parametrization, alpha)
        e = None
    if optimizer == "muon":
        f = 0.0
    elif parametrization == "sp":
        f = None  # no width rule with measured support for sp (predict_lr's docstring)
    else:
        f = -1.0 if optimizer == "adamw" else 0.0
    return e, f


def _predict_calibrated(depth, calibration, width, given: dict):
    extra = [k for k, v in given.items() if v is not None and k not in ("parametrization", "optimizer")]
    if extra:
        raise ValueError(f"{extra[0]}={given[extra[0]]!r} with calibration=: a calibration carries its own "
                         "anchor and exponents; drop base_lr, base_depth, base_width and alpha")
    for k in ("parametrization", "optimizer"):
        if given[k] is not None and getattr(calibration, k, None) not in (None, given[k]):
            raise ValueError(f"{k}={given[k]!r} but the calibration was fitted for {getattr(calibration, k)!r}")
    w = 1.0 if width is None else _real("width", width, 1, MAX_WIDTH)
    w = calibration._width(None if width is None else w) ** calibration.f
    if type(depth) is int or type(depth) is float:
        return calibration.c * _real("depth", depth, 1, MAX_DEPTH) ** calibration.e * w
    lr = calibration.c * _depths(depth) ** calibration.e * w
    return float(lr) if lr.ndim == 0 else lr


def _width_factor(width, base_width, f: float | None, parametrization: str, optimizer: str) -> float:
    """(w/w0)^f of `predict_lr`; 1 when neither width is given or they are equal."""
    w = 1.0
    if width is not None or base_width is not None:
        if width is None or base_width is None:
            raise ValueError(f"width={width} and base_width={base_width}: pass both or neither")
        w = _real("width", width, 1, MAX_WIDTH) / _real("base_width", base_width, 1, MAX_WIDTH)
        if w != 1.0:
            if f is None:
                raise _no_rule("width", parametrization, optimizer)
            w = w ** f
    return w


def _depth_scaled(base_lr: float, depth, base_depth: float, e: float | None, w: float,
                  parametrization: str, optimizer: str):
    """base_lr * (L/L0)^e * w for a scalar or an array of depths; without a rule (e None) only
    L = L0 is allowed."""
    if type(depth) is int or type(depth) is float:  # scalar fast path (no numpy)
        d = _real("depth", depth, 1, MAX_DEPTH) / base_depth
        if e is None:
            if d != 1.0:
                raise _no_rule("depth", parametrization, optimizer)
            return base_lr * w
        return base_lr * d ** e * w
    d = _depths(depth) / base_depth
    if e is None:
        if np.any(d != 1.0):
            raise _no_rule("depth", parametrization, optimizer)
        e = 0.0
    lr = base_lr * d ** e * w
    return float(lr) if lr.ndim == 0 else lr


def predict_lr(depth, *, base_depth: int | None = None, base_lr: float | None = None,
               parametrization: str | None = None, optimizer: str | None = None, alpha: float | None = None,
               width: int | None = None, base_width: int | None = None, calibration=None):
    """Predicted peak LR at `depth` (and `width`), given `base_lr` tuned at (base_depth,
    base_width), or from a fitted `calibration`.  Vectorized over `depth`; a float for a scalar.

    With ``calibration`` (an `LRCalibration` from `theory.lr_calibration.fit_lr_transfer`):
    c * L^e * w^f as fitted on the user's own sweep, in the units of that sweep's LR column;
    `calibration.interval(depth, width)` gives its bootstrap interval over seeds.

    Without: base_lr * (L/L0)^e * (w/w0)^f, using only these rules (others raise ValueError
    unless L = L0 and w = w0, where every rule is the identity):

      depth e  sp + adamw          SP_ADAMW_DEPTH_EXPONENT = +0.05, measured by this project
                                   (experiments/results/lr_transfer: width 128, L = 1..8, 2 seeds,
                                   95% interval [-0.09, +0.19]; i.e. flat within the grid step)
               depth-mup, completep  alpha - 1 for adamw / muon, 2 alpha - 1 for sgd (alpha = 1/2:
                                   Adam L^-1/2, SGD L^0, Tensor Programs VI, Yang et al. 2023;
                                   Bordelon et al. 2023.  alpha = 1, Adam: L^0, CompleteP, Dey et
                                   al. 2025, Table 1.  Muon is treated as Adam: its update size does
                                   not depend on the gradient's scale)
               sp + sgd / muon, mup  none published that agree (sp exponents 0 to -3/2, docs/
                                   BACKGROUND.md section 4) and none measured here: calibrate
      width f  adamw               -1 under the muP family (muP hidden LR ~ 1/width, Tensor
                                   Programs V, Table 3); none for sp: the measured sp optima do not
                                   pin one down (`lr_transfer_cpu` fitted -1.14 on widths 32 and 64
                                   with 400-step runs, and the optimum moves with run length,
                                   experiments/LOG.md), so off the base width sp + AdamW raises and
                                   points to `fit_lr_transfer`
               muon                0 (the update carries the spectral scale sqrt(fan_out/fan_in))
               sgd                 0 under the muP family (TP-V, Table 3); none for sp

    Regime: the depth rules are derived for wide, deep pre-LN residual networks trained for
    short times; the sp exponent holds over the measured shapes only.  For depth-mup /
    completep the trainer applies the same factor through `lr_multipliers`, so users keep
    passing base_lr; for sp the user passes `predict_lr(...)` as the LR.

    Arguments are checked: depth in [1, MAX_DEPTH], base_lr in (0, MAX_LR], widths in
    [1, MAX_WIDTH]; nan, inf, strings and bools raise ValueError naming the value.
    """
    if calibration is not None:
        return _predict_calibrated(depth, calibration, width, dict(
            base_depth=base_depth, base_lr=base_lr, base_width=base_width, alpha=alpha,
            parametrization=parametrization, optimizer=optimizer))
    for k, v in (("base_depth", base_depth), ("base_lr", base_lr), ("parametrization", parametrization),
                 ("optimizer", optimizer)):
        if v is None:
            raise ValueError(f"{k} is required without a calibration (or pass calibration=fit_lr_transfer(...))")
    base_lr = _real("base_lr", base_lr, 0.0, MAX_LR, open_lo=True)
    base_depth = _real("base_depth", base_depth, 1, MAX_DEPTH)
    e, f = _exponents(parametrization, optimizer, alpha)
    w = _width_factor(width, base_width, f, parametrization, optimizer)
    return _depth_scaled(base_lr, depth, base_depth, e, w, parametrization, optimizer)
