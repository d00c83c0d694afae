"""The copies' symmetry (P24) from the `copy_symmetry` runs (pandas + numpy; no torch).

Three readings, each against the statement in `experiments/copy_symmetry.py`:
  * how alike the copies are at tau and at the end (`cosines`: per run, the smallest and largest
    weight cosine over copy pairs and matrix types, from ``symmetry.jsonl``);
  * whether breaking the symmetry lets the 1-layer gap shrink with budget (`gap_changes`: the
    paired-seed change of the final gap from one T to a larger one, per init);
  * the separation rate (`separation_scores`): with D_1 the copies' difference after the first
    update (exact copies: D_0 = 0, so D_1 = -eta_tau du_0), the constant drive of
    `theory.copy_symmetry.separation` gives D_k = D_1 * drive(k) / eta_tau, so the relative
    distance at tau + k is predicted as rel_dist(1) * drive(k) / drive(1), taking ||W|| as
    constant over those k steps (an approximation the ratio inherits); and how fast they
    separate per optimizer (`separation_exponents`: the log-log slope against k, measured and
    under the constant drive).

Runs shared with other experiments (the fixed and copy runs of `budget`'s d = 64 arm and of
`ladder`) carry their losses in those experiments' folders: `declared_runs` joins the declared
tags of `copy_symmetry` with the final losses found in any of them, by run id.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis.stats import paired_gaps
from progtheory.theory import copy_symmetry as CS

EXPERIMENT = "copy_symmetry"
SHARED_FOLDERS = ("copy_symmetry", "budget_small", "ladder")  # results folders that may hold its runs
TAGS = ["recipe", "d", "steps_T", "tau", "init", "eps", "seed"]


def declared_runs(root: Path | str = "experiments/results") -> pd.DataFrame:
    """One row per declared run of `copy_symmetry` that has a final loss in any SHARED_FOLDERS:
    run_id, TAGS, lr, lam, final_val_loss."""
    from progtheory.config import run_id
    from progtheory.sweep import load_experiment

    losses = {}
    for folder in SHARED_FOLDERS:
        path = Path(root) / folder / "runs.csv"
        if path.is_file():
            t = pd.read_csv(path, usecols=["run_id", "final_val_loss"])
            losses.update(t.dropna().set_index("run_id").final_val_loss.to_dict())
    rows = []
    for r in load_experiment(EXPERIMENT).runs(False):
        rid = run_id(r.cfg)
        if rid in losses:
            rows.append({"run_id": rid, **{k: r.tags[k] for k in TAGS}, "lr": r.cfg.lr,
                         "lam": r.cfg.weight_decay, "final_val_loss": losses[rid]})
    return pd.DataFrame(rows, columns=["run_id"] + TAGS + ["lr", "lam", "final_val_loss"])



NOISY_CHANGE = "noisy_change.csv"  # `scripts/noisy_copy_stats.py`: noisy copies recorded before the probe


def expansion_changes(root: Path | str = "experiments/results") -> pd.DataFrame:
    """The loss change at tau of every grown run of `copy_symmetry` (`declared_runs`): predicted
    from the source's branch statistics (`analysis.growth_stats.expansion_change_scores` of the
    SHARED_FOLDERS; noisy copies recorded before the trainer measured their draws take the
    prediction of `scripts/noisy_copy_stats.py`, copy_symmetry/NOISY_CHANGE) against the measured
    change on the statistics batch.  Rows: run_id, TAGS, predicted, measured, ratio (NaN where
    no prediction exists)."""
    from progtheory.analysis.growth_stats import expansion_change_scores

    parts = [expansion_change_scores(Path(root) / f) for f in SHARED_FOLDERS]
    scores = pd.concat([p for p in parts if len(p)] or [pd.DataFrame(columns=["run_id", "predicted", "measured"])])
    scores = scores.drop_duplicates("run_id").set_index("run_id")[["predicted", "measured"]]
    extra = Path(root) / EXPERIMENT / NOISY_CHANGE
    if extra.is_file():
        late = pd.read_csv(extra).set_index("run_id").predicted
        fill = scores.index.isin(late.index) & scores.predicted.isna()
        scores.loc[fill, "predicted"] = late.reindex(scores.index[fill]).to_numpy()
    runs = declared_runs(root)
    out = runs[runs.tau < 1][["run_id"] + TAGS].merge(scores, left_on="run_id", right_index=True)
    return out.assign(ratio=out.predicted / out.measured).reset_index(drop=True)


def symmetry_table(folder: Path | str) -> pd.DataFrame:
    """The collected ``symmetry.jsonl`` of a results folder, one row per (run, probed step, pair,
    matrix): run_id, step, tau, updates, i, j, matrix, cos, rel_dist."""
    path = Path(folder) / "symmetry.jsonl"
    rows = []
    if path.is_file():
        for line in path.read_text().splitlines():
            rec = json.loads(line)
            for p in rec["pairs"]:
                for m, c in p["cos"].items():
                    rows.append({"run_id": rec["run_id"], "step": rec["step"], "tau": rec["tau"],
                                 "updates": rec["updates"], "i": p["i"], "j": p["j"], "matrix": m, "cos": c,
                                 "rel_dist": p["rel_dist"][m]})
    return pd.DataFrame(rows, columns=["run_id", "step", "tau", "updates", "i", "j", "matrix", "cos", "rel_dist"])


def cosines(table: pd.DataFrame) -> pd.DataFrame:
    """Per run: the smallest and largest copy cosine (over pairs and matrix types) at tau
    (cos_tau_min, cos_tau_max) and at its last probed step (cos_end_min, updates_end)."""
    rows = []
    for rid, g in table.dropna(subset=["cos"]).groupby("run_id"):
        start, end = g[g.updates == 0], g[g.updates == g.updates.max()]
        rows.append({"run_id": rid, "cos_tau_min": start.cos.min(), "cos_tau_max": start.cos.max(),
                     "cos_end_min": end.cos.min(), "updates_end": int(g.updates.max())})
    return pd.DataFrame(rows, columns=["run_id", "cos_tau_min", "cos_tau_max", "cos_end_min", "updates_end"])


def seed_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Each progressive run's final gap (percent) to the fixed run of the same recipe, d, T and
    seed (`stats.paired_gaps`; every grown run of the grid has a 1-layer source), in row order."""
    tagged = runs.assign(source=np.where(runs.init == "fixed", -1, 1))
    paired = [g.assign(gap=100 * gaps[0]) for _, g, gaps in
              paired_gaps(tagged, ("recipe", "d", "steps_T", "seed"), ("run_id", "seed"))]
    out = pd.concat(paired).sort_index() if paired else tagged.iloc[:0].assign(gap=np.nan)
    return out.drop(columns="source")


