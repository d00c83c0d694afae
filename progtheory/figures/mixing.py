"""One function per figure: analysed tables in, a matplotlib Figure out (no file I/O).

Notebooks load results, call `progtheory.analysis`, call one of these, and save the figure
with `save`.  Seeds appear as 95% confidence bands or error bars, with n in the legend.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
matplotlib.rcParams["svg.hashsalt"] = "progtheory"  # reproducible ids in SVG output

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

PALETTE = "viridis"


def save(fig, name: str, folder: Path | str) -> list[Path]:
    """Write `fig` as PNG and PDF into `folder`; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name}.png", folder / f"{name}.pdf"]
    # reproducible bytes: no software version or creation date in either file
    fig.savefig(paths[0], dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(paths[1], bbox_inches="tight", metadata={"CreationDate": None, "ModDate": None, "Producer": None,
                                                         "Creator": None})
    return paths


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


def demo_pair(fixed: pd.DataFrame, prog: pd.DataFrame, tau: int | None = None, unit: str = "nats/byte"):
    """The demo: validation loss of the fixed-size and the progressive run against step and
    against cumulative exact FLOPs (log axis), τ marked on both panels (on the FLOPs panel at
    the progressive run's FLOPs when it grows).  `fixed`, `prog`: metrics rows (step, flops,
    val_loss); `unit`: the loss unit (nats/byte for the byte tokenizer, else nats/token)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for label, df in (("fixed depth", fixed), ("progressive", prog)):
        df = df[df.val_loss.notna()]
        axes[0].plot(df.step, df.val_loss, marker=".", label=label)
        axes[1].plot(df.flops, df.val_loss, marker=".", label=label)
    if tau is not None:
        axes[0].axvline(tau, color="grey", ls=":", label="τ (expansion)")
        before = prog[prog.step < tau]
        if len(before):
            axes[1].axvline(float(before.flops.iloc[-1]), color="grey", ls=":", label="τ (expansion)")
    axes[0].set_xlabel("step")
    axes[1].set_xscale("log")
    axes[1].xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # decades only: no overlap
    axes[1].set_xlabel("cumulative training FLOPs (exact matmul count, log scale)")
    for ax in axes:
        ax.set_ylabel(f"validation loss ({unit})")
        ax.legend(frameon=False)
    return fig


def repo_root() -> Path:
    """The repository root (found from the package; falls back to the working directory)."""
    import progtheory

    root = Path(progtheory.__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").exists() else Path.cwd()


def output_dir() -> Path:
    """Where figures go: $PROGTHEORY_FIGURES if set (tests), else paper_figures/ at the root."""
    import os

    out = Path(os.environ["PROGTHEORY_FIGURES"]) if os.environ.get("PROGTHEORY_FIGURES") else repo_root() / "paper_figures"
    out.mkdir(parents=True, exist_ok=True)
    return out


def results_dir() -> Path:
    """Committed experiment results: experiments/results/ at the repository root."""
    return repo_root() / "experiments" / "results"


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


def gap_model_scores(records: list[dict], within: float = 1.5):
    """Predicted against measured final gap (%) of every progressive condition scored by the
    gap model (`plan.score_gap_model` records): held-out runs by source and schedule, the fitting
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


def gap_vs_steps_after_tau(measured: pd.DataFrame, stated: pd.DataFrame, curves: pd.DataFrame, reference=None):
    """The final gap (%) against the steps after tau (log axis), one panel per tau/T: measured
    seed means with 95% CIs (`measured`: source, tau, steps_after_tau, gap, lo, hi), the
    predictions stated before the runs with their 90% intervals (`stated`: source, tau,
    steps_after_tau, predicted, lo, hi, open markers), the model's curve (`curves`: source, tau,
    steps_after_tau, predicted) and, optionally, another experiment's measured gaps at equal T
    (`reference`, same columns as `measured`, grey) for the steps-or-tokens comparison."""
    taus = sorted(set(stated.tau) | set(measured.tau))
    fig, axes = plt.subplots(1, len(taus), figsize=(4.6 * len(taus), 3.8), squeeze=False)
    for ax, tau in zip(axes[0], taus):
        for src, name in ((0, "0-layer random"), (1, "1-layer copy")):
            color = f"C{src}"
            c = curves[(curves.source == src) & np.isclose(curves.tau, tau)].sort_values("steps_after_tau")
            ax.plot(c.steps_after_tau, c.predicted, color=color, lw=1, label=f"{name}: model")
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


def gap_surface(groups: list[dict], eps: float = 0.005):
    """The grown model's predicted final gap (%) over (tau/T, tokens per block parameter), one
    panel per (source depth, init) group of a `plan.plan(..., surface=True)` result: filled
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
