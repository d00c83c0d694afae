"""The paper's recipe (`presets.recipe`): Muon-NSGD conventions, the final norm outside the
depth rules, shared init draws across depths, and a coordinate check across a growth event."""

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from progtheory import presets
from progtheory.config import from_dict, run_id
from progtheory.core.growth import grow
from progtheory.core.model import GPT
from progtheory.core.optim import MuonNSGD, build_optimizer, param_groups
from progtheory.theory.init_scale import spectral_std

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "results"


def small_recipe(depth: int = 4, **changes):
    """The recipe at d = 64 (context 16, batch 4): same rules, seconds on a CPU."""
    cfg = presets.recipe()
    model = replace(cfg.model, n_layer=depth, n_embd=64, n_head=4, block_size=16, base_width=64)
    return replace(cfg, model=model, batch_size=4, **changes)


def batch(cfg, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, cfg.model.vocab_size, (cfg.batch_size, cfg.model.block_size), generator=g)
    return x, torch.roll(x, -1, dims=1)


# ----------------------------------------------------------------------------- preset


def test_recipe_preset_is_completep_spectral_muon_wsd_without_clipping():
    cfg = presets.recipe()
    assert cfg.model.parametrization == "completep" and cfg.model.hidden_init == "spectral"
    assert (cfg.optimizer, cfg.schedule.kind, cfg.grad_clip, cfg.weight_decay) == ("muon", "wsd", 0.0, 0.01)
    assert cfg.muon_momentum == 0.95 and cfg.nsgd_lr_mult == 1.0


def test_new_config_fields_at_their_defaults_keep_committed_run_ids():
    # every committed run's config, read back without the fields added since, hashes to its id
    checked = 0
    for path in sorted(RESULTS.glob("*/provenance.jsonl")):
        for line in path.read_text().splitlines()[:5]:
            rec = json.loads(line)
            config = {k: v for k, v in rec["config"].items() if k != "run_id"}
            assert run_id(from_dict(config)) == rec["run_id"], path
            checked += 1
    assert checked > 0


# ----------------------------------------------------------------------------- Muon-NSGD


@pytest.mark.parametrize("shape", [(96, 96), (384, 96), (96, 384)])
def test_muon_step_has_torch_muon_direction_and_the_documented_scale(shape):
    # tolerance: torch.optim.Muon orthogonalizes in bf16 (~3 significant digits), ours in fp32
    torch.manual_seed(0)
    w0 = torch.randn(shape)
    ours, ref = w0.clone().requires_grad_(), w0.clone().requires_grad_()
    opt = MuonNSGD([dict(params=[ours], role="hidden", weight_decay=0.0)], lr=0.1)
    ref_opt = torch.optim.Muon([ref], lr=0.1, weight_decay=0.0, momentum=0.95, nesterov=True)
    fan_out, fan_in = shape
    for _ in range(3):
        grad = torch.randn(shape)
        before, ref_before = ours.detach().clone(), ref.detach().clone()
        ours.grad, ref.grad = grad.clone(), grad.clone()
        opt.step()
        ref_opt.step()
        d, d_ref = (ours.detach() - before).flatten(), (ref.detach() - ref_before).flatten()
        assert torch.nn.functional.cosine_similarity(d, d_ref, dim=0) >= 0.999
        documented = math.sqrt(fan_out / fan_in) / math.sqrt(max(1.0, fan_out / fan_in))
        assert float(d.norm() / d_ref.norm()) == pytest.approx(documented, rel=0.01)


def test_muon_momentum_defaults_to_095_and_is_nesterov():
    cfg = small_recipe()
    opt = build_optimizer(GPT(cfg.model), cfg)
    assert {g["momentum"] for g in opt.param_groups} == {0.95}
    # normalized SGD on a vector: the second step moves along g2 + mu * (mu * g1 + g2)
    v = torch.zeros(5, requires_grad=True)
    nsgd = MuonNSGD([dict(params=[v], role="vector", weight_decay=0.0)], lr=1.0, momentum=0.95)
    g1, g2 = torch.randn(5), torch.randn(5)
    v.grad = g1
    nsgd.step()
    before = v.detach().clone()
    v.grad = g2
    nsgd.step()
    m = g2 + 0.95 * (0.95 * g1 + g2)
    assert torch.allclose(v.detach() - before, -m / m.pow(2).mean().sqrt(), atol=1e-6)


def test_fused_qkv_is_orthogonalized_as_three_square_matrices():
    cfg = small_recipe()
    model = GPT(cfg.model)
    opt = build_optimizer(model, cfg)
    assert all(opt._split[id(b.attn.c_attn.weight)] == 3 for b in model.blocks)
    m = torch.randn(3 * 64, 64)
    update = opt.muon_update(m, 3, 5)
    for part, m_part in zip(update.chunk(3), m.chunk(3)):
        assert torch.allclose(part, MuonNSGD.orthogonalize(m_part, 5))
    assert not torch.allclose(update, MuonNSGD.orthogonalize(m, 5) * math.sqrt(3))


