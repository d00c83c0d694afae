"""The validation report: one record per prediction (docs/PREDICTIONS.md) and recipe, built
from the committed results only, judged by one rule (`progtheory.report.rule`) and rendered as a
summary table followed by one section per prediction.

A record holds the prediction's parts, each with the conditions that decide it (measured
value, 95% interval, n, tolerance band), the recipe of the runs (parametrization + optimizer,
read from each run's config), the figure and the data.  Verdicts are computed from the
conditions, never written by hand; a prediction with no results yet is "open" and names the
experiment that will measure it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from progtheory import analysis as A
from progtheory import config as C
from progtheory import presets
from progtheory.freshness import stale_mark
from progtheory.report.rule import Condition, Part, Record, fmt, format_band, format_condition

PARITY = 0.005  # the paper's "within 0.5%" of the fixed-size loss
SPIKE_TOL = A.SPIKE_TOL  # nats: a loss jump at tau below this is no spike
EXPONENT_TOL = 1 / 3  # in lr* ~ L^e: over depths 1..8 a slope error of 1/3 moves lr* by 2x, one grid step
WALL_TOL = 0.25  # wall time vs the exact-FLOP prediction: the shared machine's timing noise
LAW_TOL = 0.02  # timing law: absolute error in the relative final gap (2 percentage points)
R2_MIN = 0.95  # P16's goodness of fit
GAP_MAE_TOL = 1.0  # P20: mean |predicted - measured| final gap, percentage points
GAP_WITHIN = 1.5  # P20: a held-out condition is hit when |error| <= this many points
GAP_SHARE_MIN = 0.8  # P20: share of held-out conditions hit
PAPER_RECIPE = A.recipe_of(C.to_dict(presets.recipe()))  # "completep + Muon-NSGD": `presets.recipe`
# Experiments whose results a report section reads together: the same grid under another
# recipe lives in its own results folder, and the records split the rows by recipe again.
COMPANIONS = {"mixing": ("mixing", "mixing_recipe"), "init_strategies": ("init_strategies", "init_recipe"),
              "frontier": ("frontier", "frontier_recipe")}

PREDICTIONS = {
    "P1": "compute savings formula matches counted FLOPs and wall time",
    "P2": "WSD: a 0/1-layer source expanded at τ ≤ 0.8T ends within 0.5% of fixed",
    "P3": "random/copy inits spike at τ, zero-types do not; the spike decays within t_mix",
    "P4": "all-zero new blocks get zero gradient and stay dead; copy_zero ends worse",
    "P5": "for a 1-layer source, copy ends no worse than random",
    "P6": "under cosine τ ≥ 0.5T leaves a final gap; under WSD 0.8T mixes",
    "P7": "the final gap tracks r(τ) across schedules, better than τ/T does",
    "P8": "expanding in the decay phase fails to mix",
    "P9": "t_mix flat in τ under WSD (stable phase), grows under cosine",
    "P10": "t_mix about the same for small and larger sources",
    "P11": "0/1-layer sources dominate deeper sources at equal FLOPs",
    "P12": "multi-stage 0→2→L is no better than 0→L at equal FLOPs",
    "P13": "copy_last worse than copy_stack ≈ copy_inter",
    "P14": "the LR optimum transfers across depth under the paper's recipe; sp drifts",
    "P15": "τ* = T − t_mix from pilots gives parity at lowest cost",
    "P16": "the last-iterate bound form fits fixed-size loss curves (R² ≥ 0.95)",
    "P17": "the bound favours zero init, measurement does not",
    "P18": "the 0-layer loss plateaus high, yet a late expansion still mixes",
    "P19": "progressive runs reach their loss with less compute than the fixed-size frontier",
    "P20": "the gap model fitted on pilots predicts the final gap of held-out runs",
    "P21": "lr* = c·L^e·w^f fitted on small shapes predicts the LR optimum at held-out shapes within ×1.3",
    "P22": "new blocks learn best at the largest init scale whose predicted loss change at τ stays within 0.05 nats",
    "P23": "the loss change of the first updates of new blocks is predicted from their update statistics at τ",
    "P24": "the copy init's gap floor comes from the copies' symmetry: an init that breaks it shrinks the "
           "1-layer gap with budget as the 0-layer gap shrinks",
    "P25": "the progressive gap closes as the optimizer forgets: at equal steps, the gap falls with λ × LR area after τ",
}

PLANNED = {  # prediction -> the declared experiment that will measure it
    "P1": "experiments/mixing.py", "P2": "experiments/mixing.py, experiments/budget.py",
    "P3": "experiments/init_strategies.py", "P4": "experiments/init_strategies.py",
    "P5": "experiments/init_strategies.py", "P6": "experiments/mixing.py", "P7": "experiments/mixing.py",
    "P8": "experiments/mixing.py", "P9": "experiments/mixing.py", "P10": "experiments/source_depth.py",
    "P11": "experiments/source_depth.py", "P12": "experiments/source_depth.py",
    "P13": "experiments/init_strategies.py", "P14": "experiments/lr_transfer.py",
    "P15": "experiments/recipe.py", "P16": "experiments/mixing.py", "P17": "experiments/init_strategies.py",
    "P18": "experiments/mixing.py", "P19": "experiments/frontier.py",
    "P20": "experiments/mixing.py, experiments/budget.py", "P21": "experiments/lr_transfer_cpu.py",
    "P22": "experiments/init_scale.py", "P23": "experiments/jolt.py",
    "P24": "experiments/copy_symmetry.py", "P25": "experiments/weight_decay.py",
}

FIG = "paper_figures/"


def _res(*names: str) -> str:
    return ", ".join(f"experiments/results/{n}" for n in names)


# ----------------------------------------------------------------------------- conditions

def _mixes(label: str, ci: tuple) -> Condition:
    """A final gap that must lie at or below the paper's parity (+0.5%)."""
    return Condition.from_ci(label, ci, band_hi=PARITY)


def _stays(label: str, ci: tuple) -> Condition:
    """A final gap that must lie above the paper's parity (the run does not mix)."""
    return Condition.from_ci(label, ci, band_lo=PARITY)


def _ratio(a: float, b: float) -> float:
    """a / b for mixing times, where 0 / 0 (both mix at once) is 1 and a / 0 is inf."""
    return float(a / b) if b > 0 else (1.0 if a == 0 else np.inf)


def _gap_ci(x) -> tuple:
    return x.rel_gap, x.rel_gap_lo, x.rel_gap_hi, int(x.rel_gap_n)


def _paired(table: pd.DataFrame, col: str, a, b, value: str = "rel_gap") -> tuple:
    """mean_ci over seeds of value(col == a) - value(col == b), seeds that ran both."""
    wide = table.pivot_table(index="seed", columns=col, values=value)
    if a not in wide or b not in wide:
        return np.nan, np.nan, np.nan, 0
    return A.mean_ci((wide[a] - wide[b]).dropna())


# ----------------------------------------------------------------------------- loading

