"""The init-scale theory predicts what real expanded models do: the loss change at tau from the
trained source's branch statistics (`theory.expansion.expansion_loss_change`), and the loss
change of the first update of the new blocks per optimizer (`theory.jolt`)."""

import copy
import functools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from progtheory.config import GPTConfig  # noqa: E402
from progtheory.core.growth import expand, noisy_copy_draws  # noqa: E402
from progtheory.core.model import GPT  # noqa: E402
from progtheory.theory import expansion as E  # noqa: E402
from progtheory.train import branch_stats as BS  # noqa: E402

V, T, D, L = 64, 32, 32, 4


def _batch(seed: int, n: int = 16):
    """Tokens of a fixed sparse Markov chain (learnable in a few dozen steps)."""
    trans = np.random.default_rng(0).dirichlet(np.full(V, 0.1), size=V).cumsum(1)
    r = np.random.default_rng(seed)
    x = np.zeros((n, T + 1), dtype=np.int64)
    x[:, 0] = r.integers(V, size=n)
    for t in range(T):
        x[:, t + 1] = (r.random(n)[:, None] > trans[x[:, t]]).sum(1).clip(max=V - 1)
    x = torch.from_numpy(x)
    return x[:, :-1], x[:, 1:]


@functools.lru_cache(maxsize=None)
def _source(k: int, parametrization: str = "sp", hidden_init: str = "normal") -> GPT:
    """A k-block source trained for 60 AdamW steps (its branches carry learned structure)."""
    cfg = GPTConfig(vocab_size=V, block_size=T, n_layer=L, n_head=2, n_embd=D, base_width=D,
                    parametrization=parametrization, hidden_init=hidden_init)
    torch.manual_seed(0)
    model = GPT(cfg, depth=k)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for s in range(60):
        _, loss = model(*_batch(1000 + s))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def _measured(src: GPT, init: str, placement: str, x, y, seeds=(0,), scale: float = 1.0) -> list[float]:
    with torch.no_grad():
        l0 = float(src(x, y)[1])
    out = []
    for s in seeds:
        m = copy.deepcopy(src)
        expand(m, L, init, placement=placement, generator=torch.Generator().manual_seed(s), init_scale=scale)
        with torch.no_grad():
            out.append(float(m(x, y)[1]) - l0)
    return out


def _predicted(src: GPT, init: str, placement: str, stats: dict, scale: float = 1.0) -> float:
    c = src.cfg
    stds = E.fresh_block_stds(parametrization=c.parametrization, width=c.n_embd, base_width=c.base_width,
                              depth=L, hidden_init=c.hidden_init, std=c.init_std, scale=scale)
    return E.expansion_loss_change(init, stats, target_depth=L, placement=placement, fresh_stds=stds,
                                   multiplier=src.residual_scale(L))["loss_change"]


# Copies change the final stream by 0.4-2.3x its RMS, where a second-order model (with the
# final LayerNorm's renormalisation) is off by up to ~1.6x in either direction on these models:
# the tolerance is a factor 2 on the loss change.
COPY_FACTOR = 2.0


@pytest.mark.parametrize("parametrization,hidden_init", [("sp", "normal"), ("completep", "spectral")])
@pytest.mark.parametrize("k,init", [(1, "copy"), (2, "copy_stack"), (2, "copy_inter"), (2, "copy_last")])
def test_predicted_loss_change_of_copies_matches_the_expanded_model_within_a_factor_two(
        parametrization, hidden_init, k, init):
    src = _source(k, parametrization, hidden_init)
    x, y = _batch(7, 32)
    placement = "interleave" if init == "copy_inter" else "end"
    stats = BS.branch_statistics(src, x, y)
    measured = _measured(src, init, placement, x, y)[0]
    predicted = _predicted(src, init, placement, stats)
    assert measured > 0.01, "the copy must change the function measurably for the check to mean anything"
    assert 1 / COPY_FACTOR < predicted / measured < COPY_FACTOR, (predicted, measured)


