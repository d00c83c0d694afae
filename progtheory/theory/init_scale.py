"""Initialisation scale: spectral std, activation sizes at init, and how much an expansion
changes the function before any update.

Model of a pre-LN GPT-2 block at init (the model of `progtheory.core.model`): the LayerNorm output
u has exactly unit RMS (gain 1, bias 0); a weight with i.i.d. N(0, s^2) entries maps a vector
of RMS r to coordinates of variance fan_in * s^2 * r^2; branches are independent of the
residual stream at init, so variances add along the stream.  Attention at init is taken as
uniform over the causal prefix (scores q.k/sqrt(d_h) have std ~ d sigma^2, small at std 0.02);
tokens start uncorrelated (i.i.d. tokens) and the correlation that attention averaging and the
GELU's nonzero mean build up across positions is tracked by a mean-field recursion.

The loss change of an expansion predicted from a trained source's statistics is in
`expansion`; the first optimizer steps on the new blocks in `jolt`; which of their gradients
vanish in `dead_gradients`.  All functions are numpy only.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from progtheory.theory import _args
from progtheory.theory import parametrization as P
from progtheory.theory.options import ZERO_TYPES

# ----------------------------------------------------------------------------- spectral scale


def _fans(fan_out, fan_in) -> None:
    _args.integer("fan_out", fan_out, low=1)
    _args.integer("fan_in", fan_in, low=1)


def spectral_std(fan_out: int, fan_in: int, scale: float = 1.0) -> float:
    """Init std giving ||W||_2 = scale * sqrt(fan_out / fan_in) (the spectral condition of
    Yang, Simon & Bernstein 2023, "A spectral condition for feature learning", eq. 3).

    Uses ||W||_2 ~ s (sqrt(fan_out) + sqrt(fan_in)) for an i.i.d. Gaussian matrix
    (Bai-Yin / Gordon; exact as both dimensions grow), so
    s = scale * sqrt(fan_out/fan_in) / (sqrt(fan_out) + sqrt(fan_in)), i.e.
    Theta(1/sqrt(fan_in) * min(1, sqrt(fan_out/fan_in))).
    """
    _fans(fan_out, fan_in)
    _args.number("scale", scale, 0.0)
    return scale * math.sqrt(fan_out / fan_in) / (math.sqrt(fan_out) + math.sqrt(fan_in))


def gaussian_spectral_norm(std: float, fan_out: int, fan_in: int) -> float:
    """Expected largest singular value of a fan_out x fan_in N(0, std^2) matrix,
    std * (sqrt(fan_out) + sqrt(fan_in)) (leading order, Gordon's inequality)."""
    _args.number("std", std, 0.0)
    _fans(fan_out, fan_in)
    return std * (math.sqrt(fan_out) + math.sqrt(fan_in))


@functools.lru_cache(maxsize=256)
def gelu_second_moment(var: float, n: int = 80) -> float:
    """E[gelu(z)^2] for z ~ N(0, var), tanh-approximate GELU (the model's), by Gauss-Hermite
    quadrature with `n` nodes (exact to ~1e-12 for var <= 100)."""
    _args.number("var", var, 0.0)
    x, w = np.polynomial.hermite_e.hermegauss(n)
    z = math.sqrt(var) * x
    g = 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))
    return float(np.sum(w * g * g) / math.sqrt(2.0 * math.pi))


# ----------------------------------------------------------------------------- activation sizes


@functools.lru_cache(maxsize=256)
def gelu_cross_moment(var: float, rho: float, n: int = 40) -> float:
    """E[gelu(z1) gelu(z2)] for (z1, z2) jointly Gaussian, variance `var`, correlation `rho`
    (2-D Gauss-Hermite quadrature).  rho = 1 gives `gelu_second_moment`; rho = 0 gives
    E[gelu(z)]^2 > 0, the shared mean that makes MLP outputs correlated across tokens."""
    _args.number("var", var, 0.0)
    _args.number("rho", rho, -1.0, 1.0)
    if var < 0 or not -1 <= rho <= 1:
        raise ValueError(f"var={var} must be >= 0 and rho={rho} in [-1, 1]")
    x, w = np.polynomial.hermite_e.hermegauss(n)
    s = math.sqrt(var)
    z1 = s * x[:, None]
    z2 = s * (rho * x[:, None] + math.sqrt(max(1 - rho * rho, 0.0)) * x[None, :])

    def gelu(z):
        return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))

    return float(np.sum(w[:, None] * w[None, :] * gelu(z1) * gelu(z2)) / (2.0 * math.pi))


