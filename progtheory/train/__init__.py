"""Training a config into a run folder, and what a run measures and writes on the way.

  * `loop`          `train(cfg, out_dir)`: the checks, the step loop and the run folder
  * `run_lock`      one writer per run folder
  * `branch_stats`  the statistics of a source model at a growth step
  * `symmetry`      how far copied blocks have separated
  * `distributed`   one process or DDP under torchrun, and compilation
  * `launch`        several CPU processes on one machine without torchrun
  * `provenance`    code version, libraries, machine, seed and time of a run
  * `freshness`     whether today's code still reproduces a committed result

Imports `progtheory.theory`, `progtheory.config`, `progtheory.core`, `progtheory.data` and
the growth layout (`progtheory.layout`); nothing of sweeps, analysis, the report or the command
line.  This `__init__` imports nothing, so `run_lock`, `provenance` and `freshness` load without
torch.  `progtheory.train` itself names the function `loop.train` (see `progtheory`): import
these modules by their full path, e.g. ``from progtheory.train.loop import read_metrics``.
"""
