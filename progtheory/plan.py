"""Plan a progressive run from two pilots, and score the gap model on runs it never saw.

The gap model (`theory.loss_laws.HeadStartModel`): a multi-power law fitted on the fixed-size
pilot's validation curve, and a head start delta = d1 * tau fitted on the progressive pilot's
curve after tau.  `plan` answers a user's questions from two run folders; `score_gap_model` and
`score_fixed_laws` fit on the pilots declared below and score every other run of the committed
results (pandas; no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.config import ConfigError, TrainConfig, from_run_json, to_dict
from progtheory.presets import RECIPE_LR, TUNED_LR
from progtheory.theory import loss_laws as LL

MIN_STEP = 200  # evaluations before this step are left out of every fit (the early transient)

# Declared before any score is computed.  Fixed-size law: the fixed runs at T = 2000 under WSD
# and cosine (two schedules separate A from B).  Progressive pilots: tau = 0.5T, WSD, T = 2000,
# one per (source depth, init).  Everything else in the arm's experiments is held out.
FIXED_PILOTS = (("wsd", 2000), ("cosine", 2000))
PROGRESSIVE_PILOTS = {(0, "random"): ("wsd", 2000, 0.5), (1, "copy"): ("wsd", 2000, 0.5)}
# Fixed-law split (`score_fixed_laws`): fit on FIXED_PILOTS, predict the longer WSD runs.
FIXED_HELD_OUT = (("wsd", 4000), ("wsd", 8000))


@dataclass(frozen=True)
class Arm:
    """A set of runs the gap model is scored on: the experiments read, the peak LR of their
    runs, the label the report gives the arm (its recipe), the name of its figure, and the
    declared pilots ((schedule, T) of the fixed runs the law is fitted on; (source, init) ->
    (schedule, T, tau) of the progressive run each head start is fitted on)."""

    experiments: tuple[str, ...]
    lr: float
    label: str
    figure: str
    fixed_pilots: tuple[tuple[str, int], ...] = FIXED_PILOTS
    progressive_pilots: dict = field(default_factory=lambda: dict(PROGRESSIVE_PILOTS))


# The arms, each declared before any of its progressive runs existed.  sp-adamw and recipe
# (presets.recipe(), experiments/recipe_lr.py's optimum) share the pilot roles above.
# recipe-d64 (`budget_small`, the recipe at d = 64, WSD only): the fixed law on both budgets
# (T = 2500 and 10,000; one schedule, so two budgets separate A from B), each head start on the
# tau = 0.5T run at T = 2500; held out: tau = 0.8T at T = 2500 and both taus at T = 10,000,
# i.e. the gap at four times the pilot's budget.
ARMS = {
    "sp-adamw": Arm(("mixing", "budget"), TUNED_LR, "sp + AdamW", "gap_model_scores"),
    "recipe": Arm(("mixing_recipe",), RECIPE_LR, "completep + Muon-NSGD", "gap_model_scores_recipe"),
    "recipe-d64": Arm(("budget_small",), RECIPE_LR, "completep + Muon-NSGD, d = 64", "gap_model_scores_recipe_d64",
                      fixed_pilots=(("wsd", 2500), ("wsd", 10000)),
                      progressive_pilots={(0, "random"): ("wsd", 2500, 0.5), (1, "copy"): ("wsd", 2500, 0.5)}),
    # recipe-d32 (`ladder`): the baseline beside `gap_scores.GROWN_ARMS["recipe-d32"]`, on the
    # same fixed pilots and the WSD progressive pilots (this model takes one pilot per source).
    "recipe-d32": Arm(("ladder",), RECIPE_LR, "completep + Muon-NSGD, d = 32", "gap_model_scores_recipe_d32",
                      fixed_pilots=(("wsd", 2500), ("wsd", 10000)),
                      progressive_pilots={(0, "random"): ("wsd", 2500, 0.5), (1, "copy"): ("wsd", 2500, 0.5)}),
}


class PlanError(ConfigError):
    """A pilot run that cannot be used to plan (the message says why and what to pass)."""


# ----------------------------------------------------------------------------- curves


def mean_curve(metrics: pd.DataFrame, run_ids=None, min_step: int = MIN_STEP):
    """(steps, lr, loss) of the seed-mean validation curve of `run_ids` (default: every run in
    `metrics`): steps and lr on every logged step, loss NaN where there is no evaluation or the
    step is before `min_step`."""
    m = metrics if run_ids is None else metrics[metrics.run_id.isin(list(run_ids))]
    g = m.groupby("step")
    lr = g.lr.mean().sort_index()
    val = g.val_loss.mean().reindex(lr.index)
    val[val.index < min_step] = np.nan
    return lr.index.to_numpy(dtype=float), lr.to_numpy(dtype=float), val.to_numpy(dtype=float)


def _held_out_runs(root, arm: str = "sp-adamw") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The runs of `arm` (ARMS: its experiments, at its peak LR), one table, duplicates (the
    same run in two experiments) dropped; tags schedule, steps_T, source, init, tau, seed.
    FileNotFoundError when an experiment of the arm has no results yet."""
    from progtheory.analysis import load_results

    if arm not in ARMS:
        raise ValueError(f"arm={arm!r} is unknown; choose one of {sorted(ARMS)}")
    names, lr = ARMS[arm].experiments, ARMS[arm].lr
    cols = ["run_id", "schedule", "steps_T", "source", "init", "tau", "seed", "final_val_loss"]
    tables, metrics = [], []
    for name in names:
        r, m = load_results(name, root)
        r = r[np.isclose(r.lr, lr)] if "lr" in r else r
        r = r.assign(steps_T=r.steps_T if "steps_T" in r else r.steps,
                     schedule=r.schedule if "schedule" in r else "wsd",
                     init=np.where(r.source == 1, "copy", np.where(r.source == 0, "random", "fixed")))
        tables.append(r[cols])
        metrics.append(m)
    runs = pd.concat(tables).drop_duplicates("run_id")
    metrics = pd.concat(metrics).drop_duplicates(["run_id", "step"])
    return runs, metrics[metrics.run_id.isin(runs.run_id)]


