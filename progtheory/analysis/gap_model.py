"""The grown-model gap model (`theory.gap_model`) fitted on each arm's declared pilots, its
predictions with bootstrap intervals, and its score on the runs it never saw (pandas; no torch).

An arm (`GROWN_ARMS`) names its experiments (of each it reads the arm of its own name,
`folders`), peak LR, the form of its fixed-size law, the fixed
runs that law is fitted on (two budgets), and per (source depth, init) the progressive pilots
(schedule, T, tau) the source law and the grown model's constants are fitted on.  Every other
progressive run of the arm is held out.  The ladder arm ("recipe-d32") was declared with its
pilots before any of its held-out runs existed; the other three arms were declared after the
old model's misses had been analysed on their runs (a retrospective score, not a blind one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis import head_start
from progtheory.analysis.results import experiment_folders, experiment_runs
from progtheory.analysis.stats import mean_ci, paired_gaps, val_curve
from progtheory.presets import RECIPE_LR, TUNED_LR
from progtheory.theory import gap_model as GM
from progtheory.theory import loss_laws as LL

N_BOOT = 40        # bootstrap refits behind each interval
LEVEL = 0.9        # the intervals' coverage


@dataclass(frozen=True)
class GrownArm:
    """Experiments, peak LR, report label, the fixed law's form and pilots ((schedule, T) of the
    fixed runs), and {(source, init): ((schedule, T, tau), ...)} progressive pilots."""

    experiments: tuple[str, ...]
    lr: float
    label: str
    fixed_pilots: tuple[tuple[str, int], ...]
    progressive_pilots: dict = field(default_factory=dict)
    figure: str = ""
    predictions: str = ""  # committed predictions (CSV, `write_predictions`) scored instead of a refit
    # Chosen on the three retrospective arms before the ladder's held-out runs existed
    # (experiments/LOG.md, 2026-12-06; `python scripts/gap_model_forms.py`): pooled held-out MAE 3.8 points for the additive law with
    # a fitted area offset and the LR-area clock (q = 1), against 3.9 (q fitted), 5.1 (no
    # offset), 7.2 (multiplicative, no offset), 27 (multiplicative with offset), 7.8 (q = 0).
    form: str = "additive"
    shift: bool = True   # the fixed and source laws fit an offset of the LR area (loss_laws)
    clock: float | None = 1.0  # the grown model's clock exponent q (1: LR area); None: fitted where two schedules allow
    blind: bool = False  # pilots declared before any held-out run existed


_PAIR = {(0, "random"): (("wsd", 2000, 0.5), ("cosine", 2000, 0.5)),
         (1, "copy"): (("wsd", 2000, 0.5), ("cosine", 2000, 0.5))}
GROWN_ARMS = {
    "sp-adamw": GrownArm(("mixing", "budget", "frontier"), TUNED_LR, "sp + AdamW",
                         (("wsd", 2000), ("wsd", 8000)), dict(_PAIR), figure="grown_gap_scores"),
    "recipe": GrownArm(("mixing", "frontier"), RECIPE_LR, "completep + Muon-NSGD",
                       (("wsd", 500), ("wsd", 2000)), dict(_PAIR), figure="grown_gap_scores_recipe"),
    "recipe-d64": GrownArm(("budget",), RECIPE_LR, "completep + Muon-NSGD, d = 64",
                           (("wsd", 2500), ("wsd", 10000)),
                           {(0, "random"): (("wsd", 2500, 0.5),), (1, "copy"): (("wsd", 2500, 0.5),)},
                           figure="grown_gap_scores_recipe_d64"),
    "recipe-d32": GrownArm(("ladder",), RECIPE_LR, "completep + Muon-NSGD, d = 32 (ladder)",
                           (("wsd", 2500), ("wsd", 10000)),
                           {(0, "random"): (("wsd", 2500, 0.5), ("cosine", 2500, 0.5)),
                            (1, "copy"): (("wsd", 2500, 0.5), ("cosine", 2500, 0.5))},
                           figure="grown_gap_scores_recipe_d32", predictions="experiments/predictions/ladder.csv",
                           blind=True),
}


def folders(arm: str) -> tuple[str, ...]:
    """The results folders `arm` reads: the arm of that name of each of its experiments (their
    declarations name the folders; an experiment without arms is read whole)."""
    if arm not in GROWN_ARMS:
        raise ValueError(f"arm={arm!r} is unknown; choose one of {sorted(GROWN_ARMS)}")
    return experiment_folders(GROWN_ARMS[arm].experiments, arm)


def arm_runs(arm: str, root="experiments/results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of `arm`: the runs of its folders (`folders`) at its peak LR
    (`results.experiment_runs`), one row per run id, with the tags schedule, steps_T, source,
    init, tau, seed; metrics of those runs."""
    return experiment_runs(folders(arm), GROWN_ARMS[arm].lr, root)


