"""P23: the loss change of the first updates of new blocks (the `jolt` probes) against its
prediction from the update statistics at tau (`theory.jolt`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.report import data
from progtheory.report.data import FIG, res
from progtheory.report.rule import Condition, Part, Record

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


def p23_records(root: str) -> list[Record]:
    """P23 from the `jolt` probes, per recipe and (source, init, s): the loss change after the
    first update (both models of `theory.jolt` agree there) and the peak over the first 10
    updates (the line model), predicted from each probe's update statistics at tau, against
    the measured one; the constant-gradient model's peak and the LR ramp it implies are
    reported.  The same two parts along the first update's own training batch
    (``update_train``) for the probes that logged it (the second prediction of
    `experiments/jolt.py`)."""
    loaded = data.load("jolt", root)
    if loaded is None:
        return []
    seeds = ", ".join(map(str, sorted(loaded[0].seed.unique())))
    return [_jolt_record(per, recipe, seeds)
            for recipe, per in A.jolt_peaks(A.jolt_scores(Path(root) / "jolt")).groupby("recipe", sort=True)]


def _jolt_record(per: pd.DataFrame, recipe: str, seeds: str) -> Record:
    """P23's record of one recipe's probes (`analysis.jolt_peaks` rows)."""
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
    lines = [f"probes: {per.run_id.nunique()} (seeds {seeds}), each stopped 10 updates after its growth step; "
             "the old parameters train as usual",
             f"LR ramp (`GrowthPlan.rewarmup_steps`) that keeps the constant-gradient jolt within {JOLT_BUDGET} "
             "nats over 10 updates (`theory.jolt.rewarmup_for_jolt`, median over seeds): " + ", ".join(ramps)]
    if aligned:
        lines.append("alignment (the first update's slope along its training batch's direction over the slope "
                     "along the statistics batch's own): " + ", ".join(aligned))
    return Record("P23", parts=tuple(parts), recipe=recipe, figure=FIG + "jolt.png", source=res("jolt"),
                  detail=tuple(lines))