def test_nsgd_lr_multiplier_scales_only_the_normalized_sgd_groups():
    deltas = {}
    for mult in (1.0, 2.0):
        cfg = small_recipe(nsgd_lr_mult=mult)
        torch.manual_seed(0)
        model = GPT(cfg.model)
        start = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt = build_optimizer(model, cfg)
        model(*batch(cfg))[1].backward()
        opt.step()
        deltas[mult] = {n: float((p.detach() - start[n]).norm()) for n, p in model.named_parameters()}
    assert deltas[2.0]["ln_f.weight"] == pytest.approx(2 * deltas[1.0]["ln_f.weight"], rel=1e-4)
    assert deltas[2.0]["blocks.0.ln_1.weight"] == pytest.approx(2 * deltas[1.0]["blocks.0.ln_1.weight"], rel=1e-4)
    assert deltas[2.0]["blocks.0.mlp.c_fc.weight"] == pytest.approx(deltas[1.0]["blocks.0.mlp.c_fc.weight"], rel=1e-4)


# ----------------------------------------------------------------------------- final norm


@pytest.mark.parametrize("parametrization", ["depth-mup", "completep"])
@pytest.mark.parametrize("optimizer", ["adamw", "sgd", "muon"])
def test_final_norm_takes_no_depth_lr_or_eps_factor(parametrization, optimizer):
    cfg = small_recipe(depth=8, optimizer=optimizer)
    cfg = replace(cfg, model=replace(cfg.model, parametrization=parametrization))
    groups = {g["role"]: g for g in param_groups(GPT(cfg.model), cfg)}
    final = groups["final_norm"]
    assert [p.shape for p in final["params"]] == [torch.Size([64]), torch.Size([64])]  # ln_f gain, bias
    assert final["lr_mult"] == 1.0 and final["eps"] == cfg.eps and final["weight_decay"] == 0.0
    if parametrization == "depth-mup":  # the vectors inside the blocks do take the depth factor
        assert groups["vector"]["eps"] == pytest.approx(cfg.eps * 8 ** -0.5)


# ----------------------------------------------------------------------------- init


@pytest.mark.parametrize("preset", ["tuned", "recipe"])
def test_models_of_any_depth_share_the_draw_of_shared_parameters(preset):
    cfg = presets.get(preset).model
    models = []
    for depth in (0, 1, 4):
        torch.manual_seed(7)
        models.append(GPT(cfg, depth=depth))
    for name in ("wte.weight", "wpe.weight", "ln_f.weight", "ln_f.bias"):
        ref = dict(models[0].named_parameters())[name]
        assert all(torch.equal(dict(m.named_parameters())[name], ref) for m in models[1:]), name


