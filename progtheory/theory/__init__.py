"""Analytical predictions for progressive depth training (numpy / scipy / sympy; never torch).

Modules:
  schedules        LR schedules as pure functions of the step (the single source)
  parametrization  init std, residual multipliers, per-group LR and Adam eps, `predict_lr`
  compute          parameter and FLOP counts, progressive cost, savings and speed-up
  bounds           LR sums, r(tau), sympy closed forms, convex SGD bounds and their fit
  init_scale       spectral std, activation sizes at init, the jolt of an expansion, dead gradients
  timing           mixing time, latest tau, a schedule-driven loss law for progressive runs
  loss_laws        Tissue et al. and multi-power (Luo et al.) loss laws; the head-start model of a progressive run
  gap_model        the grown model after an expansion: start matched on the source's loss, dead time, rate, spike
  weight_decay     decoupled weight decay as an EMA: the share of the state at tau left at T, the memory clock
  copy_symmetry    how fast two copies of one block separate under each optimizer's update
  jolt             the optimizer's first updates after an expansion along one direction
  lr_calibration   LR transfer across depth and width fitted on measured optima
"""
