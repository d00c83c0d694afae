"""The training-state transplant at a growth step (`growth.grow`): optimizer state, LR groups,
resume across growth, and the plan checks."""

from __future__ import annotations

import io

import pytest
import torch

from progtheory.config import depth_at
from progtheory.core import growth
from progtheory.core.optim import build_optimizer, set_lr
from progtheory.theory import parametrization as P

from tiny_growth import D, block_params, built, gen, train_cfg, train_steps


# ----------------------------------------------------------------------------- optimizer transplant

def _grown(opt_state="fresh_new", parametrization="sp", optimizer="adamw", init="random", source=1,
           pre_steps=3, **plan):
    cfg = train_cfg(source=source, stages=((20, 4),), parametrization=parametrization,
                    optimizer=optimizer, init=init, opt_state=opt_state, **plan)
    model = built(cfg.model, depth=source)
    opt = build_optimizer(model, cfg, step=0)
    train_steps(model, opt, pre_steps)
    old = list(model.parameters())
    old_state = {p: {k: v.clone() for k, v in opt.state[p].items()} for p in old}
    new_opt = growth.grow(model, opt, cfg, 20, generator=gen())
    return cfg, model, new_opt, old, old_state


def test_existing_parameters_keep_their_state_and_new_ones_start_fresh():
    cfg, model, opt, old, old_state = _grown("fresh_new")
    ids = {id(p) for p in old}
    new = [p for p in model.parameters() if id(p) not in ids]
    assert new and all(p not in opt.state for p in new)
    for p in old:
        for key, value in old_state[p].items():
            assert torch.equal(opt.state[p][key], value)
    train_steps(model, opt, 1, start=20)
    assert all(float(opt.state[p]["step"]) == 4 for p in old)
    assert all(float(opt.state[p]["step"]) == 1 for p in new)


def test_reset_all_starts_every_parameter_fresh():
    _, model, opt, _, _ = _grown("reset_all")
    assert len(opt.state) == 0


def test_copy_source_gives_each_copy_a_clone_of_its_source_state():
    _, model, opt, _, _ = _grown("copy_source", init="copy")
    src = block_params(model.blocks[0])
    for block in list(model.blocks)[1:]:
        for name, p in block.named_parameters():
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(opt.state[p][key], opt.state[src[name]][key])
            assert opt.state[p]["exp_avg"].data_ptr() != opt.state[src[name]]["exp_avg"].data_ptr()


def test_copy_source_leaves_zeroed_output_projections_fresh():
    _, model, opt, _, _ = _grown("copy_source", init="copy_zero")
    for block in list(model.blocks)[1:]:
        assert block.attn.c_proj.weight not in opt.state and block.mlp.c_proj.bias not in opt.state
        assert block.attn.c_attn.weight in opt.state


def test_absorb_rescales_the_moments_of_rescaled_projections_like_their_gradients():
    _, model, opt, _, old_state = _grown("fresh_new", parametrization="depth-mup")
    ratio = model.residual_scale(4) / model.residual_scale(1)
    p = model.blocks[0].mlp.c_proj.weight
    assert torch.allclose(opt.state[p]["exp_avg"], old_state[p]["exp_avg"] * ratio)
    assert torch.allclose(opt.state[p]["exp_avg_sq"], old_state[p]["exp_avg_sq"] * ratio**2)
    q = model.blocks[0].mlp.c_fc.weight
    assert torch.equal(opt.state[q]["exp_avg"], old_state[q]["exp_avg"])


@pytest.mark.parametrize("optimizer", ["adamw", "muon"])
def test_groups_after_growth_carry_the_multipliers_of_the_new_depth(optimizer):
    cfg, model, opt, _, _ = _grown(parametrization="depth-mup", optimizer=optimizer)
    kw = dict(depth=4, base_depth=1, width=D, base_width=D, alpha=None)
    lr_mult = P.lr_multipliers("depth-mup", optimizer, **kw)
    eps_mult = P.adam_eps_multipliers("depth-mup", **kw)
    assert lr_mult["hidden"] != P.lr_multipliers("depth-mup", optimizer, **{**kw, "depth": 1})["hidden"]
    for group in opt.param_groups:
        assert group["lr_mult"] == pytest.approx(lr_mult[group["role"]])
        assert group["eps"] == pytest.approx(cfg.eps * eps_mult[group["role"]])
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))


def test_the_scheduled_lr_carries_over_growth():
    _, _, opt, _, _ = _grown()
    assert all(g["lr"] == pytest.approx(1e-2 * g["lr_mult"]) for g in opt.param_groups)


def test_rewarmup_ramps_the_lr_of_new_parameters_only():
    R = 4
    _, model, opt, old, _ = _grown(rewarmup_steps=R)
    ids = {id(p) for p in old}
    for step, ramp in [(20, 1 / R), (21, 2 / R), (23, 1.0), (30, 1.0)]:
        set_lr(opt, 1e-2, step=step)
        for group in opt.param_groups:
            is_new = all(id(p) not in ids for p in group["params"])
            assert is_new == (group["stage"] == 1)
            assert group["lr"] == pytest.approx(1e-2 * group["lr_mult"] * (ramp if is_new else 1.0))


def test_rewarmup_scope_all_re_warms_every_parameter_after_growth():
    R = 4
    _, model, opt, old, _ = _grown(rewarmup_steps=R, rewarmup_scope="all")
    for step, ramp in [(20, 1 / R), (22, 3 / R), (25, 1.0)]:
        set_lr(opt, 1e-2, step=step)
        for group in opt.param_groups:
            assert group["lr"] == pytest.approx(1e-2 * group["lr_mult"] * ramp)


