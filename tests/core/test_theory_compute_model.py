"""The analytic parameter count matches the torch model."""

import pytest

torch = pytest.importorskip("torch")

from progtheory.config import GPTConfig  # noqa: E402
from progtheory.core.model import GPT  # noqa: E402
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


@pytest.mark.parametrize("cfg", CONFIGS)
def test_exact_flop_count_matches_torch_flop_counter(cfg):
    """torch's FlopCounterMode counts the matmuls of one training step (forward + backward).
    On CPU it does not see the fused attention kernel, so its count is compared with the
    formula minus `attention_scores`, and the scores term with a plain-matmul reference."""
    from torch.utils.flop_counter import FlopCounterMode

    from progtheory.theory.compute import flops_breakdown

    model = GPT(cfg)
    B, T = 2, cfg.block_size
    x = torch.randint(0, cfg.vocab_size, (B, T))
    with FlopCounterMode(display=False) as counter:
        _, loss = model(x, x)
        loss.backward()
    parts = flops_breakdown(cfg)
    expected = (flops_per_token(cfg, convention="exact") - parts["attention_scores"]) * B * T
    assert counter.get_total_flops() == pytest.approx(expected, rel=1e-9)

    # the scores term: one layer's QK^T and AV as plain matmuls, forward + backward, all inputs trainable
    d_h = cfg.n_embd // cfg.n_head
    q, k, v = (torch.randn(B, cfg.n_head, T, d_h, requires_grad=True) for _ in range(3))
    with FlopCounterMode(display=False) as ref:
        ((q @ k.transpose(-1, -2)).softmax(-1) @ v).sum().backward()
    assert parts["attention_scores"] * B * T == pytest.approx(cfg.n_layer * ref.get_total_flops(), rel=1e-9)
