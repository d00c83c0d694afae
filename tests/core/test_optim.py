"""Parameter groups, parametrization multipliers, Muon-NSGD and LR setting (`progtheory.core.optim`)."""

from __future__ import annotations

import math

import pytest
import torch

from progtheory.bench import LoopMuonNSGD
from progtheory.config import GPTConfig, GrowthPlan, TrainConfig
from progtheory.core.model import GPT
from progtheory.core.optim import MuonNSGD, build_optimizer, classify, param_groups, ramp_factor, set_lr
from progtheory.theory import parametrization as P

D, BASE = 64, 32


def cfg_for(parametrization: str = "sp", optimizer: str = "adamw", n_layer: int = 3, **kw) -> TrainConfig:
    model = GPTConfig(vocab_size=64, block_size=16, n_layer=n_layer, n_head=2, n_embd=D,
                      parametrization=parametrization, base_width=BASE)
    return TrainConfig(model=model, optimizer=optimizer, lr=1e-2, weight_decay=0.1, **kw)


def model_at(cfg: TrainConfig, depth: int) -> GPT:
    torch.manual_seed(0)
    return GPT(cfg.model, depth=depth)


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_every_parameter_is_classified_and_lands_in_exactly_one_group(depth):
    cfg = cfg_for()
    model = model_at(cfg, depth)
    roles = {name: classify(name, p) for name, p in model.named_parameters()}
    assert set(roles.values()) <= set(P.ROLES)
    assert (depth > 0) == ("hidden" in roles.values())
    grouped = [id(p) for g in param_groups(model, cfg) for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())


def test_an_unknown_parameter_raises_naming_it():
    with pytest.raises(ValueError, match="'lm_head.weight'.*extend progtheory.core.optim.classify"):
        classify("lm_head.weight", torch.zeros(4, 4))


def test_weight_decay_applies_to_matrices_and_embeddings_but_not_vectors_or_norms():
    cfg = cfg_for()
    for g in param_groups(model_at(cfg, 2), cfg):
        assert g["weight_decay"] == (0.0 if g["role"] in ("vector", "final_norm") else cfg.weight_decay)


@pytest.mark.parametrize("parametrization", ["mup", "depth-mup", "completep"])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd", "muon"])
def test_parametrization_multipliers_reach_the_groups(parametrization, optimizer):
    cfg = cfg_for(parametrization, optimizer)
    kw = dict(depth=3, base_depth=1, width=D, base_width=BASE, alpha=None)
    lr_mult = P.lr_multipliers(parametrization, optimizer, **kw)
    eps_mult = P.adam_eps_multipliers(parametrization, **kw)
    opt = build_optimizer(model_at(cfg, 3), cfg)
    for g in opt.param_groups:
        assert g["lr_mult"] == pytest.approx(lr_mult[g["role"]])
        assert g["lr"] == pytest.approx(cfg.lr * lr_mult[g["role"]])
        assert g["eps"] == pytest.approx(cfg.eps * eps_mult[g["role"]])
    if optimizer == "adamw":  # width-muP for Adam: hidden LR * base/width
        hidden = next(g for g in opt.param_groups if g["role"] == "hidden")
        assert hidden["lr_mult"] < 1.0


def test_sp_groups_carry_no_multipliers():
    cfg = cfg_for("sp")
    assert all(g["lr_mult"] == 1.0 and g["eps"] == cfg.eps for g in param_groups(model_at(cfg, 3), cfg))