def _block_scales(parametrization, depth, width, base_width, base_depth, std, alpha, init_depth):
    kw = dict(parametrization=parametrization, depth=init_depth or depth, width=width,
              base_width=base_width, std=std)
    s_in, s_out = P.init_std("hidden_in", **kw), P.init_std("hidden_out", **kw)
    m = P.residual_multiplier(depth, base_depth, P.depth_alpha(parametrization, alpha))
    return s_in, s_out, m


def _attention_averages(context: int) -> tuple[float, float]:
    """(h, kappa): h = mean over positions of 1/n (n = keys seen) = H_T/T; kappa = mean over
    pairs of distinct positions of 1/max(n_i, n_j) (keys two uniform averages share)."""
    n = np.arange(1, context + 1, dtype=float)
    h = float(np.mean(1.0 / n))
    kappa = float(np.sum((n[1:] - 1) / n[1:]) * 2 / (context * (context - 1))) if context > 1 else 0.0
    return h, kappa


def branch_variances(*, parametrization: str, depth: int, width: int, base_width: int,
                     context: int, base_depth: int = 1, std: float = 0.02,
                     alpha: float | None = None, init_depth: int | None = None,
                     rho: float = 0.0) -> dict[str, float]:
    """Per-coordinate variance of the attention and MLP branch outputs of a freshly initialised
    block, after the residual multiplier m = (L/L0)^-alpha (`parametrization.residual_multiplier`),
    and their covariance between two different tokens of a sequence:

        attn     = m^2 d s_out^2 d s_in^2 (h + (1 - h) rho)       uniform causal attention: a
                   token at position i averages i values; h = mean of 1/i = H_T/T
        attn_cov = m^2 d s_out^2 d s_in^2 (kappa (1 - rho) + rho)  two averages share keys
        mlp      = m^2 4d s_out^2 E[gelu(z)^2],            z ~ N(0, d s_in^2)
        mlp_cov  = m^2 4d s_out^2 E[gelu(z1) gelu(z2)],    corr(z1, z2) = rho

    rho = correlation of the LayerNorm inputs of two tokens (0 for the embeddings).
    s_in, s_out = `parametrization.init_std` of ``hidden_in`` / ``hidden_out`` for a model of
    `init_depth` (default `depth`; sp's output std depends on it), d = width, T = context.
    """
    if _args.integer("depth", depth) < 1:
        raise ValueError(f"depth={depth} must be >= 1 for a model with blocks")
    if _args.integer("context", context) < 1:
        raise ValueError(f"context={context} must be >= 1")
    _args.integer("width", width, low=1)
    _args.integer("base_width", base_width, low=1)
    _args.number("std", std, 0.0)
    _args.number("rho", rho, -1.0, 1.0)
    s_in, s_out, m = _block_scales(parametrization, depth, width, base_width, base_depth, std, alpha, init_depth)
    d = width
    h, kappa = _attention_averages(context)
    a0 = m * m * d * s_out ** 2 * d * s_in ** 2
    m0 = m * m * 4 * d * s_out ** 2
    var_z = d * s_in ** 2
    return {"attn": a0 * (h + (1 - h) * rho), "attn_cov": a0 * (kappa * (1 - rho) + rho),
            "mlp": m0 * gelu_second_moment(var_z), "mlp_cov": m0 * gelu_cross_moment(var_z, round(rho, 6)),
            "multiplier": m}


