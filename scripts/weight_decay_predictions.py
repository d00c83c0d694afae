"""State the memory model's predictions for every held-out run of `weight_decay` (P25), once.

The model (`memory_scores`, `theory.weight_decay.forgetting_gap`) is fitted per source on the
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

import numpy as np
import pandas as pd

from progtheory import memory_scores as M
from progtheory.sweep import load_experiment
from progtheory.theory import weight_decay as WD

N_BOOT = 2000


def seed_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-seed gaps (percent): one row per progressive run with a fixed partner."""
    key = ["recipe", "steps_T", "lam", "seed"]
    fixed = runs[runs.source < 0].set_index(key).final_val_loss
    prog = runs[runs.source >= 0].copy()
    partner = [fixed.get(tuple(r)) for r in prog[key].itertuples(index=False)]
    prog["gap"] = 100 * (prog.final_val_loss.to_numpy() / np.array(partner, dtype=float) - 1)
    return prog.dropna(subset=["gap"])


def boot_fits(per_seed: pd.DataFrame, rng: np.random.Generator) -> list[dict]:
    """Pilot fits {source: (gap_0, floor)} over bootstrap draws of the pilot seeds."""
    rec, T, tau = M.PILOT
    A = M.lr_area_after(rec, T, tau)
    pilot = per_seed[(per_seed.recipe == rec) & (per_seed.steps_T == T) & np.isclose(per_seed.tau, tau)]
    table = pilot.pivot_table(index="seed", columns=["source", "lam"], values="gap")
    seeds = table.dropna().index.to_numpy()
    fits = []
    for _ in range(N_BOOT):
        draw = table.loc[rng.choice(seeds, size=len(seeds))].mean()
        fits.append({int(s): WD.fit_forgetting(A * np.array(M.PILOT_LAMS), draw[s].loc[list(M.PILOT_LAMS)].to_numpy())
                     for s in draw.index.get_level_values(0).unique()})
    return fits


def held_out_conditions() -> list[tuple]:
    """(recipe, T, tau, source, lam) of every held-out progressive run `weight_decay` declares,
    less the anchors (lam = 0.01 away from the pilots' T and tau), whose ratio is 1 by definition."""
    out = []
    for r in load_experiment("weight_decay").runs(False):
        t = r.tags
        key = (t["recipe"], int(t["steps_T"]), float(t["tau"]), int(t["source"]), float(t["lam"]))
        anchor = t["lam"] == M.ANCHOR_LAM and (t["recipe"], t["steps_T"], t["tau"]) != M.PILOT  # ratio 1 by definition
        if t["role"] == "held_out" and t["source"] >= 0 and not anchor and key not in out:
            out.append(key)
    return out


def predictions(runs: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    gaps = M.paired_gaps(runs)
    fits = M.fit_pilots(gaps)
    boots = boot_fits(seed_gaps(runs), np.random.default_rng(seed))
    anchors = gaps[np.isclose(gaps.lam, M.ANCHOR_LAM)].set_index(["recipe", "T", "tau", "source"]).gap
    rows = []
    for rec, T, tau, src, lam in held_out_conditions():
        point = M.predict(fits, rec, T, tau, src, lam)
        kind, value = next(iter(point.items()))
        draws = np.array([M.predict(f, rec, T, tau, src, lam)[kind] for f in boots])
        lo, hi = np.percentile(draws, [5, 95])
        row = dict(recipe=rec, T=T, tau=tau, source=src, lam=lam, statement=kind, predicted=value, lo=lo, hi=hi,
                   lam_A=lam * M.lr_area_after(rec, T, tau), anchor_gap=np.nan, predicted_gap=np.nan)
        if kind == "gap":
            row["predicted_gap"] = value
        elif (rec, T, tau, src) in anchors.index:
            row["anchor_gap"] = anchors[(rec, T, tau, src)]
            row["predicted_gap"] = value * row["anchor_gap"]
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--results", default="experiments/results/weight_decay", help="the pilots' results folder")
    p.add_argument("--out", default="experiments/predictions/weight_decay.csv")
    args = p.parse_args()
    out = Path(args.out)
    if out.exists():
        raise SystemExit(f"{out} exists; predictions are stated once, before their runs (remove it to restate)")
    table = predictions(pd.read_csv(Path(args.results) / "runs.csv"))
    fits = M.fit_pilots(M.paired_gaps(pd.read_csv(Path(args.results) / "runs.csv")))
    out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False, float_format="%.4f")
    print("pilot fits (gap_0, floor), percent:", {s: tuple(round(v, 2) for v in f) for s, f in fits.items()})
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