def _select(runs, schedule, T, source=-1, init="fixed", tau=1.0):
    return runs[(runs.schedule == schedule) & (runs.steps_T == T) & (runs.source == source)
                & (runs.init == init) & np.isclose(runs.tau, tau)]


def pilot(metrics, run_ids, T: int, tau: int) -> GM.Pilot:
    """The progressive pilot of `run_ids` (their seed-mean validation curve, `stats.val_curve`),
    grown at step `tau` of T steps, as `gap_model.fit_grown` takes it."""
    s, lr, val = val_curve(metrics, run_ids)
    return GM.pilot_from_curve(s, lr, val, tau, T)


def missing_pilots(runs, arm: str) -> list[str]:
    """The declared pilots of `arm` that `runs` does not hold."""
    a = GROWN_ARMS[arm]
    out = [f"fixed {s} T={T}" for s, T in a.fixed_pilots if _select(runs, s, T).empty]
    out += [f"{src}-layer {init} {s} T={T} tau={tau}" for (src, init), pilots in a.progressive_pilots.items()
            for s, T, tau in pilots if _select(runs, s, T, src, init, tau).empty]
    return out


def fit_curves(fixed_curves, pilots: dict, peak_lr: float, form: str = "additive", shift: bool = True,
               clock: float | None = 1.0) -> dict:
    """{"law": the fixed law, key: GrownModel} from measured curves: the fixed-size law
    (`loss_laws.fit_multi_power_law` in `form`, with the area offset when `shift`) on
    `fixed_curves` [(steps, lr, loss), ...], then per key of `pilots` ({key: [GM.Pilot, ...]},
    one key per source depth and init) the source law on the pilots' source phase and the grown
    model's constants on their points after tau (`gap_model.fit_grown`, `clock`; lag and
    recovery in units of `peak_lr`)."""
    law = LL.fit_multi_power_law(list(fixed_curves), form=form, shift=shift)
    out = {"law": law}
    for key, curves in pilots.items():
        source = GM.fit_source_law(curves, form=form, shift=shift)
        out[key] = GM.fit_grown(law, source, curves, peak_lr, clock=clock)
    return out


def resample_ids(g: pd.DataFrame, rng: np.random.Generator | None = None) -> np.ndarray:
    """The run ids of `g`; with `rng`, as many drawn from them with replacement (a bootstrap draw
    of one condition's seeds)."""
    ids = g.run_id.to_numpy()
    return ids if rng is None else rng.choice(ids, size=len(ids), replace=True)


def fit_arm(runs, metrics, arm: str, rng: np.random.Generator | None = None) -> dict:
    """{"law": the fixed law, (source, init): GrownModel} fitted on the declared pilots of `arm`
    (`fit_curves`); with `rng`, each pilot condition's seeds are resampled with replacement
    first (bootstrap)."""
    a = GROWN_ARMS[arm]
    fixed = [val_curve(metrics, resample_ids(_select(runs, s, T), rng)) for s, T in a.fixed_pilots]
    pilots = {(src, init): [pilot(metrics, resample_ids(_select(runs, s, T, src, init, tau), rng), T, round(tau * T))
                            for s, T, tau in group]
              for (src, init), group in a.progressive_pilots.items()}
    return fit_curves(fixed, pilots, a.lr, form=a.form, shift=a.shift, clock=a.clock)


