"""The layout of depth growth (torch-free): the step and depth of each growth stage
(`resolve_stages`, `depth_at`), which block of a grown model comes from where
(`expansion_layout`), and, for a config's growth plan, at which stage each block was created
(`block_stages`, `new_block_indices`).  `config` (validation), `growth` (which expands models)
and `optim` (whose parameter groups follow the stages) all read it, so none imports another
for it.

`cfg` below is a `progtheory.config.TrainConfig` or anything with its ``steps``, ``growth``
(``source_depth``, ``stages``, ``init``, ``placement``, ``old_blocks``) and ``model.n_layer``.

Notation: k = depth before growth, L = depth after, n = L - k new blocks, w_i = old block i.
"""

from __future__ import annotations

from dataclasses import dataclass

from progtheory.theory.options import COPYING_INITS, GROWTH_INITS, ONE_BLOCK_INITS, PLACEMENTS


# ----------------------------------------------------------------------------- stages

def resolve_stages(cfg) -> list[tuple[int, int]]:
    """Growth stages as (step, depth) with fractional steps converted; [] for fixed-size runs."""
    if cfg.growth is None:
        return []
    out = []
    for s, depth in cfg.growth.stages:
        step = int(round(s * cfg.steps)) if isinstance(s, float) else int(s)
        out.append((step, int(depth)))
    return out


def depth_at(cfg, step: int) -> int:
    """Model depth in use at `step` (0-based)."""
    if cfg.growth is None:
        return cfg.model.n_layer
    depth = cfg.growth.source_depth
    for s, d in resolve_stages(cfg):
        if step >= s:
            depth = d
    return depth


# ----------------------------------------------------------------------------- where each block comes from

@dataclass(frozen=True)
class Origin:
    """Where one block of a grown model came from.

    `new` is False for a block that existed before growth (`source` = its old index), True
    for a block created by growth: a copy of old block `source`, or fresh (`source` None).
    `str(origin)` is ``old<i>``, ``copy<i>`` or ``fresh``.
    """

    new: bool
    source: int | None

    @property
    def kind(self) -> str:
        if not self.new:
            return "old"
        return "fresh" if self.source is None else "copy"

    def __str__(self) -> str:
        return "fresh" if self.kind == "fresh" else f"{self.kind}{self.source}"


def _even_runs(k: int, n: int) -> list[int]:
    """n items split into k contiguous runs, run i of length n//k + (i < n % k)."""
    return [i for i in range(k) for _ in range(n // k + (i < n % k))]


def _copy_sources(k: int, n: int, init: str) -> list[int | None]:
    """The old block each new block (in creation order) copies; None for fresh blocks."""
    if init in ONE_BLOCK_INITS:
        return [0] * n
    if init in ("copy_stack", "copy_zero"):
        return [j % k for j in range(n)]
    if init == "copy_inter":
        return _even_runs(k, n)
    if init == "copy_last":
        return [k - 1] * n
    return [None] * n


def expansion_layout(source_depth: int, target_depth: int, init: str = "random",
                     placement: str = "end") -> list[Origin]:
    """Layout of a model grown from `source_depth` (k) to `target_depth` (L) blocks.

    `init` fixes what each of the n = L - k new blocks holds (see `expand`); `placement`
    fixes where it goes:

      * ``end``         [w_0 .. w_{k-1}, new_0 .. new_{n-1}];
      * ``interleave``  each old block w_i is followed by the new blocks assigned to it:
                        for a copy, the block it copies; for a fresh block, a contiguous
                        run, block i getting n//k + (i < n % k) of them.  For k = 0 it is
                        the same as ``end``.

    Resulting orders for k = 2, L = 5 (a_i = a block holding w_i's values):

      copy_stack, end          a0 a1 a0 a1 a0   ("stack", the natural placement)
      copy_inter, interleave   a0 a0 a0 a1 a1   ("inter", the natural placement)
      copy_inter, end          a0 a1 a0 a0 a1
      copy_stack, interleave   a0 a0 a0 a1 a1   (the same order as inter)
      copy_last,  either       a0 a1 a1 a1 a1

    Raises ValueError for an unknown init or placement, L <= k, a copying init from a
    0-layer source, or ``copy`` from a source that is not one block deep.
    """
    k, L = source_depth, target_depth
    if init not in GROWTH_INITS:
        raise ValueError(f"init={init!r} is unknown; choose one of {GROWTH_INITS}")
    if placement not in PLACEMENTS:
        raise ValueError(f"placement={placement!r} is unknown; choose one of {PLACEMENTS}")
    if k < 0 or L <= k:
        raise ValueError(f"target depth {L} must exceed the current depth {k} (growth only adds blocks)")
    if init in COPYING_INITS and k == 0:
        raise ValueError(f"init={init!r} copies existing blocks, but the model has 0 blocks; "
                         f"use init='random' or 'random_zero_out' for a 0-layer source")
    if init in ONE_BLOCK_INITS and k != 1:
        raise ValueError(f"init={init!r} is defined for a one-layer source (w -> [w, ..., w]), but the model "
                         f"has {k} blocks; use 'copy_stack', 'copy_inter' or 'copy_last'")
    n = L - k
    sources = _copy_sources(k, n, init)
    new = [Origin(True, s) for s in sources]
    if placement == "end" or k == 0:
        return [Origin(False, i) for i in range(k)] + new
    owners = sources if init in COPYING_INITS else _even_runs(k, n)
    out = []
    for i in range(k):
        out.append(Origin(False, i))
        out.extend(o for o, owner in zip(new, owners) if owner == i)
    return out


# ----------------------------------------------------------------------------- the stage that created each block

def _stage_index(cfg, step: int) -> int:
    """1-based index of the stage that grows at `step`; raises if none does."""
    stages = resolve_stages(cfg)
    for s, (at, _) in enumerate(stages, start=1):
        if at == step:
            return s
    raise ValueError(f"no growth stage starts at step {step}; the plan's stage steps are "
                     f"{[at for at, _ in stages]} (growth.stages resolved against steps={cfg.steps})")


def _depths(cfg) -> list[int]:
    """Depth before any growth, then after each stage."""
    return [cfg.growth.source_depth] + [d for _, d in resolve_stages(cfg)]


def _old_block_policy(cfg) -> str:
    return cfg.growth.old_blocks


def block_stages(cfg, depth: int) -> list[int]:
    """For a model of the plan at `depth`: the stage that created each block (0 = source
    block, s >= 1 = created by stage s), found by replaying every stage's layout."""
    if cfg.growth is None:
        raise ValueError("cfg.growth is None: a fixed-size run has no growth stages")
    depths = _depths(cfg)
    if depth not in depths:
        raise ValueError(f"depth {depth} is not a depth of the growth plan {depths} "
                         f"(source_depth, then each stage's depth)")
    g = cfg.growth
    born = [0] * depths[0]
    for s, (k, L) in enumerate(zip(depths, depths[1:]), start=1):
        if k == depth:
            break
        born = [s if o.new else born[o.source] for o in expansion_layout(k, L, g.init, g.placement)]
    return born


def new_block_indices(cfg, stage: int) -> list[int]:
    """Positions, in the model right after stage `stage` (1-based), of the blocks it created."""
    depths = _depths(cfg)
    if not 1 <= stage < len(depths):
        raise ValueError(f"stage={stage} must lie in 1..{len(depths) - 1} (the plan has {len(depths) - 1} stages)")
    return [i for i, s in enumerate(block_stages(cfg, depths[stage])) if s == stage]