@lru_cache(maxsize=32)
def _load(name: str, root: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """(runs, metrics) of experiment `name` and its `COMPANIONS` that have results, stacked;
    None when none has."""
    loaded = []
    for part in COMPANIONS.get(name, (name,)):
        try:
            loaded.append(A.load_results(part, root))
        except FileNotFoundError:
            continue
    if not loaded:
        return None
    return tuple(pd.concat([x[i] for x in loaded], ignore_index=True) for i in (0, 1))


@lru_cache(maxsize=32)
def _table(name: str, root: str, spike: bool = False, drop: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """`analysis.mixing_table` of experiment `name` (tags in `drop` left out), or None when the
    results are missing or hold no progressive/fixed pair yet."""
    loaded = _load(name, root)
    if loaded is None:
        return None
    runs, metrics = loaded
    table = A.mixing_table(runs.drop(columns=list(drop)), metrics, spike=spike)
    return None if table.empty else table


def _by_recipe(table: pd.DataFrame | None):
    """(recipe, rows) per recipe of a results table, in a fixed order."""
    if table is None:
        return []
    return [(r, g) for r, g in table.groupby("recipe", sort=True)] if "recipe" in table else [(A.DEFAULT_RECIPE, table)]


def tuned_baseline_lr(root: Path | str) -> dict | None:
    """The fixed baseline's tuned LR from `baseline_lr` (see `analysis.tuned_lr`), or None."""
    loaded = _load("baseline_lr", str(root))
    if loaded is None or loaded[0].empty:
        return None
    return A.tuned_lr(loaded[0])


def _primary_lr(runs: pd.DataFrame, root: str) -> list[float]:
    """The peak LRs of a table, the one that decides the verdicts first (`analysis.lr_order`)."""
    tuned = tuned_baseline_lr(root)
    return A.lr_order(runs, None if tuned is None else tuned["lr"])


def _lr_label(lr: float, root: str) -> str:
    tuned = tuned_baseline_lr(root)
    return f"lr {lr:g}" + (" (tuned)" if tuned and np.isclose(lr, tuned["lr"]) else "")


# ----------------------------------------------------------------------------- P1

def _compute_records(root: str) -> list[Record]:
    """P1 over every mixing run (`analysis.compute_accounting`): the counted FLOP ratio against
    the exact prediction, and the wall-time ratio against it; the demo pair quoted beside."""
    from progtheory import presets

    table = _table("mixing", root)
    out = []
    for recipe, t in _by_recipe(table):
        model = presets.default().model
        acc = A.compute_accounting(t, model, model.n_layer)
        flop = float((acc.flop_ratio / acc.pred_exact - 1).abs().max())
        wall = acc.wall_ratio / acc.pred_exact - 1
        parts = (
            Part("counted FLOPs equal the exact formula (attention and head included)",
                 (Condition("largest |counted / predicted − 1|", flop, flop, flop, len(acc), band_hi=1e-3, exact=True),),
                 tolerance="≤ 0.1%"),
            Part(f"wall-time speed-up within ±{WALL_TOL:.0%} of the exact-FLOP prediction",
                 (Condition.from_ci("wall-time / predicted speed-up − 1", A.mean_ci(wall),
                                    band_lo=-WALL_TOL, band_hi=WALL_TOL),),
                 tolerance=f"±{WALL_TOL:.0%}, the shared machine's timing noise"),
        )
        detail = (f"{len(acc)} mixing runs; predicted speed-up (exact) {acc.pred_exact.min():.2f}x to "
                  f"{acc.pred_exact.max():.2f}x, 6N convention {acc.pred_6n.min():.2f}x to {acc.pred_6n.max():.2f}x",
                  f"wall-time ratio / prediction − 1: median {fmt(wall.median(), '+.0%')}, quartiles "
                  f"{fmt(wall.quantile(0.25), '+.0%')}, {fmt(wall.quantile(0.75), '+.0%')} (two sweeps shared 2 cores)",
                  "the exact count equals torch's FlopCounterMode (tests/test_theory_compute_model.py)")
        out.append(Record("P1", PREDICTIONS["P1"], parts, recipe, FIG + "demo_progressive_vs_fixed.png",
                          _res("mixing"), detail + _demo_lines(root)))
    return out


def _demo_lines(root: str) -> tuple[str, ...]:
    """The demo pair (one run each), quoted beside P1."""
    from progtheory.config import from_run_json
    from progtheory.theory import compute

    demo = Path(root) / "demo"
    if not (demo / "demo.json").is_file():
        return ()
    r = A.compare_runs(demo / "fixed", demo / "progressive")
    cfg = from_run_json(json.loads((demo / "progressive" / "config.json").read_text()))
    pred = {c: compute.progressive_savings(cfg.model, cfg.growth.source_depth, [(r["tau"], cfg.model.n_layer)],
                                           cfg.steps, convention=c)["speedup"] for c in ("exact", "6N", "6N_nonembed")}
    return (f"demo (one run each, `experiments/results/demo`): predicted speed-up {pred['6N_nonembed']:.2f}x "
            f"(6N non-embedding), {pred['6N']:.2f}x (6N), {pred['exact']:.2f}x (exact); counted FLOP ratio "
            f"{r['flop_ratio']:.2f}x; wall-time ratio {r['wall_ratio']:.2f}x; final gap {fmt(r['relative_gap'], '+.1%')}",)


# ----------------------------------------------------------------------------- mixing

def _mixing_records(root: str) -> list[Record]:
    """P2, P6-P9, P15, P18 from `mixing`, per recipe.  With runs at several peak LRs the
    verdict is taken at the LR with the most finished runs (the tuned LR wins ties); the other
    LRs' verdicts and deciding conditions are quoted in the detail."""
    loaded = _load("mixing", root)
    table = _table("mixing", root)
    if loaded is None or table is None:
        return []
    runs, metrics = loaded
    runs = runs if "lr" in runs else runs.assign(lr=np.nan)
    table = table if "lr" in table else table.assign(lr=np.nan)
    out = []
    for recipe, t in _by_recipe(table):
        r_runs = runs[runs.recipe == recipe]
        per_lr = {lr: _mixing_at(r_runs[r_runs.lr == lr], g, metrics, root, recipe)
                  for lr in _primary_lr(r_runs, root) if not (g := t[t.lr == lr]).empty}
        (lr, first), *others = per_lr.items()
        for pid, rec in first.items():
            extra = tuple(f"at {_lr_label(x, root)}: {recs[pid].verdict}"
                          + (f"; deciding: {format_condition(recs[pid].deciding)}" if recs[pid].deciding else "")
                          for x, recs in others if pid in recs)
            out.append(replace(rec, recipe=recipe, detail=(f"verdict at {_lr_label(lr, root)}",) + rec.detail + extra))
    return out


def _mixing_at(runs: pd.DataFrame, table: pd.DataFrame, metrics: pd.DataFrame, root: str,
               recipe: str = A.DEFAULT_RECIPE) -> dict[str, Record]:
    s = A.summarize(table, ["schedule", "source", "tau"], ["rel_gap", "t_mix", "margin"])
    src, fig = _res("mixing"), FIG + "mixing_gap_vs_tau.png"

    def gaps(cond, make):
        g = s[cond(s)]
        return tuple(make(f"{x.schedule} {int(x.source)}-layer τ={x.tau:g}", _gap_ci(x)) for x in g.itertuples())

    wsd, cos = s.schedule == "wsd", s.schedule == "cosine"
    rec = {}
    rec["P2"] = Record("P2", PREDICTIONS["P2"], (
        Part("every WSD condition with τ ≤ 0.8T ends within +0.5%", gaps(lambda d: wsd & (d.tau <= 0.8), _mixes),
             tolerance="gap ≤ +0.5%"),), figure=fig, source=src, detail=_budget_lines(root, recipe))
    rec["P6"] = Record("P6", PREDICTIONS["P6"], (
        Part("cosine, τ ≥ 0.5T: a final gap remains", gaps(lambda d: cos & (d.tau >= 0.5), _stays),
             tolerance="gap > +0.5%"),
        Part("WSD, τ = 0.8T: mixes", gaps(lambda d: wsd & np.isclose(d.tau, 0.8), _mixes),
             tolerance="gap ≤ +0.5%")), figure=fig, source=src)
    rec["P7"] = _r_tau_record(table)
    decay = gaps(lambda d: wsd & (d.tau > 0.9), _stays)
    stable_mixed = (s[wsd & (s.tau <= 0.9)].rel_gap_hi <= PARITY).any()
    rec["P8"] = Record("P8", PREDICTIONS["P8"], (
        Part("WSD, τ in the decay phase: a final gap remains", decay, tolerance="gap > +0.5%"),),
        figure=fig, source=src,
        detail=() if stable_mixed or not decay else ("uninformative: no stable-phase τ mixes either",))
    rec["P9"] = _t_mix_record(table)
    zero = table[(table.schedule == "wsd") & (table.source == 0)]
    if len(zero):
        margins = tuple(Condition.from_ci(f"margin at τ={tau:g}", A.mean_ci(g.margin), band_lo=A.MIN_MARGIN, unit="nats")
                        for tau, g in zero.groupby("tau"))
        rec["P18"] = Record("P18", PREDICTIONS["P18"], (
            Part("the 0-layer source trails the fixed model at τ", margins,
                 tolerance=f"margin ≥ {A.MIN_MARGIN} nats"),
            Part("a late WSD expansion (0.7T ≤ τ ≤ 0.9T) mixes",
                 gaps(lambda d: wsd & (d.source == 0) & (d.tau >= 0.7) & (d.tau <= 0.9), _mixes),
                 tolerance="gap ≤ +0.5%")),
            figure=FIG + "mixing_curves_wsd_source0.png", source=src)
    rec["P15"] = _recipe_record(table, runs, metrics, root, recipe)
    return rec


def _r_tau_record(table: pd.DataFrame) -> Record:
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
    return Record("P7", PREDICTIONS["P7"], (
        Part("r(τ) orders the final gaps better than τ/T (pooled across schedules)", tuple(conds),
             tolerance="95% bootstrap interval of the difference > 0", note=why, undecided=bool(why)),),
        figure=FIG + "mixing_gap_vs_r_tau.png", source=_res("mixing"), detail=tuple(lines))


def _t_mix_record(table: pd.DataFrame) -> Record:
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
                ratio = _ratio(m.iloc[-1], m.iloc[0])
                conds.append(Condition(f"{int(source)}-layer: mean t_mix at the latest / earliest τ", ratio, ratio,
                                       ratio, len(m), unit="x", exact=True, **band))
        mixed = ", ".join(f"{int(s)}-layer τ={t:g}" for s, t in finite.index) or "none"
        parts.append(Part(claim, tuple(conds), tolerance="ratio ≤ 2" if "band_hi" in band else "ratio ≥ 2",
                          undecided=len(g) > 0,
                          note=f"finite t_mix (runs that mix) at {mixed}; a trend needs ≥ 3 stable-phase τ of a source"))
    return Record("P9", PREDICTIONS["P9"], tuple(parts), figure=FIG + "mixing_gap_vs_tau.png", source=_res("mixing"))


def _recipe_record(table: pd.DataFrame, runs: pd.DataFrame, metrics: pd.DataFrame, root: str,
                   recipe: str = A.DEFAULT_RECIPE) -> Record:
    """P15: the pilots' t_mix gives τ* (`analysis.recipe_tau`); the runs at τ* (`recipe`, those
    trained under `recipe` only) must end within parity.  The timing law scored on held-out
    runs is quoted beside."""
    lines = [f"{src}-layer pilots: median WSD t_mix = {r['t_mix']:.0f} steps (n={r['n_pilots']}) → "
             f"τ* = {r['tau_step']} of T = {r['T']}"
             for src in sorted(table.source.unique()) if (r := A.recipe_tau(table, src)) is not None]
    lines += _timing_law_lines(runs, metrics)
    rtab = _table("recipe", root, drop=("t_mix",))
    if rtab is not None:
        rtab = rtab[rtab.recipe == recipe] if "recipe" in rtab else rtab if recipe == A.DEFAULT_RECIPE else rtab.iloc[:0]
    conds = ()
    if rtab is not None and len(rtab):
        s = A.summarize(rtab, ["source", "tau"], ["rel_gap"])
        cost = rtab.groupby("source").apply(lambda g: (g.flops / g.flops_fixed).mean(), include_groups=False)
        conds = tuple(_mixes(f"{int(x.source)}-layer τ*={x.tau:g}T ({cost[x.source]:.2f} of the fixed FLOPs)",
                             _gap_ci(x)) for x in s.itertuples())
    why = "" if conds else (f"no run at τ* under {recipe} yet (`experiments/recipe.py` declares them under sp + AdamW)"
                            if lines and "τ*" in lines[0] else f"no pilot under {recipe} mixes, so τ* is undefined")
    return Record("P15", PREDICTIONS["P15"], (Part("the run at τ* ends within +0.5%", conds, tolerance="gap ≤ +0.5%",
                                                   note=why),),
                  figure=FIG + "timing_law_scores.png", source=_res("recipe", "mixing" if recipe == A.DEFAULT_RECIPE else "mixing_recipe"), detail=tuple(lines))


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


BUDGETS = {A.DEFAULT_RECIPE: "budget", PAPER_RECIPE: "budget_small"}  # recipe -> its token-budget experiment


def _budget_lines(root: str, recipe: str = A.DEFAULT_RECIPE) -> tuple[str, ...]:
    """P2 against the token budget, from the recipe's experiment in BUDGETS (`budget`: sp +
    AdamW at d = 128, 0-layer source; `budget_small`: the paper's recipe at d = 64, 0- and
    1-layer sources): the final gap at each T per source and tau/T, the paired change (seeds
    that ran both) from the smallest to the largest T, and the tokens per block parameter
    (attention, MLP and their norms; `theory.compute.param_breakdown`) each T trains on."""
    from progtheory.theory import compute

    name = BUDGETS.get(recipe)
    table = _table(name, root) if name else None
    if table is None:
        return ()
    s = A.summarize(table, ["source", "tau", "steps_T"], ["rel_gap"])
    lines = []
    for (source, tau), g in s.groupby(["source", "tau"]):
        cells = ", ".join(format_condition(Condition.from_ci(f"T={int(x.steps_T)}", _gap_ci(x))) for x in g.itertuples())
        sub = table[(table.source == source) & np.isclose(table.tau, tau)]
        lo_T, hi_T = sub.steps_T.min(), sub.steps_T.max()
        trend = ""
        if hi_T > lo_T:
            c = Condition.from_ci(f"T={int(hi_T)} − T={int(lo_T)}", _paired(sub, "steps_T", hi_T, lo_T),
                                  band_lo=-PARITY, band_hi=PARITY)
            lo, hi = c.interval
            word = "shrinks" if hi < -PARITY else "grows" if lo > PARITY else "stays put" if c.verdict == "holds" else "undetermined"
            trend = f"; {format_condition(c)} ({word})"
        lines.append(f"{name}, {int(source)}-layer source, WSD, τ={tau:g}T: {cells}{trend}")
    configs = A.run_configs(Path(root) / name / "provenance.jsonl")
    runs = _load(name, root)[0]
    fixed = runs[runs.source < 0] if "source" in runs else runs.iloc[:0]
    rid = next((r for r in fixed.get("run_id", []) if r in configs), None)
    if rid is not None:  # every T trains the same model
        model = C.from_run_json(configs[rid]).model
        blocks = sum(v for k, v in compute.param_breakdown(model).items() if k in ("attention", "mlp", "block_norms"))
        per_T = fixed.groupby("steps_T").tokens.first() / blocks
        lines.append(f"{name} (d = {model.n_embd}): tokens per block parameter "
                     + ", ".join(f"{v:.3g} at T={int(T)}" for T, v in per_T.items()))
    lines += list(_ladder_lines(root)) if recipe == PAPER_RECIPE else []
    return tuple(lines) + (f"{name} figure: [{name}_gap_vs_T.png](paper_figures/{name}_gap_vs_T.png)",)


LADDER_BLOCK_PARAMS = 50_816  # 4 x (12 d^2 + 13 d) at d = 32 (experiments/ladder.py)


def _ladder_lines(root: str) -> tuple[str, ...]:
    """P2 toward the paper's regime (`ladder`, the recipe at d = 32): the measured final gap per
    source and tau/T against the steps after tau and the tokens per block parameter, each beside
    the grown model's prediction stated before the run, and the budget at which the grown model
    (point fit on the ladder's pilots) predicts parity (<= 0.5%) at tau = 0.8T."""
    from progtheory import gap_scores

    if _load("ladder", root) is None:
        return ()
    runs, _ = gap_scores.arm_runs("recipe-d32", root)
    meas = gap_scores.measured_gaps(runs)
    meas = meas[meas.schedule == "wsd"]
    stated = pd.read_csv(Path(root).resolve().parent.parent / gap_scores.GROWN_ARMS["recipe-d32"].predictions)
    lines = []
    for (src, tau), g in meas.groupby(["source", "tau"]):
        cells = []
        for r in g.sort_values("T").itertuples():
            p = stated[(stated.source == src) & np.isclose(stated.tau, tau) & (stated["T"] == r.T)]
            pred = f", stated {p.predicted.iloc[0]:+.1f}% [{p.lo.iloc[0]:+.1f}, {p.hi.iloc[0]:+.1f}]" if len(p) else " (pilot)"
            cells.append(f"{r.T - round(tau * r.T)} steps after τ ({r.T * 2048 / LADDER_BLOCK_PARAMS:.0f} tokens per "
                         f"block parameter): {r.measured:+.1f}% (n={r.n_seeds}){pred}")
        lines.append(f"ladder (d = 32), {int(src)}-layer source, WSD, τ={tau:g}T: " + "; ".join(cells))
    parity = gap_scores.parity_budgets("recipe-d32", root=root)
    lines.append("ladder: the grown model predicts parity (≤ 0.5%) at τ = 0.8T from T = "
                 + ", ".join(f"{r.T_parity:,.0f} ({int(r.source)}-layer {r.init}; {r.T_parity * 0.2:,.0f} steps after τ)"
                             if np.isfinite(r.T_parity) else f"none within 10^6 steps ({int(r.source)}-layer {r.init})"
                             for r in parity.itertuples())
                 + "; point fit on the pilots (experiments/LOG.md gives its bootstrap range)")
    return tuple(lines)


# ----------------------------------------------------------------------------- inits

JOLTING = ("random", "copy", "copy_stack", "copy_inter", "copy_last")
ZERO_TYPES = ("zero", "copy_zero", "random_zero_out")


def _init_records(root: str) -> list[Record]:
    """P3, P4 (final loss), P5, P13, P17 from `init_strategies` (rewarmup 0 arms), as paired
    differences over seeds of the final gap (tolerance PARITY) or the jump at tau (SPIKE_TOL);
    P3 also reports the predicted loss change at tau, P4 and P17 add `init_scale`'s s = 0 and
    s = 1/16 arms (`_scale_parts`)."""
    out = []
    changes = _expansion_changes(root)
    for recipe, table in _by_recipe(_table("init_strategies", root, spike=True)):
        plain = table[table.rewarmup == 0]
        recs = _init_at(plain)
        mine = changes[changes.recipe == recipe] if len(changes) else changes
        scale = _scale_parts(root, recipe)
        recs = [replace(r, parts=r.parts + (_change_part(mine),)) if r.pid == "P3" else r for r in recs]
        recs = [replace(r, parts=r.parts + (scale[r.pid],)) if r.pid in scale else r for r in recs]
        out += [replace(r, recipe=recipe, figure=FIG + "init_strategies.png", source=_res("init_strategies"))
                for r in recs]
    return out


CHANGE_FACTOR = 2.0  # predicted / measured loss change at tau of a jolting init (tests/test_init_prediction.py)
CHANGE_ZERO = 1e-3   # nats: the measured change of a function-preserving init (predicted 0)


@lru_cache(maxsize=4)
def _expansion_changes(root: str) -> pd.DataFrame:
    """`analysis.expansion_change_scores` of the runs of the init, init-scale, jolt and mixing
    experiments (every source, init, multiplier and tau) that measured the change and could
    predict it."""
    frames = [A.expansion_change_scores(Path(root) / name)
              for name in COMPANIONS["init_strategies"] + ("init_scale", "jolt") + COMPANIONS["mixing"]]
    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else pd.DataFrame()
    return df[np.isfinite(df.measured) & np.isfinite(df.predicted)].drop_duplicates(["run_id", "step"]) if len(df) else df


def _change_part(changes: pd.DataFrame) -> Part:
    """P3, reported: the loss change at tau predicted from the source's branch statistics
    (`theory.init_scale.expansion_loss_change`) against the measured one, per init and init
    multiplier s (a multiplier 0 makes every init function-preserving): the ratio within
    xCHANGE_FACTOR, or, where the prediction is below CHANGE_ZERO nats (zero types, s = 0,
    small random blocks), the difference within +-CHANGE_ZERO."""
    conds = []
    for (init, scale), g in changes.groupby(["init", "init_scale"], sort=True) if len(changes) else ():
        label = init if scale == 1 else f"{init} s={scale:g}"
        if init in ZERO_TYPES or scale == 0:
            conds.append(Condition.from_ci(f"{label}: measured change (predicted 0)", A.mean_ci(g.measured),
                                           band_lo=-CHANGE_ZERO, band_hi=CHANGE_ZERO, unit="nats"))
        elif abs(g.predicted.mean()) < CHANGE_ZERO:  # a ratio of two near-zero numbers says nothing
            conds.append(Condition.from_ci(f"{label}: measured − predicted change (predicted < {CHANGE_ZERO:g})",
                                           A.mean_ci(g.measured - g.predicted),
                                           band_lo=-CHANGE_ZERO, band_hi=CHANGE_ZERO, unit="nats"))
        else:
            conds.append(Condition.from_ci(f"{label}: predicted / measured change", A.mean_ci(g.ratio),
                                           band_lo=1 / CHANGE_FACTOR, band_hi=CHANGE_FACTOR, unit="x"))
    note = "" if conds else "no run of this recipe measured the loss change at its growth step"
    return Part("the loss change at τ predicted from the source's branch statistics (every init and multiplier s "
                "of `init_strategies`, `init_scale`, `jolt` and `mixing`)", tuple(conds),
                tolerance=f"within ×{CHANGE_FACTOR:g} (random, copy); within ±{CHANGE_ZERO:g} nats where the prediction "
                          f"is below {CHANGE_ZERO:g} nats (zero types, s = 0, small random blocks)",
                judged=False, note=note)


def _scale_parts(root: str, recipe: str) -> dict[str, Part]:
    """P4 and P17 parts from `init_scale` for one recipe, per (source, init): s = 0 (every new
    Linear weight 0, the all-zero block) ends worse than s = 1 (P4); the nearly
    function-preserving s = 1/16 ends no better than s = 1 by more than PARITY (P17)."""
    t = _table("init_scale", root)
    t = None if t is None else t[t.recipe == recipe] if "recipe" in t else t
    if t is None or t.empty:
        return {}
    dead, small = [], []
    for (source, init), g in t.groupby(["source", "init"], sort=True):
        arm = f"{int(source)}-layer {init}"
        dead.append(_stays(f"{arm}: s=0 − s=1", _paired(g, "scale", 0.0, 1.0)))
        small.append(Condition.from_ci(f"{arm}: s=1/16 − s=1", _paired(g, "scale", 0.0625, 1.0), band_lo=-PARITY))
    return {"P4": Part("blocks started at s = 0 (all-zero weights) end worse than at s = 1 (`init_scale`)",
                       tuple(dead), tolerance="difference > +0.5%"),
            "P17": Part("measured, nearly function-preserving blocks (s = 1/16) end no better than s = 1 by more "
                        "than 0.5% (`init_scale`)", tuple(small), tolerance="difference ≥ −0.5%")}


def _init_at(plain: pd.DataFrame) -> list[Record]:
    jumps = {i: A.mean_ci(g.jump) for i, g in plain.groupby("init")}
    spike = tuple(Condition.from_ci(i, jumps[i], unit="nats",
                                    **(dict(band_lo=SPIKE_TOL) if i in JOLTING else dict(band_hi=SPIKE_TOL)))
                  for i in JOLTING + ZERO_TYPES if i in jumps)
    spiking = plain[plain.init.isin(JOLTING)]
    decayed = np.isfinite(spiking.recovery) & (spiking.recovery <= spiking.t_mix)  # t_mix = inf: if it decays at all
    share = float(decayed.mean()) if len(spiking) else np.nan
    decay = (Condition("spiking runs whose spike decays within t_mix", share, share, share, len(spiking),
                       band_lo=1.0, unit="share", exact=True),) if len(spiking) else ()
    recovery = spiking.groupby("init").recovery.median()
    p3 = Record("P3", PREDICTIONS["P3"], (
        Part("random/copy inits spike at τ, zero-types do not", spike,
             tolerance=f"largest train-loss gap to the fixed run in the 10 steps from τ, over its pre-τ level: "
                       f"> {SPIKE_TOL} nats for random/copy, ≤ {SPIKE_TOL} for zero-types"),
        Part("the spike decays within t_mix", decay, tolerance="every spiking run")),
        detail=("on row τ alone, before any update (the function change, nats): "
                + ", ".join(f"{i} {v:.3f}" for i, v in plain.groupby("init").jump0.mean().items()),
                f"steps until the train-loss gap is back within {SPIKE_TOL} nats of its pre-τ level (median over "
                "seeds; ∞: it settles higher): " + ", ".join(f"{i} {v:.0f}" for i, v in recovery.items()),
                f"{int(np.isinf(spiking.t_mix).sum())} spiking runs never mix (t_mix = ∞)"))
    one = plain[plain.source == 1]
    diff = {arm: _paired(one, "init", arm, "copy") for arm in ("random",) + ZERO_TYPES}
    p4 = Record("P4", PREDICTIONS["P4"], (
        Part("all-zero blocks get exactly zero gradient and stay zero (output biases: a constant shift)",
             (Condition("largest |gradient| of an all-zero block (tests/test_zero_gradient_model.py)", 0.0, 0.0, 0.0,
                        1, band_lo=0.0, band_hi=0.0, unit="", exact=True),),
             tolerance="exactly 0 (tests/test_growth.py, tests/test_zero_gradient_model.py)"),
        Part("zero and copy_zero end worse than copy (1-layer source)",
             tuple(_stays(f"{a} − copy", diff[a]) for a in ("zero", "copy_zero")), tolerance="difference > +0.5%")))
    p5 = Record("P5", PREDICTIONS["P5"], (
        Part("random − copy final gap, 1-layer source",
             (Condition.from_ci("random − copy", diff["random"], band_lo=-PARITY),), tolerance="≥ −0.5%"),))
    two = plain[plain.source == 2]
    p13 = Record("P13", PREDICTIONS["P13"], (
        Part("copy_last ends worse than copy_stack (2-layer source)",
             (_stays("copy_last − copy_stack", _paired(two, "init", "copy_last", "copy_stack")),),
             tolerance="difference > +0.5%"),
        Part("copy_inter ≈ copy_stack (2-layer source)",
             (Condition.from_ci("copy_inter − copy_stack", _paired(two, "init", "copy_inter", "copy_stack"),
                                band_lo=-PARITY, band_hi=PARITY),), tolerance="within ±0.5%")))
    p17 = Record("P17", PREDICTIONS["P17"], (
        Part("measured, no zero-type init beats copy by more than 0.5% (1-layer source)",
             tuple(Condition.from_ci(f"{a} − copy", diff[a], band_lo=-PARITY) for a in ZERO_TYPES
                   if a in set(one.init)),
             tolerance="difference ≥ −0.5%"),),
        detail=("the bound (`theory.bounds.progressive_gap`) favours function-preserving zero inits by "
                "construction: their teleport term vanishes",))
    return [p3, p4, p5] + ([p13] if len(two) else []) + [p17]  # a grid without 2-layer sources says nothing of P13


# ----------------------------------------------------------------------------- source depth

def _source_depth_records(root: str) -> list[Record]:
    """P10, P11, P12 from `source_depth`, P11/P12 at equal FLOPs: each single-stage path's
    gap (its runs at several tau, from `mixing` where they share the fixed run) interpolated
    against its FLOP fraction (`analysis.equal_flop_difference`)."""
    table, mixing = _table("source_depth", root), _table("mixing", root)
    out = []
    for recipe, t in _by_recipe(table):
        extra = mixing if mixing is None or "recipe" not in mixing else mixing[mixing.recipe == recipe]
        paths = A.growth_paths(t, extra)
        single = ~paths.stages.str.count("->").gt(1)
        one = t[~t.stages.str.count("->").gt(1)]
        recs = [_t_mix_by_source(one)]
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
        fig, src = FIG + "source_depth_pareto.png", _res("source_depth", "mixing")
        recs.append(Record("P11", PREDICTIONS["P11"], (
            Part("a deeper source's gap minus the best 0/1-layer path's gap at the same FLOP fraction",
                 tuple(conds), tolerance="≥ −0.5%: the 0/1-layer path is no worse"),), figure=fig, source=src,
            detail=tuple(lines)))
        multi = sorted(s for s in t.stages.unique() if s.count("->") > 1)
        if multi:
            zero = single & (paths.source == 0)
            parts = tuple(Condition.from_ci(f"{m} − 0-layer path at equal FLOPs", A.equal_flop_difference(
                paths, zero, paths.stages == m), band_lo=-PARITY) for m in multi)
            same_tau = [f"{m} − {m.split('->')[0]}->{m.split('->')[-1]} at the same τ: " + format_condition(
                Condition.from_ci("", _paired(t[t.source == 0], "stages", m, f"0->{m.split('->')[-1]}")),
                with_label=False) for m in multi]
            recs.append(Record("P12", PREDICTIONS["P12"], (
                Part("multi-stage gap minus the 0-layer single-stage path's at the same FLOP fraction", parts,
                     tolerance="≥ −0.5%: no better"),), figure=fig, source=src, detail=tuple(same_tau)))
        out += [replace(r, recipe=recipe) for r in recs]
    return out


def _t_mix_by_source(one: pd.DataFrame) -> Record:
    """P10: the mean t_mix of the largest source over the smallest's within 2x."""
    t_mix = one.groupby("source").t_mix.agg(lambda x: np.inf if np.isinf(x).any() else x.mean())
    finite = t_mix[np.isfinite(t_mix)]
    detail = ("mean t_mix by source depth: " + ", ".join(f"{int(s)}: {v:.0f}" for s, v in t_mix.items()),)
    if len(finite) == len(t_mix) and len(t_mix) >= 2:
        ratio = _ratio(finite.max(), finite.min())
        part = Part("largest / smallest mean t_mix over source depths",
                    (Condition("t_mix ratio", ratio, ratio, ratio, len(finite), band_hi=2.0, unit="x", exact=True),),
                    tolerance="≤ 2")
    else:
        part = Part("largest / smallest mean t_mix over source depths", tolerance="≤ 2", undecided=True,
                    note="t_mix is undefined (∞) for a source depth whose runs never reach the fixed loss")
    return Record("P10", PREDICTIONS["P10"], (part,), figure=FIG + "source_depth_pareto.png",
                  source=_res("source_depth"), detail=detail)


# ----------------------------------------------------------------------------- P14

def _exponent(optima: pd.DataFrame) -> tuple:
    """Slope e of log lr_opt against log L with a 95% t interval (n = depths, n - 2 dof).  The
    slope is rounded to 12 decimals: equal optima give exactly 0, not the last bits of the
    least-squares solve (which differ between BLAS builds and would change the report)."""
    from scipy import stats

    x, y = np.log(optima.depth.astype(float)), np.log(optima.lr_opt.astype(float))
    n = len(optima)
    if n < 3:
        return (round(float(np.polyfit(x, y, 1)[0]), 12) + 0.0 if n == 2 else np.nan), np.nan, np.nan, n
    slope, intercept = np.polyfit(x, y, 1)
    slope = round(float(slope), 12) + 0.0
    resid = y - (slope * x + intercept)
    stderr = np.sqrt((resid ** 2).sum() / (n - 2) / ((x - x.mean()) ** 2).sum())
    half = float(stats.t.ppf(0.975, n - 2) * stderr)
    return float(slope), float(slope) - half, float(slope) + half, n


def _lr_transfer_records(root: str) -> list[Record]:
    """P14 from `lr_transfer`: the slope e in lr* ~ L^e of each (recipe, width), in base-LR
    units.  The paper's claim (transfer, |e| ≤ EXPONENT_TOL) is judged on the runs of its
    recipe (PAPER_RECIPE) only; sp and any other recipe are reported with their measured
    exponent.  An optimum at the grid edge is only a bound, so a group with one has no
    interval."""
    loaded = _load("lr_transfer", root)
    claim = f"under {PAPER_RECIPE}: the LR optimum transfers across depth"
    cpu = _cpu_calibrations(root)
    if (loaded is None or loaded[0].empty) and not cpu:
        return [Record("P14", PREDICTIONS["P14"], (Part(claim, note=f"not yet measured; declared in `{PLANNED['P14']}`"),),
                       PAPER_RECIPE)]
    runs = loaded[0] if loaded is not None else pd.DataFrame(columns=["recipe", "depth", "lr", "final_val_loss"])
    by = ["recipe", "width"] if "width" in runs else ["recipe"]
    optima = A.lr_optima(runs, by + ["depth"]) if len(runs) else pd.DataFrame(columns=by + ["depth"])
    parts, lines = {}, []
    for key, g in optima.groupby(by, sort=True):
        recipe, width = (key if isinstance(key, tuple) else (key, None))[:2]
        g = g.sort_values("depth")
        e = _exponent(g)
        edges = int(g.at_edge.sum())
        tag = f"{recipe}" + (f", width {width}" if width is not None else "")
        c = Condition(f"{tag}: e" + (f" ({edges} of {len(g)} optima at the grid edge)" if edges else ""), *e,
                      band_lo=-EXPONENT_TOL, band_hi=EXPONENT_TOL, unit="")
        parts.setdefault(recipe, []).append(replace(c, n=0) if edges else c)
        bound = (lambda r: "" if not r.at_edge else "≤" if r.lr_best == runs.lr.min() else "≥")
        lines.append(f"{tag}: optima " + ", ".join(f"L{int(r.depth)} {bound(r)}{r.lr_opt:.2g}" for r in g.itertuples())
                     + f"; seeds {int(g.n_seeds.min())}–{int(g.n_seeds.max())}")
    for recipe, cal in cpu.items():
        parts.setdefault(recipe, []).append(_cpu_exponent(cal))
        lines.append(f"{recipe}, CPU (`lr_transfer_cpu`): {cal.summary()}")
    judged = Part(claim, tuple(parts.pop(PAPER_RECIPE, ())), tolerance=f"|e| ≤ {EXPONENT_TOL:.2f} (one 2x grid step over L = 1..8)",
                  note="" if PAPER_RECIPE in set(optima.recipe) | set(cpu)
                  else "not yet measured: no lr_transfer runs with this recipe")
    reported = tuple(Part(f"{recipe}: measured exponent (reported, not the paper's claim)", tuple(cs),
                          tolerance=f"|e| ≤ {EXPONENT_TOL:.2f} would be transfer", judged=False)
                     for recipe, cs in parts.items())
    head = ()
    if len(runs):
        device = ", ".join(sorted(runs.device.dropna().unique())) if "device" in runs else "?"
        head = (f"`lr_transfer`: lr* ~ L^e in base-LR units ({device}, bf16 autocast)",)
    sources = ("lr_transfer",) * bool(len(runs)) + ("lr_transfer_cpu",) * bool(cpu)
    return [Record("P14", PREDICTIONS["P14"], (judged,) + reported, PAPER_RECIPE, FIG + "lr_optimum_vs_depth.png",
                   _res(*sources), head + tuple(lines))]


# ----------------------------------------------------------------------------- P14 and P21 on CPU

def _cpu_design(root: str) -> dict | None:
    folder = Path(root) / "lr_transfer_cpu"
    if not (folder / "runs.csv").is_file():
        return None
    return json.loads((folder / "experiment.json").read_text())["design"]


@lru_cache(maxsize=None)
def _cpu_fits(root: str) -> dict:
    """recipe -> (calibration fitted on the fit shapes, held-out scores) or the reason there is
    none, from `lr_transfer_cpu` at its design length; recipes read from the runs' configs."""
    from progtheory.theory import lr_calibration as LC

    design = _cpu_design(root)
    if design is None:
        return {}
    folder = Path(root) / "lr_transfer_cpu"
    recipes = A.run_recipes(folder / "provenance.jsonl")
    rows = LC.read_runs(folder, steps=design["steps"])
    out = {}
    for arm in sorted({r["arm"] for r in rows}):
        arm_rows = [r for r in rows if r["arm"] == arm]
        names = {recipes.get(r["run_id"], "?") for r in arm_rows}
        recipe = names.pop() if len(names) == 1 else f"{arm} (mixed recipes)"
        try:
            out[recipe] = LC.fit_and_score(arm_rows, design["held_out"])
        except ValueError as e:
            out[recipe] = str(e)
    return out


def _cpu_calibrations(root: str) -> dict:
    return {recipe: fit[0] for recipe, fit in _cpu_fits(root).items() if not isinstance(fit, str)}


def _cpu_exponent(cal) -> Condition:
    """The depth exponent of a CPU calibration as a P14 condition; unknown (n = 0) while any
    fit shape's optimum is not located in every seed (a grid edge is a bound, not a measurement)."""
    lo, hi = cal.exponent_interval("e") if len(cal.boot) >= 2 else (np.nan, np.nan)
    flagged = len(cal.flagged)
    label = f"CPU widths {'/'.join(map(str, cal.widths))}: e" + (
        f" ({flagged} of {len(cal.optima)} per-seed optima not located)" if flagged else "")
    return Condition(label, cal.e, lo, hi, 0 if flagged else len(cal.seeds),
                     band_lo=-EXPONENT_TOL, band_hi=EXPONENT_TOL, unit="")


def _lr_held_out_records(root: str) -> list[Record]:
    """P21: per recipe of `lr_transfer_cpu`, lr* = c L^e w^f fitted on the fit shapes
    (`fit_lr_transfer`) predicts the optimum at the held-out shapes: predicted / measured with
    its bootstrap interval must lie within [1/1.3, 1.3] at every held-out shape
    (`score_held_out`); a shape whose optimum is not located in any seed is unknown.  The
    length check (one shape, seed 0, 1x and 2x the steps) is quoted beside."""
    from progtheory.theory import lr_calibration as LC

    design = _cpu_design(root)
    if design is None:
        return []
    target = LC.HELD_OUT_TARGET
    records = []
    for recipe, fit in _cpu_fits(root).items():
        tolerance = f"predicted / measured within ×{target} (about one ×√2 grid step)"
        if isinstance(fit, str):
            part = Part("the fitted rule predicts every held-out optimum", tolerance=tolerance,
                        note=f"not fitted: {fit}", undecided=True)
            records.append(Record("P21", PREDICTIONS["P21"], (part,), recipe, source=_res("lr_transfer_cpu")))
            continue
        cal, scores = fit
        conds = tuple(Condition(f"L{s['depth']} w{s['width']}" + (f" ({s['flags']})" if s["flags"] else ""),
                                s["ratio"], s["ratio_lo"], s["ratio_hi"], s["n"],
                                band_lo=1 / target, band_hi=target, unit="x") for s in scores)
        lines = [f"fit on {len(design['fit'])} shapes (depth, width) {', '.join(f'({d}, {w})' for d, w in design['fit'])}, "
                 f"{design['steps']} steps: {cal.summary()}"]
        lines += [f"L{s['depth']} w{s['width']}: predicted {s['predicted']:.3g}, measured {s['measured']:.3g} "
                  f"[{s['measured_lo']:.3g}, {s['measured_hi']:.3g}] (n={s['n']})" for s in scores]
        lines += _length_lines(root, design, recipe)
        if recipe == A.DEFAULT_RECIPE:  # sp + AdamW: what `predict_lr` does off the base width
            lines.append(f"`predict_lr` has no width rule under sp + AdamW: this sweep's fitted width exponent "
                         f"({cal.f:+.2f}) comes from {design['steps']}-step runs whose optimum still moves with run "
                         "length, so off the base width it raises and points to `fit_lr_transfer`")
        records.append(Record("P21", PREDICTIONS["P21"], (Part("the fitted rule predicts every held-out optimum", conds,
                                                                 tolerance=tolerance),),
                              recipe, FIG + "lr_transfer_cpu_held_out.png", _res("lr_transfer_cpu"), tuple(lines)))
    return records


def _length_lines(root: str, design: dict, recipe: str) -> list[str]:
    """The optimum at the length-check shape (seed 0) at 1x and 2x the design steps."""
    from progtheory.theory import lr_calibration as LC

    folder = Path(root) / "lr_transfer_cpu"
    recipes = A.run_recipes(folder / "provenance.jsonl")
    depth, width = design["length_check"]
    found = []
    for steps in (design["steps"], 2 * design["steps"]):
        rows = [r for r in LC.read_runs(folder, steps=steps, seed=0, depth=depth, width=width)
                if recipes.get(r["run_id"]) == recipe]
        optima = LC.find_optima(rows) if rows else []
        if not optima:
            return [f"length check (L{depth} w{width}, seed 0): {steps} steps not run yet"]
        (o,) = optima
        found.append(f"{steps} steps {'≈' if o.found else ''}{o.lr_opt:.3g}" + (f" ({o.flag})" if o.flag else ""))
    return [f"length check (L{depth} w{width}, seed 0), optimum: " + ", ".join(found)]


# ----------------------------------------------------------------------------- P16

def _bound_records(root: str) -> list[Record]:
    """P16: the last-iterate bound fitted to every fixed-size curve with a per-step LR log
    (`analysis.bound_fits`): the mean R² per schedule must lie at or above R2_MIN; the final
    loss predicted from the first 80% of the curve is quoted beside."""
    fits = []
    for name in ("mixing", "baseline_lr"):
        loaded = _load(name, root)
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
        out.append(Record("P16", PREDICTIONS["P16"], (Part("R² of the bound fitted to each fixed-size curve",
                                                            tuple(conds), tolerance=f"≥ {R2_MIN}"),),
                          recipe, FIG + "bound_fits.png", _res("mixing", "baseline_lr"), tuple(lines)))
    return out


# ----------------------------------------------------------------------------- P19

FRONTIER_SOURCES = ("frontier", "budget")  # experiments (with their COMPANIONS) whose fixed runs are full-schedule WSD runs at each recipe's tuned LR


def frontier_table(root: Path | str) -> pd.DataFrame:
    """The fixed-size compute frontier: every fixed run of FRONTIER_SOURCES (one row per run,
    with its recipe): seed, steps, flops, final_val_loss, recipe."""
    parts = []
    for name in FRONTIER_SOURCES:
        loaded = _load(name, str(root))
        if loaded is not None:
            runs = loaded[0]
            fixed = runs[runs.source < 0] if "source" in runs else runs
            parts.append(fixed[fixed.final_val_loss.notna()][["run_id", "recipe", "seed", "steps", "flops",
                                                                "final_val_loss"]])
    if not parts:
        return pd.DataFrame(columns=["run_id", "recipe", "seed", "steps", "flops", "final_val_loss"])
    return pd.concat(parts).drop_duplicates("run_id").sort_values(["recipe", "seed", "flops"]).reset_index(drop=True)


def efficiency_table(root: Path | str) -> pd.DataFrame:
    """`analysis.compute_efficiency` of every progressive run of the committed experiments
    (one row per run) against the frontier of its recipe, with an `experiment` column."""
    frontier = frontier_table(root)
    parts = []
    for name in ("mixing", "source_depth", "budget", "init_strategies", "recipe"):
        t = _table(name, str(root), drop=("t_mix",) if name == "recipe" else ())
        if t is None:
            continue
        for recipe, g in _by_recipe(t):
            f = frontier[frontier.recipe == recipe]
            if len(f):
                parts.append(A.compute_efficiency(g, f).assign(experiment=name))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True).drop_duplicates("run_id")


def _frontier_records(root: str) -> list[Record]:
    """P19: compute efficiency at equal loss of the progressive runs in the paper's regime
    (mixing, WSD, τ ≤ 0.8T, at the verdict LR), per (source, τ) over seeds; holds when every
    interval lies at or above 1 (progressive is the cheaper way to its loss)."""
    frontier, eff = frontier_table(root), efficiency_table(root)
    if frontier.empty or eff.empty:
        return []
    out = []
    for recipe, e in eff.groupby("recipe", sort=True):
        f = frontier[frontier.recipe == recipe]
        m = e[(e.experiment == "mixing") & (e.schedule == "wsd") & (e.tau <= 0.8)]
        if "lr" in m and m.lr.notna().any():
            m = m[m.lr == _primary_lr(m, root)[0]]
        conds = []
        for (source, tau), g in m.groupby(["source", "tau"]):
            above = g[g.bound == "above"]
            label = f"{int(source)}-layer τ={tau:g}" + (
                f" ({len(above)} of {len(g)} seeds above the frontier's loss range: < {above.bound_value.max():.2f}x)"
                if len(above) else "")
            conds.append(Condition.from_ci(label, A.mean_ci(g.efficiency), band_lo=1.0, unit="x"))
        pts = f.groupby("steps").agg(n=("seed", "nunique"), loss=("final_val_loss", "mean"))
        lines = (f"frontier: {len(pts)} points (T = {', '.join(str(int(s)) for s in pts.index)}; seeds "
                 + ", ".join(str(int(n)) for n in pts.n) + "), WSD each with its own decay, "
                 "log FLOPs interpolated in log loss; no extrapolation: a run whose final loss lies above the "
                 "frontier's highest has no efficiency, only a bound",
                 f"every progressive run of {', '.join(sorted(e.experiment.unique()))}: efficiency measured for "
                 f"{int(e.efficiency.notna().sum())} of {len(e)}; best "
                 + (f"{e.efficiency.max():.2f}x" if e.efficiency.notna().any() else "none measurable"),
                 "the paper's v2 reports 3–5x at 0.25–2B parameters")
        out.append(Record("P19", PREDICTIONS["P19"], (
            Part("efficiency at equal loss (frontier FLOPs to the run's final loss / run FLOPs), WSD, τ ≤ 0.8T",
                 tuple(conds), tolerance="≥ 1"),), recipe,
            FIG + ("compute_frontier.png" if recipe == A.DEFAULT_RECIPE else "compute_frontier_recipe.png"),
            _res("frontier", "budget", "mixing") if recipe == A.DEFAULT_RECIPE else _res("frontier_recipe", "mixing_recipe"),
            lines))
    return out


# ----------------------------------------------------------------------------- P20

def _gap_model_records(root: str) -> list[Record]:
    """P20, one record per arm and model with results.  The grown model (`gap_scores`: fixed
    law on two budgets, the start matched on the source's loss, dead time, rate and spike,
    fitted on each arm's declared pilots; the ladder's held-out conditions scored against the
    predictions committed before their runs), then the head-start model (`plan`) as the
    baseline, scored on the held-out conditions of both.  Three parts: the mean absolute error
    (Student-t interval over held-out conditions), the share within ±GAP_WITHIN points (exact
    binomial interval) and the signs of the trends in τ and in T (counts, exact).  An arm whose
    pilots are not all run yet is inconclusive and says which are missing."""
    from progtheory import gap_scores, plan

    out = []
    for arm, spec in gap_scores.GROWN_ARMS.items():
        if any(_load(name, root) is None for name in spec.experiments):
            continue
        grown = _scored(lambda: gap_scores.score_arm(arm, root, n_boot=0), spec, "grown model")
        if isinstance(grown, Record):
            out.append(grown)
            continue
        out += _gap_model_record(grown, spec, "grown model")
        if arm in plan.ARMS:
            base = _scored(lambda: plan.score_gap_model(root, arm), plan.ARMS[arm], "head-start baseline")
            if isinstance(base, Record):
                out.append(base)
                continue
            held = {(r["source"], r["schedule"], r["T"], r["tau"]) for r in grown if r["role"] == "held_out"}
            base = [r if r["role"] == "pilot" or (r["source"], r["schedule"], r["T"], r["tau"]) in held
                    else {**r, "role": "excluded"} for r in base]
            out += _gap_model_record(base, plan.ARMS[arm], "head-start baseline")
    return out


def _scored(score, spec, model: str):
    """`score()`, or an inconclusive P20 record naming what is missing when it raises ValueError."""
    try:
        return score()
    except ValueError as e:
        part = Part("the gap model predicts the held-out final gaps", note=str(e), undecided=True)
        return Record("P20", PREDICTIONS["P20"], (part,), f"{spec.label}, {model}", source=_res(*spec.experiments))


def _gap_model_record(records: list[dict], spec, model: str) -> list[Record]:
    """P20's record of one arm (`plan.Arm` or `gap_scores.GrownArm`) and `model` from its
    scored records."""
    from progtheory import plan

    held = [r for r in records if r["role"] == "held_out"]
    if not held:
        return []
    summary = plan.gap_model_summary(records, within=GAP_WITHIN)
    n = len(held)
    err = np.abs([r["error"] for r in held])  # percentage points
    hits = int((err <= GAP_WITHIN).sum())
    share = stats.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="exact")
    trends = []
    for label, text in (("trend in τ (per source, schedule, T)", summary["tau_trend"]),
                        ("trend in T (per source, schedule, τ)", summary["T_trend"])):
        right, total = (int(x) for x in text.split("/"))
        if total:
            trends.append(Condition(f"{label}: {right} of {total} signs right", right / total, right / total,
                                    right / total, total, band_lo=1.0, unit="share", exact=True))
    pilots = sorted(f"{src}-layer {sch} T={T} τ={tau:g}" for (src, _), runs in spec.progressive_pilots.items()
                    for sch, T, tau in (runs if isinstance(runs[0], tuple) else (runs,)))
    parts = (
        Part(f"mean |predicted − measured| final gap over {n} held-out conditions",
             (Condition.from_ci("MAE", A.mean_ci(err), band_hi=GAP_MAE_TOL, unit="pp"),),
             tolerance=f"≤ {GAP_MAE_TOL:g} percentage point"),
        Part(f"share of held-out conditions within ±{GAP_WITHIN:g} points",
             (Condition(f"{hits} of {n} within", hits / n, share.low, share.high, n, band_lo=GAP_SHARE_MIN,
                        unit="share"),),
             tolerance=f"≥ {GAP_SHARE_MIN:.0%} (exact binomial interval)"),
        Part("every trend sign right (measured and predicted gap move the same way)", tuple(trends),
             tolerance="all signs right"),
    )
    fixed = ", ".join(f"{sch} T={T}" for sch, T in spec.fixed_pilots)
    excluded = sorted(f"{r['source']}-layer {r['schedule']} T={r['T']} τ={r['tau']:g}" for r in records
                      if r["role"] == "excluded")
    lines = (f"pilots (fitted on, not scored): the fixed runs {fixed}; the progressive runs {', '.join(pilots)}",
             *([f"not scored here (the grown model's pilots; both models are scored on the same held-out "
                f"conditions): {', '.join(excluded)}"] if excluded else []),
             "held-out conditions share their pilots, so their errors are not independent; the intervals "
             "treat them as if they were",
             *(f"miss: {m}" for m in summary["misses"]),
             *(f"trend miss: {m}" for m in summary["trend_misses"]))
    return [Record("P20", PREDICTIONS["P20"], parts, f"{spec.label}, {model}", FIG + spec.figure + ".png",
                   _res(*spec.experiments), lines)]


