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

On CUDA every model is measured eager and compiled (`torch.compile`), and its MFU is given
against the measured bf16 matmul peak and against the dense bf16 peak of the GPU's datasheet
(`DATASHEET_BF16_TFLOPS`, by the name torch reports; n/a for a GPU not in the table).  A
progressive model grows mid-benchmark (the default model from 1 to 4 blocks), eager and
compiled, timed after the growth, with the growth and the recompile after it counted apart
(`bench_progressive`).  On a CPU the benchmark is the table of fixed-depth models, eager
(or compiled, when asked).
Every row is printed and written to the result files as soon as it is measured
(`BenchWriter`), so a benchmark cut short keeps what it finished.

Modules: `reference` (`ReferenceGPT`), `timing` (cases, matmul peak, model steps), `peaks`
(datasheet peaks, MFU; torch-free), `progressive` (the growing model), `optimizer` (the
optimizer step), `table` (the printed tables), `output` (the result files), `suite` (`run`,
the whole benchmark).  The benchmark sits on top of the package: it may import the model,
the growth, the optimizers, presets and theory; nothing but the command line imports it.
"""

from progtheory.bench.optimizer import (
    OPS_TARGET, RATIO_TARGET, LoopMuonNSGD, _optimizer, _recipe_run, bench_optimizer, optimizer_cases, optimizer_ops,
)
from progtheory.bench.output import CSV_COLUMNS, BenchWriter
from progtheory.bench.peaks import DATASHEET_BF16_TFLOPS, datasheet_gpu, datasheet_peak_gflops, mfu, with_mfu
from progtheory.bench.progressive import (
    bench_progressive, default_progressive_cases, growth_accounting, progressive_cases,
)
from progtheory.bench.reference import ReferenceGPT
from progtheory.bench.suite import compile_modes, run
from progtheory.bench.timing import (
    BenchCase, bench_model, default_cases, matmul_peak, predict_lr_speed, quick_cases, speed_interval,
)

__all__ = [
    "CSV_COLUMNS", "DATASHEET_BF16_TFLOPS", "OPS_TARGET", "RATIO_TARGET", "BenchCase", "BenchWriter", "LoopMuonNSGD",
    "ReferenceGPT", "bench_model", "bench_optimizer", "bench_progressive", "compile_modes", "datasheet_gpu",
    "datasheet_peak_gflops", "default_cases", "default_progressive_cases", "growth_accounting", "matmul_peak",
    "mfu", "optimizer_cases", "optimizer_ops", "predict_lr_speed", "progressive_cases", "quick_cases", "run",
    "speed_interval", "with_mfu",
]  # and _optimizer, _recipe_run, which tests call
