"""Training a config into a run folder, and what a run measures and writes on the way.

  * `loop`          `train(cfg, out_dir)` and the step loop
  * `timetable`     which steps grow, evaluate, probe, checkpoint and read the loss
  * `counters`      a run's running totals and the FLOPs of each step
  * `metrics`       metrics.csv, one row per step
  * `evaluation`    validation loss and the divergence check
  * `checkpoint`    ckpt.pt: save, load, the resume state
  * `run_dir`       the run folder: its files, the checks before writing, the summary
  * `run_lock`      one writer per run folder
  * `preflight`     device, memory and corpus checks
  * `probes`        growth statistics, the jolt after growth, copy symmetry in the loop
  * `branch_stats`  the statistics of a source model at a growth step
  * `symmetry`      how far copied blocks have separated
  * `distributed`   one process or DDP under torchrun, compilation, device helpers
  * `launch`        several CPU processes on one machine without torchrun
  * `provenance`    code version, libraries, machine, seed and time of a run
  * `freshness`     whether today's code still reproduces a committed result

Imports `progtheory.theory`, `progtheory.config`, `progtheory.core`, `progtheory.data` and
the growth layout (`progtheory.theory.growth_layout`); nothing of sweeps, analysis, the report or the command
line.  This `__init__` imports nothing, so `run_lock`, `provenance` and `freshness` load without
torch.  `progtheory.train` itself names the function `loop.train` (see `progtheory`): import
these modules by their full path, e.g. ``from progtheory.train.metrics import read_metrics``.
"""
