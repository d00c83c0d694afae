"""The pieces of the loss change of an expansion predicted from branch statistics
(progtheory.theory.expansion); the prediction against real models is tests/train/test_init_prediction.py."""

import pytest

from progtheory.theory import expansion as E


def test_fresh_branch_variance_grows_as_the_fourth_power_of_a_small_init_multiplier():
    stds = {k: 0.002 for k in ("qkv", "attn_out", "fc", "mlp_out")}
    small = E.fresh_branch_variance(width=128, stds=stds, attn_mix=0.3)
    half = E.fresh_branch_variance(width=128, stds={k: v / 2 for k, v in stds.items()}, attn_mix=0.3)
    assert half["attn"] == pytest.approx(small["attn"] / 16)
    assert half["mlp"] == pytest.approx(small["mlp"] / 16, rel=0.05)   # gelu is near-linear at 0


def test_copy_orders_sum_the_branches_they_repeat_at_their_insertion_point():
    c = E.copy_coefficients
    assert c("copy", source_depth=1, target_depth=4) == {(0, 1): 3.0}
    assert c("copy_stack", source_depth=2, target_depth=4) == {(0, 2): 1.0, (1, 2): 1.0}
    assert c("copy_last", source_depth=2, target_depth=4) == {(1, 2): 2.0}
    assert c("copy_inter", source_depth=2, target_depth=4, placement="interleave") == {(0, 1): 1.0, (1, 2): 1.0}
    assert c("copy_zero", source_depth=2, target_depth=4) == {}
    assert c("zero", source_depth=1, target_depth=2, old_blocks="rescale", multiplier_ratio=0.5) == {(0, 0): -0.5}
