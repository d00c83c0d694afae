"""`progtheory.plan`: the planner behind `progtheory plan` (`progtheory.planner`) and the gap
model's head-start baseline and held-out scores (`progtheory.analysis.head_start`,
`progtheory.analysis.gap_model`), under the module name the CLI, the report and the notebooks
import them by.  Nothing is defined here."""

from progtheory.analysis.gap_model import gap_model_summary, write_predictions
from progtheory.analysis.head_start import (ARMS, FIXED_PILOTS, PROGRESSIVE_PILOTS, Arm, fit_gap_models,
                                            missing_pilots, score_fixed_laws, score_gap_model)
from progtheory.planner import PlanError, format_plan, held_out_error, load_pilot, plan

__all__ = ["ARMS", "Arm", "FIXED_PILOTS", "PROGRESSIVE_PILOTS", "PlanError", "fit_gap_models", "format_plan",
           "gap_model_summary", "held_out_error", "load_pilot", "missing_pilots", "plan", "score_fixed_laws",
           "score_gap_model", "write_predictions"]
