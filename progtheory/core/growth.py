"""Depth expansion of a GPT and the training-state transplant at a growth step.

Notation: k = depth before growth, L = depth after, n = L - k new blocks, w_i = old block i
(0-based), m(L) = (L/L0)^(-alpha) the residual-branch multiplier of the parametrization at
depth L (`GPT.residual_scale`; 1 under sp and mup, where alpha = 0).

  * `expand(model, L, init, placement=, old_blocks=, generator=)` grows `model.blocks` in
    place and returns the layout: one `Origin` per block of the grown model.
  * `expansion_layout(k, L, init, placement)` is that layout without touching a model.
  * `grow(model, optimizer, cfg, step)` is what the trainer calls at a stage step: expand as
    the config's `GrowthPlan` says and return an optimizer for the grown model, with the
    parametrization's multipliers at the new depth and the optimizer state transplanted.
  * `block_stages(cfg, depth)` says at which stage each block was created (resume needs it).
  * `check_plan(cfg)` replays every stage's layout, so a plan `expand` would reject fails
    before training starts.
  * `noisy_copy_draws(model, L, init, eps)` builds, without growing, the exact copy and
    several noisy copies a one-block source would get (the draws the loss-change
    prediction of ``copy_noise`` / ``copy_mix`` averages over).

New blocks, by `init` (m = m(L) is every new block's branch multiplier):
  ``random``           fresh `model.init_block(block, L, generator)`: the
                       parametrization's own init at depth L (hidden matrices Gaussian
                       at `theory.parametrization.init_std`, biases 0, LN gains 1).
  ``copy``             one-layer source only: every new block is a copy of w_0.
  ``copy_stack``       new block j copies w_(j mod k): [w_0..w_{k-1}, w_0..w_{k-1}, ...].
  ``copy_inter``       the new blocks copy w_0, w_0, .., w_1, w_1, ..: block i is
                       copied n//k + (i < n % k) times, in that order.
  ``copy_last``        every new block copies w_{k-1}.
  ``zero``             every parameter 0: all matrices, all biases, and both LayerNorms'
                       gains and biases.  The block adds exactly 0 to the residual
                       stream, and every parameter gets exactly zero gradient except the
                       two residual output biases (`c_proj.bias`), whose gradient is the
                       upstream gradient summed over positions; the block can then only
                       learn a constant shift, and all its matrices and LayerNorm
                       parameters stay exactly 0 forever under AdamW (with weight decay),
                       SGD and Muon (zero gradient -> zero update; decay of 0 is 0).  With
                       `bias=False` every parameter gets exactly zero gradient.
  ``copy_zero``        copies as in ``copy_stack``, then both residual output
                       projections (`attn.c_proj`, `mlp.c_proj`, weight and bias) set to 0.
  ``random_zero_out``  ``random``, then both residual output projections set to 0.
  ``copy_noise``, ``copy_mix``  (one-layer source, the layout of ``copy``) break the copies'
                       symmetry with a fresh draw R of the parametrization's init at depth L,
                       weighted by eps = `init_noise`: every Linear weight and bias becomes
                       W_copy + eps R (``copy_noise``) or sqrt(1 - eps^2) W_copy + eps R
                       (``copy_mix``, which keeps the size of an init whose copy and draw are
                       independent and of equal size); LayerNorms stay copies.  eps = 0 is
                       ``copy`` exactly.  Each new block draws its own R from `generator`.
A copy is taken of the old block after `old_blocks` was applied to it and gets
multiplier m, so under ``absorb`` and ``rescale`` it computes the same branch as its
source.  ``zero``, ``copy_zero`` and ``random_zero_out`` add exactly 0 (each branch
output is 0 * h + 0), so with the old blocks' function unchanged the logits are
unchanged bitwise; the output projections of ``copy_zero`` / ``random_zero_out``
receive gradient at once, since their inputs are not 0.

Old blocks, by `old_blocks` (matters only when alpha > 0, where m(L) < m(k)):
  ``absorb``   (default) every block takes m(L); each old block's output projections
               (weight and bias) are multiplied by m_old/m(L), so its branch output
               m(L) * (m_old/m(L)) * W h is unchanged up to one fp rounding.  The model
               stays function-preserving *and* is a depth-L model of its
               parametrization (one multiplier everywhere), which is what the per-group
               LR / Adam eps rules at depth L assume and what `GPT(cfg, depth=L)`
               rebuilds on resume.
  ``rescale``  every block takes m(L), weights untouched: each old branch shrinks by
               m(L)/m_old = (L/k)^(-alpha), so the function changes even for zero inits.
  ``keep``     old blocks keep m_old, new blocks get m(L): function preserved bitwise,
               multipliers mixed (saved with the model, since `branch_scale` is a buffer).

The paper (docs/BACKGROUND.md section 1) leaves open where new blocks go, their optimizer state and
what happens to the multipliers of existing blocks; the choices are stated where they are
made, and each is tested in tests/core/test_growth.py.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from progtheory.config import NOISY_COPIES, OLD_BLOCK_POLICIES, OPT_STATE_POLICIES, TrainConfig
from progtheory.theory.growth_layout import (Origin, _depths, _old_block_policy, _stage_index,  # noqa: F401
                                             block_stages, expansion_layout, new_block_indices)
from progtheory.core.model import GPT, Block
from progtheory.core.optim import build_optimizer, set_lr

_ZERO_OUT = ("copy_zero", "random_zero_out")   # residual output projections zeroed
_OUTPUT_PROJECTIONS = ("attn.c_proj", "mlp.c_proj")


# ----------------------------------------------------------------------------- expand

def _output_projections(block: Block) -> list[nn.Linear]:
    return [block.attn.c_proj, block.mlp.c_proj]


@torch.no_grad()
def _fresh_block(model: GPT, init: str, depth: int, generator: torch.Generator | None) -> Block:
    """A block built without drawing from the global RNG: on the meta device, then
    materialised where `generator` lives and filled by `init`."""
    with torch.device("meta"):
        block = Block(model.cfg)
    block = block.to_empty(device=generator.device if generator is not None else "cpu")
    if init == "zero":
        for p in block.parameters():
            p.zero_()
    else:
        model.init_block(block, depth, generator)  # theory: init_std at the new depth
    return block


@torch.no_grad()
def expand(model: GPT, target_depth: int, init: str = "random", *, placement: str = "end",
           old_blocks: str = "absorb", generator: torch.Generator | None = None,
           init_scale: float = 1.0, init_noise: float = 0.0) -> list[Origin]:
    """Grow `model.blocks` in place from k to `target_depth` = L blocks; return the layout.

    The return value has one `Origin` per block of the grown model (see
    `expansion_layout` for the order `placement` gives).  Old blocks keep their parameter
    objects, so optimizer state keyed by them stays valid; new blocks are new objects.
    New blocks are made by `init` and old ones treated by `old_blocks`, as the module
    docstring lists.

    `init_scale` multiplies every Linear weight and bias of each new block (fresh or copied;
    LayerNorms kept) before the zero-out: 1 is the parametrization's own init or an exact
    copy (`GrowthPlan.init_scale`, `theory.expansion.fresh_block_stds`).

    ``copy_noise`` and ``copy_mix`` (one-layer source, the layout of ``copy``) break the copies'
    symmetry with a fresh draw R of the parametrization's init at depth L, weighted by
    eps = `init_noise`: every Linear weight and bias becomes W_copy + eps R (``copy_noise``) or
    sqrt(1 - eps^2) W_copy + eps R (``copy_mix``, which keeps the size of an init whose copy
    and draw are independent and of equal size); LayerNorms stay copies.  eps = 0 is ``copy``
    exactly.  Each new block draws its own R from `generator`.

    `generator` (any device) is the only source of randomness for fresh blocks: they are
    built on its device (CPU when None, drawing from the global RNG) and then moved to the
    model's device and dtype.  Raises ValueError for the cases listed in `expansion_layout`
    and for an unknown `old_blocks`.
    """
    if old_blocks not in OLD_BLOCK_POLICIES:
        raise ValueError(f"old_blocks={old_blocks!r} is unknown; choose one of {OLD_BLOCK_POLICIES}")
    layout = expansion_layout(model.depth, target_depth, init, placement)
    m_new = model.residual_scale(target_depth)
    old = list(model.blocks)
    _apply_old_blocks(old, m_new, old_blocks)
    grown = []
    for origin in layout:
        if not origin.new:
            grown.append(old[origin.source])
            continue
        source = old[origin.source] if origin.source is not None else None
        grown.append(_new_block(model, source, init, target_depth, m_new, generator, init_scale, init_noise))
    del model.blocks[:]
    model.blocks.extend(grown)
    return layout



@torch.no_grad()
def noisy_copy_draws(model: GPT, target_depth: int, init: str, eps: float, *, old_blocks: str = "absorb",
                     init_scale: float = 1.0, draws: int = 8, seed: int = 0) -> tuple[Block, list[Block]]:
    """(the exact copy, `draws` noisy copies) of a one-block `model`'s block, each as `expand`
    would build a new block of ``init`` (``copy_noise`` or ``copy_mix`` at eps) when growing to
    `target_depth` under `old_blocks` and `init_scale`, on the model's device.  The fresh draws
    come from a private generator seeded `seed`: the global random state and `model` are left
    as they were.  What `train.branch_stats` averages over to predict the noisy copies' loss
    change at tau."""
    if model.depth != 1 or init not in NOISY_COPIES:
        raise ValueError(f"noisy copies need a one-block source and init in {NOISY_COPIES}; "
                         f"got depth {model.depth} and init={init!r}")
    if old_blocks not in OLD_BLOCK_POLICIES:
        raise ValueError(f"old_blocks={old_blocks!r} is unknown; choose one of {OLD_BLOCK_POLICIES}")
    m_new = model.residual_scale(target_depth)
    source = copy.deepcopy(model.blocks[0])
    _apply_old_blocks([source], m_new, old_blocks)
    generator = torch.Generator().manual_seed(seed)
    exact = _new_block(model, source, "copy", target_depth, m_new, None, init_scale, 0.0)
    return exact, [_new_block(model, source, init, target_depth, m_new, generator, init_scale, eps)
                   for _ in range(draws)]


@torch.no_grad()
def _apply_old_blocks(old: list[Block], m_new: float, old_blocks: str) -> None:
    """Set the branch multiplier of the old blocks as `old_blocks` says (module docstring)."""
    for block in old:
        m_old = float(block.branch_scale)
        if old_blocks == "keep" or m_old == m_new:
            continue
        if old_blocks == "absorb":
            for lin in _output_projections(block):
                for p in lin.parameters():
                    p.mul_(m_old / m_new)
        block.branch_scale.fill_(m_new)


@torch.no_grad()
def _new_block(model: GPT, source: Block | None, init: str, depth: int, m_new: float,
               generator: torch.Generator | None, init_scale: float, init_noise: float) -> Block:
    """One new block of `expand`: a copy of `source` (plus a fresh draw for the noisy copies)
    or, when `source` is None, a fresh block by `init`; then at multiplier `m_new` on the
    model's device and dtype, scaled by `init_scale`, its output projections zeroed where
    `init` says."""
    if source is not None:
        block = copy.deepcopy(source)
        if init in NOISY_COPIES and init_noise > 0:
            _add_fresh(block, _fresh_block(model, "random", depth, generator), init, init_noise)
    else:
        block = _fresh_block(model, init, depth, generator)
    like = model.wte.weight
    block = block.to(device=like.device, dtype=like.dtype)
    block.branch_scale.fill_(m_new)
    if init_scale != 1.0:
        for name, p in block.named_parameters():
            if not name.startswith(("ln_1", "ln_2")):
                p.mul_(init_scale)
    if init in _ZERO_OUT:
        for lin in _output_projections(block):
            for p in lin.parameters():
                p.zero_()
    return block


@torch.no_grad()
def _add_fresh(block: Block, fresh: Block, init: str, eps: float) -> None:
    """Combine a copied block with a fresh draw in place (`expand`: ``copy_noise``,
    ``copy_mix``); LayerNorms untouched."""
    keep = 1.0 if init == "copy_noise" else (1.0 - eps * eps) ** 0.5
    drawn = dict(fresh.named_parameters())
    for name, p in block.named_parameters():
        if not name.startswith(("ln_1", "ln_2")):
            p.mul_(keep).add_(drawn[name].to(device=p.device, dtype=p.dtype), alpha=eps)


# ----------------------------------------------------------------------------- the plan

def check_plan(cfg: TrainConfig) -> None:
    """Raise ValueError now for any stage `expand` would reject later (e.g. ``copy`` from a
    stage whose source is not one block deep, or an unknown policy)."""
    if cfg.growth is None:
        return
    g = cfg.growth
    if g.opt_state not in OPT_STATE_POLICIES:
        raise ValueError(f"growth.opt_state={g.opt_state!r} is unknown; choose one of {OPT_STATE_POLICIES}")
    if _old_block_policy(cfg) not in OLD_BLOCK_POLICIES:
        raise ValueError(f"growth.old_blocks={_old_block_policy(cfg)!r} is unknown; "
                         f"choose one of {OLD_BLOCK_POLICIES}")
    depths = _depths(cfg)
    for s, (k, L) in enumerate(zip(depths, depths[1:]), start=1):
        try:
            expansion_layout(k, L, g.init, g.placement)
        except ValueError as e:
            raise ValueError(f"growth stage {s} ({k} -> {L} blocks): {e}") from None


# ----------------------------------------------------------------------------- transplant

def _scale_state(state: dict, g: float) -> None:
    """Rescale optimizer state for a parameter whose gradients now scale by `g`."""
    for key in ("exp_avg", "momentum_buffer"):
        if key in state:
            state[key].mul_(g)
    for key in ("exp_avg_sq", "max_exp_avg_sq"):
        if key in state:
            state[key].mul_(g * g)


def _clone_state(state: dict) -> dict:
    return {k: v.clone() if torch.is_tensor(v) else copy.deepcopy(v) for k, v in state.items()}


def _current_lr(optimizer: torch.optim.Optimizer) -> float | None:
    """The scheduled base LR last applied by `set_lr`, read back from a group."""
    for g in optimizer.param_groups:
        denom = g.get("lr_mult", 1.0) * g.get("ramp", 1.0)
        if denom > 0:
            return g["lr"] / denom
    return None


def grow(model: GPT, optimizer: torch.optim.Optimizer, cfg: TrainConfig, step: int,
         generator: torch.Generator | None = None) -> torch.optim.Optimizer:
    """Grow `model` at the start of stage step `step` and return its new optimizer.

    The model is expanded to the stage's depth with `cfg.growth` (init, placement, and
    `old_blocks` if the plan has that field, else ``absorb``; see `expand`).  The returned
    optimizer is `build_optimizer(model, cfg, step)`: per-group LR multipliers and Adam eps
    at the new depth, new-parameter ramp groups if `rewarmup_steps > 0`, and the scheduled
    LR of `optimizer` carried over (the trainer's `set_lr` then continues the schedule).
    `generator` defaults to one seeded with (cfg.seed, step).  Do not use `optimizer` after
    this call: the new one shares its state tensors.

    State, by `growth.opt_state`:
      ``fresh_new``    (default) existing parameters keep their state (moments, momentum
                       buffer and, for AdamW, their own step counter); new ones start empty.
      ``reset_all``    every parameter starts empty.
      ``copy_source``  as fresh_new, and every parameter of a copied block starts with a
                       clone of its source parameter's state (step counter included);
                       zeroed output projections and fresh blocks start empty.
    Under ``absorb`` the moments of each rescaled output projection are multiplied by
    m(L)/m_old (exp_avg_sq by its square), as its gradient now is.

    Bias correction: torch AdamW keeps a step counter t per parameter and divides the
    moments by 1 - beta^t.  Empty state starts at t = 0, so at a new parameter's first
    step m_hat / sqrt(v_hat) = g / |g| (up to eps): every new coordinate moves by about
    lr, however small its gradient, while old parameters continue with t > 1/(1-beta2)
    and corrections near 1.  This full-size first step of the new blocks is the candidate
    cause of the loss spike after random insertion; `rewarmup_steps` ramps their LR.
    """
    if cfg.growth is None:
        raise ValueError("cfg.growth is None: a fixed-size run does not grow")
    g = cfg.growth
    if g.opt_state not in OPT_STATE_POLICIES:
        raise ValueError(f"growth.opt_state={g.opt_state!r} is unknown; choose one of {OPT_STATE_POLICIES}")
    s = _stage_index(cfg, step)
    k, L = _depths(cfg)[s - 1], _depths(cfg)[s]
    if model.depth != k:
        raise ValueError(f"stage {s} at step {step} grows {k} -> {L} blocks, but the model has "
                         f"{model.depth}; was it grown already or built at the wrong depth?")
    if generator is None:
        generator = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
    old = list(model.blocks)
    m_before = [float(b.branch_scale) for b in old]
    layout = expand(model, L, g.init, placement=g.placement, old_blocks=_old_block_policy(cfg),
                    generator=generator, init_scale=g.init_scale, init_noise=g.init_noise)
    new_opt = build_optimizer(model, cfg, step)
    lr = _current_lr(optimizer)
    if lr is not None:
        set_lr(new_opt, lr, step=step)
    if g.opt_state != "reset_all":
        _transplant(optimizer, new_opt, model, old, m_before, layout, cfg)
    return new_opt


def _transplant(optimizer: torch.optim.Optimizer, new_opt: torch.optim.Optimizer, model: GPT, old: list[Block],
                m_before: list[float], layout: list[Origin], cfg: TrainConfig) -> None:
    """Carry the state of `optimizer` over to `new_opt` after growth, by `growth.opt_state`
    (``fresh_new`` or ``copy_source``; see `grow`): `old` are the blocks before growth, with
    multipliers `m_before`, and `layout` the grown model's (`expand`)."""
    g = cfg.growth
    for p in model.parameters():
        if p in optimizer.state:
            new_opt.state[p] = optimizer.state[p]
    if _old_block_policy(cfg) == "absorb":
        for block, m_old in zip(old, m_before):
            ratio = float(block.branch_scale) / m_old
            if ratio != 1.0:
                for lin in _output_projections(block):
                    for p in lin.parameters():
                        if p in new_opt.state:
                            _scale_state(new_opt.state[p], ratio)
    if g.opt_state == "copy_source":
        for block, origin in zip(model.blocks, layout):
            if origin.kind != "copy":
                continue
            src = dict(old[origin.source].named_parameters())
            for name, p in block.named_parameters():
                zeroed = g.init in _ZERO_OUT and name.startswith(_OUTPUT_PROJECTIONS)
                if not zeroed and src[name] in new_opt.state:
                    new_opt.state[p] = _clone_state(new_opt.state[src[name]])
