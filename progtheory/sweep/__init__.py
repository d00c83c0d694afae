"""Experiments as declarations, and a resumable sweep runner.

An experiment file (``experiments/<name>.py``) defines ``EXPERIMENT = Experiment(...)``:
its question, the predictions (docs/PREDICTIONS.md) and theory functions it tests, and a
function ``runs(smoke) -> list[Run]`` that declares the grid.  ``progtheory sweep <name>``
trains every run not already finished, in order, into ``runs/<run_id>/`` (checkpoints, not
committed; a run shared by two experiments, such as a fixed-size baseline, is trained once)
and keeps the tidy tables
``experiments/results/<name>/{runs,metrics}.csv`` (committed) up to date after each run.

Arms: an experiment that asks one question under several recipes declares ``arms``, a map from
each value of its ``axis`` tag (``recipe``) to a results folder.  Every run carries the tag,
``--only recipe=<arm>`` picks one arm, and each arm's tables live in its own folder
(``experiments/results/<folder>/``), without the tag column.

Resumability: a run whose summary says completed or diverged is skipped; a run with a
checkpoint is resumed; so killing a sweep at any moment loses at most the run in flight
since its last checkpoint.  ``--shard i/n`` runs every n-th run starting at i.

Probes: an experiment with ``probe_steps = k`` stops each run k updates after its last growth
step, on purpose (a measurement of the growth step, such as the jolt of the first updates,
not a finished run).  Such a run is recorded with status ``probed`` and is never taken as
finished by another experiment sharing its run id.

Concurrency: sweeps on one machine may share a runs folder (two shards, or two experiments
with a common baseline).  Before training a run a sweep takes the run folder's lock
(`progtheory.train.run_lock`, ``<runs>/<run_id>/.lock``, the one `train` holds); a run locked by a
live process is skipped (and trained by it).  The OS drops the lock of a dead process, so a
killed sweep's run is taken over by the next one.

Modules:
  declaration  `Run`, `Experiment`, `load_experiment`: an experiment file's ``EXPERIMENT``
  runner       `plan`, `describe`, `run_sweep`: the runs of a shard, their status, the runner
  tables       `collect` and the tidy tables it writes

Imports `progtheory.config` and the run lock of `progtheory.train` (the trainer itself only when
a run is trained); nothing of analysis, the report or the command line.
"""

from progtheory.sweep.declaration import Experiment, Run, arm, experiments_dir, load_experiment, parts, stop_step
from progtheory.sweep.runner import check_root, describe, parse_only, parse_shard, plan, run_sweep
from progtheory.sweep.tables import DONE, PROBED, RECORD_FILES, _read_csv, _run_records, _short, collect

__all__ = ["DONE", "PROBED", "RECORD_FILES", "Experiment", "Run", "arm", "check_root", "collect", "describe",
           "experiments_dir", "load_experiment", "parse_only", "parse_shard", "parts", "plan", "run_sweep", "stop_step"]
