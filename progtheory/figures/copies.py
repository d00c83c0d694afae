"""The copies' symmetry: how alike the copied blocks stay after tau, the 1-layer gap against the
budget per init, and the copies' separation against the constant-drive prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import plt

INIT_STYLE = {("copy", 0.0): ("C0", "copy"), ("copy_noise", 0.25): ("C1", "copy_noise ε=1/4"),
              ("copy_noise", 1.0): ("C2", "copy_noise ε=1"), ("copy_mix", 0.5): ("C3", "copy_mix ε=1/2"),
              ("random", 0.0): ("C4", "random")}


OPTIMIZER_STYLE = {"recipe": ("-", "o", "CompleteP + Muon-NSGD"), "tuned": ("--", "D", "sp + AdamW")}  # recipe tag


def _init_style(init: str, eps) -> tuple[str, str]:
    return INIT_STYLE.get((init, float(eps)), ("0.5", init))


def _seed_band(ax, x, values, color, marker, ls, label):
    """The seed mean of `values` at each `x` with the seeds' range as error bars."""
    s = pd.DataFrame({"x": x, "v": values}).dropna().groupby("x").v.agg(["mean", "min", "max", "count"])
    if len(s):
        ax.errorbar(s.index, s["mean"], yerr=[s["mean"] - s["min"], s["max"] - s["mean"]], color=color, marker=marker,
                    ls=ls, capsize=3, label=f"{label} (n ≤ {int(s['count'].max())})")


def _by_init(ax, sel: pd.DataFrame, series, title: str):
    """Final gap (%) per init on a categorical axis: one marker per (label, marker, rows of `sel`)
    in `series`, side by side, seed mean with the seeds' range."""
    order = [k for k in INIT_STYLE if ((sel.init == k[0]) & np.isclose(sel.eps, k[1])).any()]
    width = 0.6 / max(len(series), 1)
    for n, (label, marker, g) in enumerate(series):
        for x, (init, eps) in enumerate(order):
            v = g[(g.init == init) & np.isclose(g.eps, eps)].gap
            if len(v):
                ax.errorbar(x + width * (n - (len(series) - 1) / 2), v.mean(), capsize=3, ls="none", marker=marker,
                            yerr=[[v.mean() - v.min()], [v.max() - v.mean()]], color=_init_style(init, eps)[0])
        if len(g):
            most = g.groupby(["init", "eps"]).seed.nunique().max()
            ax.plot([], [], color="k", marker=marker, ls="none", label=f"{label} (n ≤ {most} seeds)")
    ax.set_xticks(range(len(order)), [_init_style(*k)[1] for k in order], rotation=20, fontsize=7)
    ax.set(ylabel="final gap to the fixed run (%)", title=title)
    if order:
        ax.legend(fontsize=7)
    else:
        ax.text(0.5, 0.5, "no run yet", ha="center", va="center", transform=ax.transAxes)


def _cosines(ax, tagged: pd.DataFrame):
    """The smallest copy cosine against the updates after tau, one line per run of `tagged` (the
    symmetry table with its runs' tags): colour by init, line style by optimizer."""
    for (rid, recipe, init, eps), g in tagged.query("updates > 0").groupby(["run_id", "recipe", "init", "eps"]):
        m = g.groupby("updates").cos.min()
        ax.plot(m.index, m.to_numpy(), color=_init_style(init, eps)[0], ls=OPTIMIZER_STYLE[recipe][0], lw=1, alpha=0.8)
    for c, label in INIT_STYLE.values():
        ax.plot([], [], color=c, lw=1, label=label)
    for ls, _, label in OPTIMIZER_STYLE.values():
        ax.plot([], [], color="k", ls=ls, lw=1, label=label)
    ax.axhline(0.9, color="0.4", ls=":", lw=1)
    ax.set(xscale="log", xlabel="updates after τ", ylabel="smallest copy cosine", title="Do the copies stay alike?")
    ax.legend(fontsize=7)


