"""Which gradients of a new block vanish at the expansion step (progtheory.theory.dead_gradients)."""

import pytest

from progtheory.theory import dead_gradients as D


def test_zero_init_blocks_receive_no_gradient_except_output_biases():
    dead = D.gradient_vanishes("zero")
    assert {n for n, v in dead.items() if not v} == {"attn.c_proj.bias", "mlp.c_proj.bias"}
    assert all(D.gradient_vanishes("zero", bias=False).values())


@pytest.mark.parametrize("init", ["copy_zero", "random_zero_out"])
def test_zeroed_output_projections_still_receive_gradient(init):
    v = D.gradient_vanishes(init)
    assert not v["attn.c_proj.weight"] and not v["mlp.c_proj.weight"]
    assert v["mlp.c_fc.weight"] and v["attn.c_attn.weight"]  # input side waits one step


def test_random_blocks_have_no_vanishing_gradient():
    assert not any(D.gradient_vanishes("random").values())


def test_an_unknown_init_is_refused_by_name():
    with pytest.raises(ValueError, match="init='grow'"):
        D.init_zero_pattern("grow")
