"""Results tables -> analysed tables (pandas; no torch, no plotting).

Inputs are the tidy tables a sweep writes (`experiments/results/<name>/{runs,metrics}.csv`);
outputs are tables that figures and the validation report read.  Uncertainty: every
aggregate over seeds carries n and a two-sided 95% Student-t interval.

Modules:
  results       loading a sweep's tables, an experiment's arms as one table, each run's recipe, the runs
                of several experiments at one LR
  stats         intervals, group summaries, seed-mean curves, paired final gaps, a rank-correlation test
  mixing        progressive runs against their fixed twins: final gap, margin, mixing time, spike, tau*
  lr            LR optima of a sweep, the optima `predict_lr` expects, the depth exponent
  growth_stats  the loss change at tau and the jolt of the first updates, predicted against measured
  law_fits      the last-iterate bound and the expansion-timing law, fitted and scored on held-out runs
  frontier      FLOP accounting, equal-FLOP comparisons, the fixed-size frontier, efficiency at equal loss
  gap_model     the grown model fitted on each arm's pilots: predictions, intervals, held-out scores
  head_start    the gap model's head-start baseline and the fixed-size laws, scored the same way
  memory        the memory model of the gap under weight decay, fitted on pilots; the gap's clocks scored
  clock         every progressive run of the project on the memory clock lam x LR area: one curve or not
  copies        the copies' symmetry logs, separation against its prediction, gaps per init
  saturation    the copy floor against the source's age: the three readings' statements and verdicts

It may import `progtheory.theory`, `config`, `presets` and `sweep` (experiment declarations);
never torch, the trainer, the report or the figures.  The names below are the flat API the
report, figures, notebooks and experiments read; gap_model, head_start and memory are imported
by their module path, like clock, copies and saturation.
"""

from progtheory.analysis.frontier import (FRONTIER_COLUMNS, compute_accounting, compute_efficiency,
                                          efficiency_table, equal_flop_difference, frontier_flops,
                                          frontier_points, gap_at_flop_fraction, growth_paths, pareto_front)
from progtheory.analysis.growth_stats import (JOLT_KEYS, expansion_change_scores, growth_records, jolt_momenta,
                                              jolt_peaks, jolt_scores)
from progtheory.analysis.law_fits import bound_fits, timing_law_scores
from progtheory.analysis.lr import depth_exponent, exponent_ci, lr_optima, lr_order, predicted_lr_optima, tuned_lr
from progtheory.analysis.mixing import (_SUMMARY_COLUMNS, MIN_MARGIN, PAIR_ON, SPIKE_TOL, expansion_spike,
                                        gap_around_tau, mixing_table, recipe_tau, spike_recovery)
from progtheory.analysis.results import (ARM_COLUMNS, DEFAULT_RECIPE, OPTIMIZER_NAMES, arm_folders, arms_of,
                                         compare_runs, experiment_folders, experiment_runs, load_arms, load_results,
                                         recipe_of, run_configs, run_recipes)
from progtheory.analysis.stats import (MIN_STEP, correlation_against_null, mean_ci, mean_curve, mean_curves,
                                       paired_gaps, summarize, val_curve)

__all__ = ["ARM_COLUMNS", "DEFAULT_RECIPE", "FRONTIER_COLUMNS", "JOLT_KEYS", "MIN_MARGIN", "MIN_STEP",
           "OPTIMIZER_NAMES", "PAIR_ON", "SPIKE_TOL", "_SUMMARY_COLUMNS", "arm_folders", "arms_of", "bound_fits",
           "compare_runs", "compute_accounting", "compute_efficiency", "correlation_against_null", "depth_exponent",
           "efficiency_table", "equal_flop_difference", "expansion_change_scores", "expansion_spike",
           "experiment_folders", "experiment_runs", "exponent_ci", "frontier_flops", "frontier_points",
           "gap_around_tau", "gap_at_flop_fraction", "growth_paths", "growth_records", "jolt_momenta", "jolt_peaks",
           "jolt_scores", "load_arms", "load_results", "lr_optima", "lr_order", "mean_ci", "mean_curve", "mean_curves",
           "mixing_table", "paired_gaps", "pareto_front", "predicted_lr_optima", "recipe_of", "recipe_tau",
           "run_configs", "run_recipes", "spike_recovery", "summarize", "timing_law_scores", "tuned_lr", "val_curve"]
