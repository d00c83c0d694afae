"""Parameter and FLOP accounting (progtheory.theory.compute)."""

import numpy as np
import pytest

from progtheory.config import GPTConfig
from progtheory.theory import compute as C

GPT2_SMALL = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
GPT2_7B = GPTConfig(vocab_size=50257, block_size=1024, n_layer=60, n_head=24, n_embd=3072)


def test_gpt2_124m_has_the_published_parameter_count():
    assert C.param_count(GPT2_SMALL) == 124_439_808


@pytest.mark.parametrize("cfg, depth, paper, last_digit", [
    (GPT2_SMALL, 0, 39e6, 1e6), (GPT2_SMALL, 1, 46e6, 1e6), (GPT2_SMALL, 12, 124e6, 1e6),
    (GPT2_7B, 0, 0.158e9, 1e6), (GPT2_7B, 1, 0.271e9, 1e6), (GPT2_7B, 60, 6.96e9, 1e7),
])
def test_paper_model_sizes_are_reproduced(cfg, depth, paper, last_digit):
    # within 1%, or within the rounding of the paper's printed figure: 46.47M prints as "46M"
    # yet sits 1.03% above 46M
    n = C.param_count(cfg, depth)
    assert abs(n - paper) <= max(0.01 * paper, last_digit / 2)


def test_breakdown_sums_to_the_total_and_blocks_cost_12d2_plus_13d():
    cfg = GPTConfig(vocab_size=300, block_size=32, n_layer=3, n_head=2, n_embd=16)
    parts = C.param_breakdown(cfg)
    assert sum(parts.values()) == C.param_count(cfg)
    d = cfg.n_embd
    assert C.param_count(cfg, 1) - C.param_count(cfg, 0) == 12 * d * d + 13 * d
    no_bias = GPTConfig(vocab_size=300, block_size=32, n_layer=3, n_head=2, n_embd=16, bias=False)
    assert C.param_count(no_bias, 1) - C.param_count(no_bias, 0) == 12 * d * d + 2 * d


def test_six_n_convention_is_six_times_the_parameter_count():
    assert C.flops_per_token(GPT2_SMALL, convention="6N") == 6 * C.param_count(GPT2_SMALL)
    assert C.flops_per_token(GPT2_SMALL, 0, "6N_nonembed") == 6 * 2 * 768  # only ln_f remains


def test_exact_flops_count_attention_scores_and_head():
    cfg = GPTConfig(vocab_size=100, block_size=64, n_layer=2, n_head=2, n_embd=32)
    d, T, L, V = 32, 64, 2, 100
    expected = 6 * L * 12 * d * d + 12 * L * T * d + 6 * d * V
    assert C.flops_per_token(cfg) == expected
    causal = C.flops_per_token(cfg, attention="causal")
    assert expected - causal == pytest.approx(12 * L * (T - (T + 1) / 2) * d)


def test_zero_layer_exact_cost_is_the_head_alone():
    assert C.flops_per_token(GPT2_SMALL, 0) == 6 * 768 * 50257


def test_single_stage_savings_in_6n_match_the_closed_form():
    res = C.progressive_savings(GPT2_SMALL, 0, [(800, 12)], 1000, "6N")
    closed = C.savings_6n(0.8, C.param_count(GPT2_SMALL, 0), C.param_count(GPT2_SMALL))
    assert res["savings"] == pytest.approx(closed, rel=1e-12)
    assert res["speedup"] == pytest.approx(1 / (1 - closed))


def test_paper_five_fold_speedup_needs_the_nonembedding_convention():
    kaplan = C.progressive_savings(GPT2_SMALL, 0, [(800, 12)], 1000, "6N_nonembed")
    all_params = C.progressive_savings(GPT2_SMALL, 0, [(800, 12)], 1000, "6N")
    assert kaplan["speedup"] == pytest.approx(5.0, rel=0.01)
    assert all_params["speedup"] == pytest.approx(2.2, rel=0.02)


def test_savings_increase_with_tau_and_decrease_with_source_size():
    u = np.linspace(0, 1, 11)
    s = C.savings_6n(u, 10.0, 100.0)
    assert s[0] == 0 and np.all(np.diff(s) > 0)
    ns = np.array([0.0, 10.0, 50.0, 100.0])
    assert np.all(np.diff(C.savings_6n(0.8, ns, 100.0)) < 0)


def test_multi_stage_plan_costs_the_sum_of_its_stages():
    cfg = GPTConfig(vocab_size=100, block_size=16, n_layer=4, n_head=2, n_embd=16)
    f = lambda depth: C.flops_per_token(cfg, depth)  # noqa: E731
    total = C.progressive_flops(cfg, 0, [(30, 2), (60, 4)], 100, tokens_per_step=8)
    assert total == pytest.approx(8 * (30 * f(0) + 30 * f(2) + 40 * f(4)))
    one_jump = C.progressive_flops(cfg, 0, [(60, 4)], 100)
    assert C.progressive_flops(cfg, 0, [(30, 2), (60, 4)], 100) > one_jump


def test_train_config_flops_use_batch_tokens_and_resolved_stages():
    from progtheory.config import GrowthPlan, TrainConfig

    m = GPTConfig(vocab_size=100, block_size=16, n_layer=4, n_head=2, n_embd=16)
    cfg = TrainConfig(model=m, steps=100, batch_size=2, growth=GrowthPlan(source_depth=0, stages=((0.8, 4),)))
    res = C.train_config_flops(cfg)
    assert res["progressive"] == pytest.approx(2 * 16 * (80 * C.flops_per_token(m, 0) + 20 * C.flops_per_token(m, 4)))


@pytest.mark.parametrize("kwargs, match", [
    (dict(convention="flops"), "convention='flops'"),
    (dict(depth=-1), "depth=-1"),
    (dict(attention="half"), "attention='half'"),
])
def test_bad_arguments_raise_naming_the_value(kwargs, match):
    with pytest.raises(ValueError, match=match):
        C.flops_per_token(GPT2_SMALL, **kwargs)


def test_bad_growth_plans_raise():
    with pytest.raises(ValueError, match="step 1200"):
        C.progressive_flops(GPT2_SMALL, 0, [(1200, 12)], 1000)
    with pytest.raises(ValueError, match="depth 0"):
        C.progressive_flops(GPT2_SMALL, 1, [(500, 0)], 1000)
    with pytest.raises(ValueError, match="tau_frac"):
        C.savings_6n(1.5, 1.0, 2.0)
