"""Depth expansion (`progtheory.expand`): layouts, function preservation, multipliers of old blocks,
gradients of zero blocks, parameter and FLOP counts, noisy copies."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import progtheory
from progtheory.config import GrowthPlan
from progtheory.core import growth
from progtheory.core.optim import build_optimizer, set_lr
from progtheory.theory import compute
from progtheory.theory import parametrization as P

from tiny_growth import D, T, V, as_if_trained, batch, block_params, built, gen, model_cfg, train_cfg

FUNCTION_PRESERVING = ("zero", "copy_zero", "random_zero_out")


# ----------------------------------------------------------------------------- layouts

@pytest.mark.parametrize("init, placement, k, L, expected", [
    ("copy_stack", "end", 2, 5, "old0 old1 copy0 copy1 copy0"),
    ("copy_inter", "interleave", 2, 5, "old0 copy0 copy0 old1 copy1"),
    ("copy_inter", "end", 2, 5, "old0 old1 copy0 copy0 copy1"),
    ("copy_stack", "interleave", 2, 5, "old0 copy0 copy0 old1 copy1"),
    ("copy_last", "end", 2, 4, "old0 old1 copy1 copy1"),
    ("copy_last", "interleave", 2, 4, "old0 old1 copy1 copy1"),
    ("copy", "end", 1, 4, "old0 copy0 copy0 copy0"),
    ("copy_zero", "end", 2, 4, "old0 old1 copy0 copy1"),
    ("random", "end", 0, 3, "fresh fresh fresh"),
    ("random", "interleave", 0, 3, "fresh fresh fresh"),
    ("random", "interleave", 2, 5, "old0 fresh fresh old1 fresh"),
    ("zero", "end", 1, 3, "old0 fresh fresh"),
])
def test_layout_follows_the_documented_order(init, placement, k, L, expected):
    assert " ".join(map(str, growth.expansion_layout(k, L, init, placement))) == expected


@pytest.mark.parametrize("init, placement", [("copy_stack", "end"), ("copy_inter", "interleave"),
                                             ("copy_last", "end"), ("random", "interleave")])
def test_expanded_model_holds_the_blocks_its_layout_names(init, placement):
    model = built(model_cfg(), depth=2)
    old = [{n: p.detach().clone() for n, p in b.named_parameters()} for b in model.blocks]
    old_objects = list(model.blocks)
    layout = progtheory.expand(model, 5, init, placement=placement, generator=gen())
    assert model.depth == 5 and len(layout) == 5
    for block, origin in zip(model.blocks, layout):
        if origin.kind == "old":
            assert block is old_objects[origin.source]
        elif origin.kind == "copy":
            assert block is not old_objects[origin.source]
            for name, p in block.named_parameters():
                assert torch.equal(p, old[origin.source][name])
                assert p.data_ptr() != block_params(old_objects[origin.source])[name].data_ptr()


def test_copy_strategies_layout_the_whole_model_as_stack_or_inter():
    model = built(model_cfg(), depth=2)
    w = [b.attn.c_attn.weight.detach().clone() for b in model.blocks]
    stack = built(model_cfg(), depth=2)
    progtheory.expand(stack, 5, "copy_stack")
    inter = built(model_cfg(), depth=2)
    progtheory.expand(inter, 5, "copy_inter", placement="interleave")

    def which(m):
        return [next(i for i in range(2) if torch.equal(b.attn.c_attn.weight, w[i])) for b in m.blocks]

    assert which(stack) == [0, 1, 0, 1, 0]
    assert which(inter) == [0, 0, 0, 1, 1]


# ----------------------------------------------------------------------------- function preservation
# Exactness: a zeroed output projection makes each new branch 0*h + 0, an exact zero, and
# x + 0 == x in IEEE arithmetic; the old blocks run the same operations as before, so
# torch.equal (bitwise) is the right check, not a tolerance.

@pytest.mark.parametrize("placement", ["end", "interleave"])
@pytest.mark.parametrize("init", FUNCTION_PRESERVING)
def test_function_preserving_inits_leave_the_logits_bitwise_unchanged(init, placement):
    model = as_if_trained(built(model_cfg(), depth=2))
    x, _ = batch()
    before, _ = model(x)
    progtheory.expand(model, 5, init, placement=placement, generator=gen())
    after, _ = model(x)
    assert torch.equal(before, after)


@pytest.mark.parametrize("init", ["zero", "random_zero_out"])
def test_function_preserving_inits_from_a_zero_layer_source_leave_the_logits_unchanged(init):
    model = built(model_cfg(), depth=0)
    x, _ = batch()
    before, _ = model(x)
    progtheory.expand(model, 3, init, generator=gen())
    assert torch.equal(before, model(x)[0])


@pytest.mark.parametrize("init", ["random", "copy"])
def test_random_and_copy_inits_change_the_logits(init):
    model = built(model_cfg(), depth=1)
    x, _ = batch()
    before, _ = model(x)
    progtheory.expand(model, 4, init, generator=gen())
    assert (model(x)[0] - before).abs().max() > 1e-3


def test_fresh_blocks_draw_only_from_the_given_generator():
    a, b = built(model_cfg(), depth=1), built(model_cfg(), depth=1)
    state = torch.get_rng_state()
    progtheory.expand(a, 3, "random", generator=gen(5))
    assert torch.equal(torch.get_rng_state(), state)
    progtheory.expand(b, 3, "random", generator=gen(5))
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.equal(pa, pb)


def test_random_blocks_use_the_init_scale_of_the_target_depth():
    model = built(model_cfg("sp"), depth=1)
    progtheory.expand(model, 4, "random", generator=gen())
    for block in list(model.blocks)[1:]:
        expect = P.init_std("hidden_out", parametrization="sp", depth=4, width=D, base_width=D)
        assert block.mlp.c_proj.weight.std().item() == pytest.approx(expect, rel=0.1)  # 4096 draws: ~1% error
        assert torch.equal(block.ln_1.weight, torch.ones(D))


# ----------------------------------------------------------------------------- old-block multipliers

def test_under_sp_every_old_block_policy_keeps_multiplier_one():
    for policy in growth.OLD_BLOCK_POLICIES:
        model = built(model_cfg("sp"), depth=2)
        progtheory.expand(model, 4, "zero", old_blocks=policy)
        assert all(float(b.branch_scale) == 1.0 for b in model.blocks)


def test_absorb_gives_every_block_the_new_multiplier_and_preserves_the_function():
    model = as_if_trained(built(model_cfg("depth-mup"), depth=2))
    x, _ = batch()
    before, _ = model(x)
    m_old, m_new = model.residual_scale(2), model.residual_scale(5)
    w_old = model.blocks[0].attn.c_proj.weight.detach().clone()
    progtheory.expand(model, 5, "zero", old_blocks="absorb")
    assert all(float(b.branch_scale) == pytest.approx(m_new) for b in model.blocks)
    assert torch.allclose(model.blocks[0].attn.c_proj.weight, w_old * (m_old / m_new))
    # one extra fp32 multiply per old projection: differences at the 1e-7 relative level
    assert (model(x)[0] - before).abs().max() < 1e-5


def test_keep_leaves_old_multipliers_and_the_function_bitwise_unchanged():
    model = as_if_trained(built(model_cfg("depth-mup"), depth=2))
    x, _ = batch()
    before, _ = model(x)
    progtheory.expand(model, 5, "zero", old_blocks="keep")
    scales = [float(b.branch_scale) for b in model.blocks]
    assert scales[:2] == pytest.approx([model.residual_scale(2)] * 2)
    assert scales[2:] == pytest.approx([model.residual_scale(5)] * 3)
    assert torch.equal(model(x)[0], before)


def test_rescale_shrinks_old_branches_and_changes_the_function():
    model = built(model_cfg("depth-mup"), depth=2)
    x, _ = batch()
    before, _ = model(x)
    progtheory.expand(model, 5, "zero", old_blocks="rescale")
    assert all(float(b.branch_scale) == pytest.approx(model.residual_scale(5)) for b in model.blocks)
    assert (model(x)[0] - before).abs().max() > 1e-3


def test_copies_under_absorb_compute_the_same_branch_as_their_source():
    model = as_if_trained(built(model_cfg("completep"), depth=1))
    progtheory.expand(model, 3, "copy")
    h = torch.randn(2, T, D)
    outs = [b(h) for b in model.blocks]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


# ----------------------------------------------------------------------------- gradients

def _grads(model, start: int) -> list[dict[str, torch.Tensor]]:
    x, y = batch()
    model.zero_grad(set_to_none=True)
    model(x, y)[1].backward()
    return [{n: p.grad.clone() for n, p in b.named_parameters()} for b in list(model.blocks)[start:]]


@pytest.mark.parametrize("optimizer, bias", [("adamw", True), ("adamw", False), ("sgd", True), ("muon", True)])
def test_all_zero_blocks_receive_exactly_zero_gradient_and_stay_zero_with_weight_decay(optimizer, bias):
    cfg = dataclasses.replace(train_cfg(optimizer=optimizer), model=model_cfg(bias=bias), weight_decay=0.1)
    model = built(cfg.model, depth=1)
    progtheory.expand(model, 3, "zero")
    opt = build_optimizer(model, cfg)
    for t in range(25):
        for grads in _grads(model, start=1):
            for name, grad in grads.items():
                if name.endswith("c_proj.bias"):
                    continue  # a bias on the residual stream always sees the upstream gradient
                assert torch.count_nonzero(grad) == 0, name
        set_lr(opt, 1e-2, step=t)
        opt.step()
    for block in list(model.blocks)[1:]:
        for name, p in block.named_parameters():
            if not name.endswith("c_proj.bias"):
                assert torch.count_nonzero(p) == 0, name


@pytest.mark.parametrize("init", ["copy_zero", "random_zero_out"])
def test_zeroed_output_projections_start_learning_at_once(init):
    cfg = train_cfg()
    model = built(cfg.model, depth=1)
    progtheory.expand(model, 3, init, generator=gen())
    for grads in _grads(model, start=1):
        assert grads["attn.c_proj.weight"].abs().sum() > 0
        assert grads["mlp.c_proj.weight"].abs().sum() > 0
    opt = build_optimizer(model, cfg)
    opt.step()
    for grads in _grads(model, start=1):
        for name, grad in grads.items():
            if grad.ndim == 2:
                assert grad.abs().sum() > 0, name


# ----------------------------------------------------------------------------- accounting

def _forward_flops(model) -> int:
    x, _ = batch()
    with FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops()


@pytest.mark.parametrize("init", ["random", "copy_zero", "zero"])
def test_grown_model_has_the_params_and_flops_of_a_model_built_at_the_target_depth(init):
    mcfg = model_cfg()
    grown = built(mcfg, depth=1)
    progtheory.expand(grown, 4, init, generator=gen())
    fixed = built(mcfg, depth=4)
    assert grown.num_params() == fixed.num_params() == compute.param_count(mcfg, 4)
    assert {k: v.shape for k, v in grown.state_dict().items()} == {k: v.shape for k, v in fixed.state_dict().items()}
    assert _forward_flops(grown) == _forward_flops(fixed) > _forward_flops(built(mcfg, depth=1))


# ----------------------------------------------------------------------------- errors

@pytest.mark.parametrize("depth, target, init, kw, match", [
    (1, 3, "clone", {}, "init='clone' is unknown"),
    (0, 3, "copy", {}, "0 blocks"),
    (0, 3, "copy_stack", {}, "0 blocks"),
    (2, 4, "copy", {}, "one-layer source"),
    (2, 2, "random", {}, "must exceed the current depth 2"),
    (2, 4, "random", {"placement": "middle"}, "placement='middle'"),
    (2, 4, "random", {"old_blocks": "shrink"}, "old_blocks='shrink'"),
])
def test_bad_expansions_raise_clear_errors(depth, target, init, kw, match):
    model = built(model_cfg(), depth=depth)
    with pytest.raises(ValueError, match=match):
        progtheory.expand(model, target, init, **kw)
    assert model.depth == depth


def test_expand_is_exported_at_the_package_root():
    assert progtheory.expand is growth.expand


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_grow_on_cuda_with_a_cuda_generator_matches_the_layout_and_preserves_zero_init_logits():
    cfg = train_cfg(source=1, stages=((20, 4),), init="random_zero_out")
    model = built(cfg.model, depth=1).cuda()
    opt = build_optimizer(model, cfg, step=0)
    x, _ = batch()
    before, _ = model(x.cuda())
    opt = growth.grow(model, opt, cfg, 20, generator=torch.Generator(device="cuda").manual_seed(0))
    assert all(p.is_cuda for p in model.parameters()) and model.depth == 4
    assert torch.equal(model(x.cuda())[0], before)


# ----------------------------------------------------------------------------- noisy copies


def _noisy(init: str, eps: float, seed: int = 5):
    model = as_if_trained(built(model_cfg(), 1))
    growth.expand(model, 4, init, generator=torch.Generator().manual_seed(seed), init_noise=eps)
    return model


def test_a_noisy_copy_at_eps_zero_is_the_copy_exactly():
    copy = as_if_trained(built(model_cfg(), 1))
    growth.expand(copy, 4, "copy")
    for init in ("copy_noise", "copy_mix"):
        noisy = _noisy(init, 0.0)
        for a, b in zip(noisy.parameters(), copy.parameters()):
            assert torch.equal(a, b)


@pytest.mark.parametrize("init", ["copy_noise", "copy_mix"])
def test_a_noisy_copy_is_the_copy_plus_eps_times_its_own_fresh_draw(init):
    eps = 0.25
    source = as_if_trained(built(model_cfg(), 1))
    noisy = _noisy(init, eps)
    gen = torch.Generator().manual_seed(5)  # the draws `expand` makes, block by block
    keep = 1.0 if init == "copy_noise" else (1 - eps ** 2) ** 0.5
    for block in list(noisy.blocks)[1:]:
        fresh = dict(growth._fresh_block(noisy, "random", 4, gen).named_parameters())
        for (name, p), q in zip(block.named_parameters(), source.blocks[0].parameters()):
            want = q if name.startswith(("ln_1", "ln_2")) else keep * q + eps * fresh[name]
            torch.testing.assert_close(p, want, rtol=1e-6, atol=1e-7)
    # the four blocks are no longer equal
    assert not torch.equal(noisy.blocks[1].mlp.c_fc.weight, noisy.blocks[2].mlp.c_fc.weight)


def test_the_noise_of_a_noisy_copy_has_the_parametrizations_std_times_eps():
    from progtheory.theory.expansion import fresh_block_stds

    eps, width = 0.5, 128
    mcfg = dataclasses.replace(model_cfg(), n_embd=width, n_head=4, base_width=width)
    source = as_if_trained(built(mcfg, 1))
    model = as_if_trained(built(mcfg, 1))
    growth.expand(model, 4, "copy_noise", generator=torch.Generator().manual_seed(0), init_noise=eps)
    stds = fresh_block_stds(parametrization="sp", width=width, base_width=width, depth=4, std=mcfg.init_std)
    for block in list(model.blocks)[1:]:
        for name, key in (("mlp.c_fc.weight", "fc"), ("mlp.c_proj.weight", "mlp_out"), ("attn.c_proj.weight", "attn_out")):
            noise = dict(block.named_parameters())[name] - dict(source.blocks[0].named_parameters())[name]
            # 16k-65k Gaussian draws: the sample std lies within 2% of the stated one
            assert noise.std().item() == pytest.approx(eps * stds[key], rel=0.02)


def test_init_noise_is_refused_where_it_has_no_effect_or_breaks_the_mix():
    from progtheory import presets
    from progtheory.config import ConfigError, validate

    def cfg(source=1, **plan):
        return dataclasses.replace(presets.tiny(), growth=GrowthPlan(source_depth=source, stages=((0.5, 2),), **plan))

    validate(cfg(init="copy_mix", init_noise=0.5))
    for plan, match in ((dict(init="random", init_noise=0.1), "has no effect"),
                        (dict(init="copy_mix", init_noise=1.5), "must lie in"),
                        (dict(init="copy_noise", init_noise=-0.1), "finite number >= 0")):
        with pytest.raises(ConfigError, match=match):
            validate(cfg(**plan))
    with pytest.raises(ConfigError, match="copies a block"):
        validate(cfg(source=0, init="copy_noise", init_noise=0.1))
