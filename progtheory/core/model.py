"""A GPT-2 that may have zero blocks, with its scaling supplied by the theory module.

Reads top to bottom: attention, MLP, block, model.  Every theory-driven choice is
marked `# theory:` and points at `progtheory.theory.parametrization`.

Depth 0 is embeddings -> final LayerNorm -> tied head: the logits at position t depend
only on token t and position t (a bigram-like model).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from progtheory.config import GPTConfig
from progtheory.theory import parametrization as P
from progtheory.theory.init_scale import spectral_std


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=cfg.bias)  # fused q, k, v
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=cfg.bias)      # residual output

    def forward(self, x_BxTxD: torch.Tensor) -> torch.Tensor:
        B, T, D = x_BxTxD.shape
        q, k, v = self.c_attn(x_BxTxD).split(D, dim=2)
        # (B, T, D) -> (B, H, T, D/H)
        q, k, v = (t.view(B, T, self.n_head, D // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.c_proj(y.transpose(1, 2).reshape(B, T, D))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd, bias=cfg.bias)
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd, bias=cfg.bias)  # residual output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    """Pre-LN block: x + m*attn(ln(x)), then x + m*mlp(ln(x)).

    `branch_scale` m is a buffer (saved with the model): it is set from the depth rule at
    construction and may be changed by growth (see `progtheory.core.growth`).
    """

    def __init__(self, cfg: GPTConfig, branch_scale: float = 1.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        self.mlp = MLP(cfg)
        self.register_buffer("branch_scale", torch.tensor(float(branch_scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.branch_scale
        if m.device.type == "cpu" and not torch.compiler.is_compiling() and float(m) == 1.0:
            # m = 1 (sp, or the base depth): skip a pass over B*T*D per branch, forward and backward
            x = x + self.attn(self.ln_1(x))
            return x + self.mlp(self.ln_2(x))
        x = x + m * self.attn(self.ln_1(x))
        return x + m * self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """GPT-2 with tied embedding/head and learned positions.

    `depth` (default `cfg.n_layer`) is the number of blocks actually built; a progressive
    run builds the source depth and grows to `cfg.n_layer` with `progtheory.expand`.
    """

    def __init__(self, cfg: GPTConfig, depth: int | None = None):
        super().__init__()
        self.cfg = cfg
        depth = cfg.n_layer if depth is None else depth
        if depth < 0:
            raise ValueError(f"depth={depth} must be >= 0")
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.ln_f = nn.LayerNorm(cfg.n_embd, bias=cfg.bias)
        # The parameters every depth shares are drawn first, before any block exists, so a
        # fixed and a progressive run of one seed start from the same embeddings.
        self.apply(self._init_weights)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(depth))
        # theory: muP readout multiplier (1 under sp); the head weight is wte (tied)
        self.logit_scale = P.output_multiplier(cfg.parametrization, cfg.n_embd, cfg.base_width)
        for block in self.blocks:
            self.init_block(block, depth)
        self.set_branch_scales(depth)

    # -- parametrization ------------------------------------------------------------------

    @property
    def depth(self) -> int:
        return len(self.blocks)

    def _std(self, kind: str, depth: int, shape: tuple[int, int] | None = None) -> float:
        c = self.cfg
        if c.hidden_init == "spectral" and kind != "embedding":
            return spectral_std(*shape)  # theory: ||W||_2 ~ sqrt(fan_out/fan_in), depth-free
        return P.init_std(kind, parametrization=c.parametrization, depth=depth, width=c.n_embd,
                          base_width=c.base_width, std=c.init_std)

    def _init_weights(self, module: nn.Module) -> None:
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=self._std("embedding", self.cfg.n_layer))  # theory: init_std
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def init_block(self, block: Block, depth: int, generator: torch.Generator | None = None) -> None:
        """Fresh init of one block as the parametrization prescribes for a model of `depth`
        (`hidden_init="spectral"`: every matrix at `spectral_std(fan_out, fan_in)`, q, k and
        v as three d x d matrices, the same at every depth, since the residual multiplier
        carries the depth rule)."""
        for name, p in block.named_parameters():
            if p.ndim == 2:
                kind = "hidden_out" if name.endswith("c_proj.weight") else "hidden_in"
                with torch.no_grad():
                    shape = (p.shape[0] // 3, p.shape[1]) if name.endswith("c_attn.weight") else tuple(p.shape)
                    p.normal_(0.0, self._std(kind, depth, shape), generator=generator)  # theory: init_std
            elif name.endswith("bias"):
                nn.init.zeros_(p)
            else:
                nn.init.ones_(p)

    def residual_scale(self, depth: int) -> float:
        """theory: residual_multiplier (L/L0)^-alpha of the parametrization at `depth`."""
        c = self.cfg
        alpha = P.depth_alpha(c.parametrization, c.alpha)
        return P.residual_multiplier(depth, c.base_depth, alpha)

    def set_branch_scales(self, depth: int | None = None) -> None:
        scale = self.residual_scale(self.depth if depth is None else depth)
        for block in self.blocks:
            block.branch_scale.fill_(scale)

    # -- forward --------------------------------------------------------------------------

    def forward(self, idx_BxT: torch.Tensor, targets_BxT: torch.Tensor | None = None):
        B, T = idx_BxT.shape
        if T > self.cfg.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size={self.cfg.block_size}")
        pos = torch.arange(T, device=idx_BxT.device)
        x = self.wte(idx_BxT) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        logits_BxTxV = F.linear(self.ln_f(x), self.wte.weight)
        if self.logit_scale != 1.0:  # skipped under sp: a pass over B*T*V, forward and backward
            logits_BxTxV = self.logit_scale * logits_BxTxV
        if targets_BxT is None:
            return logits_BxTxV, None
        # the loss in fp32: a no-op for fp32 logits, an upcast of bf16 ones under autocast
        loss = F.cross_entropy(logits_BxTxV.flatten(0, 1).float(), targets_BxT.flatten())
        return logits_BxTxV, loss

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