# ----------------------------------------------------------------------------- P22

# The best init multiplier by `experiments/init_scale.py`'s rule (the largest s whose predicted
# loss change at tau stays within SPIKE_TOL), as its docstring stated before any of its runs.
INIT_SCALE_BEST = {"random": 1.0, "copy": 0.25}


def _init_scale_records(root: str) -> list[Record]:
    """P22 from `init_scale`, per recipe and (source, init): the paired difference over seeds
    of the final gap between the predicted best multiplier (INIT_SCALE_BEST) and each other
    multiplier; each holds when the predicted best ends no worse by more than PARITY."""
    out = []
    for recipe, t in _by_recipe(_table("init_scale", root)):
        parts, lines = [], []
        for (source, init), g in t.groupby(["source", "init"], sort=True):
            best = INIT_SCALE_BEST.get(init)
            if best is None or not np.isclose(g.scale, best).any() or g.scale.nunique() < 2:
                continue  # no prediction for this init, or no other multiplier run yet
            conds = tuple(Condition.from_ci(f"s={best:g} − s={x:g}", _paired(g, "scale", best, x), band_hi=PARITY)
                          for x in sorted(g.scale.unique()) if x != best)
            parts.append(Part(f"{int(source)}-layer source, {init}: the predicted best s = {best:g} ends no worse "
                              "than any other multiplier", conds,
                              tolerance=f"paired final-gap difference ≤ +{PARITY:.1%}"))
            means = g.groupby("scale").rel_gap.mean()
            lines.append(f"{int(source)}-layer {init}, final gap by s: "
                         + ", ".join(f"s={x:g} {v:+.1%}" for x, v in means.items())
                         + f"; measured best s = {means.idxmin():g}")
        if parts:
            name = "init_scale" if recipe == A.DEFAULT_RECIPE else "init_scale_recipe"
            out.append(Record("P22", PREDICTIONS["P22"], tuple(parts), recipe, FIG + name + ".png",
                              _res("init_scale"), tuple(lines)))
    return out