@pytest.mark.parametrize("init", ["zero", "copy_zero", "random_zero_out"])
def test_zero_type_inits_are_predicted_and_measured_to_change_nothing(init):
    src = _source(1)
    x, y = _batch(7, 32)
    stats = BS.branch_statistics(src, x, y)
    assert _predicted(src, init, "end", stats) == 0.0
    assert abs(_measured(src, init, "end", x, y)[0]) < 1e-6


@pytest.mark.parametrize("k,parametrization,hidden_init,scale", [
    (0, "completep", "spectral", 1.0),  # the stream is only the embeddings: a visible change
    (1, "sp", "normal", 4.0),           # 4x the parametrization's own scale
])
def test_predicted_loss_change_of_random_blocks_matches_the_mean_over_draws(k, parametrization, hidden_init, scale):
    """Fresh blocks: the prediction is an expectation over the draw; 8 draws, tolerance 30% of
    the prediction plus 3 standard errors (the linear term is zero only on average)."""
    src = _source(k, parametrization, hidden_init)
    x, y = _batch(7, 32)
    stats = BS.branch_statistics(src, x, y)
    ms = np.array(_measured(src, "random", "end", x, y, seeds=range(8), scale=scale))
    predicted = _predicted(src, "random", "end", stats, scale=scale)
    se = ms.std(ddof=1) / np.sqrt(len(ms))
    assert abs(ms.mean() - predicted) < 0.3 * predicted + 3 * se, (predicted, ms.mean(), se)


def test_random_blocks_at_the_parametrizations_own_scale_barely_change_a_trained_source():
    src = _source(1)
    x, y = _batch(7, 32)
    stats = BS.branch_statistics(src, x, y)
    predicted = _predicted(src, "random", "end", stats)
    assert 0 < predicted < 0.01
    assert abs(np.mean(_measured(src, "random", "end", x, y, seeds=range(4)))) < 0.01


@pytest.mark.parametrize("parametrization,hidden_init,init", [("sp", "normal", None),
                                                               ("completep", "spectral", "copy_mix")])
def test_branch_statistics_leave_the_model_and_the_random_state_unchanged(parametrization, hidden_init, init):
    src = _source(1, parametrization, hidden_init)
    x, y = _batch(7, 8)
    before = {n: p.clone() for n, p in src.state_dict().items()}
    rng = torch.get_rng_state()
    noisy = noisy_copy_draws(src, L, init, 0.5, draws=3) if init else None
    stats = BS.branch_statistics(src, x, y, noisy=noisy)
    assert torch.equal(rng, torch.get_rng_state())
    assert all(torch.equal(before[n], p) for n, p in src.state_dict().items())
    assert BS.finite(stats) and src.training


# The noisy copies' prediction is the copies' (the same second-order model, the same factor 2)
# plus the draws' measured coherent shift and spread; 16 draws of the real expansion measure it.
@pytest.mark.parametrize("parametrization,hidden_init", [("sp", "normal"), ("completep", "spectral")])
@pytest.mark.parametrize("init,eps", [("copy_noise", 0.25), ("copy_noise", 1.0), ("copy_mix", 0.5)])
def test_predicted_loss_change_of_noisy_copies_matches_the_mean_over_draws_within_a_factor_two(
        parametrization, hidden_init, init, eps):
    src = _source(1, parametrization, hidden_init)
    x, y = _batch(7, 32)
    stats = BS.branch_statistics(src, x, y, noisy=noisy_copy_draws(src, L, init, eps, seed=1))
    predicted = E.expansion_loss_change(init, stats, target_depth=L, init_noise=eps)["loss_change"]
    with torch.no_grad():
        l0 = float(src(x, y)[1])
    measured = []
    for s in range(16):
        m = copy.deepcopy(src)
        expand(m, L, init, generator=torch.Generator().manual_seed(100 + s), init_noise=eps)
        with torch.no_grad():
            measured.append(float(m(x, y)[1]) - l0)
    assert np.mean(measured) > 0.01
    assert 1 / COPY_FACTOR < predicted / np.mean(measured) < COPY_FACTOR, (predicted, np.mean(measured))


