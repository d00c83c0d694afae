"""The loss change of an expansion predicted from the trained source's branch statistics
(`expansion_loss_change`), and its pieces: the init std of a fresh block's matrices
(`fresh_block_stds`), the variance a fresh block adds to a trained stream
(`fresh_branch_variance`), and the stream change of copies as a sum of measured source
branches (`copy_coefficients`).

The statistics are those of `progtheory.train.branch_stats.branch_statistics`, measured on the
source at tau; the layout of the grown model is `growth_layout.expansion_layout`'s.  The init
model of a fresh block is `init_scale`'s.  All functions are numpy only.
"""

from __future__ import annotations

import math

import numpy as np

from progtheory.theory import _args
from progtheory.theory import parametrization as P
from progtheory.theory.growth_layout import expansion_layout
from progtheory.theory.init_scale import gelu_second_moment, spectral_std
from progtheory.theory.options import NOISY_COPIES, OLD_BLOCK_POLICIES

# ----------------------------------------------------------------------------- fresh blocks

def fresh_block_stds(*, parametrization: str, width: int, base_width: int, depth: int,
                     hidden_init: str = "normal", std: float = 0.02, scale: float = 1.0) -> dict[str, float]:
    """Init std of each matrix of a fresh block of a depth-`depth` model (`GPT.init_block`),
    times the init multiplier `scale`: ``qkv`` (each of q, k, v, d x d), ``attn_out`` (d x d),
    ``fc`` (4d x d), ``mlp_out`` (d x 4d).  hidden_init "spectral": `spectral_std(fan_out,
    fan_in)` for every matrix; "normal": `parametrization.init_std` of hidden_in / hidden_out."""
    _args.integer("width", width, low=1)
    _args.number("scale", scale, 0.0)
    d = width
    if hidden_init == "spectral":
        s = {"qkv": spectral_std(d, d), "attn_out": spectral_std(d, d), "fc": spectral_std(4 * d, d),
             "mlp_out": spectral_std(d, 4 * d)}
    elif hidden_init == "normal":
        kw = dict(parametrization=parametrization, depth=depth, width=width, base_width=base_width, std=std)
        s_in, s_out = P.init_std("hidden_in", **kw), P.init_std("hidden_out", **kw)
        s = {"qkv": s_in, "attn_out": s_out, "fc": s_in, "mlp_out": s_out}
    else:
        raise ValueError(f"hidden_init={hidden_init!r} is unknown; choose 'normal' or 'spectral'")
    return {k: scale * v for k, v in s.items()}


def fresh_branch_variance(*, width: int, stds: dict[str, float], multiplier: float = 1.0,
                          attn_mix: float) -> dict[str, float]:
    """Per-coordinate variance (over the fresh weights) of the two branch outputs of one fresh
    block placed on a trained stream:

        attn = m^2 d^2 s_v^2 s_o^2 mix        mix = mean_t ||mean_(s<=t) n(x_s)||^2 / d
        mlp  = m^2 4d s_p^2 E[gelu(z)^2],     z ~ N(0, d s_fc^2)

    Assumptions: the fresh LayerNorms (gain 1, bias 0) give unit-RMS inputs n(x); attention is
    uniform over the causal prefix (scores ~ d s_qkv^2, small at the inits used); each
    Gaussian matrix of std s maps a vector a to coordinates of variance s^2 ||a||^2; biases
    are 0.  `attn_mix` is measured on the trained stream (`branch_stats.branch_statistics`),
    which replaces the token-correlation model of `branch_variances` (exact for uniform
    attention).  s_v = stds["qkv"], s_o = stds["attn_out"], s_fc = stds["fc"], s_p = stds["mlp_out"]."""
    d = _args.integer("width", width, low=1)
    mix = _args.number("attn_mix", attn_mix, 0.0, 1.0 + 1e-9)
    for key in ("qkv", "attn_out", "fc", "mlp_out"):
        if key not in stds:
            raise ValueError(f"stds is missing {key!r}; pass the dict of `fresh_block_stds`")
        _args.number(f"stds[{key!r}]", stds[key], 0.0)
    m2 = _args.number("multiplier", multiplier) ** 2
    attn = m2 * d * d * stds["qkv"] ** 2 * stds["attn_out"] ** 2 * mix
    mlp = m2 * 4 * d * stds["mlp_out"] ** 2 * gelu_second_moment(d * stds["fc"] ** 2)
    return {"attn": attn, "mlp": mlp}


# ----------------------------------------------------------------------------- copies and the loss change

