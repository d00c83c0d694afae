"""The demo's figure: a fixed-size and a progressive run, validation loss against step and FLOPs."""

from __future__ import annotations

import matplotlib
import pandas as pd

from progtheory.figures.style import plt


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
