"""The `saturation` grid (P26): the copy floor against the source's age at equal steps and LR
schedule after tau (pandas; no torch).

Three statements per condition, all written before the grid's runs (`write_predictions`):
  gap model    the ladder's grown-model gap model (`analysis.gap_model`, arm "recipe-d32", fitted on
               the ladder's pilots), at each rung's own schedule (WSD, decay over the last 1,000
               steps), with its bootstrap interval;
  memory       the gap equals the tau = 8,000 gap of the same source (the ladder's, measured),
               within TOLERANCE points: equal lam * A, equal forgetting (`theory.weight_decay`);
  saturation   the copy's gap rises by more than TOLERANCE points from the youngest source to the
               oldest, and by at least TOLERANCE more than the 0-layer source's
               (Liew & Kato 2025, "Reusing overtrained language models saturates scaling").
Gaps are paired: each progressive run against the fixed run of the same T and seed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis import gap_model as GS
from progtheory.analysis.stats import mean_ci, paired_gaps
from progtheory.presets import RECIPE_LR
from progtheory.theory import weight_decay as WD

ARM = "recipe-d32"
LAM = 0.01          # the recipe's weight decay, every run of the grid
TOLERANCE = 2.0     # points: "equal" for the memory reading, "grows" for the saturation reading
REFERENCE = 8000    # tau of the ladder's runs (T = 10,000, tau = 0.8T) the memory reading is held to
REFERENCE_T = 10000
KEY = ["tau_step", "T", "tau", "source", "init"]
FRESH = 0           # tau_step of the fresh starts: fixed runs trained only the steps after tau (P27)
FRESH_T, FRESH_DECAY = 2000, 0.5


def declared_conditions(experiment: str = "saturation") -> list[tuple]:
    """(tau_step, T, tau, source, init, decay) of every progressive run `experiment` declares."""
    from progtheory.sweep import load_experiment

    out = []
    for r in load_experiment(experiment).runs(False):
        t = r.tags
        key = (int(t["tau_step"]), int(t["steps_T"]), float(t["tau"]), int(t["source"]), t["init"],
               float(r.cfg.schedule.decay))
        if t["source"] >= 0 and key not in out:
            out.append(key)
    return out


def seed_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per progressive run of `runs` (a saturation runs.csv) with its fixed partner (same T
    and seed): KEY, seed and gap (percent)."""
    rows = []
    for key, _, gaps in paired_gaps(runs, ("steps_T", "seed"), ("tau_step", "steps_T", "tau", "source", "init", "seed")):
        *cond, seed = key
        rows.append(dict(zip(KEY, cond), seed=int(seed), gap=float(100 * gaps[0])))
    return pd.DataFrame(rows, columns=KEY + ["seed", "gap"])


