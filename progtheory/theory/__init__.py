"""Analytical predictions for progressive depth training: pure functions of numbers and arrays
(numpy / scipy / sympy).

The ground floor of the package: `progtheory.theory` imports nothing else of progtheory and
never torch (tests/theory/test_ground_floor.py checks every import statement), so the config,
the core, the trainer and the analysis may all import it.

Modules:
  options          the option lists of a run (parametrizations, optimizers, schedules, growth
                   inits, placements, policies), stated once; `config` validates against them
  growth_layout    the steps and depths of growth stages, which block of a grown model comes
                   from where, and which stage created each block
  schedules        LR schedules as pure functions of the step (the single source)
  parametrization  init std, residual multipliers, per-group LR and Adam eps, `predict_lr`
  compute          parameter and FLOP counts, progressive cost, savings and speed-up
  bounds           LR sums, r(tau), sympy closed forms, convex SGD bounds and their fit
  init_scale       spectral std, activation sizes at init, the function change of an expansion
  expansion        the loss change of an expansion predicted from the source's branch statistics
  dead_gradients   which gradients of a new block vanish at the expansion step (sympy)
  jolt             the first Adam step on new parameters, the optimizer's first updates along
                   one direction, and the LR ramp that bounds them
  timing           mixing time, latest tau, a schedule-driven loss law for progressive runs
  loss_laws        fixed-size loss laws (Tissue et al., multi-power), the head-start model of a
                   progressive run, and the planning answers of a gap model (a package)
  gap_model        the grown model after an expansion: start matched on the source's loss, dead
                   time, rate, spike
  weight_decay     decoupled weight decay as an EMA: the share of the state at tau left at T,
                   the memory clock
  copy_symmetry    how fast two copies of one block separate under each optimizer's update
  lr_calibration   LR transfer across depth and width fitted on measured optima
  _args            argument checks shared by the public functions
"""
