"""Progressive runs against their fixed twins, from a sweep's tables: the mixing table (final
gap, margin at tau, mixing time, r(tau), compute, the spike at tau), the paired train-loss gap
around tau, and the recipe's tau* from pilot mixing times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.analysis.stats import mean_ci
from progtheory.theory import bounds, timing

MIN_MARGIN = 0.05  # nats: below this the source is not meaningfully behind at tau
SPIKE_TOL = 0.05  # nats: a loss jump at tau (over the fixed run's, same batches) below this is no spike
PAIR_ON = ("recipe", "lr", "schedule", "steps_T", "seed")  # tags a progressive run shares with its fixed run

# summary.json fields that a sweep writes into runs.csv beside the tags
_SUMMARY_COLUMNS = {"name", "status", "steps", "steps_done", "tokens", "depth", "params", "final_val_loss",
                    "final_val_step", "best_val_loss", "final_train_loss", "unigram_xent_val", "flops",
                    "flops_6n", "wall_time", "cpu_time", "eval_time", "device", "end_time", "diverged_reason"}


def _val_curve(metrics: pd.DataFrame, run_id: str) -> pd.DataFrame:
    m = metrics[metrics.run_id == run_id]
    return m[m.val_loss.notna()][["step", "val_loss"]].sort_values("step")


def _val_at(curve: pd.DataFrame, step: int) -> float:
    """Validation loss at the last evaluation at or before `step`."""
    c = curve[curve.step <= step]
    return float(c.val_loss.iloc[-1]) if len(c) else np.nan


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
            gap = _train_gap(mp, mf)
            row["jump"], row["jump0"] = _gap_jump(gap, tau_step), _gap_jump(gap, tau_step, after=1)
            row["recovery"] = spike_recovery(mp, mf, tau_step)
        rows.append(row)
    return pd.DataFrame(rows)


def _train_gap(prog: pd.DataFrame, fixed: pd.DataFrame) -> pd.Series:
    """Train loss of the progressive run minus the fixed run's, per step both logged."""
    return (prog.set_index("step").train_loss - fixed.set_index("step").train_loss).dropna().sort_index()


def _gap_jump(gap: pd.Series, tau: int, before: int = 20, after: int = 10) -> float:
    """Largest value of a per-step series (a loss, or a gap between two runs) in the `after`
    steps from tau on, minus its mean over the `before` steps just before tau (nats)."""
    pre = gap[(gap.index >= tau - before) & (gap.index < tau)].mean()
    return float(gap[(gap.index >= tau) & (gap.index < tau + after)].max() - pre)


def spike_recovery(prog: pd.DataFrame, fixed: pd.DataFrame, tau: int, before: int = 20,
                   window: int = 20, tol: float = SPIKE_TOL) -> float:
    """Steps after tau until the expansion spike has decayed: the first s >= 0 at which the mean
    over steps [tau + s, tau + s + window) of the train-loss gap (progressive - fixed, same
    batches) is back within `tol` nats of its mean over the `before` steps just before tau;
    inf if never.  A gap that settles above its pre-tau level by more than `tol` (the expansion
    cost more than a transient) never counts as recovered.  `prog`, `fixed`: metrics rows
    (step, train_loss) of the two runs, one row per step around tau."""
    gap = _train_gap(prog, fixed)
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
