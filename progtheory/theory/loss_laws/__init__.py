"""Loss-curve laws driven by the learning-rate schedule, and what they answer about a
progressive run (numpy / scipy; imports only `progtheory.theory`).

  fixed_size   the laws of a fixed-size run: Tissue et al. 2024 (`LossLaw`) and the multi-power
               law of Luo et al. 2025 (`MultiPowerLaw`), their fits, the per-step LR of a log
  head_start   a progressive run as the fixed-size law with a head start (`HeadStartModel`)
  fresh_offset a grown run's final loss as a fresh start's plus a source offset (`OffsetLaw`)
  planning     answers of any gap model under a schedule: predicted gap, latest tau, smallest
               budget for parity, compute efficiency at equal loss

The names below are importable from `progtheory.theory.loss_laws` itself.
"""

from progtheory.theory.loss_laws.fixed_size import (AT_BOUND_RTOL, ETA_FLOOR, MPL_BOUNDS, MPL_FORMS, LossLaw,
                                                    MultiPowerLaw, fit_loss_law, fit_multi_power_law, per_step_lr,
                                                    r_squared, schedule_areas)
from progtheory.theory.loss_laws.fresh_offset import OffsetLaw, fit_offset_law
from progtheory.theory.loss_laws.head_start import HEAD_START_FORMS, HeadStartModel, fit_head_start, head_start_curve
from progtheory.theory.loss_laws.planning import (equal_loss_efficiency, latest_tau_within, predicted_gap,
                                                  smallest_budget)

__all__ = [
    "AT_BOUND_RTOL", "ETA_FLOOR", "MPL_BOUNDS", "MPL_FORMS", "LossLaw", "MultiPowerLaw", "fit_loss_law",
    "fit_multi_power_law", "per_step_lr", "r_squared", "schedule_areas",
    "OffsetLaw", "fit_offset_law",
    "HEAD_START_FORMS", "HeadStartModel", "fit_head_start", "head_start_curve",
    "equal_loss_efficiency", "latest_tau_within", "predicted_gap", "smallest_budget",
]
