"""Parameter groups, parametrization multipliers, Muon-NSGD and LR setting (`progtheory.optim`)."""

from __future__ import annotations

import math

import pytest
import torch

from progtheory.config import GPTConfig, GrowthPlan, TrainConfig
from progtheory.model import GPT
from progtheory.optim import MuonNSGD, build_optimizer, classify, param_groups, ramp_factor, set_lr
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
    with pytest.raises(ValueError, match="'lm_head.weight'.*extend progtheory.optim.classify"):
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
    from progtheory.theory import init_scale

    for R in (1, 3, 8):
        for s in range(12):
            assert ramp_factor(100 + s, 100, R) == pytest.approx(init_scale.rewarmup_factor(s, R))
