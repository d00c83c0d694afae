"""The progressive path: a model that grows mid-benchmark (e.g. 1 -> 4 blocks), eager or
compiled, timed after its growth, with the time the growth and the recompile after it take
counted apart from the steps.

The clock and the compiler are arguments, so that the accounting is tested on a CPU with a
fake clock and a fake compiler that charges a known compile time.
"""

from __future__ import annotations

import statistics
import time
import torch

from progtheory import presets
from progtheory.bench.timing import (
    BenchCase, adamw_for, autocast_for, fresh_compiler, mode_name, sync, train_step,
)
from progtheory.config import GPTConfig


def progressive_cases(quick: bool = False) -> list[BenchCase]:
    """Growing models: `depth` is the source depth, `model.n_layer` the depth grown to.  The
    default run's model (bytes d128, context 64, batch 32) grown from 1 to 4 blocks; `quick`:
    bytes d32 L2, context 32, batch 4, grown from 1 to 2 blocks."""
    if quick:
        return [BenchCase("bytes d32 L1->L2", GPTConfig(vocab_size=256, block_size=32, n_layer=2, n_head=2,
                                                        n_embd=32), 4, depth=1)]
    d = presets.default()
    return [BenchCase("default L1->L4", d.model, d.batch_size, depth=1)]


def default_progressive_cases(device: str, quick: bool = False) -> list[BenchCase]:
    """What `progtheory bench` grows: `progressive_cases(quick)` on CUDA; nothing on a CPU, where
    the benchmark stays the table of fixed-depth models."""
    return progressive_cases(quick) if device.startswith("cuda") else []


def _check(case: BenchCase, steps: int, warmup: int) -> tuple[int, int]:
    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    source, target = case.depth, case.model.n_layer
    if source is None or not 0 <= source < target:
        raise ValueError(f"case {case.label!r} grows from depth={source} to model.n_layer={target}; "
                         f"a progressive case needs 0 <= depth < n_layer, e.g. depth=1 with n_layer=4")
    return source, target


def timed_steps(step, n: int, device: str, clock) -> list[float]:
    """Seconds of each of `n` calls of `step`, read from `clock`, the device synchronised."""
    out = []
    for _ in range(n):
        t0 = clock()
        step()
        sync(device)
        out.append(clock() - t0)
    return out


def growth_accounting(before: list[float], grow_s: float, after: list[float], settle: int) -> dict:
    """Split the step times of a run that grew once into what each part cost.

    `before`: the seconds of each step at the source depth, the first `settle` of them warmup;
    `grow_s`: the growth itself; `after`: each step at the grown depth, again `settle` first.
    The steady step is the median of the steps past the warmup.  "startup_s" is what the
    source's warmup steps took beyond as many steady steps (the first compile, in compiled
    mode), "recompile_s" the same for the grown model's (the recompile after growth; in eager
    mode what growth alone costs the first steps), each floored at 0.
    """
    if not 0 < settle < min(len(before), len(after)):
        raise ValueError(f"settle={settle} warmup steps need more steps than that before ({len(before)}) "
                         f"and after ({len(after)}) the growth")
    src, step = statistics.median(before[settle:]), statistics.median(after[settle:])
    return {"source_s_per_step": src, "s_per_step": step, "grow_s": grow_s,
            "startup_s": max(0.0, sum(before[:settle]) - settle * src),
            "first_steps_s": sum(after[:settle]),
            "recompile_s": max(0.0, sum(after[:settle]) - settle * step)}


def _grown_optimizer(old: torch.optim.Optimizer, model: torch.nn.Module, device: str) -> torch.optim.Optimizer:
    """AdamW over the grown model's parameters, the old ones keeping their state."""
    new = adamw_for(model, device)
    for p in model.parameters():
        if p in old.state:
            new.state[p] = old.state[p]
    return new


def bench_progressive(case: BenchCase, *, steps: int = 5, warmup: int = 2, device: str = "cpu", seed: int = 0,
                      compile: bool = False, clock=time.perf_counter, compile_fn=None) -> dict:
    """Time a model that grows from `case.depth` to `case.model.n_layer` blocks mid-benchmark.

    Built at the source depth, it trains settle = max(warmup, 1) + `steps` AdamW steps; then it
    grows (`core.growth.expand`, random init, new blocks at the end), gets an AdamW over the
    grown parameters with the old ones' state, and is wrapped again (compiled again when
    `compile`, as the trainer does after an expansion); then settle + `steps` steps more.
    The row holds the steps after growth (ms/step, tokens/s, GFLOP/s at the grown depth), the
    source's ms/step, and apart from them the growth and the recompile (`growth_accounting`).
    `compile_fn` stands in for `torch.compile` (default), `clock` for `time.perf_counter`.
    """
    from progtheory.core.growth import expand
    from progtheory.core.model import GPT
    from progtheory.theory.compute import flops_per_token

    source, target = _check(case, steps, warmup)
    settle, m = max(warmup, 1), case.model
    wrap = (compile_fn or torch.compile) if compile else (lambda model: model)
    if compile:
        fresh_compiler()
    autocast = autocast_for(device)
    x = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    y = torch.randint(0, m.vocab_size, (case.batch_size, m.block_size), device=device)
    torch.manual_seed(seed)
    model = GPT(m, depth=source).to(device)
    opt = adamw_for(model, device)
    before = timed_steps(train_step(wrap(model), opt, x, y, autocast), settle + steps, device, clock)
    t0 = clock()
    expand(model, target, "random", generator=torch.Generator().manual_seed(seed))
    opt = _grown_optimizer(opt, model, device)
    step = train_step(wrap(model), opt, x, y, autocast)
    sync(device)
    acc = growth_accounting(before, clock() - t0, timed_steps(step, settle + steps, device, clock), settle)
    tokens, fpt = case.batch_size * m.block_size, flops_per_token(m, depth=target, convention="exact")
    s = acc.pop("s_per_step")
    return {"label": case.label, "source_depth": source, "depth": target, "params": model.num_params(),
            "ms_per_step": 1e3 * s, "tokens_per_s": tokens / s, "gflops": fpt * tokens / s / 1e9,
            "flops_per_token": fpt, "source_ms_per_step": 1e3 * acc.pop("source_s_per_step"), **acc,
            "compile": compile, "mode": mode_name(compile)}
