"""Calibrated LR transfer: fit lr* = c * L^e * w^f from a small LR sweep (numpy / scipy; no torch).

A user who has run an LR grid at a few (depth, width) shapes calls `fit_lr_transfer(rows)` and
passes the returned `LRCalibration` to `predict_lr(..., calibration=cal)`.  The steps:

  1. Per (depth, width, seed): the grid LR with the lowest final loss; when it is interior, a
     parabola in ln(lr) through it and its two neighbours gives the optimum (the vertex) and the
     curvature k = d^2 loss / d(ln lr)^2 there.  An optimum at the smallest or largest LR tried,
     a grid of fewer than 3 LRs, a non-convex parabola or a diverged neighbour is *flagged* (kept
     in `LRCalibration.optima` with its reason) and left out of the fit: it is only a bound.
  2. ln lr* = ln c + e ln L + f ln w by ordinary least squares over the found optima (f is fitted
     only when the found optima span >= 2 widths; otherwise the calibration holds at its one
     width and says so).
  3. Intervals: a bootstrap over seeds (seeds drawn with replacement, every shape of a drawn
     seed kept together, the fit repeated), percentile intervals.  One seed gives no interval.

Assumptions: the loss is smooth and roughly quadratic in ln(lr) within one grid step of the
optimum (true near a minimum; the grid step sets the resolution, x sqrt(2) or x2 grids are
typical); the power law in L and w holds over the fitted shapes; seeds are exchangeable.
Extrapolation beyond the fitted depths and widths is the user's risk and is what the
held-out score (`score_held_out`) measures.  Sources: the quadratic-vertex refinement of a
grid optimum is standard (e.g. Wortsman et al. 2023, "Small-scale proxies for large-scale
Transformer training instabilities", LR sensitivity); fitting power laws of lr* in model size
by least squares in logs follows Bjorck et al. 2024 and Everett et al. 2024 ("Scaling exponents
across parameterizations and optimizers").
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

COLUMNS = ("depth", "width", "lr", "seed")
HELD_OUT_TARGET = 1.3  # the held-out target: predicted/measured within x1.3 at every held-out shape


@dataclass(frozen=True)
class Optimum:
    """The LR optimum of one (depth, width, seed) grid.

    lr_opt: parabola vertex in ln(lr) (found) or the best grid LR (flagged: a bound only);
    loss: the loss at lr_opt (parabola value, or the grid loss when flagged); curvature:
    d^2 loss / d(ln lr)^2 at the vertex in nats (nan when flagged); flag: "" when found, else
    why the optimum is not located ("low edge", "high edge", "too few LRs", "not convex",
    "diverged neighbour", "all diverged")."""

    depth: int
    width: int
    seed: object
    lr_opt: float
    lr_best: float
    loss: float
    curvature: float
    n_lrs: int
    flag: str = ""

    @property
    def found(self) -> bool:
        return not self.flag


def _number(row: dict, key: str, i: int) -> float:
    try:
        v = row[key]
    except KeyError:
        raise ValueError(f"results row {i} has no {key!r} column; every row needs {COLUMNS} and the loss") from None
    if isinstance(v, bool) or v is None or v == "":
        raise ValueError(f"results row {i}: {key}={v!r} is not a number")
    try:
        return float(v)
    except (TypeError, ValueError):
        raise ValueError(f"results row {i}: {key}={v!r} is not a number") from None


def _records(results) -> list[dict]:
    """A pandas DataFrame (anything with .to_dict("records")) or an iterable of dicts -> list of dicts."""
    if hasattr(results, "to_dict"):
        return results.to_dict("records")
    if isinstance(results, (str, bytes, dict)):
        raise ValueError(f"results must be a table (a DataFrame or a list of dicts), got {type(results).__name__}")
    return [dict(r) for r in results]


def _grids(results, loss: str) -> dict[tuple, list[tuple[float, float]]]:
    """{(depth, width, seed): [(lr, loss), ...] sorted by lr}; checks every field."""
    rows = _records(results)
    if not rows:
        raise ValueError("results are empty: fit_lr_transfer needs an LR grid at >= 2 depths")
    grids: dict[tuple, dict[float, float]] = {}
    for i, r in enumerate(rows):
        depth, lr = _number(r, "depth", i), _number(r, "lr", i)
        width = _number(r, "width", i) if "width" in r else 0.0
        y = _number(r, loss, i) if r.get(loss) not in (None, "") else math.nan  # a missing loss: diverged
        if "seed" not in r:
            raise ValueError(f"results row {i} has no 'seed' column; every row needs {COLUMNS} and the loss")
        if not (math.isfinite(depth) and depth >= 1 and depth == int(depth)):
            raise ValueError(f"results row {i}: depth={r['depth']!r} must be a whole number >= 1")
        if not (math.isfinite(width) and (width >= 1 or "width" not in r) and width == int(width)):
            raise ValueError(f"results row {i}: width={r['width']!r} must be a whole number >= 1")
        if not (math.isfinite(lr) and lr > 0):
            raise ValueError(f"results row {i}: lr={r['lr']!r} must be a finite number > 0")
        key = (int(depth), int(width), r["seed"])
        grid = grids.setdefault(key, {})
        if lr in grid:
            raise ValueError(f"results hold two rows for depth={key[0]}, width={key[1]}, seed={key[2]!r}, lr={lr:g}; "
                             "drop the duplicate run")
        grid[lr] = y
    return {k: sorted(g.items()) for k, g in sorted(grids.items(), key=lambda kv: tuple(map(str, kv[0])))}


def grid_optimum(lrs, losses) -> tuple[float, float, float, str]:
    """(lr_opt, loss_opt, curvature, flag) of one LR grid (lrs ascending).

    Non-finite losses count as diverged (+inf).  Found: the vertex of the parabola in ln(lr)
    through the best grid point and its two neighbours, its value and its curvature 2a
    (nats per (ln lr)^2).  Otherwise the best grid point, nan curvature and the flag."""
    x = np.log(np.asarray(lrs, dtype=float))
    y = np.asarray(losses, dtype=float)
    y = np.where(np.isfinite(y), y, np.inf)
    if not np.isfinite(y).any():
        return float(np.exp(x[0])), math.nan, math.nan, "all diverged"
    i = int(np.argmin(y))
    best = (float(np.exp(x[i])), float(y[i]), math.nan)
    if len(x) < 3:
        return (*best, "too few LRs")
    if i == 0:
        return (*best, "low edge")
    if i == len(x) - 1:
        return (*best, "high edge")
    if not np.isfinite(y[i - 1:i + 2]).all():
        return (*best, "diverged neighbour")
    a, b, c = np.polyfit(x[i - 1:i + 2], y[i - 1:i + 2], 2)
    if a <= 0:
        return (*best, "not convex")
    xv = -b / (2 * a)
    return float(np.exp(xv)), float(c - b * b / (4 * a)), float(2 * a), ""


def find_optima(results, loss: str = "final_val_loss") -> list[Optimum]:
    """`grid_optimum` for every (depth, width, seed) of a tidy results table (rows with depth,
    [width,] lr, seed and `loss`; a table without width counts as one width, stored as 0)."""
    out = []
    for (depth, width, seed), grid in _grids(results, loss).items():
        lrs, losses = zip(*grid)
        lr_opt, y, k, flag = grid_optimum(lrs, losses)
        out.append(Optimum(depth, width, seed, lr_opt, float(lrs[int(np.argmin(np.nan_to_num(losses, nan=np.inf)))]),
                           y, k, len(lrs), flag))
    return out


def _design(optima: list[Optimum], fit_width: bool) -> tuple[np.ndarray, np.ndarray]:
    cols = [np.ones(len(optima)), np.log([o.depth for o in optima])]
    if fit_width:
        cols.append(np.log([o.width for o in optima]))
    return np.column_stack(cols), np.log([o.lr_opt for o in optima])


def _lstsq(optima: list[Optimum], fit_width: bool) -> np.ndarray | None:
    """(ln c, e, f) by least squares, or None when the design cannot identify them."""
    X, y = _design(optima, fit_width)
    if len({o.depth for o in optima}) < 2 or (fit_width and len({o.width for o in optima}) < 2):
        return None
    beta = np.linalg.lstsq(X, y, rcond=None)[0]
    return np.append(beta, 0.0) if not fit_width else beta


def _bootstrap(found: list[Optimum], seeds: list, fit_width: bool, n_boot: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draws of (ln c, e, f) and of the mean curvature, seeds resampled with replacement.

    Each seed's normal equations (X'X, X'y) are summed with the draw's counts, so a draw costs
    one 3x3 solve; draws that see < 2 depths (or < 2 widths when f is fitted) are dropped."""
    if len(seeds) < 2 or n_boot == 0:
        return np.empty((0, 3)), np.empty(0)
    k = 3 if fit_width else 2
    idx = {s: i for i, s in enumerate(seeds)}
    xtx, xty = np.zeros((len(seeds), k, k)), np.zeros((len(seeds), k))
    ksum, nsum = np.zeros(len(seeds)), np.zeros(len(seeds))
    depths, widths = sorted({o.depth for o in found}), sorted({o.width for o in found})
    has_d, has_w = np.zeros((len(seeds), len(depths))), np.zeros((len(seeds), len(widths)))
    for o in found:
        i = idx[o.seed]
        x = np.array([1.0, math.log(o.depth), math.log(o.width) if fit_width else 0.0])[:k]
        xtx[i] += np.outer(x, x)
        xty[i] += x * math.log(o.lr_opt)
        ksum[i] += o.curvature
        nsum[i] += 1
        has_d[i, depths.index(o.depth)] = has_w[i, widths.index(o.width)] = 1
    counts = rng.multinomial(len(seeds), np.full(len(seeds), 1 / len(seeds)), size=n_boot).astype(float)
    ok = ((counts @ has_d) > 0).sum(1) >= 2
    if fit_width:
        ok &= ((counts @ has_w) > 0).sum(1) >= 2
    counts = counts[ok]
    beta = np.linalg.solve(np.einsum("bs,sij->bij", counts, xtx), np.einsum("bs,si->bi", counts, xty)[..., None])[..., 0]
    if not fit_width:
        beta = np.column_stack([beta, np.zeros(len(beta))])
    return beta, (counts @ ksum) / (counts @ nsum)