def _fixed_law(runs, metrics, keys=FIXED_PILOTS, fit=LL.fit_multi_power_law):
    fixed = runs[runs.source < 0]
    curves = [mean_curve(metrics, fixed[(fixed.schedule == s) & (fixed.steps_T == T)].run_id) for s, T in keys]
    return fit(curves) if fit is LL.fit_multi_power_law else fit([_finite(c) for c in curves])


def _finite(curve):
    s, lr, y = curve
    keep = np.isfinite(y)
    return s[keep], lr[keep], y[keep]


# ----------------------------------------------------------------------------- held-out scores


def score_fixed_laws(results_root="experiments/results") -> list[dict]:
    """Both fixed-size laws (Tissue et al., multi-power) fitted on the FIXED_PILOTS curves and
    scored on every fixed run curve: one record per (law, schedule, T) with role ("fit" or
    "held_out"), r2 (validation curve from MIN_STEP), final and pred_final (validation loss
    at the last step), final_err (pred_final / final - 1) and at_bound (the fit's parameters at
    a bound)."""
    runs, metrics = _held_out_runs(results_root)
    out = []
    for name, fit in (("tissue", LL.fit_loss_law), ("multi_power", LL.fit_multi_power_law)):
        law = _fixed_law(runs, metrics, fit=fit)
        for (sch, T), g in runs[runs.source < 0].groupby(["schedule", "steps_T"]):
            s, lr, y = mean_curve(metrics, g.run_id)
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
        models[(src, init)] = LL.fit_head_start(law, [(*mean_curve(metrics, g.run_id), round(tau * T))])
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
    sp + AdamW at TUNED_LR in `mixing` and `budget`, or the recipe in `mixing_recipe`): role ("pilot" or "held_out"), n_seeds, measured (seed mean of the
    relative final validation gap to the fixed run of the same seed, schedule and T, in
    percent), predicted (percent), error (predicted - measured, percentage points), delta (the
    head start the model uses at this tau, steps).  `gap_model_summary` condenses it."""
    runs, metrics = _held_out_runs(results_root, arm)
    missing = missing_pilots(runs, arm)
    if missing:
        raise ValueError(f"arm {arm!r}: the pilots {missing} have no runs yet; the model is fitted on them only")
    models = fit_gap_models(runs, metrics, arm)
    fixed = runs[runs.source < 0].set_index(["schedule", "steps_T", "seed"]).final_val_loss
    out = []
    for (src, init, sch, T, tau), g in runs[runs.source >= 0].groupby(["source", "init", "schedule", "steps_T", "tau"]):
        if (src, init) not in models:
            continue
        gaps = [r.final_val_loss / fixed[(sch, T, r.seed)] - 1 for r in g.itertuples() if (sch, T, r.seed) in fixed]
        if not gaps:  # no fixed run of this schedule and T to compare with
            continue
        s, lr, _ = mean_curve(metrics, g.run_id)
        tau_step = round(tau * T)
        model = models[(src, init)]
        pred = model.final_gap(LL.per_step_lr(s, lr), tau_step)
        pilot = ARMS[arm].progressive_pilots[(src, init)] == (sch, T, tau)
        out.append({"source": int(src), "init": init, "schedule": sch, "T": int(T), "tau": float(tau),
                    "role": "pilot" if pilot else "held_out", "n_seeds": len(gaps),
                    "measured": 100 * float(np.mean(gaps)), "predicted": 100 * pred,
                    "error": 100 * (pred - float(np.mean(gaps))), "delta": model.delta(tau_step)})
    return out


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
    """Held-out score of `score_gap_model` records: n_held_out, mae (percentage points),
    share_within (share with |error| <= `within` points), trend signs in tau (per source,
    schedule, T) and in T (per source, schedule, tau) as right/total, and the misses (held-out
    conditions outside +-within, and wrong trend signs)."""
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


# ----------------------------------------------------------------------------- plan from two pilots

MATCH_FIELDS = ("model", "data", "batch_size", "lr", "optimizer", "weight_decay", "beta1", "beta2")


def load_pilot(folder) -> tuple[TrainConfig, pd.DataFrame]:
    """(config, metrics) of a run folder written by `progtheory train`;
    PlanError when config.json or metrics.csv is missing or the metrics hold no validation loss,
    ConfigError when config.json is not a valid config."""
    folder = Path(folder)
    cfg_path, met_path = folder / "config.json", folder / "metrics.csv"
    for p in (cfg_path, met_path):
        if not p.is_file():
            raise PlanError(f"{p} is missing; pass the folder of a run made by `progtheory train`")
    fix = "pass the folder of a run made by `progtheory train`, or train the pilot again"
    try:
        stored = json.loads(cfg_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise PlanError(f"{cfg_path} is damaged ({type(e).__name__}: {str(e)[:120]}); {fix}") from None
    if not isinstance(stored, dict):
        raise PlanError(f"{cfg_path} holds {type(stored).__name__}, not a config; {fix}")
    try:
        metrics = pd.read_csv(met_path)
    except pd.errors.EmptyDataError:
        metrics = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise PlanError(f"{met_path} is damaged ({type(e).__name__}: {str(e)[:120]}); {fix}") from None
    if metrics.empty or "val_loss" not in metrics or metrics.val_loss.notna().sum() == 0:
        raise PlanError(f"{met_path} has no validation loss; finish (or resume) the run before planning")
    try:
        cfg = from_run_json(stored)
    except ConfigError as e:
        raise PlanError(f"{cfg_path} is not a valid run config ({e}); {fix}") from None
    return cfg, metrics


FIT_POINTS = 8  # evaluations `LL.fit_multi_power_law` needs (seven constants)
SETTLE = 50     # steps after tau before `LL.fit_head_start` uses an evaluation (its default `settle`)


def _check_pilot_lengths(fixed_dir, fixed_cfg: TrainConfig, fixed_m: pd.DataFrame, prog_dir, prog_cfg: TrainConfig,
                         prog_m: pd.DataFrame, tau_step: int) -> None:
    """PlanError, naming the counts and the fix, when the fixed pilot has fewer than
    FIT_POINTS evaluations at steps >= MIN_STEP or the progressive pilot none at steps >=
    tau + SETTLE."""
    def evals(m, first):
        return int(m[(m.step >= first) & m.val_loss.notna()].step.nunique())

    n, e = evals(fixed_m, MIN_STEP), fixed_cfg.eval_every
    if n < FIT_POINTS:
        raise PlanError(f"the fixed pilot {fixed_dir} has {n} evaluations at steps >= {MIN_STEP}; the fit needs "
                        f">= {FIT_POINTS} evaluations there: train pilots of at least {MIN_STEP + FIT_POINTS * e} "
                        f"steps (--set steps=...) or evaluate more often (a smaller eval_every than {e})")
    if evals(prog_m, tau_step + SETTLE) < 1:
        raise PlanError(f"the progressive pilot {prog_dir} has no evaluation at steps >= tau + {SETTLE} = "
                        f"{tau_step + SETTLE}; the head-start fit needs one or more there: grow earlier, train longer "
                        f"(--set steps=...) or evaluate more often (a smaller eval_every than {prog_cfg.eval_every})")


def _check_pilots(fixed_cfg: TrainConfig, prog_cfg: TrainConfig) -> None:
    fixed, prog = to_dict(fixed_cfg), to_dict(prog_cfg)
    if fixed.get("growth"):
        raise PlanError("the fixed-size pilot has a growth plan; pass a run without growth as the first pilot")
    growth = prog.get("growth")
    if not growth:
        raise PlanError("the progressive pilot has no growth plan (it is a fixed-size run); "
                        "pass a run trained with growth, e.g. --set growth.stages='[[0.5, 4]]'")
    if len(growth["stages"]) != 1:
        raise PlanError(f"the progressive pilot grows in {len(growth['stages'])} stages; plan models one expansion")
    for key in MATCH_FIELDS:
        if fixed.get(key) != prog.get(key):
            raise PlanError(f"pilots differ in {key!r}: fixed {fixed.get(key)!r} vs progressive {prog.get(key)!r}; "
                            "train both pilots from the same config")
    fs, ps = fixed["schedule"], prog["schedule"]
    if fs != ps:
        raise PlanError(f"pilots differ in 'schedule': fixed {fs!r} vs progressive {ps!r}; use one schedule")


def plan(fixed_dir, prog_dir, eps: float = 0.005, taus=(0.25, 0.5, 0.7, 0.8, 0.9),
         budgets=(1, 2, 4, 8)) -> dict:
    """Predicted gap, recommended tau and compute saving from a fixed-size and a progressive
    pilot run (folders of `progtheory train`).

    The multi-power law is fitted on the fixed pilot's validation curve (from MIN_STEP), the
    head start delta = d1 tau on the progressive pilot's (`theory.loss_laws`).  Returns
    dict(T (the pilots' steps), source, target, delta_per_step (d1), law (its constants and
    at_bound), grid (records T, tau, gap for T in budgets x T and tau in taus), recommended
    (per T: the latest tau/T with predicted gap <= eps, its compute saving and efficiency at
    equal loss), T_parity (smallest T with gap <= 0.5% at tau = 0.8T, None if over 1e6
    steps)).  Raises PlanError for pilots that cannot be compared."""
    from progtheory.theory import compute

    fixed_cfg, fixed_m = load_pilot(fixed_dir)
    cfg, prog_m = load_pilot(prog_dir)
    _check_pilots(fixed_cfg, cfg)
    (stage, target), = cfg.growth.stages
    tau_step = int(round(stage * cfg.steps)) if isinstance(stage, float) else int(stage)
    _check_pilot_lengths(fixed_dir, fixed_cfg, fixed_m, prog_dir, cfg, prog_m, tau_step)
    short = [b for b in budgets if int(b * cfg.steps) < 1]
    if short:
        raise PlanError(f"budgets {short} times the pilots' {cfg.steps} steps give T < 1 step; use budgets >= "
                        f"{1 / cfg.steps:g}")
    law = LL.fit_multi_power_law([mean_curve(fixed_m)])
    model = LL.fit_head_start(law, [(*mean_curve(prog_m, min_step=0), tau_step)])
    sched = {k: cfg.schedule.__dict__[k] for k in ("warmup", "decay", "decay_shape", "final_lr_frac")}
    kind = cfg.schedule.kind
    per_token = {d: compute.flops_per_token(cfg.model, d) for d in (cfg.growth.source_depth, target)}
    grid, recommended = [], []
    for b in budgets:
        T = int(b * cfg.steps)
        grid += [{"T": T, "tau": u, "gap": LL.predicted_gap(model, u, T, cfg.lr, kind, **sched)} for u in taus]
        u = LL.latest_tau_within(model, T, cfg.lr, eps, kind, **sched)
        rec = {"T": T, "tau": u, "saving": None, "efficiency": None}
        if u is not None:
            rec["saving"] = compute.progressive_savings(cfg.model, cfg.growth.source_depth,
                                                        [(round(u * T), target)], T)["savings"]
            rec["efficiency"] = LL.equal_loss_efficiency(model, u, T, cfg.lr, per_token[cfg.growth.source_depth],
                                                         per_token[target], kind, **sched)["efficiency"]
        recommended.append(rec)
    return {"T": cfg.steps, "source": cfg.growth.source_depth, "target": target, "eps": eps,
            "delta_per_step": model.d1, "law": {**{k: v for k, v in law.__dict__.items() if k != "at_bound"},
                                                "at_bound": list(law.at_bound)},
            "grid": grid, "recommended": recommended,
            "T_parity": LL.smallest_budget(model, cfg.lr, 0.8, 0.005, kind=kind, **sched)}


def format_plan(p: dict) -> str:
    """The `progtheory plan` printout of a `plan` result."""
    taus = sorted({g["tau"] for g in p["grid"]})
    lines = [f"gap model: source depth {p['source']} -> {p['target']}, head start {p['delta_per_step']:.3f} "
             f"target steps per source step; law at bound: {', '.join(p['law']['at_bound']) or 'none'}",
             "predicted final gap (%), rows T, columns tau/T:",
             "T".rjust(9) + "".join(f"{u:>9.2f}" for u in taus)]
    for T in sorted({g["T"] for g in p["grid"]}):
        row = {g["tau"]: g["gap"] for g in p["grid"] if g["T"] == T}
        lines.append(f"{T:>9d}" + "".join(f"{100 * row[u]:>+9.2f}" for u in taus))
    lines.append(f"recommended tau (latest with predicted gap <= {100 * p['eps']:.2f}%):")
    for r in p["recommended"]:
        lines.append(f"  T={r['T']}: " + ("none on the grid" if r["tau"] is None else
                     f"tau = {r['tau']:.3f} T, saves {100 * r['saving']:.1f}% of FLOPs, "
                     f"{r['efficiency']:.2f}x compute efficiency at equal loss"))
    lines.append("smallest T with gap <= 0.5% at tau = 0.8T: " +
                 ("over 1e6 steps" if p["T_parity"] is None else f"{p['T_parity']} steps"))
    return "\n".join(lines)