def measured_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean gap (percent) per condition with its 95% Student-t interval (m_lo, m_hi) and n_seeds."""
    rows = []
    for cond, g in seed_gaps(runs).groupby(KEY, sort=True):
        mean, lo, hi, n = mean_ci(g.gap)
        rows.append(dict(zip(KEY, cond), n_seeds=n, measured=mean, m_lo=lo, m_hi=hi))
    return pd.DataFrame(rows, columns=KEY + ["n_seeds", "measured", "m_lo", "m_hi"])


def reference_gaps(ladder_runs: pd.DataFrame) -> dict[int, float]:
    """{source: seed-mean gap (percent)} of the ladder's runs at T = 10,000, tau = 0.8T, the
    tau = 8,000 rung both readings are held to."""
    rows = ladder_runs[(ladder_runs.steps_T == REFERENCE_T) & (ladder_runs.schedule == "wsd")
                       & (np.isclose(ladder_runs.tau, 0.8) | (ladder_runs.source < 0))]
    return {int(key[0]): float(100 * gaps.mean())
            for key, _, gaps in paired_gaps(rows, ("steps_T", "seed"), ("source", "tau"))}


def predictions(conditions: list[tuple], ladder_runs: pd.DataFrame, root="experiments/results",
                n_boot: int = GS.N_BOOT) -> pd.DataFrame:
    """The statements of the module docstring for each condition (`declared_conditions`): the gap
    model's point and interval (predicted, lo, hi; percent), lam * A after tau, and the memory
    reading's gap (memory: the source's tau = 8,000 gap, measured by the ladder)."""
    gm = GS.predictions(ARM, [("wsd", T, tau, s, i, d) for _, T, tau, s, i, d in conditions], root, n_boot)
    ref = reference_gaps(ladder_runs)
    rows = []
    for (tau_step, T, tau, src, init, decay), p in zip(conditions, gm.to_dict("records")):
        A = WD.lr_area(GS.schedule_of(RECIPE_LR, "wsd", T, decay), tau_step)
        rows.append(dict(tau_step=tau_step, T=T, tau=tau, source=src, init=init, decay=decay,
                         steps_after_tau=T - tau_step, lam_A=LAM * A, predicted=p["predicted"], lo=p["lo"],
                         hi=p["hi"], memory=ref.get(src, np.nan)))
    return pd.DataFrame(rows)


def write_predictions(path, root="experiments/results", experiment: str = "saturation",
                      n_boot: int = GS.N_BOOT) -> pd.DataFrame:
    """`predictions` for every condition of `experiment`, written to `path` (CSV; refused when it
    exists: predictions are stated once, before their runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    ladder, _ = GS.arm_runs(ARM, root)
    table = predictions(declared_conditions(experiment), ladder, root, n_boot)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.3f")
    return table


def age_changes(runs: pd.DataFrame) -> pd.DataFrame:
    """Per source: the change of the gap (points) from the youngest source (smallest tau_step) to
    each older one, seed by seed (paired), mean with its 95% interval: rows source, init, tau_step,
    n_seeds, change, lo, hi."""
    per_seed = seed_gaps(runs).pivot_table(index="seed", columns=["source", "init", "tau_step"], values="gap")
    rows = []
    for src, init in sorted({c[:2] for c in per_seed.columns}):
        g = per_seed[(src, init)]
        young = g.columns.min()
        for tau_step in g.columns[g.columns > young]:
            mean, lo, hi, n = mean_ci((g[tau_step] - g[young]).dropna())
            rows.append(dict(source=src, init=init, tau_step=int(tau_step), n_seeds=n, change=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["source", "init", "tau_step", "n_seeds", "change", "lo", "hi"])


def loss_changes(runs: pd.DataFrame) -> pd.DataFrame:
    """Per source (the fixed runs as -1): the change of the final validation loss (nats) from the
    youngest to the oldest source, seed by seed, with its 95% interval: rows source, init,
    n_seeds, change, lo, hi.  What moves the gap: the grown model's own loss or the fixed run's."""
    wide = runs[runs.tau_step != FRESH].pivot_table(index="seed", columns=["source", "init", "tau_step"],
                                                    values="final_val_loss")
    rows = []
    for src, init in sorted({c[:2] for c in wide.columns}):
        g = wide[(src, init)]
        mean, lo, hi, n = mean_ci((g[g.columns.max()] - g[g.columns.min()]).dropna())
        rows.append(dict(source=int(src), init=init, n_seeds=n, change=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["source", "init", "n_seeds", "change", "lo", "hi"])


def copy_rise(runs: pd.DataFrame) -> dict:
    """The saturation claim's two numbers, seed by seed from the youngest to the oldest source
    (points, `mean_ci` tuples; None where the runs lack them): "rise", the copy's change of gap,
    and "excess", that change less the 0-layer source's; plus the ages "young" and "old"."""
    per_seed = seed_gaps(runs).pivot_table(index="seed", columns=["source", "tau_step"], values="gap")
    ages = sorted(set(per_seed.columns.get_level_values(1)))
    out = {"young": ages[0] if ages else None, "old": ages[-1] if ages else None, "rise": None, "excess": None}
    sources = set(per_seed.columns.get_level_values(0))
    if 1 in sources and len(ages) > 1:
        rise = (per_seed[(1, ages[-1])] - per_seed[(1, ages[0])]).dropna()
        out["rise"] = mean_ci(rise)
        if 0 in sources:
            out["excess"] = mean_ci((rise - (per_seed[(0, ages[-1])] - per_seed[(0, ages[0])])).dropna())
    return out


def verdicts(runs: pd.DataFrame, stated: pd.DataFrame) -> dict:
    """The three statements against `runs`: gap_model (held-out MAE, share within TOLERANCE,
    intervals covering the measured mean), memory (per source and tau, |measured - memory| <=
    TOLERANCE) and saturation (`copy_rise`: the copy's change from the youngest to the oldest
    source > TOLERANCE and >= TOLERANCE above the 0-layer source's, seed-means of the paired
    changes); each with a `holds` flag and its numbers."""
    meas = measured_gaps(runs).merge(stated, on=KEY)
    err = meas.predicted - meas.measured
    covered = (meas.lo <= meas.measured) & (meas.measured <= meas.hi)
    mem_err = meas.measured - meas.memory
    claim = copy_rise(runs)
    rise, excess = (np.nan if claim[k] is None else claim[k][0] for k in ("rise", "excess"))
    return {
        "gap_model": {"n": len(meas), "mae": float(err.abs().mean()), "within": float((err.abs() <= TOLERANCE).mean()),
                      "covered": int(covered.sum()), "holds": bool((err.abs() <= TOLERANCE).all())},
        "memory": {"errors": dict(zip(zip(meas.source, meas.tau_step), mem_err.round(2))),
                   "holds": bool((mem_err.abs() <= TOLERANCE).all())},
        "saturation": {"copy_rise": rise, "excess": excess, "holds": bool(rise > TOLERANCE and excess >= TOLERANCE)},
    }


def fresh_statement(root="experiments/results", n_boot: int = GS.N_BOOT, seed: int = 0,
                    steps=(FRESH_T,)) -> pd.DataFrame:
    """(d) of P27: the final loss of a fresh run of S steps (each S of `steps`; WSD decaying over
    its last half) as the ladder's fixed-size law states it (`gap_model.fit_arm`, arm ARM: fitted
    on the ladder's fixed pilots), with the 90% range over `n_boot` bootstrap refits of the pilot
    seeds: rows T, decay, predicted, lo, hi."""
    runs, metrics = GS.arm_runs(ARM, root)
    rng = np.random.default_rng(seed)
    fits = [GS.fit_arm(runs, metrics, ARM)] + [GS.fit_arm(runs, metrics, ARM, rng) for _ in range(n_boot)]
    rows = []
    for S in steps:
        eta = GS.schedule_of(RECIPE_LR, "wsd", int(S), FRESH_DECAY)
        finals = [float(f["law"].predict(np.arange(int(S)), eta)[-1]) for f in fits]
        lo, hi = np.quantile(finals[1:], [(1 - GS.LEVEL) / 2, (1 + GS.LEVEL) / 2])
        rows.append({"T": int(S), "decay": FRESH_DECAY, "predicted": finals[0], "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def write_fresh_statement(path, root="experiments/results", n_boot: int = GS.N_BOOT, steps=(FRESH_T,)) -> pd.DataFrame:
    """`fresh_statement` written to `path` (CSV; refused when it exists: stated once, before the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    table = fresh_statement(root, n_boot, steps=steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.4f")
    return table


def against_fresh(runs: pd.DataFrame) -> pd.DataFrame:
    """(e) of P27: each grown condition's final loss less the fresh run's of the same seed (nats;
    positive: the grown run ends above a model that started at tau), mean with its 95% interval:
    rows source, init, tau_step, n_seeds, diff, lo, hi."""
    fresh = runs[(runs.tau_step == FRESH) & (runs.source < 0)].set_index("seed").final_val_loss
    rows = []
    for (src, init, tau_step), g in runs[runs.source >= 0].groupby(["source", "init", "tau_step"]):
        g = g[g.seed.isin(fresh.index)]
        mean, lo, hi, n = mean_ci(g.final_val_loss.to_numpy() - fresh.loc[g.seed].to_numpy())
        rows.append(dict(source=int(src), init=init, tau_step=int(tau_step), n_seeds=n, diff=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["source", "init", "tau_step", "n_seeds", "diff", "lo", "hi"])


def ladder_against_fresh(ladder_runs: pd.DataFrame, fresh_runs: pd.DataFrame, tau: float = 0.8) -> pd.DataFrame:
    """P27 across the ladder: each grown condition of the ladder at tau/T = `tau` (WSD) less the
    fresh run (`fresh_start`: fixed, S = T - tau*T steps) of the same seed (nats; positive: the
    grown run ends above the fresh start): rows source, init, T, steps_after_tau, n_seeds, diff, lo, hi."""
    fresh = fresh_runs[fresh_runs.source < 0].set_index(["steps_T", "seed"]).final_val_loss
    grown = ladder_runs[(ladder_runs.source >= 0) & np.isclose(ladder_runs.tau, tau) & (ladder_runs.schedule == "wsd")]
    if "init" not in grown:  # the ladder tags no init: its 0-layer source grows random blocks, its 1-layer copies
        grown = grown.assign(init=np.where(grown.source == 1, "copy", "random"))
    rows = []
    for (src, init, T), g in grown.groupby(["source", "init", "steps_T"]):
        S = int(T) - round(tau * int(T))
        keys = [(S, s) for s in g.seed if (S, s) in fresh.index]
        if not keys:
            continue
        mean, lo, hi, n = mean_ci(g.set_index("seed").loc[[s for _, s in keys]].final_val_loss.to_numpy()
                                  - fresh.loc[keys].to_numpy())
        rows.append(dict(source=int(src), init=init, T=int(T), steps_after_tau=S, n_seeds=n, diff=mean, lo=lo, hi=hi))
    return pd.DataFrame(rows, columns=["source", "init", "T", "steps_after_tau", "n_seeds", "diff", "lo", "hi"])
