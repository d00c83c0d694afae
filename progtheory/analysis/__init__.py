"""Results tables -> analysed tables (pandas; no torch, no plotting).

Inputs are the tidy tables a sweep writes (`experiments/results/<name>/{runs,metrics}.csv`);
outputs are tables that figures and the validation report read.  Uncertainty: every
aggregate over seeds carries n and a two-sided 95% Student-t interval.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from progtheory.theory import bounds, timing

MIN_MARGIN = 0.05  # nats: below this the source is not meaningfully behind at tau


def load_results(name: str, root: Path | str = "experiments/results") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(runs, metrics) of experiment `name`; raises FileNotFoundError naming the missing file.
    runs carries a `recipe` column: `recipe_of` each run's config in provenance.jsonl, or for a
    run without one, of its parametrization and optimizer tags (default: sp, AdamW)."""
    folder = Path(root) / name
    out = []
    for table in ("runs", "metrics"):
        path = folder / f"{table}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; run `progtheory sweep {name}` first")
        out.append(pd.read_csv(path))
    runs = out[0]
    tagged = [recipe_of({"model": {"parametrization": r.get("parametrization", "sp")},
                         "optimizer": r.get("optimizer", "adamw")}) for r in runs.to_dict("records")]
    recipes = run_recipes(folder / "provenance.jsonl")
    return runs.assign(recipe=[recipes.get(rid, t) for rid, t in zip(runs.run_id, tagged)]), out[1]


OPTIMIZER_NAMES = {"adamw": "AdamW", "muon": "Muon-NSGD", "sgd": "SGD"}
DEFAULT_RECIPE = "sp + AdamW"


def recipe_of(config: dict) -> str:
    """The training recipe of a run config (a `config.json` dict): "<parametrization> +
    <optimizer>", e.g. "sp + AdamW" or "depth-mup + Muon-NSGD"."""
    par = config.get("model", {}).get("parametrization", "sp")
    opt = config.get("optimizer", "adamw")
    return f"{par} + {OPTIMIZER_NAMES.get(opt, opt)}"


def run_configs(path: Path | str) -> dict[str, dict]:
    """run_id -> its config.json dict, from a provenance.jsonl (empty when it is missing)."""
    path = Path(path)
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and "config" in (rec := json.loads(line)):
            out[rec["run_id"]] = rec["config"]
    return out


def growth_records(folder: Path | str):
    """(growth statistics, run config.json dict) per growth step of a results folder's runs,
    from growth_stats.jsonl and provenance.jsonl (runs without a provenance record skipped)."""
    folder = Path(folder)
    configs = run_configs(folder / "provenance.jsonl")
    path = folder / "growth_stats.jsonl"
    for line in path.read_text().splitlines() if path.is_file() else []:
        if line.strip() and (stats := json.loads(line))["run_id"] in configs:
            yield stats, configs[stats["run_id"]]


def run_recipes(path: Path | str) -> dict[str, str]:
    """run_id -> `recipe_of` its config, from a provenance.jsonl (empty when it is missing)."""
    return {rid: recipe_of(cfg) for rid, cfg in run_configs(path).items()}


def expansion_change_scores(folder: Path | str) -> pd.DataFrame:
    """The loss change at each growth step of a results folder's runs, predicted from the
    source's branch statistics (`theory.init_scale.expansion_loss_change`, fed by the run's
    growth_stats.jsonl and config) against the measured one.

    One row per (run, growth step): run_id, recipe, init, init_scale, source (depth before the
    step), target (depth after), step, predicted, linear, quadratic (nats), measured
    (``loss_grown - loss`` on the same validation batch, NaN for runs recorded before the
    trainer logged it) and ratio (predicted / measured).  Copy runs whose statistics were
    measured at another multiplier than their ``init_scale`` (runs trained before the trainer
    passed it) get no prediction (NaN).  Empty when the folder has no growth statistics."""
    from progtheory import config as C
    from progtheory.theory import init_scale as I
    from progtheory.theory import parametrization as P

    rows = []
    for stats, raw in growth_records(folder):
        cfg = C.from_run_json(raw)
        m, g = cfg.model, cfg.growth
        target = dict(C.resolve_stages(cfg))[stats["step"]]
        stds = I.fresh_block_stds(parametrization=m.parametrization, width=m.n_embd, base_width=m.base_width,
                                  depth=target, hidden_init=m.hidden_init, std=m.init_std, scale=g.init_scale)
        multiplier = P.residual_multiplier(target, m.base_depth, P.depth_alpha(m.parametrization, m.alpha))
        pred = I.expansion_loss_change(g.init, stats, target_depth=target, placement=g.placement, fresh_stds=stds,
                                       multiplier=multiplier, old_blocks=g.old_blocks)
        if g.init.startswith("copy") and stats.get("copy_scale", 1.0) != g.init_scale:
            pred = dict.fromkeys(pred, np.nan)  # unscaled source statistics cannot predict a scaled copy
        if g.init in C.NOISY_COPIES and g.init_noise > 0:
            pred = dict.fromkeys(pred, np.nan)  # the fresh part of a noisy copy has no prediction yet
        measured = stats["loss_grown"] - stats["loss"] if "loss_grown" in stats else np.nan
        rows.append({"run_id": stats["run_id"], "recipe": recipe_of(raw), "init": g.init, "init_scale": g.init_scale,
                     "source": int(stats["depth"]), "target": int(target), "step": int(stats["step"]),
                     "predicted": pred["loss_change"], "linear": pred["linear"], "quadratic": pred["quadratic"],
                     "measured": measured, "ratio": pred["loss_change"] / measured if measured else np.nan})
    return pd.DataFrame(rows)


