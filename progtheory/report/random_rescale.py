"""P29: fresh random blocks on a trained 1-layer source (`random_rescale`): do they starve because the
source carries fourfold output projections?  Judged on the statement committed before the grid's
rescaled runs (`analysis.random_rescale`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from progtheory import analysis as A
from progtheory.analysis import random_rescale as RR
from progtheory.report.data import FIG, PAPER_RECIPE, paired_by_budget, res
from progtheory.report.rule import Condition, Part, Record


def _paired(wide: pd.DataFrame, a: str, b: str, budgets, **band) -> tuple[Condition, ...]:
    """Per budget of `budgets` with both columns: the seed-paired a - b (nats)."""
    return tuple(c for _, c in paired_by_budget(wide, a, b, f"{RR.LABELS[a]} − {RR.LABELS[b]}", budgets,
                                                unit="nats", **band))


def _cost_ratios(costs: pd.DataFrame) -> tuple[Condition, ...]:
    """Per budget: the fresh blocks' mean ablation cost, rescaled over absorbed (seed-paired ratio)."""
    both = costs.dropna(subset=["cost_absorb", "cost_rescale"])
    return tuple(Condition.from_ci(f"T = {int(T):,}", A.mean_ci((g.cost_rescale / g.cost_absorb).to_numpy()),
                                   unit="x", band_lo=RR.FRESH_COST_RATIO)
                 for T, g in both.groupby("steps_T"))


def _gap_rows(wide: pd.DataFrame) -> tuple[Condition, ...]:
    """Each progressive arm's gap per budget (reported)."""
    g = RR.gaps(wide)
    return tuple(Condition.from_ci(f"T = {int(T):,}, {RR.LABELS[arm]}", A.mean_ci(part[arm].dropna().to_numpy()))
                 for T, part in g.groupby("steps_T") for arm in RR.ARMS[1:] if part[arm].notna().any())


def p29_records(root: str) -> list[Record]:
    """P29: (a) the fresh blocks learn, (b) they end lower, (c) they beat the rescaled copy at the top budget;
    the five arms' gaps reported."""
    folder = Path(root) / "random_rescale"
    if not (folder / "runs.csv").is_file():
        return [Record("P29", recipe=PAPER_RECIPE)]   # open: declared, no run yet
    runs = pd.read_csv(folder / "runs.csv")
    wide = RR.arms(runs)
    cost = _cost_ratios(RR.fresh_costs(folder))
    lower = _paired(wide, "random_rescale", "random_absorb", RR.LOWER_AT, band_hi=0.0)
    # (c) is stated on the paired mean alone: the mean is judged as an exact point
    best = tuple(Condition(c.label, c.value, c.value, c.value, c.n, band_hi=0.0, unit="nats", exact=True)
                 for c in _paired(wide, "random_rescale", "copy_rescale", (RR.TOP_T,)))
    parts = (
        Part(f"(a) the fresh blocks learn: their mean cost to drop at T is ≥ {RR.FRESH_COST_RATIO:g}× the absorbed "
             "random blocks'", cost, tolerance=f"≥ {RR.FRESH_COST_RATIO:g}× (seed-paired ratio)",
             note="" if cost else "no ablation of a rescaled random run yet"),
        Part("(b) the rescaled random blocks end below the absorbed ones", lower, tolerance="< 0 (nats, seed-paired)",
             note="" if lower else "no rescaled random run has ended at T = 10,000 or 40,000 yet"),
        Part(f"(c) at T = {RR.TOP_T:,} they end at or below the rescaled copy", best,
             tolerance="seed-paired mean ≤ 0 (nats)", note="" if best else f"no rescaled random run at T = {RR.TOP_T:,} yet"),
        Part("each arm's gap to the fixed run (reported)", _gap_rows(wide), judged=False),
    )
    return [Record("P29", parts=parts, recipe=PAPER_RECIPE, figure=FIG + "random_rescale.png",
                   source=res("random_rescale"))]

