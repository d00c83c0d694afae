"""A run's running totals (`Counters`: saved in every checkpoint, copied beside every metrics
row) and the FLOP and time accounting of one training step (`count_step`)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from progtheory.theory import compute


@dataclass
class Counters:
    """A run's totals after the steps it has counted (times in seconds)."""

    step: int = 0              # next step to run
    flops: float = 0.0
    flops_6n: float = 0.0
    wall_time: float = 0.0     # training-step seconds (eval and checkpoint excluded)
    cpu_time: float = 0.0      # CPU seconds of this process (all threads) in training steps
    bad_evals: int = 0         # consecutive evaluations above `evaluation.divergence_bound`
    eval_time: float = 0.0
    best_val: float = math.inf
    last_val: float | None = None
    last_val_step: int | None = None
    last_train: float | None = None


class FlopCounter:
    """Per-token FLOPs at each depth (exact convention and 6N), cached."""

    def __init__(self, mcfg):
        self._mcfg, self._cache = mcfg, {}

    def per_token(self, depth: int) -> tuple[float, float]:
        if depth not in self._cache:
            exact = float(compute.flops_per_token(self._mcfg, depth=depth, convention="exact"))
            six_n = float(compute.flops_per_token(self._mcfg, depth=depth, convention="6N"))
            self._cache[depth] = (exact, six_n)
        return self._cache[depth]


def clock() -> tuple[float, float]:
    """(wall, CPU) seconds now: the start of a step, for `count_step`."""
    return time.perf_counter(), time.process_time()


def count_step(c: Counters, depth: int, flops: FlopCounter, B: int, T: int, start: tuple[float, float]) -> None:
    """Count the step `c.step` as done: its wall and CPU seconds since `start` (`clock`) and its
    FLOPs at `depth` for a batch of B sequences of T tokens."""
    c.wall_time += time.perf_counter() - start[0]
    c.cpu_time += time.process_time() - start[1]
    exact, six_n = flops.per_token(depth)
    c.flops += exact * B * T
    c.flops_6n += six_n * B * T
    c.step += 1
