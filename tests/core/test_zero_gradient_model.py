"""The sympy dead-gradient derivation (theory.dead_gradients.gradient_vanishes) agrees with the
gradients of real new blocks inserted by `progtheory.expand`."""

import pytest
import torch

from progtheory import GPT, GPTConfig, expand
from progtheory.theory import dead_gradients as D


@pytest.mark.parametrize("init", ["zero", "copy_zero", "random_zero_out"])
@pytest.mark.parametrize("bias", [True, False])
def test_symbolic_dead_gradients_match_the_model(init, bias):
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=64, block_size=16, n_layer=3, n_head=2, n_embd=32, bias=bias, base_width=32)
    model = GPT(cfg, depth=1)
    expand(model, 3, init=init, generator=torch.Generator().manual_seed(1))
    x = torch.randint(0, 64, (4, 16))
    _, loss = model(x, torch.roll(x, -1, dims=1))
    loss.backward()
    predicted = D.gradient_vanishes(init, bias=bias)
    new_block = model.blocks[2]
    measured = {name: bool(torch.all(p.grad == 0)) for name, p in new_block.named_parameters()}
    assert measured == predicted
