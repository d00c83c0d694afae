"""The copies' symmetry: how alike the copied blocks stay after tau, the 1-layer gap against the
budget per init, and the copies' separation against the constant-drive prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from progtheory.figures.style import plt

INIT_STYLE = {("copy", 0.0): ("C0", "copy"), ("copy_noise", 0.25): ("C1", "copy_noise ε=1/4"),
              ("copy_noise", 1.0): ("C2", "copy_noise ε=1"), ("copy_mix", 0.5): ("C3", "copy_mix ε=1/2"),
              ("random", 0.0): ("C4", "random")}


def copy_symmetry(table: pd.DataFrame, runs: pd.DataFrame, gaps: pd.DataFrame, separation: pd.DataFrame):
    """Three panels.  Left: the smallest copy cosine (over pairs and matrix types) against the
    updates after tau, one line per run (`analysis.copies.symmetry_table`), the 0.9 of P24 dotted.
    Middle: the seed-mean final gap (%) of each 1-layer init at d = 64, tau = 0.8T against T, with
    the seeds' range (`analysis.copies.seed_gaps`).  Right: measured relative distance of each copy
    pair (attn.c_attn) against k, with the constant-drive prediction dashed
    (`analysis.copies.separation_scores`)."""
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2))
    ax = axes[0]
    tagged = table.merge(runs[["run_id", "init", "eps", "steps_T", "d"]], on="run_id")
    for (rid, init, eps), g in tagged[tagged.updates > 0].groupby(["run_id", "init", "eps"]):
        c, label = INIT_STYLE.get((init, float(eps)), ("0.5", init))
        m = g.groupby("updates").cos.min()
        ax.plot(m.index, m.to_numpy(), color=c, lw=1, alpha=0.8, label=label)
    handles, labels = ax.get_legend_handles_labels()
    keep = dict(zip(labels, handles))
    ax.axhline(0.9, color="0.4", ls=":", lw=1)
    ax.set(xscale="log", xlabel="updates after τ", ylabel="smallest copy cosine", title="Do the copies stay alike?")
    ax.legend(keep.values(), keep.keys(), fontsize=7)
    ax = axes[1]
    sel = gaps[(gaps.d == 64) & np.isclose(gaps.tau, 0.8)]
    for (init, eps), g in sel.groupby(["init", "eps"]):
        c, label = INIT_STYLE.get((init, float(eps)), ("0.5", init))
        agg = g.groupby("steps_T").gap.agg(["mean", "min", "max", "count"])
        ax.errorbar(agg.index, agg["mean"], yerr=[agg["mean"] - agg["min"], agg["max"] - agg["mean"]], fmt="o-", color=c,
                    capsize=3, label=f"{label} (n≤{agg['count'].max()})")
    ax.set(xscale="log", xlabel="T (steps)", ylabel="final gap to the fixed run (%)",
           title="1-layer source at d = 64, τ = 0.8T")
    ax.legend(fontsize=7)
    ax = axes[2]
    s = separation[separation.matrix == "attn.c_attn"]
    for n, ((rid, i, j), g) in enumerate(s.groupby(["run_id", "i", "j"])):
        ax.plot(g.k, g.measured, color=f"C{n % 10}", lw=1)
        ax.plot(g.k, g.predicted, color=f"C{n % 10}", lw=1, ls="--")
    ax.plot([], [], color="k", lw=1, label="measured")
    ax.plot([], [], color="k", lw=1, ls="--", label="constant drive from the first update")
    ax.set(xlabel="updates after τ (k)", ylabel="‖W_i − W_j‖ / ‖W_i‖ (attn.c_attn)", title="Exact copies: separation")
    if s.empty:
        ax.text(0.5, 0.5, "no probed exact-copy run yet", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.axvline(50, color="0.5", ls=":", lw=1)
        ax.set(xscale="log", yscale="log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _finish_budget_axes(fig, axes, steps_T, title: str):
    """Ticks at the budgets `steps_T` holds on every panel, a legend where a panel has labels, and
    `title` above the panels; returns `fig`."""
    budgets = sorted(int(T) for T in pd.unique(steps_T))
    for ax in axes:
        ax.set_xticks(budgets, [f"{T:,}" for T in budgets])
        ax.minorticks_off()
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
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
        s = g.groupby("steps_T")[col].agg(["mean", "min", "max", "count"]).dropna()
        if s.empty:
            return
        ax.errorbar(s.index, s["mean"], yerr=[s["mean"] - s["min"], s["max"] - s["mean"]], color=color, marker="o",
                    capsize=3, label=f"{label} (n ≤ {int(s['count'].max())})")

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
        s = pd.DataFrame({"T": T, "v": values * scale}).dropna().groupby("T").v.agg(["mean", "min", "max", "count"])
        if len(s):
            ax.errorbar(s.index, s["mean"], yerr=[s["mean"] - s["min"], s["max"] - s["mean"]], color=color,
                        marker=marker, capsize=3, label=f"{label} (n ≤ {int(s['count'].max())})")

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
