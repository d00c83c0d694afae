"""Plan a progressive run from a user's pilot runs: `progtheory plan`.

The grown model (`theory.gap_model.GrownModel`, fitted by `analysis.gap_model.fit_curves` in
the arms' form) is fitted on the user's own run folders: fixed-size pilots at one or more
budgets and progressive pilots per (source depth, init).  It answers: the predicted final gap
over (T, tau/T) with a bootstrap interval over pilot seeds, the latest tau within eps per T
with its FLOP saving and compute efficiency at equal loss, and the smallest T for parity at
tau = 0.8T; the printout states the model's measured held-out error beside them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from progtheory.analysis import gap_model as grown
from progtheory.analysis.stats import MIN_STEP, mean_curve, val_curve
from progtheory.config import ConfigError, TrainConfig, from_run_json, to_dict
from progtheory.theory import loss_laws as LL


class PlanError(ConfigError):
    """A pilot run that cannot be used to plan (the message says why and what to pass)."""


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
    held-out conditions of the ladder (`analysis.gap_model.score_arm("recipe-d32")` over the committed
    results, cached), or HELD_OUT_MAE when the results are not at hand."""
    global _HELD_OUT
    if _HELD_OUT is None:
        root = Path(__file__).resolve().parents[1] / "experiments" / "results"
        try:
            held = [r for r in grown.score_arm("recipe-d32", root, n_boot=0) if r["role"] == "held_out"]
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


@dataclass(frozen=True)
class _Pilots:
    """A user's pilots, checked: the reference config (the first fixed pilot), one metrics table
    (a run id per folder), the fixed conditions {(schedule, T): run ids} and per (source depth,
    init) the progressive conditions {(schedule, T, tau step): run ids}."""

    ref: TrainConfig
    metrics: pd.DataFrame
    fixed: dict
    groups: dict
    n_fixed: int
    n_progressive: int
    T_pilot: int  # the longest progressive pilot's steps


def _read_pilots(fixed, progressive) -> _Pilots:
    """The pilot folders loaded, checked against each other and grouped by condition."""
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
    return _Pilots(ref, pd.concat(metrics, ignore_index=True), fixed_conds, groups, len(fixed_runs), len(prog_runs),
                   max(cfg.steps for _, cfg, _ in prog_runs))


def _fit(p: _Pilots, rng: np.random.Generator | None = None) -> dict:
    """`gap_model.fit_curves` on the pilots in the arms' form, offset and clock; with `rng`, each
    condition's seeds are drawn with replacement first."""
    arm = grown.GrownArm((), p.ref.lr, "", ())

    def ids(tags):
        return tags if rng is None else list(rng.choice(tags, size=len(tags), replace=True))

    curves = [val_curve(p.metrics, ids(t)) for t in p.fixed.values()]
    pilots = {g: [grown.pilot(p.metrics, ids(t), T, tau) for (_, T, tau), t in conds.items()]
              for g, conds in p.groups.items()}
    try:
        return grown.fit_curves(curves, pilots, p.ref.lr, form=arm.form, shift=arm.shift, clock=arm.clock)
    except ValueError as e:
        raise PlanError(f"the pilots cannot be fitted ({e}); train longer pilots or evaluate more often") from None


def _bootstrap(p: _Pilots, n_boot: int, seed: int) -> tuple[dict, list[dict], str]:
    """(point fit, bootstrap refits, what the interval covers): refits only when a pilot has two
    or more seeds."""
    point = _fit(p)
    n_seeds = max(len(t) for t in [*p.fixed.values(), *(t for c in p.groups.values() for t in c.values())])
    rng = np.random.default_rng(seed)
    boots = [_fit(p, rng) for _ in range(n_boot)] if n_seeds > 1 else []
    interval = (f"90% interval over {n_boot} refits on pilot seeds drawn with replacement (seed noise only)"
                if boots else "no interval: every pilot has one seed (train 3 seeds of each pilot for one)"
                if n_seeds == 1 else "no interval: n_boot = 0")
    return point, boots, interval


@dataclass(frozen=True)
class _Setting:
    """Where the predictions are made: the reference config's schedule (kind, its other fields)
    and peak LR, the budgets Ts, the tau/T grid, eps, and the tokens per step and block
    parameters that turn T into tokens per block parameter."""

    ref: TrainConfig
    kind: str
    lr: float
    sched: dict
    Ts: list
    taus: tuple
    eps: float
    tokens_per_step: int
    block_params: int

    def tpp(self, T) -> float:
        return self.tokens_per_step * T / self.block_params


def _setting(p: _Pilots, budgets, target_T, taus, eps: float) -> _Setting:
    from progtheory.theory import compute

    ref = p.ref
    sched = {k: v for k, v in to_dict(ref)["schedule"].items() if k != "kind"}
    Ts = sorted({max(2, int(round(b * p.T_pilot))) for b in budgets} | ({int(target_T)} if target_T else set()))
    parts = compute.param_breakdown(ref.model)
    block_params = parts["attention"] + parts["mlp"] + parts["block_norms"]
    return _Setting(ref, ref.schedule.kind, ref.lr, sched, Ts, taus, eps, ref.batch_size * ref.model.block_size,
                    block_params)


