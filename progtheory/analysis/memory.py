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
    """Seed-mean relative final gap (percent) per (recipe, T, tau, source, lam) of `seed_gaps`,
    each progressive run against the fixed run of the same recipe, T, lam and seed; n_seeds pairs."""
    g = seed_gaps(runs).groupby(CONDITION, sort=True).gap
    return pd.concat([g.size().rename("n_seeds"), g.mean()], axis=1).reset_index()


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


CONDITION = ["recipe", "T", "tau", "source", "lam"]


def seed_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per progressive run with a fixed partner (same recipe, T, lam and seed): the
    CONDITION tags, seed and gap (percent)."""
    rows = []
    for (rec, T, tau, src, lam, seed), _, gaps in paired_gaps(runs, ("recipe", "steps_T", "lam", "seed"),
                                                              ("recipe", "steps_T", "tau", "source", "lam", "seed")):
        rows.append({"recipe": rec, "T": int(T), "tau": float(tau), "source": int(src), "lam": float(lam),
                     "seed": int(seed), "gap": float(100 * gaps.mean())})
    return pd.DataFrame(rows, columns=CONDITION + ["seed", "gap"])


def score(runs: pd.DataFrame, stated: pd.DataFrame) -> pd.DataFrame:
    """Each stated held-out condition (the committed predictions: `statement` "gap" or "ratio")
    against its measured gaps, seed by seed.  A ratio becomes a gap through the same condition's
    measured gap at ANCHOR_LAM and the same seed.  Rows: CONDITION, statement, n_seeds, predicted,
    lo, hi (percent, seed means; a ratio's interval times the mean anchor), measured, error
    (predicted - measured, points) and errors (per seed); conditions not yet measured, or without
    an anchor, are left out."""
    per_seed = seed_gaps(runs).set_index(CONDITION + ["seed"]).gap
    rows = []
    for s in stated.itertuples(index=False):
        key = (s.recipe, int(s.T), float(s.tau), int(s.source), float(s.lam))
        held = per_seed[per_seed.index.droplevel("seed") == key].droplevel(CONDITION)
        if s.statement == "ratio":
            anchor = per_seed[per_seed.index.droplevel("seed") == key[:4] + (ANCHOR_LAM,)].droplevel(CONDITION)
            held = held[held.index.isin(anchor.index)]
            scale = anchor.loc[held.index].to_numpy()
        else:
            scale = np.ones(len(held))
        if held.empty:
            continue
        predicted = s.predicted * scale
        rows.append(dict(zip(CONDITION, key), statement=s.statement, n_seeds=len(held), predicted=predicted.mean(),
                         lo=s.lo * scale.mean(), hi=s.hi * scale.mean(), measured=float(held.mean()),
                         error=float((predicted - held.to_numpy()).mean()),
                         errors=tuple(predicted - held.to_numpy())))
    return pd.DataFrame(rows, columns=CONDITION + ["statement", "n_seeds", "predicted", "lo", "hi", "measured", "error",
                                                   "errors"])


def best_lam_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """The fair reading: per (recipe, T, tau, source), the progressive runs at their best lam
    (lowest seed-mean final loss) against the fixed runs at theirs.  Rows: recipe, T, tau, source,
    lam_prog, lam_fixed, gap (percent, of the seed means), n_lams (lams measured for both)."""
    mean = runs.groupby(["recipe", "steps_T", "tau", "source", "lam"]).final_val_loss.mean().reset_index()
    fixed = mean[mean.source < 0]
    rows = []
    for (rec, T, tau, src), g in mean[mean.source >= 0].groupby(["recipe", "steps_T", "tau", "source"]):
        f = fixed[(fixed.recipe == rec) & (fixed.steps_T == T) & fixed.lam.isin(g.lam)]
        if f.empty:
            continue
        p, q = g.loc[g.final_val_loss.idxmin()], f.loc[f.final_val_loss.idxmin()]
        rows.append({"recipe": rec, "T": int(T), "tau": float(tau), "source": int(src), "lam_prog": float(p.lam),
                     "lam_fixed": float(q.lam), "gap": float(100 * (p.final_val_loss / q.final_val_loss - 1)),
                     "n_lams": int(g.lam.isin(f.lam).sum())})
    return pd.DataFrame(rows)


N_BOOT = 2000  # bootstrap draws of the pilot seeds behind each stated interval


def _boot_fits(per_seed: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Pilot fits {source: (gap_0, floor)} over N_BOOT draws (with replacement) of the pilot seeds."""
    rec, T, tau = PILOT
    A = lr_area_after(rec, T, tau)
    pilot = per_seed[(per_seed.recipe == rec) & (per_seed["T"] == T) & np.isclose(per_seed.tau, tau)]
    table = pilot.pivot_table(index="seed", columns=["source", "lam"], values="gap")
    seeds = table.dropna().index.to_numpy()
    fits = []
    for _ in range(N_BOOT):
        draw = table.loc[rng.choice(seeds, size=len(seeds))].mean()
        fits.append({int(s): WD.fit_forgetting(A * np.array(PILOT_LAMS), draw[s].loc[list(PILOT_LAMS)].to_numpy())
                     for s in draw.index.get_level_values(0).unique()})
    return fits


def held_out_conditions(experiment: str = "weight_decay") -> list[tuple]:
    """(recipe, T, tau, source, lam) of every held-out progressive run `experiment` declares, less
    the anchors (lam = ANCHOR_LAM away from the pilots' T and tau), whose ratio is 1 by definition."""
    from progtheory.sweep import load_experiment

    out = []
    for r in load_experiment(experiment).runs(False):
        t = r.tags
        key = (t["recipe"], int(t["steps_T"]), float(t["tau"]), int(t["source"]), float(t["lam"]))
        anchor = t["lam"] == ANCHOR_LAM and (t["recipe"], t["steps_T"], t["tau"]) != PILOT
        if t["role"] == "held_out" and t["source"] >= 0 and not anchor and key not in out:
            out.append(key)
    return out


def predictions(runs: pd.DataFrame, conditions: list[tuple], seed: int = 0) -> pd.DataFrame:
    """The memory model's statement for each condition, fitted on the pilots among `runs`: the
    point (`predict`), its 5-95% range over `_boot_fits`, lam * A, and, where the condition's
    gap at ANCHOR_LAM is measured, the ratio turned into a gap (anchor_gap, predicted_gap)."""
    gaps = measured_gaps(runs)
    fits = fit_pilots(gaps)
    boots = _boot_fits(seed_gaps(runs), np.random.default_rng(seed))
    anchors = gaps[np.isclose(gaps.lam, ANCHOR_LAM)].set_index(["recipe", "T", "tau", "source"]).gap
    rows = []
    for rec, T, tau, src, lam in conditions:
        kind, value = next(iter(predict(fits, rec, T, tau, src, lam).items()))
        lo, hi = np.percentile([predict(f, rec, T, tau, src, lam)[kind] for f in boots], [5, 95])
        row = dict(recipe=rec, T=T, tau=tau, source=src, lam=lam, statement=kind, predicted=value, lo=lo, hi=hi,
                   lam_A=lam * lr_area_after(rec, T, tau), anchor_gap=np.nan, predicted_gap=np.nan)
        if kind == "gap":
            row["predicted_gap"] = value
        elif (rec, T, tau, src) in anchors.index:
            row["anchor_gap"] = anchors[(rec, T, tau, src)]
            row["predicted_gap"] = value * row["anchor_gap"]
        rows.append(row)
    return pd.DataFrame(rows)


def write_predictions(runs: pd.DataFrame, path, experiment: str = "weight_decay") -> pd.DataFrame:
    """`predictions` for every held-out condition of `experiment`, written to `path` (CSV;
    refused when it exists: predictions are stated once, before their runs)."""
    from pathlib import Path

    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    table = predictions(runs, held_out_conditions(experiment))
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.4f")
    return table