def test_spectral_init_draws_every_hidden_matrix_at_the_spectral_std_also_in_growth():
    # tolerance: the sample std of >= 4096 Gaussian entries is within 5% of its std (> 6 sigma)
    cfg = small_recipe(depth=4)
    cfg = replace(cfg, growth=presets.progressive(presets.recipe(), source_depth=1, tau=0.5).growth)
    torch.manual_seed(0)
    model = GPT(cfg.model, depth=1)
    grow(model, build_optimizer(model, cfg), cfg, step=cfg.steps // 2)
    d = cfg.model.n_embd
    expected = {"attn.c_attn.weight": spectral_std(d, d), "attn.c_proj.weight": spectral_std(d, d),
                "mlp.c_fc.weight": spectral_std(4 * d, d), "mlp.c_proj.weight": spectral_std(d, 4 * d)}
    for block in list(model.blocks)[1:]:  # the fresh blocks of random growth
        for name, std in expected.items():
            w = dict(block.named_parameters())[name]
            assert float(w.detach().std()) == pytest.approx(std, rel=0.05), name


# ----------------------------------------------------------------------------- coordinate check


def _stream_rms(model, x) -> list[float]:
    """RMS of the residual stream after each block."""
    out, h = [], model.wte(x) + model.wpe(torch.arange(x.shape[1]))
    for block in model.blocks:
        h = block(h)
        out.append(float(h.pow(2).mean().sqrt()))
    return out


def _coord_check(parametrization: str, target: int, init: str = "random", steps: int = 3) -> tuple[list[float], list[float]]:
    """Residual-stream RMS after each block at the expansion 1 -> target (copy init, step 10 of
    20, after 10 source steps) and after `steps` more optimizer steps, averaged over 2 seeds."""
    at_tau, after = [], []
    for seed in (0, 1):
        cfg = small_recipe(depth=target, steps=20, lr=0.02, seed=seed)
        cfg = replace(cfg, model=replace(cfg.model, parametrization=parametrization),
                      growth=presets.progressive(replace(presets.recipe(), model=cfg.model), 1, 0.5, init).growth)
        torch.manual_seed(seed)
        model = GPT(cfg.model, depth=1)
        opt = build_optimizer(model, cfg)
        x, y = batch(cfg, seed)
        for _ in range(10):
            opt.zero_grad()
            model(x, y)[1].backward()
            opt.step()
        opt = grow(model, opt, cfg, step=10)
        with torch.no_grad():
            at_tau.append(_stream_rms(model, x))
        for _ in range(steps):
            opt.zero_grad()
            model(x, y)[1].backward()
            opt.step()
        with torch.no_grad():
            after.append(_stream_rms(model, x))
    mean = lambda rows: [sum(col) / len(col) for col in zip(*rows)]  # noqa: E731
    return mean(at_tau), mean(after)


def test_coordinate_check_across_growth_is_depth_independent_under_the_recipe():
    # CompleteP: each of L blocks adds m = 1/L of its branch, so the stream after the last block
    # has the same size at every target depth, at the expansion and after 3 Muon steps.
    # tolerance 1.2x: the coordinate-check standard of the muP literature (max/min over depths)
    finals = {L: _coord_check("completep", L) for L in (4, 8, 16)}
    for k in (0, 1):
        last = [finals[L][k][-1] for L in (4, 8, 16)]
        assert max(last) / min(last) <= 1.2, (k, last)


def test_coordinate_check_fails_without_a_depth_rule():
    # contrast: muP without a depth rule (alpha = 0) lets the stream grow with the depth
    finals = {L: _coord_check("mup", L) for L in (4, 16)}
    assert finals[16][1][-1] / finals[4][1][-1] > 1.5


def test_copies_compute_their_source_branch_so_the_stream_grows_with_the_copies():
    # growth.expand: a copy of an absorbed block computes the same branch as its source, so
    # under any depth rule L - 1 copies add about L - 1 times the source's branch at tau
    finals = {L: _coord_check("completep", L, init="copy", steps=0) for L in (4, 16)}
    assert finals[16][0][-1] / finals[4][0][-1] > 2.0


# ----------------------------------------------------------------------------- growth under alpha = 1


def test_growth_under_the_recipe_gives_the_documented_groups_multipliers_and_function():
    cfg = small_recipe(depth=4, steps=20, lr=0.02)
    cfg = replace(cfg, growth=presets.progressive(replace(presets.recipe(), model=cfg.model), 1, 0.5, "copy_zero").growth)
    torch.manual_seed(0)
    model = GPT(cfg.model, depth=1)
    opt = build_optimizer(model, cfg)
    x, y = batch(cfg)
    for _ in range(3):
        opt.zero_grad()
        model(x, y)[1].backward()
        opt.step()
    proj = model.blocks[0].mlp.c_proj.weight
    w_before, buf_before = proj.detach().clone(), opt.state[proj]["momentum_buffer"].clone()
    with torch.no_grad():
        logits_before = model(x)[0]
    opt = grow(model, opt, cfg, step=10)
    with torch.no_grad():
        logits_after = model(x)[0]
    # absorb: m goes 1 -> 1/4 everywhere, the old output projections x4, their momentum x1/4
    assert [float(b.branch_scale) for b in model.blocks] == [0.25] * 4
    assert torch.allclose(proj.detach(), 4 * w_before)
    assert torch.allclose(opt.state[proj]["momentum_buffer"], buf_before / 4)
    # copy_zero adds exactly 0; the old block computes its branch as before (one fp rounding)
    assert torch.allclose(logits_after, logits_before, atol=1e-5)
    # CompleteP + Muon: every group keeps the shared LR (e = alpha - 1 = 0), the same as at depth 1
    assert {g["lr_mult"] for g in opt.param_groups} == {1.0}
    # the next Muon step moves each hidden matrix by lr * sqrt(fan_out / fan_in) in spectral norm:
    # the old block's up-projection (4d x d: 2) and a zeroed new down-projection (d x 4d: 1/2)
    # (tolerance: five quintic Newton-Schulz steps leave singular values in about [0.7, 1.2])
    mats = {2.0: model.blocks[0].mlp.c_fc.weight, 0.5: model.blocks[2].mlp.c_proj.weight}
    before = {k: w.detach().clone() for k, w in mats.items()}
    opt.zero_grad()
    model(x, y)[1].backward()
    opt.step()
    lr = opt.param_groups[0]["lr"]
    for factor, w in mats.items():
        step_norm = float(torch.linalg.matrix_norm(w.detach() - before[factor], ord=2))
        assert 0.7 <= step_norm / (lr * factor) <= 1.25, factor
