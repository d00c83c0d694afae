"""Throughput benchmark (see `progtheory.bench.timing`)."""

from progtheory.bench.timing import (  # noqa: F401
    OPS_TARGET, RATIO_TARGET, BenchCase, LoopMuonNSGD, ReferenceGPT, _optimizer, _recipe_run, bench_model,
    bench_optimizer, default_cases, matmul_peak, optimizer_cases, optimizer_ops, predict_lr_speed, quick_cases,
    run, speed_interval,
)