def jolt_momenta(cfg: dict) -> dict:
    """The moment coefficients `theory.jolt` needs, from a run's config.json dict: momentum
    (AdamW beta1, Muon's Nesterov momentum, SGD's heavy ball) and beta2 (AdamW)."""
    name = cfg.get("optimizer", "adamw")
    momentum = {"adamw": cfg.get("beta1", 0.9), "muon": cfg.get("muon_momentum", 0.95)}.get(
        name, cfg.get("momentum", 0.9))
    return {"momentum": float(momentum), "beta2": float(cfg.get("beta2", 0.95))}


def jolt_scores(folder: Path | str) -> pd.DataFrame:
    """The jolt of the first updates after each growth step of a results folder's runs,
    predicted from the new parameters' update statistics at tau by the two models of
    `theory.jolt` (``predicted``: `jolt_curve`, the gradient held at its tau value; ``line``:
    `jolt_line`, the optimizer's own rule on the quadratic along its first direction; s_k from
    the summed scheduled LRs ``jolt_lr``) against the measured change of the loss on the same
    batch (``jolt_loss[k-1] - loss_grown``: the whole model training on its own batches, so
    old parameters learn too and gradients change).

    One row per (run, growth step, k): run_id, recipe, optimizer, init, init_scale, source,
    step, k, lr (the k-th update's scheduled LR), predicted, line, measured (nats), linear
    (the first-order part -s_k slope), slope, curvature (the update statistics at tau); and
    predicted_train, line_train, alignment: the same models along the direction of the first
    update's own training batch (``update_train``), and its slope over the statistics batch's
    own (NaN for runs that did not log it).  Empty when no run logged update statistics and a
    jolt."""
    from progtheory.theory import jolt as J

    rows = []
    for stats, raw in growth_records(folder):
        if "update" not in stats or not stats.get("jolt_loss"):
            continue
        u, ut, lrs = stats["update"], stats.get("update_train"), np.asarray(stats["jolt_lr"], float)
        mom = jolt_momenta(raw)

        def models(st: dict | None) -> tuple[np.ndarray, np.ndarray]:
            if st is None:
                return np.full(len(lrs), np.nan), np.full(len(lrs), np.nan)
            slope, curvature = st["slope"], max(st["curvature"], 0.0)
            return (J.jolt_curve(slope, curvature, lrs, st["optimizer"], momentum=mom["momentum"]),
                    J.jolt_line(max(slope, 0.0), curvature, lrs, st["optimizer"], **mom))

        (pred, line), (pred_t, line_t) = models(u), models(ut)
        s = J.path_length(lrs, u["optimizer"], momentum=mom["momentum"])
        alignment = ut["slope"] / u["slope"] if ut is not None and u["slope"] else np.nan
        growth = raw["growth"]
        for k, meas in enumerate(stats["jolt_loss"], start=1):
            rows.append({"run_id": stats["run_id"], "recipe": recipe_of(raw), "optimizer": u["optimizer"],
                         "init": growth["init"], "init_scale": growth.get("init_scale", 1.0),
                         "source": int(stats["depth"]), "step": int(stats["step"]), "k": k, "lr": lrs[k - 1],
                         "predicted": float(pred[k - 1]), "line": float(line[k - 1]),
                         "measured": meas - stats["loss_grown"], "linear": float(-s[k - 1] * u["slope"]),
                         "slope": u["slope"], "curvature": max(u["curvature"], 0.0),
                         "predicted_train": float(pred_t[k - 1]), "line_train": float(line_t[k - 1]),
                         "alignment": alignment})
    return pd.DataFrame(rows)


JOLT_KEYS = ("recipe", "optimizer", "source", "init", "init_scale", "run_id")


def jolt_peaks(scores: pd.DataFrame) -> pd.DataFrame:
    """One row per run of `jolt_scores` rows (keys JOLT_KEYS): the change after the first
    update, predicted (``first_pred``, both models agree there; ``first_train`` along the
    training batch's direction) and measured (``first_meas``); the peak over the logged
    updates by the line model (``peak_line``, ``peak_train``), the constant-gradient model
    (``peak_const``) and measured (``peak_meas``); and the run's update statistics (slope,
    curvature, lr of the first update, alignment)."""
    if scores.empty:
        return pd.DataFrame(columns=list(JOLT_KEYS))
    return scores.sort_values("k").groupby(list(JOLT_KEYS), sort=True).agg(
        first_pred=("predicted", "first"), first_meas=("measured", "first"), first_train=("predicted_train", "first"),
        peak_line=("line", "max"), peak_const=("predicted", "max"), peak_meas=("measured", "max"),
        peak_train=("line_train", "max"), slope=("slope", "first"), curvature=("curvature", "first"),
        lr=("lr", "first"), alignment=("alignment", "first")).reset_index()