def _separation(ax, scores: pd.DataFrame):
    """Each exact-copy pair's measured relative distance (attn.c_attn) against k, the constant-drive
    prediction dashed, colour by optimizer (`scores`: `separation_scores` with the runs' recipe)."""
    s = scores[scores.matrix == "attn.c_attn"]
    colors = {"recipe": "C0", "tuned": "C3"}
    for (opt, rid, i, j), g in s.groupby(["recipe", "run_id", "i", "j"]):
        ax.plot(g.k, g.measured, color=colors[opt], lw=1, alpha=0.7)
        ax.plot(g.k, g.predicted, color=colors[opt], lw=1, ls="--", alpha=0.7)
    for opt, c in colors.items():
        if (s.recipe == opt).any():
            ax.plot([], [], color=c, lw=1, label=f"{OPTIMIZER_STYLE[opt][2]}: measured")
    ax.plot([], [], color="k", lw=1, ls="--", label="constant drive from the first update")
    ax.set(xlabel="updates after τ (k)", ylabel="‖W_i − W_j‖ / ‖W_i‖ (attn.c_attn)", title="Exact copies: separation")
    if s.empty:
        ax.text(0.5, 0.5, "no probed exact-copy run yet", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.axvline(50, color="0.5", ls=":", lw=1)
        ax.set(xscale="log", yscale="log")
        ax.legend(fontsize=7)


def copy_symmetry(table: pd.DataFrame, runs: pd.DataFrame, gaps: pd.DataFrame, separation: pd.DataFrame,
                  title: str = ""):
    """Six panels.  Top left: the smallest copy cosine (over pairs and matrix types) against the
    updates after tau, one line per run (`analysis.copies.symmetry_table`), colour by init, line
    style by optimizer, the 0.9 of P24 dotted.  Top middle and right: the seed-mean final gap (%)
    of each 1-layer init at tau = 0.8T against T under the paper's recipe, at d = 64 and d = 32,
    with the seeds' range (`analysis.copies.seed_gaps`).  Bottom left: measured relative distance
    of each exact-copy pair (attn.c_attn) against k, the constant-drive prediction dashed
    (`analysis.copies.separation_scores`), colour by optimizer.  Bottom middle: the final gap per
    init at T = 10,000, tau = 0.5T, per width.  Bottom right: per optimizer, the final gap per
    init at d = 64, T = 10,000, tau = 0.8T.  `title` (e.g. the verdict) goes above the panels."""
    fig, axes = plt.subplots(2, 3, figsize=(17, 9))
    tags = runs[["run_id", "recipe", "init", "eps", "steps_T", "d"]]
    _cosines(axes[0, 0], table.merge(tags, on="run_id"))
    recipe = gaps[gaps.recipe == "recipe"]
    for ax, d in zip(axes[0, 1:], (64, 32)):
        sel = recipe[(recipe.d == d) & np.isclose(recipe.tau, 0.8)]
        for (init, eps), g in sel.groupby(["init", "eps"]):
            c, label = _init_style(init, eps)
            _seed_band(ax, g.steps_T, g.gap, c, "o", "-", label)
        ax.set(xscale="log", xlabel="T (steps)", ylabel="final gap to the fixed run (%)",
               title=f"1-layer source at d = {d}, τ = 0.8T (paper's recipe)")
        _budget_ticks(ax, sel.steps_T)
    _separation(axes[1, 0], separation.merge(tags[["run_id", "recipe"]], on="run_id"))
    half = recipe[(recipe.steps_T == 10000) & np.isclose(recipe.tau, 0.5)]
    _by_init(axes[1, 1], half, [(f"d = {d}", m, half[half.d == d]) for d, m in ((64, "o"), (32, "s"))],
             "T = 10,000, τ = 0.5T (paper's recipe)")
    top = gaps[(gaps.d == 64) & (gaps.steps_T == 10000) & np.isclose(gaps.tau, 0.8)]
    _by_init(axes[1, 2], top, [(label, marker, top[top.recipe == opt]) for opt, (_, marker, label)
                               in OPTIMIZER_STYLE.items()], "per optimizer: d = 64, T = 10,000, τ = 0.8T")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def _budget_ticks(ax, steps_T):
    """Ticks at the budgets `steps_T` holds, and a legend where the panel has labels."""
    budgets = sorted(int(T) for T in pd.unique(steps_T))
    ax.set_xticks(budgets, [f"{T:,}" for T in budgets])
    ax.minorticks_off()
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)


def _finish_budget_axes(fig, axes, steps_T, title: str):
    """`_budget_ticks` on every panel and `title` above the panels; returns `fig`."""
    for ax in axes:
        _budget_ticks(ax, steps_T)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


