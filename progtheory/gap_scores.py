"""`progtheory.gap_scores`: the grown model's fits, predictions and held-out scores per arm
(`progtheory.analysis.gap_model`) under the module name the report and the notebooks import
them by.  Nothing is defined here."""

from progtheory.analysis.gap_model import (GROWN_ARMS, N_BOOT, GrownArm, arm_runs, declared_conditions, fit_arm,
                                           fit_curves, gap_curve, measured_gaps, parity_budgets, predictions,
                                           schedule_of, score_arm)

__all__ = ["GROWN_ARMS", "GrownArm", "N_BOOT", "arm_runs", "declared_conditions", "fit_arm", "fit_curves", "gap_curve",
           "measured_gaps", "parity_budgets", "predictions", "schedule_of", "score_arm"]
