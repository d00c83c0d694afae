"""One function per figure (see `progtheory.figures.mixing`)."""

from progtheory.figures.mixing import (  # noqa: F401
    PALETTE, bound_fit_curves, compute_frontier, demo_pair, expansion_change, final_gap_vs_tau, gap_around_tau,
    gap_model_scores, gap_surface, gap_vs_budget, gap_vs_r_tau, gap_vs_steps_after_tau, init_predictions,
    init_scale_sweep, init_strategies, lr_optimum_vs_depth, lr_transfer, mixing_curves, output_dir, plt,
    repo_root, results_dir, save, source_depth_pareto, timing_law_scores,
)
