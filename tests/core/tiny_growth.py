"""Tiny configs, models, batches and training steps shared by the growth tests."""

from __future__ import annotations

import torch

from progtheory.config import GPTConfig, GrowthPlan, TrainConfig
from progtheory.core.model import GPT
from progtheory.core.optim import set_lr

V, T, D = 64, 16, 32


def model_cfg(parametrization: str = "sp", n_layer: int = 4, bias: bool = True) -> GPTConfig:
    return GPTConfig(vocab_size=V, block_size=T, n_layer=n_layer, n_head=2, n_embd=D, bias=bias,
                     parametrization=parametrization, base_width=D)


def train_cfg(source: int = 1, stages=((20, 4),), parametrization: str = "sp", optimizer: str = "adamw",
              **plan) -> TrainConfig:
    return TrainConfig(model=model_cfg(parametrization, n_layer=stages[-1][1]), steps=40, lr=1e-2,
                       optimizer=optimizer, weight_decay=0.1, seed=0,
                       growth=GrowthPlan(source_depth=source, stages=stages, **plan))


def built(mcfg: GPTConfig, depth: int, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    return GPT(mcfg, depth=depth)


def as_if_trained(model: GPT, seed: int = 3) -> GPT:
    """Perturb every parameter, so biases and LayerNorms are no longer at their 0/1 init."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model


def batch(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (4, T), generator=g), torch.randint(0, V, (4, T), generator=g)


def train_steps(model, opt, steps, start: int = 0, lr: float = 1e-2):
    for t in range(start, start + steps):
        set_lr(opt, lr, step=t)
        x, y = batch(seed=t)
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def gen(seed: int = 7) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def block_params(block) -> dict[str, torch.Tensor]:
    return dict(block.named_parameters())
