"""The whole benchmark as `progtheory bench` runs it: peaks, the model table, the optimizer table
and the speed of `predict_lr`, printed and returned."""

from __future__ import annotations

import torch

from progtheory.bench.optimizer import bench_optimizer, print_optimizer_rows
from progtheory.bench.timing import (
    BenchCase, bench_model, default_cases, format_interval, matmul_peak, predict_lr_speed,
)


def run(cases: list[BenchCase] | None = None, *, steps: int = 5, warmup: int = 2, device: str = "cpu",
        peak_sizes: tuple[int, ...] | None = None, compile: bool = False, predict_lr_calls: int = 20000,
        opt_cases: tuple[BenchCase, ...] | list[BenchCase] = (), print_fn=print) -> dict:
    """Measure the matmul peak and every case (core and reference interleaved); print a table;
    then the optimizer step of every `opt_cases` case (`bench_optimizer`; e.g.
    `optimizer_cases()`, as `progtheory bench` does); return peaks and rows.

    MFU (`fraction_of_peak`) is achieved GFLOP/s over the best fp32 matmul on CPU; on CUDA,
    where training runs under bf16 autocast, over the best bf16 matmul (the fp32 peak is
    printed too).  `peak_sizes` defaults to n = 1024, 2048 on CPU and 4096, 8192 on CUDA.
    `predict_lr_calls` calls of `predict_lr` are timed per variant at the end.
    """
    cases = default_cases(device) if cases is None else cases
    if peak_sizes is None:
        peak_sizes = (4096, 8192) if device.startswith("cuda") else (1024, 2048)
    peaks = {n: matmul_peak(n, device=device) for n in peak_sizes}
    peak, ref = max(peaks.values()), "fp32"
    print_fn(f"device {device}, torch threads {torch.get_num_threads()}, compile {compile}")
    for n, g in peaks.items():
        print_fn(f"fp32 matmul n={n}: {g:10.1f} GFLOP/s")
    if device.startswith("cuda"):
        bf16 = {n: matmul_peak(n, device=device, dtype=torch.bfloat16) for n in peak_sizes}
        for n, g in bf16.items():
            print_fn(f"bf16 matmul n={n}: {g:10.1f} GFLOP/s")
        peak, ref = max(bf16.values()), "bf16"
    header = (f"{'model':<16} {'params':>11} {'ms/step':>9} {'tok/s':>10} {'GFLOP/s':>9} {'MFU':>6} "
              f"{'ref ms':>9} {'vs ref':>7} {'95% interval':>16}")
    print_fn(header)
    print_fn("-" * len(header))
    rows = []
    for case in cases:
        r = bench_model(case, steps=steps, warmup=warmup, device=device, compile=compile)
        r["fraction_of_peak"] = r["gflops"] / peak
        rows.append(r)
        print_fn(f"{r['label']:<16} {r['params']:>11,} {r['ms_per_step']:>9.1f} {r['tokens_per_s']:>10,.0f} "
                 f"{r['gflops']:>9.1f} {r['fraction_of_peak']:>6.1%} {r['ref_ms_per_step']:>9.1f} "
                 f"{r['speed_vs_reference']:>6.2f}x {format_interval(r['speed_lo'], r['speed_hi']):>16}")
    print_fn("GFLOP/s counts every matmul (attention scores and head included), fwd + bwd; "
             f"MFU is relative to the best {ref} matmul above ({peak:.1f} GFLOP/s).  'vs ref' is the "
             "speed of the core relative to bench.ReferenceGPT of the same shape, timed in the same "
             "loop (median step times; > 1: the core is faster), with a bootstrap interval over the "
             "interleaved step pairs.")
    if compile:
        print_fn("compile time, counted in the warmup steps of both models: " +
                 ", ".join(f"{r['label']} {r['warmup_s']:.1f} s" for r in rows))
    opt_rows = [bench_optimizer(case, steps=steps, warmup=warmup, device=device) for case in opt_cases]
    if opt_rows:
        print_optimizer_rows(opt_rows, print_fn)
    lr_us = predict_lr_speed(predict_lr_calls)
    for label, us in lr_us.items():
        print_fn(f"progtheory.predict_lr, {label:<28} {us:8.2f} us/call")
    return {"device": device, "peak_gflops": peak, "peak_dtype": ref, "fp32_peaks": peaks, "rows": rows,
            "optimizer_rows": opt_rows, "predict_lr_us": lr_us}