def compare_runs(fixed_dir, prog_dir) -> dict:
    """Progressive vs fixed-size run, from their metrics.csv and summary.json.

    tau = the first step at which the progressive run's depth grows.  `margin_at_tau` =
    L_source - L_fixed at the last evaluation both runs made before tau; `recovered` =
    1 - (L_prog(T) - L_fixed(T)) / margin_at_tau, the fraction of the source's deficit closed
    by the end (None unless the margin is positive).  Ratios are fixed / progressive (above
    1 = progressive is cheaper).
    """
    fixed, prog = (pd.read_csv(Path(d) / "metrics.csv") for d in (fixed_dir, prog_dir))
    sf, sp = (json.loads((Path(d) / "summary.json").read_text()) for d in (fixed_dir, prog_dir))
    grown = prog[prog.depth > prog.depth.iloc[0]]
    tau = int(grown.step.iloc[0]) if len(grown) else None
    out = {
        "fixed_val": sf["final_val_loss"], "prog_val": sp["final_val_loss"], "tau": tau,
        "relative_gap": sp["final_val_loss"] / sf["final_val_loss"] - 1.0,
        "wall_ratio": sf["wall_time"] / sp["wall_time"], "flop_ratio": sf["flops"] / sp["flops"],
        "unigram": sf.get("unigram_xent_val"),
        "margin_at_tau": None, "recovered": None, "tau_eval_step": None,
    }
    if tau is not None:
        both = prog[prog.val_loss.notna() & (prog.step < tau)].merge(
            fixed[fixed.val_loss.notna()], on="step", suffixes=("_prog", "_fixed"))
        if len(both):
            last = both.iloc[-1]
            margin = float(last.val_loss_prog - last.val_loss_fixed)
            out["tau_eval_step"], out["margin_at_tau"] = int(last.step), margin
            if margin > 0:
                out["recovered"] = 1.0 - (out["prog_val"] - out["fixed_val"]) / margin
    return out


