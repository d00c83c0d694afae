"""Measurements a run takes besides its losses, none of which changes what it trains.

  * ``growth_stats_<step>.json``  at each growth step, the source's branch statistics and the
    new parameters' update statistics (`grow_logged`), then the jolt: the loss on the
    statistics batch after each of the first JOLT_STEPS updates (`log_jolt`).
  * ``symmetry.jsonl``  for a run whose growth copies blocks, one line per probed state: how
    far the copies have separated (`progtheory.train.symmetry.copy_symmetry` on the first
    validation batch), at the states `symmetry.probe_plan` lists: tau + 0, 1, 2, 5, 10, 20,
    50, ... updates after each copying growth step, every evaluated state after it, and the
    last state.  Line ``step`` = s is the model after s updates (s = tau: just grown); it
    changes nothing training computes (no random numbers, no gradients, its time counted as
    evaluation).  On resume the lines from the checkpoint's state on are dropped (the resumed
    run writes them again).

The statistics batch is the first validation batch.  `Probes` holds what the loop needs to
call them at the right steps.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from progtheory.train import symmetry
from progtheory.train.counters import Counters
from progtheory.train.distributed import to_device
from progtheory.train.evaluation import batch_loss
from progtheory.train.run_dir import write_json

JOLT_STEPS = 10  # updates after a growth step whose loss on the statistics batch is logged


def growth_generator(cfg, step: int, device: str) -> torch.Generator:
    """New-block init at `step` draws from a generator seeded by (seed, step), so a resumed
    run grows exactly as the uninterrupted one did."""
    g = torch.Generator(device=device)
    g.manual_seed(cfg.seed * 1_000_003 + step)
    return g


NOISE_DRAWS = 8  # noisy copies averaged over to predict a copy_noise / copy_mix growth (`_noisy_draws`)


def _noisy_draws(model, cfg, step: int):
    """`growth.noisy_copy_draws` for a ``copy_noise`` / ``copy_mix`` growth of a one-block
    source at `step` (NOISE_DRAWS draws from a private generator), else None."""
    from progtheory.config import NOISY_COPIES, resolve_stages
    from progtheory.core import growth
    from progtheory.theory.growth_layout import _old_block_policy

    g = cfg.growth
    if g.init not in NOISY_COPIES or g.init_noise <= 0 or model.depth != 1:
        return None
    return growth.noisy_copy_draws(model, dict(resolve_stages(cfg))[step], g.init, g.init_noise,
                                   old_blocks=_old_block_policy(cfg), init_scale=g.init_scale,
                                   draws=NOISE_DRAWS, seed=cfg.seed)


def grow_logged(out: Path, model, optimizer, cfg, step: int, batch, device, train_batch=None):
    """Grow `model` at `step` and write ``growth_stats_<step>.json``: the source's branch
    statistics on the first validation batch (`progtheory.train.branch_stats.branch_statistics`,
    its blocks as a copy at the plan's ``init_scale`` would compute, and for noisy copies the
    spread of NOISE_DRAWS private draws; no random numbers drawn from the run's generators,
    the model left as it was), from which
    `theory.expansion.expansion_loss_change` predicts the loss change of each init at tau;
    ``loss_grown``, the grown model's mean cross-entropy on the same batch before any update
    (so ``loss_grown - loss`` is the measured change); and ``update``, the slope and curvature
    of the loss along the run's optimizer's first step of the new parameters from fresh state,
    per unit scheduled LR (`branch_stats.update_statistics` with each group's ``lr_mult``), from
    which `theory.jolt.jolt_curve` predicts the jolt of the first updates (`log_jolt` adds the
    measured one); with `train_batch` (the global batch of the first update after growing)
    also ``update_train``: the same statistics along the direction that batch's gradient
    gives, the step the optimizer actually takes.  Returns the new optimizer."""
    from progtheory.core import growth
    from progtheory.train.branch_stats import branch_statistics, update_statistics

    stats = {"step": step, **branch_statistics(model, *batch, copy_scale=cfg.growth.init_scale,
                                               noisy=_noisy_draws(model, cfg, step))}
    old = {id(p) for p in model.parameters()}
    optimizer = growth.grow(model, optimizer, cfg, step, generator=growth_generator(cfg, step, device))
    stats["loss_grown"] = batch_loss(model, batch)
    mult = {id(p): g["lr_mult"] for g in optimizer.param_groups for p in g["params"]}
    new = {n: mult.get(id(p), 1.0) for n, p in model.named_parameters() if id(p) not in old}
    if new:
        stats["update"] = update_statistics(model, *batch, list(new), cfg.optimizer, scales=new)
        if train_batch is not None:
            stats["update_train"] = update_statistics(model, *batch, list(new), cfg.optimizer, scales=new,
                                                      direction_batch=train_batch)
    write_json(out / f"growth_stats_{step}.json", stats)
    return optimizer


def log_jolt(out: Path, step: int, losses: list[float], lrs: list[float]) -> None:
    """Add the measured jolt to ``growth_stats_<step>.json``: ``jolt_loss`` (the loss on the
    statistics batch after each of the first updates after the growth at `step`, the whole
    model training as usual) and ``jolt_lr`` (the scheduled LR of each of those updates).
    A run resumed inside that window logs no jolt."""
    path = out / f"growth_stats_{step}.json"
    write_json(path, {**json.loads(path.read_text()), "jolt_loss": losses, "jolt_lr": lrs})


def log_symmetry(out: Path, model, step: int, probe: tuple[int, list], idx_BxT, c: Counters) -> tuple[float, float]:
    """Append the copy symmetry of `model` at state `step` to ``symmetry.jsonl``: {"step",
    "tau" (the growth step that made the copies), "updates" (step - tau), and
    `symmetry.copy_symmetry` on `idx_BxT`}.  Its time counts as evaluation; returns the
    (wall, CPU) seconds it took, for the caller to leave out of the step's time."""
    w0, p0 = time.perf_counter(), time.process_time()
    tau, groups = probe
    symmetry.append_log(out / symmetry.LOG, {"step": step, "tau": tau, "updates": step - tau,
                                             **symmetry.copy_symmetry(model, groups, idx_BxT)})
    wall = time.perf_counter() - w0
    c.eval_time += wall
    return wall, time.process_time() - p0


class Probes:
    """The probes of one run, called by the loop: `grow` at a growth step, `copy_symmetry`
    before an update (and on the final model), `jolt` after each read update.  `plan` is
    `symmetry.probe_plan`'s (empty where no symmetry is logged); `batch` the statistics batch."""

    def __init__(self, out: Path, cfg, batch, plan: dict, device: str, c: Counters):
        self._out, self._cfg, self._batch, self._plan, self._device, self._c = out, cfg, batch, plan, device, c
        self._jolt = None  # (growth step, losses, LRs) over the first JOLT_STEPS updates after a growth
        symmetry.trim_log(out / symmetry.LOG, keep_before=c.step)

    def grow(self, model, optimizer, step: int, batch, depth: int):
        """Grow `model` at `step` to `depth` with its statistics logged (`grow_logged`; `batch`
        is the step's global batch as numpy arrays); returns the new optimizer."""
        step_batch = tuple(to_device(a, self._device) for a in batch)
        optimizer = grow_logged(self._out, model, optimizer, self._cfg, step, self._batch, self._device, step_batch)
        self._jolt = (step, [], [])
        if model.depth != depth:
            raise RuntimeError(f"growth at step {step} gave depth {model.depth}, expected {depth}")
        return optimizer

    def copy_symmetry(self, model, step: int, start: tuple[float, float]) -> tuple[float, float]:
        """Log the copy symmetry of state `step` if the plan lists it; returns the step's start
        times (`counters.clock`) moved on by the probe's time, which counts as evaluation."""
        if step not in self._plan:
            return start
        wall, cpu = log_symmetry(self._out, model, step, self._plan[step], self._batch[0], self._c)
        return start[0] + wall, start[1] + cpu

    def jolt(self, model, lr: float, last: bool) -> None:
        """After an update inside a jolt window: note the loss on the statistics batch and the
        update's LR; write the window out after JOLT_STEPS updates or at the `last` step."""
        if self._jolt is None:
            return
        e0 = time.perf_counter()
        self._jolt[1].append(batch_loss(model, self._batch))
        self._jolt[2].append(lr)
        self._c.eval_time += time.perf_counter() - e0
        if len(self._jolt[1]) == JOLT_STEPS or last:
            log_jolt(self._out, *self._jolt)
            self._jolt = None
