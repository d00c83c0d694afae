"""The budget side of the report: the token budget and the ladder quoted beside P2, the
fixed-size compute frontier and the efficiency at equal loss (P19), and the gap models scored
on held-out conditions (P20)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from progtheory import analysis as A
from progtheory import config as C
from progtheory.report import data
from progtheory.report.conditions import PARITY, gap_ci, paired
from progtheory.report.data import FIG, FRONTIER_SOURCES, res
from progtheory.report.rule import Condition, Part, Record, format_condition

GAP_MAE_TOL = 1.0  # P20: mean |predicted - measured| final gap, percentage points
GAP_WITHIN = 1.5  # P20: a held-out condition is hit when |error| <= this many points
GAP_SHARE_MIN = 0.8  # P20: share of held-out conditions hit
LADDER_BLOCK_PARAMS = 50_816  # 4 x (12 d^2 + 13 d) at d = 32 (experiments/ladder.py)


# ----------------------------------------------------------------------------- P2's budget lines

def budget_lines(root: str, recipe: str = A.DEFAULT_RECIPE) -> tuple[str, ...]:
    """P2 against the token budget, from the recipe's arm of `budget` (`data.RECIPE_ARMS`; its
    results folder `budget`: sp + AdamW at d = 128, 0-layer source; `budget_small`: the paper's
    recipe at d = 64, 0- and 1-layer sources): the final gap at each T per source and tau/T, the paired
    change (seeds that ran both) from the smallest to the largest T, and the tokens per block
    parameter (attention, MLP and their norms; `theory.compute.param_breakdown`) each T
    trains on; the ladder beside it where the recipe's folders say so."""
    name = data.folders(recipe).budget
    table = data.gap_table(name, root) if name else None
    if table is None:
        return ()
    s = A.summarize(table, ["source", "tau", "steps_T"], ["rel_gap"])
    lines = [_budget_line(name, table, source, tau, g) for (source, tau), g in s.groupby(["source", "tau"])]
    lines += _tokens_per_block_parameter(name, root)
    lines += list(ladder_lines(root)) if data.folders(recipe).ladder else []
    return tuple(lines) + (f"{name} figure: [{name}_gap_vs_T.png](paper_figures/{name}_gap_vs_T.png)",)


def _budget_line(name: str, table: pd.DataFrame, source, tau, g: pd.DataFrame) -> str:
    """The gaps at each T of one (source, tau) and their paired trend from the smallest T."""
    cells = ", ".join(format_condition(Condition.from_ci(f"T={int(x.steps_T)}", gap_ci(x))) for x in g.itertuples())
    sub = table[(table.source == source) & np.isclose(table.tau, tau)]
    lo_T, hi_T = sub.steps_T.min(), sub.steps_T.max()
    trend = ""
    if hi_T > lo_T:
        c = Condition.from_ci(f"T={int(hi_T)} − T={int(lo_T)}", paired(sub, "steps_T", hi_T, lo_T),
                              band_lo=-PARITY, band_hi=PARITY)
        lo, hi = c.interval
        word = "shrinks" if hi < -PARITY else "grows" if lo > PARITY else "stays put" if c.verdict == "holds" else "undetermined"
        trend = f"; {format_condition(c)} ({word})"
    return f"{name}, {int(source)}-layer source, WSD, τ={tau:g}T: {cells}{trend}"


def _tokens_per_block_parameter(name: str, root: str) -> list[str]:
    """The tokens per block parameter each T of experiment `name` trains on (every T trains
    the same model, read from a fixed run's config)."""
    from progtheory.theory import compute

    configs = A.run_configs(Path(root) / name / "provenance.jsonl")
    runs = data.load(name, root)[0]
    fixed = runs[runs.source < 0] if "source" in runs else runs.iloc[:0]
    rid = next((r for r in fixed.get("run_id", []) if r in configs), None)
    if rid is None:
        return []
    model = C.from_run_json(configs[rid]).model
    blocks = sum(v for k, v in compute.param_breakdown(model).items() if k in ("attention", "mlp", "block_norms"))
    per_T = fixed.groupby("steps_T").tokens.first() / blocks
    return [f"{name} (d = {model.n_embd}): tokens per block parameter "
            + ", ".join(f"{v:.3g} at T={int(T)}" for T, v in per_T.items())]


