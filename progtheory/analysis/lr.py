"""LR sweeps: the optimum per group (refined in log LR, flagged at the grid edge), the optima
`predict_lr` expects, the measured depth exponent e in lr* ~ L^e, and the peak LR that decides
a verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def lr_order(runs: pd.DataFrame, tuned: float | None = None) -> list[float]:
    """The peak LRs of a results table, the one with most finished runs first (`tuned` wins
    ties, then the larger LR): the LR whose runs decide a verdict or a main figure."""
    count = runs.groupby("lr", dropna=False).size()
    return sorted(runs.lr.unique(), key=lambda lr: (-int(count.get(lr, len(runs))),
                                                   tuned is None or not np.isclose(lr, tuned), -lr))


def lr_optima(runs: pd.DataFrame, by: list[str], lr: str = "lr", loss: str = "final_val_loss") -> pd.DataFrame:
    """Optimal LR per group from a grid: the grid LR with the lowest seed-mean loss, refined by a
    parabola through log10(lr) and its two neighbours (the vertex, clipped to them).

    Columns: by..., lr_best (grid), lr_opt (refined), loss_best, n_lrs, at_edge (True when the
    grid minimum is the smallest or largest LR tried: the optimum is then not found, only bounded,
    and must not be reported as measured), n_seeds.  Diverged runs (no final loss) count as
    +inf.  Only seeds that ran every LR of their group's grid are used, so each LR is averaged
    over the same seeds (a sweep stopped part-way leaves no bias).
    """
    rows = []
    for key, g in runs.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if "seed" in g:
            full = g.groupby("seed")[lr].nunique()
            g = g[g.seed.isin(full[full == g[lr].nunique()].index)]
        curve = g.assign(_loss=g[loss].astype(float).fillna(np.inf)).groupby(lr)._loss.mean().sort_index()
        lrs, losses = curve.index.to_numpy(dtype=float), curve.to_numpy()
        i = int(np.argmin(losses))
        at_edge = i in (0, len(lrs) - 1)
        opt = lrs[i]
        if not at_edge and np.all(np.isfinite(losses[i - 1:i + 2])):
            x, y = np.log10(lrs[i - 1:i + 2]), losses[i - 1:i + 2]
            a, b, _ = np.polyfit(x, y, 2)
            if a > 0:
                opt = float(10 ** np.clip(-b / (2 * a), x[0], x[-1]))
        rows.append({**dict(zip(by, key)), "lr_best": lrs[i], "lr_opt": opt, "loss_best": losses[i],
                     "n_lrs": len(lrs), "at_edge": at_edge,
                     "n_seeds": g.seed.nunique() if "seed" in g else 1})
    return pd.DataFrame(rows)


def predicted_lr_optima(optima: pd.DataFrame, *, base_depth: int, base_width: int | None = None,
                        optimizer: str = "adamw") -> pd.DataFrame:
    """The LR each (parametrization[, width], depth) should need, in the user's (base) units,
    anchored at the measured optimum at (base_depth[, base_width]) of the same parametrization.

    predicted = predict_lr(L, w) / m(L, w), where m is the hidden-matrix multiplier the
    trainer already applies (`theory.parametrization.lr_multipliers`): for sp m = 1, so the
    user must pass predict_lr itself (under AdamW its measured depth exponent; it has no width
    rule, see `predict_lr`); for depth-mup the trainer applies the whole factor, so the base-LR
    optimum is predicted flat.  Rows whose anchor optimum is missing, or for which `predict_lr`
    has no rule (sp off the base width), are left out.
    """
    from progtheory.theory.parametrization import lr_multipliers, predict_lr

    has_w = "width" in optima
    rows = []
    for par, g in optima.groupby("parametrization"):
        w0 = base_width if has_w else None
        anchor = g[(g.depth == base_depth) & ((g.width == w0) if has_w else True)]
        if anchor.empty:
            continue
        base_lr = float(anchor.lr_opt.iloc[0])
        for r in g.itertuples():
            w = int(r.width) if has_w else None
            try:
                lr = predict_lr(int(r.depth), base_depth=base_depth, base_lr=base_lr, parametrization=par,
                                optimizer=optimizer, width=w, base_width=w0)
            except ValueError:  # no rule for this shape
                continue
            m = lr_multipliers(par, optimizer, depth=int(r.depth), base_depth=base_depth,
                               width=w or 1, base_width=w0 or 1)["hidden"]
            rows.append({"parametrization": par, **({"width": w} if has_w else {}), "depth": int(r.depth),
                         "lr": lr / m, "anchor_lr": base_lr})
    return pd.DataFrame(rows)


def exponent_ci(optima: pd.DataFrame, level: float = 0.95) -> tuple[float, float, float, int]:
    """(e, low, high, n): the least-squares slope e of log lr_opt against log depth over the rows
    of `optima` (the measured e in lr* ~ L^e) with a Student-t interval (n = depths, n - 2
    degrees of freedom; none below 3 depths, no slope below 2).  The slope is rounded to 12
    decimals: equal optima give exactly 0, not the last bits of the least-squares solve (which
    differ between BLAS builds and would change the report)."""
    x, y = np.log(optima.depth.astype(float)), np.log(optima.lr_opt.astype(float))
    n = len(optima)
    if n < 3:
        return (round(float(np.polyfit(x, y, 1)[0]), 12) + 0.0 if n == 2 else np.nan), np.nan, np.nan, n
    slope, intercept = np.polyfit(x, y, 1)
    slope = round(float(slope), 12) + 0.0
    resid = y - (slope * x + intercept)
    stderr = np.sqrt((resid ** 2).sum() / (n - 2) / ((x - x.mean()) ** 2).sum())
    half = float(stats.t.ppf(0.5 + level / 2, n - 2) * stderr)
    return float(slope), float(slope) - half, float(slope) + half, n


def depth_exponent(optima: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """`exponent_ci` per group of `by`: columns by..., exponent, lo, hi, n_depths and n_at_edge
    (optima that are only grid bounds)."""
    rows = []
    for key, g in optima.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        e, lo, hi, n = exponent_ci(g)
        rows.append({**dict(zip(by, key)), "exponent": float(e), "lo": lo, "hi": hi, "n_depths": n,
                     "n_at_edge": int(g.at_edge.sum())})
    return pd.DataFrame(rows)


def tuned_lr(runs: pd.DataFrame, lr: str = "lr", loss: str = "final_val_loss") -> dict:
    """The best grid LR of one LR sweep (e.g. `baseline_lr`): {"lr", "loss", "at_edge", "n"},
    with n the seeds at that LR.  `at_edge` True means the optimum is only bounded by the grid."""
    o = lr_optima(runs.assign(_all=0), ["_all"], lr=lr, loss=loss).iloc[0]
    best = float(o.lr_best)
    return {"lr": best, "loss": float(o.loss_best), "at_edge": bool(o.at_edge),
            "n": int((runs[lr].astype(float) == best).sum())}