def schedule_of(arm_lr: float, kind: str, T: int, decay: float = 0.1) -> np.ndarray:
    """Per-step LRs of the project's schedules (`schedules.lr_factor`: warmup 2%, WSD decaying
    linearly over the last `decay` of the run, 10% unless stated, cosine to 0) at peak `arm_lr`
    over T steps."""
    from progtheory.theory.schedules import lr_factor

    kw = {"warmup": 0.02, "decay": decay} if kind == "wsd" else {"warmup": 0.02}
    return arm_lr * lr_factor(np.arange(T), T, kind, **kw)


def predict(models: dict, arm_lr: float, kind: str, T: int, tau: float, source: int, init: str,
            decay: float = 0.1) -> float:
    """Predicted relative final gap (a fraction) of one condition (`decay`: the WSD decay's share of T)."""
    return models[(source, init)].final_gap(schedule_of(arm_lr, kind, T, decay), round(tau * T))


def predictions(arm: str, conditions, root="experiments/results", n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Predicted gap (percent) with a `LEVEL` bootstrap interval (seeds of every pilot condition
    resampled, `n_boot` refits) for each (schedule, T, tau, source, init) in `conditions`; a
    sixth element, where given, is the WSD decay's share of T (default 0.1, the project's)."""
    runs, metrics = arm_runs(arm, root)
    missing = missing_pilots(runs, arm)
    if missing:
        raise ValueError(f"arm {arm!r}: the pilots {missing} have no runs yet; the model is fitted on them only")
    lr = GROWN_ARMS[arm].lr
    point = fit_arm(runs, metrics, arm)
    rng = np.random.default_rng(seed)
    boots = [fit_arm(runs, metrics, arm, rng) for _ in range(n_boot)]
    rows = []
    for kind, T, tau, src, init, *decay in conditions:
        draws = [100 * predict(b, lr, kind, T, tau, src, init, *decay) for b in boots]
        lo, hi = np.quantile(draws, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if draws else (np.nan, np.nan)
        rows.append({"schedule": kind, "T": int(T), "tau": float(tau), "source": int(src), "init": init,
                     "predicted": 100 * predict(point, lr, kind, T, tau, src, init, *decay), "lo": lo, "hi": hi})
    return pd.DataFrame(rows)


def measured_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean relative final gap (percent) of each progressive condition against the fixed
    run of the same seed, schedule and T (`stats.paired_gaps`), with its 95% Student-t interval
    (m_lo, m_hi; NaN for one seed); n_seeds counts the paired seeds."""
    rows = []
    for (src, init, sch, T, tau), _, gaps in paired_gaps(runs, ("schedule", "steps_T", "seed"),
                                                         ("source", "init", "schedule", "steps_T", "tau")):
        mean, lo, hi, n = mean_ci(100 * gaps)
        rows.append({"schedule": sch, "T": int(T), "tau": float(tau), "source": int(src), "init": init,
                     "n_seeds": n, "measured": mean, "m_lo": lo, "m_hi": hi})
    return pd.DataFrame(rows)