def gap_changes(runs: pd.DataFrame, T_small: int, T_large: int) -> pd.DataFrame:
    """Per (recipe, d, tau, init, eps) and seed measured at both budgets: the fall of the final gap
    from T_small to T_large (points; positive: the gap shrinks with budget)."""
    gaps = seed_gaps(runs)
    cond = ["recipe", "d", "tau", "init", "eps", "seed"]
    small = gaps[gaps.steps_T == T_small].set_index(cond).gap
    large = gaps[gaps.steps_T == T_large].set_index(cond).gap
    both = small.index.intersection(large.index)
    out = (small.loc[both] - large.loc[both]).rename("fall").reset_index()
    return out.assign(gap_small=small.loc[both].to_numpy(), gap_large=large.loc[both].to_numpy())


def _drive(eta: np.ndarray, lam: float) -> float:
    """|D_k| / |du_0| under the constant drive over the per-step LRs `eta` (`theory.copy_symmetry.separation`)."""
    return float(abs(CS.separation(1.0, eta, lam)))


def lr_steps(run) -> np.ndarray:
    """The per-step LRs of a row of `declared_runs`: the WSD schedule every run of the grid uses
    (warmup 2%, linear decay over the last 10%; `analysis.gap_model.schedule_of`) at its peak LR."""
    from progtheory.analysis.gap_model import schedule_of

    return schedule_of(run.lr, "wsd", int(run.steps_T))


def separation_scores(table: pd.DataFrame, runs: pd.DataFrame, lr_steps=lr_steps) -> pd.DataFrame:
    """Per exact-copy run (init copy), pair, matrix and probed k >= 1 after tau: the measured
    relative distance, the constant-drive prediction rel_dist(1) * drive(k) / drive(1), and their
    ratio (predicted / measured).  `lr_steps(row)` gives the per-step LRs of a row of `runs`."""
    copies = runs[runs.init == "copy"].set_index("run_id")
    rows = []
    for rid, g in table[table.run_id.isin(copies.index)].groupby("run_id"):
        run = copies.loc[rid]
        eta = lr_steps(run)
        tau = int(g.tau.iloc[0])
        for (i, j, m), p in g.groupby(["i", "j", "matrix"]):
            first = p[p.updates == 1].rel_dist
            if first.empty or not np.isfinite(first.iloc[0]) or first.iloc[0] <= 0:
                continue
            d1 = _drive(eta[tau:tau + 1], run.lam)
            for r in p[p.updates >= 1].itertuples():
                pred = first.iloc[0] * _drive(eta[tau:tau + r.updates], run.lam) / d1
                rows.append({"run_id": rid, "i": i, "j": j, "matrix": m, "k": int(r.updates),
                             "measured": r.rel_dist, "predicted": pred, "ratio": pred / r.rel_dist})
    return pd.DataFrame(rows, columns=["run_id", "i", "j", "matrix", "k", "measured", "predicted", "ratio"])


def separation_exponents(scores: pd.DataFrame, k_lo: int = 50, k_hi: int = 1000) -> pd.DataFrame:
    """Per run of `separation_scores`: how fast the copies separate over k_lo <= k <= k_hi, as the
    least-squares slope of log relative distance against log k per pair and matrix type, measured
    and under the constant drive (1 while the LR is constant and lam * (LR area) << 1), each the
    median over pairs and matrices: rows run_id, measured, predicted, n (pairs x matrices with at
    least three probed k in the window)."""
    rows = []
    window = scores[(scores.k >= k_lo) & (scores.k <= k_hi)]
    for rid, g in window.groupby("run_id"):
        slopes = [(np.polyfit(np.log(p.k), np.log(p.measured), 1)[0], np.polyfit(np.log(p.k), np.log(p.predicted), 1)[0])
                  for _, p in g.groupby(["i", "j", "matrix"]) if p.k.nunique() >= 3]
        if slopes:
            measured, predicted = np.median(np.array(slopes), axis=0)
            rows.append({"run_id": rid, "measured": float(measured), "predicted": float(predicted), "n": len(slopes)})
    return pd.DataFrame(rows, columns=["run_id", "measured", "predicted", "n"])
