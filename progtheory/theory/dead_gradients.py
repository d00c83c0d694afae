"""Which parameters of a new block get exactly zero gradient at the expansion step, derived
with sympy (`gradient_vanishes`): an all-zero block stays dead apart from its output biases,
while zeroed output projections come alive after one step.

The block is the pre-LN GPT-2 block of `progtheory.core.model.Block` (one head, tanh GELU, causal
softmax); parameter names are that module's.  `tests/core/test_zero_gradient_model.py` checks the
derivation against the torch model grown by `progtheory.expand`.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

BLOCK_PARAMS = ("ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
_OUT = ("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")
_BIASES = tuple(n for n in BLOCK_PARAMS if n.endswith("bias"))


def init_zero_pattern(init: str, bias: bool = True) -> dict[str, bool]:
    """Which block parameters are exactly zero right after the expansion, per `init`.

    random: linear biases and LN biases 0 (fresh init), weights nonzero; copy: everything as
    trained (nonzero); zero: everything 0, LN gains included ("all new weights 0");
    copy_zero / random_zero_out: copy / random with output projections (weight and bias) 0.
    """
    names = [n for n in BLOCK_PARAMS if bias or not n.endswith("bias")]
    if init == "zero":
        return {n: True for n in names}
    if init in ("random", "random_zero_out"):
        base = {n: n in _BIASES for n in names}
    elif init in ("copy", "copy_zero"):
        base = {n: False for n in names}
    else:
        raise ValueError(f"init={init!r} is unknown; choose random, copy, zero, copy_zero or random_zero_out")
    if init.endswith("zero_out") or init == "copy_zero":
        base.update({n: True for n in _OUT if n in base})
    return base


def _symbolic_block(zero: dict[str, bool], keep: str, seed: int = 0, d: int = 2, hidden: int = 2, T: int = 2):
    """A pre-LN GPT block (one head, tanh GELU, causal softmax) on an input x (T x d), read
    out by an upstream gradient c: loss = sum_t c_t . y_t.  The tensor `keep` is symbolic (to
    be differentiated); parameters marked in `zero` are exact zeros; every other parameter, x
    and c are a generic (random, seeded) point.  d = hidden = T = 2 suffices: each gradient is
    a sum of products whose vanishing does not depend on the sizes (T = 2 so that attention
    mixes two positions)."""
    rng = np.random.default_rng(seed)
    kept = {}

    def generic(r, c_):
        return sp.Matrix(r, c_, lambda i, j: sp.Float(rng.uniform(0.5, 1.5) * rng.choice([-1, 1])))

    def param(name, r, c_):
        if name == keep:
            kept[name] = sp.Matrix(r, c_, lambda i, j: sp.Symbol(f"{name}[{i},{j}]", real=True))
            return kept[name]
        if name not in zero or zero[name]:  # exact zero (or a bias of a bias-free model)
            return sp.zeros(r, c_)
        return generic(r, c_)

    eps = sp.Float(1e-5)
    x = [generic(d, 1) for _ in range(T)]
    c = [generic(d, 1) for _ in range(T)]

    def ln(v, g, b):
        mu = sum(v) / d
        var = sum((vi - mu) ** 2 for vi in v) / d
        return sp.Matrix([(v[i] - mu) / sp.sqrt(var + eps) * g[i] + b[i] for i in range(d)])

    def gelu(z):
        # tanh GELU written with exp: (1 + tanh(a))/2 = 1/(1 + exp(-2a)); identical function,
        # and it keeps sympy's assumption system away from tanh of long arguments
        a = sp.Float(math.sqrt(2 / math.pi)) * (z + sp.Float(0.044715) * z ** 3)
        return z / (1 + sp.exp(-2 * a))

    g1, b1 = param("ln_1.weight", d, 1), param("ln_1.bias", d, 1)
    Wa, ba = param("attn.c_attn.weight", 3 * d, d), param("attn.c_attn.bias", 3 * d, 1)
    Wo, bo = param("attn.c_proj.weight", d, d), param("attn.c_proj.bias", d, 1)
    g2, b2 = param("ln_2.weight", d, 1), param("ln_2.bias", d, 1)
    Wf, bf = param("mlp.c_fc.weight", hidden, d), param("mlp.c_fc.bias", hidden, 1)
    Wp, bp = param("mlp.c_proj.weight", d, hidden), param("mlp.c_proj.bias", d, 1)
    qkv = [Wa * ln(xt, g1, b1) + ba for xt in x]
    q, k, v = ([z[j * d:(j + 1) * d, 0] for z in qkv] for j in range(3))
    loss = sp.Integer(0)
    for t in range(T):
        w = [sp.exp((q[t].T * k[s])[0] / sp.Float(math.sqrt(d))) for s in range(t + 1)]
        att = sum((w[s] * v[s] for s in range(1, t + 1)), w[0] * v[0]) / sum(w)
        h = x[t] + Wo * att + bo
        y = h + Wp * (Wf * ln(h, g2, b2) + bf).applyfunc(gelu) + bp
        loss += (c[t].T * y)[0]
    return loss, kept.get(keep)


@functools.lru_cache(maxsize=None)
def gradient_vanishes(init: str, bias: bool = True) -> dict[str, bool]:
    """Which parameters of a new block receive exactly zero gradient at the expansion step.

    Derivation: for each parameter tensor, sympy builds the loss of a pre-LN block
    (`_symbolic_block`) as a function of that tensor, with the parameters that
    `init_zero_pattern` sets to zero inserted as exact zeros and everything else at a generic
    point, differentiates with respect to each entry, then sets the tensor to its init value.
    A gradient vanishes when sympy reduces it to the exact integer 0 (an exactly-zero factor,
    so it vanishes for every input and every value of the other parameters); a nonzero value
    at the generic point proves it does not vanish.  The residual multiplier m is a nonzero
    factor of every branch and is left out.  Results (with biases):

      zero             every gradient vanishes except the output-projection biases
                       (d loss/d b_o = upstream gradient): the block stays dead apart from a
                       learned constant shift, since W_o gets gradient ~ gelu(0) = 0 and the
                       input side gets gradient ~ W_o = 0;
      copy_zero /      the output-projection weights get gradient ~ activations != 0, so the
      random_zero_out  block comes alive after one step (its input side gets 0 at the first step);
      random / copy    nothing vanishes.

    Returns {parameter name (as in `progtheory.core.model.Block`): True if its gradient is zero}.
    """
    zero = init_zero_pattern(init, bias)
    rng = np.random.default_rng(1)
    out = {}
    for name in zero:
        loss, M = _symbolic_block(zero, keep=name)
        value = {s: 0 if zero[name] else sp.Float(rng.uniform(0.5, 1.5)) for s in M}
        vanish = True
        for s in M:
            g = sp.diff(loss, s).xreplace(value)
            if g is sp.S.Zero:
                continue
            if abs(complex(g.evalf())) > 1e-12:
                vanish = False
                break
            raise RuntimeError(f"the gradient of {name} is ~0 at the sample point but not exactly 0; "
                               f"the derivation is inconclusive")
        out[name] = vanish
    return out
