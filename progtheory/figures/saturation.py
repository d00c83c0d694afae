"""The copy floor against the source's age: the final gap at 2,000 steps after tau as the
source trains longer (P26), measured and as stated before the runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import plt


def saturation(per_seed: pd.DataFrame, stated: pd.DataFrame, tolerance: float):
    """Left: the final gap (%) against tau (the source's training steps, log axis) per source:
    seeds as dots, their mean as a line (`analysis.saturation.seed_gaps`); the ladder's gap model
    as stated (open diamonds with their 90% interval) and the memory reading's statement (the
    tau = 8,000 gap, a band of +-`tolerance` points).  Right: each source's change of gap from the
    youngest source, seed by seed (points), against the saturation reading's threshold."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    for a in (ax, bx):
        a.set_xticks(taus, [f"{t:,}" for t in taus])
        a.minorticks_off()
    fig.tight_layout()
    return fig
