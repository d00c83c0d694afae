"""metrics.csv: one row per training step, written when the step's loss is read.

Columns (row `step` = t is written after the update of step t, 0-based):
  run_id, step, tokens (cumulative, incl. step t), flops (cumulative fwd+bwd matmul FLOPs,
  exact convention incl. attention and head, at the depth used by each step), flops_6n
  (cumulative, the 6N convention with N = all parameters at that depth; both conventions
  are defined in `progtheory.theory.compute`), depth, lr (the scheduled base
  LR cfg.lr * lr_factor(t), before per-group multipliers), train_loss (the loss of step t's
  batch, before its update), val_loss (mean over the fixed validation batches after step t's
  update; empty when not evaluated), wall_time (seconds spent in training steps since the
  run's first start, evaluation and checkpointing excluded).

Rows after the checkpoint step are dropped on resume, so no step appears twice.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

import torch

from progtheory.config import ConfigError
from progtheory.train.counters import Counters
from progtheory.train.run_dir import tmp_path

METRIC_COLUMNS = ("run_id", "step", "tokens", "flops", "flops_6n", "depth", "lr",
                  "train_loss", "val_loss", "wall_time")
METRICS = "metrics.csv"


def _open_metrics(path: Path, keep_before: int):
    """Open metrics.csv for appending, first dropping rows with step >= `keep_before`."""
    rows = []
    if keep_before > 0 and path.is_file():
        with open(path, newline="") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) < keep_before]
    tmp = tmp_path(path)
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=METRIC_COLUMNS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, path)
    return open(path, "a", newline="")


class MetricsRows:
    """metrics.csv and the rows of the steps not yet written to it.

    A row's training loss may still be a device tensor: `read` fetches all of them in one
    transfer, so a CUDA loop waits for the device only there.  Each row keeps a copy of the
    counters as they stood after its step, so that a run found to have diverged a few steps
    back ends with the rows and totals it had at that step.  `flush` writes the rows already
    read with one write call, so an interruption (a signal raises between Python calls)
    leaves none of them written twice or in part."""

    def __init__(self, path: Path, keep_before: int, run_id: str, tokens_per_step: int):
        self._file = _open_metrics(path, keep_before)
        self._rows: list[tuple[dict, dict]] = []  # (row, counters after its step)
        self._run_id, self._tokens_per_step = run_id, tokens_per_step

    def add(self, step: int, depth: int, lr: float, train_loss, c: Counters) -> None:
        """Buffer the row of `step`, which `c` has just counted (train_loss a float or a device scalar)."""
        row = {"run_id": self._run_id, "step": step, "tokens": (step + 1) * self._tokens_per_step,
               "flops": c.flops, "flops_6n": c.flops_6n, "depth": depth, "lr": lr, "train_loss": train_loss,
               "val_loss": "", "wall_time": c.wall_time}
        self._rows.append((row, vars(c).copy()))

    def set_val_loss(self, value: float) -> None:
        """Record the validation loss of the latest step."""
        self._rows[-1][0]["val_loss"] = value

    def read(self, c: Counters) -> str | None:
        """Read the buffered training losses onto the host and set `c.last_train` to the latest.
        If one is not finite: drop the rows after the first such step, set `c` back to its
        counters after that step, and return the diverged_reason; else None."""
        unread = [row for row, _ in self._rows if isinstance(row["train_loss"], torch.Tensor)]
        if unread:
            values = torch.stack([row["train_loss"] for row in unread]).tolist()  # the one host sync
            for row, value in zip(unread, values):
                row["train_loss"] = value
        for i, (row, counters) in enumerate(self._rows):
            if not math.isfinite(row["train_loss"]):
                del self._rows[i + 1:]
                vars(c).update(counters)
                c.last_train = row["train_loss"]
                return f"training loss {row['train_loss']} at step {row['step']} is not finite"
        if self._rows:
            c.last_train = self._rows[-1][0]["train_loss"]
        return None

    def flush(self) -> None:
        """Append the rows read so far to metrics.csv and flush the file."""
        n = next((i for i, (row, _) in enumerate(self._rows) if isinstance(row["train_loss"], torch.Tensor)),
                 len(self._rows))
        text = io.StringIO()
        csv.DictWriter(text, fieldnames=METRIC_COLUMNS).writerows(row for row, _ in self._rows[:n])
        try:
            self._file.write(text.getvalue())  # one call: a signal is handled before or after it
        finally:
            del self._rows[:n]
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def read_metrics(run_dir) -> list[dict]:
    """Rows of a run's metrics.csv with numbers parsed (val_loss None when not evaluated)."""
    out = []
    with open(Path(run_dir) / METRICS, newline="") as f:
        for r in csv.DictReader(f):
            row = {"run_id": r["run_id"]}
            for k in METRIC_COLUMNS[1:]:
                if r[k] is None:
                    raise ValueError(f"row {len(out) + 1} has no {k!r} value (a truncated row?)")
                if r[k] == "":
                    row[k] = None
                elif k in ("step", "tokens", "depth"):
                    row[k] = int(r[k])
                else:
                    row[k] = float(r[k])
            out.append(row)
    return out


def check_metrics(path: Path, upto: int) -> None:
    """Refuse a metrics.csv that a resume from step `upto` cannot continue: a wrong header, a
    row that does not parse, or rows that are not the steps 0, 1, ..., upto - 1 in order."""
    fix = "pass --overwrite to start the run again (the rows before the checkpoint cannot be restored)"
    if upto == 0:
        return  # a restart from step 0 keeps no rows
    if not path.is_file():
        raise ConfigError(f"cannot resume: {path} is missing but the checkpoint is at step {upto}; {fix}")
    try:
        rows = read_metrics(path.parent)
        with open(path, newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"cannot resume: {path} is corrupt ({type(e).__name__}: {str(e)[:200]}); {fix}") from None
    if tuple(header) != METRIC_COLUMNS:
        raise ConfigError(f"cannot resume: {path} has columns {header}, expected {list(METRIC_COLUMNS)}; {fix}")
    steps = [r["step"] for r in rows if r["step"] < upto]
    if steps != list(range(upto)):
        raise ConfigError(f"cannot resume: {path} does not hold the steps 0..{upto - 1} before the "
                          f"checkpoint ({len(steps)} of {upto} rows); {fix}")
