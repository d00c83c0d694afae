"""How the new blocks start: the gap and the loss jump per init (P3, P5, P13, P17), the gap
around tau, the init-scale sweep, and the predicted against the measured function change and
jolt at the expansion."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from progtheory.figures.style import plt


def _init_label(source, init, rewarmup) -> str:
    return f"{int(source)}-layer {init}" + (f" +{int(rewarmup)} rewarm" if rewarmup else "")


def init_strategies(summary: pd.DataFrame, tolerance: float = 0.005, spike_tol: float = 0.05,
                    function_preserving: tuple[str, ...] = ()):
    """P3, P5, P13, P17: per init of the new blocks (rows: source depth, rewarmup), the final
    gap to the fixed model (left) and the loss jump at tau over the fixed run's (right), 95%
    CIs over seeds: the largest gap in the first steps after tau (dots) and, when `summary`
    has jump0, the gap on row tau before any update (crosses).  Inits in `function_preserving`
    get the theory's prediction for the latter, no change, as an open diamond at 0.
    `summary`: `analysis.summarize(table, [source, init, rewarmup], [rel_gap, jump(, jump0)])`."""
    s = summary.sort_values(["source", "rewarmup", "init"]).reset_index(drop=True)
    labels = [_init_label(r.source, r.init, r.rewarmup) for r in s.itertuples()]
    y = np.arange(len(s))
    fig, axes = plt.subplots(1, 2, figsize=(9, 0.45 * len(s) + 1.2), sharey=True)
    for ax, col, tol, fmt in [(axes[0], "rel_gap", tolerance, "final gap: progressive / fixed − 1"),
                              (axes[1], "jump", spike_tol, "loss jump over the fixed run (nats)")]:
        ax.axvspan(-tol, tol, color="0.88", lw=0)
        err = np.vstack([s[col] - s[f"{col}_lo"], s[f"{col}_hi"] - s[col]])
        ax.errorbar(s[col], y, xerr=err, fmt="o", capsize=3, color="C0", ecolor="C0",
                    label="largest in the 10 steps from τ" if col == "jump" else None)
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(fmt)
    if "jump0" in s:
        axes[1].scatter(s.jump0, y, marker="x", color="C3", s=30, zorder=4, label="on row τ, before any update")
    theory = s.init.isin(function_preserving).to_numpy()
    if theory.any() or "jump0" in s:
        axes[1].scatter(np.zeros(theory.sum()), y[theory], marker="D", facecolors="none", edgecolors="black",
                        s=40, zorder=3, label="theory: function preserved")
        axes[1].legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    axes[0].xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].set_yticks(y, labels, fontsize=8)
    axes[0].invert_yaxis()
    fig.tight_layout()
    return fig


def gap_around_tau(curves: pd.DataFrame, spike_tol: float = 0.05):
    """P3: train-loss gap to the fixed run against steps since the expansion, one line per
    init (mean over seeds, 95% band), one panel per source depth.  `curves`:
    `analysis.gap_around_tau(..., by=[source, init, rewarmup])`."""
    sources = sorted(curves.source.unique())
    fig, axes = plt.subplots(1, len(sources), figsize=(5 * len(sources), 3.6), sharey=True, squeeze=False)
    for ax, source in zip(axes[0], sources):
        groups = list(curves[curves.source == source].groupby(["init", "rewarmup"], sort=True))
        for i, ((init, rewarmup), g) in enumerate(groups):
            color = plt.get_cmap("tab10")(i)
            ax.plot(g.offset, g.gap, color=color, lw=1.2, label=f"{_init_label(source, init, rewarmup)} (n={int(g.n.max())})")
            ax.fill_between(g.offset, g.lo, g.hi, color=color, alpha=0.15, lw=0)
        ax.axvline(0, color="black", lw=0.8, ls=":")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xscale("symlog", linthresh=10)  # the spike (tens of steps) and the run's rest (hundreds)
        ax.set_xlabel("steps since the expansion (τ), symlog")
        ax.set_title(f"{int(source)}-layer source", fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    axes[0][0].set_ylabel("train loss: progressive − fixed (nats)")
    fig.tight_layout()
    return fig


def init_scale_sweep(summary: pd.DataFrame, changes: pd.DataFrame | None = None, tolerance: float = 0.005,
                     spike_tol: float = 0.05):
    """The init-scale sweep (`experiments/init_scale.py`), one line per (source, init) against
    the init multiplier s of the new blocks (s = 0 drawn at the left edge): the final gap to
    the fixed model, seed means with 95% CIs (left), and the loss change at tau before any
    update (right, symmetric-log): measured on the statistics batch and predicted from each
    run's branch statistics (`changes`, `analysis.expansion_change_scores` rows: source, init,
    init_scale, measured, predicted; seed means, open markers for the prediction), or without
    `changes` the train-loss jump on row tau (`jump0`, 95% CIs).  `summary`:
    `analysis.summarize(table, [source, init, scale], [rel_gap, jump0])` of one recipe."""
    scales = sorted(summary.scale.unique())
    positive = [x for x in scales if x > 0]
    zero_at = min(positive) / 4 if positive else 1.0  # where s = 0 sits on the log axis

    def xpos(x):
        return np.where(np.asarray(x, float) > 0, x, zero_at)

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.8))
    for i, ((source, init), g) in enumerate(summary.groupby(["source", "init"], sort=True)):
        g = g.sort_values("scale")
        name = f"{int(source)}-layer source, {init}"
        err = np.nan_to_num(np.vstack([g.rel_gap - g.rel_gap_lo, g.rel_gap_hi - g.rel_gap]))
        axes[0].errorbar(xpos(g.scale), g.rel_gap, yerr=err, fmt="o-", capsize=3, color=f"C{i}",
                         label=f"{name} (n={int(g.n.min())}–{int(g.n.max())})")
        if changes is None or not len(changes):
            err = np.nan_to_num(np.vstack([g.jump0 - g.jump0_lo, g.jump0_hi - g.jump0]))
            axes[1].errorbar(xpos(g.scale), g.jump0, yerr=err, fmt="o-", capsize=3, color=f"C{i}", label=name)
            continue
        c = changes[(changes.source == source) & (changes.init == init)].groupby("init_scale", as_index=False)
        c = c.agg(measured=("measured", "mean"), predicted=("predicted", "mean"))
        axes[1].plot(xpos(c.init_scale), c.measured, "o-", color=f"C{i}", label=f"measured, {name}")
        axes[1].scatter(xpos(c.init_scale), c.predicted, marker="D", facecolors="none", edgecolors=f"C{i}",
                        s=40, zorder=4, label=f"predicted, {name}")
    axes[0].axhspan(-tolerance, tolerance, color="0.88", lw=0)
    axes[0].yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    axes[0].set_ylabel("final gap: progressive / fixed − 1")
    axes[1].axhspan(-spike_tol, spike_tol, color="0.88", lw=0, label=f"±{spike_tol:g} nats")
    axes[1].set_yscale("symlog", linthresh=1e-2)
    axes[1].set_ylabel("loss change at τ, before any update (nats)")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(xpos(scales)), ["0" if x == 0 else f"{x:g}" for x in scales])
        ax.set_xlabel("init multiplier s of the new blocks")
    axes[0].legend(fontsize=7, frameon=False)
    axes[1].legend(fontsize=6, frameon=False)
    fig.tight_layout()
    return fig


def expansion_change(scores: pd.DataFrame, factor: float = 2.0):
    """Predicted against measured loss change at the growth step (nats, before any update), one
    point per run (`analysis.expansion_change_scores` rows with a measurement), coloured by init,
    marker by source depth; the identity line with a band of x/÷ `factor`.  Both axes symmetric-log
    (function-preserving inits sit at 0)."""
    df = scores[np.isfinite(scores.measured)] if len(scores) else scores
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    hi = float(max(df.measured.abs().max(), df.predicted.abs().max(), 1e-2)) * 2 if len(df) else 1.0
    grid = np.geomspace(1e-3, hi, 50)
    ax.plot([-hi, hi], [-hi, hi], color="0.3", lw=1)
    ax.fill_between(grid, grid / factor, grid * factor, color="0.85", label=f"within ×{factor:g}")
    markers = {0: "o", 1: "s", 2: "^", 3: "v"}
    for i, (init, g) in enumerate(df.groupby("init", sort=True)):
        for source, h in g.groupby("source", sort=True):
            ax.scatter(h.measured, h.predicted, color=f"C{i}", marker=markers.get(int(source), "D"), s=26,
                       label=f"{init}, {int(source)}-layer source (n={len(h)})")
    ax.set_xscale("symlog", linthresh=1e-3)
    ax.set_yscale("symlog", linthresh=1e-3)
    lo = min(-1e-3, 2 * float(min(df.measured.min(), df.predicted.min()))) if len(df) else -1e-3
    ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="measured loss change at τ (nats)",
           ylabel="predicted from the source's branch statistics (nats)",
           title="Function change at the expansion")
    ax.legend(fontsize=6, loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def _identity(ax, lo: float, hi: float, factor: float) -> None:
    """The identity line and the x/÷ `factor` band on symmetric-log axes spanning [lo, hi]."""
    grid = np.geomspace(1e-3, hi, 50)
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1)
    ax.fill_between(grid, grid / factor, grid * factor, color="0.85", lw=0, label=f"within ×{factor:g}")
    ax.fill_between(-grid, -grid / factor, -grid * factor, color="0.85", lw=0)
    ax.set_xscale("symlog", linthresh=1e-2)
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set(xlim=(lo, hi), ylim=(lo, hi))


def init_predictions(changes: pd.DataFrame, peaks: pd.DataFrame, factor: float = 2.0, cap: float = 1e3):
    """Predicted against measured, one point per run, symmetric-log axes with the identity and
    a x/÷ `factor` band.  Left: the loss change at the growth step before any update
    (`analysis.expansion_change_scores` rows of every init and multiplier s; colour: init,
    marker: s).  Middle: the loss change after the first update of the new blocks; right: its
    peak over the first 10 updates, the line model filled and the constant-gradient model
    open (`analysis.jolt_peaks` rows; colour: optimizer).  Predictions beyond ±`cap` nats
    (a model run away) are drawn at the cap as triangles."""
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6))
    scales = sorted(changes.init_scale.unique()) if len(changes) else []
    markers = dict(zip(scales, "vo^sD*"))
    df = changes[np.isfinite(changes.measured) & np.isfinite(changes.predicted)] if len(changes) else changes
    for i, (init, g) in enumerate(df.groupby("init", sort=True)):
        for scale, h in g.groupby("init_scale", sort=True):
            axes[0].scatter(h.measured, h.predicted, color=f"C{i}", marker=markers[scale], s=22, alpha=0.8,
                            label=f"{init}" + ("" if scale == 1 else f" s={scale:g}") + f" (n={len(h)})")

    def capped(ax, x, y, **kw):
        y = np.asarray(y, float)
        out = np.abs(y) > cap
        ax.scatter(np.asarray(x)[~out], y[~out], s=22, **kw)
        kw.pop("label", None)
        ax.scatter(np.asarray(x)[out], np.sign(y[out]) * cap, s=30, marker="^", **kw)

    for i, (opt, g) in enumerate(peaks.groupby("optimizer", sort=True)):
        capped(axes[1], g.first_meas, g.first_pred, color=f"C{i}", label=f"{opt} (n={len(g)})")
        capped(axes[2], g.peak_meas, g.peak_line, color=f"C{i}", label=f"{opt}, line model")
        capped(axes[2], g.peak_meas, g.peak_const, facecolors="none", edgecolors=f"C{i}",
               label=f"{opt}, constant gradient")
    for ax, values in ((axes[0], df[["measured", "predicted"]] if len(df) else None),
                       (axes[1], peaks[["first_meas", "first_pred"]] if len(peaks) else None),
                       (axes[2], peaks[["peak_meas", "peak_line", "peak_const"]] if len(peaks) else None)):
        v = np.clip(values.to_numpy(float), -cap, cap) if values is not None else np.zeros(1)
        _identity(ax, min(-1e-2, 2 * float(np.nanmin(v))), max(1e-1, 2 * float(np.nanmax(v))), factor)
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    axes[0].set(xlabel="measured loss change at τ (nats)", ylabel="predicted from branch statistics (nats)",
                title="Function change at the expansion")
    axes[1].set(xlabel="measured change after update 1 (nats)", ylabel="predicted (theory.jolt)",
                title=f"Jolt of the first update (▲: beyond ±{cap:g})")
    axes[2].set(xlabel="measured peak over updates 1–10 (nats)", ylabel="predicted peak",
                title=f"Peak jolt of the first 10 updates (▲: beyond ±{cap:g})")
    fig.tight_layout()
    return fig
