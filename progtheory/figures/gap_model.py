"""The grown gap model: its predictions against held-out runs, the gap against the steps after
tau with the predictions stated before the runs, and the predicted gap surface of `plan`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import PALETTE, plt


def gap_model_scores(records: list[dict], within: float = 1.5):
    """Predicted against measured final gap (%) of every progressive condition scored by the
    gap model (`analysis.head_start.score_gap_model` records): held-out runs by source and schedule, the fitting
    pilots ringed, the identity line with a band of +-`within` points."""
    df = pd.DataFrame(records)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    lim = [min(df.measured.min(), df.predicted.min()) - 3, max(df.measured.max(), df.predicted.max()) + 3]
    ax.plot(lim, lim, color="0.3", lw=1)
    ax.fill_between(lim, [v - within for v in lim], [v + within for v in lim], color="0.85", label=f"±{within} points")
    for (src, sch), g in df.groupby(["source", "schedule"]):
        marker = "o" if sch == "wsd" else "s"
        held = g[g.role == "held_out"]
        ax.scatter(held.measured, held.predicted, marker=marker, color=f"C{int(src)}", s=28,
                   label=f"source {src}, {sch}")
        if {"lo", "hi"} <= set(held) and held.lo.notna().any():  # committed 90% intervals
            ax.errorbar(held.measured, held.predicted, yerr=[held.predicted - held.lo, held.hi - held.predicted],
                        fmt="none", ecolor=f"C{int(src)}", lw=1, alpha=0.7)
    pilots = df[df.role == "pilot"]
    ax.scatter(pilots.measured, pilots.predicted, facecolors="none", edgecolors="k", s=110, lw=1.5,
               label="fitting pilot")
    ax.set(xlim=lim, ylim=lim, xlabel="measured final gap (%)", ylabel="predicted final gap (%)",
           title="Gap model on held-out runs")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def gap_vs_steps_after_tau(measured: pd.DataFrame, stated: pd.DataFrame, curves: pd.DataFrame, reference=None,
                           fresh=None, fresh_stated=None):
    """The final gap (%) against the steps after tau (log axis), one panel per tau/T: measured
    seed means with 95% CIs (`measured`: source, tau, steps_after_tau, gap, lo, hi), the
    predictions stated before the runs with their 90% intervals (`stated`: source, tau,
    steps_after_tau, predicted, lo, hi, open markers), the model's curve (`curves`: source, tau,
    steps_after_tau, predicted) and, optionally, another experiment's measured gaps at equal T
    (`reference`, same columns as `measured`, grey) for the steps-or-tokens comparison; optionally
    the fresh-start model's curve (`fresh`, the columns of `curves`, dashed) and its statement
    (`fresh_stated`, the columns of `stated`, open diamonds)."""
    taus = sorted(set(stated.tau) | set(measured.tau))
    fig, axes = plt.subplots(1, len(taus), figsize=(4.6 * len(taus), 3.8), squeeze=False)
    for ax, tau in zip(axes[0], taus):
        for src, name in ((0, "0-layer random"), (1, "1-layer copy")):
            color = f"C{src}"
            c = curves[(curves.source == src) & np.isclose(curves.tau, tau)].sort_values("steps_after_tau")
            ax.plot(c.steps_after_tau, c.predicted, color=color, lw=1, label=f"{name}: grown model")
            if fresh is not None:
                f = fresh[(fresh.source == src) & np.isclose(fresh.tau, tau)].sort_values("steps_after_tau")
                ax.plot(f.steps_after_tau, f.predicted, color=color, lw=1, ls="--", label=f"{name}: fresh-start model")
            if fresh_stated is not None:
                f = fresh_stated[(fresh_stated.source == src) & np.isclose(fresh_stated.tau, tau)]
                ax.errorbar(f.steps_after_tau, f.predicted, yerr=[f.predicted - f.lo, f.hi - f.predicted], fmt="D",
                            mfc="none", color=color, capsize=3, label=f"{name}: fresh-start model's statement")
            p = stated[(stated.source == src) & np.isclose(stated.tau, tau)]
            ax.errorbar(p.steps_after_tau, p.predicted, yerr=[p.predicted - p.lo, p.hi - p.predicted], fmt="o",
                        mfc="none", color=color, capsize=3, label=f"{name}: stated before the runs")
            m = measured[(measured.source == src) & np.isclose(measured.tau, tau)]
            ax.errorbar(m.steps_after_tau, m.gap, yerr=[m.gap - m.lo, m.hi - m.gap], fmt="s", color=color,
                        capsize=3, label=f"{name}: measured")
            if reference is not None:
                r = reference[(reference.source == src) & np.isclose(reference.tau, tau)]
                ax.scatter(r.steps_after_tau, r.gap, marker="x", color="0.5", zorder=3,
                           label="d = 64 (budget_small), same T" if src == 0 else None)
        ax.axhline(0.5, color="k", ls=":", lw=1, label="parity (0.5%)")
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(-1.0, 1.5 * max(curves.predicted.max(), stated.hi.max(), measured.gap.max()))
        ax.set(xlabel="steps after τ", ylabel="final gap to the fixed model (%)", title=f"τ = {tau:g}T, WSD")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    return fig


def gap_surface(groups: list[dict], eps: float = 0.005):
    """The grown model's predicted final gap (%) over (tau/T, tokens per block parameter), one
    panel per (source depth, init) group of a `planner.plan(..., surface=True)` result: filled
    contours under the planned schedule, the eps contour drawn black, the pilots as white points
    labelled with their schedule and measured gap (or the fitted one, marked "fit", when no fixed
    pilot shares their schedule and T)."""
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.9), squeeze=False)
    for ax, g in zip(axes[0], groups):
        s = pd.DataFrame(g["surface"]).pivot(index="tokens_per_param", columns="tau", values="gap")
        x, y = s.columns.to_numpy(), s.index.to_numpy()
        cs = ax.contourf(x, y, s.to_numpy(), levels=12, cmap=PALETTE)
        fig.colorbar(cs, ax=ax, label="predicted final gap (%)")
        if s.to_numpy().min() < 100 * eps < s.to_numpy().max():
            ax.contour(x, y, s.to_numpy(), levels=[100 * eps], colors="k", linewidths=1.2)
        for i, q in enumerate(g["pilots"]):
            ax.scatter(q["tau"], q["tokens_per_param"], color="w", edgecolors="k", s=40, zorder=3)
            label = f"{q['fitted']:+.1f}% fit" if q["measured"] is None else f"{q['measured']:+.1f}%"
            ax.annotate(f"{q['schedule']}: {label}", (q["tau"], q["tokens_per_param"]), textcoords="offset points",
                        xytext=(5, 5 + 10 * i), fontsize=7, color="w")
        ax.set(yscale="log", xlabel="tau / T", ylabel="tokens per block parameter",
               title=f"source depth {g['source']}, {g['init']} -> {g['target']} layers")
    fig.tight_layout()
    return fig