def copy_coefficients(init: str, *, source_depth: int, target_depth: int, placement: str = "end",
                      old_blocks: str = "absorb", multiplier_ratio: float = 1.0,
                      noisy: bool = False) -> dict[tuple[int, int], float]:
    """The stream change of an expansion as a sum of measured source branches, to first order:
    {(i, j): c} such that x_L(grown) - x_k(source) ~ sum c f_i(x_j) (`branch_stats` notation).

    A new block that copies w_i sees about the stream at its insertion point: x_k at the end
    (``end``), x_(i+1) right after w_i (``interleave``); downstream blocks pass its output on
    unchanged (their Jacobian ~ identity, error of the order of their branch's sensitivity).
    Multipliers (r = `multiplier_ratio` = m(L)/m(k)): ``absorb`` copies compute their source's
    branch (c = 1); ``keep`` copies get r; ``rescale`` copies get r and every old block i
    adds (r - 1) f_i(x_i).  `noisy` (``copy_noise``, ``copy_mix`` at eps > 0): each copy also
    adds the draws' coherent shift of its branch, the candidate (-1, j) that
    `branch_stats.branch_statistics` measures with ``noisy``, at coefficient 1 (it is measured on
    the grown copies themselves).  Fresh and zero-type blocks contribute no term here (see
    `expansion_loss_change`).  Layout from `growth_layout.expansion_layout`.
    """
    if old_blocks not in OLD_BLOCK_POLICIES:
        raise ValueError(f"old_blocks={old_blocks!r} is unknown; choose one of {OLD_BLOCK_POLICIES}")
    r = _args.number("multiplier_ratio", multiplier_ratio, 0.0, low_open=True)
    layout = expansion_layout(source_depth, target_depth, init, placement)
    k = source_depth
    out: dict[tuple[int, int], float] = {}

    def add(key, c):
        out[key] = out.get(key, 0.0) + c

    if init.startswith("copy") and init != "copy_zero":
        for o in layout:
            if o.kind == "copy":
                j = k if placement == "end" else o.source + 1
                add((o.source, j), 1.0 if old_blocks == "absorb" else r)
                if noisy:
                    add((-1, j), 1.0)
    if old_blocks == "rescale" and r != 1.0:
        for i in range(k):
            add((i, i), r - 1.0)
    return out


def _fresh_positions(init: str, source_depth: int, target_depth: int, placement: str) -> list[int]:
    """Stream index j (the source stream x_j) each fresh nonzero block is inserted on."""
    if init != "random":
        return []
    layout = expansion_layout(source_depth, target_depth, init, placement)
    out, seen = [], 0
    for o in layout:
        if o.kind == "old":
            seen += 1
        elif o.kind == "fresh":
            out.append(seen)
    return out


_STATS_KEYS = ("depth", "pairs", "fisher", "grad", "fisher_trace", "attn_mix", "stream_rms", "width")


def _fresh_variance(init: str, stats: dict, k: int, target_depth: int, placement: str,
                    fresh_stds: dict[str, float] | None, multiplier: float) -> float:
    """Summed per-coordinate variance (attn + mlp) that the fresh nonzero blocks add, each at
    the source stream it is inserted on (`fresh_branch_variance`); 0 without fresh blocks."""
    fresh_var = 0.0
    positions = _fresh_positions(init, k, target_depth, placement)
    if positions:
        if fresh_stds is None:
            raise ValueError("init='random' needs fresh_stds (use fresh_block_stds) to size the new blocks")
        for j in positions:
            v = fresh_branch_variance(width=stats["width"], stds=fresh_stds, multiplier=multiplier,
                                      attn_mix=stats["attn_mix"][j])
            fresh_var += v["attn"] + v["mlp"]
    return fresh_var


def _coefficient_vector(init: str, stats: dict, *, target_depth: int, placement: str, old_blocks: str,
                        multiplier_ratio: float, init_noise: float) -> tuple[np.ndarray, float]:
    """(c over the measured candidates `stats["pairs"]`, the number of noisy copies' own parts)
    for `expansion_loss_change`: `copy_coefficients` laid out in the statistics' order."""
    k = int(stats["depth"])
    noisy = init in NOISY_COPIES and _args.number("init_noise", init_noise, 0.0) > 0
    coef = copy_coefficients(init, source_depth=k, target_depth=target_depth, placement=placement,
                             old_blocks=old_blocks, multiplier_ratio=multiplier_ratio, noisy=noisy)
    index = {tuple(p): a for a, p in enumerate(stats["pairs"])}
    if noisy and not ({"noise_fisher", "noise_gram"} <= set(stats) and (-1, k) in index):
        raise ValueError(f"init={init!r} at init_noise={init_noise} needs the noisy copies' statistics; measure "
                         "them with branch_stats.branch_statistics(..., noisy=growth.noisy_copy_draws(...))")
    c = np.zeros(len(index))
    for key, v in coef.items():
        c[index[key]] += v
    return c, sum(v for key, v in coef.items() if key[0] == -1)  # one own part per noisy copy


