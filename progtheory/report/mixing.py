"""P2, P6-P9, P15, P16, P18: mixing under WSD and cosine (`mixing` and its recipe companion),
the recipe tau* = T - t_mix checked by `recipe`, and the bound fitted to fixed-size curves.

With mixing runs at several peak LRs, a record's verdict is taken at the LR with the most
finished runs (the tuned LR wins ties); the other LRs' verdicts and deciding conditions are
quoted in its detail (`at_verdict_lr`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.report import data
from progtheory.report.budget import budget_lines
from progtheory.report.conditions import PARITY, gap_ci, mixes, ratio, stays
from progtheory.report.data import FIG, res
from progtheory.report.rule import Condition, Part, Record, format_condition

LAW_TOL = 0.02  # timing law: absolute error in the relative final gap (2 percentage points)
R2_MIN = 0.95  # P16's goodness of fit
FIGURE = FIG + "mixing_gap_vs_tau.png"


def at_verdict_lr(root: str, build) -> list[Record]:
    """One record per recipe of `mixing`: `build(runs, table, metrics, recipe)` (a Record, or
    None where the rows say nothing) at each peak LR in `data.primary_lr` order, the first
    LR's record carrying the verdict and the others' verdicts quoted in its detail."""
    loaded, table = data.load("mixing", root), data.gap_table("mixing", root)
    if loaded is None or table is None:
        return []
    runs, metrics = loaded
    runs = runs if "lr" in runs else runs.assign(lr=np.nan)
    table = table if "lr" in table else table.assign(lr=np.nan)
    out = []
    for recipe, t in data.by_recipe(table):
        r_runs = runs[runs.recipe == recipe]
        per_lr = {lr: build(r_runs[r_runs.lr == lr], g, metrics, recipe)
                  for lr in data.primary_lr(r_runs, root) if not (g := t[t.lr == lr]).empty}
        (lr, first), *others = per_lr.items()
        if first is None:
            continue
        extra = tuple(f"at {data.lr_label(x, root)}: {rec.verdict}"
                      + (f"; deciding: {format_condition(rec.deciding)}" if rec.deciding else "")
                      for x, rec in others if rec is not None)
        out.append(replace(first, recipe=recipe,
                           detail=(f"verdict at {data.lr_label(lr, root)}",) + first.detail + extra))
    return out


def _summary(table: pd.DataFrame) -> pd.DataFrame:
    return A.summarize(table, ["schedule", "source", "tau"], ["rel_gap", "t_mix", "margin"])


def _gaps(s: pd.DataFrame, keep, make) -> tuple[Condition, ...]:
    """`make(label, gap interval)` for each row of the summary `s` where `keep(s)` holds."""
    return tuple(make(f"{x.schedule} {int(x.source)}-layer τ={x.tau:g}", gap_ci(x)) for x in s[keep(s)].itertuples())


def _wsd(d: pd.DataFrame) -> pd.Series:
    return d.schedule == "wsd"


def p2_records(root: str) -> list[Record]:
    """P2: every WSD condition with tau <= 0.8T ends within parity; the token budget quoted
    beside (`budget.budget_lines`), also while the mixing grid has no results."""
    def build(runs, table, metrics, recipe):
        part = Part("every WSD condition with τ ≤ 0.8T ends within +0.5%",
                    _gaps(_summary(table), lambda d: _wsd(d) & (d.tau <= 0.8), mixes), tolerance="gap ≤ +0.5%")
        return Record("P2", parts=(part,), figure=FIGURE, source=res("mixing"), detail=budget_lines(root, recipe))

    return at_verdict_lr(root, build) or [Record("P2", recipe=A.DEFAULT_RECIPE, detail=budget_lines(root))]


def p6_records(root: str) -> list[Record]:
    """P6: under cosine a final gap remains for tau >= 0.5T; under WSD 0.8T mixes."""
    def build(runs, table, metrics, recipe):
        s = _summary(table)
        return Record("P6", parts=(
            Part("cosine, τ ≥ 0.5T: a final gap remains",
                 _gaps(s, lambda d: (d.schedule == "cosine") & (d.tau >= 0.5), stays), tolerance="gap > +0.5%"),
            Part("WSD, τ = 0.8T: mixes", _gaps(s, lambda d: _wsd(d) & np.isclose(d.tau, 0.8), mixes),
                 tolerance="gap ≤ +0.5%")), figure=FIGURE, source=res("mixing"))

    return at_verdict_lr(root, build)


def p7_records(root: str) -> list[Record]:
    return at_verdict_lr(root, lambda runs, table, metrics, recipe: r_tau_record(table))


def r_tau_record(table: pd.DataFrame) -> Record:
    """P7: within each source depth (the source dominates the gap), runs pooled across
    schedules; r(τ) must order the gaps better than the null τ/T (bootstrap interval on the
    difference of Spearman correlations lying above 0)."""
    conds, lines = [], []
    for source, g in table.groupby("source"):
        if g.schedule.nunique() < 2 or g.groupby("schedule").tau.nunique().min() < 3:
            continue
        c = A.correlation_against_null(g)
        conds.append(Condition(f"{int(source)}-layer: ρ(r(τ)) − ρ(τ/T)", c["diff"], c["lo"], c["hi"], c["n"],
                               band_lo=0.0, unit=""))
        lines.append(f"{int(source)}-layer source, {c['n']} runs: Spearman ρ(r(τ), gap) {c['rho_x']:.2f}, "
                     f"ρ(τ/T, gap) {c['rho_null']:.2f}")
    why = "" if conds else "needs both schedules with ≥ 3 τ values each for a source depth"
    return Record("P7", parts=(
        Part("r(τ) orders the final gaps better than τ/T (pooled across schedules)", tuple(conds),
             tolerance="95% bootstrap interval of the difference > 0", note=why, undecided=bool(why)),),
        figure=FIG + "mixing_gap_vs_r_tau.png", source=res("mixing"), detail=tuple(lines))


def p8_records(root: str) -> list[Record]:
    """P8: WSD runs expanded in the decay phase keep a gap; uninformative when no stable-phase
    tau mixes either."""
    def build(runs, table, metrics, recipe):
        s = _summary(table)
        decay = _gaps(s, lambda d: _wsd(d) & (d.tau > 0.9), stays)
        stable_mixed = (s[_wsd(s) & (s.tau <= 0.9)].rel_gap_hi <= PARITY).any()
        return Record("P8", parts=(
            Part("WSD, τ in the decay phase: a final gap remains", decay, tolerance="gap > +0.5%"),),
            figure=FIGURE, source=res("mixing"),
            detail=() if stable_mixed or not decay else ("uninformative: no stable-phase τ mixes either",))

    return at_verdict_lr(root, build)


def p9_records(root: str) -> list[Record]:
    return at_verdict_lr(root, lambda runs, table, metrics, recipe: t_mix_record(table))


def t_mix_record(table: pd.DataFrame) -> Record:
    """P9: flat means the mean t_mix over the stable-phase τ varies by at most 2x; needs a
    finite t_mix at ≥ 3 stable-phase τ of a schedule."""
    parts = []
    for schedule, claim, band in (("wsd", "WSD: t_mix flat in τ", dict(band_hi=2.0)),
                                  ("cosine", "cosine: t_mix grows with τ", dict(band_lo=2.0))):
        g = table[(table.schedule == schedule) & (table.tau <= 0.9)]
        means = g.groupby(["source", "tau"]).t_mix.agg(lambda x: x.mean() if np.isfinite(x).all() else np.inf)
        finite = means[np.isfinite(means)]
        conds = []
        for source, m in finite.groupby(level="source"):
            if len(m) >= 3:
                r = ratio(m.iloc[-1], m.iloc[0])
                conds.append(Condition(f"{int(source)}-layer: mean t_mix at the latest / earliest τ", r, r,
                                       r, len(m), unit="x", exact=True, **band))
        mixed = ", ".join(f"{int(s)}-layer τ={t:g}" for s, t in finite.index) or "none"
        parts.append(Part(claim, tuple(conds), tolerance="ratio ≤ 2" if "band_hi" in band else "ratio ≥ 2",
                          undecided=len(g) > 0,
                          note=f"finite t_mix (runs that mix) at {mixed}; a trend needs ≥ 3 stable-phase τ of a source"))
    return Record("P9", parts=tuple(parts), figure=FIGURE, source=res("mixing"))


def p18_records(root: str) -> list[Record]:
    """P18: the 0-layer source trails the fixed model at tau, yet a late WSD expansion mixes."""
    def build(runs, table, metrics, recipe):
        zero = table[(table.schedule == "wsd") & (table.source == 0)]
        if not len(zero):
            return None
        margins = tuple(Condition.from_ci(f"margin at τ={tau:g}", A.mean_ci(g.margin), band_lo=A.MIN_MARGIN,
                                          unit="nats") for tau, g in zero.groupby("tau"))
        late = _gaps(_summary(table), lambda d: _wsd(d) & (d.source == 0) & (d.tau >= 0.7) & (d.tau <= 0.9), mixes)
        return Record("P18", parts=(
            Part("the 0-layer source trails the fixed model at τ", margins, tolerance=f"margin ≥ {A.MIN_MARGIN} nats"),
            Part("a late WSD expansion (0.7T ≤ τ ≤ 0.9T) mixes", late, tolerance="gap ≤ +0.5%")),
            figure=FIG + "mixing_curves_wsd_source0.png", source=res("mixing"))

    return at_verdict_lr(root, build)


def p15_records(root: str) -> list[Record]:
    """P15 per recipe of the mixing pilots; without pilots, the runs at tau* alone."""
    out = at_verdict_lr(root, lambda runs, table, metrics, recipe: recipe_record(table, runs, metrics, root, recipe))
    if out or data.gap_table("recipe", root, drop=("t_mix",)) is None:
        return out
    none = pd.DataFrame(columns=["source"])  # runs at tau* without mixing pilots
    return [recipe_record(none, none, none, root)]


def recipe_record(table: pd.DataFrame, runs: pd.DataFrame, metrics: pd.DataFrame, root: str,
                  recipe: str = A.DEFAULT_RECIPE) -> Record:
    """P15: the pilots' t_mix gives τ* (`analysis.recipe_tau`); the runs at τ* (`recipe`, those
    trained under `recipe` only) must end within parity.  The timing law scored on held-out
    runs is quoted beside."""
    lines = [f"{src}-layer pilots: median WSD t_mix = {r['t_mix']:.0f} steps (n={r['n_pilots']}) → "
             f"τ* = {r['tau_step']} of T = {r['T']}"
             for src in sorted(table.source.unique()) if (r := A.recipe_tau(table, src)) is not None]
    lines += _timing_law_lines(runs, metrics)
    rtab = data.gap_table("recipe", root, drop=("t_mix",))
    if rtab is not None:
        rtab = rtab[rtab.recipe == recipe] if "recipe" in rtab else rtab if recipe == A.DEFAULT_RECIPE else rtab.iloc[:0]
    conds = ()
    if rtab is not None and len(rtab):
        s = A.summarize(rtab, ["source", "tau"], ["rel_gap"])
        cost = rtab.groupby("source").apply(lambda g: (g.flops / g.flops_fixed).mean(), include_groups=False)
        conds = tuple(mixes(f"{int(x.source)}-layer τ*={x.tau:g}T ({cost[x.source]:.2f} of the fixed FLOPs)",
                            gap_ci(x)) for x in s.itertuples())
    why = "" if conds else (f"no run at τ* under {recipe} yet (`experiments/recipe.py` declares them under sp + AdamW)"
                            if lines and "τ*" in lines[0] else f"no pilot under {recipe} mixes, so τ* is undefined")
    return Record("P15", parts=(Part("the run at τ* ends within +0.5%", conds, tolerance="gap ≤ +0.5%", note=why),),
                  recipe=recipe, figure=FIG + "timing_law_scores.png",
                  source=res("recipe", data.folders(recipe).grids["mixing"]), detail=tuple(lines))


def _timing_law_lines(runs: pd.DataFrame, metrics: pd.DataFrame) -> list[str]:
    """The timing law (`analysis.timing_law_scores`) scored on held-out (schedule, tau) runs,
    per source depth; empty when the runs do not allow a fit."""
    out = []
    for source in sorted(int(s) for s in runs.source.unique() if s >= 0):
        try:
            scores, law = A.timing_law_scores(runs.drop(columns=["recipe"], errors="ignore"), metrics, source)
        except (ValueError, KeyError):
            continue
        held = scores[~scores.pilot & ~scores.source_fit]
        if held.empty:
            continue
        err = (held.predicted - held.measured).abs()
        at_bound = [name for name, hit in [("alpha", min(law.source.alpha, law.target.alpha) <= 0.0101),
                                           ("S_mix", law.s_mix >= 0.99e6)] if hit]
        out.append(f"timing law ({source}-layer; fitted on WSD τ = 0.25, 0.7 and the source/fixed curves) on "
                   f"{len(held)} held-out runs: mean |predicted − measured| gap {err.mean():.1%} "
                   f"({int((err <= LAW_TOL).sum())} within ±{LAW_TOL:.0%})"
                   + (f"; fit at its bounds ({', '.join(at_bound)}): the law does not describe these curves"
                      if at_bound else ""))
    return out


def p16_records(root: str) -> list[Record]:
    """P16: the last-iterate bound fitted to every fixed-size curve with a per-step LR log
    (`analysis.bound_fits`): the mean R² per schedule must lie at or above R2_MIN; the final
    loss predicted from the first 80% of the curve is quoted beside."""
    fits = []
    for name in ("mixing", "baseline_lr"):
        loaded = data.load(name, root)
        if loaded is None:
            continue
        runs, metrics = loaded
        runs = runs[runs.source < 0] if "source" in runs else runs
        schedule = runs.schedule if "schedule" in runs else pd.Series("wsd", index=runs.index)
        f = A.bound_fits(metrics, runs.run_id)
        fits.append(f.merge(pd.DataFrame({"run_id": runs.run_id, "schedule": schedule, "recipe": runs.recipe}),
                            on="run_id"))
    if not fits or all(f.empty for f in fits):
        return []
    fits = pd.concat(fits).drop_duplicates("run_id")
    out = []
    for recipe, f in fits.groupby("recipe", sort=True):
        conds, lines = [], []
        for sch, g in f.groupby("schedule"):
            conds.append(Condition.from_ci(f"{sch}: mean R²", A.mean_ci(g.r2), band_lo=R2_MIN, unit=""))
            lines.append(f"{sch}: {int((g.r2 >= R2_MIN).sum())} of {len(g)} runs with R² ≥ {R2_MIN}; final loss "
                         "predicted from the first 80%: " + format_condition(Condition.from_ci("error", A.mean_ci(g.rel_err))))
        out.append(Record("P16", parts=(Part("R² of the bound fitted to each fixed-size curve", tuple(conds),
                                             tolerance=f"≥ {R2_MIN}"),),
                          recipe=recipe, figure=FIG + "bound_fits.png", source=res("mixing", "baseline_lr"),
                          detail=tuple(lines)))
    return out
