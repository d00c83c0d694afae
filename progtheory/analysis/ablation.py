"""Block dominance from block-ablation costs (`train.ablation.block_ablation`, written per run by
`scripts/block_ablation.py`; pandas, no torch).

The dominance of block 0 is a_0 / mean(a_1 .. a_(L-1)), a_i the loss rise when block i is
skipped.  A fixed model trained at its full depth spreads the cost over its blocks (about 1); a
grown model that uses its new blocks as refinements of its first one concentrates it there.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ABLATION = "ablation.csv"  # per results folder, `scripts/block_ablation.py`


def dominance(ablation: pd.DataFrame) -> pd.Series:
    """Block 0's ablation cost over the mean cost of the other blocks, per row of an ablation
    table (columns ablation_0 .. ablation_(L-1)); indexed like `ablation`."""
    cols = sorted((c for c in ablation if c.startswith("ablation_")), key=lambda c: int(c.split("_")[1]))
    if len(cols) < 2:
        raise ValueError(f"need the ablation costs of at least two blocks, got columns {cols}")
    return ablation[cols[0]] / ablation[cols[1:]].mean(axis=1)


def dominance_table(folder: Path | str) -> pd.DataFrame:
    """A results folder's runs.csv joined with its ablation table: every runs.csv column, loss (the
    checkpoint's, on the run's validation batches), the ablation costs and dominance; empty when the
    folder has no ablation table."""
    folder = Path(folder)
    if not (folder / ABLATION).is_file():
        return pd.DataFrame()
    a = pd.read_csv(folder / ABLATION)
    runs = pd.read_csv(folder / "runs.csv")
    t = runs.merge(a.drop(columns=["step", "recorded"], errors="ignore"), on="run_id")
    return t.assign(dominance=dominance(t))