ARM_STYLE = {"fixed": ("k", "fixed"), "zero": ("C1", "0-layer random"), "absorbed": ("C0", "1-layer copy, absorbed (4× c_proj)"),
             "rescaled": ("C2", "1-layer copy, rescaled (as trained)")}


def copy_multiplier(wide: pd.DataFrame, spikes: pd.DataFrame, ratios: pd.DataFrame | None = None,
                    norm_bound: float = 1.5, title: str = ""):
    """Three panels against T (log axis), seed means with the seeds' range.  Left: the final loss
    of each arm (`analysis.copy_multiplier.arms`).  Middle: the copies' loss change at tau
    (`spikes`: columns absorb, rescale).  Right: the copies' output-projection norm over the fixed
    run's (`norm_ratios`), the bound of P28 dotted; empty until the norms are measured.  `title`
    (e.g. the verdict) goes above the panels."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))

    def band(ax, g, col, color, label):
        _seed_band(ax, g.steps_T, g[col], color, "o", "-", label)

    for arm, (color, label) in ARM_STYLE.items():
        if arm in wide:
            band(axes[0], wide, arm, color, label)
    axes[0].set(xscale="log", xlabel="T (steps; τ = 0.8T)", ylabel="final validation loss (nats)",
                title="final loss")
    for col, arm in (("absorb", "absorbed"), ("rescale", "rescaled")):
        if col in spikes:
            band(axes[1], spikes, col, *ARM_STYLE[arm])
    axes[1].set(xscale="log", xlabel="T (steps; τ = 0.8T)", ylabel="loss change at τ (nats)", title="the jump at τ")
    if ratios is not None and len(ratios):
        for arm, g in ratios.groupby("arm"):
            band(axes[2], g, "ratio", *ARM_STYLE[arm])
        axes[2].axhline(norm_bound, color="k", ls=":", lw=1, label=f"P28 bound ({norm_bound:g}×)")
    else:
        axes[2].text(0.5, 0.5, "norms not measured yet\n(scripts/copy_norms.py)", ha="center", va="center",
                     transform=axes[2].transAxes)
    axes[2].set(xscale="log", xlabel="T (steps; τ = 0.8T)", ylabel="c_proj norm / fixed run's",
                title="the copies' output projections at T")
    return _finish_budget_axes(fig, axes, wide.steps_T, title)


RESCALE_STYLE = {"zero": ("C1", "o", "0-layer random"), "copy_absorb": ("C0", "s", "1-layer copy, absorbed"),
                 "copy_rescale": ("C2", "s", "1-layer copy, rescaled"),
                 "random_absorb": ("C4", "^", "1-layer + random, absorbed"),
                 "random_rescale": ("C3", "^", "1-layer + random, rescaled")}


def random_rescale(gaps: pd.DataFrame, costs: pd.DataFrame, title: str = ""):
    """Two panels against T (log axis; tau = 0.8T), seed means with the seeds' range, one line per
    grown arm.  Left: the final gap to the fixed run (%; `analysis.random_rescale.gaps`).  Right:
    the mean cost of dropping one of blocks 1-3 at T (nats, log axis; `block_costs`), i.e. how much
    the blocks a 1-layer source gets new have learned; empty until the ablation is measured."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))

    def band(ax, T, values, arm, scale=1.0):
        color, marker, label = RESCALE_STYLE[arm]
        _seed_band(ax, T, values * scale, color, marker, "-", label)

    for arm in RESCALE_STYLE:
        if arm in gaps:
            band(axes[0], gaps.steps_T, gaps[arm], arm, 100.0)
    axes[0].set(xscale="log", xlabel="T (steps; τ = 0.8T)", ylabel="final gap to the fixed run (%)",
                title="the gap against the budget")
    for arm, g in costs.groupby("arm"):
        band(axes[1], g.steps_T.to_numpy(), g.cost.to_numpy(), arm)
    if costs.empty:
        axes[1].text(0.5, 0.5, "ablation not measured yet\n(scripts/block_ablation.py)", ha="center", va="center",
                     transform=axes[1].transAxes)
    else:
        axes[1].set_yscale("log")
    axes[1].set(xscale="log", xlabel="T (steps; τ = 0.8T)", ylabel="mean cost to drop one of blocks 1-3 (nats)",
                title="what the new blocks learned")
    return _finish_budget_axes(fig, axes, gaps.steps_T, title)