def test_noisy_copies_whose_draws_all_equal_the_copy_are_predicted_as_the_copy():
    src = _source(1)
    x, y = _batch(7, 32)
    exact, _ = noisy_copy_draws(src, L, "copy_noise", 0.5)
    stats = BS.branch_statistics(src, x, y, noisy=(exact, [exact, exact]))
    assert stats["noise_fisher"] == 0.0 and stats["noise_gram"] == 0.0
    noisy = E.expansion_loss_change("copy_noise", stats, target_depth=L, init_noise=0.5)
    plain = E.expansion_loss_change("copy", BS.branch_statistics(src, x, y), target_depth=L)
    assert noisy["loss_change"] == pytest.approx(plain["loss_change"], rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError, match="noisy copies' statistics"):
        E.expansion_loss_change("copy_noise", BS.branch_statistics(src, x, y), target_depth=L, init_noise=0.5)


# ----------------------------------------------------------------------------- first update

def _one_step(model: GPT, names: list[str], optimizer: str, lr: float, x, y, step_batch=None) -> float:
    """Loss change on (x, y) after one step of `optimizer` on the parameters `names` only,
    the step taken on `step_batch` (default (x, y) itself)."""
    from progtheory.core.optim import MuonNSGD

    m = copy.deepcopy(model)
    P = dict(m.named_parameters())
    for p in m.parameters():
        p.requires_grad_(False)
    new = [P[n] for n in names]
    for p in new:
        p.requires_grad_(True)
    if optimizer == "adamw":
        opt = torch.optim.AdamW(new, lr=lr, weight_decay=0.0)
    elif optimizer == "sgd":
        opt = torch.optim.SGD(new, lr=lr)
    else:
        opt = MuonNSGD([{"params": [p for p in new if p.ndim == 2], "role": "hidden"},
                        {"params": [p for p in new if p.ndim != 2], "role": "vector"}], lr=lr,
                       split={P[n]: 3 for n in names if n.endswith("attn.c_attn.weight")})
    with torch.no_grad():
        before = float(m(x, y)[1])
    _, loss = m(*(step_batch or (x, y)))
    loss.backward()
    opt.step()
    with torch.no_grad():
        return float(m(x, y)[1]) - before


@pytest.mark.parametrize("init", ["random", "copy", "copy_zero"])
@pytest.mark.parametrize("optimizer,lr", [("adamw", 3e-3), ("muon", 1e-2)])
def test_predicted_first_step_loss_change_matches_one_real_step(init, optimizer, lr):
    """One step from fresh state on the new blocks only; second-order path model, tolerance
    10% of the measured change plus 2e-3 nats (the cubic term at these LRs)."""
    from progtheory.theory import jolt as J

    src = _source(1)
    x, y = _batch(7, 32)
    model = copy.deepcopy(src)
    layout = expand(model, L, init, generator=torch.Generator().manual_seed(0))
    names = BS.new_parameter_names(model, layout)
    st = BS.update_statistics(model, x, y, names, optimizer)
    predicted = J.jolt_curve(st["slope"], st["curvature"], [lr], optimizer)[0]
    measured = _one_step(model, names, optimizer, lr, x, y)
    assert abs(predicted - measured) < 0.1 * abs(measured) + 2e-3, (predicted, measured)


