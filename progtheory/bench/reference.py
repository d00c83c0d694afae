"""The yardstick of the benchmark: the plainest GPT-2 of a given shape, with no parametrization."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from progtheory.config import GPTConfig


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
