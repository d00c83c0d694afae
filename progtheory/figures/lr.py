"""LR transfer across depth and width (P14): loss against LR per depth, and the measured
optimum against depth beside `predict_lr` and the fitted calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import PALETTE, plt


def lr_transfer(runs: pd.DataFrame, optima: pd.DataFrame):
    """P14: final loss against LR at each depth, one panel per (width, parametrization), seeds
    as 95% CI bars; the measured optimum per depth marked with a star (hollow when at the grid
    edge, i.e. only a bound).  Runs without a `width` column count as one width."""
    runs = runs if "width" in runs else runs.assign(width=0)
    optima = optima if "width" in optima else optima.assign(width=0)
    pars, widths = sorted(runs.parametrization.unique()), sorted(runs.width.unique())
    fig, axes = plt.subplots(len(widths), len(pars), figsize=(5 * len(pars), 3.6 * len(widths)),
                             squeeze=False, sharey=True, sharex=True)
    depths = sorted(runs.depth.unique())
    colors = dict(zip(depths, plt.get_cmap(PALETTE)(np.linspace(0.1, 0.9, len(depths)))))
    for row, width in zip(axes, widths):
        for ax, par in zip(row, pars):
            sub = runs[(runs.parametrization == par) & (runs.width == width)]
            for depth, g in sub.groupby("depth"):
                stats_ = g.groupby("lr").final_val_loss.agg(["mean", "std", "count"]).reset_index()
                half = 1.96 * stats_["std"].fillna(0) / np.sqrt(stats_["count"])
                ax.errorbar(stats_.lr, stats_["mean"], yerr=half, marker="o", ms=3, capsize=2,
                            color=colors[depth], label=f"L={depth} (n={int(stats_['count'].min())})")
                o = optima[(optima.parametrization == par) & (optima.depth == depth) & (optima.width == width)]
                for r in o.itertuples():
                    ax.plot(r.lr_opt, r.loss_best, marker="*", ms=12, color=colors[depth],
                            mfc="none" if r.at_edge else colors[depth])
            ax.set_xscale("log")
            ax.set_title(par + (f", width {width}" if width else ""))
            ax.legend(fontsize=7, frameon=False)
        row[0].set_ylabel("final validation loss")
    for ax in axes[-1]:
        ax.set_xlabel("peak LR (base units)")
    fig.tight_layout()
    return fig


def lr_optimum_vs_depth(optima: pd.DataFrame, predicted: pd.DataFrame | None = None, *,
                        fits: dict | None = None, held_out: pd.DataFrame | None = None):
    """P14: measured optimal LR against depth per parametrization (colour) and width (marker;
    hollow = at the grid edge, only a bound; bars = `lo`/`hi` columns when present, e.g. the
    seed intervals of `theory.lr_calibration.shape_optima`).  Lines: `predicted`
    (parametrization, [width,] depth, lr; dotted) and `fits` ({parametrization: LRCalibration};
    solid, with its bootstrap band when it has >= 2 seeds).  `held_out`: rows of
    `lr_calibration.score_held_out` with a parametrization column, drawn as black-edged stars
    (measured, with bars) and crosses (predicted)."""
    optima = optima if "width" in optima else optima.assign(width=0)
    markers = "os^D"
    widths = sorted(optima.width.unique())
    fig, ax = plt.subplots(figsize=(5.5, 4))
    pars = sorted(optima.parametrization.unique())
    for i, par in enumerate(pars):
        color = f"C{i}"
        for j, width in enumerate(widths):
            tag = par + (f", w={width}" if width else "")
            g = optima[(optima.parametrization == par) & (optima.width == width)].sort_values("depth")
            if g.empty:
                continue
            if "lo" in g:
                ok = g[g.lo.notna()]
                ax.errorbar(ok.depth, ok.lr_opt, yerr=[ok.lr_opt - ok.lo, ok.hi - ok.lr_opt], fmt="none",
                            ecolor=color, elinewidth=0.8, capsize=2)
            ax.scatter(g.depth, g.lr_opt, color=color, marker=markers[j % 4],
                       facecolors=[("none" if e else color) for e in g.at_edge], label=f"{tag}: measured")
            if predicted is not None:
                p = predicted if "width" in predicted else predicted.assign(width=0)
                p = p[(p.parametrization == par) & (p.width == width)].sort_values("depth")
                ax.plot(p.depth, p.lr, color=color, ls=":", label=f"{tag}: predict_lr")
            cal = (fits or {}).get(par)
            if cal is not None and (cal.width_fitted or width in cal.widths):
                L = np.geomspace(min(optima.depth.min(), *cal.depths), max(optima.depth.max(), *cal.depths), 30)
                w = width if cal.width_fitted else None
                ax.plot(L, cal.predict(L, w), color=color, ls="-", lw=1,
                        label=f"{tag}: fit L^{cal.e:+.2f}" + (f" w^{cal.f:+.2f}" if cal.width_fitted else ""))
                if len(cal.boot) >= 2:
                    band = np.array([cal.interval(x, w) for x in L])
                    ax.fill_between(L, band[:, 0], band[:, 1], color=color, alpha=0.12, lw=0)
    if held_out is not None and not held_out.empty:
        for i, par in enumerate(pars):
            h = held_out[held_out.parametrization == par]
            ax.errorbar(h.depth, h.measured, yerr=[h.measured - h.measured_lo, h.measured_hi - h.measured],
                        fmt="*", ms=10, color=f"C{i}", mec="k", capsize=2, label=f"{par}: held-out, measured")
            ax.scatter(h.depth, h.predicted, marker="x", color="k", label=f"{par}: held-out, predicted")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("depth L")
    ax.set_ylabel("optimal peak LR (base units)")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    fig.tight_layout()
    return fig