# ----------------------------------------------------------------------------- P23

JOLT_FACTOR = 2.0   # predicted / measured jolt (experiments/jolt.py, stated before the probes)
JOLT_FLOOR = 0.02   # nats: below this measured change, the difference is judged instead (band +-JOLT_FLOOR)
JOLT_BUDGET = 0.05  # nats: the jolt a ramp must keep within (`theory.jolt.rewarmup_for_jolt`)


def _jolt_condition(label: str, predicted: pd.Series, measured: pd.Series) -> Condition:
    """Predicted against measured over seeds: the ratio within xJOLT_FACTOR where the mean
    measured change exceeds JOLT_FLOOR nats, else the difference within +-JOLT_FLOOR."""
    if abs(measured.mean()) > JOLT_FLOOR:
        return Condition.from_ci(f"{label}: predicted / measured", A.mean_ci(predicted / measured),
                                 band_lo=1 / JOLT_FACTOR, band_hi=JOLT_FACTOR, unit="x")
    return Condition.from_ci(f"{label}: predicted − measured", A.mean_ci(predicted - measured),
                             band_lo=-JOLT_FLOOR, band_hi=JOLT_FLOOR, unit="nats")


def _ramp(slope: float, curvature: float, lr: float, optimizer: str) -> float:
    from progtheory.theory import jolt as J

    try:
        return J.rewarmup_for_jolt(slope, curvature, lr, optimizer, budget=JOLT_BUDGET)
    except ValueError:
        return np.inf


