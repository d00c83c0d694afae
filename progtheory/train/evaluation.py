"""The validation loss and the divergence check that reads it.

A run diverges when the training loss or a validation loss is not finite, or when the
validation loss exceeds ln(vocab_size) + DIVERGE_MARGIN nats (a uniform guess scores
ln(vocab_size)) at DIVERGE_EVALS consecutive evaluations or at the last one.
"""

from __future__ import annotations

import math
import time

import torch

from progtheory.config import TrainConfig
from progtheory.train.counters import Counters

DIVERGE_MARGIN = 2.0   # nats above ln(vocab_size), the loss of a uniform guess
DIVERGE_EVALS = 2      # consecutive evaluations above that bound


def divergence_bound(cfg: TrainConfig) -> float:
    """Validation loss (nats/token) above which an evaluation counts towards divergence:
    ln(vocab_size), the loss of a uniform guess, plus DIVERGE_MARGIN."""
    return math.log(cfg.model.vocab_size) + DIVERGE_MARGIN


@torch.no_grad()
def evaluate(model, batches, autocast) -> float:
    """Mean loss over fixed (x, y) tensor batches."""
    was_training = model.training
    model.eval()
    total = 0.0
    for x, y in batches:
        with autocast():
            _, loss = model(x, y)
        total += float(loss)
    model.train(was_training)
    return total / len(batches)


def batch_loss(model, batch) -> float:
    """Mean cross-entropy of `model` on one (x, y) batch in eval mode, full precision."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        _, loss = model(*batch)
    model.train(was_training)
    return float(loss)


class Validation:
    """The run's fixed validation batches (`batches[0]` is also the batch of the growth
    statistics, the jolt and the copy-symmetry probe), their evaluation and the divergence
    check.  `autocast` is the forward passes' context factory (`distributed.autocast`).
    Evaluation time is counted in `Counters.eval_time`."""

    def __init__(self, cfg: TrainConfig, data, device: str, autocast):
        from progtheory import data as D

        B, T = cfg.batch_size, cfg.model.block_size
        self.batches = [(torch.from_numpy(x).to(device), torch.from_numpy(y).to(device))
                        for x, y in D.eval_batches(data.val, B, T, cfg.eval_batches, seed=cfg.seed)]
        self.autocast, self._bound, self._steps = autocast, divergence_bound(cfg), cfg.steps

    def record(self, model, c: Counters, step: int) -> float:
        """Evaluate `model` after the update of `step`, note the loss in `c` and return it."""
        e0 = time.perf_counter()
        val_loss = evaluate(model, self.batches, self.autocast)
        c.eval_time += time.perf_counter() - e0
        c.last_val, c.last_val_step = val_loss, step
        c.best_val = min(c.best_val, val_loss)
        c.bad_evals = c.bad_evals + 1 if not val_loss <= self._bound else 0
        return val_loss

    def diverged(self, c: Counters, step: int) -> str | None:
        """The diverged_reason when the evaluations up to `step` say the run diverged, else None."""
        if not (c.bad_evals >= DIVERGE_EVALS or (c.bad_evals and c.step == self._steps)):
            return None
        bound = self._bound
        return (f"validation loss {c.last_val:.4g} at step {step} exceeds ln(vocab_size) + "
                f"{DIVERGE_MARGIN:g} = {bound:.4g} nats (a uniform guess scores "
                f"{bound - DIVERGE_MARGIN:.4g}) at {c.bad_evals} consecutive evaluation(s)")
