"""P26: the copy floor against the source's age (`saturation`): at equal steps and LR schedule
after tau, does the 1-layer copy's gap grow with the source's own training length?  Scored on the
statements committed before the grid's runs (`analysis.saturation`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from progtheory import analysis as A
from progtheory.analysis import saturation as S
from progtheory.report.data import FIG, PAPER_RECIPE, res
from progtheory.report.rule import Condition, Part, Record

PREDICTIONS = "experiments/predictions/saturation.csv"
FRESH_PREDICTIONS = "experiments/predictions/saturation_fresh.csv"
LADDER_FRESH_PREDICTIONS = "experiments/predictions/fresh_start.csv"
FRESH_TOL = 0.02  # nats: the fixed law's statement of the fresh run's loss (reported)


def _label(tau_step: int, src: int) -> str:
    return f"{src}-layer {'copy' if src == 1 else 'random'}, τ = {tau_step:,} (T = {tau_step + 2000:,})"


def _saturation_part(runs: pd.DataFrame) -> Part:
    """The claim (`analysis.saturation.copy_rise`): the copy's gap rises from the youngest to the
    oldest source by more than the tolerance, and by at least the tolerance more than the 0-layer
    source's (paired seeds)."""
    claim = S.copy_rise(runs)
    span = f"τ = {claim['young']:,} → {claim['old']:,}" if claim["rise"] else ""
    labels = {"rise": f"copy's gap, {span} (points)", "excess": f"copy's rise less the 0-layer source's, {span}"}
    conditions = tuple(Condition.from_ci(labels[k], claim[k], band_lo=S.TOLERANCE, unit="pp")
                       for k in ("rise", "excess") if claim[k] is not None)
    return Part("the copy's gap grows with its source's age at equal steps after τ", conditions,
                tolerance=f"rise above {S.TOLERANCE:g} points, and {S.TOLERANCE:g} above the 0-layer source's",
                note="" if conditions else "no run at two source ages yet")


def _stated_parts(runs: pd.DataFrame, stated: pd.DataFrame) -> tuple[Part, Part]:
    """Reported beside the claim: the gap model's and the memory reading's statements per condition."""
    per_seed = S.seed_gaps(runs).merge(stated, on=S.KEY)
    new = per_seed[per_seed.tau_step != S.REFERENCE]
    gm, mem = [], []
    for (tau_step, src), g in new.groupby(["tau_step", "source"]):
        label = _label(int(tau_step), int(src))
        gm.append(Condition.from_ci(f"{label}: stated {g.predicted.iloc[0]:+.1f}%", A.mean_ci(g.predicted - g.gap),
                                    band_lo=-S.TOLERANCE, band_hi=S.TOLERANCE, unit="pp"))
        mem.append(Condition.from_ci(f"{label}: against τ = {S.REFERENCE:,}'s {g.memory.iloc[0]:+.1f}%",
                                     A.mean_ci(g.gap - g.memory), band_lo=-S.TOLERANCE, band_hi=S.TOLERANCE,
                                     unit="pp"))
    return (Part("the ladder's gap model, stated before the runs (predicted − measured; reported)", tuple(gm),
                 tolerance=f"within ±{S.TOLERANCE:g} points", judged=False),
            Part(f"the memory reading: the gap of τ = {S.REFERENCE:,} at every age (measured − stated; reported)",
                 tuple(mem), tolerance=f"within ±{S.TOLERANCE:g} points", judged=False))


def p26_records(root: str) -> list[Record]:
    """P26: the saturation claim judged; the gap model's and the memory reading's statements reported."""
    folder = Path(root) / "saturation"
    stated_path = Path(root).resolve().parent.parent / PREDICTIONS
    if not (folder / "runs.csv").is_file():
        return []
    runs = pd.read_csv(folder / "runs.csv")
    parts = [_saturation_part(runs), Part(
        "the final loss from the youngest to the oldest source (nats; reported): the grown run's own, and the fixed run's",
        tuple(Condition(f"{'fixed' if r.source < 0 else f'{r.source}-layer {r.init}'}", r.change, r.lo, r.hi, r.n_seeds,
                        unit="nats") for r in S.loss_changes(runs).itertuples()), judged=False)]
    if stated_path.is_file():
        parts += _stated_parts(runs, pd.read_csv(stated_path))
    return [Record("P26", parts=tuple(parts), recipe=PAPER_RECIPE, figure=FIG + "saturation.png",
                   source=res("saturation"))]