@dataclass(frozen=True)
class LRCalibration:
    """lr* = c * L^e * w^f fitted by `fit_lr_transfer`, in the units of the sweep's `lr` column
    (the LR the user passes to the trainer).  `boot` holds the bootstrap draws of (ln c, e, f)
    over seeds; `curvature` the mean d^2 loss / d(ln lr)^2 at the found optima (nats), with
    `curvature_boot`; `optima` every per-seed optimum, flagged ones included."""

    c: float
    e: float
    f: float
    width_fitted: bool
    depths: tuple[int, ...]
    widths: tuple[int, ...]
    seeds: tuple
    optima: tuple[Optimum, ...]
    curvature: float
    residual_sd: float
    level: float = 0.95
    parametrization: str | None = None
    optimizer: str | None = None
    boot: np.ndarray = field(default_factory=lambda: np.empty((0, 3)), repr=False, compare=False)
    curvature_boot: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False, compare=False)

    @property
    def flagged(self) -> tuple[Optimum, ...]:
        """Optima left out of the fit (grid edge, too few LRs, ...): bounds, not measurements."""
        return tuple(o for o in self.optima if o.flag)

    def _width(self, width) -> float:
        if self.width_fitted:
            if width is None:
                raise ValueError(f"this calibration spans widths {self.widths}; pass width=")
            return float(width)
        if width is not None and width != self.widths[0]:
            raise ValueError(f"width={width}: this calibration was fitted at width {self.widths[0]} only "
                             "(no width exponent); fit on >= 2 widths to predict at another width")
        return 1.0

    def predict(self, depth, width=None):
        """c * L^e * w^f (vectorized over depth)."""
        w = self._width(width)
        d = np.asarray(depth, dtype=float)
        lr = self.c * d ** self.e * w ** self.f
        return float(lr) if lr.ndim == 0 else lr

    def _percentiles(self, values: np.ndarray, level: float | None) -> tuple[float, float]:
        if len(values) < 2:
            raise ValueError(f"no interval: the calibration has {len(self.seeds)} seed(s) "
                             f"({len(values)} usable bootstrap draws); run >= 2 seeds per shape")
        q = 100 * (1 - (self.level if level is None else level)) / 2
        lo, hi = np.percentile(values, [q, 100 - q])
        return float(lo), float(hi)

    def interval(self, depth: float, width=None, level: float | None = None) -> tuple[float, float]:
        """Bootstrap-over-seeds interval of the predicted lr* at one shape."""
        w = self._width(width)
        b = self.boot
        return self._percentiles(np.exp(b[:, 0] + b[:, 1] * math.log(depth) + b[:, 2] * math.log(w)), level)

    def exponent_interval(self, name: str, level: float | None = None) -> tuple[float, float]:
        """Interval of 'e' (depth exponent), 'f' (width exponent) or 'c'."""
        cols = {"c": 0, "e": 1, "f": 2}
        if name not in cols:
            raise ValueError(f"name={name!r}: choose 'c', 'e' or 'f'")
        v = self.boot[:, cols[name]]
        return self._percentiles(np.exp(v) if name == "c" else v, level)

    def curvature_interval(self, level: float | None = None) -> tuple[float, float]:
        return self._percentiles(self.curvature_boot, level)

    def loss_penalty(self, ratio: float) -> float:
        """Excess loss (nats) of training at ratio * lr*: curvature/2 * ln(ratio)^2 (the quadratic
        model of the fit; reliable within about one grid step of the optimum)."""
        return 0.5 * self.curvature * math.log(ratio) ** 2

    def summary(self) -> str:
        try:
            lo, hi = self.exponent_interval("e")
            e = f"e = {self.e:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        except ValueError:
            e = f"e = {self.e:+.2f} (no interval: one seed)"
        f = f"f = {self.f:+.2f}" if self.width_fitted else f"width {self.widths[0]} only"
        if self.width_fitted and len(self.boot) >= 2:
            f += " [{:+.2f}, {:+.2f}]".format(*self.exponent_interval("f"))
        flags = ", ".join(f"L{o.depth} w{o.width} seed {o.seed}: {o.flag}" for o in self.flagged)
        few = ("; with 2 seeds the interval is the spread of the single-seed fits and understates the "
               "uncertainty" if len(self.seeds) == 2 else "")
        return (f"lr* = {self.c:.3g} * L^e * w^f: {e}, {f}; depths {self.depths}, seeds {len(self.seeds)}, "
                f"{self.level:.0%} bootstrap over seeds{few}; curvature {self.curvature:.3g} nats/(ln lr)^2"
                + (f"; left out (optimum not located): {flags}" if flags else ""))