def mean_ci(values, level: float = 0.95) -> tuple[float, float, float, int]:
    """(mean, low, high, n) with a Student-t interval; low = high = mean when n = 1."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    m = float(v.mean())
    if n == 1:
        return m, m, m, 1
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * v.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half, n


def _val_curve(metrics: pd.DataFrame, run_id: str) -> pd.DataFrame:
    m = metrics[metrics.run_id == run_id]
    return m[m.val_loss.notna()][["step", "val_loss"]].sort_values("step")


def _val_at(curve: pd.DataFrame, step: int) -> float:
    """Validation loss at the last evaluation at or before `step`."""
    c = curve[curve.step <= step]
    return float(c.val_loss.iloc[-1]) if len(c) else np.nan


PAIR_ON = ("recipe", "lr", "schedule", "steps_T", "seed")  # tags a progressive run shares with its fixed run
DESIGN = ("schedule", "source", "tau", "seed")      # tags every mixing-style table carries


def mixing_table(runs: pd.DataFrame, metrics: pd.DataFrame, eps: float = 0.005,
                 window: int = 101, spike: bool = False) -> pd.DataFrame:
    """One row per progressive run, paired with the fixed run (source < 0) that shares its
    PAIR_ON tags (those present: schedule and seed always; lr, steps_T when the experiment
    varies them).  Runs without a `schedule` tag are WSD.

    Columns: every tag of the progressive run (schedule, source, tau, seed, and e.g. recipe, lr,
    init, stages), run_id and fixed_run_id, steps, final (prog val loss), final_fixed, rel_gap (final/final_fixed - 1), margin
    (fixed-vs-source val gap at the last evaluation before tau, nats), recovered (1 - (final -
    final_fixed)/margin: the fraction of the margin the progressive run made up; NaN unless the
    source was behind by more than MIN_MARGIN nats at tau, since a ratio over a vanishing margin
    is noise), t_mix (steps after tau until the running median over `window` steps of the
    relative train-loss gap stays below `eps`, `theory.timing.mixing_time`; inf if never), r_tau
    (`theory.bounds.r_of_tau` of the run's own schedule), flops, flops_fixed, wall, wall_fixed;
    with `spike`, also jump: the largest train-loss gap to the fixed run (same batches, so batch
    noise cancels) in the 10 steps from tau on, minus the mean gap of the 20 steps before tau
    (it includes the first optimizer steps after tau); jump0: the same on row tau alone, the
    loss of the grown model before any update, i.e. the function change of the expansion;
    and recovery: steps after tau until the spike has decayed (`spike_recovery`).
    """
    runs = runs if "schedule" in runs else runs.assign(schedule="wsd")
    tags = [c for c in runs.columns if c not in _SUMMARY_COLUMNS]
    pair = [c for c in PAIR_ON if c in runs]
    fixed = runs[runs.source < 0].set_index(pair)
    rows = []
    for r in runs[runs.source >= 0].itertuples(index=False):
        key = tuple(getattr(r, k) for k in pair)
        if key not in fixed.index:
            continue
        f = fixed.loc[key]
        T = int(r.steps)
        tau_step = int(round(r.tau * T)) if r.tau < 1 else int(r.tau)
        prog_val, fixed_val = _val_curve(metrics, r.run_id), _val_curve(metrics, f.run_id)
        margin = _val_at(prog_val, tau_step - 1) - _val_at(fixed_val, tau_step - 1)
        mp = metrics[metrics.run_id == r.run_id].sort_values("step")
        mf = metrics[metrics.run_id == f.run_id].sort_values("step")
        t_mix = timing.mixing_time(mp.step.to_numpy(), mp.train_loss.to_numpy(),
                                   mf.step.to_numpy(), mf.train_loss.to_numpy(), tau_step, eps, window)
        lr = mf.lr.to_numpy()
        row = {k: getattr(r, k) for k in tags if k != "run_id"}
        row.update(
            run_id=r.run_id, fixed_run_id=f.run_id,
            source=int(r.source), tau=float(r.tau), seed=int(r.seed), steps=T,
            final=float(r.final_val_loss), final_fixed=float(f.final_val_loss),
            rel_gap=float(r.final_val_loss) / float(f.final_val_loss) - 1.0,
            margin=margin,
            recovered=(1.0 - (float(r.final_val_loss) - float(f.final_val_loss)) / margin
                       if margin > MIN_MARGIN else np.nan),
            t_mix=t_mix, r_tau=float(bounds.r_of_tau(lr, tau_step)),
            flops=float(r.flops), flops_fixed=float(f.flops),
            wall=float(r.wall_time), wall_fixed=float(f.wall_time),
        )
        if spike:
            gap = _paired_gap(mp, mf)
            row["jump"], row["jump0"] = _gap_jump(gap, tau_step), _gap_jump(gap, tau_step, after=1)
            row["recovery"] = spike_recovery(mp, mf, tau_step)
        rows.append(row)
    return pd.DataFrame(rows)


# summary.json fields that a sweep writes into runs.csv beside the tags
_SUMMARY_COLUMNS = {"name", "status", "steps", "steps_done", "tokens", "depth", "params", "final_val_loss",
                    "final_val_step", "best_val_loss", "final_train_loss", "unigram_xent_val", "flops",
                    "flops_6n", "wall_time", "cpu_time", "eval_time", "device", "end_time", "diverged_reason"}


def _paired_gap(prog: pd.DataFrame, fixed: pd.DataFrame) -> pd.Series:
    """Train loss of the progressive run minus the fixed run's, per step both logged."""
    return (prog.set_index("step").train_loss - fixed.set_index("step").train_loss).dropna().sort_index()


def _gap_jump(gap: pd.Series, tau: int, before: int = 20, after: int = 10) -> float:
    """Largest value of a per-step series (a loss, or a gap between two runs) in the `after`
    steps from tau on, minus its mean over the `before` steps just before tau (nats)."""
    pre = gap[(gap.index >= tau - before) & (gap.index < tau)].mean()
    return float(gap[(gap.index >= tau) & (gap.index < tau + after)].max() - pre)


SPIKE_TOL = 0.05  # nats: a loss jump at tau (over the fixed run's, same batches) below this is no spike


def spike_recovery(prog: pd.DataFrame, fixed: pd.DataFrame, tau: int, before: int = 20,
                   window: int = 20, tol: float = SPIKE_TOL) -> float:
    """Steps after tau until the expansion spike has decayed: the first s >= 0 at which the mean
    over steps [tau + s, tau + s + window) of the train-loss gap (progressive - fixed, same
    batches) is back within `tol` nats of its mean over the `before` steps just before tau;
    inf if never.  A gap that settles above its pre-tau level by more than `tol` (the expansion
    cost more than a transient) never counts as recovered.  `prog`, `fixed`: metrics rows
    (step, train_loss) of the two runs, one row per step around tau."""
    gap = _paired_gap(prog, fixed)
    pre = gap[(gap.index >= tau - before) & (gap.index < tau)].mean()
    after = gap[gap.index >= tau]
    means = after.rolling(window).mean().shift(-(window - 1)).dropna()
    hit = means[means <= pre + tol]
    return float(hit.index[0] - tau) if len(hit) else np.inf


def recipe_tau(table: pd.DataFrame, source: int, schedule: str = "wsd", warmup: float = 0.02,
               decay: float = 0.1) -> dict | None:
    """P15's recipe: the latest expansion step tau* = T - t_mix (`theory.timing.latest_tau`,
    clipped to the stable phase), with t_mix the median mixing time of the pilot runs in
    `table` (a `mixing_table`) of this source depth and schedule that mixed (finite t_mix).
    Returns dict(t_mix, tau_step, tau (= tau_step / T), T, n_pilots), or None when no pilot
    mixed or T - t_mix falls before the stable phase (the recipe then has no tau)."""
    pilots = table[(table.source == source) & (table.schedule == schedule)]
    mixed = pilots[np.isfinite(pilots.t_mix)]
    if mixed.empty:
        return None
    T = int(mixed.steps.iloc[0])
    t_mix = float(mixed.t_mix.median())
    tau = timing.latest_tau(T, t_mix, schedule, warmup, decay)
    if tau is None:
        return None
    return dict(t_mix=t_mix, tau_step=tau, tau=tau / T, T=T, n_pilots=len(mixed))


def lr_order(runs: pd.DataFrame, tuned: float | None = None) -> list[float]:
    """The peak LRs of a results table, the one with most finished runs first (`tuned` wins
    ties, then the larger LR): the LR whose runs decide a verdict or a main figure."""
    count = runs.groupby("lr", dropna=False).size()
    return sorted(runs.lr.unique(), key=lambda lr: (-int(count.get(lr, len(runs))),
                                                   tuned is None or not np.isclose(lr, tuned), -lr))


def summarize(table: pd.DataFrame, by: list[str], columns: list[str]) -> pd.DataFrame:
    """Mean, 95% CI over seeds of each column (non-finite values left out), per group; n = runs."""
    out = []
    for key, g in table.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        for c in columns:
            m, lo, hi, n = mean_ci(g[c])
            row.update({c: m, f"{c}_lo": lo, f"{c}_hi": hi, f"{c}_n": n})
        row["n"] = len(g)
        out.append(row)
    return pd.DataFrame(out)


def mean_curves(runs: pd.DataFrame, metrics: pd.DataFrame, by: list[str], value: str = "val_loss") -> pd.DataFrame:
    """Per group and step: mean, 95% CI and n of `value` over seeds (rows with the value only)."""
    m = metrics.merge(runs[["run_id"]], on="run_id")
    m = m[m[value].notna()]
    rows = []
    for key, g in m.groupby(by + ["step"], sort=True):
        mean, lo, hi, n = mean_ci(g[value])
        rows.append({**dict(zip(by + ["step"], key)), value: mean, "lo": lo, "hi": hi, "n": n,
                     "flops": float(g.flops.mean())})
    return pd.DataFrame(rows)


def lr_optima(runs: pd.DataFrame, by: list[str], lr: str = "lr", loss: str = "final_val_loss") -> pd.DataFrame:
    """Optimal LR per group from a grid: the grid LR with the lowest seed-mean loss, refined by a
    parabola through log10(lr) and its two neighbours (the vertex, clipped to them).

    Columns: by..., lr_best (grid), lr_opt (refined), loss_best, n_lrs, at_edge (True when the
    grid minimum is the smallest or largest LR tried: the optimum is then not found, only bounded,
    and must not be reported as measured), n_seeds.  Diverged runs (no final loss) count as
    +inf.  Only seeds that ran every LR of their group's grid are used, so each LR is averaged
    over the same seeds (a sweep stopped part-way leaves no bias).
    """
    rows = []
    for key, g in runs.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        if "seed" in g:
            full = g.groupby("seed")[lr].nunique()
            g = g[g.seed.isin(full[full == g[lr].nunique()].index)]
        curve = g.assign(_loss=g[loss].astype(float).fillna(np.inf)).groupby(lr)._loss.mean().sort_index()
        lrs, losses = curve.index.to_numpy(dtype=float), curve.to_numpy()
        i = int(np.argmin(losses))
        at_edge = i in (0, len(lrs) - 1)
        opt = lrs[i]
        if not at_edge and np.all(np.isfinite(losses[i - 1:i + 2])):
            x, y = np.log10(lrs[i - 1:i + 2]), losses[i - 1:i + 2]
            a, b, _ = np.polyfit(x, y, 2)
            if a > 0:
                opt = float(10 ** np.clip(-b / (2 * a), x[0], x[-1]))
        rows.append({**dict(zip(by, key)), "lr_best": lrs[i], "lr_opt": opt, "loss_best": losses[i],
                     "n_lrs": len(lrs), "at_edge": at_edge,
                     "n_seeds": g.seed.nunique() if "seed" in g else 1})
    return pd.DataFrame(rows)


def predicted_lr_optima(optima: pd.DataFrame, *, base_depth: int, base_width: int | None = None,
                        optimizer: str = "adamw") -> pd.DataFrame:
    """The LR each (parametrization[, width], depth) should need, in the user's (base) units,
    anchored at the measured optimum at (base_depth[, base_width]) of the same parametrization.

    predicted = predict_lr(L, w) / m(L, w), where m is the hidden-matrix multiplier the
    trainer already applies (`theory.parametrization.lr_multipliers`): for sp m = 1, so the
    user must pass predict_lr itself (under AdamW its measured depth exponent; it has no width
    rule, see `predict_lr`); for depth-mup the trainer applies the whole factor, so the base-LR
    optimum is predicted flat.  Rows whose anchor optimum is missing, or for which `predict_lr`
    has no rule (sp off the base width), are left out.
    """
    from progtheory.theory.parametrization import lr_multipliers, predict_lr

    has_w = "width" in optima
    rows = []
    for par, g in optima.groupby("parametrization"):
        w0 = base_width if has_w else None
        anchor = g[(g.depth == base_depth) & ((g.width == w0) if has_w else True)]
        if anchor.empty:
            continue
        base_lr = float(anchor.lr_opt.iloc[0])
        for r in g.itertuples():
            w = int(r.width) if has_w else None
            try:
                lr = predict_lr(int(r.depth), base_depth=base_depth, base_lr=base_lr, parametrization=par,
                                optimizer=optimizer, width=w, base_width=w0)
            except ValueError:  # no rule for this shape
                continue
            m = lr_multipliers(par, optimizer, depth=int(r.depth), base_depth=base_depth,
                               width=w or 1, base_width=w0 or 1)["hidden"]
            rows.append({"parametrization": par, **({"width": w} if has_w else {}), "depth": int(r.depth),
                         "lr": lr / m, "anchor_lr": base_lr})
    return pd.DataFrame(rows)


def depth_exponent(optima: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Least-squares slope of log lr_opt against log depth per group (the measured e in
    lr* ~ L^e), with n_depths and n_at_edge (optima that are only grid bounds)."""
    rows = []
    for key, g in optima.groupby(by, sort=True):
        key = key if isinstance(key, tuple) else (key,)
        slope = np.polyfit(np.log(g.depth.astype(float)), np.log(g.lr_opt.astype(float)), 1)[0] if len(g) > 1 else np.nan
        rows.append({**dict(zip(by, key)), "exponent": float(slope), "n_depths": len(g),
                     "n_at_edge": int(g.at_edge.sum())})
    return pd.DataFrame(rows)


def tuned_lr(runs: pd.DataFrame, lr: str = "lr", loss: str = "final_val_loss") -> dict:
    """The best grid LR of one LR sweep (e.g. `baseline_lr`): {"lr", "loss", "at_edge", "n"},
    with n the seeds at that LR.  `at_edge` True means the optimum is only bounded by the grid."""
    o = lr_optima(runs.assign(_all=0), ["_all"], lr=lr, loss=loss).iloc[0]
    best = float(o.lr_best)
    return {"lr": best, "loss": float(o.loss_best), "at_edge": bool(o.at_edge),
            "n": int((runs[lr].astype(float) == best).sum())}


def expansion_spike(runs: pd.DataFrame, metrics: pd.DataFrame, before: int = 20, after: int = 10) -> pd.DataFrame:
    """Loss jump at the expansion, per progressive run: the largest train loss in the `after`
    steps from tau on, minus the mean train loss of the `before` steps just before tau (nats).
    Row tau of metrics.csv is the loss of the grown model on batch tau, before its update."""
    rows = []
    for r in runs[runs.source >= 0].itertuples():
        m = metrics[metrics.run_id == r.run_id].sort_values("step")
        grown = m[m.depth > m.depth.iloc[0]]
        if grown.empty:
            continue
        tau = int(grown.step.iloc[0])
        rows.append({"run_id": r.run_id, "tau_step": tau, "spike": _gap_jump(m.set_index("step").train_loss, tau, before, after)})
    return pd.DataFrame(rows)


def gap_around_tau(table: pd.DataFrame, metrics: pd.DataFrame, runs: pd.DataFrame, by: list[str],
                   before: int = 50, after: int = 400, smooth: int = 10) -> pd.DataFrame:
    """Train-loss gap (progressive - fixed, same batches) against steps since tau, averaged
    over seeds per group of `by` columns of `table` (a `mixing_table`; its runs are matched to
    `runs` by tags).  Each run's gap is smoothed by a centred rolling mean over `smooth` steps
    first, separately before and after tau so the spike does not leak backwards.  Columns: by..., offset, gap, lo, hi, n."""
    pair = [c for c in PAIR_ON if c in runs]
    runs = runs if "schedule" in runs else runs.assign(schedule="wsd")
    fixed = runs[runs.source < 0].set_index(pair).run_id
    loss = metrics.pivot_table(index="step", columns="run_id", values="train_loss")
    keys = [c for c in runs.columns if c in table.columns and c not in _SUMMARY_COLUMNS and c != "run_id"]
    prog = runs[runs.source >= 0].merge(table[keys].drop_duplicates(), on=keys)
    parts = []
    for r in prog.itertuples(index=False):
        rid_f = fixed.loc[tuple(getattr(r, k) for k in pair)]
        tau = int(round(r.tau * r.steps)) if r.tau < 1 else int(r.tau)
        gap = loss[r.run_id] - loss[rid_f]
        gap = pd.concat([side.rolling(smooth, center=True, min_periods=1).mean()  # no smoothing across tau
                         for side in (gap[gap.index < tau], gap[gap.index >= tau])])
        gap = gap[(gap.index >= tau - before) & (gap.index < tau + after)]
        parts.append(pd.DataFrame({**{k: getattr(r, k) for k in by}, "offset": gap.index - tau, "gap": gap.values}))
    rows = []
    for key, g in pd.concat(parts).groupby(by + ["offset"], sort=True):
        m, lo, hi, n = mean_ci(g.gap)
        rows.append({**dict(zip(by + ["offset"], key)), "gap": m, "lo": lo, "hi": hi, "n": n})
    return pd.DataFrame(rows)


def bound_fits(metrics: pd.DataFrame, run_ids, fit_until: float = 0.8) -> pd.DataFrame:
    """P16: the last-iterate bound (`theory.bounds.fit_bound`) fitted to each run's validation
    curve, from its per-step LR.  Row t of metrics.csv is evaluated after t + 1 steps.

    Columns: run_id, r2 (fit on the whole curve), final (measured), pred_final and rel_err
    (pred_final / final - 1) from a fit on the evaluations before fit_until * T only, so the
    bound must predict the decay phase it has not seen.  Runs without an LR on every step are
    skipped."""
    rows = []
    for rid in run_ids:
        m = metrics[metrics.run_id == rid].sort_values("step")
        T = len(m)
        if T < 3 or not np.array_equal(m.step.to_numpy(), np.arange(T)):
            continue
        etas = m.lr.to_numpy(dtype=float)
        ev = m[m.val_loss.notna()]
        taken, loss = ev.step.to_numpy() + 1, ev.val_loss.to_numpy(dtype=float)
        full = bounds.fit_bound(etas, taken, loss)
        early = taken <= fit_until * T
        part = bounds.fit_bound(etas, taken[early], loss[early])
        pred = float(part.predict(etas, taken[-1:])[0])
        rows.append({"run_id": rid, "r2": full.r2, "final": loss[-1], "pred_final": pred,
                     "rel_err": pred / loss[-1] - 1.0, "n_evals": len(loss)})
    return pd.DataFrame(rows)


def _mean_train_curve(metrics: pd.DataFrame, run_ids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, lr, seed-mean train loss) over the runs `run_ids` (same schedule and length)."""
    m = metrics[metrics.run_id.isin(list(run_ids))].groupby("step")[["lr", "train_loss"]].mean().sort_index()
    return m.index.to_numpy(dtype=float), m.lr.to_numpy(), m.train_loss.to_numpy()


def timing_law_scores(runs: pd.DataFrame, metrics: pd.DataFrame, source: int,
                      pilot_taus=(0.25, 0.7), pilot_schedule: str = "wsd", skip: int = 50,
                      tail: int = 50) -> tuple[pd.DataFrame, "timing.ProgressiveLaw"]:
    """The expansion-timing law (`theory.timing.ProgressiveLaw`) fitted on some runs and scored
    on the others, for one source depth.

    Fitted on: the fixed runs (target law, every schedule), the pre-tau part of the latest-tau
    run of each schedule (source law), and the `pilot_schedule` runs at `pilot_taus` (S_mix).
    All fits use seed-mean train-loss curves from step `skip` on.  Scored on every other
    (schedule, tau): predicted final gap (relative, from the law) against the measured relative
    gap of the seed-mean train loss over the last `tail` steps.  Returns (table, law)."""
    if "lr" in runs and runs.lr.nunique() > 1:
        raise ValueError(f"runs mix the peak LRs {sorted(runs.lr.unique())}; pass the runs of one LR")
    curves = {}
    for key, g in runs.groupby(["schedule", "source", "tau"]):
        curves[key] = _mean_train_curve(metrics, g.run_id)
    cut = (lambda c, hi=None: tuple(x[skip:hi] for x in c))
    fixed = [cut(c) for (sch, src, tau), c in curves.items() if src < 0]
    src_runs = {sch: max(tau for (s, src, tau) in curves if s == sch and src == source)
                for (sch, src, _) in curves if src == source}
    pre = []
    for sch, tau in src_runs.items():
        steps, lr, loss = curves[(sch, source, tau)]
        pre.append(cut((steps, lr, loss), int(round(tau * len(steps)))))
    target, src_law = timing.fit_loss_law(fixed), timing.fit_loss_law(pre)
    pilots = [(*curves[(pilot_schedule, source, tau)], round(tau * len(curves[(pilot_schedule, source, tau)][0])))
              for tau in pilot_taus if (pilot_schedule, source, tau) in curves]
    law = timing.fit_mixing_area(src_law, target, pilots)
    out = []
    for (sch, src, tau), (steps, lr, loss) in curves.items():
        if src != source:
            continue
        f_steps, f_lr, f_loss = curves[(sch, -1, 1.0)]
        predicted = law.predict(steps, lr, round(tau * len(steps)))[-1] / target.predict(f_steps, f_lr)[-1] - 1
        measured = loss[-tail:].mean() / f_loss[-tail:].mean() - 1
        out.append({"schedule": sch, "tau": tau, "pilot": sch == pilot_schedule and tau in pilot_taus,
                    "source_fit": tau == src_runs[sch], "predicted": float(predicted), "measured": float(measured)})
    return pd.DataFrame(out), law


def compute_accounting(table: pd.DataFrame, model, depth: int) -> pd.DataFrame:
    """P1 over a mixing table: per progressive run, the speed-up predicted by
    `theory.compute.progressive_savings` (exact and 6N conventions, `model` a GPTConfig grown to
    `depth`) against the counted FLOP ratio and the measured wall-time ratio (fixed / progressive,
    same schedule, seed and LR).  Wall times of runs that shared the machine carry its load."""
    from progtheory.theory import compute

    rows = []
    for r in table.itertuples():
        T = int(r.steps)
        stages = [(int(round(r.tau * T)), depth)]
        pred = {c: compute.progressive_savings(model, int(r.source), stages, T, convention=c)["speedup"]
                for c in ("exact", "6N")}
        rows.append({"schedule": r.schedule, "source": r.source, "tau": r.tau, "seed": r.seed,
                     "pred_exact": pred["exact"], "pred_6n": pred["6N"],
                     "flop_ratio": r.flops_fixed / r.flops, "wall_ratio": r.wall_fixed / r.wall})
    return pd.DataFrame(rows)


def correlation_against_null(table: pd.DataFrame, x: str = "r_tau", null: str = "tau", y: str = "rel_gap",
                             n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> dict:
    """P7's test: does `x` (r(tau)) order the final gaps better than the null `null` (tau/T)?

    Spearman rho(x, y) and rho(null, y) over the rows of `table` (runs pooled across
    schedules, where r(tau) and tau/T differ), and a percentile bootstrap interval on their
    difference from `n_boot` resamples of the rows (both correlations on the same resample,
    so their dependence is kept).  Resamples in which a column is constant are left out.
    Returns dict(rho_x, rho_null, diff, lo, hi, n)."""
    data = table[[x, null, y]].astype(float).dropna().to_numpy()
    n = len(data)
    if n < 3:
        return dict(rho_x=np.nan, rho_null=np.nan, diff=np.nan, lo=np.nan, hi=np.nan, n=n)
    ranks = lambda a: stats.rankdata(a, axis=0)  # noqa: E731

    def rhos(d):
        r = ranks(d)
        c = np.corrcoef(r, rowvar=False)
        return c[0, 2], c[1, 2]

    rx, rn = rhos(data)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(n_boot):
        d = data[rng.integers(0, n, n)]
        if (d.std(axis=0) == 0).any():
            continue
        a, b = rhos(d)
        diffs.append(a - b)
    lo, hi = np.quantile(diffs, [0.5 - level / 2, 0.5 + level / 2])
    return dict(rho_x=float(rx), rho_null=float(rn), diff=float(rx - rn), lo=float(lo), hi=float(hi), n=n)


def gap_at_flop_fraction(curve: pd.DataFrame, fractions) -> np.ndarray:
    """One growth path's final gap interpolated at FLOP fractions (progressive FLOPs / fixed
    FLOPs): linear in the fraction between the path's measured points (its runs at different
    tau, one seed), NaN outside their range (no extrapolation).  `curve`: rows with columns
    frac and rel_gap."""
    c = curve.groupby("frac").rel_gap.mean().sort_index()
    x, g = c.index.to_numpy(dtype=float), c.to_numpy(dtype=float)
    f = np.atleast_1d(np.asarray(fractions, dtype=float))
    out = np.interp(f, x, g)
    out[(f < x[0] - 1e-9) | (f > x[-1] + 1e-9)] = np.nan
    return out


def equal_flop_difference(table: pd.DataFrame, reference: pd.Series, candidate: pd.Series,
                          through_fixed: bool = True) -> tuple:
    """Final gap of the `candidate` runs minus that of the `reference` growth path at the same
    FLOP fraction, per seed, as `mean_ci` over seeds.

    `table`: a `mixing_table` (columns seed, flops, flops_fixed, rel_gap); `reference`,
    `candidate`: boolean masks of its rows.  The reference path's gap is interpolated against
    its FLOP fraction (`gap_at_flop_fraction`) at each candidate run's fraction, within the
    same seed; candidate runs outside the reference's range of fractions are left out.  With
    `through_fixed`, every path ends at the fixed run itself (expanding at step 0: fraction 1,
    gap 0).  A negative difference: the candidate reaches a lower loss for the same compute."""
    t = table.assign(frac=table.flops / table.flops_fixed)
    diffs = []
    for seed, cand in t[candidate].groupby("seed"):
        ref = t[reference & (t.seed == seed)][["frac", "rel_gap"]]
        if through_fixed and len(ref):
            ref = pd.concat([ref, pd.DataFrame(dict(frac=[1.0], rel_gap=[0.0]))])
        if ref.frac.nunique() < 2:
            continue
        at = gap_at_flop_fraction(ref, cand.frac)
        diffs.extend(cand.rel_gap.to_numpy() - at)
    return mean_ci(diffs)


def pareto_front(points: pd.DataFrame, x: str = "frac", y: str = "rel_gap") -> pd.DataFrame:
    """The rows of `points` no other row beats on both `x` and `y` (lower is better), by x."""
    p = points.sort_values([x, y])
    return p[p[y] < p[y].cummin().shift(fill_value=np.inf)]


def frontier_points(runs: pd.DataFrame) -> pd.DataFrame:
    """The fixed-size compute frontier: each fixed-depth run (source < 0 where the column
    exists) with a final loss, as (seed, steps, flops, final_val_loss), one row per run."""
    fixed = runs[runs.source < 0] if "source" in runs else runs
    fixed = fixed[fixed.final_val_loss.notna()]
    return fixed[["seed", "steps", "flops", "final_val_loss"]].drop_duplicates().sort_values(["seed", "flops"])


def frontier_flops(frontier: pd.DataFrame, loss) -> np.ndarray:
    """FLOPs the fixed-size frontier needs to reach `loss`: log FLOPs interpolated linearly in
    log loss along the lower envelope of `frontier` (rows flops, final_val_loss of one seed).
    NaN above the frontier's highest loss or below its lowest (no extrapolation)."""
    f = frontier.sort_values("flops")
    env = f[f.final_val_loss < f.final_val_loss.cummin().shift(fill_value=np.inf)]
    logl, logc = np.log(env.final_val_loss.to_numpy()), np.log(env.flops.to_numpy())
    q = np.log(np.atleast_1d(np.asarray(loss, dtype=float)))
    out = np.exp(np.interp(q, logl[::-1], logc[::-1]))
    out[(q > logl.max() + 1e-12) | (q < logl.min() - 1e-12)] = np.nan
    return out


def compute_efficiency(table: pd.DataFrame, frontier: pd.DataFrame) -> pd.DataFrame:
    """Compute efficiency at equal loss of each progressive run in `table` (a `mixing_table`):
    efficiency = FLOPs the fixed-size frontier of the same seed needs to reach the run's final
    validation loss (`frontier_flops`) / the run's FLOPs; above 1, progressive training is the
    cheaper way to that loss.  Adds columns efficiency (NaN when the loss lies outside the
    frontier's range), bound_value and bound: "above" when the run's loss is higher than the frontier's
    highest (the frontier would need less than its cheapest point: the efficiency is below
    frontier FLOPs min / run FLOPs, the bound_value), "below" when lower than its lowest (the
    efficiency exceeds frontier FLOPs max / run FLOPs), else ""."""
    eff, bound, value = [], [], []
    for r in table.itertuples():
        f = frontier[frontier.seed == r.seed]
        if f.empty:
            eff.append(np.nan), bound.append("no frontier"), value.append(np.nan)
            continue
        need = float(frontier_flops(f, r.final)[0])
        eff.append(need / r.flops)
        side = "" if np.isfinite(need) else "above" if r.final > f.final_val_loss.max() else "below"
        bound.append(side)
        value.append({"above": f.flops.min(), "below": f.flops.max()}.get(side, np.nan) / r.flops)
    return table.assign(efficiency=eff, bound=bound, bound_value=value)


def growth_paths(table: pd.DataFrame, extra: pd.DataFrame | None = None) -> pd.DataFrame:
    """The progressive runs of a `mixing_table` with a `stages` column (e.g. `source_depth`),
    joined by the single-stage runs of `extra` (e.g. `mixing`) that share one of its fixed runs
    (same fixed_run_id), labelled "s->L"; one row per run (run_id), with frac = FLOPs / fixed
    FLOPs.  Each single-stage growth path then has runs at several tau, so its gap can be
    interpolated against its FLOP fraction (`equal_flop_difference`)."""
    out = table
    if extra is not None and len(extra):
        target = table.stages.str.split("->").str[-1].iloc[0]
        more = extra[extra.fixed_run_id.isin(table.fixed_run_id)]
        more = more.assign(stages=more.source.astype(int).astype(str) + "->" + target)
        out = pd.concat([table, more[[c for c in more.columns if c in table.columns]]], ignore_index=True)
    out = out.drop_duplicates("run_id").reset_index(drop=True)
    return out.assign(frac=out.flops / out.flops_fixed)