def _jolt_records(root: str) -> list[Record]:
    """P23 from the `jolt` probes, per recipe and (source, init, s): the loss change after the
    first update (both models of `theory.jolt` agree there) and the peak over the first 10
    updates (the line model), predicted from each probe's update statistics at tau, against
    the measured one; the constant-gradient model's peak and the LR ramp it implies are
    reported.  The same two parts along the first update's own training batch
    (``update_train``) for the probes that logged it (the second prediction of
    `experiments/jolt.py`)."""
    if _load("jolt", root) is None:
        return []
    out = []
    for recipe, per in A.jolt_peaks(A.jolt_scores(Path(root) / "jolt")).groupby("recipe", sort=True):
        conds = {name: [] for name in ("first", "peak", "const", "first_train", "peak_train")}
        ramps, aligned = [], []
        for (source, init, scale), g in per.groupby(["source", "init", "init_scale"], sort=True):
            arm = f"{int(source)}-layer {init}" + ("" if scale == 1 else f" s={scale:g}")
            conds["first"].append(_jolt_condition(arm, g.first_pred, g.first_meas))
            conds["peak"].append(_jolt_condition(arm, g.peak_line, g.peak_meas))
            conds["const"].append(_jolt_condition(arm, g.peak_const, g.peak_meas))
            r = [_ramp(*row) for row in g[["slope", "curvature", "lr", "optimizer"]].itertuples(index=False)]
            ramps.append(f"{arm} {np.median(r):.0f}")
            h = g[np.isfinite(g.first_train)]
            if len(h):
                conds["first_train"].append(_jolt_condition(arm, h.first_train, h.first_meas))
                conds["peak_train"].append(_jolt_condition(arm, h.peak_train, h.peak_meas))
                aligned.append(f"{arm} {h.alignment.mean():.2f}")
        tol = f"within ×{JOLT_FACTOR:g} where the measured change exceeds {JOLT_FLOOR} nats, else within ±{JOLT_FLOOR} nats"
        own, train = "along the statistics batch's own gradient", "along the first update's own training batch"
        parts = [Part(f"the loss change after the first update, {own}", tuple(conds["first"]), tolerance=tol),
                 Part(f"the peak over the first 10 updates, line model (`theory.jolt.jolt_line`), {own}",
                      tuple(conds["peak"]), tolerance=tol),
                 Part("the peak over the first 10 updates, constant-gradient model (`theory.jolt.jolt_curve`)",
                      tuple(conds["const"]), tolerance=tol, judged=False)]
        if conds["first_train"]:
            parts += [Part(f"the loss change after the first update, {train} (the probes that logged it)",
                           tuple(conds["first_train"]), tolerance=tol),
                      Part(f"the peak over the first 10 updates, line model, {train}", tuple(conds["peak_train"]),
                           tolerance=tol)]
        seeds = ", ".join(map(str, sorted(_load("jolt", root)[0].seed.unique())))
        lines = [f"probes: {per.run_id.nunique()} (seeds {seeds}), each stopped 10 updates after its growth step; "
                 "the old parameters train as usual",
                 f"LR ramp (`GrowthPlan.rewarmup_steps`) that keeps the constant-gradient jolt within {JOLT_BUDGET} "
                 "nats over 10 updates (`theory.jolt.rewarmup_for_jolt`, median over seeds): " + ", ".join(ramps)]
        if aligned:
            lines.append("alignment (the first update's slope along its training batch's direction over the slope "
                         "along the statistics batch's own): " + ", ".join(aligned))
        out.append(Record("P23", PREDICTIONS["P23"], tuple(parts), recipe, FIG + "jolt.png", _res("jolt"),
                          tuple(lines)))
    return out


