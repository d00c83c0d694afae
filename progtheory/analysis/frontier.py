"""Compute: the FLOP accounting of progressive runs, final gaps compared at equal FLOP fractions,
the fixed-size compute frontier, and the compute efficiency at equal loss against it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.analysis.results import DEFAULT_RECIPE
from progtheory.analysis.stats import mean_ci

FRONTIER_COLUMNS = ["run_id", "recipe", "seed", "steps", "flops", "final_val_loss"]


def compute_accounting(table: pd.DataFrame, model, depth: int) -> pd.DataFrame:
    """P1 over a mixing table: per progressive run, the speed-up predicted by
    `theory.compute.progressive_savings` (exact and 6N conventions, `model` a GPTConfig grown to
    `depth`) against the counted FLOP ratio and the measured wall-time ratio (fixed / progressive,
    same schedule, seed and LR).  Wall times of runs that shared the machine carry its load."""
    from progtheory.theory import compute

    rows = []
    for r in table.itertuples():
        T = int(r.steps)
        stages = [(int(round(r.tau * T)), depth)]
        pred = {c: compute.progressive_savings(model, int(r.source), stages, T, convention=c)["speedup"]
                for c in ("exact", "6N")}
        rows.append({"schedule": r.schedule, "source": r.source, "tau": r.tau, "seed": r.seed,
                     "pred_exact": pred["exact"], "pred_6n": pred["6N"],
                     "flop_ratio": r.flops_fixed / r.flops, "wall_ratio": r.wall_fixed / r.wall})
    return pd.DataFrame(rows)


def gap_at_flop_fraction(curve: pd.DataFrame, fractions) -> np.ndarray:
    """One growth path's final gap interpolated at FLOP fractions (progressive FLOPs / fixed
    FLOPs): linear in the fraction between the path's measured points (its runs at different
    tau, one seed), NaN outside their range (no extrapolation).  `curve`: rows with columns
    frac and rel_gap."""
    c = curve.groupby("frac").rel_gap.mean().sort_index()
    x, g = c.index.to_numpy(dtype=float), c.to_numpy(dtype=float)
    f = np.atleast_1d(np.asarray(fractions, dtype=float))
    out = np.interp(f, x, g)
    out[(f < x[0] - 1e-9) | (f > x[-1] + 1e-9)] = np.nan
    return out


def equal_flop_difference(table: pd.DataFrame, reference: pd.Series, candidate: pd.Series,
                          through_fixed: bool = True) -> tuple:
    """Final gap of the `candidate` runs minus that of the `reference` growth path at the same
    FLOP fraction, per seed, as `mean_ci` over seeds.

    `table`: a `mixing_table` (columns seed, flops, flops_fixed, rel_gap); `reference`,
    `candidate`: boolean masks of its rows.  The reference path's gap is interpolated against
    its FLOP fraction (`gap_at_flop_fraction`) at each candidate run's fraction, within the
    same seed; candidate runs outside the reference's range of fractions are left out.  With
    `through_fixed`, every path ends at the fixed run itself (expanding at step 0: fraction 1,
    gap 0).  A negative difference: the candidate reaches a lower loss for the same compute."""
    t = table.assign(frac=table.flops / table.flops_fixed)
    diffs = []
    for seed, cand in t[candidate].groupby("seed"):
        ref = t[reference & (t.seed == seed)][["frac", "rel_gap"]]
        if through_fixed and len(ref):
            ref = pd.concat([ref, pd.DataFrame(dict(frac=[1.0], rel_gap=[0.0]))])
        if ref.frac.nunique() < 2:
            continue
        at = gap_at_flop_fraction(ref, cand.frac)
        diffs.extend(cand.rel_gap.to_numpy() - at)
    return mean_ci(diffs)


def pareto_front(points: pd.DataFrame, x: str = "frac", y: str = "rel_gap") -> pd.DataFrame:
    """The rows of `points` no other row beats on both `x` and `y` (lower is better), by x."""
    p = points.sort_values([x, y])
    return p[p[y] < p[y].cummin().shift(fill_value=np.inf)]


def frontier_points(*runs: pd.DataFrame) -> pd.DataFrame:
    """The fixed-size compute frontier of one or more runs tables (`load_results`): every
    fixed-depth run (source < 0 where the column exists) with a final loss, one row per run id,
    columns FRONTIER_COLUMNS, sorted by recipe, seed and FLOPs."""
    parts = []
    for table in runs:
        fixed = table[table.source < 0] if "source" in table else table
        parts.append(fixed[fixed.final_val_loss.notna()][FRONTIER_COLUMNS])
    if not parts:
        return pd.DataFrame(columns=FRONTIER_COLUMNS)
    return pd.concat(parts).drop_duplicates("run_id").sort_values(["recipe", "seed", "flops"]).reset_index(drop=True)


def frontier_flops(frontier: pd.DataFrame, loss) -> np.ndarray:
    """FLOPs the fixed-size frontier needs to reach `loss`: log FLOPs interpolated linearly in
    log loss along the lower envelope of `frontier` (rows flops, final_val_loss of one seed).
    NaN above the frontier's highest loss or below its lowest (no extrapolation)."""
    f = frontier.sort_values("flops")
    env = f[f.final_val_loss < f.final_val_loss.cummin().shift(fill_value=np.inf)]
    logl, logc = np.log(env.final_val_loss.to_numpy()), np.log(env.flops.to_numpy())
    q = np.log(np.atleast_1d(np.asarray(loss, dtype=float)))
    out = np.exp(np.interp(q, logl[::-1], logc[::-1]))
    out[(q > logl.max() + 1e-12) | (q < logl.min() - 1e-12)] = np.nan
    return out


