"""The cost of an optimizer step: the aten ops one Muon-NSGD step dispatches, and its training
step time against AdamW, both also for `LoopMuonNSGD`, the same algorithm one parameter at a time."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import torch

from progtheory import presets
from progtheory.bench.timing import BenchCase, autocast_for, format_interval, speed_interval, sync, train_step
from progtheory.config import TrainConfig
from progtheory.core.optim import MuonNSGD, build_optimizer
from progtheory.theory import parametrization as P

OPS_TARGET = 200      # aten ops dispatched per Muon-NSGD step of the recipe at d128 L4
RATIO_TARGET = 1.15   # recipe (Muon-NSGD) / AdamW training-step time


class LoopMuonNSGD(MuonNSGD):
    """`MuonNSGD` one parameter at a time: a Python loop over the parameters and one
    Newton-Schulz per matrix (per q, k, v block of c_attn), the yardstick of the batched step.
    Same updates up to fp32 rounding (tests/core/test_optim.py)."""

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

    from progtheory.core.model import GPT

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
    from progtheory.core.model import GPT

    if steps <= 0 or warmup < 0:
        raise ValueError(f"steps={steps} must be > 0 and warmup={warmup} >= 0")
    cfg, autocast = _recipe_run(case), autocast_for(device)
    x = torch.randint(0, cfg.model.vocab_size, (case.batch_size, cfg.model.block_size), device=device)
    y = torch.randint(0, cfg.model.vocab_size, (case.batch_size, cfg.model.block_size), device=device)
    fns = {}
    for kind in ("muon", "adamw", "loop"):
        torch.manual_seed(seed)
        model = GPT(cfg.model, depth=case.depth).to(device)
        fns[kind] = train_step(model, _optimizer(kind, model, cfg), x, y, autocast)
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {kind: [] for kind in fns}
    order = list(fns)
    for i in range(steps):
        for kind in order[i % len(order):] + order[:i % len(order)]:
            sync(device)
            t0 = time.perf_counter()
            fns[kind]()
            sync(device)
            times[kind].append(time.perf_counter() - t0)
    ms = {kind: 1e3 * statistics.median(t) for kind, t in times.items()}
    lo, hi = speed_interval(times["muon"], times["adamw"], seed=seed)
    row = {"label": case.label, "muon_vs_adamw": ms["muon"] / ms["adamw"], "muon_vs_adamw_lo": lo,
           "muon_vs_adamw_hi": hi, "loop_vs_adamw": ms["loop"] / ms["adamw"]}
    for kind in ("muon", "loop", "adamw"):
        ops = optimizer_ops(case, kind, device=device, seed=seed)
        row.update({f"{kind}_ops": ops["dispatched"], f"{kind}_ops_total": ops["total"]})
    return row | {f"{kind}_ms_per_step": t for kind, t in ms.items()}


def print_optimizer_rows(rows: list[dict], print_fn) -> None:
    header = (f"{'optimizer step':<16} {'ops':>5} {'loop ops':>9} {'AdamW ops':>10} {'Muon ms':>9} "
              f"{'AdamW ms':>9} {'Muon/AdamW':>11} {'95% interval':>16} {'loop/AdamW':>11}")
    print_fn(header)
    print_fn("-" * len(header))
    for r in rows:
        print_fn(f"{r['label']:<16} {r['muon_ops']:>5} {r['loop_ops']:>9} {r['adamw_ops']:>10} "
                 f"{r['muon_ms_per_step']:>9.1f} {r['adamw_ms_per_step']:>9.1f} {r['muon_vs_adamw']:>10.2f}x "
                 f"{format_interval(r['muon_vs_adamw_lo'], r['muon_vs_adamw_hi']):>16} {r['loop_vs_adamw']:>10.2f}x")
    print_fn(f"ops: aten ops one Muon-NSGD step dispatches (torch.profiler; target <= {OPS_TARGET} at d128 L4), "
             "batched (MuonNSGD) and one parameter at a time (bench.LoopMuonNSGD); AdamW ops: the trainer's "
             "AdamW (fused on CUDA, one parameter at a time on CPU).  Muon/AdamW: median "
             "training-step time of the recipe model under Muon-NSGD over AdamW, interleaved in one loop "
             f"(target <= {RATIO_TARGET}), with a bootstrap interval; loop/AdamW the same for the loop.")