# ----------------------------------------------------------------------------- build and render

BUILDERS = (_compute_records, _mixing_records, _init_records, _source_depth_records, _lr_transfer_records,
            _bound_records, _frontier_records, _gap_model_records, _lr_held_out_records, _init_scale_records,
            _jolt_records)


def build_records(root: Path | str) -> list[Record]:
    """Every record the committed results in `root` support, one per (prediction, recipe),
    in prediction order; a prediction without results is an open record naming its experiment."""
    root = str(Path(root))
    for cached in (_load, _table, _cpu_fits, _expansion_changes):
        cached.cache_clear()  # results may have changed since the last build
    records = [r for build in BUILDERS for r in build(root)]
    if "P15" not in {r.pid for r in records} and _table("recipe", root, drop=("t_mix",)) is not None:
        none = pd.DataFrame(columns=["source"])  # runs at tau* without mixing pilots
        records.append(replace(_recipe_record(none, none, none, root), recipe=A.DEFAULT_RECIPE))
    have = {r.pid for r in records}
    records += [Record(pid, text, (Part(text, note=f"not yet measured; declared in `{PLANNED[pid]}`"),),
                       A.DEFAULT_RECIPE, detail=_budget_lines(root) if pid == "P2" else ())
                for pid, text in PREDICTIONS.items() if pid not in have]
    order = {pid: i for i, pid in enumerate(PREDICTIONS)}
    records = [replace(r, detail=_stale_notes(r, root) + tuple(r.detail)) for r in records]
    return sorted(records, key=lambda r: (order[r.pid], r.recipe))


