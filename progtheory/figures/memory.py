"""The optimizer's memory as the gap's clock: the progressive gap against lam x (LR area after
tau), measured and as the memory model stated it before the held-out runs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import plt


def memory_clock(per_seed: pd.DataFrame, stated: pd.DataFrame, fits: dict, area):
    """The final gap (%) against lam * A (log axis), one panel per source: seed means with their
    range (`analysis.memory.seed_gaps`), one colour per (recipe, T, tau); the stated predictions
    (`experiments/predictions/weight_decay.csv`, predicted gap with its 90% seed-bootstrap range,
    open markers) where they are gaps or became gaps through a measured anchor; and the pilots'
    fitted curve floor + (gap_0 - floor) exp(-lam A) (`fits` {source: (gap_0, floor)}).  `area`
    maps (recipe, T, tau) to A."""
    sources = sorted(per_seed.source.unique())
    fig, axes = plt.subplots(1, len(sources), figsize=(5.2 * len(sources), 4.2), squeeze=False)
    groups = sorted({(r.recipe, int(r.T), float(r.tau)) for r in per_seed.itertuples()})
    colour = {g: f"C{i}" for i, g in enumerate(groups)}
    x = np.geomspace(0.005, 30, 200)
    for ax, src in zip(axes[0], sources):
        mine = per_seed[per_seed.source == src]
        for (rec, T, tau), g in mine.groupby(["recipe", "T", "tau"]):
            c = colour[(rec, int(T), float(tau))]
            lamA = g.lam.to_numpy() * area(rec, int(T), float(tau))
            agg = g.assign(lamA=lamA).groupby("lamA").gap.agg(["mean", "min", "max", "count"])
            ax.errorbar(agg.index, agg["mean"], yerr=[agg["mean"] - agg["min"], agg["max"] - agg["mean"]], fmt="o-",
                        color=c, ms=4, lw=1, capsize=2, label=f"{rec}, T={int(T):,}, τ={tau:g}T (n≤{agg['count'].max()})")
        s = stated[(stated.source == src) & stated.predicted_gap.notna()]
        for r in s.itertuples():
            c = colour.get((r.recipe, int(r.T), float(r.tau)), "0.4")
            scale = r.predicted_gap / r.predicted
            ax.errorbar([r.lam_A], [r.predicted_gap], yerr=[[r.predicted_gap - r.lo * scale], [r.hi * scale - r.predicted_gap]],
                        fmt="D", mfc="none", color=c, ms=6, lw=1)
        if src in fits:
            gap_0, floor = fits[src]
            ax.plot(x, floor + (gap_0 - floor) * np.exp(-x), color="k", lw=1, ls="--",
                    label=f"pilot fit: {floor:.1f} + {gap_0 - floor:.1f}·exp(−λA)")
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.set(xscale="log", xlabel="λ × LR area after τ", ylabel="final gap to the fixed run at the same λ (%)",
               title=f"{src}-layer source (open diamonds: stated before the runs)")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def memory_clock_all(gaps: pd.DataFrame, curves: pd.DataFrame):
    """Every progressive run of the project (`analysis.clock.project_gaps`): the final gap (%)
    against lam * A (symlog axis, linear below 1e-3), one panel per source (0-layer random,
    1-layer copy), colour the budget T (log scale), marker the recipe; the memory model fitted on
    all of a panel's runs (`analysis.clock.one_curve`), with the share of variance it explains."""
    from matplotlib.colors import LogNorm

    panels = [(0, "random"), (1, "copy")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), layout="constrained")
    norm = LogNorm(gaps["T"].min(), gaps["T"].max())
    markers = {rec: m for rec, m in zip(sorted(gaps.recipe.unique()), "os^vD")}
    x = np.concatenate([[0], np.geomspace(1e-3, max(10.0, gaps.lam_A.max()), 200)])
    for ax, (src, init) in zip(axes, panels):
        mine = gaps[(gaps.source == src) & (gaps.init == init)]
        for rec, g in mine.groupby("recipe"):
            sc = ax.scatter(g.lam_A, g.gap, c=g["T"], norm=norm, cmap="viridis", marker=markers[rec], s=18,
                            alpha=0.8, label=f"{rec} (n={len(g)})")
        for i, c in enumerate(curves[(curves.source == src) & (curves.init == init)].itertuples()):
            ax.plot(x, c.floor + (c.gap_0 - c.floor) * np.exp(-x), color=f"C{i + 1}", lw=1, ls="--",
                    label=f"{c.recipe}: one memory curve, r² = {c.r2:.2f}")
        ax.axhline(0.5, color="0.5", lw=0.8, ls=":")
        ax.set(xscale="symlog", xlabel="λ × LR area after τ (linear below 0.001)",
               ylabel="final gap to the fixed run (%)", title=f"{src}-layer {init}: every run of the project")
        ax.set_xscale("symlog", linthresh=1e-3)
        ax.set_xlim(0, x[-1])
        ax.legend(fontsize=7, loc="upper right")
    fig.colorbar(sc, ax=axes, label="budget T (steps)")
    return fig
