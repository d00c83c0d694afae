"""The training loop: one frozen config in, a run directory of tidy results out.

`train(cfg, out_dir)` validates everything before writing anything (`preflight`,
`run_dir.check_run_dir`), then trains in `_steps`, which reads like a minimal GPT trainer:
batch, forward, backward, step, count, log.  The rest are named calls around it: growth and
the probes (`probes`), when to read, evaluate and checkpoint (`timetable`), the metrics rows
(`metrics`), evaluation and divergence (`evaluation`), checkpoints (`checkpoint`), several
processes and compilation (`distributed`).  What the run folder holds: `run_dir`.

Status: "completed", "interrupted" (stopped early; resume it), or "diverged": the training
loss or a validation loss is not finite, or the validation loss stays far above a uniform
guess (`evaluation`).  A diverged run stops there: its rows, counters and summary end at that
step, and no checkpoint is written after it.

Resume: a resumed run reproduces the uninterrupted rows exactly on CPU (`checkpoint`); the
rows and symmetry lines after the checkpoint step are dropped and written again.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from progtheory import config as C
from progtheory.config import ConfigError, TrainConfig
from progtheory.core.optim import set_lr
from progtheory.theory import compute
from progtheory.theory.schedules import schedule_from_config
from progtheory.train import distributed, provenance, run_dir, run_lock
from progtheory.train.checkpoint import initial_state, save_checkpoint
from progtheory.train.counters import Counters, FlopCounter, clock, count_step
from progtheory.train.distributed import to_device
from progtheory.train.evaluation import Validation
from progtheory.train.metrics import METRICS, MetricsRows, check_metrics
from progtheory.train.preflight import check_memory, load_data, resolve_device
from progtheory.train.probes import Probes
from progtheory.train.timetable import Timetable, timetable


@dataclass
class _Run:
    """What a run's loop works with besides the model, its optimizer and the counters."""

    cfg: TrainConfig
    out: Path                  # the run folder; a private scratch folder on other processes
    device: str
    group: distributed.Group
    data: object               # the prepared corpus (`progtheory.data.prepare_data`)
    run_id: str
    quiet: bool
    autocast: object           # the forward passes' context factory (`distributed.autocast`)


def train(cfg: TrainConfig, out_dir, *, resume: bool = False, overwrite: bool = False,
          quiet: bool = False, stop_after: int | None = None) -> dict:
    """Train `cfg` into `out_dir` and return the run summary (also saved as summary.json).

    One process writes a run directory: `train` holds its lock (`progtheory.train.run_lock`)
    from before its checks to the end, and a second writer, `overwrite` included, is refused
    with `run_lock.RunLocked`.  Nothing but the lock is written until the config, the device,
    the corpus and the run directory have been checked; an existing run directory is refused
    unless `resume` (continue from its last checkpoint, or from step 0 if it has none; a
    finished run is returned as is) or `overwrite` (its run files are deleted; other files
    are left alone).  `stop_after` stops after that many steps (counted from step 0) without
    a final checkpoint, which simulates an interruption; the summary then says status
    "interrupted"."""
    C.validate(cfg)
    if stop_after is not None and not (isinstance(stop_after, int) and not isinstance(stop_after, bool)
                                       and stop_after >= 0):
        raise ConfigError(f"stop_after={stop_after!r} must be an integer >= 0 (or None to run to the end)")
    if cfg.growth is not None:
        from progtheory.core import growth

        try:
            growth.check_plan(cfg)
        except ValueError as e:
            raise ConfigError(str(e)) from e
    if not isinstance(out_dir, (str, os.PathLike)) or str(out_dir) == "":
        raise ConfigError(f"out_dir={out_dir!r} must be a folder path, e.g. runs/NAME")
    out = Path(out_dir)
    group = distributed.join(cfg)  # one process, or this one's place under torchrun
    device = group.place(resolve_device(cfg.device))
    run_dir.check_out_dir(out)
    with run_lock.acquire(out) if group.is_main else contextlib.nullcontext():
        return _start(cfg, out, group, device, resume, overwrite, quiet, stop_after)


def _start(cfg: TrainConfig, out: Path, group: distributed.Group, device: str, resume: bool, overwrite: bool,
           quiet: bool, stop_after: int | None) -> dict:
    """`train` from the run-directory check on, with the folder's lock held (by the first
    process; under torchrun the others only read it)."""
    mode = run_dir.check_run_dir(out, cfg, resume, overwrite)
    if mode == "done":
        return json.loads((out / "summary.json").read_text())
    check_memory(cfg, device)
    with group.main_first():  # the first process builds the token cache, the others read it
        data = load_data(cfg, quiet)
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    random.seed(cfg.seed)
    ckpt = out / run_dir.CKPT
    model, optimizer, counters = initial_state(cfg, device, ckpt if mode == "resume" and ckpt.is_file() else None)
    if mode == "resume":
        check_metrics(out / METRICS, counters.step)

    # -- nothing but the lock was written above this line
    group.barrier()  # every process has read the run folder before the first one writes it
    if not group.is_main:
        out = group.scratch()  # only the first process writes the run folder
    run_dir.prepare(out, cfg, C.run_id(cfg), mode, counters.step, device)
    run = _Run(cfg=cfg, out=out, device=device, group=group, data=data, run_id=C.run_id(cfg),
               quiet=quiet or not group.is_main, autocast=distributed.autocast(device))
    return _loop(run, model, optimizer, counters, timetable(cfg, device, stop_after, main=group.is_main))