def expansion_loss_change(init: str, stats: dict, *, target_depth: int, placement: str = "end",
                          fresh_stds: dict[str, float] | None = None, multiplier: float = 1.0,
                          old_blocks: str = "absorb", multiplier_ratio: float = 1.0,
                          init_noise: float = 0.0) -> dict[str, float]:
    """Predicted change of the mean cross-entropy (nats, on the batch the statistics were
    measured on) when a source with branch statistics `stats` (`branch_stats.branch_statistics`,
    source depth k = stats["depth"]) grows to `target_depth` with `init`, before any update.

    Second-order expansion in the stream change delta at the final stream (the readout
    linearised, H = softmax Hessian of the cross-entropy):

        dL ~ g . delta + 1/2 delta^T J^T H J delta
        copies:  delta = sum c_a f_a (`copy_coefficients`), so dL ~ c.grad + 1/2 c^T fisher c
        random:  E delta = 0, E delta delta^T = sum over new blocks of (attn + mlp) I
                 (`fresh_branch_variance` at the block's stream; isotropic, independent), so
                 E dL ~ 1/2 fisher_trace * sum (attn + mlp)
        zero, copy_zero, random_zero_out: 0 exactly (output projections 0), unless
                 ``old_blocks="rescale"`` changes the old branches.
        copy_noise, copy_mix at eps = `init_noise` > 0: each of the n copies is the exact copy
                 plus the draws' coherent shift (candidate (-1, k)) plus its own part xi,
                 independent across copies with E xi = 0, so the copies' terms as above and
                 E dL gains 1/2 n E[xi^T J^T H J xi] (``noise_fisher``), the final LayerNorm
                 n E|xi|^2/|x|^2 (``noise_gram``): an expectation over the draws, measured
                 on the source's own block (`branch_statistics` with ``noisy``).

    The quadratic term equals the KL(source || grown) to second order; for a calibrated source
    it is also the expected loss change, so the prediction holds for any held-out batch up to
    the linear term.  `fresh_stds` (`fresh_block_stds`, init multiplier included) and
    `multiplier` (m(L)) are needed for ``random``.  Returns ``linear``, ``quadratic``,
    ``loss_change`` (their sum) and ``stream_change`` (predicted RMS of delta over the stream RMS).
    Source: this module's second-order model; the readout Hessian is that of softmax
    cross-entropy (e.g. Martens 2020, "New insights and perspectives on the natural gradient").
    """
    for key in _STATS_KEYS:
        if key not in stats:
            raise ValueError(f"stats is missing {key!r}; measure them with branch_stats.branch_statistics")
    k = _args.integer("stats['depth']", stats["depth"], low=0)
    c, n_noisy = _coefficient_vector(init, stats, target_depth=target_depth, placement=placement,
                                     old_blocks=old_blocks, multiplier_ratio=multiplier_ratio, init_noise=init_noise)
    Fm, g = np.asarray(stats["fisher"], dtype=float).reshape(len(c), len(c)), np.asarray(stats["grad"], dtype=float)
    S = np.asarray(stats["stream_gram"], dtype=float).reshape(len(c), len(c))
    along = float(c @ np.asarray(stats["along"], dtype=float)) if len(c) else 0.0
    perp2 = max(float(c @ S @ c) - along ** 2, 0.0) if len(c) else 0.0
    fresh_var = _fresh_variance(init, stats, k, target_depth, placement, fresh_stds, multiplier)
    perp2 += fresh_var / float(stats["stream_rms"][-1]) ** 2 + n_noisy * float(stats.get("noise_gram", 0.0))
    # final LayerNorm: x + delta = (1 + a) x + delta_perp is renormalised, so the logits shrink
    # by rho (1 + a) along the current logits and delta_perp enters shrunk by rho
    rho = 1.0 / math.sqrt((1.0 + along) ** 2 + perp2)
    e = rho * (1.0 + along) - 1.0
    lin_c = float(c @ g) if len(c) else 0.0
    quad_c = float(c @ Fm @ c) if len(c) else 0.0
    cross = float(c @ np.asarray(stats["temp_cross"], dtype=float)) if len(c) else 0.0
    linear = e * float(stats["temp_grad"]) + rho * lin_c
    quadratic = 0.5 * (e * e * float(stats["temp_fisher"]) + 2 * e * rho * cross + rho * rho * quad_c
                       + rho * rho * float(stats["fisher_trace"]) * fresh_var
                       + rho * rho * n_noisy * float(stats.get("noise_fisher", 0.0)))
    return {"linear": linear, "quadratic": quadratic, "loss_change": linear + quadratic,
            "stream_change": math.sqrt(perp2 + along ** 2)}
