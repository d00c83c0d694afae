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
from progtheory.analysis.stats import mean_ci, paired_gaps
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
    lam_prog, lam_fixed, gap (percent, of the seed means), n_lams (lams measured for both), and
    over the seeds both best lams have: n_seeds and the seed-by-seed gaps' mean with its 95%
    Student-t interval (seed_gap, lo, hi)."""
    cond = ["recipe", "steps_T", "tau", "source", "lam"]
    mean = runs.groupby(cond).final_val_loss.mean().reset_index()
    per_seed = runs.set_index(cond + ["seed"]).final_val_loss.sort_index()
    fixed = mean[mean.source < 0]
    rows = []
    for (rec, T, tau, src), g in mean[mean.source >= 0].groupby(["recipe", "steps_T", "tau", "source"]):
        f = fixed[(fixed.recipe == rec) & (fixed.steps_T == T) & fixed.lam.isin(g.lam)]
        if f.empty:
            continue
        p, q = g.loc[g.final_val_loss.idxmin()], f.loc[f.final_val_loss.idxmin()]
        prog_s = per_seed.loc[(rec, T, tau, src, p.lam)]
        fixed_s = per_seed.loc[(rec, T, q.tau, q.source, q.lam)]
        both = prog_s.index.intersection(fixed_s.index)
        seed_gap, lo, hi, n = mean_ci(100 * (prog_s.loc[both] / fixed_s.loc[both] - 1))
        rows.append({"recipe": rec, "T": int(T), "tau": float(tau), "source": int(src), "lam_prog": float(p.lam),
                     "lam_fixed": float(q.lam), "gap": float(100 * (p.final_val_loss / q.final_val_loss - 1)),
                     "n_lams": int(g.lam.isin(f.lam).sum()), "n_seeds": n, "seed_gap": seed_gap, "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def best_lam_frontier(runs: pd.DataFrame, others: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fixed-size frontier at its best lam, per recipe of `runs`: at each budget T of `runs`
    the fixed runs at the lam with the lowest seed-mean final loss, and the fixed runs of `others`
    (runs tables of the same targets, matched on `name`, e.g. `ladder` and `saturation` at the
    recipe's own lam = 0.01) at budgets `runs` does not have.  Rows: recipe, lam, steps, seed,
    flops, final_val_loss (one per run id), the input of `analysis.frontier.frontier_flops`."""
    fixed = runs[(runs.source < 0) & runs.final_val_loss.notna()]
    parts = []
    for (rec, T), f in fixed.groupby(["recipe", "steps_T"]):
        lam = f.groupby("lam").final_val_loss.mean().idxmin()
        parts.append(f[f.lam == lam].assign(steps=int(T)))
    if others is not None and len(others):
        names = fixed.groupby("name").recipe.first()
        extra = others[(others.source < 0) & others.final_val_loss.notna() & others.name.isin(names.index)
                       & ~others.run_id.isin(fixed.run_id)]
        for (name, T), f in extra.groupby(["name", "steps_T"]):
            rec = names[name]
            if not ((fixed.recipe == rec) & (fixed.steps_T == T)).any():
                parts.append(f.assign(recipe=rec, lam=np.nan, steps=int(T)))
    cols = ["run_id", "recipe", "lam", "steps", "seed", "flops", "final_val_loss"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts)[cols].drop_duplicates("run_id").sort_values(["recipe", "seed", "flops"]).reset_index(drop=True)


