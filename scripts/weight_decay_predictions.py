"""State the memory model's predictions for every held-out run of `weight_decay` (P25), once.

The model (`analysis.memory`, `theory.weight_decay.forgetting_gap`) is fitted per source on the
pilots (recipe, T = 10,000, tau = 0.8T, lam in {0.01, 0.3}, seeds 0-2).  For each held-out
progressive condition it states either the gap (at the pilots' T and tau) or the ratio of the
gap to the same condition's gap at lam = 0.01 (elsewhere).  Where that lam = 0.01 gap is already
measured (the `ladder` runs the grid shares), the ratio is also turned into a gap.  Intervals:
5-95% over a bootstrap of the pilot seeds (seed noise of the two pilot gaps only).

    python scripts/weight_decay_predictions.py            # writes experiments/predictions/weight_decay.csv

Refuses to overwrite: predictions are stated once, before their runs.
"""

import argparse
from pathlib import Path

import pandas as pd

from progtheory.analysis import memory as M


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default="experiments/results/weight_decay", help="the pilots' results folder")
    p.add_argument("--out", default="experiments/predictions/weight_decay.csv")
    args = p.parse_args()
    runs = pd.read_csv(Path(args.results) / "runs.csv")
    try:
        table = M.write_predictions(runs, args.out)
    except FileExistsError as e:
        raise SystemExit(str(e)) from None
    fits = M.fit_pilots(M.measured_gaps(runs))
    print("pilot fits (gap_0, floor), percent:", {s: tuple(round(v, 2) for v in f) for s, f in fits.items()})
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
