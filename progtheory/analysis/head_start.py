"""The head-start baseline of the gap model (`theory.loss_laws.HeadStartModel`: a multi-power
law on the fixed runs, a head start delta = d1 * tau on a progressive run after tau) and the
fixed-size laws, fitted on the pilots declared below and scored on every other run of the
committed results (pandas; no torch).  The grown model (`gap_model`) is scored beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from progtheory.analysis.results import experiment_folders, experiment_runs
from progtheory.analysis.stats import paired_gaps, val_curve
from progtheory.presets import RECIPE_LR, TUNED_LR
from progtheory.theory import loss_laws as LL

# Declared before any score is computed.  Fixed-size law: the fixed runs at T = 2000 under WSD
# and cosine (two schedules separate A from B).  Progressive pilots: tau = 0.5T, WSD, T = 2000,
# one per (source depth, init).  Everything else in the arm's experiments is held out.
FIXED_PILOTS = (("wsd", 2000), ("cosine", 2000))
PROGRESSIVE_PILOTS = {(0, "random"): ("wsd", 2000, 0.5), (1, "copy"): ("wsd", 2000, 0.5)}


@dataclass(frozen=True)
class Arm:
    """A set of runs the gap model is scored on: the experiments read (of each, its arm of the
    arm's name, `folders`), the peak LR of their runs, the label the report gives the arm (its
    recipe), the name of its figure, and the declared pilots ((schedule, T) of the fixed runs the
    law is fitted on; (source, init) -> (schedule, T, tau) of the progressive run each head start
    is fitted on)."""

    experiments: tuple[str, ...]
    lr: float
    label: str
    figure: str
    fixed_pilots: tuple[tuple[str, int], ...] = FIXED_PILOTS
    progressive_pilots: dict = field(default_factory=lambda: dict(PROGRESSIVE_PILOTS))


# The arms, each declared before any of its progressive runs existed.  sp-adamw and recipe
# (presets.recipe(), experiments/recipe_lr.py's optimum) share the pilot roles above.
# recipe-d64 (`budget`'s arm recipe-d64, the recipe at d = 64, WSD only): the fixed law on both budgets
# (T = 2500 and 10,000; one schedule, so two budgets separate A from B), each head start on the
# tau = 0.5T run at T = 2500; held out: tau = 0.8T at T = 2500 and both taus at T = 10,000,
# i.e. the gap at four times the pilot's budget.
ARMS = {
    "sp-adamw": Arm(("mixing", "budget"), TUNED_LR, "sp + AdamW", "gap_model_scores"),
    "recipe": Arm(("mixing",), RECIPE_LR, "completep + Muon-NSGD", "gap_model_scores_recipe"),
    "recipe-d64": Arm(("budget",), RECIPE_LR, "completep + Muon-NSGD, d = 64", "gap_model_scores_recipe_d64",
                      fixed_pilots=(("wsd", 2500), ("wsd", 10000)),
                      progressive_pilots={(0, "random"): ("wsd", 2500, 0.5), (1, "copy"): ("wsd", 2500, 0.5)}),
    # recipe-d32 (`ladder`): the baseline beside `gap_model.GROWN_ARMS["recipe-d32"]`, on the
    # same fixed pilots and the WSD progressive pilots (this model takes one pilot per source).
    "recipe-d32": Arm(("ladder",), RECIPE_LR, "completep + Muon-NSGD, d = 32", "gap_model_scores_recipe_d32",
                      fixed_pilots=(("wsd", 2500), ("wsd", 10000)),
                      progressive_pilots={(0, "random"): ("wsd", 2500, 0.5), (1, "copy"): ("wsd", 2500, 0.5)}),
}


def folders(arm: str) -> tuple[str, ...]:
    """The results folders `arm` reads: the arm of that name of each of its experiments (their
    declarations name the folders; an experiment without arms is read whole)."""
    if arm not in ARMS:
        raise ValueError(f"arm={arm!r} is unknown; choose one of {sorted(ARMS)}")
    return experiment_folders(ARMS[arm].experiments, arm)


def arm_runs(arm: str = "sp-adamw", root="experiments/results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of `arm` (ARMS: its folders at its peak LR, `results.experiment_runs`).
    FileNotFoundError when a folder of the arm has no results yet."""
    return experiment_runs(folders(arm), ARMS[arm].lr, root)


def _fixed_law(runs, metrics, keys=FIXED_PILOTS, fit=LL.fit_multi_power_law):
    fixed = runs[runs.source < 0]
    curves = [val_curve(metrics, fixed[(fixed.schedule == s) & (fixed.steps_T == T)].run_id) for s, T in keys]
    return fit(curves) if fit is LL.fit_multi_power_law else fit([_finite(c) for c in curves])


def _finite(curve):
    s, lr, y = curve
    keep = np.isfinite(y)
    return s[keep], lr[keep], y[keep]


