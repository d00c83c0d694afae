"""One function per figure: analysed tables in, a matplotlib Figure out (no file I/O).

Notebooks load results, call `progtheory.analysis`, call one of these, and save the figure
with `save`.  Seeds appear as 95% confidence bands or error bars, with n in the legend.

Modules by topic: `mixing` (when to grow: curves, the gap against tau, bound and timing-law
fits), `lr` (LR transfer), `inits` (how the new blocks start), `budget` (the gap against T and
compute), `gap_model` (the grown gap model and the planner's surface), `memory` (the gap against
the optimizer's memory), `copies` (the copies' symmetry and multiplier, fresh blocks beside a
trained one), `saturation` (the copy floor against the source's age), `demo`; `style` sets up
matplotlib and `files` writes figures.  Figures sit on top of the package: they may import
`analysis` and everything below it, and nothing but the command line imports them.
"""

from progtheory.figures.budget import compute_frontier, gap_vs_budget, source_depth_pareto
from progtheory.figures.copies import copy_multiplier, copy_symmetry, random_rescale
from progtheory.figures.demo import demo_pair
from progtheory.figures.files import KERNEL_ENV, output_dir, repo_root, results_dir, save
from progtheory.figures.gap_model import gap_model_scores, gap_surface, gap_vs_steps_after_tau
from progtheory.figures.inits import (
    expansion_change, gap_around_tau, init_predictions, init_scale_sweep, init_strategies,
)
from progtheory.figures.lr import lr_optimum_vs_depth, lr_transfer
from progtheory.figures.memory import memory_clock, memory_clock_all
from progtheory.figures.mixing import (
    bound_fit_curves, final_gap_vs_tau, gap_vs_r_tau, mixing_curves, timing_law_scores,
)
from progtheory.figures.saturation import fresh_start, saturation
from progtheory.figures.style import PALETTE, plt

__all__ = [
    "KERNEL_ENV", "PALETTE", "bound_fit_curves", "compute_frontier", "copy_multiplier", "copy_symmetry", "demo_pair", "expansion_change", "final_gap_vs_tau",
    "fresh_start", "gap_around_tau", "gap_model_scores", "gap_surface", "gap_vs_budget", "gap_vs_r_tau", "gap_vs_steps_after_tau",
    "init_predictions", "init_scale_sweep", "init_strategies", "lr_optimum_vs_depth", "lr_transfer",
    "memory_clock", "memory_clock_all", "mixing_curves", "output_dir", "plt", "random_rescale", "repo_root", "results_dir", "saturation", "save",
    "source_depth_pareto",
    "timing_law_scores",
]