STALE = "(experiment.json: stale)"


def _stale_notes(r: Record, root: str) -> tuple[str, ...]:
    """A line per results folder named in `r.source` that its experiment.json marks stale
    (`progtheory.freshness`: today's code no longer reproduces its runs) and whose stale runs
    are of `r`'s recipe (the mark's "recipes", else every recipe the folder holds)."""
    out = []
    for path in filter(None, r.source.split(", ")):
        folder = Path(root) / Path(path).name
        m = stale_mark(folder)
        recipes = set(m.get("recipes") or A.run_recipes(folder / "provenance.jsonl").values()) if m else set()
        if m and (not recipes or r.recipe.split(",")[0] in recipes):
            out.append(f"data from `{path}` was produced by {m['produced_by']} and differs from today's code by "
                       f"{m['max_abs_diff']:.2g} nats of train loss in its first steps, since {m['since']} {STALE}")
    return tuple(out)


RULE = (
    "**Decision rule.** A prediction covers one or more conditions (a schedule and τ, a source depth, "
    "an init, ...). Each condition has a measured value with a 95% interval and a tolerance band, "
    "the values for which the prediction holds there. A claim **holds** when every condition's "
    "interval lies inside its band, **fails** when at least one lies wholly outside, and is "
    "**inconclusive** otherwise (an interval straddles a band edge, or is unknown: one seed, an "
    "optimum at the edge of a grid, an undefined quantity); it is **open** before any run. A "
    "prediction of several parts gets a verdict per part and an overall verdict by the same rule. "
    "Parts marked *reported* are measured beside the claim and do not enter its verdict.")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(records: list[Record]) -> str:
    """Markdown: the rule, a summary table (one line per record), then one section per record."""
    head = ["# Validation report", "",
            "Generated by `progtheory figures` from the committed results in `experiments/results/`; do not",
            "edit by hand. The predictions and their sources are listed in `docs/PREDICTIONS.md`. Gaps are",
            "relative (progressive / fixed − 1) in final validation loss; intervals are 95% Student-t",
            "intervals over seeds unless a section says otherwise; n counts seeds (or runs).", "", RULE, "",
            "## Summary", "",
            "| # | recipe | prediction | verdict | parts | deciding condition | tolerance |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    rows = []
    for r in records:
        c = r.deciding
        parts = " · ".join(p.verdict for p in r.parts if p.judged) if len(r.parts) > 1 else ""
        stale = " (stale data)" if any(line.endswith(STALE) for line in r.detail) else ""
        rows.append(f"| [{r.pid}](#{r.pid.lower()}) | {r.recipe} | {_cell(r.prediction)} | **{r.verdict}**{stale} | {parts} | "
                    f"{_cell(format_condition(c)) if c else ''} | {_cell(format_band(c)) if c else ''} |")
    return "\n".join(head + rows + [""] + [line for r in records for line in _section(r)])


def _section(r: Record) -> list[str]:
    meta = [f"recipe: {r.recipe}", f"verdict: **{r.verdict}**"]
    meta += [f"figure: [{Path(r.figure).name}]({r.figure})"] if r.figure else []
    meta += [f"data: `{r.source}`"] if r.source else []
    out = [f"## {r.pid}", "", f"{r.prediction}.", "", " · ".join(meta), ""]
    for p in r.parts:
        kind = p.verdict if p.judged else f"reported; {p.verdict} as a claim"
        out.append(f"- **{p.claim}** ({kind}); tolerance: {p.tolerance or 'none'}" + (f"; {p.note}" if p.note else ""))
        out += [f"  - {format_condition(c)}; band {format_band(c)}: {c.verdict}" for c in p.conditions]
    out += [f"- {line}" for line in r.detail]
    return out + [""]


def write_report(root: Path | str, path: Path | str) -> Path:
    path = Path(path)
    text = render(build_records(root))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def summary_frame(root: Path | str) -> pd.DataFrame:
    """One row per record (for notebooks): pid, recipe, prediction, verdict, deciding, n."""
    return pd.DataFrame([dict(pid=r.pid, recipe=r.recipe, prediction=r.prediction, verdict=r.verdict,
                              deciding=format_condition(r.deciding) if r.deciding else "", n=r.n)
                         for r in build_records(root)])
