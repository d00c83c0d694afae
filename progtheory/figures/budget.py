"""The gap against the budget and the compute: the final gap against T (P2), growth paths and
their Pareto front over the FLOP fraction (P11, P12), and the compute frontier (P19)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from progtheory.figures.style import plt


def gap_vs_budget(summary: pd.DataFrame, predicted: pd.DataFrame | None = None, tolerance: float = 0.005,
                  predicted_label: str = "timing law"):
    """P2 against the token budget: final gap (95% CI over seeds) against the number of steps
    T, one line per tau/T (and per source depth when `summary` holds several); `predicted`
    (columns steps_T, tau, rel_gap, and source when the summary has several), e.g. the timing
    law fitted at the smallest T or the gap model fitted on pilots, as dashed lines labelled
    `predicted_label`.  `summary`: `analysis.summarize(table, [steps_T, tau(, source)], [rel_gap])`."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.axhspan(-tolerance, tolerance, color="0.88", lw=0, label=f"parity (±{tolerance:.1%})")
    keys = ["source", "tau"] if "source" in summary and summary.source.nunique() > 1 else ["tau"]
    for i, (key, g) in enumerate(summary.groupby(keys, sort=True)):
        cond = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        name = (f"{int(cond['source'])}-layer, " if "source" in cond else "") + f"τ = {cond['tau']:g}T"
        g = g.sort_values("steps_T")
        err = np.vstack([g.rel_gap - g.rel_gap_lo, g.rel_gap_hi - g.rel_gap])
        ax.errorbar(g.steps_T, g.rel_gap, yerr=np.nan_to_num(err), fmt="o-", capsize=3, color=f"C{i}",
                    label=f"{name} (n={int(g.n.min())}–{int(g.n.max())})")
        if predicted is not None:
            p = predicted[np.logical_and.reduce([np.isclose(predicted[k], v) for k, v in cond.items()])]
            p = p.sort_values("steps_T")
            ax.plot(p.steps_T, p.rel_gap, ls="--", color=f"C{i}", label=f"{predicted_label}, {name}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted(summary.steps_T.unique()), [f"{int(t)}" for t in sorted(summary.steps_T.unique())])
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("training steps T")
    ax.set_ylabel("final gap: progressive / fixed − 1")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def source_depth_pareto(paths: pd.DataFrame, front: pd.DataFrame | None = None):
    """P11, P12: final gap to the fixed model against the FLOP fraction (progressive / fixed),
    seed means with 95% CIs, one line per growth path (`stages`; a path's runs at several tau
    are joined, and every single-stage path ends at the fixed run, fraction 1, gap 0); the
    Pareto front of the seed means (`analysis.pareto_front`) as a dashed black line.  `paths`:
    `analysis.growth_paths(...)`; `front`: rows frac, rel_gap of the front."""
    from progtheory.analysis import summarize

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    s = summarize(paths, ["stages", "tau"], ["rel_gap", "frac"])
    for i, (stages, g) in enumerate(s.groupby("stages", sort=True)):
        g = g.sort_values("frac")
        err = np.nan_to_num(np.vstack([g.rel_gap - g.rel_gap_lo, g.rel_gap_hi - g.rel_gap]))
        single = stages.count("->") == 1
        x, y = (list(g.frac) + [1.0], list(g.rel_gap) + [0.0]) if single else (g.frac, g.rel_gap)
        ax.plot(x, y, color=f"C{i}", lw=1, ls="-" if single else "none")
        ax.errorbar(g.frac, g.rel_gap, yerr=err, fmt="o" if single else "D", capsize=2, color=f"C{i}",
                    label=f"{stages} (n={int(g.n.min())})")
    if front is not None and len(front):
        f = front.sort_values("frac")
        ax.plot(list(f.frac) + [1.0], list(f.rel_gap) + [0.0], color="black", ls="--", lw=1, label="Pareto front")
    ax.scatter([1.0], [0.0], color="black", marker="x", zorder=3, label="fixed depth")
    ax.axhline(0, color="black", lw=0.6)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("training FLOPs / fixed-depth run's")
    ax.set_ylabel("final gap: progressive / fixed − 1")
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def compute_frontier(frontier: pd.DataFrame, runs: pd.DataFrame):
    """P19: final validation loss against training FLOPs; the fixed-size frontier (seed means
    per T, 95% CI bars, joined by a line) and every progressive run as a point, coloured by
    source depth, marker by experiment.  `frontier`: rows steps, flops, final_val_loss (one per
    run); `runs`: rows flops, final, source, experiment (e.g. `report.efficiency_table`)."""
    from progtheory.analysis import mean_ci

    fig, ax = plt.subplots(figsize=(6, 4))
    pts = []
    for steps, g in frontier.groupby("steps", sort=True):
        m, lo, hi, n = mean_ci(g.final_val_loss)
        pts.append((g.flops.mean(), m, m - lo, hi - m, n, steps))
    x, y, elo, ehi, n, steps = (np.array(v) for v in zip(*pts)) if pts else ([],) * 6
    ax.errorbar(x, y, yerr=np.nan_to_num(np.vstack([elo, ehi])), fmt="-o", color="black", capsize=2,
                label=f"fixed-size frontier (T = {', '.join(str(int(t)) for t in steps)}; n = {min(n) if len(n) else 0}–{max(n) if len(n) else 0})")
    markers = dict(zip(sorted(runs.experiment.unique()), "os^vDP*"))
    for (exp, source), g in runs.groupby(["experiment", "source"], sort=True):
        ax.scatter(g.flops, g.final, s=14, marker=markers[exp], color=f"C{int(source)}", alpha=0.7,
                   label=f"{exp}, {int(source)}-layer source")
    ax.set_xscale("log")
    ax.set_xlabel("training FLOPs (exact count)")
    ax.set_ylabel("final validation loss")
    ax.legend(fontsize=6, frameon=False, ncol=2)
    fig.tight_layout()
    return fig
