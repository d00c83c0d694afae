"""Throughput benchmark: fp32 matmul peak, then training steps of a few model sizes.

For each model: tokens/s over timed AdamW training steps (after warmup steps), achieved
GFLOP/s = tokens/s * `flops_per_token(cfg, convention="exact")` (every matmul incl.
attention scores and the head; `progtheory.theory.compute`), and its ratio to the measured
matmul peak on the same machine.  Timings vary by +-25% between runs on a shared VM, so
nothing here asserts on them.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import torch

from progtheory.config import GPTConfig


@dataclass(frozen=True)
class BenchCase:
    label: str
    model: GPTConfig
    batch_size: int = 16
    depth: int | None = None   # build at this depth (default: model.n_layer)


def default_cases() -> list[BenchCase]:
    """The default run's model (bytes d128 L4, context 64, batch 32) and its 0-layer source;
    then bytes d128 L4, BPE-8k d128 L4, bytes d256 L4 at context 256, batch 16."""
    from progtheory import presets

    d = presets.default()
    return [
        BenchCase("default (L4)", d.model, d.batch_size),
        BenchCase("default at L0", d.model, d.batch_size, depth=0),
        BenchCase("bytes d128 L4", GPTConfig(vocab_size=256, block_size=256, n_layer=4, n_head=4, n_embd=128)),
        BenchCase("bpe8k d128 L4", GPTConfig(vocab_size=8192, block_size=256, n_layer=4, n_head=4, n_embd=128)),
        BenchCase("bytes d256 L4", GPTConfig(vocab_size=256, block_size=256, n_layer=4, n_head=4, n_embd=256)),
    ]


def quick_cases() -> list[BenchCase]:
    """Tiny sizes that run in about a second (for smoke tests of the benchmark itself)."""
    return [
        BenchCase("bytes d32 L0", GPTConfig(vocab_size=256, block_size=32, n_layer=0, n_head=2, n_embd=32), 4),
        BenchCase("bytes d32 L2", GPTConfig(vocab_size=256, block_size=32, n_layer=2, n_head=2, n_embd=32), 4),
    ]


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(n: int, *, device: str = "cpu", dtype: torch.dtype = torch.float32, repeats: int = 5) -> float:
    """Best-of-`repeats` GFLOP/s of an n x n @ n x n matmul (2 n^3 FLOPs), after one warmup."""
    if n <= 0:
        raise ValueError(f"matrix size n={n} must be > 0")
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    _sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def bench_model(case: BenchCase, *, steps: int = 5, warmup: int = 2, device: str = "cpu", seed: int = 0) -> dict:
    """Time `steps` AdamW training steps (after `warmup` untimed ones) on random tokens."""
    from progtheory.model import GPT
    from progtheory.theory.compute import flops_per_token

    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    torch.manual_seed(seed)
    m = case.model
    model = GPT(m, depth=case.depth).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    y = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    # as in training: bf16 autocast on CUDA only (on CPU bf16 is ~20x slower, ECOSYSTEM.md 3b)
    autocast = ((lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if device.startswith("cuda")
                else contextlib.nullcontext)

    def step():
        with autocast():
            _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(warmup):
        step()
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    _sync(device)
    seconds = (time.perf_counter() - t0) / steps
    tokens = case.batch_size * m.block_size
    fpt = flops_per_token(m, depth=model.depth, convention="exact")
    return {"label": case.label, "params": model.num_params(), "ms_per_step": 1e3 * seconds,
            "tokens_per_s": tokens / seconds, "gflops": fpt * tokens / seconds / 1e9,
            "flops_per_token": fpt}


def run(cases: list[BenchCase] | None = None, *, steps: int = 5, warmup: int = 2, device: str = "cpu",
        peak_sizes: tuple[int, ...] = (1024, 2048), print_fn=print) -> dict:
    """Measure the matmul peak and every case; print a table; return peaks and rows.

    The reference peak is the best fp32 matmul on CPU; on CUDA, where training runs under
    bf16 autocast, it is the best bf16 matmul (the fp32 peak is printed too).
    """
    cases = default_cases() if cases is None else cases
    peaks = {n: matmul_peak(n, device=device) for n in peak_sizes}
    peak, ref = max(peaks.values()), "fp32"
    print_fn(f"device {device}, torch threads {torch.get_num_threads()}")
    for n, g in peaks.items():
        print_fn(f"fp32 matmul n={n}: {g:10.1f} GFLOP/s")
    if device.startswith("cuda"):
        bf16 = {n: matmul_peak(n, device=device, dtype=torch.bfloat16) for n in peak_sizes}
        for n, g in bf16.items():
            print_fn(f"bf16 matmul n={n}: {g:10.1f} GFLOP/s")
        peak, ref = max(bf16.values()), "bf16"
    header = f"{'model':<16} {'params':>10} {'ms/step':>9} {'tok/s':>10} {'GFLOP/s':>9} {'of peak':>8}"
    print_fn(header)
    print_fn("-" * len(header))
    rows = []
    for case in cases:
        r = bench_model(case, steps=steps, warmup=warmup, device=device)
        r["fraction_of_peak"] = r["gflops"] / peak
        rows.append(r)
        print_fn(f"{r['label']:<16} {r['params']:>10,} {r['ms_per_step']:>9.1f} {r['tokens_per_s']:>10,.0f} "
                 f"{r['gflops']:>9.1f} {r['fraction_of_peak']:>8.0%}")
    print_fn("GFLOP/s counts every matmul (attention scores and head included), fwd + bwd; "
             f"'of peak' is relative to the best {ref} matmul above ({peak:.1f} GFLOP/s).")
    lr_us = predict_lr_speed()
    for label, us in lr_us.items():
        print_fn(f"progtheory.predict_lr, {label:<28} {us:8.2f} us/call")
    return {"device": device, "peak_gflops": peak, "peak_dtype": ref, "fp32_peaks": peaks, "rows": rows,
            "predict_lr_us": lr_us}


def predict_lr_speed(number: int = 20000) -> dict[str, float]:
    """Best-of-5 microseconds per `predict_lr` call: scalar depth (target <= 20 us), with width
    transfer, and 64 depths at once."""
    import timeit

    import numpy as np

    from progtheory.theory.parametrization import predict_lr

    kw = dict(base_depth=1, base_lr=3e-3, parametrization="depth-mup", optimizer="adamw")
    depths = np.arange(1, 65)
    calls = {"scalar depth": lambda: predict_lr(12, **kw),
             "scalar depth + width": lambda: predict_lr(12, width=512, base_width=256, **kw),
             "64 depths (array)": lambda: predict_lr(depths, **kw)}
    return {label: 1e6 * min(timeit.repeat(fn, number=number, repeat=5)) / number for label, fn in calls.items()}