def ladder_lines(root: str) -> tuple[str, ...]:
    """P2 toward the paper's regime (`ladder`, the recipe at d = 32): the measured final gap per
    source and tau/T against the steps after tau and the tokens per block parameter, each beside
    the grown model's prediction stated before the run, and the budget at which the grown model
    (point fit on the ladder's pilots) predicts parity (<= 0.5%) at tau = 0.8T."""
    from progtheory.analysis import gap_model as GS

    if data.load("ladder", root) is None:
        return ()
    runs, _ = GS.arm_runs("recipe-d32", root)
    meas = GS.measured_gaps(runs)
    meas = meas[meas.schedule == "wsd"]
    stated = pd.read_csv(Path(root).resolve().parent.parent / GS.GROWN_ARMS["recipe-d32"].predictions)
    lines = []
    for (src, tau), g in meas.groupby(["source", "tau"]):
        cells = []
        for r in g.sort_values("T").itertuples():
            p = stated[(stated.source == src) & np.isclose(stated.tau, tau) & (stated["T"] == r.T)]
            pred = f", stated {p.predicted.iloc[0]:+.1f}% [{p.lo.iloc[0]:+.1f}, {p.hi.iloc[0]:+.1f}]" if len(p) else " (pilot)"
            cells.append(f"{r.T - round(tau * r.T)} steps after τ ({r.T * 2048 / LADDER_BLOCK_PARAMS:.0f} tokens per "
                         f"block parameter): {r.measured:+.1f}% (n={r.n_seeds}){pred}")
        lines.append(f"ladder (d = 32), {int(src)}-layer source, WSD, τ={tau:g}T: " + "; ".join(cells))
    parity = GS.parity_budgets("recipe-d32", root=root)
    lines.append("ladder: the grown model predicts parity (≤ 0.5%) at τ = 0.8T from T = "
                 + ", ".join(f"{r.T_parity:,.0f} ({int(r.source)}-layer {r.init}; {r.T_parity * 0.2:,.0f} steps after τ)"
                             if np.isfinite(r.T_parity) else f"none within 10^6 steps ({int(r.source)}-layer {r.init})"
                             for r in parity.itertuples())
                 + "; point fit on the pilots (experiments/LOG.md gives its bootstrap range)")
    return tuple(lines) + fresh_offset_lines(root, runs)


def fresh_offset_lines(root: str, runs: pd.DataFrame) -> tuple[str, ...]:
    """The fresh-start gap model's statement for the ladder's T = 160,000 rung
    (`analysis.fresh_offset`, fitted on the rungs below it, committed before the copy and fixed
    runs ended), each stated quantity against the measured one."""
    from progtheory.analysis import fresh_offset as FO

    path = Path(root).resolve().parent.parent / FO.STATEMENT
    if not path.exists():
        return ()
    names = {"fixed_loss": "fixed final loss", "grown_loss": "grown final loss", "gap_percent": "gap (%)"}
    cells = []
    for r in FO.score(pd.read_csv(path), runs).itertuples():
        who = "" if r.source < 0 else f"{int(r.source)}-layer "
        got = ("not yet ended" if r.measured != r.measured else
               f"measured {r.measured:.3f} ({'inside' if r.inside else 'outside'}; error {r.error:+.3f})")
        cells.append(f"{who}{names[r.quantity]} stated {r.predicted:.3f} [{r.lo:.3f}, {r.hi:.3f}], {got}")
    lines = ["ladder, T = 160,000 (seed 0), the fresh-start model (fresh-start loss of the steps after τ plus a "
             "source offset; fitted on T ≤ 40,000; the 0-layer run had ended before the statement): " + "; ".join(cells)]
    parity_path = Path(root).resolve().parent.parent / FO.PARITY_STATEMENT
    if parity_path.exists():
        lines.append("ladder: the fresh-start model predicts at τ = 0.8T "
                     + "; ".join(f"{int(r.source)}-layer {r.init}: "
                                 + ("no parity (≤ 0.5%) up to" if r.T_parity != r.T_parity else f"parity from T = {r.T_parity:,.0f}; at")
                                 + f" T = {r.top_T:,.0f}, where the gap is {r.gap_at_top:+.2f}% [{r.lo:+.2f}, {r.hi:+.2f}]"
                                 for r in pd.read_csv(parity_path).itertuples())
                     + ": the offset δ∞ stays while the fresh start's lag on the fixed run fades")
    return tuple(lines)