def fit_lr_transfer(results, *, loss: str = "final_val_loss", n_boot: int = 2000, level: float = 0.95,
                    seed: int = 0, parametrization: str | None = None, optimizer: str | None = None) -> LRCalibration:
    """Fit lr* = c * L^e * w^f (and the loss curvature in ln lr) from an LR sweep.

    results: a DataFrame or list of dicts, one row per run, with depth, width (optional),
    lr, seed and `loss` (non-finite or missing = diverged).  Returns a frozen `LRCalibration`
    (see the module docstring for the method, assumptions and sources).

    Raises ValueError on an empty table, a missing or non-numeric field, duplicate runs, or
    when the found optima (after flagging) cover fewer than 2 depths; flagged optima are kept
    in `cal.optima` / `cal.flagged`, never fitted.
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level} must lie in (0, 1)")
    if not (isinstance(n_boot, int) and n_boot >= 0):
        raise ValueError(f"n_boot={n_boot!r} must be an int >= 0")
    optima = find_optima(results, loss)
    depths_all = sorted({o.depth for o in optima})
    if len(depths_all) < 2:
        raise ValueError(f"results hold a single depth {depths_all}; the depth exponent needs LR grids at >= 2 depths")
    found = [o for o in optima if o.found]
    depths = sorted({o.depth for o in found})
    if len(depths) < 2:
        flags = "; ".join(f"L{o.depth} w{o.width} seed {o.seed}: {o.flag}" for o in optima if o.flag)
        raise ValueError(f"optima are located at {len(depths)} depth(s) {depths}; the others are not located "
                         f"({flags}); extend those LR grids until the loss rises on both sides")
    widths = sorted({o.width for o in found})
    fit_width = len(widths) >= 2
    beta = _lstsq(found, fit_width)
    X, y = _design(found, fit_width)
    resid = y - X @ beta[:X.shape[1]]
    dof = len(y) - X.shape[1]
    seeds = sorted({o.seed for o in found}, key=str)
    boot, curv = _bootstrap(found, seeds, fit_width, n_boot, np.random.default_rng(seed))
    return LRCalibration(
        c=float(math.exp(beta[0])), e=float(beta[1]), f=float(beta[2]), width_fitted=fit_width,
        depths=tuple(depths), widths=tuple(widths), seeds=tuple(seeds), optima=tuple(optima),
        curvature=float(np.mean([o.curvature for o in found])),
        residual_sd=float(np.sqrt(resid @ resid / dof)) if dof > 0 else math.nan, level=level,
        parametrization=parametrization, optimizer=optimizer,
        boot=boot, curvature_boot=curv)


def _t_interval(v: np.ndarray, level: float) -> tuple[float, float]:
    from scipy.special import stdtrit  # Student-t quantile (scipy.stats is slow to import)

    if len(v) < 2:
        return math.nan, math.nan
    half = stdtrit(len(v) - 1, (1 + level) / 2) * v.std(ddof=1) / math.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)


def shape_optima(optima, level: float = 0.95) -> list[dict]:
    """Per (depth, width): lr_opt, the geometric mean of the found per-seed optima, with a t
    interval in ln(lr) over seeds (lo, hi; nan for one seed), n found, and the flags of the
    others.  When no seed's optimum is found, at_edge is True and lr_opt is the geometric mean
    of the best grid LRs: a bound, not a measurement.  For figures and `score_held_out`."""
    rows = []
    for depth, width in sorted({(o.depth, o.width) for o in optima}):
        group = [o for o in optima if (o.depth, o.width) == (depth, width)]
        v = np.log([o.lr_opt for o in group if o.found])
        lo, hi = _t_interval(v, level)
        lr = np.exp(v.mean()) if len(v) else np.exp(np.mean(np.log([o.lr_best for o in group])))
        rows.append({"depth": depth, "width": width, "lr_opt": float(lr), "lo": math.exp(lo), "hi": math.exp(hi),
                     "n": len(v), "at_edge": not len(v), "flags": ", ".join(sorted({o.flag for o in group if o.flag}))})
    return rows


def score_held_out(cal: LRCalibration, results, *, loss: str = "final_val_loss", n_boot: int = 2000,
                   seed: int = 0, target: float = HELD_OUT_TARGET) -> list[dict]:
    """Predicted/measured lr* at shapes the calibration did not see.

    For each (depth, width) of `results` (a tidy LR sweep, as for `fit_lr_transfer`): the
    measured optimum (geometric mean over seeds of the found per-seed optima), the prediction
    `cal.predict`, ratio = predicted/measured, and a bootstrap interval of the ratio (each draw
    pairs a calibration draw with a resampling of the held-out seeds; nan when either side has
    one seed).  `within` is True when target^-1 <= ratio <= target; rows whose optima are all
    flagged carry measured = nan and the flags, never a ratio."""
    rng = np.random.default_rng(seed)
    rows = []
    optima = find_optima(results, loss)
    for row in shape_optima(optima, cal.level):
        depth, width = row["depth"], row["width"]
        pred = cal.predict(depth, width or None)
        v = np.log([o.lr_opt for o in optima if (o.depth, o.width) == (depth, width) and o.found])
        measured = row["lr_opt"] if len(v) else math.nan
        ratio = pred / measured
        lo = hi = math.nan
        if len(v) >= 2 and len(cal.boot) >= 2:
            w = cal._width(width or None)
            b = cal.boot[rng.integers(len(cal.boot), size=n_boot)]
            ln_pred = b[:, 0] + b[:, 1] * math.log(depth) + b[:, 2] * math.log(w)
            ln_meas = v[rng.integers(len(v), size=(n_boot, len(v)))].mean(axis=1)
            q = 100 * (1 - cal.level) / 2
            lo, hi = np.exp(np.percentile(ln_pred - ln_meas, [q, 100 - q]))
        rows.append({"depth": depth, "width": width, "predicted": pred, "measured": measured,
                     "measured_lo": row["lo"], "measured_hi": row["hi"], "ratio": ratio,
                     "ratio_lo": float(lo), "ratio_hi": float(hi), "n": row["n"], "flags": row["flags"],
                     "within": bool(1 / target <= ratio <= target) if len(v) else False})
    return rows


def fit_and_score(results, held_out, *, loss: str = "final_val_loss", **fit_kwargs):
    """Split a sweep into fit shapes and the `held_out` (depth, width) pairs, fit on the first
    (`fit_lr_transfer`) and score the second (`score_held_out`): (calibration, scores)."""
    held = {(int(d), int(w)) for d, w in held_out}
    rows = _records(results)
    fit = [r for r in rows if (int(float(r["depth"])), int(float(r.get("width", 0)))) not in held]
    test = [r for r in rows if (int(float(r["depth"])), int(float(r.get("width", 0)))) in held]
    if not test:
        raise ValueError(f"no runs at the held-out shapes {sorted(held)}; run their LR sweeps first")
    cal = fit_lr_transfer(fit, loss=loss, **fit_kwargs)
    return cal, score_held_out(cal, test, loss=loss)


def read_runs(folder: str | Path, **where) -> list[dict]:
    """Rows of `folder`/runs.csv (a sweep's tidy table, csv module only) whose columns equal
    `where` (compared as strings, e.g. parametrization="sp").  When the table has a status
    column: completed runs, and diverged runs with their losses blanked (a diverged run is a
    measurement, the loss at that LR is +inf for `find_optima`; the loss it stopped at is not)."""
    path = Path(folder)
    path = path / "runs.csv" if path.is_dir() else path
    if not path.is_file():
        raise ValueError(f"no runs table at {path}: pass the folder of a sweep's results (it holds runs.csv)")
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    missing = [k for k in where if rows and k not in rows[0]]
    if missing:
        raise ValueError(f"{path} has no column {missing[0]!r}; its columns are {list(rows[0])}")
    kept = [r for r in rows if r.get("status", "completed") in ("completed", "diverged")
            and all(r[k] == str(v) for k, v in where.items())]
    return [r if r.get("status") != "diverged" else {k: ("" if "loss" in k else v) for k, v in r.items()}
            for r in kept]
