"""When to grow: loss curves for every tau, the final gap against tau and r(tau), and the
convex bound and the timing law fitted to measured curves (P1, P6, P7, P16)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from progtheory.figures.style import PALETTE, plt


def _band(ax, df: pd.DataFrame, x: str, label: str, color) -> None:
    ax.plot(df[x], df.val_loss, color=color, label=label, lw=1.4)
    ax.fill_between(df[x], df.lo, df.hi, color=color, alpha=0.2, lw=0)


def mixing_curves(curves: pd.DataFrame, schedule: str, source: int, x: str = "step"):
    """Validation loss against `x` ("step" or "flops") of the fixed run and of every tau, for one
    schedule and source depth.  `curves`: `analysis.mean_curves(..., by=[schedule, source, tau])`."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    sub = curves[(curves.schedule == schedule) & (curves.source.isin([source, -1]))]
    taus = sorted(sub[sub.source == source].tau.unique())
    colors = plt.get_cmap(PALETTE)(np.linspace(0.1, 0.9, max(len(taus), 1)))
    fixed = sub[sub.source == -1]
    _band(ax, fixed, x, f"fixed depth (n={int(fixed.n.min())})", "black")
    for tau, color in zip(taus, colors):
        g = sub[(sub.source == source) & (sub.tau == tau)]
        _band(ax, g, x, f"{source}-layer, τ={tau:g}T (n={int(g.n.min())})", color)
        if x == "step":
            ax.axvline(tau * (g.step.max() + 1), color=color, ls=":", lw=0.8)  # last step is T - 1
    lo = np.nanmin(sub.val_loss)
    ax.set_ylim(lo - 0.05, lo + 1.2)
    ax.set_xlabel("training FLOPs" if x == "flops" else "step")
    ax.set_ylabel("validation loss (nats/token)")
    ax.set_title(f"{schedule.upper()}: {source}-layer source → full depth")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def final_gap_vs_tau(summary: pd.DataFrame, tolerance: float = 0.005, title: str | None = None):
    """Relative final gap (progressive/fixed - 1) against tau, per schedule and source, with
    95% CIs; the paper's 0.5% tolerance is shaded.  `summary`: `analysis.summarize(table,
    by=[schedule, source, tau], columns=[rel_gap, ...])`."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if title:
        ax.set_title(title, fontsize=9)
    ax.axhspan(-tolerance, tolerance, color="0.85", lw=0, label=f"±{tolerance:.1%} (paper's parity)")
    markers = {0: "o", 1: "s"}
    for (schedule, source), g in summary.groupby(["schedule", "source"]):
        g = g.sort_values("tau")
        err = np.vstack([g.rel_gap - g.rel_gap_lo, g.rel_gap_hi - g.rel_gap])
        ax.errorbar(g.tau, g.rel_gap, yerr=err, marker=markers.get(source, "^"), capsize=3,
                    ls="-" if schedule == "wsd" else "--",
                    label=f"{schedule}, {source}-layer (n={int(g.n.min())})")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel("τ / T")
    ax.set_ylabel("final val loss: progressive / fixed − 1")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def gap_vs_r_tau(table: pd.DataFrame):
    """P7: every progressive run's relative final gap against r(tau) of its schedule, colored
    by schedule; the convex-bound argument predicts one increasing relation for all schedules."""
    import seaborn as sns

    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    sns.scatterplot(data=table, x="r_tau", y="rel_gap", hue="schedule", style="source", ax=ax, s=40)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlabel(r"$r(\tau) = \sum_{t<\tau} \eta_t \,/\, \sum_t \eta_t$")
    ax.set_ylabel("final val loss: progressive / fixed − 1")
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    fig.tight_layout()
    return fig


def bound_fit_curves(curves: list[dict]):
    """P16: measured validation curves with the last-iterate bound fitted to the whole curve
    (solid) and to its first 80% only (dashed, extrapolated).  `curves`: dicts with label,
    steps, loss, full (fit on all points), prefix (fit on the early points), fit_until (step)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for i, c in enumerate(curves):
        color = f"C{i}"
        ax.plot(c["steps"], c["loss"], "o", ms=3, color=color, label=f"{c['label']}: measured")
        ax.plot(c["steps"], c["full"], "-", color=color, lw=1, label="bound, fit on all")
        ax.plot(c["steps"], c["prefix"], "--", color=color, lw=1, label="bound, fit on first 80%")
        ax.axvline(c["fit_until"], color="0.7", lw=0.6)
    ax.set_ylim(top=min(ax.get_ylim()[1], 3.0))
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    fig.tight_layout()
    return fig


def timing_law_scores(scores: pd.DataFrame, tolerance: float = 0.02):
    """The timing law's predicted relative final gap against the measured one, per source depth
    (panel) and schedule (marker); runs the law was fitted on are hollow; the ±tolerance band
    around the diagonal is shaded.  `scores`: `analysis.timing_law_scores` tables with a
    `source` column."""
    sources = sorted(scores.source.unique())
    fig, axes = plt.subplots(1, len(sources), figsize=(4.2 * len(sources), 3.8), squeeze=False)
    for ax, source in zip(axes[0], sources):
        g = scores[scores.source == source]
        lo = min(g.predicted.min(), g.measured.min()) - 0.02
        hi = max(g.predicted.max(), g.measured.max()) + 0.02
        x = np.linspace(lo, hi, 2)
        ax.fill_between(x, x - tolerance, x + tolerance, color="0.88", lw=0, label=f"±{tolerance:.0%}")
        ax.plot(x, x, color="black", lw=0.8)
        for j, (sch, s) in enumerate(g.groupby("schedule")):
            fitted = s.pilot | s.source_fit
            for mask, face in [(fitted, "none"), (~fitted, f"C{j}")]:
                ax.scatter(s.measured[mask], s.predicted[mask], marker="os"[j % 2], color=f"C{j}",
                           facecolors=face, label=f"{sch}" + (" (fitted on)" if face == "none" else " (held out)"))
            for r in s.itertuples():
                ax.annotate(f"{r.tau:g}", (r.measured, r.predicted), fontsize=6, xytext=(3, 3),
                            textcoords="offset points")
        ax.set_title(f"{int(source)}-layer source", fontsize=9)
        ax.set_xlabel("measured final gap")
        ax.set_ylabel("predicted final gap")
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return fig
