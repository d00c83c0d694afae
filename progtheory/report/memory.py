"""P25: the optimizer's memory as the gap's clock (`weight_decay`): the memory model
(`theory.weight_decay.forgetting_gap`, fitted on the pilots) against the held-out weight decays,
scored on the predictions committed before their runs (`analysis.memory`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from progtheory import analysis as A
from progtheory.analysis import memory as M
from progtheory.report.data import FIG, PAPER_RECIPE, res
from progtheory.report.rule import Condition, Part, Record

MEMORY_TOL = 2.0  # points: a held-out lam's gap within this of its stated value (P25, stated before the runs)
PREDICTIONS = "experiments/predictions/weight_decay.csv"
FRONTIER_EXTRA = ("ladder", "saturation")  # their fixed runs extend the best-λ frontier (`_frontier_runs`)


def _label(r) -> str:
    return (f"{r.recipe}, T={int(r.T):,}, τ={r.tau:g}T, {int(r.source)}-layer, λ={r.lam:g} "
            f"(λA={M.lr_area_after(r.recipe, int(r.T), r.tau) * r.lam:.2f}; stated as a {r.statement})")


def _fit_line(runs: pd.DataFrame) -> str:
    fits = M.fit_pilots(M.measured_gaps(runs))
    rec, T, tau = M.PILOT
    return (f"pilots ({rec}, T = {T:,}, τ = {tau:g}T, λ ∈ {M.PILOT_LAMS}): "
            + "; ".join(f"{s}-layer gap_0 {g0:+.1f}%, floor {fl:+.1f}%" for s, (g0, fl) in sorted(fits.items())))


def p25_records(root: str) -> list[Record]:
    """P25: each held-out condition's paired gap error (predicted − measured, points, 95% t
    interval over seeds) within ±MEMORY_TOL; beside it, reported, the fair reading (each arm at its
    best λ against the fixed runs at theirs), in loss and in compute at equal loss."""
    folder = Path(root) / "weight_decay"
    stated_path = Path(root).resolve().parent.parent / PREDICTIONS
    if not (folder / "runs.csv").is_file():
        return []
    runs = pd.read_csv(folder / "runs.csv")
    detail = []
    try:
        detail.append(_fit_line(runs))
    except ValueError as e:
        detail.append(f"pilots incomplete: {e}")
    scored = M.score(runs, pd.read_csv(stated_path)) if stated_path.is_file() else pd.DataFrame()
    conditions = tuple(Condition.from_ci(f"{_label(r)}: stated {r.predicted:+.1f}%, measured {r.measured:+.1f}%",
                                         A.mean_ci(r.errors), band_lo=-MEMORY_TOL, band_hi=MEMORY_TOL, unit="pp")
                       for r in scored.itertuples()) if len(scored) else ()
    note = "" if conditions else ("no held-out run trained yet" if stated_path.is_file()
                                  else f"no predictions stated yet ({PREDICTIONS})")
    judged = Part("the memory model fitted on two λ predicts the held-out λ's gap", conditions,
                  tolerance=f"predicted − measured within ±{MEMORY_TOL:g} points", note=note)
    fair = M.best_lam_gaps(runs)
    reported = Part("each arm at its best λ against the fixed runs at their best λ (reported)",
                    tuple(Condition.from_ci(f"{r.recipe}, T={r.T:,}, τ={r.tau:g}T, {r.source}-layer at λ={r.lam_prog:g} "
                                            f"vs fixed at λ={r.lam_fixed:g} ({r.n_lams} λ)",
                                            (r.seed_gap / 100, r.lo / 100, r.hi / 100, r.n_seeds))
                          for r in fair[fair.n_lams >= 2].itertuples()), judged=False)
    eff = M.best_lam_efficiency(runs, _frontier_runs(root))
    compute = Part("compute efficiency at equal loss, each arm at its best λ against the fixed frontier at its "
                   "best λ (reported)",
                   tuple(Condition.from_ci(f"{r.recipe}, T={r.T:,}, τ={r.tau:g}T, {r.source}-layer at λ={r.lam_prog:g}",
                                           (r.eff, r.lo, r.hi, r.n_seeds - r.n_above), unit="x")
                         for r in eff[eff.n_above == 0].itertuples()), judged=False)
    detail += _efficiency_lines(eff)
    return [Record("P25", parts=(judged, reported, compute), recipe=PAPER_RECIPE, figure=FIG + "memory_clock.png",
                   source=res("weight_decay"), detail=tuple(detail))]


def _frontier_runs(root: str) -> pd.DataFrame | None:
    """The fixed runs of the same d = 32 target beyond `weight_decay`'s budgets, at the recipe's
    λ = 0.01: `ladder` (T = 40,000 and 160,000; WSD with 10% decay, as `weight_decay`) and
    `saturation` (T = 2,000 and 4,000; WSD decaying over the last 1,000 steps)."""
    tables = [pd.read_csv(p) for name in FRONTIER_EXTRA if (p := Path(root) / name / "runs.csv").is_file()]
    return pd.concat(tables, ignore_index=True) if tables else None


def _efficiency_lines(eff: pd.DataFrame) -> list[str]:
    """The frontier's budgets, and the arms whose loss lies above the frontier's highest (a bound only)."""
    if eff.empty:
        return []
    lines = [f"{rec} frontier (fixed runs at the best λ of each budget; the λ = 0.01 runs of ladder and saturation at the "
             f"budgets weight_decay lacks): T = {f}; log FLOPs interpolated in log loss, no extrapolation" for rec, f in eff.groupby("recipe").frontier_T.first().items()]
    above = eff[eff.n_above > 0]
    if len(above):
        lines.append("above the frontier's highest loss (the fixed model reaches a lower loss on less compute than "
                     "its cheapest point; efficiency below the bound): "
                     + "; ".join(f"{r.recipe}, T={r.T:,}, τ={r.tau:g}T, {r.source}-layer at λ={r.lam_prog:g}: "
                                 f"< {r.bound:.2f}x ({r.n_above} of {r.n_seeds} seeds)" for r in above.itertuples()))
    return lines