def best_lam_efficiency(runs: pd.DataFrame, others: pd.DataFrame | None = None) -> pd.DataFrame:
    """The fair reading in compute: each progressive arm at its best lam (`best_lam_gaps`) against
    the fixed frontier at its best lam (`best_lam_frontier`).  Per seed, efficiency = FLOPs the
    frontier of that seed needs to reach the run's final loss (log FLOPs interpolated in log loss,
    `analysis.frontier.compute_efficiency`) / the run's FLOPs; above 1 the progressive run is the
    cheaper way to its loss.  A run whose loss lies above the frontier's highest has no efficiency,
    only the bound frontier FLOPs min / run FLOPs (the fixed model reaches a lower loss on less
    compute).  Rows per (recipe, T, tau, source): lam_prog, n_seeds, eff, lo, hi (95% t interval
    over the measurable seeds; NaN when none is), n_above and bound (the largest bound of the
    seeds above the frontier), frontier_T (the frontier's budgets, comma-separated)."""
    from progtheory.analysis.frontier import compute_efficiency

    frontier = best_lam_frontier(runs, others)
    rows = []
    for r in best_lam_gaps(runs).itertuples():
        prog = runs[(runs.recipe == r.recipe) & (runs.steps_T == r.T) & np.isclose(runs.tau, r.tau)
                    & (runs.source == r.source) & np.isclose(runs.lam, r.lam_prog) & runs.final_val_loss.notna()]
        f = frontier[frontier.recipe == r.recipe]
        if prog.empty or f.empty:
            continue
        e = compute_efficiency(prog.assign(final=prog.final_val_loss), f)
        eff, lo, hi, n = mean_ci(e.efficiency)
        above = e[e.bound == "above"]
        rows.append({"recipe": r.recipe, "T": int(r.T), "tau": float(r.tau), "source": int(r.source),
                     "lam_prog": float(r.lam_prog), "n_seeds": len(e), "eff": eff, "lo": lo, "hi": hi,
                     "n_above": len(above), "bound": float(above.bound_value.max()) if len(above) else np.nan,
                     "frontier_T": ", ".join(f"{int(t):,}" for t in sorted(f.steps.unique()))})
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


def lam_ratio(fits: dict, recipe: str, T: int, tau: float, source: int, lam: float) -> float:
    """gap(lam) / gap(ANCHOR_LAM) of the memory model at (recipe, T, tau) for `source`, with the
    pilots' floor share rho = floor / gap_0 (module docstring): the factor by which weight decay
    `lam` moves a gap stated at the recipe's lam."""
    gap_0, floor = fits[source]
    return ratio_at(floor / gap_0, lr_area_after(recipe, T, tau), lam, ANCHOR_LAM)


def ratio_at(rho: float, A: float, lam: float, lam_ref: float) -> float:
    """gap(lam) / gap(lam_ref) of `theory.weight_decay.forgetting_gap` with floor share rho =
    floor / gap_0 at LR area A after tau: (rho + (1 - rho) e^(-lam A)) / (rho + (1 - rho) e^(-lam_ref A))."""
    return float((rho + (1 - rho) * np.exp(-lam * A)) / (rho + (1 - rho) * np.exp(-lam_ref * A)))


CLOCKS = ("steps after tau (lam-blind)", "lam x LR area (memory model)", "gap model, LR area (lam-blind)",
          "gap model x memory ratio (lam x LR area)")


def clock_errors(runs: pd.DataFrame, stated: pd.DataFrame, gap_model: pd.DataFrame) -> pd.DataFrame:
    """Each held-out condition of the weight-decay grid (`score` of the committed `stated`
    memory predictions) under four clocks of the gap: the gap at ANCHOR_LAM carried over unchanged
    (a gap that follows steps, LR area or source tokens after tau does not see lam), the memory
    model's statement, the grown gap model's committed statement for (T, tau, source)
    (`gap_model`: the ladder's predictions, recipe only; lam-blind), and that statement times
    `lam_ratio`.  Rows: CONDITION, n_seeds, measured, and one error column (predicted - measured,
    points) per clock in CLOCKS (NaN where a clock states nothing)."""
    scored = score(runs, stated)
    per_seed = seed_gaps(runs).set_index(CONDITION + ["seed"]).gap
    fits = fit_pilots(measured_gaps(runs))
    gm = {(int(r.T), float(r.tau), int(r.source)): r.predicted for r in gap_model.itertuples() if r.schedule == "wsd"}
    rows = []
    for r in scored.itertuples():
        key = (r.recipe, int(r.T), float(r.tau), int(r.source))
        anchor = per_seed[per_seed.index.droplevel("seed") == key + (ANCHOR_LAM,)]
        base = gm.get(key[1:]) if r.recipe == "recipe" else None
        ratio = lam_ratio(fits, *key, r.lam)
        rows.append(dict(zip(CONDITION, key + (r.lam,)), n_seeds=r.n_seeds, measured=r.measured, **{
            CLOCKS[0]: float(anchor.mean()) - r.measured if len(anchor) else np.nan,
            CLOCKS[1]: r.error,
            CLOCKS[2]: base - r.measured if base is not None else np.nan,
            CLOCKS[3]: base * ratio - r.measured if base is not None else np.nan}))
    return pd.DataFrame(rows)


