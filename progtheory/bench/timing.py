"""Throughput benchmark: matmul peak, then training steps of a few model sizes, each against
a plain reference GPT-2 of the same shape.

For each model: tokens/s over timed AdamW training steps (after warmup steps), achieved
GFLOP/s = tokens/s * `flops_per_token(cfg, convention="exact")` (every matmul incl.
attention scores and the head; `progtheory.theory.compute`), its ratio to the measured
matmul peak on the same machine (model FLOP utilisation, MFU), and its speed relative to
`ReferenceGPT`, timed step by step in the same loop.  Timings vary by +-25% between runs on
a shared VM, so nothing here asserts on them.

Then the optimizer: the recipe's Muon-NSGD step (`progtheory.optim.MuonNSGD`, batched) against
AdamW on the same model, as a ratio of median training-step times (target <= 1.15), with the
aten ops one Muon-NSGD step dispatches (torch.profiler; target <= 200 at d128 L4, where
forward and backward dispatch a few hundred), both also for `LoopMuonNSGD`, the same
algorithm one parameter at a time.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass, replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from progtheory import presets
from progtheory.config import GPTConfig, TrainConfig
from progtheory.optim import MuonNSGD, build_optimizer
from progtheory.theory import parametrization as P

OPS_TARGET = 200      # aten ops dispatched per Muon-NSGD step of the recipe at d128 L4
RATIO_TARGET = 1.15   # recipe (Muon-NSGD) / AdamW training-step time


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


# ----------------------------------------------------------------------------- optimizer step

class LoopMuonNSGD(MuonNSGD):
    """`MuonNSGD` one parameter at a time: a Python loop over the parameters and one
    Newton-Schulz per matrix (per q, k, v block of c_attn), the yardstick of the batched step.
    Same updates up to fp32 rounding (tests/test_optim.py)."""

    @staticmethod
    def orthogonalize(G: torch.Tensor, steps: int) -> torch.Tensor:
        a, b, c = MuonNSGD._NS
        X = G.to(torch.bfloat16 if G.is_cuda else torch.float32)
        tall = X.size(0) > X.size(1)
        if tall:
            X = X.T
        X = X / (X.norm() + 1e-7)
        for _ in range(steps):
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
        return (X.T if tall else X).to(G.dtype)

    def muon_update(self, m: torch.Tensor, n_split: int, ns_steps: int) -> torch.Tensor:
        parts = m.chunk(n_split, dim=0) if n_split > 1 else (m,)
        return torch.cat([self.orthogonalize(x, ns_steps) * P.muon_step_scale(*x.shape) for x in parts], dim=0)

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                buf = self._momentum_buffer(p)
                buf.mul_(mu).add_(p.grad)
                m = p.grad.add(buf, alpha=mu)  # Nesterov
                if group["role"] == "hidden":
                    update, step_lr = self.muon_update(m, self._split.get(id(p), 1), group["ns_steps"]), lr
                else:
                    update, step_lr = m / (m.pow(2).mean().sqrt() + 1e-12), lr * group["nsgd_lr_mult"]
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(update, alpha=-step_lr)
        return None


def optimizer_cases(quick: bool = False) -> list[BenchCase]:
    """The recipe's model (`presets.recipe()`: CompleteP, spectral init) at the default shape
    (d128 L4, context 64, batch 32) and at d = 256; `quick`: d32 L2, context 32, batch 4."""
    r = presets.recipe()
    if quick:
        return [BenchCase("recipe d32 L2", replace(r.model, block_size=32, n_layer=2, n_head=2, n_embd=32,
                                                   base_width=32), 4)]
    return [BenchCase("recipe d128 L4", r.model, r.batch_size),
            BenchCase("recipe d256 L4", replace(r.model, n_embd=256), r.batch_size)]


def _recipe_run(case: BenchCase) -> TrainConfig:
    return replace(presets.recipe(), model=case.model, batch_size=case.batch_size)


def _optimizer(kind: str, model, cfg: TrainConfig):
    """The trainer's optimizer of `kind`: "muon" (batched MuonNSGD), "loop" (LoopMuonNSGD)
    or "adamw", with the groups and multipliers `build_optimizer` gives the recipe."""
    if kind == "loop":
        opt = build_optimizer(model, cfg)
        return LoopMuonNSGD(opt.param_groups, lr=cfg.lr, split={b.attn.c_attn.weight: 3 for b in model.blocks})
    return build_optimizer(model, replace(cfg, optimizer=kind))


def optimizer_ops(case: BenchCase, kind: str = "muon", *, device: str = "cpu", seed: int = 0) -> dict[str, int]:
    """aten ops in one optimizer step of `case`'s model (after a first step, which creates
    the state), counted with torch.profiler: "dispatched", those called from Python (each a
    dispatch and, on a GPU, at least one kernel launch: the host cost of the step), and
    "total", with the ops they call in turn (e.g. the per-tensor kernels of a foreach op on
    CPU).  Independent of the batch and of timing, so exact on a busy machine."""
    from torch.profiler import ProfilerActivity, profile

    from progtheory.model import GPT

    cfg = _recipe_run(case)
    torch.manual_seed(seed)
    model = GPT(cfg.model, depth=case.depth).to(device)
    opt = _optimizer(kind, model, cfg)
    x = torch.randint(0, cfg.model.vocab_size, (2, cfg.model.block_size), device=device)
    for first in (True, False):
        opt.zero_grad(set_to_none=True)
        model(x, x)[1].backward()
        if first:
            opt.step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        opt.step()
    ops = [e for e in prof.events() if e.name.startswith("aten::")]
    top = [e for e in ops if e.cpu_parent is None or not e.cpu_parent.name.startswith("aten::")]
    return {"dispatched": len(top), "total": len(ops)}


def bench_optimizer(case: BenchCase, *, steps: int = 5, warmup: int = 2, device: str = "cpu",
                    seed: int = 0) -> dict:
    """Time training steps of the recipe model under batched Muon-NSGD, AdamW and
    LoopMuonNSGD, one model copy each, interleaved step by step in rotating order;
    `muon_vs_adamw` = median Muon / median AdamW step time (target <= RATIO_TARGET), with a
    bootstrap interval, and `loop_vs_adamw` likewise.  Op counts from `optimizer_ops`."""
    from progtheory.model import GPT

    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    cfg, autocast = _recipe_run(case), _autocast(device)
    x = torch.randint(0, cfg.model.vocab_size, (case.batch_size, cfg.model.block_size), device=device)
    y = torch.randint(0, cfg.model.vocab_size, (case.batch_size, cfg.model.block_size), device=device)
    fns = {}
    for kind in ("muon", "adamw", "loop"):
        torch.manual_seed(seed)
        model = GPT(cfg.model, depth=case.depth).to(device)
        fns[kind] = _train_step(model, _optimizer(kind, model, cfg), x, y, autocast)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {kind: [] for kind in fns}
    order = list(fns)
    for i in range(steps):
        for kind in order[i % len(order):] + order[:i % len(order)]:
            _sync(device)
            t0 = time.perf_counter()
            fns[kind]()
            _sync(device)
            times[kind].append(time.perf_counter() - t0)
    ms = {kind: 1e3 * statistics.median(t) for kind, t in times.items()}
    lo, hi = speed_interval(times["muon"], times["adamw"], seed=seed)
    row = {"label": case.label, "muon_vs_adamw": ms["muon"] / ms["adamw"], "muon_vs_adamw_lo": lo,
           "muon_vs_adamw_hi": hi, "loop_vs_adamw": ms["loop"] / ms["adamw"]}
    for kind in ("muon", "loop", "adamw"):
        ops = optimizer_ops(case, kind, device=device, seed=seed)
        row.update({f"{kind}_ops": ops["dispatched"], f"{kind}_ops_total": ops["total"]})
    return row | {f"{kind}_ms_per_step": t for kind, t in ms.items()}


def _print_optimizer_rows(rows: list[dict], print_fn) -> None:
    header = (f"{'optimizer step':<16} {'ops':>5} {'loop ops':>9} {'AdamW ops':>10} {'Muon ms':>9} "
              f"{'AdamW ms':>9} {'Muon/AdamW':>11} {'95% interval':>16} {'loop/AdamW':>11}")
    print_fn(header)
    print_fn("-" * len(header))
    for r in rows:
        print_fn(f"{r['label']:<16} {r['muon_ops']:>5} {r['loop_ops']:>9} {r['adamw_ops']:>10} "
                 f"{r['muon_ms_per_step']:>9.1f} {r['adamw_ms_per_step']:>9.1f} {r['muon_vs_adamw']:>10.2f}x "
                 f"{_interval(r['muon_vs_adamw_lo'], r['muon_vs_adamw_hi']):>16} {r['loop_vs_adamw']:>10.2f}x")
    print_fn(f"ops: aten ops one Muon-NSGD step dispatches (torch.profiler; target <= {OPS_TARGET} at d128 L4), "
             "batched (MuonNSGD) and one parameter at a time (bench.LoopMuonNSGD); AdamW ops: the trainer's "
             "AdamW (fused on CUDA, one parameter at a time on CPU).  Muon/AdamW: median "
             "training-step time of the recipe model under Muon-NSGD over AdamW, interleaved in one loop "
             f"(target <= {RATIO_TARGET}), with a bootstrap interval; loop/AdamW the same for the loop.")


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
                 f"{r['speed_vs_reference']:>6.2f}x {_interval(r['speed_lo'], r['speed_hi']):>16}")
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
        _print_optimizer_rows(opt_rows, print_fn)
    lr_us = predict_lr_speed(predict_lr_calls)
    for label, us in lr_us.items():
        print_fn(f"progtheory.predict_lr, {label:<28} {us:8.2f} us/call")
    return {"device": device, "peak_gflops": peak, "peak_dtype": ref, "fp32_peaks": peaks, "rows": rows,
            "optimizer_rows": opt_rows, "predict_lr_us": lr_us}


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