def residual_rms_at_init(*, parametrization: str, depth: int, width: int, base_width: int,
                         context: int, base_depth: int = 1, std: float = 0.02,
                         alpha: float | None = None) -> dict[str, np.ndarray]:
    """Predicted RMS (over tokens and coordinates) at init, for sp, mup or any depth-alpha.

    Mean-field recursion over layers l = 1..depth for q (per-token variance) and c (covariance
    of two tokens of a sequence), rho = c/q:

        q_0 = 2 s_emb^2 (token + position embedding),  c_0 = 0
        q_l = q_{l-1} + attn + mlp,  c_l = c_{l-1} + attn_cov + mlp_cov   (`branch_variances`
        at rho_{l-1}; the MLP sees rho after the attention branch of the same block)

    Returns ``stream`` (depth + 1 values), ``attn``, ``mlp`` (branch RMS per layer) and ``rho``.
    With alpha = 1/2 the stream stays O(1) as depth grows, with alpha = 0 (mup) it grows as
    sqrt(depth), with alpha = 1 it tends to the embedding RMS.
    """
    s_emb = P.init_std("embedding", parametrization=parametrization, depth=max(depth, 1),
                       width=width, base_width=base_width, std=std)
    q, c = 2.0 * s_emb ** 2, 0.0
    stream, attn, mlp, rho = [math.sqrt(q)], [], [], [0.0]
    kw = dict(parametrization=parametrization, depth=depth, width=width, base_width=base_width,
              context=context, base_depth=base_depth, std=std, alpha=alpha)
    for _ in range(depth):
        v = branch_variances(rho=min(max(c / q, 0.0), 1.0), **kw)
        q, c = q + v["attn"], c + v["attn_cov"]
        attn.append(v["attn"])
        v = branch_variances(rho=min(max(c / q, 0.0), 1.0), **kw)
        q, c = q + v["mlp"], c + v["mlp_cov"]
        mlp.append(v["mlp"])
        stream.append(math.sqrt(q))
        rho.append(c / q)
    return {"stream": np.array(stream), "attn": np.sqrt(attn), "mlp": np.sqrt(mlp), "rho": np.array(rho)}


# ----------------------------------------------------------------------------- function change at the expansion


def expansion_function_change(init: str, *, parametrization: str, source_depth: int, target_depth: int,
                              width: int, base_width: int, context: int, base_depth: int = 1,
                              std: float = 0.02, alpha: float | None = None,
                              source_branch_var: float | None = None,
                              stream_rms: float | None = None, rescale_old: bool = True) -> dict[str, float]:
    """Predicted RMS change of the final residual stream when `target_depth - source_depth` new
    blocks are appended at tau (before any optimizer step), relative to the stream.

    new blocks (n = target - source):
      zero, copy_zero, random_zero_out   0 exactly: the output projections (weights and biases)
                                         are zero, so each new block adds nothing;
      random                             sqrt(n * (attn + mlp)): independent fresh blocks at
                                         the target's init and multiplier, variances add;
      copy (and copy_*)                  n * sqrt(source_branch_var) * m_L/m_s: identical blocks
                                         on nearly the same input add coherently (exact when
                                         the branch is small next to the stream).
    old blocks: under alpha > 0 their multiplier moves from m_s to m_L when the growth resets
    all branch scales (`rescale_old`), changing the stream by |m_L/m_s - 1| * sqrt(source_depth *
    source_branch_var).  `source_branch_var` (per-coordinate variance of one trained source
    block's summed branches) defaults to the init prediction; `stream_rms` to the source's
    init stream.  Returns ``new_blocks``, ``old_rescale``, ``total`` (RMS) and ``relative``.
    """
    _args.integer("source_depth", source_depth)
    _args.integer("target_depth", target_depth)
    if not 0 <= source_depth < target_depth:
        raise ValueError(f"need 0 <= source_depth={source_depth} < target_depth={target_depth}")
    common = dict(parametrization=parametrization, width=width, base_width=base_width,
                  context=context, base_depth=base_depth, std=std, alpha=alpha)
    a = P.depth_alpha(parametrization, alpha)
    m_s = P.residual_multiplier(max(source_depth, 1), base_depth, a)
    m_l = P.residual_multiplier(target_depth, base_depth, a)
    if source_branch_var is None and source_depth > 0:
        v = branch_variances(depth=source_depth, **common)
        source_branch_var = v["attn"] + v["mlp"]
    if stream_rms is None:
        stream_rms = float(residual_rms_at_init(depth=source_depth, **common)["stream"][-1])
    n = target_depth - source_depth
    if init in ZERO_TYPES:
        new = 0.0
    elif init == "random":
        v = branch_variances(depth=target_depth, **common)
        new = math.sqrt(n * (v["attn"] + v["mlp"]))  # at rho = 0: tokens uncorrelated
    elif init.startswith("copy"):
        if source_depth == 0:
            raise ValueError(f"init={init!r} copies a block, but source_depth=0 has none; use 'random'")
        new = n * math.sqrt(source_branch_var) * m_l / m_s
    else:
        raise ValueError(f"init={init!r} is unknown; choose random, copy, copy_*, or one of {ZERO_TYPES}")
    old = 0.0
    if rescale_old and source_depth > 0:
        old = abs(m_l / m_s - 1.0) * math.sqrt(source_depth * source_branch_var)
    total = math.sqrt(new ** 2 + old ** 2)
    return {"new_blocks": new, "old_rescale": old, "total": total, "relative": total / stream_rms}