def clock_scores(errors: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute error (points) of each clock of `clock_errors` over the conditions every
    compared clock states (all, and the recipe's alone, where the gap model states too): rows
    clock, over, n, mae, worst (the largest |error|)."""
    rows = []
    for over, sel in (("all", errors), ("recipe", errors[errors.recipe == "recipe"])):
        cols = [c for c in CLOCKS if sel[c].notna().all()]
        for c in cols:
            e = sel[c].abs()
            rows.append({"clock": c, "over": over, "n": len(sel), "mae": float(e.mean()), "worst": float(e.max())})
    return pd.DataFrame(rows)


LAM_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
NEAR = 2.0  # a measured condition informs a plan whose steps after tau are within this factor (same tau/T, source)


def lam_advice(runs: pd.DataFrame, A: float, T: int, tau: float, source: int, gap: float, lam: float) -> dict:
    """What weight decay does to a planned progressive run (LR area A after tau, T steps, tau/T,
    `source` depth, predicted `gap` in percent at its weight decay `lam`), from the weight_decay
    grid `runs` (the paper's recipe at d = 32; its pilots fit the memory model):

      scaled   per lam of LAM_GRID: lam * A and the gap times `ratio_at` (the pilots' floor share),
               which ignores what lam does to the fixed model;
      measured the fair reading (`best_lam_gaps`) at the measured condition of the same source and
               tau/T whose steps after tau are nearest, if within a factor NEAR of the plan's
               (else None): the progressive run's best lam and its gap to the fixed run at its best lam,
               beside the gap at ANCHOR_LAM."""
    gaps = measured_gaps(runs)
    gap_0, floor = fit_pilots(gaps)[source]
    scaled = [{"lam": x, "lam_A": x * A, "gap": gap * ratio_at(floor / gap_0, A, x, lam)} for x in LAM_GRID]
    fair = best_lam_gaps(runs)
    fair = fair[(fair.recipe == "recipe") & (fair.source == source) & np.isclose(fair.tau, tau) & (fair.n_lams >= 2)]
    measured = None
    if len(fair):
        after = (fair["T"] * (1 - fair.tau)).to_numpy()
        i = int(np.argmin(np.abs(np.log(after / (T * (1 - tau))))))
        if max(after[i], T * (1 - tau)) / min(after[i], T * (1 - tau)) <= NEAR:
            r = fair.iloc[i]
            anchor = gaps[(gaps.recipe == "recipe") & (gaps["T"] == r["T"]) & np.isclose(gaps.tau, tau)
                          & (gaps.source == source) & np.isclose(gaps.lam, ANCHOR_LAM)].gap
            measured = {"T": int(r["T"]), "lam": float(r.lam_prog), "lam_fixed": float(r.lam_fixed), "gap": float(r.gap),
                        "gap_anchor": float(anchor.iloc[0]) if len(anchor) else np.nan}
    return {"rho": floor / gap_0, "scaled": scaled, "measured": measured}
