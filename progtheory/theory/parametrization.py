"""Parametrization rules: init std, residual multipliers, per-group LR and Adam eps (no torch).

The model and the optimizer builder call these functions; nothing about scaling is
hard-coded in the torch code.  Parameter roles:

  * ``embedding``  token and position embeddings (the token embedding is also the tied head),
  * ``hidden``     2-D matrices inside transformer blocks (attention qkv/proj, MLP fc/proj),
  * ``vector``     LayerNorm gains/biases and all linear biases.

Parametrizations (PAPER.md section 3, "Depth parametrization"):

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

PARAMETRIZATIONS = ("sp", "mup", "depth-mup", "completep")
OPTIMIZERS = ("adamw", "sgd", "muon")
ROLES = ("embedding", "hidden", "vector")

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


def has_width_rules(parametrization: str) -> bool:
    _check_param(parametrization)
    return parametrization != "sp"


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
    ``vector`` (TP-VI; CompleteP, Table 1), embeddings untouched since they sit outside the
    residual branches.  Regime: as `predict_lr`.  Known simplification: TP-V's SGD rule also
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
        if parametrization in ("depth-mup", "completep") and role != "embedding" and depth > 0:
            m *= (depth / base_depth) ** _depth_lr_exponent(optimizer, a)
        out[role] = float(m)
    return out


def adam_eps_multipliers(parametrization: str, *, depth: int, base_depth: int, width: int,
                         base_width: int, alpha: float | None = None) -> dict[str, float]:
    """Adam eps multipliers: eps tracks the gradient scale of each role.

    Hidden gradients scale as (w0/w) under muP and carry the branch multiplier
    (L/L0)^-alpha under depth rules (CompleteP, Dey et al. 2025, Table 1).
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


def predict_lr(depth, *, base_depth: int, base_lr: float, parametrization: str, optimizer: str,
               alpha: float | None = None, width: int | None = None, base_width: int | None = None):
    """Predicted hidden-matrix learning rate at `depth` (and `width`), given `base_lr` tuned at
    (base_depth, base_width).  Vectorized over `depth`; returns a float for a scalar depth.

    Formula: base_lr * (L/L0)^e * (w/w0)^f with

      e = alpha - 1     adamw, muon  (update size independent of the gradient's scale; each of L
                                      blocks moves the stream by L^-alpha * eta, so eta ~ L^(alpha-1))
      e = 2 alpha - 1   sgd          (the gradient carries L^-alpha too)
      f = -1            adamw        (muP hidden LR ~ 1/width, Tensor Programs V, Table 3)
      f = 0             sgd, muon    (muP SGD hidden LR is width-free; Muon's update already has
                                      the spectral scale sqrt(fan_out/fan_in), Bernstein et al.)

    alpha = 0 for sp and mup, 1/2 for depth-mup, 1 for completep (or the `alpha` override), so:
    depth-mup + adamw/muon: LR ~ L^-1/2 (Tensor Programs VI, Yang et al. 2023; Bordelon et al.
    2023); depth-mup + sgd: constant (same sources); completep + adamw: constant (Dey et al.
    2025, CompleteP); sp / mup: LR ~ 1/L (adamw) or 1/L (sgd), a heuristic.

    Regime of validity: the depth rules are derived for width and depth large, pre-LN residual
    networks, and training times short enough that the infinite-limit dynamics describe them;
    for alpha = 1/2 the limit exists but block-wise feature learning vanishes (TP-VI), for
    alpha = 1 it is "complete" (CompleteP).  Published exponents for sp disagree (0, -1/2,
    -3/2; PAPER.md section 3): sp and mup have no stable depth limit and their rule is a
    hypothesis that the LR-transfer sweep (P14) must test.  For depth-mup / completep the
    trainer applies the same factor through `lr_multipliers`, so users keep passing base_lr;
    for sp and mup the user passes `predict_lr(...)` as the LR.
    """
    if base_lr <= 0:
        raise ValueError(f"base_lr={base_lr} must be > 0")
    if base_depth < 1:
        raise ValueError(f"base_depth={base_depth} must be >= 1")
    if parametrization not in _DEFAULT_ALPHA:
        _check_param(parametrization)
    a = _DEFAULT_ALPHA[parametrization] if alpha is None else depth_alpha(parametrization, alpha)
    if optimizer == "sgd":
        e = 2.0 * a - 1.0
    elif optimizer in ("adamw", "muon"):
        e = a - 1.0
    else:
        _check_opt(optimizer)
    w = 1.0
    if width is not None or base_width is not None:
        if width is None or base_width is None:
            raise ValueError(f"width={width} and base_width={base_width}: pass both or neither")
        if width < 1 or base_width < 1:
            raise ValueError(f"width={width} and base_width={base_width} must be >= 1")
        if optimizer == "adamw":
            w = base_width / width
    if isinstance(depth, (int, float)):  # scalar fast path (no numpy)
        if depth < 1:
            raise ValueError(f"depth={depth} must be >= 1 (a 0-layer model has no hidden matrices)")
        return base_lr * (depth / base_depth) ** e * w
    d = np.asarray(depth, dtype=float)
    if np.any(d < 1):
        raise ValueError(f"depth={depth} must be >= 1 (a 0-layer model has no hidden matrices)")
    lr = base_lr * (d / base_depth) ** e * w
    return float(lr) if lr.ndim == 0 else lr