def compute_efficiency(table: pd.DataFrame, frontier: pd.DataFrame) -> pd.DataFrame:
    """Compute efficiency at equal loss of each progressive run in `table` (a `mixing_table`):
    efficiency = FLOPs the fixed-size frontier of the same seed needs to reach the run's final
    validation loss (`frontier_flops`) / the run's FLOPs; above 1, progressive training is the
    cheaper way to that loss.  Adds columns efficiency (NaN when the loss lies outside the
    frontier's range), bound_value and bound: "above" when the run's loss is higher than the frontier's
    highest (the frontier would need less than its cheapest point: the efficiency is below
    frontier FLOPs min / run FLOPs, the bound_value), "below" when lower than its lowest (the
    efficiency exceeds frontier FLOPs max / run FLOPs), else ""."""
    eff, bound, value = [], [], []
    for r in table.itertuples():
        f = frontier[frontier.seed == r.seed]
        if f.empty:
            eff.append(np.nan), bound.append("no frontier"), value.append(np.nan)
            continue
        need = float(frontier_flops(f, r.final)[0])
        eff.append(need / r.flops)
        side = "" if np.isfinite(need) else "above" if r.final > f.final_val_loss.max() else "below"
        bound.append(side)
        value.append({"above": f.flops.min(), "below": f.flops.max()}.get(side, np.nan) / r.flops)
    return table.assign(efficiency=eff, bound=bound, bound_value=value)


def efficiency_table(tables: dict[str, pd.DataFrame], frontier: pd.DataFrame) -> pd.DataFrame:
    """`compute_efficiency` of every progressive run of the mixing tables {experiment: table},
    each recipe's rows (a table without a recipe column is DEFAULT_RECIPE) against the frontier
    of that recipe (`frontier_points`): one row per run id, with an `experiment` column; empty
    when no recipe has a frontier."""
    parts = []
    for name, table in tables.items():
        groups = table.groupby("recipe", sort=True) if "recipe" in table else [(DEFAULT_RECIPE, table)]
        for recipe, g in groups:
            f = frontier[frontier.recipe == recipe]
            if len(f):
                parts.append(compute_efficiency(g, f).assign(experiment=name))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True).drop_duplicates("run_id")


def growth_paths(table: pd.DataFrame, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """The progressive runs of a `mixing_table` with a `stages` column (e.g. `source_depth`),
    joined by the single-stage runs of `extra` (e.g. `mixing`) that share one of its fixed runs
    (same fixed_run_id), labelled "s->L"; one row per run (run_id), with frac = FLOPs / fixed
    FLOPs.  Each single-stage growth path then has runs at several tau, so its gap can be
    interpolated against its FLOP fraction (`equal_flop_difference`)."""
    out = table
    if extra is not None and len(extra):
        target = table.stages.str.split("->").str[-1].iloc[0]
        more = extra[extra.fixed_run_id.isin(table.fixed_run_id)]
        more = more.assign(stages=more.source.astype(int).astype(str) + "->" + target)
        out = pd.concat([table, more[[c for c in more.columns if c in table.columns]]], ignore_index=True)
    out = out.drop_duplicates("run_id").reset_index(drop=True)
    return out.assign(frac=out.flops / out.flops_fixed)
