"""Timing training steps: the benchmark's model sizes, the matmul peak, the core model against
`ReferenceGPT` step by step, a bootstrap interval of their speed ratio, and `predict_lr` calls."""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass

import torch

from progtheory import presets
from progtheory.bench.reference import ReferenceGPT
from progtheory.config import GPTConfig


@dataclass(frozen=True)
class BenchCase:
    label: str
    model: GPTConfig
    batch_size: int = 16
    depth: int | None = None   # build at this depth (default: model.n_layer)


def default_cases(device: str = "cpu") -> list[BenchCase]:
    """The default run's model (bytes d128 L4, context 64, batch 32) and its 0-layer source;
    bytes d384 L6 at the same context and batch; then bytes d128 L4, BPE-8k d128 L4 and
    bytes d256 L4 at context 256, batch 16.  On CUDA also the GPT-2 124M shape (d768 L12,
    context 1024, vocabulary 50304 = 50257 padded to a multiple of 64, batch 16)."""
    d = presets.default()
    cases = [
        BenchCase("default (L4)", d.model, d.batch_size),
        BenchCase("default at L0", d.model, d.batch_size, depth=0),
        BenchCase("bytes d384 L6", GPTConfig(vocab_size=256, block_size=64, n_layer=6, n_head=6, n_embd=384),
                  d.batch_size),
        BenchCase("bytes d128 L4", GPTConfig(vocab_size=256, block_size=256, n_layer=4, n_head=4, n_embd=128)),
        BenchCase("bpe8k d128 L4", GPTConfig(vocab_size=8192, block_size=256, n_layer=4, n_head=4, n_embd=128)),
        BenchCase("bytes d256 L4", GPTConfig(vocab_size=256, block_size=256, n_layer=4, n_head=4, n_embd=256)),
    ]
    if device.startswith("cuda"):
        cases.append(BenchCase("gpt2-124M", GPTConfig(vocab_size=50304, block_size=1024, n_layer=12, n_head=12,
                                                      n_embd=768), 16))
    return cases


def quick_cases() -> list[BenchCase]:
    """Tiny sizes that run in about a second (for smoke tests of the benchmark itself)."""
    return [
        BenchCase("bytes d32 L0", GPTConfig(vocab_size=256, block_size=32, n_layer=0, n_head=2, n_embd=32), 4),
        BenchCase("bytes d32 L2", GPTConfig(vocab_size=256, block_size=32, n_layer=2, n_head=2, n_embd=32), 4),
    ]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def matmul_peak(n: int, *, device: str = "cpu", dtype: torch.dtype = torch.float32, repeats: int = 5) -> float:
    """Best-of-`repeats` GFLOP/s of an n x n @ n x n matmul (2 n^3 FLOPs), after one warmup."""
    if n <= 0:
        raise ValueError(f"matrix size n={n} must be > 0")
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n**3 / best / 1e9


def adamw_for(model: torch.nn.Module, device: str) -> torch.optim.AdamW:
    """The benchmark's optimizer: AdamW at lr 1e-4, fused on CUDA as in the trainer."""
    return torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.startswith("cuda") or None)


def fresh_compiler() -> None:
    """Forget every graph torch.compile made so far, so that a compiled measurement compiles
    from scratch, as a new training process does, and no earlier model counts towards dynamo's
    limit on recompiles of one function (past it, dynamo runs the function eagerly)."""
    import torch._dynamo

    torch._dynamo.reset()


def mode_name(compile: bool) -> str:
    return "compiled" if compile else "eager"


def train_step(model, optimizer, x, y, autocast):
    """One training step of `model` (the core returns (logits, loss), the reference the loss)."""

    def step():
        with autocast():
            out = model(x, y)
        (out[1] if isinstance(out, tuple) else out).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    return step


def bench_model(case: BenchCase, *, steps: int = 5, warmup: int = 2, device: str = "cpu", seed: int = 0,
                reference: bool = True, compile: bool = False) -> dict:
    """Time `steps` AdamW training steps (after `warmup` untimed ones) on random tokens.

    With `reference`, a `ReferenceGPT` of the same shape is timed in the same loop, the two
    models alternating step by step (and which goes first alternating too), so that a change
    in machine load falls on both; `speed_vs_reference` = reference / core median step time
    (> 1: the core is faster).  On CUDA both train under bf16 autocast with fused AdamW, as
    the trainer does; `compile` wraps both in `torch.compile`, starting from a fresh compiler
    (`fresh_compiler`; compile time falls in the warmup steps, reported as `warmup_s`).  The
    row's "mode" is "eager" or "compiled".
    """
    from progtheory.core.model import GPT
    from progtheory.theory.compute import flops_per_token

    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    m = case.model
    autocast = autocast_for(device)
    x = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    y = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    torch.manual_seed(seed)
    models = {"core": GPT(m, depth=case.depth)}
    if reference:
        torch.manual_seed(seed)
        models["reference"] = ReferenceGPT(m, depth=models["core"].depth)
    if compile:
        fresh_compiler()
    fns = {}
    for name, model in models.items():
        model.to(device)
        fns[name] = train_step(torch.compile(model) if compile else model, adamw_for(model, device), x, y, autocast)
    t0 = time.perf_counter()
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    sync(device)
    warmup_s = time.perf_counter() - t0
    times = {name: [] for name in fns}
    order = list(fns)
    for i in range(steps):
        for name in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fns[name]()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    seconds = statistics.median(times["core"])
    tokens = case.batch_size * m.block_size
    fpt = flops_per_token(m, depth=models["core"].depth, convention="exact")
    row = {"label": case.label, "params": models["core"].num_params(), "ms_per_step": 1e3 * seconds,
           "tokens_per_s": tokens / seconds, "gflops": fpt * tokens / seconds / 1e9,
           "flops_per_token": fpt, "warmup_s": warmup_s, "compile": compile, "mode": mode_name(compile)}
    if reference:
        ref = statistics.median(times["reference"])
        lo, hi = speed_interval(times["reference"], times["core"], seed=seed)
        row.update(ref_ms_per_step=1e3 * ref, speed_vs_reference=ref / seconds, speed_lo=lo, speed_hi=hi)
    return row


def speed_interval(reference, core, *, level: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile-bootstrap interval of median(reference) / median(core) over the timed steps,
    resampling the interleaved step pairs together (a load change hits both members of a
    pair); (nan, nan) with fewer than 3 pairs."""
    import numpy as np

    ref, cor = np.asarray(reference, dtype=float), np.asarray(core, dtype=float)
    if len(ref) != len(cor):
        raise ValueError(f"reference ({len(ref)}) and core ({len(cor)}) need one time per interleaved step each")
    if len(ref) < 3:
        return float("nan"), float("nan")
    idx = np.random.default_rng(seed).integers(len(ref), size=(n_boot, len(ref)))
    ratios = np.median(ref[idx], axis=1) / np.median(cor[idx], axis=1)
    q = 100 * (1 - level) / 2
    lo, hi = np.percentile(ratios, [q, 100 - q])
    return float(lo), float(hi)


def format_interval(lo: float, hi: float) -> str:
    return "n/a (< 3 steps)" if lo != lo else f"[{lo:.2f}, {hi:.2f}]"


def autocast_for(device: str):
    """bf16 autocast on CUDA, as in training; none on CPU (bf16 there is ~20x slower)."""
    if device.startswith("cuda"):
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


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
