"""The `copy_multiplier` grid (P28): the ladder's absorbed copy against the 1-layer source's weights
copied as trained, every block at the depth-4 multiplier (pandas; no torch).

Statements, written before the grid's new runs (`write_statement`), each a bound per budget T on
a seed-paired quantity of the rescaled copy (`old_blocks = "rescale"`) against a reference the
ladder has measured:
  (a) spike      its loss change at tau (`growth_stats`: loss_grown - loss) is at most half the
                 absorbed copy's of the same seed;
  (b) norms      its mean attention and MLP output-projection Frobenius norms at T are at most
                 NORM_RATIO times the fixed run's of the same seed (`norms.csv`, measured from the
                 final checkpoints by `scripts/copy_norms.py`);
  (c) loss       its final loss is at most the absorbed copy's of the same seed, and at the top
                 budget at most the 0-layer source's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis.stats import mean_ci

NORM_RATIO = 1.5
SPIKE_SHARE = 0.5
TOP_T = 40000
KEY = ["steps_T", "seed"]


def arms(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per (steps_T, seed) with the final loss of each arm: fixed, zero (0-layer random),
    absorbed and rescaled (1-layer copies); NaN where a run has not ended."""
    name = np.select([runs.source < 0, runs.source == 0, runs.old_blocks == "rescale"],
                     ["fixed", "zero", "rescaled"], "absorbed")
    wide = runs.assign(arm=name).pivot_table(index=KEY, columns="arm", values="final_val_loss")
    return wide.reindex(columns=["fixed", "zero", "absorbed", "rescaled"]).reset_index()


def spikes(runs: pd.DataFrame, growth: pd.DataFrame) -> pd.DataFrame:
    """One row per (steps_T, seed): the loss change at tau of the absorbed and the rescaled copy."""
    g = growth.merge(runs[["run_id", "source", "old_blocks"] + KEY], on="run_id")
    g = g[g.source == 1].assign(change=lambda d: d.loss_grown - d.loss)
    return g.pivot_table(index=KEY, columns="old_blocks", values="change").reset_index()


def statement(ladder_runs: pd.DataFrame, ladder_growth: pd.DataFrame, budgets=(2500, 10000, 40000)) -> pd.DataFrame:
    """The bounds of (a)-(c) from the ladder's measured runs: rows part, steps_T, quantity,
    bound (the rescaled copy's seed mean must be at most this), reference (what the bound is
    made of)."""
    wsd = ladder_runs[(ladder_runs.schedule == "wsd") & ladder_runs.steps_T.isin(budgets)
                      & ((ladder_runs.source < 0) | np.isclose(ladder_runs.tau, 0.8))]
    loss = wsd.groupby(["steps_T", "source"]).final_val_loss.mean()
    g = ladder_growth.merge(wsd[["run_id", "source", "steps_T"]], on="run_id")
    change = g[g.source == 1].assign(c=lambda d: d.loss_grown - d.loss).groupby("steps_T").c.mean()
    rows = []
    for T in budgets:
        rows.append(dict(part="a", steps_T=T, quantity="loss change at tau (nats)", bound=SPIKE_SHARE * change[T],
                         reference=f"half the absorbed copy's {change[T]:.3f}"))
        rows.append(dict(part="b", steps_T=T, quantity="output-projection norm / fixed run's", bound=NORM_RATIO,
                         reference="absorbed copy 2.5-4x at T = 10,000 and 40,000 (ladder checkpoints)"))
        rows.append(dict(part="c", steps_T=T, quantity="final loss (nats)", bound=loss[(T, 1)],
                         reference=f"absorbed copy {loss[(T, 1)]:.4f}"))
        if T == max(budgets):
            rows.append(dict(part="c", steps_T=T, quantity="final loss (nats)", bound=loss[(T, 0)],
                             reference=f"0-layer source {loss[(T, 0)]:.4f}"))
    return pd.DataFrame(rows)


def write_statement(path, root="experiments/results") -> pd.DataFrame:
    """`statement` from the ladder's committed results, written to `path` (CSV; refused when it
    exists: stated once, before the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    ladder = Path(root) / "ladder"
    table = statement(pd.read_csv(ladder / "runs.csv"), pd.read_json(ladder / "growth_stats.jsonl", lines=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.4f")
    return table


def paired(wide: pd.DataFrame, a: str, b: str) -> pd.DataFrame:
    """Per steps_T: the seed-paired difference a - b of two columns of `wide` (`arms`, `spikes`),
    mean with its 95% interval: rows steps_T, n_seeds, diff, lo, hi."""
    rows = []
    for T, g in wide.dropna(subset=[a, b]).groupby("steps_T"):
        mean, lo, hi, n = mean_ci((g[a] - g[b]).to_numpy())
        rows.append(dict(steps_T=int(T), n_seeds=n, diff=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["steps_T", "n_seeds", "diff", "lo", "hi"])


def norm_ratios(runs: pd.DataFrame, norms: pd.DataFrame) -> pd.DataFrame:
    """Per progressive copy run with a fixed partner (same steps_T and seed): the mean of its
    attention and MLP output-projection norms over the fixed run's (`norms`: run_id, attn_proj,
    mlp_proj): rows steps_T, seed, arm (absorbed / rescaled), ratio."""
    n = norms.set_index("run_id")
    size = (n.attn_proj + n.mlp_proj) / 2
    r = runs[runs.run_id.isin(size.index)]
    fixed = r[r.source < 0].set_index(KEY).run_id
    rows = []
    for x in r[r.source == 1].itertuples():
        key = (x.steps_T, x.seed)
        if key in fixed.index:
            rows.append(dict(steps_T=int(x.steps_T), seed=int(x.seed),
                             arm="rescaled" if x.old_blocks == "rescale" else "absorbed",
                             ratio=float(size[x.run_id] / size[fixed[key]])))
    return pd.DataFrame(rows, columns=["steps_T", "seed", "arm", "ratio"])
