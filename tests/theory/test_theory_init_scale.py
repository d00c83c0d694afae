"""Init scale: activation sizes at init and the function change of an expansion
(progtheory.theory.init_scale)."""

import math

import numpy as np
import pytest

from progtheory.theory import init_scale as I
from progtheory.theory import parametrization as P


def _gelu(z):
    return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


def _ln(x):
    x = x - x.mean(-1, keepdims=True)
    return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + 1e-5)


def simulate_rms(parametrization, depth, width=128, context=32, heads=4, batch=8, seed=0):
    """Numpy forward pass of a freshly initialised GPT-2 on i.i.d. tokens; RMS per layer."""
    rng = np.random.default_rng(seed)
    kw = dict(parametrization=parametrization, depth=depth, width=width, base_width=64, std=0.02)
    s_e, s_in, s_out = (P.init_std(k, **kw) for k in ("embedding", "hidden_in", "hidden_out"))
    m = P.residual_multiplier(depth, 1, P.depth_alpha(parametrization))
    d, T, hd = width, context, width // heads
    x = rng.normal(0, s_e, (batch, T, d)) + rng.normal(0, s_e, (T, d))
    stream, attn_rms, mlp_rms = [np.sqrt((x ** 2).mean())], [], []
    mask = np.tril(np.ones((T, T), bool))
    for _ in range(depth):
        qkv = _ln(x) @ rng.normal(0, s_in, (d, 3 * d))
        q, k, v = (a.reshape(batch, T, heads, hd).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, -1))
        s = np.where(mask, q @ k.transpose(0, 1, 3, 2) / math.sqrt(hd), -np.inf)
        a = np.exp(s - s.max(-1, keepdims=True))
        y = (a / a.sum(-1, keepdims=True)) @ v
        out = m * y.transpose(0, 2, 1, 3).reshape(batch, T, d) @ rng.normal(0, s_out, (d, d))
        x = x + out
        h = m * _gelu(_ln(x) @ rng.normal(0, s_in, (d, 4 * d))) @ rng.normal(0, s_out, (4 * d, d))
        x = x + h
        attn_rms.append(np.sqrt((out ** 2).mean()))
        mlp_rms.append(np.sqrt((h ** 2).mean()))
        stream.append(np.sqrt((x ** 2).mean()))
    return np.array(stream), np.array(attn_rms), np.array(mlp_rms)


@pytest.mark.parametrize("parametrization", ["sp", "mup", "depth-mup", "completep"])
def test_predicted_rms_at_init_matches_a_numpy_monte_carlo(parametrization):
    # mean square over 4 weight draws of 8 x 32 tokens.  Tolerances: 10% for the stream and the
    # MLP (seed-to-seed spread ~5%); 20% for attention, whose deeper layers vary ~15% between
    # draws and whose uniform-attention, mean-field correlation model is the coarsest part
    depth = 4
    pred = I.residual_rms_at_init(parametrization=parametrization, depth=depth, width=128,
                                  base_width=64, context=32)
    sims = [simulate_rms(parametrization, depth, seed=s) for s in range(4)]
    stream, attn, mlp = (np.sqrt(np.mean([s[i] ** 2 for s in sims], axis=0)) for i in range(3))
    np.testing.assert_allclose(pred["stream"], stream, rtol=0.10)
    np.testing.assert_allclose(pred["mlp"], mlp, rtol=0.10)
    np.testing.assert_allclose(pred["attn"], attn, rtol=0.20)


def test_depth_alpha_controls_how_the_stream_grows_with_depth():
    def final(p, L):
        return I.residual_rms_at_init(parametrization=p, depth=L, width=256, base_width=256, context=64)["stream"][-1]
    grow = {p: final(p, 64) / final(p, 4) for p in ("mup", "depth-mup", "completep")}
    assert grow["mup"] > grow["depth-mup"] > grow["completep"]
    assert grow["mup"] > 2.0 and grow["completep"] < 1.0


def test_spectral_std_gives_the_target_spectral_norm():
    # Gaussian spectral norm reaches sqrt(m)+sqrt(n) within a few % at 512 x 128
    rng = np.random.default_rng(0)
    for fan_out, fan_in in [(512, 128), (128, 512)]:
        W = rng.normal(0, I.spectral_std(fan_out, fan_in), (fan_out, fan_in))
        assert np.linalg.norm(W, 2) == pytest.approx(math.sqrt(fan_out / fan_in), rel=0.05)


def test_gelu_second_moment_matches_sampling():
    z = np.random.default_rng(0).normal(0, 1.5, 400_000)
    assert I.gelu_second_moment(1.5 ** 2) == pytest.approx(np.mean(_gelu(z) ** 2), rel=0.01)


def test_function_preserving_inits_change_nothing_and_random_changes_the_stream():
    kw = dict(parametrization="sp", source_depth=1, target_depth=4, width=128, base_width=128, context=32)
    for init in I.ZERO_TYPES:
        assert I.expansion_function_change(init, **kw)["new_blocks"] == 0.0
    rand = I.expansion_function_change("random", **kw)
    assert rand["relative"] > 0
    more = I.expansion_function_change("random", **{**kw, "target_depth": 12})
    assert more["new_blocks"] > rand["new_blocks"]


def test_copies_add_coherently_and_grow_linearly_in_the_number_of_new_blocks():
    kw = dict(parametrization="sp", source_depth=1, width=128, base_width=128, context=32,
              source_branch_var=0.01, stream_rms=1.0)
    c3 = I.expansion_function_change("copy", target_depth=4, **kw)["new_blocks"]
    c9 = I.expansion_function_change("copy", target_depth=10, **kw)["new_blocks"]
    assert c9 / c3 == pytest.approx(3.0)


def test_depth_rules_rescale_old_blocks_at_expansion_unless_told_not_to():
    kw = dict(parametrization="depth-mup", source_depth=1, target_depth=4, width=128, base_width=128, context=32)
    assert I.expansion_function_change("zero", **kw)["old_rescale"] > 0
    assert I.expansion_function_change("zero", rescale_old=False, **kw)["total"] == 0


def test_bad_inputs_raise_naming_the_value():
    with pytest.raises(ValueError, match="init='copy'"):
        I.expansion_function_change("copy", parametrization="sp", source_depth=0, target_depth=2,
                                    width=8, base_width=8, context=4)
    with pytest.raises(ValueError, match="fan_out=0"):
        I.spectral_std(0, 4)
