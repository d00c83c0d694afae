"""Parameter and FLOP accounting for GPT-2 at any depth, and the cost of progressive growth.

Architecture counted (nanoGPT GPT-2, as built by `progtheory.core.model.GPT`): token embedding
V x d (tied with the LM head, counted once), learned positions T x d, `depth` pre-LN blocks,
a final LayerNorm.  One block holds

    attention   c_attn d x 3d (+3d bias), c_proj d x d (+d bias)        4d^2 + 4d
    MLP         c_fc d x 4d (+4d bias),  c_proj 4d x d (+d bias)         8d^2 + 5d
    LayerNorm   ln_1, ln_2: gain d (+ bias d) each                       2d or 4d

so 12d^2 + 13d with biases (12d^2 without).  GPT-2 124M (V=50257, T=1024, d=768, 12 layers)
has 124,439,808 parameters.

FLOP conventions for one training token (forward + backward), `flops_per_token`:

  ``exact``        every matmul, 2 FLOPs per multiply-add, backward = 2 x forward:
                   6 x (weights used in matmuls: blocks' matrices and the head d x V)
                   + 12 * depth * T * d for attention scores QK^T and the weighted sum AV
                   (forward 2*T*d each per token and layer).  The full T x T square is
                   counted by default (``attention="full"``): it is what the SDPA math kernel
                   on CPU computes before masking, and the convention of Kaplan et al. 2020
                   and Hoffmann et al. 2022, so numbers compare with the literature;
                   ``attention="causal"`` counts the (T+1)/2 keys a token actually sees on
                   average (flash kernels skip the masked tiles).  Embedding lookups,
                   LayerNorm, GELU, softmax and residual adds are not matmuls and are left out
                   (O(d) per token, under 1% at these sizes).
  ``6N``           6 x all parameters (Kaplan et al. 2020, eq. 2.2 with every parameter).
  ``6N_nonembed``  6 x parameters other than the token and position embeddings (Kaplan et
                   al. 2020 N, biases and norms kept): the convention in which a zero-layer
                   source is almost free (docs/BACKGROUND.md section 3).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from progtheory.theory import _args
from progtheory.theory.growth_layout import resolve_stages

CONVENTIONS = ("exact", "6N", "6N_nonembed")


def _depth(cfg, depth) -> int:
    d = cfg.n_layer if depth is None else depth
    try:
        return _args.integer("depth", d, low=0)
    except ValueError as e:
        raise ValueError(f"{e}; depth must be a non-negative integer") from None


def param_breakdown(cfg, depth: int | None = None) -> dict[str, int]:
    """Parameters by component: ``token_embedding`` (= tied head), ``position_embedding``,
    ``attention``, ``mlp``, ``block_norms`` (all blocks), ``final_norm``.

    `cfg` is anything with vocab_size, block_size, n_embd and bias (and n_layer when `depth` is
    None), e.g. `progtheory.GPTConfig`.  Formulas in the module docstring.
    """
    L, d, b = _depth(cfg, depth), cfg.n_embd, bool(cfg.bias)
    ln = d * (2 if b else 1)
    return {
        "token_embedding": cfg.vocab_size * d,
        "position_embedding": cfg.block_size * d,
        "attention": L * (4 * d * d + (4 * d if b else 0)),
        "mlp": L * (8 * d * d + (5 * d if b else 0)),
        "block_norms": L * 2 * ln,
        "final_norm": ln,
    }


def param_count(cfg, depth: int | None = None) -> int:
    """Total number of parameters of the tied-head GPT-2 at `depth` (default cfg.n_layer)."""
    return int(sum(param_breakdown(cfg, depth).values()))


def nonembedding_param_count(cfg, depth: int | None = None) -> int:
    """Parameters other than the token and position embeddings (Kaplan et al. 2020)."""
    p = param_breakdown(cfg, depth)
    return int(sum(v for k, v in p.items() if not k.endswith("embedding")))


def flops_breakdown(cfg, depth: int | None = None, attention: str = "full") -> dict[str, float]:
    """Exact matmul FLOPs per training token (forward + backward = 3 x forward) by component:
    ``attention_proj`` (qkv and output projections, 3 * 2 * 4d^2 per layer), ``attention_scores``
    (QK^T and AV: 3 * 4 * T_eff * d per layer), ``mlp`` (3 * 2 * 8d^2 per layer), ``head``
    (3 * 2 * d * V).  T_eff = T for ``attention="full"``, (T+1)/2 for ``"causal"``.
    """
    if attention not in ("full", "causal"):
        raise ValueError(f"attention={attention!r} must be 'full' or 'causal'")
    L, d, T = _depth(cfg, depth), cfg.n_embd, cfg.block_size
    t_eff = T if attention == "full" else (T + 1) / 2
    return {
        "attention_proj": 6.0 * L * 4 * d * d,
        "attention_scores": 3.0 * L * 4 * t_eff * d,
        "mlp": 6.0 * L * 8 * d * d,
        "head": 6.0 * d * cfg.vocab_size,
    }


def flops_per_token(cfg, depth: int | None = None, convention: str = "exact",
                    attention: str = "full") -> float:
    """Training FLOPs per token (forward + backward) in one of `CONVENTIONS` (module docstring)."""
    if convention == "exact":
        return float(sum(flops_breakdown(cfg, depth, attention).values()))
    if convention == "6N":
        return 6.0 * param_count(cfg, depth)
    if convention == "6N_nonembed":
        return 6.0 * nonembedding_param_count(cfg, depth)
    raise ValueError(f"convention={convention!r} is unknown; choose one of {CONVENTIONS}")


def _check_plan(source_depth: int, stages: Sequence[tuple[int, int]], total_steps: int) -> list[tuple[int, int]]:
    _args.integer("total_steps", total_steps, low=1)
    plan = [(0, _args.integer("source_depth", source_depth, low=0))]
    for step, depth in stages:
        _args.integer("growth stage step", step)
        _args.integer("growth stage depth", depth)
        prev_step, prev_depth = plan[-1]
        if not prev_step < step <= total_steps:
            raise ValueError(f"growth stage at step {step} must lie after step {prev_step} and at most "
                             f"total_steps={total_steps}; give stages as increasing (step, depth) pairs")
        if depth <= prev_depth:
            raise ValueError(f"growth stage depth {depth} must exceed the previous depth {prev_depth}")
        plan.append((int(step), int(depth)))
    return plan


def progressive_flops(cfg, source_depth: int, stages: Sequence[tuple[int, int]], total_steps: int,
                      tokens_per_step: float = 1.0, convention: str = "exact",
                      attention: str = "full") -> float:
    """Training FLOPs of a run that starts at `source_depth` and grows at each (step, depth) of
    `stages` (the format of `growth_layout.resolve_stages`; several stages allowed):

        C = tokens_per_step * sum_k (s_{k+1} - s_k) * F(depth_k),   s_0 = 0, s_{K+1} = total_steps,

    F = `flops_per_token` in `convention`.  With no stages this is the fixed-size cost.
    Source: docs/BACKGROUND.md section 3, C_prog = 6B(tau N_s + (T - tau) N_L), generalised to K stages.
    """
    plan = _check_plan(source_depth, stages, total_steps)
    tokens_per_step = _args.number("tokens_per_step", tokens_per_step, 0.0, low_open=True)
    bounds = [s for s, _ in plan[1:]] + [total_steps]
    total = 0.0
    for (start, depth), end in zip(plan, bounds):
        total += (end - start) * flops_per_token(cfg, depth, convention, attention)
    return tokens_per_step * total


def progressive_savings(cfg, source_depth: int, stages: Sequence[tuple[int, int]], total_steps: int,
                        convention: str = "exact", attention: str = "full") -> dict[str, float]:
    """Compute saved by a growth plan against training at the final depth for the whole run.

    Returns ``fixed`` and ``progressive`` FLOPs per token-per-step, ``savings`` = 1 - C_prog/C_fixed
    and ``speedup`` = C_fixed/C_prog = 1/(1 - savings).  For one stage in the ``6N`` convention
    this equals `savings_6n` exactly.
    """
    final_depth = stages[-1][1] if len(stages) else source_depth
    fixed = progressive_flops(cfg, final_depth, (), total_steps, 1.0, convention, attention)
    prog = progressive_flops(cfg, source_depth, stages, total_steps, 1.0, convention, attention)
    return {"fixed": fixed, "progressive": prog, "savings": 1.0 - prog / fixed, "speedup": fixed / prog}


def savings_6n(tau_frac, n_source, n_target):
    """Closed form savings = (tau/T) * (1 - N_s/N_L) and nothing else (docs/BACKGROUND.md section 3).

    Assumes a single jump at tau, cost proportional to parameters (6N rule), equal tokens per
    step.  Vectorized over all arguments; speed-up = 1/(1 - savings).
    """
    u, ns, nl = (_args.finite_array(k, x) for k, x in
                 (("tau_frac", tau_frac), ("n_source", n_source), ("n_target", n_target)))
    if np.any((u < 0) | (u > 1)):
        raise ValueError(f"tau_frac={tau_frac} must lie in [0, 1]")
    if np.any(nl <= 0) or np.any(ns < 0) or np.any(ns > nl):
        raise ValueError(f"need 0 <= n_source={n_source} <= n_target={n_target} and n_target > 0")
    out = u * (1.0 - ns / nl)
    return float(out) if out.ndim == 0 else out


def train_config_flops(train_cfg, convention: str = "exact", attention: str = "full") -> dict[str, float]:
    """`progressive_savings` for a `progtheory.config.TrainConfig`, in total FLOPs
    (tokens per step = batch_size * block_size).  Fixed-size configs report savings 0."""
    m = train_cfg.model
    src = train_cfg.growth.source_depth if train_cfg.growth is not None else m.n_layer
    res = progressive_savings(m, src, resolve_stages(train_cfg), train_cfg.steps, convention, attention)
    tokens = train_cfg.batch_size * m.block_size
    return {**res, "fixed": res["fixed"] * tokens, "progressive": res["progressive"] * tokens}
