"""Optimizers with parameter groups by role (embedding / hidden / vector).

Every parameter is classified or `classify` raises.  Each group carries `lr_mult` and
(AdamW) an eps multiplier from `progtheory.theory.parametrization`; the trainer calls
`set_lr(optimizer, cfg.lr * schedule(t), step=t)` every step, which sets
`group["lr"] = lr * group["lr_mult"] * group["ramp"]`.

Groups of a progressive run.  With `growth.rewarmup_steps = R > 0` the parameters of the
blocks created at growth stage s (s = 1, 2, ...) get groups of their own, tagged
`stage = s`, whose `ramp` rises linearly from 1/R to 1 over the R steps after that stage's
step (`ramp_factor`); every other group has `stage = 0` and `ramp = 1`, unless
`growth.rewarmup_scope = "all"`, where they too re-warm from the latest stage step (a
re-warmup of the whole model instead of the new parameters only).  With R = 0 a grown
model has exactly the groups of a model built at its depth.  `build_optimizer(model, cfg,
step)` derives the groups from the config and the model's depth alone, so the optimizer
rebuilt from a checkpoint has the structure `progtheory.core.growth.grow` produced and
`optimizer.load_state_dict` restores it.

Optimizers:
  * ``adamw``  torch.optim.AdamW; weight decay on embedding and hidden matrices only.
  * ``sgd``    torch.optim.SGD with momentum.
  * ``muon``   Muon-NSGD (the paper's optimizer): Muon on hidden matrices, normalized SGD on
               embeddings and vectors, one shared LR (`MuonNSGD` below).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from progtheory.config import TrainConfig, resolve_stages
from progtheory.theory.growth_layout import block_stages
from progtheory.theory import parametrization as P


def classify(name: str, p: torch.Tensor) -> str:
    """Role of a parameter by its name and shape; raises for anything unexpected."""
    if name in ("wte.weight", "wpe.weight"):
        return "embedding"
    if name.startswith("blocks.") and p.ndim == 2:
        return "hidden"
    if p.ndim == 1 and name.startswith("blocks."):
        return "vector"
    if name.startswith("ln_f."):
        return "final_norm"
    raise ValueError(f"parameter {name!r} with shape {tuple(p.shape)} has no role; "
                     f"extend progtheory.core.optim.classify before training this model")


def _block_index(name: str) -> int | None:
    """Index i of a parameter named ``blocks.i.<...>``, else None."""
    if not name.startswith("blocks."):
        return None
    return int(name.split(".", 2)[1])


def param_groups(model: nn.Module, cfg: TrainConfig, step: int | None = None) -> list[dict]:
    """Parameter groups of `model` with the parametrization's multipliers at its depth.

    One group per (stage, role) present, stage 0 first, roles in `ROLES` order, parameters
    in `model.named_parameters()` order (so the structure is reproducible from the config
    and the depth, which `optimizer.load_state_dict` needs).  Stage groups s >= 1 exist only
    for a growth plan with `rewarmup_steps > 0` (module docstring); `step` sets their
    current `ramp` (default: 1, i.e. ramp finished).
    """
    m = cfg.model
    depth = len(model.blocks)
    kw = dict(depth=depth, base_depth=m.base_depth, width=m.n_embd, base_width=m.base_width, alpha=m.alpha)
    lr_mult = P.lr_multipliers(m.parametrization, cfg.optimizer, **kw)  # theory: per-group LR
    eps_mult = P.adam_eps_multipliers(m.parametrization, **kw)          # theory: Adam eps
    ramp_steps = cfg.growth.rewarmup_steps if cfg.growth is not None else 0
    ramp_scope = cfg.growth.rewarmup_scope if cfg.growth is not None else "new"
    born = [0] * depth
    stage_steps: list[int] = []
    if ramp_steps > 0:
        born = block_stages(cfg, depth)
        stage_steps = [s for s, _ in resolve_stages(cfg)]
    by_key: dict[tuple[int, str], list] = {}
    for name, p in model.named_parameters():
        i = _block_index(name)
        key = (0 if i is None else born[i], classify(name, p))
        by_key.setdefault(key, []).append(p)
    groups = []
    for stage, role in sorted(by_key, key=lambda k: (k[0], P.ROLES.index(k[1]))):
        group = dict(
            params=by_key[(stage, role)], role=role, stage=stage, lr_mult=lr_mult[role], ramp=1.0,
            weight_decay=0.0 if role in ("vector", "final_norm") else cfg.weight_decay,
            eps=cfg.eps * eps_mult[role],
        )
        if stage > 0:
            group.update(ramp_start=stage_steps[stage - 1], ramp_steps=ramp_steps)
        elif ramp_scope == "all" and step is not None and any(s <= step for s in stage_steps):
            group.update(ramp_start=max(s for s in stage_steps if s <= step), ramp_steps=ramp_steps)
        if "ramp_start" in group and step is not None:
            group["ramp"] = ramp_factor(step, group["ramp_start"], ramp_steps)
        group["lr"] = cfg.lr * group["lr_mult"] * group["ramp"]
        groups.append(group)
    return groups


class MuonNSGD(torch.optim.Optimizer):
    """Muon on hidden matrices, normalized SGD on the rest, one shared LR.

    Momentum (both parts): Nesterov, buf <- mu*buf + g, m = g + mu*buf (mu = 0.95 by default,
    Jordan et al. 2024).  torch.optim.Muon keeps an EMA instead (buf <- mu*buf + (1-mu)*g,
    m = (1-mu)*g + mu*buf); the two m differ by the factor 1/(1-mu), which both updates below
    normalize away, so the directions are equal.

    Muon (hidden matrices): O = NewtonSchulz5(m), an approximately semi-orthogonal matrix, and
    the step is -lr * sqrt(fan_out/fan_in) * O.  Its spectral norm follows the spectral
    condition ||dW||_2 ~ sqrt(fan_out/fan_in) (Yang, Simon & Bernstein 2023, eq. 3); for a
    hidden matrix of the muP family this is the update size that keeps feature learning
    width-independent.  torch.optim.Muon's default ("original") factor is
    sqrt(max(1, fan_out/fan_in)): the same for square and tall matrices (attention, MLP
    up-projection), larger by sqrt(fan_in/fan_out) for wide ones (the MLP down-projection,
    where ours is 0.5 at d x 4d).  The fused attention matrix c_attn (3d x d) is
    orthogonalized as three d x d matrices q, k and v (`split`), as the reference
    implementations hold them, not as one 3d x d matrix.

    Normalized SGD (embeddings, vectors, final norm): step -lr * nsgd_lr_mult * m / rms(m),
    i.e. every coordinate moves by about lr (`nsgd_lr_mult` = 1: the paper's one shared LR).
    Decoupled weight decay lr * wd * w on every group with weight_decay > 0.

    The Newton-Schulz iteration runs in fp32 on CPU (CPUs without bf16 matmul units run bf16
    ~20x slower) and in bf16 on CUDA, as torch.optim.Muon does everywhere.

    Batched step.  A step dispatches a number of tensor ops that does not grow with the
    number of parameters, since on a GPU each op costs host time whatever its size: one
    parameter at a time, with one Newton-Schulz per matrix, the recipe at d = 128, L = 4
    dispatches ~1,660 aten ops per step, four times its forward and backward pass; batched,
    86 (`progtheory bench` counts them).  The momentum, weight decay, rms normalization and
    the final update run as `torch._foreach_*` ops over every parameter at once; the hidden
    matrices are stacked by shape (tall ones transposed, so the MLP's d x 4d and 4d x d
    matrices share one stack) and orthogonalized by one batched Newton-Schulz per stack,
    each matrix normalized by its own Frobenius norm, so each gets the update it would get
    alone.  The state is one `momentum_buffer` per parameter (torch.optim.SGD's format).
    """

    _NS = (3.4445, -4.7750, 2.0315)  # quintic Newton-Schulz coefficients (Jordan et al. 2024)

    def __init__(self, params, lr: float, momentum: float = 0.95, weight_decay: float = 0.0,
                 ns_steps: int = 5, nsgd_lr_mult: float = 1.0, split: dict | None = None):
        """`split` maps a hidden parameter to the number of equal row blocks it is
        orthogonalized in (3 for a fused q, k, v matrix); others are one block."""
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay,
                                      ns_steps=ns_steps, nsgd_lr_mult=nsgd_lr_mult))
        self._split = {id(p): n for p, n in (split or {}).items()}

    @staticmethod
    def orthogonalize(G: torch.Tensor, steps: int) -> torch.Tensor:
        """NewtonSchulz5 of a matrix (m, n) or of each matrix of a stack (..., m, n), each
        normalized by its own Frobenius norm first; tall matrices are iterated transposed
        (the Gram matrix X X^T is then min(m, n) square)."""
        a, b, c = MuonNSGD._NS
        X = G.to(torch.bfloat16 if G.is_cuda else torch.float32).reshape(-1, *G.shape[-2:])
        tall = X.size(1) > X.size(2)
        if tall:
            X = X.mT
        X = X / (X.norm(dim=(1, 2), keepdim=True) + 1e-7)
        for _ in range(steps):
            A = torch.bmm(X, X.mT)
            B = torch.baddbmm(A, A, A, beta=b, alpha=c)   # b*A + c*A@A
            X = torch.baddbmm(X, B, X, beta=a)             # a*X + B@X
        return (X.mT if tall else X).reshape(G.shape).to(G.dtype)

    def muon_update(self, m: torch.Tensor, n_split: int, ns_steps: int) -> torch.Tensor:
        """Orthogonalized, shape-scaled update of a hidden matrix (row blocks separately)."""
        blocks = m.unflatten(0, (n_split, -1))
        O = self.orthogonalize(blocks, ns_steps) * P.muon_step_scale(*blocks.shape[1:])  # theory: step size
        return O.flatten(0, 1)

    def _momentum_buffer(self, p: torch.Tensor) -> torch.Tensor:
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(p)
        return state["momentum_buffer"]

    @torch.no_grad()
    def step(self, closure=None):
        live = [(p, g) for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not live:
            return None
        params, grads = [p for p, _ in live], [p.grad for p, _ in live]
        mus = [g["momentum"] for _, g in live]
        bufs = [self._momentum_buffer(p) for p in params]
        torch._foreach_mul_(bufs, mus)
        torch._foreach_add_(bufs, grads)        # buf <- mu*buf + g
        ms = torch._foreach_mul(bufs, mus)
        torch._foreach_add_(ms, grads)          # Nesterov: m = g + mu*buf
        decay = [(p, 1.0 - g["lr"] * g["weight_decay"]) for p, g in live if g["weight_decay"]]
        if decay:
            torch._foreach_mul_([p for p, _ in decay], [f for _, f in decay])
        hidden = [i for i, (_, g) in enumerate(live) if g["role"] == "hidden"]
        rest = [i for i, (_, g) in enumerate(live) if g["role"] != "hidden"]
        targets, updates, coefs = self._muon_updates([(params[i], ms[i], live[i][1]) for i in hidden])
        if rest:
            m_rest = [ms[i] for i in rest]
            rms = torch._foreach_norm(m_rest)
            torch._foreach_mul_(rms, [m.numel() ** -0.5 for m in m_rest])
            torch._foreach_add_(rms, 1e-12)
            torch._foreach_div_(m_rest, rms)    # m / rms(m)
            targets += [params[i] for i in rest]
            updates += m_rest
            coefs += [-live[i][1]["lr"] * live[i][1]["nsgd_lr_mult"] for i in rest]
        torch._foreach_mul_(updates, coefs)
        torch._foreach_add_(targets, updates)
        return None

    def _muon_updates(self, items: list[tuple]) -> tuple[list, list, list]:
        """(targets, updates, coefficients) of the hidden matrices: each (param, momentum,
        group) becomes its row blocks (`split`), the blocks are stacked by shape, tall ones
        transposed, and orthogonalized in one batched call per stack; target t then moves by
        coefficient * update, coefficient = -lr * sqrt(fan_out/fan_in)."""
        stacks: dict[tuple, list] = {}
        for p, m, group in items:
            n = self._split.get(id(p), 1)
            blocks = zip(p.chunk(n), m.chunk(n)) if n > 1 else [(p, m)]
            for block, m_block in blocks:
                fan_out, fan_in = m_block.shape
                key = (min(fan_out, fan_in), max(fan_out, fan_in), group["ns_steps"], m.device, m.dtype)
                coef = -group["lr"] * P.muon_step_scale(fan_out, fan_in)  # theory: step size
                stacks.setdefault(key, []).append((fan_out > fan_in, block, m_block, coef))
        targets, updates, coefs = [], [], []
        for key, entries in stacks.items():
            entries.sort(key=lambda e: e[0])  # wide first, then tall
            n_wide = sum(not tall for tall, *_ in entries)
            O = self.orthogonalize(torch.stack([m.mT if tall else m for tall, _, m, _ in entries]), key[2])
            if n_wide:
                updates += (O if n_wide == len(entries) else O[:n_wide]).unbind(0)
            if n_wide < len(entries):
                updates += (O if n_wide == 0 else O[n_wide:]).mT.contiguous().unbind(0)
            targets += [block for _, block, _, _ in entries]
            coefs += [coef for *_, coef in entries]
        return targets, updates, coefs


def build_optimizer(model: nn.Module, cfg: TrainConfig, step: int | None = None) -> torch.optim.Optimizer:
    """Fresh optimizer over every parameter of `model`, grouped by `param_groups`.

    For a progressive run `model` must have one of the plan's depths (source or a stage
    depth); the groups are those `progtheory.core.growth.grow` leaves after growing to that
    depth, and `step` (the step about to be taken) sets the new-parameter LR ramps.  To
    resume: ``model = GPT(cfg.model, depth=saved_depth); model.load_state_dict(...);
    opt = build_optimizer(model, cfg, step); opt.load_state_dict(saved)``.
    """
    groups = param_groups(model, cfg, step)
    if cfg.optimizer == "adamw":
        # one fused kernel per step on CUDA (the default foreach path launches several per group)
        fused = next(model.parameters()).is_cuda or None
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps, fused=fused)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "muon":
        split = {block.attn.c_attn.weight: 3 for block in model.blocks}  # fused q, k, v
        return MuonNSGD(groups, lr=cfg.lr, momentum=cfg.muon_momentum, weight_decay=cfg.weight_decay,
                        nsgd_lr_mult=cfg.nsgd_lr_mult, split=split)
    raise ValueError(f"optimizer={cfg.optimizer!r} is unknown; choose adamw, sgd or muon")


def ramp_factor(step: int, start: int, steps: int) -> float:
    """LR ramp of parameters created at step `start`: min(1, (step - start + 1) / steps).

    Same convention as the schedules' warmup (`progtheory.theory.schedules`): the first
    step after growth (step == start) uses 1/steps, step start + steps - 1 uses 1, and no
    step uses exactly 0.  Steps before `start` give 0 (the parameters do not exist yet).
    """
    if steps <= 0:
        raise ValueError(f"ramp steps={steps} must be > 0 (use no ramp instead of a 0-step ramp)")
    return float(min(1.0, max(0.0, (step - start + 1) / steps)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float, step: int | None = None) -> None:
    """Apply the scheduled LR `lr` (= cfg.lr * schedule factor) to every group:
    ``group["lr"] = lr * group["lr_mult"] * group["ramp"]``.

    With `step`, groups that carry a ramp (new parameters under `growth.rewarmup_steps`)
    first update it to `ramp_factor(step, ...)`; without it the last ramp is kept.
    """
    for group in optimizer.param_groups:
        if step is not None and group.get("ramp_steps"):
            group["ramp"] = ramp_factor(step, group["ramp_start"], group["ramp_steps"])
        group["lr"] = lr * group["lr_mult"] * group.get("ramp", 1.0)
