"""Statistics of a trained source model at the growth step, measured by one cheap forward pass,
that `theory.expansion` and `theory.jolt` turn into predicted loss changes without torch.

Notation: x_j (j = 0..k) is the source's residual stream after j blocks (x_0 = embeddings),
f_i(x) = block_i(x) - x the summed branches of source block i applied to a stream x, and
J_t the linearisation of the readout (final LayerNorm, tied head, logit multiplier) at the
source's final stream x_k of token t.  H_t = diag(p_t) - p_t p_t^T is the Hessian of the
cross-entropy in the logits (the same for every label).

  * `branch_statistics(model, idx, targets)`: for every candidate stream change u_(i,j) =
    f_i(x_j), its Fisher Gram matrix F[a, b] = mean_t u_a^T J^T H J u_b, its loss gradient
    g[a] = mean_t (p_t - e_(y_t))^T J u_a, and what fresh random blocks need: the trace of
    J^T H J and the size of a uniform causal average of the normalised stream.
  * `update_statistics(model, idx, targets, params, optimizer)`: the same first- and
    second-order coefficients along the first update direction of each optimizer.

Everything is computed without building a graph beyond one gradient (the update directions'
logit changes by a central difference in float64), consumes no random numbers and leaves
the model as it was.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.func import functional_call

from progtheory.core.model import GPT
from progtheory.core.optim import MuonNSGD
from progtheory.theory.parametrization import muon_step_scale


def _streams(model: GPT, idx_BxT: torch.Tensor) -> list[torch.Tensor]:
    pos = torch.arange(idx_BxT.shape[1], device=idx_BxT.device)
    x = model.wte(idx_BxT) + model.wpe(pos)
    out = [x]
    for block in model.blocks:
        x = block(x)
        out.append(x)
    return out


def _readout(model: GPT, x_BxTxD: torch.Tensor):
    """(probabilities N x V, the linear map u -> J u as a function) at final stream x."""
    ln = model.ln_f
    d = x_BxTxD.shape[-1]
    x = x_BxTxD.reshape(-1, d)
    mu = x.mean(-1, keepdim=True)
    sigma = torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + ln.eps)
    xhat = (x - mu) / sigma
    logits = model.logit_scale * F.linear(ln(x), model.wte.weight)
    p = torch.softmax(logits.double(), -1)

    def J(u_BxTxD: torch.Tensor) -> torch.Tensor:
        u = u_BxTxD.reshape(-1, d)
        uc = u - u.mean(-1, keepdim=True)
        du = (uc - xhat * (xhat * uc).sum(-1, keepdim=True) / d) / sigma * ln.weight
        return (model.logit_scale * F.linear(du, model.wte.weight)).double()

    ztilde = (model.logit_scale * F.linear(xhat * ln.weight, model.wte.weight)).double()
    return p, J, xhat, sigma, ztilde


def _fisher(p: torch.Tensor, za: torch.Tensor, zb: torch.Tensor) -> float:
    """mean over tokens of Cov_p(za, zb)."""
    return float(((p * za * zb).sum(-1) - (p * za).sum(-1) * (p * zb).sum(-1)).mean())


def _residual(p: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r = p.clone()
    r[torch.arange(len(r)), targets.reshape(-1)] -= 1.0
    return r


def _scaled_block(block, scale: float):
    """`block` itself for scale 1, else a copy with every Linear weight and bias times `scale`
    (the LayerNorms kept): what a copy at init multiplier `scale` computes."""
    if scale == 1.0:
        return block
    import copy

    b = copy.deepcopy(block)
    for name, p in b.named_parameters():
        if not name.startswith(("ln_1", "ln_2")):
            p.mul_(scale)
    return b


def _fisher_trace(model: GPT, p: torch.Tensor, xhat: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """tr(J_t^T H_t J_t) per token: tr(A^T H A), A = s W diag(gamma) P / sigma, where P
    projects out the mean and xhat."""
    d = xhat.shape[-1]
    M = (model.wte.weight * model.ln_f.weight).double()
    Mc = M - M.mean(-1, keepdim=True)                                 # V x d
    xh = xhat.double()
    proj = xh @ Mc.T                                                   # N x V: xhat . M_v
    row2 = (Mc * Mc).sum(-1)[None, :] - proj ** 2 / d                  # ||P M_v||^2
    pM = p @ Mc                                                        # N x d
    pM_proj = pM - xh * (xh * pM).sum(-1, keepdim=True) / d
    return ((p * row2).sum(-1) - (pM_proj ** 2).sum(-1)) * model.logit_scale ** 2 / sigma.double().squeeze(-1) ** 2


def _attn_mix(x_BxTxD: torch.Tensor) -> float:
    """mean_t ||mean_(s<=t) n(x_s)||^2 / d, n = LayerNorm without gain and bias."""
    T, d = x_BxTxD.shape[1], x_BxTxD.shape[-1]
    n = F.layer_norm(x_BxTxD, (d,))
    avg = n.cumsum(1) / torch.arange(1, T + 1, device=x_BxTxD.device, dtype=x_BxTxD.dtype)[None, :, None]
    return float(avg.pow(2).sum(-1).mean() / d)


@torch.no_grad()
def branch_statistics(model: GPT, idx_BxT: torch.Tensor, targets_BxT: torch.Tensor,
                      copy_scale: float = 1.0, noisy: tuple | None = None) -> dict:
    """Branch statistics of the source `model` on one batch (a list-valued dict, JSON-ready).

    Keys: ``depth`` k, ``width`` d, ``context`` T, ``loss`` (mean cross-entropy),
    ``stream_rms`` (RMS of x_0 .. x_k), ``branch_rms`` [i][j] = RMS of f_i(x_j), ``pairs`` the
    (i, j) order of the candidates, ``fisher`` (K x K) and ``grad`` (K) as in the module
    docstring, ``fisher_trace`` = mean_t tr(J_t^T H_t J_t) (the KL per unit isotropic
    per-coordinate variance of a stream change, times 2), and ``attn_mix`` [j] = mean_t
    ||mean_(s<=t) n(x_(j,s))||^2 / d, n = LayerNorm without gain and bias (what a fresh
    block's uniform causal attention averages).  For the final LayerNorm's own response to a
    large change (x = x_k and u centred over coordinates): ``along`` [a] = mean_t x.u_a /
    ||x||^2, ``stream_gram`` [a][b] = mean_t u_a.u_b / ||x||^2, and with z~ = s W (gamma *
    n(x_k)) (the logits without the LayerNorm bias) ``temp_grad`` = mean_t (p - e_y).z~,
    ``temp_fisher`` = mean_t Var_p(z~), ``temp_cross`` [a] = mean_t Cov_p(z~, J u_a).
    `copy_scale` multiplies every Linear parameter of the blocks whose branches are measured
    (a copy at that init multiplier).

    `noisy` = (exact copy, [noisy copies]) of a one-block source (`core.growth.noisy_copy_draws`):
    with u_c and u_r the branches of the exact copy and of draw r on x_k, and u_bar their mean
    over the R draws, the candidate (-1, k) is the draws' coherent shift u_bar - u_c (in every
    key above), and each draw's own part xi_r = u_r - u_bar gives ``noise_fisher`` = mean_t
    xi^T J^T H J xi and ``noise_gram`` = mean_t |xi_c|^2 / |x_c|^2 (both unbiased means over the
    draws, R/(R-1)), ``noise_draws`` = R.
    """
    model_was_training = model.training
    model.eval()
    xs = _streams(model, idx_BxT)
    k, d, T = model.depth, xs[0].shape[-1], idx_BxT.shape[1]
    p, J, xhat, sigma, ztilde = _readout(model, xs[-1])
    xc = xs[-1].reshape(-1, d) - xs[-1].reshape(-1, d).mean(-1, keepdim=True)
    xc2 = (xc * xc).sum(-1)
    resid = _residual(p, targets_BxT)
    pairs = [(i, j) for i in range(k) for j in range(k + 1)]
    z, uc, branch_rms = [], [], [[0.0] * (k + 1) for _ in range(k)]
    for i in range(k):
        block = _scaled_block(model.blocks[i], copy_scale)
        for j in range(k + 1):
            u = block(xs[j]) - xs[j]
            branch_rms[i][j] = float(u.pow(2).mean().sqrt())
            z.append(J(u))
            u = u.reshape(-1, d)
            uc.append(u - u.mean(-1, keepdim=True))
    noise = {} if noisy is None else _add_noisy_shift(noisy, xs[-1], J, p, xc2, k, (pairs, z, uc))
    K = len(pairs)
    fisher = [[_fisher(p, z[a], z[b]) for b in range(K)] for a in range(K)]
    grad = [float((resid * z[a]).sum(-1).mean()) for a in range(K)]
    along = [float(((xc * uc[a]).sum(-1) / xc2).mean()) for a in range(K)]
    gram = [[float(((uc[a] * uc[b]).sum(-1) / xc2).mean()) for b in range(K)] for a in range(K)]
    tr = _fisher_trace(model, p, xhat, sigma)
    loss = float(F.cross_entropy(torch.log(p), targets_BxT.reshape(-1)))
    model.train(model_was_training)
    return {"depth": k, "width": d, "context": T, "loss": loss, "copy_scale": copy_scale,
            "stream_rms": [float(x.pow(2).mean().sqrt()) for x in xs], "branch_rms": branch_rms,
            "pairs": pairs, "fisher": fisher, "grad": grad, "fisher_trace": float(tr.mean()),
            "attn_mix": [_attn_mix(x) for x in xs], "along": along, "stream_gram": gram,
            "temp_grad": float((resid * ztilde).sum(-1).mean()), "temp_fisher": _fisher(p, ztilde, ztilde),
            "temp_cross": [_fisher(p, ztilde, z[a]) for a in range(K)], **noise}


def _add_noisy_shift(noisy: tuple, x_BxTxD: torch.Tensor, J, p: torch.Tensor, xc2: torch.Tensor, k: int,
                     candidates: tuple[list, list, list]) -> dict:
    """Append the noisy copies' coherent shift to the candidates of `branch_statistics` (pair
    (-1, k), its logit change and centred stream change, to `candidates` = (pairs, z, uc));
    return their noise statistics."""
    pairs, z, uc = candidates
    shift, noise = _noise_terms(noisy, x_BxTxD, J, p, xc2)
    pairs.append((-1, k))
    z.append(J(shift))
    shift = shift.reshape(-1, x_BxTxD.shape[-1])
    uc.append(shift - shift.mean(-1, keepdim=True))
    return noise


def _noise_terms(noisy: tuple, x_BxTxD: torch.Tensor, J, p: torch.Tensor, xc2: torch.Tensor) -> tuple:
    """(coherent shift u_bar - u_c, {noise_fisher, noise_gram, noise_draws}) of `branch_statistics`."""
    exact, draws = noisy
    if len(draws) < 2:
        raise ValueError(f"noisy copies need at least 2 draws to measure their spread, got {len(draws)}")
    d = x_BxTxD.shape[-1]
    u = torch.stack([b(x_BxTxD) - x_BxTxD for b in draws])
    mean = u.mean(0)
    fisher, gram = 0.0, 0.0
    for r in range(len(draws)):
        xi = u[r] - mean
        fisher += _fisher(p, J(xi), J(xi))
        xi = xi.reshape(-1, d)
        xi = xi - xi.mean(-1, keepdim=True)
        gram += float(((xi * xi).sum(-1) / xc2).mean())
    unbiased = 1.0 / (len(draws) - 1)
    return mean - (exact(x_BxTxD) - x_BxTxD), {"noise_fisher": fisher * unbiased, "noise_gram": gram * unbiased,
                                               "noise_draws": len(draws)}


# ----------------------------------------------------------------------------- first updates

def _loss_fn(model: GPT, idx, targets):
    def f(params: dict):
        return functional_call(model, params, (idx, targets))[1]
    return f


def update_directions(grads: dict[str, torch.Tensor], optimizer: str, *,
                      splits: dict[str, int] | None = None) -> dict[str, torch.Tensor]:
    """The first step's direction per parameter from fresh state, for a unit LR (the step is
    -lr * direction):  adamw sign(g) (m_hat / sqrt(v_hat) at t = 1, eps ignored); sgd g;
    muon sqrt(fan_out/fan_in) * NewtonSchulz(g) for matrices (row blocks of `splits`
    separately), g / rms(g) for the normalised-SGD rest (`MuonNSGD.step`)."""
    out = {}
    for name, g in grads.items():
        if optimizer == "adamw":
            out[name] = torch.sign(g)
        elif optimizer == "sgd":
            out[name] = g.clone()
        elif optimizer == "muon":
            if g.ndim == 2:
                parts = g.chunk((splits or {}).get(name, 1), dim=0)
                out[name] = torch.cat([MuonNSGD.orthogonalize(x, 5) * muon_step_scale(*x.shape)
                                       for x in parts], dim=0)
            else:
                out[name] = g / (g.pow(2).mean().sqrt() + 1e-12)
        else:
            raise ValueError(f"optimizer={optimizer!r} is unknown; choose adamw, sgd or muon")
    return out


def update_statistics(model: GPT, idx_BxT: torch.Tensor, targets_BxT: torch.Tensor,
                      names: list[str], optimizer: str, scales: dict[str, float] | None = None,
                      direction_batch: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict:
    """First- and second-order coefficients of the loss along the first update of the
    parameters `names` (the new ones) from fresh state: with v the direction of
    `update_directions` (times ``scales[name]``, each parameter's LR relative to the scheduled
    one, e.g. its optimizer group's ``lr_mult``; default 1, so s is then the scheduled LR),
    L(theta - s v) ~ L - s * ``slope`` + s^2/2 * ``curvature``, slope =
    g . v, curvature = mean_t (J_t v)^T H_t (J_t v) (Gauss-Newton; J_t = d logits / d theta).
    Also ``grad_sq`` = ||g||^2, ``grad_l1`` = ||g||_1, ``nuclear`` = sum over matrices of the
    nuclear norm of each (row block of each) gradient times its Muon shape factor, ``count``
    (number of coordinates).  Fused q, k, v matrices (`attn.c_attn.weight`) count as 3 row blocks.

    By default the direction comes from the gradient on (idx, targets) itself, the batch the
    loss is measured on: the steepest the optimizer could go there.  With `direction_batch`
    (the (x, y) the optimizer's first step actually uses) the direction comes from that
    batch's gradient and only the slope and curvature are measured on (idx, targets)."""
    model_was_training = model.training
    model.eval()
    params = {n: p.detach() for n, p in model.named_parameters()}
    loss, grads = _gradients(model, params, names, idx_BxT, targets_BxT)
    splits = {n: 3 for n in names if n.endswith("attn.c_attn.weight")}

    def directions(g: dict) -> dict:
        v = update_directions(g, optimizer, splits=splits)
        return {n: d * float((scales or {}).get(n, 1.0)) for n, d in v.items()}

    if direction_batch is None:
        v = directions(grads)
    else:
        v = directions(_gradients(model, params, names, *direction_batch)[1])
    curvature = _curvature(model, params, v, idx_BxT)
    nuclear = 0.0
    for n, g in grads.items():
        if g.ndim == 2:
            for x in g.chunk(splits.get(n, 1), dim=0):
                nuclear += float(torch.linalg.svdvals(x.double()).sum()) * muon_step_scale(*x.shape)
    model.train(model_was_training)
    return {"optimizer": optimizer, "loss": float(loss.detach()),
            "slope": float(sum((grads[n] * v[n]).sum() for n in names)),
            "curvature": curvature,
            "grad_sq": float(sum(g.pow(2).sum() for g in grads.values())),
            "grad_l1": float(sum(g.abs().sum() for g in grads.values())),
            "nuclear": nuclear, "count": int(sum(g.numel() for g in grads.values()))}


def _gradients(model: GPT, params: dict, names: list[str], idx, targets) -> tuple[torch.Tensor, dict]:
    """(loss, {name: gradient}) of the parameters `names` on one batch, the others held fixed."""
    sub = {n: params[n].clone().requires_grad_(True) for n in names}
    with torch.enable_grad():
        loss = _loss_fn(model, idx, targets)({**params, **sub})
        return loss, dict(zip(names, torch.autograd.grad(loss, [sub[n] for n in names])))


def _curvature(model: GPT, params: dict, v: dict[str, torch.Tensor], idx_BxT: torch.Tensor) -> float:
    """mean_t (J_t v)^T H_t (J_t v), with J v by a central difference in float64 (forward-mode
    AD has no CPU attention kernel)."""
    p64 = {n: t.double() for n, t in params.items()}
    bufs = {n: t.double() if t.is_floating_point() else t for n, t in model.named_buffers()}
    scale = max(float(max(t.abs().max() for t in v.values())), 1e-30)
    eps = 1e-5 / scale

    def logits(sign: float):
        moved = {n: p64[n] + sign * eps * v[n].double() for n in v}
        return functional_call(model, {**p64, **bufs, **moved}, (idx_BxT,))[0]

    with torch.no_grad():
        z = functional_call(model, {**p64, **bufs}, (idx_BxT,))[0]
        p = torch.softmax(z.reshape(-1, z.shape[-1]), -1)
        dz = ((logits(1.0) - logits(-1.0)) / (2 * eps)).reshape(p.shape)
        return _fisher(p, dz, dz)


def new_parameter_names(model: GPT, layout) -> list[str]:
    """Names of the parameters of the blocks `layout` (from `growth.expand`) marks new."""
    return [f"blocks.{b}.{n}" for b, o in enumerate(layout) if o.new
            for n, _ in model.blocks[b].named_parameters()]


def finite(stats: dict) -> bool:
    """True when every number in `stats` is finite (a diverged source gives NaN)."""
    def walk(v):
        if isinstance(v, dict):
            return all(walk(x) for x in v.values())
        if isinstance(v, (list, tuple)):
            return all(walk(x) for x in v)
        return not isinstance(v, float) or math.isfinite(v)
    return walk(stats)
