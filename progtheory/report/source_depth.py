"""P10, P11, P12 from `source_depth`: t_mix across source depths, and deeper or multi-stage
growth paths against the 0/1-layer paths at equal FLOPs (each single-stage path's gap, its runs
at several tau with those of `mixing` that share the fixed run, interpolated against its FLOP
fraction: `analysis.equal_flop_difference`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.report import data
from progtheory.report.conditions import PARITY, paired, ratio
from progtheory.report.data import FIG, res
from progtheory.report.rule import Condition, Part, Record, format_condition

FIGURE = FIG + "source_depth_pareto.png"


def _single(stages: pd.Series) -> pd.Series:
    """Single-stage paths (one expansion)."""
    return ~stages.str.count("->").gt(1)


def _per_recipe(root: str, build) -> list[Record]:
    """`build(rows, growth paths, recipe)` (a Record or None) for each recipe of
    `source_depth`, the paths including the recipe's mixing runs."""
    table, mixing = data.gap_table("source_depth", root), data.gap_table("mixing", root)
    out = []
    for recipe, t in data.by_recipe(table):
        extra = mixing if mixing is None or "recipe" not in mixing else mixing[mixing.recipe == recipe]
        rec = build(t, A.growth_paths(t, extra), recipe)
        if rec is not None:
            out.append(replace(rec, recipe=recipe))
    return out


def records(root: str) -> list[Record]:
    """P10, P11 and P12 of every recipe."""
    return p10_records(root) + p11_records(root) + p12_records(root)


def p10_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda t, paths, recipe: t_mix_by_source(t[_single(t.stages)]))


def t_mix_by_source(one: pd.DataFrame) -> Record:
    """P10: the mean t_mix of the largest source over the smallest's within 2x."""
    t_mix = one.groupby("source").t_mix.agg(lambda x: np.inf if np.isinf(x).any() else x.mean())
    finite = t_mix[np.isfinite(t_mix)]
    detail = ("mean t_mix by source depth: " + ", ".join(f"{int(s)}: {v:.0f}" for s, v in t_mix.items()),)
    if len(finite) == len(t_mix) and len(t_mix) >= 2:
        r = ratio(finite.max(), finite.min())
        part = Part("largest / smallest mean t_mix over source depths",
                    (Condition("t_mix ratio", r, r, r, len(finite), band_hi=2.0, unit="x", exact=True),),
                    tolerance="≤ 2")
    else:
        part = Part("largest / smallest mean t_mix over source depths", tolerance="≤ 2", undecided=True,
                    note="t_mix is undefined (∞) for a source depth whose runs never reach the fixed loss")
    return Record("P10", parts=(part,), figure=FIGURE, source=res("source_depth"), detail=detail)


def p11_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda t, paths, recipe: _deeper_sources(t, paths))


def _deeper_sources(t: pd.DataFrame, paths: pd.DataFrame) -> Record:
    """P11: each deeper source's gap minus the best 0/1-layer path's at its FLOP fraction."""
    single = _single(paths.stages)
    one = t[_single(t.stages)]
    conds, lines = [], []
    for d in sorted(s for s in one.source.unique() if s >= 2):
        cand = single & (paths.source == d) & paths.run_id.isin(t.run_id)
        best = None
        for s in (0, 1):
            ci = A.equal_flop_difference(paths, single & (paths.source == s), cand)
            lines.append(f"{int(d)}-layer − {s}-layer at the {int(d)}-layer runs' FLOPs: "
                         + format_condition(Condition.from_ci("", ci), with_label=False))
            if ci[3] and (best is None or ci[0] > best[1][0]):
                best = (s, ci)
        if best:
            conds.append(Condition.from_ci(f"{int(d)}-layer − {best[0]}-layer at equal FLOPs", best[1],
                                           band_lo=-PARITY))
    cost = one.groupby("source").apply(lambda g: (g.flops / g.flops_fixed).mean(), include_groups=False)
    lines.append("FLOPs / fixed at τ = 0.5T: " + ", ".join(f"{int(s)}-layer {c:.2f}" for s, c in cost.items()))
    return Record("P11", parts=(
        Part("a deeper source's gap minus the best 0/1-layer path's gap at the same FLOP fraction",
             tuple(conds), tolerance="≥ −0.5%: the 0/1-layer path is no worse"),),
        figure=FIGURE, source=res("source_depth", "mixing"), detail=tuple(lines))


def p12_records(root: str) -> list[Record]:
    return _per_recipe(root, lambda t, paths, recipe: _multi_stage(t, paths))


def _multi_stage(t: pd.DataFrame, paths: pd.DataFrame) -> Record | None:
    """P12: each multi-stage path's gap minus the 0-layer single-stage path's at its FLOP
    fraction; None without multi-stage runs."""
    multi = sorted(s for s in t.stages.unique() if s.count("->") > 1)
    if not multi:
        return None
    zero = _single(paths.stages) & (paths.source == 0)
    parts = tuple(Condition.from_ci(f"{m} − 0-layer path at equal FLOPs", A.equal_flop_difference(
        paths, zero, paths.stages == m), band_lo=-PARITY) for m in multi)
    same_tau = [f"{m} − {m.split('->')[0]}->{m.split('->')[-1]} at the same τ: " + format_condition(
        Condition.from_ci("", paired(t[t.source == 0], "stages", m, f"0->{m.split('->')[-1]}")),
        with_label=False) for m in multi]
    return Record("P12", parts=(
        Part("multi-stage gap minus the 0-layer single-stage path's at the same FLOP fraction", parts,
             tolerance="≥ −0.5%: no better"),), figure=FIGURE, source=res("source_depth", "mixing"),
        detail=tuple(same_tau))
