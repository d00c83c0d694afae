"""Which steps of a run grow, evaluate, probe, checkpoint, stop and read the training loss.

Evaluation happens every `eval_every` steps, at the last step, and at the step before each
growth stage (so the source model's loss at tau is always recorded).

Reading the loss: on CPU the loop reads each step's training loss before its update (a
non-finite loss skips it) and writes its row at once.  On CUDA the losses stay on the device
and are read in one transfer after every `CUDA_SYNC_EVERY` steps and after each evaluation,
checkpoint, copy-symmetry probe, jolt measurement and stop (`read_steps`; `SYNC_EVERY` sets
the interval), so the host never waits for the device in between.  A non-finite loss then
ends the run at the first read after it, with the rows and counters it had at that step, as
on CPU; the updates the device made after it are discarded with the run (no checkpoint,
no evaluation).  The wall_time of a row that is not read is the host's time: the device may
still be working on its step, and the next read adds that time, so each read row's
wall_time is exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from progtheory import config as C
from progtheory.config import TrainConfig
from progtheory.train import symmetry
from progtheory.train.checkpoint import checkpoint_interval
from progtheory.train.probes import JOLT_STEPS

# Steps between the host's reads of the training loss (`read_steps`).  1: read before each
# update, which a non-finite loss skips (the CPU default).  k > 1: the losses stay on the device
# and are read every k steps and at each evaluation, checkpoint and stop, so the host queues
# steps without waiting for the device (the CUDA default, CUDA_SYNC_EVERY).  None picks by
# device.  Not a config field: it changes when results are read, not what they are.
SYNC_EVERY: int | None = None
CUDA_SYNC_EVERY = 100


def sync_every(device: str) -> int:
    """`SYNC_EVERY`, or its default on `device` when it is None."""
    every = SYNC_EVERY if SYNC_EVERY is not None else CUDA_SYNC_EVERY if device.startswith("cuda") else 1
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"timetable.SYNC_EVERY={every!r} must be an integer >= 1, or None for the device's default")
    return every


def eval_steps(cfg: TrainConfig) -> set[int]:
    """The steps after whose update the model is evaluated."""
    steps = {t for t in range(cfg.steps) if (t + 1) % cfg.eval_every == 0}
    steps.add(cfg.steps - 1)
    steps.update(s - 1 for s, _ in C.resolve_stages(cfg))
    return steps


def read_steps(cfg: TrainConfig, every: int, eval_at: set[int], probes: dict, stop_after: int | None) -> set[int]:
    """The steps after whose update a loop that keeps its losses on the device reads them:
    every `every`-th step; each evaluated step, so a non-finite loss is caught before a
    model is evaluated or grown from it (the step before each growth step is evaluated);
    each step before a checkpoint, a copy-symmetry probe or `stop_after`; and the JOLT_STEPS
    steps from each growth step on, after whose updates the jolt is measured."""
    ckpt_every = checkpoint_interval(cfg)
    steps = {t for t in range(cfg.steps) if (t + 1) % every == 0 or (t + 1) % ckpt_every == 0}
    steps |= eval_at | {s - 1 for s in probes} | {cfg.steps - 1}
    steps |= {tau + i for tau, _ in C.resolve_stages(cfg) for i in range(JOLT_STEPS)}
    if stop_after is not None:
        steps.add(stop_after - 1)
    return steps


@dataclass(frozen=True)
class Timetable:
    """The step sets of one run (`timetable` builds it)."""

    steps: int                      # the run's length
    stages: dict[int, int]          # growth step -> depth after it
    eval_at: set[int]               # `eval_steps`
    probes: dict                    # copy-symmetry probe plan of this process (`symmetry.probe_plan`)
    per_step: bool                  # read each loss before its update; else only at `read_at`
    read_at: set[int]               # `read_steps`, the same in every process
    ckpt_every: int                 # `checkpoint_interval`
    stop_after: int | None          # stop (status "interrupted") once this many steps are done

    def stops(self, done: int) -> bool:
        """Whether the run stops early, `done` steps counted."""
        return self.stop_after is not None and done >= self.stop_after

    def reads(self, step: int) -> bool:
        """Whether the loop reads the training losses after the update of `step`."""
        return self.per_step or step in self.read_at

    def checkpoints(self, done: int) -> bool:
        """Whether a checkpoint is written once `done` steps are counted."""
        return done % self.ckpt_every == 0 or done == self.steps


def timetable(cfg: TrainConfig, device: str, stop_after: int | None, main: bool = True) -> Timetable:
    """The timetable of `cfg` on `device`; only the `main` process probes copy symmetry."""
    eval_at = eval_steps(cfg)
    plan = symmetry.probe_plan(cfg, {t + 1 for t in eval_at})
    every = sync_every(device)
    return Timetable(steps=cfg.steps, stages=dict(C.resolve_stages(cfg)), eval_at=eval_at,
                     probes=plan if main else {}, per_step=every == 1,
                     read_at=read_steps(cfg, every, eval_at, plan, stop_after),
                     ckpt_every=checkpoint_interval(cfg), stop_after=stop_after)