def score_arm(arm: str, root="experiments/results", n_boot: int = N_BOOT, predictions_root=None) -> list[dict]:
    """Records in the form of `head_start.score_gap_model` (role, n_seeds, measured, predicted, error)
    plus the interval (lo, hi) for every measured progressive condition of `arm`.  An arm with
    committed predictions (`GrownArm.predictions`, a path below `predictions_root`, default the
    parent of `root`'s parent, i.e. the checkout) scores its held-out conditions against them;
    its pilots, and every condition of the other arms, against a fit on the pilots."""
    runs, _ = arm_runs(arm, root)
    meas = measured_gaps(runs)
    a = GROWN_ARMS[arm]
    meas = meas[[(r.source, r.init) in a.progressive_pilots for r in meas.itertuples()]]
    conds = list(meas[["schedule", "T", "tau", "source", "init"]].itertuples(index=False, name=None))
    pred = predictions(arm, conds, root, n_boot).to_dict("records")
    keys = ["schedule", "T", "tau", "source", "init"]
    committed = {}
    if a.predictions:
        base = Path(root).resolve().parent.parent if predictions_root is None else Path(predictions_root)
        table = pd.read_csv(base / a.predictions)
        committed = {tuple(r[k] for k in keys): r for r in table.to_dict("records")}
    out = []
    for m, p in zip(meas.to_dict("records"), pred):
        is_pilot = (m["schedule"], m["T"], m["tau"]) in a.progressive_pilots[(m["source"], m["init"])]
        stated = committed.get(tuple(m[k] for k in keys))
        if not is_pilot and a.predictions:
            if stated is None:
                raise ValueError(f"{a.predictions} states no prediction for the held-out condition "
                                 f"{dict((k, m[k]) for k in keys)}; held-out conditions are predicted before their runs")
            p = stated
        out.append({**m, "role": "pilot" if is_pilot else "held_out", "predicted": p["predicted"],
                    "lo": p["lo"], "hi": p["hi"], "error": p["predicted"] - m["measured"]})
    return out


def declared_conditions(experiment: str, role: str = "held_out") -> list[tuple]:
    """(schedule, T, tau, source, init) of every progressive run of `experiment` (its
    declaration, `sweep.load_experiment`; no results needed) tagged with `role`."""
    from progtheory.sweep import load_experiment

    out = []
    for r in load_experiment(experiment).runs(False):
        t = r.tags
        if t.get("role") == role and t["source"] >= 0:
            key = (t["schedule"], int(t["steps_T"]), float(t["tau"]), int(t["source"]), r.cfg.growth.init)
            if key not in out:
                out.append(key)
    return out


def gap_curve(arm: str, taus=(0.5, 0.8), T_grid=None, root="experiments/results") -> pd.DataFrame:
    """The point fit's predicted final gap (percent) over a grid of budgets T (default 20 points
    from 1,000 to 10^6 steps, log spaced) at each tau/T in `taus`, WSD, per source of `arm`:
    rows source, init, tau, T, steps_after_tau, predicted."""
    runs, metrics = arm_runs(arm, root)
    models = fit_arm(runs, metrics, arm)
    T_grid = np.unique(np.geomspace(1000, 1e6, 20).astype(int)) if T_grid is None else T_grid
    rows = []
    for (src, init) in GROWN_ARMS[arm].progressive_pilots:
        for tau in taus:
            for T in T_grid:
                rows.append({"source": src, "init": init, "tau": tau, "T": int(T), "steps_after_tau": int(T - round(tau * T)),
                             "predicted": 100 * predict(models, GROWN_ARMS[arm].lr, "wsd", int(T), tau, src, init)})
    return pd.DataFrame(rows)


def parity_budgets(arm: str, tau: float = 0.8, eps: float = 0.005, root="experiments/results",
                   n_boot: int = 0, seed: int = 0) -> pd.DataFrame:
    """Per source of `arm`: the smallest T (WSD, steps) at which the grown model predicts a final
    gap <= `eps` at tau/T = `tau` (`loss_laws.smallest_budget`, up to 10^6 steps; NaN when
    none), for the point fit and, with `n_boot`, the 5-95% range over bootstrap refits (a draw
    with no parity within 10^6 counts as 10^6 and makes `hi_censored` true)."""
    runs, metrics = arm_runs(arm, root)
    lr = GROWN_ARMS[arm].lr
    fits = [fit_arm(runs, metrics, arm)]
    rng = np.random.default_rng(seed)
    fits += [fit_arm(runs, metrics, arm, rng) for _ in range(n_boot)]
    rows = []
    for key in GROWN_ARMS[arm].progressive_pilots:
        Ts = [LL.smallest_budget(f[key], lr, tau, eps, T_min=1000) for f in fits]
        draws = np.array([1e6 if t is None else t for t in Ts[1:]], dtype=float)
        lo, hi = np.quantile(draws, [0.05, 0.95]) if len(draws) else (np.nan, np.nan)
        rows.append({"source": key[0], "init": key[1], "tau": tau, "eps": eps,
                     "T_parity": np.nan if Ts[0] is None else Ts[0], "lo": lo, "hi": hi,
                     "hi_censored": bool(len(draws) and draws.max() >= 1e6)})
    return pd.DataFrame(rows)


