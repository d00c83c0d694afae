"""How far the blocks that growth started as copies of one block have drifted apart.

A copying growth init (``copy``, ``copy_stack``, ``copy_noise``, ...; `growth_layout.expansion_layout`)
starts several blocks of the grown model from one trained block w.  The copies separate only
as far as their updates differ: they sit at different depths, so their gradients differ, and the
source block keeps its own optimizer state (`theory.copy_symmetry` predicts the separation from
the update differences).  This module measures it on the model being trained.

Notation: a copy group G is the set of blocks of the grown model that started from one source
block, the source block itself included (`copy_groups`); for blocks i < j of G and a matrix type
M (``attn.c_attn`` = fused q, k, v, ``attn.c_proj``, ``mlp.c_fc``, ``mlp.c_proj``; weights only,
flattened to vectors W_i^M), and x_i the residual stream entering block i on a fixed batch,

  * cos_M(i, j)       = <W_i, W_j> / (||W_i|| ||W_j||)        (None when either norm is 0,
                        e.g. the zeroed output projections of ``copy_zero``),
  * rel_dist_M(i, j)  = ||W_i - W_j|| / ||W_i||                 (None when ||W_i|| = 0),
  * branch_cos(i, j)  = <f_i(x_i), f_j(x_i)> / (||f_i(x_i)|| ||f_j(x_i)||), with
                        f_b(x) = block_b(x) - x (both branches, times the block's multiplier),
                        both blocks applied to the SAME stream x_i (the one entering the earlier
                        block), so only their weights differ; the tensors are flattened over
                        batch, position and width, so tokens with large branch outputs weigh more
                        (None when either output is 0),
  * eff_rank_M(G)     = exp(-sum_a p_a log p_a), p_a = s_a / sum_b s_b, s the singular values of
                        the |G| x n matrix whose rows are the W_b^M of G (not centred): 1 for
                        identical copies, |G| for mutually orthogonal ones of equal norm (Roy &
                        Vetterli 2007, "The effective rank: a measure of effective dimensionality").

The trainer logs these at the steps `probe_plan` gives, one JSON line per step, to
``<run>/symmetry.jsonl`` (`append_log`, `trim_log`).  All sums are taken in float64.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from progtheory.config import TrainConfig, resolve_stages
from progtheory.theory.growth_layout import Origin, expansion_layout

MATRICES = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
LOG = "symmetry.jsonl"
MANTISSAS = (1, 2, 5)  # probe offsets after a growth step: 0, 1, 2, 5, 10, 20, 50, 100, ...

Groups = list[tuple[int, ...]]


# ----------------------------------------------------------------------------- which blocks

def copy_groups(layout: list[Origin]) -> Groups:
    """Blocks of a grown model that started as copies of one source block, the source block
    first, one tuple per source block that has at least one copy, in order of the source's
    position.  `layout` is `expansion_layout`'s (one `Origin` per block of the grown model)."""
    groups = []
    for i, origin in enumerate(layout):
        if origin.kind == "old":
            copies = [j for j, o in enumerate(layout) if o.kind == "copy" and o.source == origin.source]
            if copies:
                groups.append((i, *copies))
    return groups


# ----------------------------------------------------------------------------- measurements

def _cos(a: torch.Tensor, b: torch.Tensor) -> float | None:
    norms = float(a.norm() * b.norm())
    return min(1.0, max(-1.0, float(a @ b) / norms)) if norms > 0 else None  # rounding can pass 1


def _rel_dist(a: torch.Tensor, b: torch.Tensor) -> float | None:
    size = float(a.norm())
    return float((a - b).norm()) / size if size > 0 else None


def effective_rank(rows_KxN: torch.Tensor) -> float | None:
    """exp(entropy of the normalised singular values) of a K x n matrix (Roy & Vetterli 2007):
    1 when the rows are parallel, K when they are orthogonal and of equal norm; None for
    a zero matrix.  The singular values come from the K x K Gram matrix, so n may be large."""
    r = rows_KxN.double()
    s = torch.linalg.eigvalsh(r @ r.T).clamp(min=0).sqrt()
    if float(s.sum()) == 0:
        return None
    p = s / s.sum()
    p = p[p > 0]
    return math.exp(float(-(p * p.log()).sum()))


def _weights(block, name: str) -> torch.Tensor:
    module = block.get_submodule(name)
    return module.weight.detach().reshape(-1).double()


