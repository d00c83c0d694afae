"""The copy floor against the source's age: the final gap at 2,000 steps after tau as the
source trains longer (P26), measured and as stated before the runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import plt


def saturation(per_seed: pd.DataFrame, stated: pd.DataFrame, tolerance: float, runs: pd.DataFrame | None = None,
               fresh_step: int = 0):
    """Left: the final gap (%) against tau (the source's training steps, log axis) per source:
    seeds as dots, their mean as a line (`analysis.saturation.seed_gaps`); the ladder's gap model
    as stated (open diamonds with their 90% interval) and the memory reading's statement (the
    tau = 8,000 gap, a band of +-`tolerance` points).  Right: each source's change of gap from the
    youngest source, seed by seed (points), against the saturation reading's threshold.  With
    `runs` (the grid's runs.csv), a third panel: the final loss itself against tau, the fixed runs'
    and each source's, and the fresh starts (tau_step = `fresh_step`: a model trained only the
    steps after tau) as a band over their seeds."""
    ncols = 2 if runs is None else 3
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 4.2))
    ax, bx = axes[:2]
    for i, (src, init) in enumerate(sorted({(int(r.source), r.init) for r in stated.itertuples()})):
        c = f"C{i}"
        mine = per_seed[per_seed.source == src]
        mean = mine.groupby("tau_step").gap.mean()
        ax.plot(mine.tau_step, mine.gap, "o", color=c, ms=3, alpha=0.5)
        ax.plot(mean.index, mean.to_numpy(), "-", color=c, lw=1.5,
                label=f"{src}-layer {init}: measured (n≤{mine.groupby('tau_step').size().max() if len(mine) else 0})")
        s = stated[stated.source == src].sort_values("tau_step")
        ax.errorbar(s.tau_step, s.predicted, yerr=[s.predicted - s.lo, s.hi - s.predicted], fmt="D--", mfc="none",
                    color=c, ms=6, lw=0.8, label=f"{src}-layer: ladder gap model, stated")
        m = float(s.memory.iloc[0])
        ax.axhspan(m - tolerance, m + tolerance, color=c, alpha=0.1, lw=0)
        if len(mine):
            wide = mine.pivot_table(index="seed", columns="tau_step", values="gap")
            change = wide.sub(wide[wide.columns.min()], axis=0)
            bx.plot(np.tile(change.columns, (len(change), 1)).T, change.to_numpy().T, "o", color=c, ms=3, alpha=0.5)
            bx.plot(change.columns, change.mean().to_numpy(), "-", color=c, lw=1.5, label=f"{src}-layer {init}")
    ax.set(xscale="log", xlabel="τ: the source's training steps (2,000 steps after τ in every run)",
           ylabel="final gap to the fixed run of the same T (%)",
           title="shaded: the memory reading (the τ = 8,000 gap ± tolerance)")
    ax.legend(fontsize=7)
    bx.axhline(tolerance, color="k", lw=0.8, ls="--", label=f"saturation reading: the copy rises above {tolerance:g}")
    bx.axhline(0, color="0.5", lw=0.6)
    bx.set(xscale="log", xlabel="τ", ylabel="change of gap from the youngest source (points)",
           title="seed by seed")
    bx.legend(fontsize=7)
    taus = sorted(stated.tau_step.unique())
    if runs is not None:
        _losses(axes[2], runs, fresh_step)
    for a in axes:
        a.set_xticks(taus, [f"{t:,}" for t in taus])
        a.minorticks_off()
    fig.tight_layout()
    return fig


def _losses(ax, runs: pd.DataFrame, fresh_step: int) -> None:
    """The final validation loss against tau per source (seeds as dots, mean as a line), the fixed
    runs in black, the fresh starts as a grey band (min to max over seeds) with their mean."""
    grid = runs[runs.tau_step != fresh_step]
    for i, ((src, init), g) in enumerate(grid.groupby(["source", "init"])):
        c = "k" if src < 0 else f"C{int(src)}"
        mean = g.groupby("tau_step").final_val_loss.mean()
        ax.plot(g.tau_step, g.final_val_loss, "o", color=c, ms=3, alpha=0.5)
        ax.plot(mean.index, mean.to_numpy(), "-", color=c, lw=1.5,
                label="fixed run of T = τ + 2,000" if src < 0 else f"{src}-layer {init}, grown")
    fresh = runs[(runs.tau_step == fresh_step) & (runs.source < 0)].final_val_loss
    if len(fresh):
        ax.axhspan(fresh.min(), fresh.max(), color="0.5", alpha=0.25, lw=0)
        ax.axhline(fresh.mean(), color="0.3", lw=1, ls="--",
                   label=f"fresh start: only the 2,000 steps after τ (n={len(fresh)})")
    ax.set(xscale="log", xlabel="τ", ylabel="final validation loss (nats)", title="the losses behind the gaps")
    ax.legend(fontsize=7)


def fresh_start(table: pd.DataFrame):
    """Each grown run of the ladder (τ = 0.8T) less a fresh model trained only its steps after τ
    (`analysis.saturation.ladder_against_fresh`; nats, mean with its 95% interval over seeds,
    a point where one seed) against the steps after τ, per source; above zero the pre-τ phase
    cost more than it gave."""
    fig, ax = plt.subplots(figsize=(5.8, 4.2))
    for i, ((src, init), g) in enumerate(table.groupby(["source", "init"])):
        g = g.sort_values("steps_after_tau")
        lo = np.where(g.n_seeds > 1, g["diff"] - g.lo, 0.0)
        hi = np.where(g.n_seeds > 1, g.hi - g["diff"], 0.0)
        ax.errorbar(g.steps_after_tau * (1 + 0.04 * i), g["diff"], yerr=[lo, hi], fmt="o-", color=f"C{int(src)}",
                    capsize=3, lw=1.2, label=f"{src}-layer {init} (n≤{int(g.n_seeds.max())})")
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xscale="log", xlabel="steps after τ (τ = 0.8T: T = 5 × these)",
           ylabel="grown run − fresh start of those steps (nats)",
           title="above 0: growing lost to starting fresh at τ")
    steps = sorted(table.steps_after_tau.unique())
    ax.set_xticks(steps, [f"{s:,}" for s in steps])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