def write_predictions(arm: str, experiment: str, path, root="experiments/results",
                      n_boot: int = N_BOOT) -> pd.DataFrame:
    """The predictions of the grown model (`predictions`, with intervals) and of the head-start
    baseline (`head_start.fit_gap_models`) for every held-out progressive condition `experiment`
    declares, written to `path` (CSV; refused when it exists: predictions are stated once, before
    the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    conds = declared_conditions(experiment)
    table = predictions(arm, conds, root, n_boot)
    runs, metrics = head_start.arm_runs(arm, root)
    base = head_start.fit_gap_models(runs, metrics, arm)
    lr = GROWN_ARMS[arm].lr
    table["baseline"] = [100 * base[(s, i)].final_gap(schedule_of(lr, k, T), round(u * T)) if (s, i) in base else np.nan
                         for k, T, u, s, i in conds]
    table["steps_after_tau"] = [T - round(u * T) for _, T, u, _, _ in conds]
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, index=False, float_format="%.3f")
    return table


def _trend_signs(records: list[dict], along: str, within: tuple[str, ...]) -> tuple[int, int, list[str]]:
    """(right, total, misses) of the signs of consecutive changes of measured vs predicted gap
    along `along` within groups of `within`."""
    df = pd.DataFrame(records)
    right = total = 0
    misses = []
    for key, g in df.groupby(list(within)):
        g = g.sort_values(along)
        if len(g) < 2:
            continue
        dm, dp = np.diff(g.measured.to_numpy()), np.diff(g.predicted.to_numpy())
        for i, (a, b) in enumerate(zip(dm, dp)):
            total += 1
            if np.sign(a) == np.sign(b):
                right += 1
            else:
                misses.append(f"{dict(zip(within, key))} {along} {g[along].iloc[i]} -> {g[along].iloc[i + 1]}")
    return right, total, misses


def gap_model_summary(records: list[dict], within: float = 1.5) -> dict:
    """Held-out score of `score_arm` or `head_start.score_gap_model` records: n_held_out, mae
    (percentage points), share_within (share with |error| <= `within` points), trend signs in
    tau (per source, schedule, T) and in T (per source, schedule, tau) as right/total, and the
    misses (held-out conditions outside +-within, and wrong trend signs)."""
    held = [r for r in records if r["role"] == "held_out"]
    err = np.abs([r["error"] for r in held])
    tau_ok, tau_n, tau_miss = _trend_signs(records, "tau", ("source", "init", "schedule", "T"))
    T_ok, T_n, T_miss = _trend_signs(records, "T", ("source", "init", "schedule", "tau"))
    misses = [f"source {r['source']} {r['schedule']} T={r['T']} tau={r['tau']}: predicted "
              f"{r['predicted']:+.1f}%, measured {r['measured']:+.1f}%" for r in held if abs(r["error"]) > within]
    return {"n_held_out": len(held), "mae": float(err.mean()) if len(err) else np.nan,
            "share_within": float((err <= within).mean()) if len(err) else np.nan, "within": within,
            "tau_trend": f"{tau_ok}/{tau_n}", "T_trend": f"{T_ok}/{T_n}",
            "misses": misses, "trend_misses": tau_miss + T_miss}