def _grid(g, point: dict, boots: list[dict], s: _Setting) -> list[dict]:
    """The predicted final gap (percent) of group `g` at every (T, tau/T), with the interval."""
    grid = []
    for T in s.Ts:
        for u in s.taus:
            draws = [100 * LL.predicted_gap(b[g], u, T, s.lr, s.kind, **s.sched) for b in boots]
            lo, hi = np.quantile(draws, [0.05, 0.95]) if draws else (None, None)
            gap = 100 * LL.predicted_gap(point[g], u, T, s.lr, s.kind, **s.sched)
            grid.append({"T": T, "tau": float(u), "gap": gap,
                         "lo": None if lo is None else float(lo), "hi": None if hi is None else float(hi)})
    return grid


def _recommended(model, src: int, s: _Setting) -> list[dict]:
    """Per budget T: the latest tau/T with a predicted gap <= eps, its FLOP saving and its
    compute efficiency at equal loss (None when no tau qualifies)."""
    from progtheory.theory import compute

    target = s.ref.model.n_layer
    flops = {d: compute.flops_per_token(s.ref.model, d) for d in (src, target)}
    out = []
    for T in s.Ts:
        u = LL.latest_tau_within(model, T, s.lr, s.eps, s.kind, **s.sched)
        rec = {"T": T, "tau": u, "saving": None, "efficiency": None}
        if u is not None:
            rec["saving"] = compute.progressive_savings(s.ref.model, src, [(round(u * T), target)], T)["savings"]
            rec["efficiency"] = LL.equal_loss_efficiency(model, u, T, s.lr, flops[src], flops[target], s.kind,
                                                         **s.sched)["efficiency"]
        out.append(rec)
    return out


def _pilot_rows(model, conds: dict, p: _Pilots, s: _Setting) -> list[dict]:
    """Each progressive pilot condition of a group: its measured gap (to the fixed pilots of the
    same schedule and T; None without one) beside the fitted one."""
    final = {tag: mean_curve(p.metrics, [tag])[2] for tag in p.metrics.run_id.unique()}
    final = {tag: float(y[np.isfinite(y)][-1]) for tag, y in final.items()}
    fixed_final = {k: np.mean([final[t] for t in tags]) for k, tags in p.fixed.items()}
    rows = []
    for (sk, T, tau), tags in conds.items():
        pilot = grown.pilot(p.metrics, tags, T, tau)
        measured = None
        if (sk, T) in fixed_final:
            measured = 100 * (np.mean([final[t] for t in tags]) / fixed_final[(sk, T)] - 1)
        rows.append({"T": T, "tau": tau / T, "schedule": dict(sk)["kind"], "n_seeds": len(tags),
                     "tokens_per_param": s.tpp(T), "measured": measured,
                     "fitted": 100 * model.final_gap(pilot.eta, tau)})
    return rows


def _surface(model, s: _Setting) -> list[dict]:
    """The predicted gap over a (tau/T, T) grid, for `figures.gap_surface`."""
    us = np.linspace(0.05, 0.9 if s.kind != "wsd" else min(0.9, 1 - s.sched.get("decay", 0.1)), 12)
    Tg = np.unique(np.geomspace(min(s.Ts), max(max(s.Ts), 2 * min(s.Ts)), 10).astype(int))
    return [{"tau": float(u), "T": int(T), "tokens_per_param": s.tpp(T),
             "gap": 100 * LL.predicted_gap(model, float(u), int(T), s.lr, s.kind, **s.sched)}
            for T in Tg for u in us]


def _weight_decay(src: int, grid: list[dict], s: _Setting) -> dict | None:
    """`analysis.memory.lam_advice` at tau = 0.8T of the largest budget, from the committed
    `weight_decay` results (None when they are not at hand, the source has no memory fit, or
    0.8 is not on the tau grid)."""
    from progtheory.analysis import memory
    from progtheory.theory.schedules import lr_factor

    path = Path(__file__).resolve().parents[1] / "experiments" / "results" / "weight_decay" / "runs.csv"
    cell = next((c for c in grid if c["T"] == max(s.Ts) and np.isclose(c["tau"], 0.8)), None)
    if cell is None or not path.is_file() or src not in (0, 1):
        return None
    T, tau = cell["T"], round(0.8 * cell["T"])
    A = float(np.sum(s.lr * lr_factor(np.arange(T), T, s.kind, **s.sched)[tau:]))
    recipe = (s.ref.model.parametrization, s.ref.optimizer) == ("completep", "muon")
    return {"T": T, "lam": s.ref.weight_decay, "same_recipe": recipe,
            **memory.lam_advice(pd.read_csv(path), A, T, 0.8, src, cell["gap"], s.ref.weight_decay)}