def score_fixed_laws(results_root="experiments/results") -> list[dict]:
    """Both fixed-size laws (Tissue et al., multi-power) fitted on the FIXED_PILOTS curves and
    scored on every fixed run curve: one record per (law, schedule, T) with role ("fit" or
    "held_out"), r2 (validation curve from `stats.MIN_STEP`), final and pred_final (validation loss
    at the last step), final_err (pred_final / final - 1) and at_bound (the fit's parameters at
    a bound)."""
    runs, metrics = arm_runs(root=results_root)
    out = []
    for name, fit in (("tissue", LL.fit_loss_law), ("multi_power", LL.fit_multi_power_law)):
        law = _fixed_law(runs, metrics, fit=fit)
        for (sch, T), g in runs[runs.source < 0].groupby(["schedule", "steps_T"]):
            s, lr, y = val_curve(metrics, g.run_id)
            keep = np.isfinite(y)
            pred = law.predict(s, lr, at=s[keep])
            out.append({"law": name, "schedule": sch, "T": int(T),
                        "role": "fit" if (sch, T) in FIXED_PILOTS else "held_out",
                        "r2": LL.r_squared(y[keep], pred), "final": float(y[keep][-1]),
                        "pred_final": float(pred[-1]), "final_err": float(pred[-1] / y[keep][-1] - 1),
                        "at_bound": ",".join(law.at_bound)})
    return out


def fit_gap_models(runs, metrics, arm: str = "sp-adamw") -> dict:
    """{(source, init): HeadStartModel} fitted on the declared pilots of `arm` (ARMS)."""
    law = _fixed_law(runs, metrics, keys=ARMS[arm].fixed_pilots)
    models = {}
    for (src, init), (sch, T, tau) in ARMS[arm].progressive_pilots.items():
        g = runs[(runs.source == src) & (runs.init == init) & (runs.schedule == sch)
                 & (runs.steps_T == T) & np.isclose(runs.tau, tau)]
        models[(src, init)] = LL.fit_head_start(law, [(*val_curve(metrics, g.run_id), round(tau * T))])
    return models


def missing_pilots(runs, arm: str = "sp-adamw") -> list[str]:
    """The declared pilots of `arm` (ARMS) that `runs` does not hold."""
    out = [f"fixed {sch} T={T}" for sch, T in ARMS[arm].fixed_pilots
           if not ((runs.source < 0) & (runs.schedule == sch) & (runs.steps_T == T)).any()]
    out += [f"{src}-layer {init} {sch} T={T} tau={tau}" for (src, init), (sch, T, tau) in ARMS[arm].progressive_pilots.items()
            if not ((runs.source == src) & (runs.init == init) & (runs.schedule == sch) & (runs.steps_T == T)
                    & np.isclose(runs.tau, tau)).any()]
    return out


def score_gap_model(results_root="experiments/results", arm: str = "sp-adamw") -> list[dict]:
    """The gap model fitted on the declared pilots only and scored on every other condition.

    One record per (source, init, schedule, T, tau) of the progressive runs of `arm` (ARMS:
    sp + AdamW at TUNED_LR in `mixing` and `budget`, or the recipe in `mixing`'s recipe arm): role
    ("pilot" or "held_out"), n_seeds, measured (seed mean of the relative final validation gap
    to the fixed run of the same seed, schedule and T, `stats.paired_gaps`, in percent),
    predicted (percent), error (predicted - measured, percentage points), delta (the head start
    the model uses at this tau, steps).  `gap_model.gap_model_summary` condenses it."""
    runs, metrics = arm_runs(arm, results_root)
    missing = missing_pilots(runs, arm)
    if missing:
        raise ValueError(f"arm {arm!r}: the pilots {missing} have no runs yet; the model is fitted on them only")
    models = fit_gap_models(runs, metrics, arm)
    out = []
    for (src, init, sch, T, tau), g, gaps in paired_gaps(runs, ("schedule", "steps_T", "seed"),
                                                         ("source", "init", "schedule", "steps_T", "tau")):
        if (src, init) not in models:
            continue
        s, lr, _ = val_curve(metrics, g.run_id)
        tau_step = round(tau * T)
        model = models[(src, init)]
        pred = model.final_gap(LL.per_step_lr(s, lr), tau_step)
        measured = float(np.mean(gaps))
        is_pilot = ARMS[arm].progressive_pilots[(src, init)] == (sch, T, tau)
        out.append({"source": int(src), "init": init, "schedule": sch, "T": int(T), "tau": float(tau),
                    "role": "pilot" if is_pilot else "held_out", "n_seeds": len(gaps),
                    "measured": 100 * measured, "predicted": 100 * pred,
                    "error": 100 * (pred - measured), "delta": model.delta(tau_step)})
    return out
