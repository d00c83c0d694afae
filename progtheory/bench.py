"""Throughput benchmark: matmul peak, then training steps of a few model sizes, each against
a plain reference GPT-2 of the same shape.

For each model: tokens/s over timed AdamW training steps (after warmup steps), achieved
GFLOP/s = tokens/s * `flops_per_token(cfg, convention="exact")` (every matmul incl.
attention scores and the head; `progtheory.theory.compute`), its ratio to the measured
matmul peak on the same machine (model FLOP utilisation, MFU), and its speed relative to
`ReferenceGPT`, timed step by step in the same loop.  Timings vary by +-25% between runs on
a shared VM, so nothing here asserts on them.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from progtheory.config import GPTConfig


# ----------------------------------------------------------------------------- plain reference model

class _ReferenceBlock(nn.Module):
    """Pre-LN GPT-2 block with no multipliers: x + attn(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, d: int, n_head: int, bias: bool):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = nn.LayerNorm(d, bias=bias)
        self.qkv = nn.Linear(d, 3 * d, bias=bias)
        self.attn_out = nn.Linear(d, d, bias=bias)
        self.ln_2 = nn.LayerNorm(d, bias=bias)
        self.fc = nn.Linear(d, 4 * d, bias=bias)
        self.mlp_out = nn.Linear(4 * d, d, bias=bias)

    def forward(self, x_BxTxD: torch.Tensor) -> torch.Tensor:
        B, T, D = x_BxTxD.shape
        qkv_Bx3HxTxK = self.qkv(self.ln_1(x_BxTxD)).view(B, T, 3 * self.n_head, D // self.n_head).transpose(1, 2)
        q, k, v = qkv_Bx3HxTxK.chunk(3, dim=1)
        y_BxTxD = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, D)
        x_BxTxD = x_BxTxD + self.attn_out(y_BxTxD)
        return x_BxTxD + self.mlp_out(F.gelu(self.fc(self.ln_2(x_BxTxD)), approximate="tanh"))


class ReferenceGPT(nn.Module):
    """The plainest GPT-2 of the same shape as `GPT(cfg, depth)`, the yardstick of `bench`.

    Token + learned position embeddings, `depth` pre-LN blocks, final LayerNorm, head tied to
    the token embedding, mean cross-entropy.  No parametrization (no residual or logit
    multipliers), so with the core's weights under `sp` both compute the same loss.
    """

    def __init__(self, cfg: GPTConfig, depth: int | None = None):
        super().__init__()
        depth = cfg.n_layer if depth is None else depth
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList(_ReferenceBlock(cfg.n_embd, cfg.n_head, cfg.bias) for _ in range(depth))
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        for name, p in self.named_parameters():
            if p.ndim == 2:
                nn.init.normal_(p, std=0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def forward(self, idx_BxT: torch.Tensor, targets_BxT: torch.Tensor) -> torch.Tensor:
        T = idx_BxT.shape[1]
        x = self.wte(idx_BxT) + self.wpe(torch.arange(T, device=idx_BxT.device))
        for block in self.blocks:
            x = block(x)
        logits_BxTxV = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits_BxTxV.flatten(0, 1).float(), targets_BxT.flatten())


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
    from progtheory import presets

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


def _train_step(model, optimizer, x, y, autocast):
    """One AdamW step of `model` (the core returns (logits, loss), the reference the loss)."""

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
    the trainer does; `compile` wraps both in `torch.compile` (compile time falls in the
    warmup steps, reported as `warmup_s`).
    """
    from progtheory.model import GPT
    from progtheory.theory.compute import flops_per_token

    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    m = case.model
    autocast = _autocast(device)
    x = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    y = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    torch.manual_seed(seed)
    models = {"core": GPT(m, depth=case.depth)}
    if reference:
        torch.manual_seed(seed)
        models["reference"] = ReferenceGPT(m, depth=models["core"].depth)
    fns = {}
    for name, model in models.items():
        model.to(device)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.startswith("cuda") or None)
        fns[name] = _train_step(torch.compile(model) if compile else model, opt, x, y, autocast)
    t0 = time.perf_counter()
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    _sync(device)
    warmup_s = time.perf_counter() - t0
    times = {name: [] for name in fns}
    order = list(fns)
    for i in range(steps):
        for name in order if i % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            fns[name]()
            _sync(device)
            times[name].append(time.perf_counter() - t0)
    seconds = statistics.median(times["core"])
    tokens = case.batch_size * m.block_size
    fpt = flops_per_token(m, depth=models["core"].depth, convention="exact")
    row = {"label": case.label, "params": models["core"].num_params(), "ms_per_step": 1e3 * seconds,
           "tokens_per_s": tokens / seconds, "gflops": fpt * tokens / seconds / 1e9,
           "flops_per_token": fpt, "warmup_s": warmup_s, "compile": compile}
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


def _interval(lo: float, hi: float) -> str:
    return "n/a (< 3 steps)" if lo != lo else f"[{lo:.2f}, {hi:.2f}]"


def _autocast(device: str):
    """bf16 autocast on CUDA, as in training; none on CPU (bf16 there is ~20x slower)."""
    if device.startswith("cuda"):
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def run(cases: list[BenchCase] | None = None, *, steps: int = 5, warmup: int = 2, device: str = "cpu",
        peak_sizes: tuple[int, ...] | None = None, compile: bool = False, predict_lr_calls: int = 20000,
        print_fn=print) -> dict:
    """Measure the matmul peak and every case (core and reference interleaved); print a table;
    return peaks and rows.

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
                 f"{r['speed_vs_reference']:>6.2f}x {_interval(r['speed_lo'], r['speed_hi']):>16}")
    print_fn("GFLOP/s counts every matmul (attention scores and head included), fwd + bwd; "
             f"MFU is relative to the best {ref} matmul above ({peak:.1f} GFLOP/s).  'vs ref' is the "
             "speed of the core relative to bench.ReferenceGPT of the same shape, timed in the same "
             "loop (median step times; > 1: the core is faster), with a bootstrap interval over the "
             "interleaved step pairs.")
    if compile:
        print_fn("compile time, counted in the warmup steps of both models: " +
                 ", ".join(f"{r['label']} {r['warmup_s']:.1f} s" for r in rows))
    lr_us = predict_lr_speed(predict_lr_calls)
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
