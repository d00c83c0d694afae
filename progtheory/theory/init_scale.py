"""Initialisation scale: spectral std, activation sizes at init, the jolt of an expansion.

Model of a pre-LN GPT-2 block at init (the model of `progtheory.model`): the LayerNorm output
u has exactly unit RMS (gain 1, bias 0); a weight with i.i.d. N(0, s^2) entries maps a vector
of RMS r to coordinates of variance fan_in * s^2 * r^2; branches are independent of the
residual stream at init, so variances add along the stream.  Attention at init is taken as
uniform over the causal prefix (scores q.k/sqrt(d_h) have std ~ d sigma^2, small at std 0.02);
tokens start uncorrelated (i.i.d. tokens) and the correlation that attention averaging and the
GELU's nonzero mean build up across positions is tracked by a mean-field recursion.

All functions are numpy / sympy only.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from progtheory.theory import _args
from progtheory.theory import parametrization as P

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


# ----------------------------------------------------------------------------- expansion jolt

ZERO_TYPES = ("zero", "copy_zero", "random_zero_out")


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


# ----------------------------------------------------------------------------- first Adam steps on new parameters


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
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        total += lr * (m / (1 - beta1 ** k)) / math.sqrt(v / (1 - beta2 ** k))
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


# ----------------------------------------------------------------------------- dead gradients (sympy)

BLOCK_PARAMS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
_OUT = ("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
_BIASES = tuple(n for n in BLOCK_PARAMS if n.endswith("bias"))


def init_zero_pattern(init: str, bias: bool = True) -> dict[str, bool]:
    """Which block parameters are exactly zero right after the expansion, per `init`.

    random: linear biases and LN biases 0 (fresh init), weights nonzero; copy: everything as
    trained (nonzero); zero: everything 0, LN gains included ("all new weights 0");
    copy_zero / random_zero_out: copy / random with output projections (weight and bias) 0.
    """
    names = [n for n in BLOCK_PARAMS if bias or not n.endswith("bias")]
    if init == "zero":
        return {n: True for n in names}
    if init in ("random", "random_zero_out"):
        base = {n: n in _BIASES for n in names}
    elif init in ("copy", "copy_zero"):
        base = {n: False for n in names}
    else:
        raise ValueError(f"init={init!r} is unknown; choose random, copy, zero, copy_zero or random_zero_out")
    if init.endswith("zero_out") or init == "copy_zero":
        base.update({n: True for n in _OUT if n in base})
    return base


def _symbolic_block(zero: dict[str, bool], keep: str, seed: int = 0, d: int = 2, hidden: int = 2, T: int = 2):
    """A pre-LN GPT block (one head, tanh GELU, causal softmax) on an input x (T x d), read
    out by an upstream gradient c: loss = sum_t c_t . y_t.  The tensor `keep` is symbolic (to
    be differentiated); parameters marked in `zero` are exact zeros; every other parameter, x
    and c are a generic (random, seeded) point.  d = hidden = T = 2 suffices: each gradient is
    a sum of products whose vanishing does not depend on the sizes (T = 2 so that attention
    mixes two positions)."""
    rng = np.random.default_rng(seed)
    kept = {}

    def generic(r, c_):
        return sp.Matrix(r, c_, lambda i, j: sp.Float(rng.uniform(0.5, 1.5) * rng.choice([-1, 1])))

    def param(name, r, c_):
        if name == keep:
            kept[name] = sp.Matrix(r, c_, lambda i, j: sp.Symbol(f"{name}[{i},{j}]", real=True))
            return kept[name]
        if name not in zero or zero[name]:  # exact zero (or a bias of a bias-free model)
            return sp.zeros(r, c_)
        return generic(r, c_)

    eps = sp.Float(1e-5)
    x = [generic(d, 1) for _ in range(T)]
    c = [generic(d, 1) for _ in range(T)]

    def ln(v, g, b):
        mu = sum(v) / d
        var = sum((vi - mu) ** 2 for vi in v) / d
        return sp.Matrix([(v[i] - mu) / sp.sqrt(var + eps) * g[i] + b[i] for i in range(d)])

    def gelu(z):
        # tanh GELU written with exp: (1 + tanh(a))/2 = 1/(1 + exp(-2a)); identical function,
        # and it keeps sympy's assumption system away from tanh of long arguments
        a = sp.Float(math.sqrt(2 / math.pi)) * (z + sp.Float(0.044715) * z ** 3)
        return z / (1 + sp.exp(-2 * a))

    g1, b1 = param("ln_1.weight", d, 1), param("ln_1.bias", d, 1)
    Wa, ba = param("attn.c_attn.weight", 3 * d, d), param("attn.c_attn.bias", 3 * d, 1)
    Wo, bo = param("attn.c_proj.weight", d, d), param("attn.c_proj.bias", d, 1)
    g2, b2 = param("ln_2.weight", d, 1), param("ln_2.bias", d, 1)
    Wf, bf = param("mlp.c_fc.weight", hidden, d), param("mlp.c_fc.bias", hidden, 1)
    Wp, bp = param("mlp.c_proj.weight", d, hidden), param("mlp.c_proj.bias", d, 1)
    qkv = [Wa * ln(xt, g1, b1) + ba for xt in x]
    q, k, v = ([z[j * d:(j + 1) * d, 0] for z in qkv] for j in range(3))
    loss = sp.Integer(0)
    for t in range(T):
        w = [sp.exp((q[t].T * k[s])[0] / sp.Float(math.sqrt(d))) for s in range(t + 1)]
        att = sum((w[s] * v[s] for s in range(1, t + 1)), w[0] * v[0]) / sum(w)
        h = x[t] + Wo * att + bo
        y = h + Wp * (Wf * ln(h, g2, b2) + bf).applyfunc(gelu) + bp
        loss += (c[t].T * y)[0]
    return loss, kept.get(keep)


@functools.lru_cache(maxsize=None)
def gradient_vanishes(init: str, bias: bool = True) -> dict[str, bool]:
    """Which parameters of a new block receive exactly zero gradient at the expansion step.

    Derivation: for each parameter tensor, sympy builds the loss of a pre-LN block
    (`_symbolic_block`) as a function of that tensor, with the parameters that
    `init_zero_pattern` sets to zero inserted as exact zeros and everything else at a generic
    point, differentiates with respect to each entry, then sets the tensor to its init value.
    A gradient vanishes when sympy reduces it to the exact integer 0 (an exactly-zero factor,
    so it vanishes for every input and every value of the other parameters); a nonzero value
    at the generic point proves it does not vanish.  The residual multiplier m is a nonzero
    factor of every branch and is left out.  Results (with biases):

      zero             every gradient vanishes except the output-projection biases
                       (d loss/d b_o = upstream gradient): the block stays dead apart from a
                       learned constant shift, since W_o gets gradient ~ gelu(0) = 0 and the
                       input side gets gradient ~ W_o = 0;
      copy_zero /      the output-projection weights get gradient ~ activations != 0, so the
      random_zero_out  block comes alive after one step (its input side gets 0 at the first step);
      random / copy    nothing vanishes.

    Returns {parameter name (as in `progtheory.model.Block`): True if its gradient is zero}.
    """
    zero = init_zero_pattern(init, bias)
    rng = np.random.default_rng(1)
    out = {}
    for name in zero:
        loss, M = _symbolic_block(zero, keep=name)
        value = {s: 0 if zero[name] else sp.Float(rng.uniform(0.5, 1.5)) for s in M}
        vanish = True
        for s in M:
            g = sp.diff(loss, s).xreplace(value)
            if g is sp.S.Zero:
                continue
            if abs(complex(g.evalf())) > 1e-12:
                vanish = False
                break
            raise RuntimeError(f"the gradient of {name} is ~0 at the sample point but not exactly 0; "
                               f"the derivation is inconclusive")
        out[name] = vanish
    return out


# ----------------------------------------------------------------------------- loss change at tau from the trained source

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


OLD_BLOCK_POLICIES = ("absorb", "rescale", "keep")


def copy_coefficients(init: str, *, source_depth: int, target_depth: int, placement: str = "end",
                      old_blocks: str = "absorb", multiplier_ratio: float = 1.0) -> dict[tuple[int, int], float]:
    """The stream change of an expansion as a sum of measured source branches, to first order:
    {(i, j): c} such that x_L(grown) - x_k(source) ~ sum c f_i(x_j) (`branch_stats` notation).

    A new block that copies w_i sees about the stream at its insertion point: x_k at the end
    (``end``), x_(i+1) right after w_i (``interleave``); downstream blocks pass its output on
    unchanged (their Jacobian ~ identity, error of the order of their branch's sensitivity).
    Multipliers (r = `multiplier_ratio` = m(L)/m(k)): ``absorb`` copies compute their source's
    branch (c = 1); ``keep`` copies get r; ``rescale`` copies get r and every old block i
    adds (r - 1) f_i(x_i).  Fresh and zero-type blocks contribute no term here (see
    `expansion_loss_change`).  Layout from `progtheory.layout.expansion_layout`.
    """
    from progtheory.layout import expansion_layout  # torch-free

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
                add((o.source, k if placement == "end" else o.source + 1), 1.0 if old_blocks == "absorb" else r)
    if old_blocks == "rescale" and r != 1.0:
        for i in range(k):
            add((i, i), r - 1.0)
    return out


def _fresh_positions(init: str, source_depth: int, target_depth: int, placement: str) -> list[int]:
    """Stream index j (the source stream x_j) each fresh nonzero block is inserted on."""
    from progtheory.layout import expansion_layout

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


def expansion_loss_change(init: str, stats: dict, *, target_depth: int, placement: str = "end",
                          fresh_stds: dict[str, float] | None = None, multiplier: float = 1.0,
                          old_blocks: str = "absorb", multiplier_ratio: float = 1.0) -> dict[str, float]:
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

    The quadratic term equals the KL(source || grown) to second order; for a calibrated source
    it is also the expected loss change, so the prediction holds for any held-out batch up to
    the linear term.  `fresh_stds` (`fresh_block_stds`, init multiplier included) and
    `multiplier` (m(L)) are needed for ``random``.  Returns ``linear``, ``quadratic``,
    ``loss_change`` (their sum) and ``stream_change`` (predicted RMS of delta over the stream RMS).
    Source: this module's second-order model; the readout Hessian is that of softmax
    cross-entropy (e.g. Martens 2020, "New insights and perspectives on the natural gradient").
    """
    for key in ("depth", "pairs", "fisher", "grad", "fisher_trace", "attn_mix", "stream_rms", "width"):
        if key not in stats:
            raise ValueError(f"stats is missing {key!r}; measure them with branch_stats.branch_statistics")
    k = _args.integer("stats['depth']", stats["depth"], low=0)
    coef = copy_coefficients(init, source_depth=k, target_depth=target_depth, placement=placement,
                             old_blocks=old_blocks, multiplier_ratio=multiplier_ratio)
    index = {tuple(p): a for a, p in enumerate(stats["pairs"])}
    c = np.zeros(len(index))
    for key, v in coef.items():
        c[index[key]] += v
    Fm, g = np.asarray(stats["fisher"], dtype=float).reshape(len(c), len(c)), np.asarray(stats["grad"], dtype=float)
    S = np.asarray(stats["stream_gram"], dtype=float).reshape(len(c), len(c))
    along = float(c @ np.asarray(stats["along"], dtype=float)) if len(c) else 0.0
    perp2 = max(float(c @ S @ c) - along ** 2, 0.0) if len(c) else 0.0
    fresh_var = 0.0
    positions = _fresh_positions(init, k, target_depth, placement)
    if positions:
        if fresh_stds is None:
            raise ValueError("init='random' needs fresh_stds (use fresh_block_stds) to size the new blocks")
        for j in positions:
            v = fresh_branch_variance(width=stats["width"], stds=fresh_stds, multiplier=multiplier,
                                      attn_mix=stats["attn_mix"][j])
            fresh_var += v["attn"] + v["mlp"]
    perp2 += fresh_var / float(stats["stream_rms"][-1]) ** 2
    # final LayerNorm: x + delta = (1 + a) x + delta_perp is renormalised, so the logits shrink
    # by rho (1 + a) along the current logits and delta_perp enters shrunk by rho
    rho = 1.0 / math.sqrt((1.0 + along) ** 2 + perp2)
    e = rho * (1.0 + along) - 1.0
    lin_c = float(c @ g) if len(c) else 0.0
    quad_c = float(c @ Fm @ c) if len(c) else 0.0
    cross = float(c @ np.asarray(stats["temp_cross"], dtype=float)) if len(c) else 0.0
    linear = e * float(stats["temp_grad"]) + rho * lin_c
    quadratic = 0.5 * (e * e * float(stats["temp_fisher"]) + 2 * e * rho * cross + rho * rho * quad_c
                       + rho * rho * float(stats["fisher_trace"]) * fresh_var)
    return {"linear": linear, "quadratic": quadratic, "loss_change": linear + quadratic,
            "stream_change": math.sqrt(perp2 + along ** 2)}