def _group(g, conds: dict, point: dict, boots: list[dict], p: _Pilots, s: _Setting, surface: bool) -> dict:
    """The answers for one (source depth, init) group."""
    src, init = g
    model = point[g]
    out = {"source": src, "init": init, "target": s.ref.model.n_layer, "grid": _grid(g, point, boots, s),
           "recommended": _recommended(model, src, s),
           "T_parity": LL.smallest_budget(model, s.lr, 0.8, 0.005, T_min=min(p.T_pilot, 1000), kind=s.kind, **s.sched),
           "pilots": _pilot_rows(model, conds, p, s),
           "constants": {k: getattr(model, k) for k in ("rate", "lag", "spike", "recovery", "clock")},
           "at_bound": list(model.at_bound)}
    out["weight_decay"] = _weight_decay(src, out["grid"], s)
    if surface:
        out["surface"] = _surface(model, s)
    return out


def plan(fixed, progressive, target_T: int | None = None, eps: float = 0.005, taus=(0.25, 0.5, 0.7, 0.8, 0.9),
         budgets=(1, 2, 4, 8), n_boot: int = 40, seed: int = 0, surface: bool = False) -> dict:
    """The grown model (`theory.gap_model`) fitted on a user's pilots, and its answers.

    `fixed`: run folders (or one) of `progtheory train` without growth, at one or more budgets T;
    folders of one schedule and T are seeds, averaged.  `progressive`: run folders with one growth
    stage, grouped by (source depth, init); those of one schedule, T and tau are seeds, averaged.
    The fixed law and, per group, the source law and grown constants are fitted by
    `analysis.gap_model.fit_curves` (the arms' form: additive, area offset, LR-area clock).
    Predictions use the first fixed pilot's schedule and peak LR at T in `budgets` x the longest
    progressive pilot's steps (and `target_T`).  With two or more seeds of any pilot, `n_boot`
    refits on seeds drawn with replacement give a 90% interval (seed noise only).  Returns a
    dict (see `format_plan`); `surface` adds the gap over a (tau/T, T) grid for
    `figures.gap_surface`.  Raises PlanError for pilots that cannot be used."""
    p = _read_pilots(fixed, progressive)
    point, boots, interval = _bootstrap(p, n_boot, seed)
    s = _setting(p, budgets, target_T, taus, eps)
    groups = [_group(g, conds, point, boots, p, s, surface) for g, conds in p.groups.items()]
    mae, n_held, where = held_out_error()
    return {"T_pilot": p.T_pilot, "fixed_T": sorted({T for _, T in p.fixed}), "schedule": s.kind, "lr": s.lr,
            "eps": eps, "n_fixed": p.n_fixed, "n_progressive": p.n_progressive,
            "budgets": [{"T": T, "tokens_per_param": s.tpp(T)} for T in s.Ts], "target_T": target_T,
            "law_at_bound": list(point["law"].at_bound), "interval": interval, "groups": groups,
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
             "grown model's gap shrink with T, so its copy predictions at large T are likely too low. Under a depth "
             "multiplier (CompleteP) the default copy carries 4x output projections; growth.old_blocks=rescale copies "
             "the weights as trained and ended 0.035 nats lower from T = 10,000 on (VALIDATION P28). On the same "
             "trained 1-layer source (d = 32, tau = 0.8T), random new blocks ended below the default copy from "
             "T = 10,000 on (gap 11.5% against 13.1%, and 8.1% against 11.2% at T = 40,000) and, with "
             "old_blocks=rescale, below the rescaled copy at T = 40,000 (7.4% against 8.7%) but far above it at "
             "T = 2,500 (28% against 11.5%) (VALIDATION P5, P29). Under sp + AdamW (d = 64, T = 10,000, tau = 0.8T) "
             "random new blocks ended above the copy (gap 13.4% against 10.6%; VALIDATION P5, copy_symmetry)",
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
        lines += _weight_decay_lines(g.get("weight_decay"))
    return "\n".join(lines)


def _weight_decay_lines(w: dict | None) -> list[str]:
    if w is None:
        return []
    lines = [f"  weight decay at T={w['T']}, tau = 0.8T (your pilots: lam = {w['lam']:g}); the gap scaled by the memory "
             f"model (P25, floor share {w['rho']:.2f}; it ignores what lam costs the fixed model):",
             "    " + ", ".join(f"lam={r['lam']:g} (lam*A={r['lam_A']:.2f}): {r['gap']:+.1f}%" for r in w["scaled"])]
    m = w["measured"]
    lines.append("    measured (the paper's recipe at d = 32): " + (
        "not your recipe (completep + Muon-NSGD); no lam is recommended" if not w["same_recipe"] else
        "no condition within 2x of these steps after tau; no lam is recommended" if m is None else
        f"at T={m['T']} the progressive run was best at lam = {m['lam']:g}, {m['gap']:+.1f}% against the fixed run at "
        f"its best lam ({m['lam_fixed']:g}), {m['gap_anchor']:+.1f}% at lam = 0.01: recommended lam = {m['lam']:g}"))
    return lines