# ----------------------------------------------------------------------------- P19

def frontier_table(root: Path | str) -> pd.DataFrame:
    """The fixed-size compute frontier: every fixed run of FRONTIER_SOURCES (one row per run,
    with its recipe; `analysis.frontier_points`): seed, steps, flops, final_val_loss, recipe."""
    runs = [loaded[0] for name in FRONTIER_SOURCES if (loaded := data.load(name, str(root))) is not None]
    return A.frontier_points(*runs)


def efficiency_table(root: Path | str) -> pd.DataFrame:
    """`analysis.efficiency_table` of every progressive run of the committed experiments
    (one row per run) against the frontier of its recipe, with an `experiment` column."""
    tables = {name: t for name in ("mixing", "source_depth", "budget", "init_strategies", "recipe")
              if (t := data.gap_table(name, str(root), drop=("t_mix",) if name == "recipe" else ())) is not None}
    return A.efficiency_table(tables, frontier_table(root))


def p19_records(root: str) -> list[Record]:
    """P19: compute efficiency at equal loss of the progressive runs in the paper's regime
    (mixing, WSD, τ ≤ 0.8T, at the verdict LR), per (source, τ) over seeds; holds when every
    interval lies at or above 1 (progressive is the cheaper way to its loss)."""
    frontier, eff = frontier_table(root), efficiency_table(root)
    if frontier.empty or eff.empty:
        return []
    out = []
    for recipe, e in eff.groupby("recipe", sort=True):
        m = e[(e.experiment == "mixing") & (e.schedule == "wsd") & (e.tau <= 0.8)]
        if "lr" in m and m.lr.notna().any():
            m = m[m.lr == data.primary_lr(m, root)[0]]
        conds = []
        for (source, tau), g in m.groupby(["source", "tau"]):
            above = g[g.bound == "above"]
            label = f"{int(source)}-layer τ={tau:g}" + (
                f" ({len(above)} of {len(g)} seeds above the frontier's loss range: < {above.bound_value.max():.2f}x)"
                if len(above) else "")
            conds.append(Condition.from_ci(label, A.mean_ci(g.efficiency), band_lo=1.0, unit="x"))
        mine = data.folders(recipe)
        out.append(Record("P19", parts=(
            Part("efficiency at equal loss (frontier FLOPs to the run's final loss / run FLOPs), WSD, τ ≤ 0.8T",
                 tuple(conds), tolerance="≥ 1"),), recipe=recipe,
            figure=FIG + f"compute_frontier{mine.suffix}.png", source=res(*mine.frontier),
            detail=_frontier_lines(frontier[frontier.recipe == recipe], e)))
    return out


def _frontier_lines(f: pd.DataFrame, e: pd.DataFrame) -> tuple[str, ...]:
    """The frontier's points and the efficiency of every progressive run of one recipe."""
    pts = f.groupby("steps").agg(n=("seed", "nunique"), loss=("final_val_loss", "mean"))
    return (f"frontier: {len(pts)} points (T = {', '.join(str(int(s)) for s in pts.index)}; seeds "
            + ", ".join(str(int(n)) for n in pts.n) + "), WSD each with its own decay, "
            "log FLOPs interpolated in log loss; no extrapolation: a run whose final loss lies above the "
            "frontier's highest has no efficiency, only a bound",
            f"every progressive run of {', '.join(sorted(e.experiment.unique()))}: efficiency measured for "
            f"{int(e.efficiency.notna().sum())} of {len(e)}; best "
            + (f"{e.efficiency.max():.2f}x" if e.efficiency.notna().any() else "none measurable"),
            "the paper's v2 reports 3–5x at 0.25–2B parameters")


# ----------------------------------------------------------------------------- P20