@torch.no_grad()
def copy_symmetry(model, groups: Groups, idx_BxT: torch.Tensor) -> dict:
    """The separation of each copy group of `model` (a `progtheory.core.model.GPT`), as a JSON-ready
    dict (formulas in the module docstring):

      {"groups":   [[i, j, ...], ...],
       "eff_rank": [{matrix: eff_rank_M(G)}, ...]                  one per group,
       "pairs":    [{"i": i, "j": j, "cos": {matrix: cos_M}, "rel_dist": {matrix: rel_dist_M},
                     "branch_cos": branch_cos}, ...]               every i < j of every group}.

    `idx_BxT` is the fixed token batch whose streams the branch outputs are taken at.  Under
    torch.no_grad, in the model's dtype, without changing the model's mode or parameters and
    without drawing random numbers (so training that follows is the same bitwise)."""
    groups = [tuple(sorted(g)) for g in groups]
    out: dict = {"groups": [list(g) for g in groups], "eff_rank": [], "pairs": []}
    if not groups:
        return out
    blocks = model.blocks
    last = max(max(g) for g in groups)
    pos = torch.arange(idx_BxT.shape[1], device=idx_BxT.device)
    x = model.wte(idx_BxT) + model.wpe(pos)
    streams = []  # streams[b] enters block b
    for b in range(last + 1):
        streams.append(x)
        x = blocks[b](x)
    for g in groups:
        flat = {name: [_weights(blocks[b], name) for b in g] for name in MATRICES}
        out["eff_rank"].append({name: effective_rank(torch.stack(rows)) for name, rows in flat.items()})
        for a, i in enumerate(g):
            x_i = streams[i]
            f_i = (blocks[i](x_i) - x_i).reshape(-1).double()
            for c, j in enumerate(g[a + 1:], start=a + 1):
                f_j = (blocks[j](x_i) - x_i).reshape(-1).double()
                out["pairs"].append({
                    "i": i, "j": j,
                    "cos": {name: _cos(flat[name][a], flat[name][c]) for name in MATRICES},
                    "rel_dist": {name: _rel_dist(flat[name][a], flat[name][c]) for name in MATRICES},
                    "branch_cos": _cos(f_i, f_j),
                })
    return out


# ----------------------------------------------------------------------------- when to measure

def probe_offsets(span: int) -> list[int]:
    """0 and the 1-2-5 sequence 1, 2, 5, 10, 20, 50, ... up to `span`: dense where copies
    separate fastest (the first updates after growth), about three points per decade after."""
    if span < 0:
        raise ValueError(f"span={span} must be >= 0 (steps after a growth step)")
    out, scale = [0], 1
    while scale <= span:
        out.extend(m * scale for m in MANTISSAS if m * scale <= span)
        scale *= 10
    return out


def probe_plan(cfg: TrainConfig, evaluated: Iterable[int] = ()) -> dict[int, tuple[int, Groups]]:
    """Step s -> (tau, groups): the model states of a run whose growth copies blocks at which
    the trainer measures `copy_symmetry`.  State s is the model that has taken s updates, right
    before the update of step s (for s = tau, right after growing); s = cfg.steps is the final
    model.  For each growth step tau that creates copies, until the next growth step (the last
    state before it) or the end of the run: tau + `probe_offsets`, every state in `evaluated`
    (the trainer passes the states its validation losses are taken at), and the last state.
    Groups are `copy_groups` of that growth step's layout; a run without copies gives {}."""
    stages = resolve_stages(cfg)
    if not stages:
        return {}
    g, evaluated = cfg.growth, set(evaluated)
    depths = [g.source_depth] + [d for _, d in stages]
    plan: dict[int, tuple[int, Groups]] = {}
    for n, (tau, depth) in enumerate(stages):
        groups = copy_groups(expansion_layout(depths[n], depth, g.init, g.placement))
        if not groups:
            continue
        end = stages[n + 1][0] - 1 if n + 1 < len(stages) else cfg.steps
        steps = {tau + o for o in probe_offsets(end - tau)} | {s for s in evaluated if tau <= s <= end} | {end}
        plan.update({s: (tau, groups) for s in sorted(steps)})
    return plan


# ----------------------------------------------------------------------------- the log file

def trim_log(path: Path, keep_before: int) -> None:
    """Keep only the lines of `path` with step < `keep_before` (a resume from the checkpoint at
    `keep_before` writes the later ones again, so none appears twice); `keep_before` = 0 (a
    fresh start) removes the file."""
    path = Path(path)
    if not path.is_file():
        return
    if keep_before <= 0:
        path.unlink()
        return
    lines = [line for line in path.read_text().splitlines()
             if line.strip() and json.loads(line)["step"] < keep_before]
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text("".join(line + "\n" for line in lines))
    os.replace(tmp, path)


def append_log(path: Path, record: dict) -> None:
    """Append one JSON line to `path` and flush it."""
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