@pytest.mark.parametrize("optimizer,lr", [("adamw", 3e-3), ("muon", 1e-2), ("sgd", 0.3)])
def test_first_step_along_another_batchs_gradient_is_predicted_and_less_aligned_than_the_own(optimizer, lr):
    """The step the optimizer takes comes from a training batch, the loss is measured on the
    statistics batch: `direction_batch` predicts that step (same tolerance as above).  For
    AdamW and Muon the own batch's direction is the steepest of its norm (sign: l-inf, orth:
    spectral), so another batch's slope is smaller; SGD's has no such bound."""
    from progtheory.theory import jolt as J

    src = _source(1)
    x, y = _batch(7, 32)
    step_batch = _batch(8, 32)
    model = copy.deepcopy(src)
    layout = expand(model, L, "random", generator=torch.Generator().manual_seed(0))
    names = BS.new_parameter_names(model, layout)
    st = BS.update_statistics(model, x, y, names, optimizer, direction_batch=step_batch)
    predicted = J.jolt_curve(st["slope"], st["curvature"], [lr], optimizer)[0]
    measured = _one_step(model, names, optimizer, lr, x, y, step_batch)
    assert abs(predicted - measured) < 0.1 * abs(measured) + 2e-3, (predicted, measured)
    if optimizer != "sgd":
        own = BS.update_statistics(model, x, y, names, optimizer)
        assert 0 < st["slope"] < own["slope"]


def test_adam_slope_is_the_l1_norm_of_the_gradient_and_muon_slope_near_the_nuclear_norm():
    src = _source(1)
    x, y = _batch(7, 16)
    model = copy.deepcopy(src)
    layout = expand(model, L, "random", generator=torch.Generator().manual_seed(0))
    names = [n for n in BS.new_parameter_names(model, layout) if n.endswith("weight") and "ln" not in n]
    adam = BS.update_statistics(model, x, y, names, "adamw")
    muon = BS.update_statistics(model, x, y, names, "muon")
    assert adam["slope"] == pytest.approx(adam["grad_l1"], rel=1e-5)
    # Newton-Schulz gives singular values in about [0.7, 1.2], not exactly 1
    assert 0.6 < muon["slope"] / muon["nuclear"] < 1.2


# ----------------------------------------------------------------------------- first ten updates

@pytest.mark.parametrize("optimizer", ["adamw", "muon", "sgd"])
@pytest.mark.parametrize("curvature_scale", [0.0, 0.3, 30.0])
def test_line_model_is_exact_when_the_loss_sees_the_parameters_through_one_functional(optimizer, curvature_scale):
    """L(P) = -a z + b z^2 / 2 with z = <G, P>: every gradient is parallel to G, the line
    model's assumption, so `jolt_line` must reproduce ten real steps of each optimizer (from
    fresh state, a decaying LR) to float32 rounding: relative 1e-4 of the largest change."""
    from progtheory.core.optim import MuonNSGD
    from progtheory.theory import jolt as J

    G = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    P = torch.zeros(8, 4, requires_grad=True)
    a, b = 1.0, curvature_scale

    def loss():
        z = (G * P).sum()
        return -a * z + 0.5 * b * z * z

    lrs = np.linspace(2e-2, 1e-2, 10)
    if optimizer == "adamw":
        opt, momentum = torch.optim.AdamW([P], lr=lrs[0], betas=(0.9, 0.95), weight_decay=0.0, eps=1e-12), 0.9
    elif optimizer == "sgd":
        opt, momentum = torch.optim.SGD([P], lr=lrs[0], momentum=0.9), 0.9
    else:
        opt, momentum = MuonNSGD([{"params": [P], "role": "hidden"}], lr=lrs[0], momentum=0.95), 0.95
    measured, direction = [], None
    for k, lr in enumerate(lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss().backward()
        before = P.detach().clone()
        opt.step()
        if direction is None:
            direction = (before - P.detach()) / lr  # v: the first step per unit LR
        with torch.no_grad():
            measured.append(float(loss()))
    q = float((G * direction).sum())  # z(s) = <G, P0 - s v> = -s q
    slope, curvature = -a * q, b * q * q
    predicted = J.jolt_line(slope, curvature, lrs, optimizer, momentum=momentum)
    scale = max(abs(np.array(measured)).max(), 1e-12)
    assert np.allclose(predicted, measured, atol=1e-4 * scale), (predicted.round(5), np.round(measured, 5))
    if curvature_scale == 0:  # no curvature: the constant-gradient model, step for step
        assert np.allclose(J.jolt_curve(slope, curvature, lrs, optimizer, momentum=momentum), predicted)
