"""The GPT at depths 0..3: shapes, causality, and the 0-layer model's bigram structure."""

import math

import pytest
import torch

from progtheory.config import GPTConfig
from progtheory.core.model import GPT

CFG = GPTConfig(vocab_size=64, block_size=16, n_layer=3, n_head=2, n_embd=32, base_width=32)


def _tokens(seed: int, batch: int = 2, length: int = 16) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, CFG.vocab_size, (batch, length), generator=g)


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_forward_gives_logits_of_shape_batch_time_vocab_and_a_finite_loss(depth):
    torch.manual_seed(0)
    model = GPT(CFG, depth=depth)
    x, y = _tokens(1), _tokens(2)
    logits, loss = model(x, y)
    assert model.depth == len(model.blocks) == depth
    assert logits.shape == (2, 16, CFG.vocab_size)
    assert loss.ndim == 0 and torch.isfinite(loss)
    # small init (std 0.02) gives near-zero logits, so the loss starts near ln V
    assert abs(loss.item() - math.log(CFG.vocab_size)) < 0.1


def test_forward_without_targets_returns_no_loss():
    logits, loss = GPT(CFG, depth=1)(_tokens(0))
    assert loss is None and logits.shape[-1] == CFG.vocab_size


def test_zero_layer_prediction_depends_only_on_the_current_token_and_position():
    torch.manual_seed(0)
    model = GPT(CFG, depth=0)
    x = _tokens(3)
    other = _tokens(4)
    t = 7
    other[:, t] = x[:, t]   # same token at position t, everything else different
    with torch.no_grad():
        a, _ = model(x)
        b, _ = model(other)
    assert torch.equal(a[:, t], b[:, t])
    assert not torch.equal(a[:, t + 1], b[:, t + 1])


def test_zero_layer_prediction_changes_with_position_for_the_same_token():
    torch.manual_seed(0)
    model = GPT(CFG, depth=0)
    x = torch.full((1, 16), 5)
    with torch.no_grad():
        logits, _ = model(x)
    assert not torch.equal(logits[0, 2], logits[0, 9])


def test_one_layer_prediction_depends_on_earlier_tokens():
    """The contrast to the 0-layer test: attention mixes in the past."""
    torch.manual_seed(0)
    model = GPT(CFG, depth=1)
    x = _tokens(3)
    other = x.clone()
    other[:, 0] = (x[:, 0] + 1) % CFG.vocab_size
    with torch.no_grad():
        a, _ = model(x)
        b, _ = model(other)
    assert not torch.allclose(a[:, 7], b[:, 7])


@pytest.mark.parametrize("depth", [0, 2])
def test_prediction_ignores_future_tokens(depth):
    torch.manual_seed(0)
    model = GPT(CFG, depth=depth)
    x = _tokens(5)
    other = x.clone()
    other[:, 10:] = (x[:, 10:] + 1) % CFG.vocab_size
    with torch.no_grad():
        a, _ = model(x)
        b, _ = model(other)
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)


def test_sequence_longer_than_the_context_is_refused():
    with pytest.raises(ValueError, match="block_size"):
        GPT(CFG, depth=0)(torch.zeros(1, CFG.block_size + 1, dtype=torch.long))


def test_negative_depth_is_refused():
    with pytest.raises(ValueError, match="depth=-1"):
        GPT(CFG, depth=-1)
