"""Block ablation on a tiny GPT (progtheory.train.ablation)."""

import pytest

torch = pytest.importorskip("torch")

from progtheory.config import GPTConfig  # noqa: E402
from progtheory.core.model import GPT  # noqa: E402
from progtheory.train.ablation import block_ablation  # noqa: E402


def _model():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=32, block_size=16, n_layer=3, n_head=2, n_embd=16, base_width=16), depth=3)
    with torch.no_grad():  # block 1 adds nothing: both output projections zero
        for lin in (model.blocks[1].attn.c_proj, model.blocks[1].mlp.c_proj):
            lin.weight.zero_()
            lin.bias.zero_()
    x = torch.randint(0, 32, (4, 16), generator=torch.Generator().manual_seed(1))
    return model, [(x[:, :-1], x[:, 1:])]


def test_a_block_that_adds_nothing_costs_nothing_and_the_others_are_measured():
    model, batches = _model()
    out = block_ablation(model, batches)
    with torch.no_grad():
        assert out["loss"] == pytest.approx(float(model(*batches[0])[1]))
    assert out["ablation"][1] == 0.0
    assert out["ablation"][0] != 0.0 and out["ablation"][2] != 0.0


def test_the_model_is_left_as_it_was():
    model, batches = _model()
    blocks = list(model.blocks)
    model.train()
    block_ablation(model, batches)
    assert list(model.blocks) == blocks and model.training
