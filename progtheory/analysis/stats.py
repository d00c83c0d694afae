"""Statistics over seeds and runs: Student-t intervals, group summaries, seed-mean curves, the
relative final gap of each progressive run to its fixed twin, and a bootstrap test of one rank
correlation against another."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

MIN_STEP = 200  # evaluations before this step are left out of every law fit (the early transient)


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, int]:
    """(mean, low, high, n) with a Student-t interval; low = high = mean when n = 1."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    m = float(v.mean())
    if n == 1:
        return m, m, m, 1
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half, n


def summarize(table: pd.DataFrame, by: list[str], columns: list[str]) -> pd.DataFrame:
    """Mean, 95% CI over seeds of each column (non-finite values left out), per group; n = runs."""
    out = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        for c in columns:
            m, lo, hi, n = mean_ci(g[c])
            row.update({c: m, f"{c}_lo": lo, f"{c}_hi": hi, f"{c}_n": n})
        row["n"] = len(g)
        out.append(row)
    return pd.DataFrame(out)


def mean_curves(runs: pd.DataFrame, metrics: pd.DataFrame, by: list[str], value: str = "val_loss") -> pd.DataFrame:
    """Per group and step: mean, 95% CI and n of `value` over seeds (rows with the value only)."""
    m = metrics.merge(runs[["run_id"]], on="run_id")
    m = m[m[value].notna()]
    rows = []
    for key, g in m.groupby(by + ["step"], sort=True):
        mean, lo, hi, n = mean_ci(g[value])
        rows.append({**dict(zip(by + ["step"], key)), value: mean, "lo": lo, "hi": hi, "n": n,
                     "flops": float(g.flops.mean())})
    return pd.DataFrame(rows)


def correlation_against_null(table: pd.DataFrame, x: str = "r_tau", null: str = "tau", y: str = "rel_gap",
                             n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """P7's test: does `x` (r(tau)) order the final gaps better than the null `null` (tau/T)?

    Spearman rho(x, y) and rho(null, y) over the rows of `table` (runs pooled across
    schedules, where r(tau) and tau/T differ), and a percentile bootstrap interval on their
    difference from `n_boot` resamples of the rows (both correlations on the same resample,
    so their dependence is kept).  Resamples in which a column is constant are left out.
    Returns dict(rho_x, rho_null, diff, lo, hi, n)."""
    data = table[[x, null, y]].astype(float).dropna().to_numpy()
    n = len(data)
    if n < 3:
        return dict(rho_x=np.nan, rho_null=np.nan, diff=np.nan, lo=np.nan, hi=np.nan, n=n)
    ranks = lambda a: stats.rankdata(a, axis=0)  # noqa: E731

    def rhos(d):
        r = ranks(d)
        c = np.corrcoef(r, rowvar=False)
        return c[0, 2], c[1, 2]

    rx, rn = rhos(data)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        d = data[rng.integers(0, n, n)]
        if (d.std(axis=0) == 0).any():
            continue
        a, b = rhos(d)
        diffs.append(a - b)
    lo, hi = np.quantile(diffs, [0.5 - level / 2, 0.5 + level / 2])
    return dict(rho_x=float(rx), rho_null=float(rn), diff=float(rx - rn), lo=float(lo), hi=float(hi), n=n)


def mean_curve(metrics: pd.DataFrame, run_ids=None, column: str = "val_loss",
               min_step: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, lr, mean of `column`) over the runs `run_ids` (default: every run in `metrics`)
    at every logged step: lr the mean over the runs, the value the mean over the runs that
    logged it, a run listed k times weighing k times (a bootstrap draw); NaN where no listed
    run logged the value or the step is before `min_step`."""
    ids = metrics.run_id.unique() if run_ids is None else list(run_ids)
    weight = pd.Series(ids).value_counts()
    m = metrics[metrics.run_id.isin(weight.index)]
    w = m.run_id.map(weight).to_numpy(dtype=float) * m[column].notna().to_numpy()
    frame = pd.DataFrame({"step": m.step.to_numpy(), "lr": m.lr.to_numpy(), "w": w,
                          "wy": np.nan_to_num(m[column].to_numpy(dtype=float)) * w})
    g = frame.groupby("step").sum().sort_index()
    lr = frame.groupby("step").lr.mean().sort_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(g.w > 0, g.wy / g.w, np.nan)
    steps = g.index.to_numpy(dtype=int)
    y = np.array(y, dtype=float)
    y[steps < min_step] = np.nan
    return steps, lr.to_numpy(dtype=float), y


def val_curve(metrics: pd.DataFrame, run_ids=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The seed-mean validation curve from MIN_STEP on (`mean_curve`): what every law fit reads."""
    return mean_curve(metrics, run_ids, "val_loss", MIN_STEP)


def paired_gaps(runs: pd.DataFrame, on, by, loss: str = "final_val_loss"):
    """The relative final gap of each progressive run (source >= 0) to the fixed run (source < 0)
    that shares its tags `on` (e.g. schedule, steps_T and seed), per condition.

    Yields (key, rows, gaps) for each group of the progressive runs by the tags `by` (two or
    more) that holds a paired run: key the group's values of `by`, rows the group's runs
    (paired or not), gaps loss / loss_fixed - 1 of its paired runs (fractions, in row order)."""
    fixed = runs[runs.source < 0].set_index(list(on))[loss]
    for key, g in runs[runs.source >= 0].groupby(list(by)):
        pairs = [(getattr(r, loss), tuple(getattr(r, c) for c in on)) for r in g.itertuples()]
        gaps = [value / fixed[k] - 1 for value, k in pairs if k in fixed]
        if gaps:
            yield key, g, np.asarray(gaps)
