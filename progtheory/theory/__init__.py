"""Analytical predictions for progressive depth training (numpy / scipy / sympy; never torch).

Modules:
  schedules        LR schedules as pure functions of the step (the single source)
  parametrization  init std, residual multipliers, per-group LR and Adam eps, `predict_lr`
  compute          parameter and FLOP counts, progressive cost, savings and speed-up
  bounds           LR sums, r(tau), sympy closed forms, convex SGD bounds and their fit
  init_scale       spectral std, activation sizes at init, the jolt of an expansion, dead gradients
  timing           mixing time, latest tau, a schedule-driven loss law for progressive runs
  loss_laws        Tissue et al. and multi-power (Luo et al.) loss laws; the head-start model of a progressive run
"""
