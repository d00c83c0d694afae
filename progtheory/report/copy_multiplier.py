"""P28: the copy's residual multiplier (`copy_multiplier`): does copying the 1-layer source's weights
as trained, every block at the depth-4 multiplier, remove the copy floor?  Judged on the bounds
committed before the grid's new runs (`analysis.copy_multiplier`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from progtheory import analysis as A
from progtheory.analysis import copy_multiplier as CM
from progtheory.report.data import FIG, PAPER_RECIPE, paired_by_budget, res
from progtheory.report.rule import Condition, Part, Record


def _paired_part(title: str, wide: pd.DataFrame, pairs, tolerance: str, unit: str = "nats") -> Part:
    """One condition per budget and (a, b, label, scale, only_T) of `pairs` (only_T: that budget
    alone, or None for every one): the seed-paired a - scale * b of columns of `wide`, judged <= 0."""
    found = [c for a, b, label, scale, only_T in pairs
             for c in paired_by_budget(wide, a, b, label, (only_T,) if only_T else None, scale,
                                       band_hi=0.0, unit=unit)]
    conds = [c for _, c in sorted(found, key=lambda tc: tc[0])]  # stable: by budget, then in `pairs` order
    return Part(title, tuple(conds), tolerance=tolerance, note="" if conds else "no rescaled copy has ended yet")


def p28_records(root: str) -> list[Record]:
    """P28: (a) the spike at tau, (b) the output-projection norms at T, (c) the final loss, each
    against the bound stated before the runs."""
    folder = Path(root) / "copy_multiplier"
    if not (folder / "runs.csv").is_file():
        return []
    runs = pd.read_csv(folder / "runs.csv")
    parts = []
    growth = folder / "growth_stats.jsonl"
    if growth.is_file():
        spikes = CM.spikes(runs, pd.read_json(growth, lines=True))
        if {"rescale", "absorb"} <= set(spikes.columns):
            parts.append(_paired_part("(a) the rescaled copy's loss change at τ is at most half the absorbed copy's",
                                      spikes, (("rescale", "absorb", "rescaled − ½ absorbed", CM.SPIKE_SHARE, None),),
                                      "≤ 0 (nats, seed-paired)"))
    norms = folder / "norms.csv"
    if norms.is_file():
        ratio = CM.norm_ratios(runs, pd.read_csv(norms))

        def ratios(arm: str, **band) -> tuple[Condition, ...]:
            return tuple(Condition.from_ci(f"T = {int(T):,}", A.mean_ci(g.ratio.to_numpy()), unit="x", **band)
                         for T, g in ratio[ratio.arm == arm].groupby("steps_T"))

        parts += [Part(f"(b) the rescaled copy's output projections within {CM.NORM_RATIO:g}× the fixed run's at T",
                       ratios("rescaled", band_hi=CM.NORM_RATIO), tolerance=f"≤ {CM.NORM_RATIO:g}×"),
                  Part("the absorbed copy's output projections over the fixed run's at T (reported)",
                       ratios("absorbed"), judged=False)]
    wide = CM.arms(runs)
    parts.append(_paired_part("(c) the rescaled copy ends at or below the absorbed copy, and at the top budget at or "
                              "below the 0-layer source", wide,
                              (("rescaled", "absorbed", "rescaled − absorbed", 1.0, None),
                               ("rescaled", "zero", "rescaled − 0-layer", 1.0, CM.TOP_T)),
                              "≤ 0 (nats, seed-paired)"))
    return [Record("P28", parts=tuple(parts), recipe=PAPER_RECIPE, figure=FIG + "copy_multiplier.png",
                   source=res("copy_multiplier"))]