def p20_records(root: str) -> list[Record]:
    """P20, one record per arm and model with results.  The grown model (`analysis.gap_model`: fixed
    law on two budgets, the start matched on the source's loss, dead time, rate and spike,
    fitted on each arm's declared pilots; the ladder's held-out conditions scored against the
    predictions committed before their runs), then the head-start model (`analysis.head_start`) as the
    baseline, scored on the held-out conditions of both.  Three parts: the mean absolute error
    (Student-t interval over held-out conditions), the share within ±GAP_WITHIN points (exact
    binomial interval) and the signs of the trends in τ and in T (counts, exact).  An arm whose
    pilots are not all run yet is inconclusive and says which are missing."""
    from progtheory.analysis import gap_model as GS
    from progtheory.analysis import head_start as HS

    out = []
    for arm, spec in GS.GROWN_ARMS.items():
        if any(data.load(name, root) is None for name in GS.folders(arm)):
            continue
        grown = _scored(lambda: GS.score_arm(arm, root, n_boot=0), spec, "grown model", GS.folders(arm))
        if isinstance(grown, Record):
            out.append(grown)
            continue
        out += _gap_model_record(grown, spec, "grown model", GS.folders(arm))
        if arm in HS.ARMS:
            base = _scored(lambda: HS.score_gap_model(root, arm), HS.ARMS[arm], "head-start baseline", HS.folders(arm))
            if isinstance(base, Record):
                out.append(base)
                continue
            held = {(r["source"], r["schedule"], r["T"], r["tau"]) for r in grown if r["role"] == "held_out"}
            base = [r if r["role"] == "pilot" or (r["source"], r["schedule"], r["T"], r["tau"]) in held
                    else {**r, "role": "excluded"} for r in base]
            out += _gap_model_record(base, HS.ARMS[arm], "head-start baseline", HS.folders(arm))
    return out


def _scored(score, spec, model: str, folders: tuple[str, ...]):
    """`score()`, or an inconclusive P20 record naming what is missing when it raises ValueError."""
    try:
        return score()
    except ValueError as e:
        part = Part("the gap model predicts the held-out final gaps", note=str(e), undecided=True)
        return Record("P20", parts=(part,), recipe=f"{spec.label}, {model}", source=res(*folders))


def _gap_model_record(records: list[dict], spec, model: str, folders: tuple[str, ...]) -> list[Record]:
    """P20's record of one arm (`analysis.head_start.Arm` or `analysis.gap_model.GrownArm`, reading the
    results `folders`) and `model` from its scored records."""
    from progtheory.analysis.gap_model import gap_model_summary

    held = [r for r in records if r["role"] == "held_out"]
    if not held:
        return []
    summary = gap_model_summary(records, within=GAP_WITHIN)
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
    return [Record("P20", parts=parts, recipe=f"{spec.label}, {model}", figure=FIG + spec.figure + ".png",
                   source=res(*folders), detail=_gap_model_lines(records, spec, summary))]


def _gap_model_lines(records: list[dict], spec, summary: dict) -> tuple[str, ...]:
    """The pilots, the conditions left out and the misses of one arm's scored records."""
    pilots = sorted(f"{src}-layer {sch} T={T} τ={tau:g}" for (src, _), runs in spec.progressive_pilots.items()
                    for sch, T, tau in (runs if isinstance(runs[0], tuple) else (runs,)))
    fixed = ", ".join(f"{sch} T={T}" for sch, T in spec.fixed_pilots)
    excluded = sorted(f"{r['source']}-layer {r['schedule']} T={r['T']} τ={r['tau']:g}" for r in records
                      if r["role"] == "excluded")
    return (f"pilots (fitted on, not scored): the fixed runs {fixed}; the progressive runs {', '.join(pilots)}",
            *([f"not scored here (the grown model's pilots; both models are scored on the same held-out "
               f"conditions): {', '.join(excluded)}"] if excluded else []),
            "held-out conditions share their pilots, so their errors are not independent; the intervals "
            "treat them as if they were",
            *(f"miss: {m}" for m in summary["misses"]),
            *(f"trend miss: {m}" for m in summary["trend_misses"]))