@pytest.mark.parametrize("optimizer, cls", [("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD),
                                            ("muon", MuonNSGD)])
def test_build_optimizer_returns_the_configured_optimizer(optimizer, cls):
    cfg = cfg_for(optimizer=optimizer)
    assert isinstance(build_optimizer(model_at(cfg, 1), cfg), cls)


def test_set_lr_applies_each_group_multiplier():
    cfg = cfg_for("depth-mup")
    opt = build_optimizer(model_at(cfg, 3), cfg)
    set_lr(opt, 0.5)
    for g in opt.param_groups:
        assert g["lr"] == pytest.approx(0.5 * g["lr_mult"])


def test_ramp_factor_rises_linearly_from_one_over_r_to_one():
    assert [ramp_factor(t, 10, 4) for t in (9, 10, 11, 13, 50)] == [0.0, 0.25, 0.5, 1.0, 1.0]
    with pytest.raises(ValueError, match="ramp steps=0"):
        ramp_factor(10, 10, 0)


def test_set_lr_with_a_step_updates_ramps_and_leaves_other_groups_alone():
    cfg = cfg_for(n_layer=2, steps=100,
                  growth=GrowthPlan(source_depth=1, stages=((50, 2),), rewarmup_steps=5))
    opt = build_optimizer(model_at(cfg, 2), cfg, step=50)
    ramped = [g for g in opt.param_groups if g["stage"] == 1]
    assert ramped and all(g["ramp"] == pytest.approx(0.2) for g in ramped)
    set_lr(opt, 1.0, step=52)
    for g in opt.param_groups:
        assert g["lr"] == pytest.approx(g["lr_mult"] * (0.6 if g["stage"] == 1 else 1.0))


def test_without_rewarmup_a_grown_model_gets_the_groups_of_a_fixed_model():
    fixed = cfg_for(n_layer=3)
    grown = cfg_for(n_layer=3, steps=100, growth=GrowthPlan(source_depth=1, stages=((50, 3),)))
    a = param_groups(model_at(fixed, 3), fixed)
    b = param_groups(model_at(grown, 3), grown, step=60)
    assert [(g["role"], len(g["params"])) for g in a] == [(g["role"], len(g["params"])) for g in b]


# ----------------------------------------------------------------------------- Muon-NSGD
# Tolerance [0.6, 1.2]: the quintic coefficients (3.4445, -4.7750, 2.0315) trade exactness
# for speed; after 5 steps singular values land in about [0.68, 1.15] instead of at 1
# (Jordan et al. 2024), for inputs with condition number up to ~100.

def _conditioned(rows: int, cols: int, cond: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = min(rows, cols)
    U, _ = torch.linalg.qr(torch.randn(rows, n, generator=g))
    V, _ = torch.linalg.qr(torch.randn(cols, n, generator=g))
    return U @ torch.diag(torch.logspace(0, -math.log10(cond), n)) @ V.T


@pytest.mark.parametrize("shape", [(32, 32), (128, 32), (32, 128)])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_newton_schulz_gives_singular_values_near_one(shape, scale):
    sv = torch.linalg.svdvals(MuonNSGD.orthogonalize(scale * _conditioned(*shape, cond=100), 5))
    assert sv.min() > 0.6 and sv.max() < 1.2


def test_newton_schulz_keeps_the_singular_vectors():
    G = _conditioned(64, 32, cond=10)
    O = MuonNSGD.orthogonalize(G, 5)
    U, _, Vh = torch.linalg.svd(G, full_matrices=False)
    inner = U.T @ O @ Vh.T  # diagonal when O shares G's singular vectors
    assert (inner - torch.diag(torch.diagonal(inner))).abs().max() < 1e-4  # fp32 round-off of 5 iterations


@pytest.mark.parametrize("fan_out, fan_in", [(128, 32), (32, 128), (64, 64)])
def test_muon_update_spectral_norm_is_lr_times_sqrt_fan_out_over_fan_in(fan_out, fan_in):
    w = torch.nn.Parameter(torch.zeros(fan_out, fan_in))
    w.grad = _conditioned(fan_out, fan_in, cond=10, seed=1)
    lr = 0.01
    MuonNSGD([dict(params=[w], role="hidden")], lr=lr, momentum=0.9).step()
    ratio = torch.linalg.matrix_norm(w.detach(), ord=2) / (lr * math.sqrt(fan_out / fan_in))
    assert 0.6 < ratio < 1.2


def test_normalized_sgd_moves_vectors_by_lr_in_rms():
    v = torch.nn.Parameter(torch.zeros(256))
    v.grad = torch.randn(256, generator=torch.Generator().manual_seed(0)) * 1e-4
    MuonNSGD([dict(params=[v], role="vector")], lr=0.01, momentum=0.9).step()
    assert v.detach().pow(2).mean().sqrt().item() == pytest.approx(0.01, rel=1e-5)


def test_muon_decoupled_weight_decay_shrinks_weights_by_lr_times_wd():
    w = torch.nn.Parameter(torch.ones(8))
    w.grad = torch.zeros(8)
    MuonNSGD([dict(params=[w], role="vector")], lr=0.1, momentum=0.9, weight_decay=0.5).step()
    assert torch.allclose(w.detach(), torch.full((8,), 0.95))


def test_ramp_factor_agrees_with_the_theory_rewarmup_factor():
    from progtheory.theory import jolt

    for R in (1, 3, 8):
        for s in range(12):
            assert ramp_factor(100 + s, 100, R) == pytest.approx(jolt.rewarmup_factor(s, R))


# ----------------------------------------------------------------------------- batched Muon-NSGD step
# `MuonNSGD.step` stacks the hidden matrices by shape and runs one batched Newton-Schulz per
# stack; `bench.LoopMuonNSGD` is the per-parameter algorithm it replaced, the reference it
# must reproduce.

_LoopMuonNSGD = LoopMuonNSGD


def _small_recipe(**kw) -> TrainConfig:
    """`presets.recipe()` (CompleteP, spectral init, Muon-NSGD, weight decay) at d = 32."""
    from dataclasses import replace

    from progtheory import presets

    cfg = presets.recipe()
    model = replace(cfg.model, vocab_size=64, block_size=16, n_layer=3, n_head=2, n_embd=32, base_width=32)
    return replace(cfg, model=model, steps=40, **kw)


def _loop_twin(model, batched, cfg: TrainConfig, step: int):
    """A copy of `model` under the loop reference, its state that of `batched` (saved and
    loaded, as a checkpoint is)."""
    import copy
    import io

    twin = copy.deepcopy(model)
    split = {b.attn.c_attn.weight: 3 for b in twin.blocks}
    loop = _LoopMuonNSGD(param_groups(twin, cfg, step), lr=cfg.lr, momentum=cfg.muon_momentum,
                         weight_decay=cfg.weight_decay, nsgd_lr_mult=cfg.nsgd_lr_mult, split=split)
    saved = io.BytesIO()
    torch.save(batched.state_dict(), saved)
    saved.seek(0)
    loop.load_state_dict(torch.load(saved, weights_only=True))
    return twin, loop


def _recipe_pair(cfg: TrainConfig, depth: int, step: int):
    """The batched optimizer and the loop reference over two equal copies of a fresh model."""
    model = model_at(cfg, depth)
    batched = build_optimizer(model, cfg, step)
    return (model, batched, *_loop_twin(model, batched, cfg, step))


def _train_both(model, batched, twin, loop, cfg: TrainConfig, steps: range, drop: str | None = None):
    """`steps` steps of both optimizers on the model's gradients (the same for both), the LR
    schedule's ramps applied; `drop` names a parameter left without a gradient."""
    g = torch.Generator().manual_seed(1)
    for t in steps:
        x = torch.randint(0, cfg.model.vocab_size, (4, cfg.model.block_size), generator=g)
        model.zero_grad(set_to_none=True)
        model(x, x)[1].backward()
        for (name, p), q in zip(model.named_parameters(), twin.parameters()):
            if name == drop:
                p.grad = None
            q.grad = None if p.grad is None else p.grad.clone()
        for opt in (batched, loop):
            set_lr(opt, cfg.lr * (0.5 + 0.05 * t), step=t)
            opt.step()


def _assert_same_state(model, batched, twin, loop):
    # fp32 tolerance: the two differ only in rounding order (batched matmuls, baddbmm's fused
    # scaling, rms from a norm): a few ulps (~1e-7) after 5 steps, while every step moves each
    # parameter by ~lr = 2e-3, so 1e-6 still tells a wrong update from a rounding difference
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=lambda m: f"{name}: {m}")
        if q in loop.state:
            torch.testing.assert_close(batched.state[p]["momentum_buffer"], loop.state[q]["momentum_buffer"],
                                       rtol=1e-5, atol=1e-6, msg=lambda m: f"{name} momentum: {m}")
        else:
            assert p not in batched.state


def test_batched_muon_step_equals_the_per_parameter_loop_on_the_recipe_model():
    cfg = _small_recipe(nsgd_lr_mult=0.5)
    pair = _recipe_pair(cfg, depth=3, step=0)
    _train_both(*pair, cfg, range(4), drop="blocks.1.attn.c_proj.weight")
    _train_both(*pair, cfg, range(4, 6))
    _assert_same_state(*pair)


def test_batched_muon_step_equals_the_loop_on_a_grown_model_with_stage_groups():
    from progtheory.core.growth import grow

    cfg = _small_recipe(growth=GrowthPlan(source_depth=1, stages=((10, 2), (20, 3)), rewarmup_steps=8))
    model = model_at(cfg, 1)
    batched = build_optimizer(model, cfg, 0)
    x = torch.randint(0, cfg.model.vocab_size, (4, cfg.model.block_size), generator=torch.Generator().manual_seed(2))
    for t in (8, 9, 10, 11, 20):
        if t in (10, 20):
            batched = grow(model, batched, cfg, t)
        set_lr(batched, cfg.lr, step=t)
        batched.zero_grad(set_to_none=True)
        model(x, x)[1].backward()
        batched.step()
    assert model.depth == 3 and {g["stage"] for g in batched.param_groups} == {0, 1, 2}
    assert all(batched._split[id(b.attn.c_attn.weight)] == 3 for b in model.blocks)
    twin, loop = _loop_twin(model, batched, cfg, 21)
    pair = (model, batched, twin, loop)
    _train_both(*pair, cfg, range(21, 26))
    assert len({g["lr"] for g in batched.param_groups}) > 1  # ramps give the stages different LRs
    _assert_same_state(*pair)


def test_batched_newton_schulz_orthogonalizes_each_matrix_of_a_stack_on_its_own():
    stack = torch.stack([_conditioned(32, 64, cond=10, seed=s) * 10.0 ** s for s in range(3)])
    together = MuonNSGD.orthogonalize(stack, 5)
    for G, O in zip(stack, together):
        torch.testing.assert_close(O, _LoopMuonNSGD.orthogonalize(G, 5), rtol=1e-4, atol=1e-5)
    tall = MuonNSGD.orthogonalize(stack.mT, 5)
    torch.testing.assert_close(tall, together.mT, rtol=0, atol=0)


def test_a_muon_checkpoint_reloads_and_resumes_exactly(tmp_path):
    import copy

    cfg = _small_recipe()
    model, opt, twin, loop = _recipe_pair(cfg, depth=3, step=0)
    _train_both(model, opt, twin, loop, cfg, range(3))
    torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert all(set(s) == {"momentum_buffer"} for s in saved["optimizer"]["state"].values())
    resumed = model_at(cfg, 3)
    resumed.load_state_dict(saved["model"])
    reopt = build_optimizer(resumed, cfg, 3)
    reopt.load_state_dict(saved["optimizer"])
    original = copy.deepcopy(model)
    _train_both(model, opt, resumed, reopt, cfg, range(3, 5))
    for p, q in zip(model.parameters(), resumed.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(original.parameters()), next(model.parameters()))


def test_a_checkpoint_of_the_loop_optimizer_resumes_under_the_batched_one(tmp_path):
    cfg = _small_recipe()
    model, batched, twin, loop = _recipe_pair(cfg, depth=3, step=0)
    _train_both(model, batched, twin, loop, cfg, range(3))
    torch.save({"model": twin.state_dict(), "optimizer": loop.state_dict()}, tmp_path / "ckpt.pt")
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    model.load_state_dict(saved["model"])
    batched.load_state_dict(saved["optimizer"])
    _train_both(model, batched, twin, loop, cfg, range(3, 5))
    _assert_same_state(model, batched, twin, loop)
