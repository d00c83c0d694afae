"""The `random_rescale` grid (P29): fresh random blocks on a trained 1-layer source, with the source's
output projections absorbed (fourfold, the default) or rescaled (every block at the depth-4
multiplier), beside the ladder's fixed, 0-layer and copy arms (pandas; no torch).

Statement, written before the grid's rescaled runs (`STATEMENT`, committed as
`experiments/predictions/random_rescale.csv`), seed-paired against the absorbed random blocks of
the same budget T and seed:
  (a) learn   the fresh blocks' mean ablation cost at T (`ablation.csv`, `scripts/block_ablation.py`)
              is at least FRESH_COST_RATIO times the absorbed random blocks', at every T;
  (b) lower   the rescaled random blocks' final loss is below the absorbed ones' at LOWER_AT;
  (c) best    at TOP_T they end at or below the rescaled copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis.ablation import dominance_table

FRESH_COST_RATIO = 5.0
LOWER_AT = (10000, 40000)
TOP_T = 40000
KEY = ["steps_T", "seed"]
ARMS = ("fixed", "zero", "copy_absorb", "copy_rescale", "random_absorb", "random_rescale")
LABELS = {"fixed": "fixed", "zero": "0-layer source", "copy_absorb": "copy (absorbed)",
          "copy_rescale": "copy (rescaled)", "random_absorb": "random (absorbed)", "random_rescale": "random (rescaled)"}

STATEMENT = pd.DataFrame([
    dict(part="a", steps_T="2500, 10000, 40000", quantity="fresh blocks' mean ablation cost at T, rescaled / absorbed",
         bound=f">= {FRESH_COST_RATIO:g}", reference="absorbed random blocks at d = 64 (copy_symmetry): 0.001-0.2 nats; "
                                                      "0-layer source's fresh blocks at d = 32 (ladder): 0.09-1.5"),
    dict(part="b", steps_T="10000, 40000", quantity="final loss, rescaled - absorbed random blocks (nats)",
         bound="< 0 (95% interval)", reference="at d = 64, T = 10,000 the absorbed random blocks end 0.006-0.021 "
                                               "nats below the absorbed copy"),
    dict(part="c", steps_T="40000", quantity="final loss, rescaled random blocks - rescaled copy (nats)",
         bound="<= 0 (mean)", reference="rescaled copy (copy_multiplier) 1.535 at T = 40,000, 3 seeds"),
])


def write_statement(path) -> pd.DataFrame:
    """`STATEMENT` written to `path` (CSV; refused when it exists: stated once, before the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    path.parent.mkdir(parents=True, exist_ok=True)
    STATEMENT.to_csv(path, index=False)
    return STATEMENT


def arm_of(runs: pd.DataFrame) -> np.ndarray:
    """Each run's arm (one of ARMS) from its source, init and old_blocks tags."""
    return np.select([runs.source < 0, runs.source == 0],
                     ["fixed", "zero"], runs.init.astype(str) + "_" + runs.old_blocks.astype(str))


def arms(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (steps_T, seed) with each arm's final loss (columns ARMS; NaN where a run has not
    ended)."""
    wide = runs.assign(arm=arm_of(runs)).pivot_table(index=KEY, columns="arm", values="final_val_loss")
    return wide.reindex(columns=list(ARMS)).reset_index()


def gaps(wide: pd.DataFrame) -> pd.DataFrame:
    """`arms` with each progressive arm's final loss over the fixed run's of the same T and seed,
    minus 1 (a relative gap; the fixed column dropped)."""
    out = wide[KEY].copy()
    for arm in ARMS[1:]:
        out[arm] = wide[arm] / wide["fixed"] - 1.0
    return out


def block_costs(folder: Path | str) -> pd.DataFrame:
    """One row per grown run with an ablation (`ablation.csv`): steps_T, seed, arm, the mean ablation
    cost of blocks 1 .. L-1 (nats; the blocks a 1-layer source gets new, three of the 0-layer
    source's four fresh blocks) and block 0's dominance; empty before the ablation table."""
    cols = KEY + ["arm", "cost", "dominance"]
    t = dominance_table(folder)
    if t.empty:
        return pd.DataFrame(columns=cols)
    t = t[t.source >= 0]
    fresh = [c for c in t if c.startswith("ablation_") and c != "ablation_0"]
    return t.assign(arm=arm_of(t), cost=t[fresh].mean(axis=1))[cols].reset_index(drop=True)


def fresh_costs(folder: Path | str) -> pd.DataFrame:
    """One row per (steps_T, seed) of the 1-layer source grown with random blocks: the new blocks'
    mean ablation cost (nats) and block 0's dominance per old_blocks policy (columns cost_absorb,
    cost_rescale, dominance_absorb, dominance_rescale)."""
    cols = ["cost_absorb", "cost_rescale", "dominance_absorb", "dominance_rescale"]
    t = block_costs(folder)
    t = t[t.arm.isin(["random_absorb", "random_rescale"])]
    if t.empty:
        return pd.DataFrame(columns=KEY + cols)
    wide = t.assign(policy=t.arm.str.split("_").str[1]).pivot_table(index=KEY, columns="policy",
                                                                    values=["cost", "dominance"])
    wide.columns = [f"{q}_{p}" for q, p in wide.columns]
    return wide.reindex(columns=cols).reset_index()
