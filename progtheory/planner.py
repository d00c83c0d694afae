"""Plan a progressive run from pilot runs, and score the head-start gap model on runs it never saw.

`plan` answers a user's questions from their own run folders with the grown model
(`theory.gap_model.GrownModel`, fitted by `gap_scores.fit_curves`): fixed-size pilots at one or
more budgets and progressive pilots per (source depth, init).  The head-start model
(`theory.loss_laws.HeadStartModel`: a multi-power law on the fixed runs, a head start
delta = d1 * tau on a progressive run after tau) is the baseline that `score_gap_model` and
`score_fixed_laws` fit on the pilots declared below and score on every other run of the
committed results (pandas; no torch).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory import gap_scores as GS
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


def write_predictions(arm: str, experiment: str, path, root="experiments/results", n_boot: int = GS.N_BOOT) -> pd.DataFrame:
    """The predictions of the grown model (`gap_scores.predictions`, with intervals) and of the
    head-start baseline (`fit_gap_models`) for every held-out progressive condition `experiment` declares, written
    to `path` (CSV; refused when it exists: predictions are stated once, before the runs)."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; predictions are stated once, before their runs (remove it to restate)")
    conds = GS.declared_conditions(experiment)
    table = GS.predictions(arm, conds, root, n_boot)
    runs, metrics = _held_out_runs(root, arm)
    base = fit_gap_models(runs, metrics, arm)
    lr = GS.GROWN_ARMS[arm].lr
    table["baseline"] = [100 * base[(s, i)].final_gap(GS.schedule_of(lr, k, T), round(u * T)) if (s, i) in base else np.nan
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


FIT_POINTS = 8     # evaluations `LL.fit_multi_power_law` needs (seven constants)
GROWN_POINTS = 4   # evaluations after tau `GM.fit_grown` needs (rate, lag, spike, recovery)
# The ladder's held-out MAE when the committed results cannot be read (experiments/LOG.md,
# 2026-12-06: "MAE 4.5 points, 0 of 6 within +-1.5"); `held_out_error` reads it from the results.
HELD_OUT_MAE = 4.5


def _evals(m: pd.DataFrame, first: int, last: float = np.inf) -> int:
    return int(m[(m.step >= first) & (m.step < last) & m.val_loss.notna()].step.nunique())


def _check_fixed_length(folder, cfg: TrainConfig, m: pd.DataFrame) -> None:
    """PlanError, naming the count and the fix, when a fixed pilot has fewer than FIT_POINTS
    evaluations at steps >= MIN_STEP."""
    n, e = _evals(m, MIN_STEP), cfg.eval_every
    if n < FIT_POINTS:
        raise PlanError(f"the fixed pilot {folder} has {n} evaluations at steps >= {MIN_STEP}; the fit needs "
                        f">= {FIT_POINTS} evaluations there: train pilots of at least {MIN_STEP + FIT_POINTS * e} "
                        f"steps (--set steps=...) or evaluate more often (a smaller eval_every than {e})")


def _check_progressive_length(folder, cfg: TrainConfig, m: pd.DataFrame, tau: int) -> None:
    """PlanError when a progressive pilot has fewer than FIT_POINTS evaluations in
    [MIN_STEP, tau) (the source law) or fewer than GROWN_POINTS at steps >= tau (the grown model)."""
    before, after, e = _evals(m, MIN_STEP, tau), _evals(m, tau), cfg.eval_every
    if before < FIT_POINTS:
        raise PlanError(f"the progressive pilot {folder} has {before} evaluations in [{MIN_STEP}, tau={tau}); the "
                        f"source law needs >= {FIT_POINTS} there: grow later, train longer (--set steps=...) or "
                        f"evaluate more often (a smaller eval_every than {e})")
    if after < GROWN_POINTS:
        raise PlanError(f"the progressive pilot {folder} has {after} evaluations at steps >= tau={tau}; the grown "
                        f"model needs >= {GROWN_POINTS} there: grow earlier, train longer (--set steps=...) or "
                        f"evaluate more often (a smaller eval_every than {e})")


def _check_pilots(fixed_cfg: TrainConfig, prog_cfg: TrainConfig, fixed_dir="the fixed pilot",
                  prog_dir="the progressive pilot") -> None:
    """PlanError when `fixed_cfg` grows, `prog_cfg` does not grow in exactly one stage, or the two
    differ in a MATCH_FIELDS field (schedules may differ: the fits read the logged LR)."""
    fixed, prog = to_dict(fixed_cfg), to_dict(prog_cfg)
    if fixed.get("growth"):
        raise PlanError(f"the fixed-size pilot {fixed_dir} has a growth plan; pass runs without growth as fixed pilots")
    growth = prog.get("growth")
    if not growth:
        raise PlanError(f"the progressive pilot {prog_dir} has no growth plan (it is a fixed-size run); "
                        "pass a run trained with growth, e.g. --set growth.stages='[[0.5, 4]]'")
    if len(growth["stages"]) != 1:
        raise PlanError(f"the progressive pilot {prog_dir} grows in {len(growth['stages'])} stages; plan models "
                        "one expansion")
    for key in MATCH_FIELDS:
        if fixed.get(key) != prog.get(key):
            raise PlanError(f"pilots differ in {key!r}: {fixed_dir} {fixed.get(key)!r} vs {prog_dir} "
                            f"{prog.get(key)!r}; train every pilot from the same config")


def _check_fixed_pair(ref_dir, ref: TrainConfig, folder, cfg: TrainConfig) -> None:
    a, b = to_dict(ref), to_dict(cfg)
    if b.get("growth"):
        raise PlanError(f"the fixed-size pilot {folder} has a growth plan; pass runs without growth as fixed pilots")
    for key in MATCH_FIELDS:
        if a.get(key) != b.get(key):
            raise PlanError(f"pilots differ in {key!r}: {ref_dir} {a.get(key)!r} vs {folder} {b.get(key)!r}; "
                            "train every pilot from the same config")


def _tau_step(cfg: TrainConfig) -> int:
    (stage, _), = cfg.growth.stages
    return int(round(stage * cfg.steps)) if isinstance(stage, float) else int(stage)


def _schedule_key(cfg: TrainConfig) -> tuple:
    return tuple(sorted(to_dict(cfg)["schedule"].items()))


def held_out_error() -> tuple[float, int, str]:
    """(mean absolute error in points, number of conditions, source) of the grown model on the
    held-out conditions of the ladder (`gap_scores.score_arm("recipe-d32")` over the committed
    results, cached), or HELD_OUT_MAE when the results are not at hand."""
    global _HELD_OUT
    if _HELD_OUT is None:
        root = Path(__file__).resolve().parents[1] / "experiments" / "results"
        try:
            held = [r for r in GS.score_arm("recipe-d32", root, n_boot=0) if r["role"] == "held_out"]
            _HELD_OUT = (float(np.mean(np.abs([r["error"] for r in held]))), len(held), "committed ladder results")
        except (OSError, ValueError, KeyError):
            _HELD_OUT = (HELD_OUT_MAE, 6, "experiments/LOG.md")
    return _HELD_OUT


_HELD_OUT = None


def _load(dirs, role: str) -> list[tuple]:
    if isinstance(dirs, (str, Path)):
        dirs = [dirs]
    if not dirs:
        raise PlanError(f"no {role} pilot given; pass one or more run folders of `progtheory train`")
    return [(d, *load_pilot(d)) for d in dirs]


def plan(fixed, progressive, target_T: int | None = None, eps: float = 0.005, taus=(0.25, 0.5, 0.7, 0.8, 0.9),
         budgets=(1, 2, 4, 8), n_boot: int = 40, seed: int = 0, surface: bool = False) -> dict:
    """The grown model (`theory.gap_model`) fitted on a user's pilots, and its answers.

    `fixed`: run folders (or one) of `progtheory train` without growth, at one or more budgets T;
    folders of one schedule and T are seeds, averaged.  `progressive`: run folders with one growth
    stage, grouped by (source depth, init); those of one schedule, T and tau are seeds, averaged.
    The fixed law and, per group, the source law and grown constants are fitted by
    `gap_scores.fit_curves` (the arms' form: additive, area offset, LR-area clock).  Predictions
    use the first fixed pilot's schedule and peak LR at T in `budgets` x the longest progressive
    pilot's steps (and `target_T`).  With two or more seeds of any pilot, `n_boot` refits on
    seeds drawn with replacement give a 90% interval (seed noise only).  Returns a dict (see
    `format_plan`); `surface` adds the gap over a (tau/T, T) grid for `figures.gap_surface`.
    Raises PlanError for pilots that cannot be used."""
    from progtheory.theory import compute

    fixed_runs, prog_runs = _load(fixed, "fixed"), _load(progressive, "progressive")
    ref_dir, ref, _ = fixed_runs[0]
    for d, cfg, m in fixed_runs:
        _check_fixed_pair(ref_dir, ref, d, cfg)
        _check_fixed_length(d, cfg, m)
    for d, cfg, m in prog_runs:
        _check_pilots(ref, cfg, ref_dir, d)
        _check_progressive_length(d, cfg, m, _tau_step(cfg))
    metrics, fixed_conds, groups = [], {}, {}
    for i, (d, cfg, m) in enumerate(fixed_runs + prog_runs):
        tag = f"pilot{i}"
        metrics.append(m.assign(run_id=tag)[["run_id", "step", "lr", "val_loss"]])
        if cfg.growth is None:
            fixed_conds.setdefault((_schedule_key(cfg), cfg.steps), []).append(tag)
        else:
            key = (cfg.growth.source_depth, cfg.growth.init)
            groups.setdefault(key, {}).setdefault((_schedule_key(cfg), cfg.steps, _tau_step(cfg)), []).append(tag)
    metrics = pd.concat(metrics, ignore_index=True)
    arm = GS.GrownArm((), ref.lr, "", ())  # the arms' default form, offset and clock

    def fit(rng=None):
        def ids(tags):
            return tags if rng is None else list(rng.choice(tags, size=len(tags), replace=True))

        curves = [GS._fixed_curve(metrics, ids(t)) for t in fixed_conds.values()]
        pilots = {g: [GS._pilot(metrics, ids(t), T, tau) for (_, T, tau), t in conds.items()]
                  for g, conds in groups.items()}
        try:
            return GS.fit_curves(curves, pilots, ref.lr, form=arm.form, shift=arm.shift, clock=arm.clock)
        except ValueError as e:
            raise PlanError(f"the pilots cannot be fitted ({e}); train longer pilots or evaluate more often") from None

    point = fit()
    n_seeds = max(len(t) for t in [*fixed_conds.values(), *(t for c in groups.values() for t in c.values())])
    rng = np.random.default_rng(seed)
    boots = [fit(rng) for _ in range(n_boot)] if n_seeds > 1 else []
    interval = (f"90% interval over {n_boot} refits on pilot seeds drawn with replacement (seed noise only)"
                if boots else "no interval: every pilot has one seed (train 3 seeds of each pilot for one)"
                if n_seeds == 1 else "no interval: n_boot = 0")
    sched = {k: v for k, v in to_dict(ref)["schedule"].items() if k != "kind"}
    kind, lr = ref.schedule.kind, ref.lr
    T_pilot = max(cfg.steps for _, cfg, _ in prog_runs)
    Ts = sorted({max(2, int(round(b * T_pilot))) for b in budgets} | ({int(target_T)} if target_T else set()))
    parts = compute.param_breakdown(ref.model)
    block_params = parts["attention"] + parts["mlp"] + parts["block_norms"]
    tokens_per_step = ref.batch_size * ref.model.block_size

    def tpp(T):
        return tokens_per_step * T / block_params

    final = {tag: GS._mean(metrics, [tag], "val_loss")[2] for tag in metrics.run_id.unique()}
    final = {tag: float(y[np.isfinite(y)][-1]) for tag, y in final.items()}
    fixed_final = {k: np.mean([final[t] for t in tags]) for k, tags in fixed_conds.items()}
    out_groups = []
    for g, conds in groups.items():
        src, init = g
        target = ref.model.n_layer
        model = point[g]
        flops = {d: compute.flops_per_token(ref.model, d) for d in (src, target)}
        grid = []
        for T in Ts:
            for u in taus:
                draws = [100 * LL.predicted_gap(b[g], u, T, lr, kind, **sched) for b in boots]
                lo, hi = np.quantile(draws, [0.05, 0.95]) if draws else (None, None)
                grid.append({"T": T, "tau": float(u), "gap": 100 * LL.predicted_gap(model, u, T, lr, kind, **sched),
                             "lo": None if lo is None else float(lo), "hi": None if hi is None else float(hi)})
        recommended = []
        for T in Ts:
            u = LL.latest_tau_within(model, T, lr, eps, kind, **sched)
            rec = {"T": T, "tau": u, "saving": None, "efficiency": None}
            if u is not None:
                rec["saving"] = compute.progressive_savings(ref.model, src, [(round(u * T), target)], T)["savings"]
                rec["efficiency"] = LL.equal_loss_efficiency(model, u, T, lr, flops[src], flops[target], kind,
                                                             **sched)["efficiency"]
            recommended.append(rec)
        pilots = []
        for (sk, T, tau), tags in conds.items():
            pilot = GS._pilot(metrics, tags, T, tau)
            measured = None
            if (sk, T) in fixed_final:
                measured = 100 * (np.mean([final[t] for t in tags]) / fixed_final[(sk, T)] - 1)
            pilots.append({"T": T, "tau": tau / T, "schedule": dict(sk)["kind"], "n_seeds": len(tags),
                           "tokens_per_param": tpp(T), "measured": measured,
                           "fitted": 100 * model.final_gap(pilot.eta, tau)})
        grp = {"source": src, "init": init, "target": target, "grid": grid, "recommended": recommended,
               "T_parity": LL.smallest_budget(model, lr, 0.8, 0.005, T_min=min(T_pilot, 1000), kind=kind, **sched),
               "pilots": pilots, "constants": {k: getattr(model, k) for k in
                                               ("rate", "lag", "spike", "recovery", "clock")},
               "at_bound": list(model.at_bound)}
        if surface:
            us = np.linspace(0.05, 0.9 if kind != "wsd" else min(0.9, 1 - sched.get("decay", 0.1)), 12)
            Tg = np.unique(np.geomspace(min(Ts), max(max(Ts), 2 * min(Ts)), 10).astype(int))
            grp["surface"] = [{"tau": float(u), "T": int(T), "tokens_per_param": tpp(T),
                               "gap": 100 * LL.predicted_gap(model, float(u), int(T), lr, kind, **sched)}
                              for T in Tg for u in us]
        out_groups.append(grp)
    mae, n_held, where = held_out_error()
    fixed_Ts = sorted({T for _, T in fixed_conds})
    return {"T_pilot": T_pilot, "fixed_T": fixed_Ts, "schedule": kind, "lr": lr, "eps": eps,
            "n_fixed": len(fixed_runs), "n_progressive": len(prog_runs),
            "budgets": [{"T": T, "tokens_per_param": tpp(T)} for T in Ts], "target_T": target_T,
            "law_at_bound": list(point["law"].at_bound), "interval": interval, "groups": out_groups,
            "held_out": {"mae": mae, "n": n_held, "source": where}}


def _gap_cell(g: dict) -> str:
    if g["lo"] is None:
        return f"{g['gap']:>+8.2f}"
    return f"{g['gap']:>+8.2f} [{g['lo']:+.1f},{g['hi']:+.1f}]"


def format_plan(p: dict) -> str:
    """The `progtheory plan` printout of a `plan` result."""
    h = p["held_out"]
    fixed_T = ", ".join(str(T) for T in p["fixed_T"])
    lines = [f"grown gap model fitted on {p['n_fixed']} fixed and {p['n_progressive']} progressive pilot folders; "
             f"predictions under {p['schedule']} at peak LR {p['lr']:g}",
             f"fixed law fitted on T = {fixed_T}" + (
                 " (one budget: its extrapolation in T is assumed by the law's form, not fitted; add a fixed pilot "
                 "at a second budget, e.g. 4x)" if len(p["fixed_T"]) == 1 else " (its extrapolation in T is fitted)")
             + f"; at bound: {', '.join(p['law_at_bound']) or 'none'}",
             f"measured error: on {h['n']} held-out conditions of the ladder the model missed by a mean "
             f"{h['mae']:.1f} percentage points ({h['source']}); the intervals below do not include it",
             "the copy init's gap was measured not to shrink with budget (experiments/LOG.md); the model lets every "
             "grown model's gap shrink with T, so its copy predictions at large T are likely too low",
             p["interval"], "budgets: " + ", ".join(f"T={b['T']} ({b['tokens_per_param']:.0f} tokens/block param)"
                                                 for b in p["budgets"])]
    for g in p["groups"]:
        taus = sorted({c["tau"] for c in g["grid"]})
        lines += ["", f"== source depth {g['source']}, {g['init']} init -> {g['target']} layers; constants at bound: "
                  f"{', '.join(g['at_bound']) or 'none'}"]
        for q in g["pilots"]:
            meas = ("no fixed pilot of this schedule and T" if q["measured"] is None
                    else f"measured {q['measured']:+.2f}%")
            lines.append(f"  pilot {q['schedule']} T={q['T']} tau={q['tau']:.2f}T ({q['n_seeds']} seed(s)): {meas}, "
                         f"fitted {q['fitted']:+.2f}%")
        lines.append("  predicted final gap (%), rows T, columns tau/T:")
        lines.append("  " + "T".rjust(8) + "".join(f"{u:>20.2f}" for u in taus))
        for T in sorted({c["T"] for c in g["grid"]}):
            row = {c["tau"]: c for c in g["grid"] if c["T"] == T}
            lines.append(f"  {T:>8d}" + "".join(f"{_gap_cell(row[u]):>20s}" for u in taus))
        lines.append(f"  latest tau with predicted gap <= {100 * p['eps']:.2f}%:")
        for r in g["recommended"]:
            lines.append(f"    T={r['T']}: " + ("none" if r["tau"] is None else
                         f"tau = {r['tau']:.3f} T, saves {100 * r['saving']:.1f}% of FLOPs, "
                         f"{r['efficiency']:.2f}x compute efficiency at equal loss"))
        lines.append("  smallest T with gap <= 0.5% at tau = 0.8T: " +
                     ("over 1e6 steps" if g["T_parity"] is None else f"{g['T_parity']} steps"))
    return "\n".join(lines)
