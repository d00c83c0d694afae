"""The analytic parameter count matches the torch model."""

import pytest

torch = pytest.importorskip("torch")

from progtheory.config import GPTConfig  # noqa: E402
from progtheory.model import GPT  # noqa: E402
from progtheory.theory.compute import flops_per_token, param_count  # noqa: E402

CONFIGS = [
    GPTConfig(vocab_size=256, block_size=32, n_layer=0, n_head=2, n_embd=16),
    GPTConfig(vocab_size=256, block_size=32, n_layer=1, n_head=2, n_embd=16),
    GPTConfig(vocab_size=300, block_size=16, n_layer=3, n_head=4, n_embd=32, bias=False),
    GPTConfig(vocab_size=512, block_size=64, n_layer=2, n_head=2, n_embd=48, parametrization="depth-mup"),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_param_count_formula_matches_numel(cfg):
    model = GPT(cfg)
    assert param_count(cfg) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg", CONFIGS)
def test_param_count_at_a_smaller_built_depth_matches_numel(cfg):
    model = GPT(cfg, depth=0)
    assert param_count(cfg, depth=0) == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("cfg", CONFIGS)
def test_six_n_flops_equal_six_times_numel(cfg):
    assert flops_per_token(cfg, convention="6N") == 6 * sum(p.numel() for p in GPT(cfg).parameters())
