"""The conditions most predictions share: a final gap against the paper's parity, a paired
difference over seeds, the ratio of two mixing times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory import analysis as A
from progtheory.report.rule import Condition

PARITY = 0.005  # the paper's "within 0.5%" of the fixed-size loss
SPIKE_TOL = A.SPIKE_TOL  # nats: a loss jump at tau below this is no spike


def mixes(label: str, ci: tuple) -> Condition:
    """A final gap that must lie at or below the paper's parity (+0.5%)."""
    return Condition.from_ci(label, ci, band_hi=PARITY)


def stays(label: str, ci: tuple) -> Condition:
    """A final gap that must lie above the paper's parity (the run does not mix)."""
    return Condition.from_ci(label, ci, band_lo=PARITY)


def ratio(a: float, b: float) -> float:
    """a / b for mixing times, where 0 / 0 (both mix at once) is 1 and a / 0 is inf."""
    return float(a / b) if b > 0 else (1.0 if a == 0 else np.inf)


def gap_ci(x) -> tuple:
    """The (mean, lo, hi, n) of the relative gap of a row of `analysis.summarize`."""
    return x.rel_gap, x.rel_gap_lo, x.rel_gap_hi, int(x.rel_gap_n)


def paired(table: pd.DataFrame, col: str, a, b, value: str = "rel_gap") -> tuple:
    """mean_ci over seeds of value(col == a) - value(col == b), seeds that ran both."""
    wide = table.pivot_table(index="seed", columns=col, values=value)
    if a not in wide or b not in wide:
        return np.nan, np.nan, np.nan, 0
    return A.mean_ci((wide[a] - wide[b]).dropna())