def _loop(run: _Run, model, optimizer, c: Counters, when: Timetable) -> dict:
    """Run the steps between opening the metrics rows and writing the summary.  On
    KeyboardInterrupt (the command line turns SIGTERM into one) the rows of every counted
    step and a summary are written before the interrupt goes on."""
    cfg = run.cfg
    val = Validation(cfg, run.data, run.device, run.autocast)
    probes = Probes(run.out, cfg, val.batches[0], when.probes, run.device, c)
    rows = MetricsRows(run.out / METRICS, c.step, run.run_id, cfg.batch_size * cfg.model.block_size)
    bar = _Progress(cfg, c, run.run_id, run.quiet)
    status, reason = "interrupted", None
    try:
        status, reason = _steps(run, model, optimizer, c, when, val, probes, rows, bar)
        rows.flush()  # the rows up to a non-finite loss
    except KeyboardInterrupt:
        reason = rows.read(c) or reason  # a non-finite loss among the unread steps: the run diverged
        rows.flush()  # every counted step's row is in metrics.csv before the summary is written
        _finish(run, model, c, "diverged" if reason else "interrupted", reason)
        raise
    finally:
        bar.close()
        rows.close()
    return _finish(run, model, c, status, reason)


def _steps(run: _Run, model, optimizer, c: Counters, when: Timetable, val: Validation, probes: Probes,
           rows: MetricsRows, bar: _Progress) -> tuple[str, str | None]:
    """Train from step `c.step` to the end of the run; return (status, diverged_reason)."""
    from progtheory.data import get_batch

    cfg, B, T = run.cfg, run.cfg.batch_size, run.cfg.model.block_size
    lr_at, flops = schedule_from_config(cfg.schedule, cfg.steps), FlopCounter(cfg.model)
    forward = run.group.forward(model, cfg.compile)  # DDP with several processes, compiled if asked
    model.train()
    while c.step < cfg.steps:
        if when.stops(c.step):
            return "interrupted", None
        t, start = c.step, clock()
        batch = get_batch(run.data.train, B, T, seed=cfg.seed, step=t)
        if t in when.stages:  # grow, logging the growth statistics, and wrap the grown model anew
            optimizer = probes.grow(model, optimizer, t, batch, when.stages[t])
            forward = run.group.forward(model, cfg.compile)
        start = probes.copy_symmetry(model, t, start)  # the state before this update; its time is evaluation's
        lr = cfg.lr * float(lr_at(t))
        set_lr(optimizer, lr, step=t)
        x, y = run.group.shard(*batch)
        x, y = to_device(x, run.device), to_device(y, run.device)
        with run.autocast():
            _, loss = forward(x, y)
        train_loss = run.group.mean(loss.detach())  # stays on the device until the next read
        if when.per_step:
            train_loss = train_loss.item()
        if not when.per_step or math.isfinite(train_loss):  # deferred: a non-finite loss stops the run at the read
            loss.backward()
            if cfg.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        read = when.reads(t)
        if read:  # the steps' time since the last read includes the device's
            distributed.wait_for_device(run.device)
        count_step(c, model.depth, flops, B, T, start)
        rows.add(t, model.depth, lr, train_loss, c)
        bar.update()
        if not read:  # jolt, evaluation and checkpoint steps are all read steps
            continue
        reason = rows.read(c)  # the losses since the last read; the counters set back on a non-finite one
        if reason:
            return "diverged", reason
        probes.jolt(model, lr, last=c.step == cfg.steps)
        if t in when.eval_at:
            rows.set_val_loss(val.record(model, c, t))
        rows.flush()
        bar.show(c)
        reason = val.diverged(c, t)
        if reason:
            return "diverged", reason
        if when.checkpoints(c.step):
            save_checkpoint(run.out / run_dir.CKPT, model, optimizer, c, run.device, run.run_id)
    probes.copy_symmetry(model, c.step, clock())  # the final model
    return "completed", None


class _Progress:
    """The progress bar: steps done, the latest losses and the training throughput."""

    def __init__(self, cfg: TrainConfig, c: Counters, run_id: str, quiet: bool):
        from tqdm import tqdm

        self._bar = tqdm(total=cfg.steps, initial=c.step, disable=quiet, unit="step", desc=run_id,
                         dynamic_ncols=True)
        self._tokens, self._start = cfg.batch_size * cfg.model.block_size, (c.step, c.wall_time)

    def update(self) -> None:
        self._bar.update(1)

    def show(self, c: Counters) -> None:
        steps, wall = c.step - self._start[0], c.wall_time - self._start[1]
        self._bar.set_postfix(loss=f"{c.last_train:.3f}", val="-" if c.last_val is None else f"{c.last_val:.3f}",
                              tok_s=f"{steps * self._tokens / max(wall, 1e-9):.0f}")

    def close(self) -> None:
        self._bar.close()


def _finish(run: _Run, model, c: Counters, status: str, reason: str | None = None) -> dict:
    """Write the run's summary (`run_dir.SUMMARY_KEYS`) and return it."""
    cfg = run.cfg
    summary = {
        "run_id": run.run_id, "name": cfg.name, "status": status,
        "steps": cfg.steps, "steps_done": c.step, "tokens": c.step * cfg.batch_size * cfg.model.block_size,
        "depth": model.depth, "params": int(compute.param_count(cfg.model, depth=model.depth)),
        "final_val_loss": c.last_val, "final_val_step": c.last_val_step,
        "best_val_loss": None if math.isinf(c.best_val) else c.best_val,
        "final_train_loss": c.last_train if c.last_train is None or math.isfinite(c.last_train) else None,
        "unigram_xent_val": run.data.meta.get("unigram_xent_val"),
        "flops": c.flops, "flops_6n": c.flops_6n,
        "wall_time": c.wall_time, "cpu_time": c.cpu_time, "eval_time": c.eval_time,
        "device": run.device, "end_time": provenance.now_iso(), "diverged_reason": reason,
    }
    run_dir.write_summary(run.out, summary)
    return summary
