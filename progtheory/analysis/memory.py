"""The memory model of the progressive gap (`theory.weight_decay.forgetting_gap`) fitted on the
`weight_decay` pilots, and its predictions for the held-out runs (pandas; no torch).

Reading (P25): with decoupled weight decay lam, the weights at the end keep the share
exp(-lam * A) of their state at tau (A: the LR area after tau), so the part of the gap the
grown model inherits from its late start decays with lam * A:

    gap(lam) = floor + (gap_0 - floor) * exp(-lam * A).

The pilots (recipe, T = 10,000, tau = 0.8T, lam in {0.01, 0.3}) give gap_0 and floor per source
exactly.  At the pilots' (T, tau) the held-out lams are predicted directly.  Elsewhere (tau =
0.5T, T = 2,500, sp + AdamW) the model predicts the gap relative to the same condition's gap at
lam = 0.01, with the pilots' floor share rho = floor / gap_0 and that condition's own A:

    gap(lam) / gap(0.01) = (rho + (1 - rho) exp(-lam A)) / (rho + (1 - rho) exp(-0.01 A)).

Gaps are paired: each progressive run against the fixed run of the same recipe, T, lam and seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.analysis.gap_model import schedule_of
from progtheory.analysis.stats import paired_gaps
from progtheory.presets import RECIPE_LR, TUNED_LR
from progtheory.theory import weight_decay as WD

PEAK_LR = {"recipe": RECIPE_LR, "tuned": TUNED_LR}
PILOT = ("recipe", 10000, 0.8)          # (recipe, T, tau) of the pilots
PILOT_LAMS = (0.01, 0.3)
ANCHOR_LAM = 0.01                       # the held-out ratios are taken against this lam


def lr_area_after(recipe: str, T: int, tau: float) -> float:
    """A: the LR area after step round(tau * T) of the project's WSD schedule at the recipe's peak LR."""
    if recipe not in PEAK_LR:
        raise ValueError(f"recipe={recipe!r} is unknown; choose one of {sorted(PEAK_LR)}")
    return WD.lr_area(schedule_of(PEAK_LR[recipe], "wsd", int(T)), round(tau * T))


def measured_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean relative final gap (percent) per (recipe, steps_T, tau, source, lam), each
    progressive run against the fixed run of the same recipe, T, lam and seed
    (`stats.paired_gaps`); n_seeds pairs."""
    rows = []
    for (rec, T, tau, src, lam), _, gaps in paired_gaps(runs, ("recipe", "steps_T", "lam", "seed"),
                                                        ("recipe", "steps_T", "tau", "source", "lam")):
        rows.append({"recipe": rec, "T": int(T), "tau": float(tau), "source": int(src), "lam": float(lam),
                     "n_seeds": len(gaps), "gap": float(np.mean(100 * gaps))})
    return pd.DataFrame(rows)


def fit_pilots(gaps: pd.DataFrame) -> dict[int, tuple[float, float]]:
    """{source: (gap_0, floor)} from the pilot condition's gaps at PILOT_LAMS."""
    rec, T, tau = PILOT
    A = lr_area_after(rec, T, tau)
    out = {}
    for src, g in gaps[(gaps.recipe == rec) & (gaps["T"] == T) & np.isclose(gaps.tau, tau)].groupby("source"):
        g = g[g.lam.isin(PILOT_LAMS)]
        if len(g) < len(PILOT_LAMS):
            raise ValueError(f"source {src}: the pilots need gaps at lam = {PILOT_LAMS}, have {sorted(g.lam)}")
        out[int(src)] = WD.fit_forgetting(A * g.lam.to_numpy(), g.gap.to_numpy())
    if not out:
        raise ValueError(f"no pilot runs at {PILOT} yet; train `weight_decay --only role=pilot` first")
    return out


def predict(fits: dict, recipe: str, T: int, tau: float, source: int, lam: float) -> dict:
    """The model's statement for one held-out condition: at the pilots' (recipe, T, tau) the gap
    itself ({"gap": percent}); elsewhere the ratio to the same condition at ANCHOR_LAM ({"ratio"})."""
    gap_0, floor = fits[source]
    A = lr_area_after(recipe, T, tau)
    if (recipe, T, tau) == PILOT:
        return {"gap": float(WD.forgetting_gap(lam * A, gap_0, floor))}
    rho = floor / gap_0
    return {"ratio": float((rho + (1 - rho) * np.exp(-lam * A)) / (rho + (1 - rho) * np.exp(-ANCHOR_LAM * A)))}
