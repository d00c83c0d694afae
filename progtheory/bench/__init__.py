"""Throughput benchmark: matmul peak, then training steps of a few model sizes, each against
a plain reference GPT-2 of the same shape.

For each model: tokens/s over timed AdamW training steps (after warmup steps), achieved
GFLOP/s = tokens/s * `flops_per_token(cfg, convention="exact")` (every matmul incl.
attention scores and the head; `progtheory.theory.compute`), its ratio to the measured
matmul peak on the same machine (model FLOP utilisation, MFU), and its speed relative to
`ReferenceGPT`, timed step by step in the same loop.  Timings vary by +-25% between runs on
a shared VM, so nothing here asserts on them.

Then the optimizer: the recipe's Muon-NSGD step (`progtheory.core.optim.MuonNSGD`, batched) against
AdamW on the same model, as a ratio of median training-step times (target <= 1.15), with the
aten ops one Muon-NSGD step dispatches (torch.profiler; target <= 200 at d128 L4, where
forward and backward dispatch a few hundred), both also for `LoopMuonNSGD`, the same
algorithm one parameter at a time.

Modules: `reference` (`ReferenceGPT`), `timing` (cases, matmul peak, model steps),
`optimizer` (the optimizer step), `suite` (`run`, the whole benchmark).  The benchmark sits
on top of the package: it may import the model, the optimizers, presets and theory; nothing
but the command line imports it.
"""

from progtheory.bench.optimizer import (
    OPS_TARGET, RATIO_TARGET, LoopMuonNSGD, _optimizer, _recipe_run, bench_optimizer, optimizer_cases, optimizer_ops,
)
from progtheory.bench.reference import ReferenceGPT
from progtheory.bench.suite import run
from progtheory.bench.timing import (
    BenchCase, bench_model, default_cases, matmul_peak, predict_lr_speed, quick_cases, speed_interval,
)

__all__ = [
    "OPS_TARGET", "RATIO_TARGET", "BenchCase", "LoopMuonNSGD", "ReferenceGPT", "bench_model", "bench_optimizer",
    "default_cases", "matmul_peak", "optimizer_cases", "optimizer_ops", "predict_lr_speed", "quick_cases", "run",
    "speed_interval",
]  # and _optimizer, _recipe_run, which tests call