def _ladder_parts(root: Path) -> list[Part]:
    """P27 across the ladder (`fresh_start`): the 0-layer grown run above the fresh start at every
    rung (judged), the copy's difference reported."""
    if not all((root / name / "runs.csv").is_file() for name in ("ladder", "fresh_start")):
        return []
    table = S.ladder_against_fresh(pd.read_csv(root / "ladder" / "runs.csv"),
                                   pd.read_csv(root / "fresh_start" / "runs.csv"))

    def conds(src, **band):
        return tuple(Condition(f"ladder T = {r.T:,} ({r.steps_after_tau:,} steps after τ = 0.8T), {r.source}-layer "
                               f"{r.init} less the fresh start", r.diff, r.lo, r.hi, r.n_seeds, unit="nats", **band)
                     for r in table[table.source == src].itertuples())

    parts = [Part("across the ladder, the 0-layer source ends above a fresh start of the steps after τ", conds(0, band_lo=0.0),
                  tolerance="the sign of the paired difference"),
             Part("across the ladder, the 1-layer copy against the same fresh start (reported)", conds(1), judged=False)]
    stated_path = root.resolve().parent.parent / LADDER_FRESH_PREDICTIONS
    if stated_path.is_file():
        fresh = pd.read_csv(root / "fresh_start" / "runs.csv")
        parts.append(Part("the fresh starts' final loss, as the ladder's fixed-size law stated it (reported)", tuple(
            Condition.from_ci(f"S = {int(st.T):,}: measured − stated {st.predicted:.3f} [{st.lo:.3f}, {st.hi:.3f}]",
                              A.mean_ci(fresh[fresh.steps_T == st.T].final_val_loss - st.predicted),
                              band_lo=-FRESH_TOL, band_hi=FRESH_TOL, unit="nats")
            for st in pd.read_csv(stated_path).itertuples() if (fresh.steps_T == st.T).any()),
            tolerance=f"within ±{FRESH_TOL:g} nats", judged=False))
    return parts


def p27_records(root: str) -> list[Record]:
    """P27: each grown condition against the fresh start of the same seed (the 0-layer source
    above it at every age, the copy below it at the oldest); the fixed law's statement of the
    fresh run's loss reported."""
    folder = Path(root) / "saturation"
    if not (folder / "runs.csv").is_file():
        return []
    runs = pd.read_csv(folder / "runs.csv")
    if not ((runs.tau_step == S.FRESH) & (runs.source < 0)).any():
        return []
    oldest = runs.tau_step.max()
    conditions = []
    for r in S.against_fresh(runs).itertuples():
        if r.source == 0 or r.tau_step == oldest:
            band = {"band_lo": 0.0} if r.source == 0 else {"band_hi": 0.0}
            conditions.append(Condition(f"{_label(r.tau_step, r.source)} less the fresh start", r.diff, r.lo, r.hi,
                                        r.n_seeds, unit="nats", **band))
    parts = [Part("the 0-layer source ends above a fresh start at every age; the copy below it at the oldest",
                  tuple(conditions), tolerance="the sign of the paired difference"), *_ladder_parts(Path(root))]
    stated_path = Path(root).resolve().parent.parent / FRESH_PREDICTIONS
    if stated_path.is_file():
        (st,) = pd.read_csv(stated_path).itertuples()
        fresh = runs[(runs.tau_step == S.FRESH) & (runs.source < 0)].final_val_loss
        parts.append(Part("the fresh run's final loss, as the ladder's fixed-size law stated it (reported)",
                          (Condition.from_ci(f"measured − stated {st.predicted:.3f} [{st.lo:.3f}, {st.hi:.3f}]",
                                             A.mean_ci(fresh - st.predicted), band_lo=-FRESH_TOL, band_hi=FRESH_TOL,
                                             unit="nats"),), tolerance=f"within ±{FRESH_TOL:g} nats", judged=False))
    return [Record("P27", parts=tuple(parts), recipe=PAPER_RECIPE, figure=FIG + "saturation.png",
                   source=res("saturation"))]