# ----------------------------------------------------------------------------- resume

def _state_bytes(obj) -> io.BytesIO:
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return buf


@pytest.mark.parametrize("optimizer, plan", [
    ("adamw", dict(init="random", opt_state="fresh_new", rewarmup_steps=3, placement="interleave")),
    ("adamw", dict(init="copy_stack", opt_state="copy_source")),
    ("sgd", dict(init="random_zero_out", rewarmup_steps=2)),
    ("muon", dict(init="copy_zero", opt_state="copy_source", rewarmup_steps=2)),
])
def test_resume_after_growth_reproduces_the_uninterrupted_run(optimizer, plan):
    cfg = train_cfg(source=1, stages=((4, 2), (8, 4)), parametrization="depth-mup", optimizer=optimizer, **plan)
    model = built(cfg.model, depth=depth_at(cfg, 0))
    opt = build_optimizer(model, cfg, step=0)
    stages = {4: 2, 8: 4}

    def run(model, opt, start, stop):
        for t in range(start, stop):
            if t in stages:
                opt = growth.grow(model, opt, cfg, t)
            train_steps(model, opt, 1, start=t)
        return opt

    opt = run(model, opt, 0, 10)
    saved = _state_bytes({"model": model.state_dict(), "optimizer": opt.state_dict()})
    opt = run(model, opt, 10, 13)

    state = torch.load(saved, weights_only=True)
    resumed = built(cfg.model, depth=depth_at(cfg, 9), seed=123)
    resumed.load_state_dict(state["model"])
    ropt = build_optimizer(resumed, cfg, step=10)
    ropt.load_state_dict(state["optimizer"])
    run(resumed, ropt, 10, 13)
    for (name, a), b in zip(model.named_parameters(), resumed.parameters()):
        assert torch.equal(a, b), name


def test_resume_just_before_a_growth_step_grows_like_the_uninterrupted_run():
    cfg = train_cfg(source=0, stages=((4, 3),), rewarmup_steps=2)
    model = built(cfg.model, depth=0)
    opt = build_optimizer(model, cfg, step=0)
    train_steps(model, opt, 4)
    saved = _state_bytes({"model": model.state_dict(), "optimizer": opt.state_dict()})
    resumed = built(cfg.model, depth=depth_at(cfg, 3), seed=9)
    state = torch.load(saved, weights_only=True)
    resumed.load_state_dict(state["model"])
    ropt = build_optimizer(resumed, cfg, step=4)
    ropt.load_state_dict(state["optimizer"])
    for m, o in ((model, opt), (resumed, ropt)):
        o = growth.grow(m, o, cfg, 4)
        train_steps(m, o, 2, start=4)
    for a, b in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("placement", ["end", "interleave"])
def test_block_stages_replay_multi_stage_growth(placement):
    cfg = train_cfg(source=1, stages=((10, 3), (20, 6)), init="random", placement=placement)
    assert growth.block_stages(cfg, 1) == [0]
    assert growth.block_stages(cfg, 3) == [0, 1, 1]
    expected = [0, 1, 1, 2, 2, 2] if placement == "end" else [0, 2, 1, 2, 1, 2]
    assert growth.block_stages(cfg, 6) == expected
    assert growth.new_block_indices(cfg, 2) == [i for i, s in enumerate(expected) if s == 2]


def test_rebuilt_optimizer_has_the_group_structure_grow_produced():
    cfg = train_cfg(source=0, stages=((10, 2), (20, 4)), rewarmup_steps=5, placement="interleave")
    model = built(cfg.model, depth=0)
    opt = build_optimizer(model, cfg, step=0)
    for step in (10, 20):
        opt = growth.grow(model, opt, cfg, step)
        rebuilt = build_optimizer(built(cfg.model, depth=model.depth), cfg, step=step)

        def shape(o):
            return [(g["stage"], g["role"], [tuple(p.shape) for p in g["params"]]) for g in o.param_groups]

        assert shape(opt) == shape(rebuilt)
    assert sorted({g["stage"] for g in opt.param_groups}) == [0, 1, 2]


# ----------------------------------------------------------------------------- errors

def test_grow_rejects_a_step_without_a_stage_and_a_model_of_the_wrong_depth():
    cfg = train_cfg(source=1, stages=((20, 4),))
    model = built(cfg.model, depth=1)
    opt = build_optimizer(model, cfg)
    with pytest.raises(ValueError, match="no growth stage starts at step 19"):
        growth.grow(model, opt, cfg, 19)
    with pytest.raises(ValueError, match="model has 2"):
        growth.grow(built(cfg.model, depth=2), opt, cfg, 20)


def test_check_plan_rejects_copy_from_a_later_multi_block_stage():
    cfg = train_cfg(source=1, stages=((10, 2), (20, 4)), init="copy")
    with pytest.raises(ValueError, match="stage 2 \\(2 -> 4 blocks\\).*one-layer source"):
        growth.check_plan(cfg)
    growth.check_plan(train_cfg(source=1, stages=((10, 2), (20, 4)), init="copy_stack"))


def test_building_an_optimizer_for_a_depth_outside_the_plan_raises():
    cfg = train_cfg(source=1, stages=((20, 4),), rewarmup_steps=2)
    with pytest.raises(ValueError, match="depth 3 is not a depth of the growth plan"):
        build_optimizer(built(cfg.model, depth=3), cfg, step=25)
