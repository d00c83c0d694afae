"""Block ablation: how much a trained model's loss rises when one of its blocks is skipped.

Skipping block i replaces it by the identity (the residual stream passes it unchanged), so the
cost a_i = L(without block i) - L measures how much everything downstream depends on what block
i writes into the stream (layer dropping as in Gromov et al. 2024, "The unreasonable
ineffectiveness of the deeper layers").  A grown model whose new blocks cost little to drop
uses them as refinements of the old ones rather than as layers of their own.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from progtheory.core.model import GPT


@torch.no_grad()
def block_ablation(model: GPT, batches) -> dict:
    """{"loss": mean cross-entropy of `model` over `batches` ((inputs, targets) pairs), "ablation":
    [a_i]}: a_i the mean loss with block i skipped less "loss".  The model is left as it was
    (its blocks restored, its train/eval mode kept)."""
    was_training = model.training
    model.eval()

    def loss() -> float:
        return sum(float(model(x, y)[1]) for x, y in batches) / len(batches)

    try:
        full, costs = loss(), []
        for i in range(len(model.blocks)):
            block = model.blocks[i]
            model.blocks[i] = nn.Identity()
            try:
                costs.append(loss() - full)
            finally:
                model.blocks[i] = block
    finally:
        model.train(was_training)
    return {"loss": full, "ablation": costs}
