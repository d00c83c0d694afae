"""The whole benchmark as `progtheory bench` runs it: peaks, the model table, the growing models,
the optimizer table and the speed of `predict_lr`, printed and written row by row as measured."""

from __future__ import annotations

import functools

import torch

from progtheory.bench.optimizer import bench_optimizer, print_optimizer_rows
from progtheory.bench.output import BenchWriter
from progtheory.bench.peaks import datasheet_gpu, datasheet_peak_gflops, with_mfu
from progtheory.bench.progressive import bench_progressive, default_progressive_cases
from progtheory.bench.table import (
    PROGRESSIVE_NOTE, model_header, model_line, model_notes, progressive_header, progressive_line,
)
from progtheory.bench.timing import BenchCase, bench_model, default_cases, matmul_peak, predict_lr_speed

flushed_print = functools.partial(print, flush=True)


def compile_modes(device: str, compile: bool | None = None) -> tuple[bool, ...]:
    """The compile settings each model is measured in: `compile` alone when given; else eager on a
    CPU (inductor compiles for minutes there) and eager then compiled on CUDA."""
    if compile is not None:
        return (bool(compile),)
    return (False, True) if device.startswith("cuda") else (False,)


def gpu_name(device: str) -> str | None:
    """The name torch reports for the GPU of `device` ("NVIDIA H100 80GB HBM3"); None on a CPU."""
    return torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else None


def _sheet_line(name: str | None) -> str | None:
    """The datasheet peak the "MFU sheet" column is relative to, in words; None without a GPU name."""
    if name is None:
        return None
    found = datasheet_gpu(name)
    if found is None:
        return f"no datasheet peak: {name!r} is not in bench.DATASHEET_BF16_TFLOPS, so it reads n/a"
    return f"the datasheet's dense bf16 peak of the {found[0]} ({found[1]:.0f} TFLOP/s; {name})"


def measure_peaks(device: str, peak_sizes: tuple[int, ...] | None, name: str | None, print_fn) -> dict:
    """Best matmul GFLOP/s at each size, fp32 and, on CUDA, bf16 (where training runs under
    autocast): the measured peak is the best of bf16 on CUDA and of fp32 on a CPU.  With the
    GPU's `name` and its datasheet peak (None where unknown)."""
    if peak_sizes is None:
        peak_sizes = (4096, 8192) if device.startswith("cuda") else (1024, 2048)
    peaks = {n: matmul_peak(n, device=device) for n in peak_sizes}
    for n, g in peaks.items():
        print_fn(f"fp32 matmul n={n}: {g:10.1f} GFLOP/s")
    peak, ref = max(peaks.values()), "fp32"
    if device.startswith("cuda"):
        bf16 = {n: matmul_peak(n, device=device, dtype=torch.bfloat16) for n in peak_sizes}
        for n, g in bf16.items():
            print_fn(f"bf16 matmul n={n}: {g:10.1f} GFLOP/s")
        peak, ref = max(bf16.values()), "bf16"
    return {"device": device, "gpu": name, "peak_gflops": peak, "peak_dtype": ref, "fp32_peaks": peaks,
            "datasheet_peak_gflops": datasheet_peak_gflops(name)}


def _model_rows(cases, modes, header: dict, writer: BenchWriter, print_fn, **kw) -> None:
    cuda = header["device"].startswith("cuda")
    print_fn(model_header(cuda))
    print_fn("-" * len(model_header(cuda)))
    rows = []
    for case in cases:
        for compile in modes:
            r = with_mfu(bench_model(case, compile=compile, **kw), header["peak_gflops"],
                         header["datasheet_peak_gflops"])
            writer.add("rows", r)
            rows.append(r)
            print_fn(model_line(r, cuda))
    for line in model_notes(rows, header["peak_gflops"], header["peak_dtype"], _sheet_line(header["gpu"])):
        print_fn(line)


def _progressive_rows(cases, modes, header: dict, writer: BenchWriter, print_fn, **kw) -> None:
    if not cases:
        return
    print_fn(progressive_header())
    print_fn("-" * len(progressive_header()))
    for case in cases:
        for compile in modes:
            r = with_mfu(bench_progressive(case, compile=compile, **kw), header["peak_gflops"],
                         header["datasheet_peak_gflops"])
            writer.add("progressive_rows", r)
            print_fn(progressive_line(r))
    print_fn(PROGRESSIVE_NOTE)


def run(cases: list[BenchCase] | None = None, *, steps: int = 5, warmup: int = 2, device: str = "cpu",
        peak_sizes: tuple[int, ...] | None = None, compile: bool | None = None, predict_lr_calls: int = 20000,
        opt_cases: tuple[BenchCase, ...] | list[BenchCase] = (), grow_cases: list[BenchCase] | None = None,
        device_name: str | None = None, writer: BenchWriter | None = None, print_fn=flushed_print) -> dict:
    """Measure the matmul peak and every case (core and reference interleaved) in each of
    `compile_modes(device, compile)`; then every `grow_cases` case (`bench_progressive`; default
    `default_progressive_cases(device)`: one on CUDA, none on a CPU) in the same modes; then
    the optimizer step of every `opt_cases` case (`bench_optimizer`; e.g. `optimizer_cases()`,
    as `progtheory bench` does); return the result.

    Each row goes to `writer` (a `BenchWriter`, which writes it to its files at once) and to
    `print_fn` (by default a print that flushes) as soon as it is measured.  MFU
    (`fraction_of_peak`) is achieved GFLOP/s over the best fp32 matmul on a CPU; on CUDA,
    where training runs under bf16 autocast, over the best bf16 matmul (the fp32 peak is
    printed too); `fraction_of_datasheet_peak` is over the dense bf16 peak of the GPU's
    datasheet (`DATASHEET_BF16_TFLOPS`, looked up by `device_name`, by default the name torch
    reports; None on a CPU and for a GPU not in the table).  `peak_sizes` defaults to
    n = 1024, 2048 on CPU and 4096, 8192 on CUDA.  `predict_lr_calls` calls of `predict_lr`
    are timed per variant at the end.
    """
    cases = default_cases(device) if cases is None else cases
    grow_cases = default_progressive_cases(device) if grow_cases is None else grow_cases
    modes, writer = compile_modes(device, compile), writer or BenchWriter()
    device_name = gpu_name(device) if device_name is None else device_name
    shown = str(modes[0]) if len(modes) == 1 else "eager, then compiled"
    print_fn(f"device {device}, torch threads {torch.get_num_threads()}, compile {shown}")
    header = measure_peaks(device, peak_sizes, device_name, print_fn)
    writer.start(header)
    kw = dict(steps=steps, warmup=warmup, device=device)
    _model_rows(cases, modes, header, writer, print_fn, **kw)
    _progressive_rows(grow_cases, modes, header, writer, print_fn, **kw)
    for case in opt_cases:
        writer.add("optimizer_rows", bench_optimizer(case, **kw))
    if opt_cases:
        print_optimizer_rows(writer.result["optimizer_rows"], print_fn)
    lr_us = predict_lr_speed(predict_lr_calls)
    for label, us in lr_us.items():
        print_fn(f"progtheory.predict_lr, {label:<28} {us:8.2f} us/call")
    return writer.finish({"predict_lr_us": lr_us})
