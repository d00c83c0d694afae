"""Optimizers with parameter groups by role (embedding / hidden / vector).

Every parameter is classified or `classify` raises.  Each group carries `lr_mult` and
(AdamW) an eps multiplier from `progtheory.theory.parametrization`; the trainer sets
`group["lr"] = lr * schedule(t) * group["lr_mult"]` every step.

Optimizers:
  * ``adamw``  torch.optim.AdamW; weight decay on embedding and hidden matrices only.
  * ``sgd``    torch.optim.SGD with momentum.
  * ``muon``   Muon-NSGD (the paper's optimizer): Muon on hidden matrices, normalized SGD on
               embeddings and vectors, one shared LR (`MuonNSGD` below).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from progtheory.config import TrainConfig
from progtheory.theory import parametrization as P


def classify(name: str, p: torch.Tensor) -> str:
    """Role of a parameter by its name and shape; raises for anything unexpected."""
    if name in ("wte.weight", "wpe.weight"):
        return "embedding"
    if name.startswith("blocks.") and p.ndim == 2:
        return "hidden"
    if p.ndim == 1 and (name.startswith("blocks.") or name.startswith("ln_f.")):
        return "vector"
    raise ValueError(f"parameter {name!r} with shape {tuple(p.shape)} has no role; "
                     f"extend progtheory.optim.classify before training this model")


def param_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """One group per role present in `model`, with the parametrization's multipliers."""
    m = cfg.model
    depth = len(model.blocks)
    kw = dict(depth=depth, base_depth=m.base_depth, width=m.n_embd, base_width=m.base_width, alpha=m.alpha)
    lr_mult = P.lr_multipliers(m.parametrization, cfg.optimizer, **kw)  # theory: per-group LR
    eps_mult = P.adam_eps_multipliers(m.parametrization, **kw)          # theory: Adam eps
    by_role: dict[str, list] = {r: [] for r in P.ROLES}
    for name, p in model.named_parameters():
        by_role[classify(name, p)].append(p)
    groups = []
    for role, params in by_role.items():
        if not params:
            continue
        groups.append(dict(
            params=params, role=role, lr_mult=lr_mult[role], lr=cfg.lr * lr_mult[role],
            weight_decay=0.0 if role == "vector" else cfg.weight_decay,
            eps=cfg.eps * eps_mult[role],
        ))
    return groups


class MuonNSGD(torch.optim.Optimizer):
    """Muon on hidden matrices, normalized SGD on the rest, one shared LR.

    Muon (Jordan et al. 2024): momentum m (Nesterov), update O = NewtonSchulz5(m), an
    approximately orthogonal matrix; step -lr * sqrt(fan_out/fan_in) * O, so the update's
    spectral norm follows the spectral condition ||dW|| ~ sqrt(fan_out/fan_in)
    (Yang, Simon & Bernstein 2023).  Normalized SGD: step -lr * m / rms(m), i.e. every
    coordinate moves by about lr.  Decoupled weight decay lr * wd * w.

    torch.optim.Muon exists but orthogonalizes in bf16, which CPUs without bf16 matmul
    units run ~20x slower than fp32; here the iteration runs in fp32 on CPU, bf16 on CUDA.
    """

    _NS = (3.4445, -4.7750, 2.0315)  # quintic Newton-Schulz coefficients (Jordan et al. 2024)

    def __init__(self, params, lr: float, momentum: float = 0.95, weight_decay: float = 0.0, ns_steps: int = 5):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, ns_steps=ns_steps))

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

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = torch.zeros_like(p)
                buf = state["momentum_buffer"]
                buf.mul_(mu).add_(p.grad)
                m = p.grad.add(buf, alpha=mu)  # Nesterov
                if group["role"] == "hidden":
                    fan_out, fan_in = p.shape
                    update = self.orthogonalize(m, group["ns_steps"]) * math.sqrt(fan_out / fan_in)
                else:
                    update = m / (m.pow(2).mean().sqrt() + 1e-12)
                if wd:
                    p.mul_(1 - lr * wd)
                p.add_(update, alpha=-lr)
        return None


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    groups = param_groups(model, cfg)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), eps=cfg.eps)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    if cfg.optimizer == "muon":
        return MuonNSGD(groups, lr=cfg.lr, momentum=cfg.momentum)
    raise ValueError(f"optimizer={cfg.optimizer!r} is unknown; choose adamw, sgd or muon")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Apply the scheduled peak-relative LR `lr` to every group through its multiplier."""
    for group in optimizer.param_groups:
        group["lr"] = lr * group["lr_mult"] * group.get("ramp", 1.0)
