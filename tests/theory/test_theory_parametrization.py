"""LR transfer rules (progtheory.theory.parametrization)."""

import numpy as np
import pytest

from progtheory.theory import parametrization as P

ALL = [(p, o) for p in P.PARAMETRIZATIONS for o in P.OPTIMIZERS]


@pytest.mark.parametrize("parametrization, optimizer", ALL)
def test_predict_lr_is_identity_at_base_depth_and_width(parametrization, optimizer):
    kw = dict(base_depth=3, base_lr=1e-3, parametrization=parametrization, optimizer=optimizer)
    assert P.predict_lr(3, **kw) == 1e-3
    assert P.predict_lr(3, width=256, base_width=256, **kw) == 1e-3
    np.testing.assert_array_equal(P.predict_lr(np.array([3, 3]), **kw), [1e-3, 1e-3])


@pytest.mark.parametrize("parametrization, optimizer", ALL)
def test_multipliers_are_identity_at_base_depth_and_width(parametrization, optimizer):
    kw = dict(depth=2, base_depth=2, width=128, base_width=128)
    assert set(P.lr_multipliers(parametrization, optimizer, **kw).values()) == {1.0}
    assert set(P.adam_eps_multipliers(parametrization, **kw).values()) == {1.0}


@pytest.mark.parametrize("parametrization, optimizer, exponent", [
    ("depth-mup", "adamw", -0.5), ("depth-mup", "muon", -0.5), ("depth-mup", "sgd", 0.0),
    ("completep", "adamw", 0.0), ("completep", "sgd", 1.0), ("sp", "adamw", P.SP_ADAMW_DEPTH_EXPONENT),
])
def test_documented_depth_exponents_hold(parametrization, optimizer, exponent):
    depths = np.array([1, 2, 4, 16, 64])
    lr = P.predict_lr(depths, base_depth=1, base_lr=1.0, parametrization=parametrization, optimizer=optimizer)
    slope = np.polyfit(np.log(depths), np.log(lr), 1)[0]
    assert slope == pytest.approx(exponent, abs=1e-12)


@pytest.mark.parametrize("parametrization, optimizer", [("sp", "sgd"), ("sp", "muon"), ("mup", "adamw"),
                                                         ("mup", "sgd"), ("mup", "muon")])
def test_predict_lr_refuses_a_depth_rule_that_has_no_source(parametrization, optimizer):
    kw = dict(base_depth=4, base_lr=1e-3, parametrization=parametrization, optimizer=optimizer)
    assert P.predict_lr(4, **kw) == 1e-3
    with pytest.raises(ValueError, match="no published or measured depth rule.*fit_lr_transfer"):
        P.predict_lr(8, **kw)
    with pytest.raises(ValueError, match="no published or measured depth rule"):
        P.predict_lr(np.array([4, 8]), **kw)


def test_sp_with_sgd_has_no_width_rule():
    with pytest.raises(ValueError, match="no published or measured width rule"):
        P.predict_lr(4, base_depth=4, base_lr=1e-3, parametrization="sp", optimizer="sgd", width=256, base_width=128)


def test_alpha_override_interpolates_the_exponent():
    lr = P.predict_lr(4, base_depth=1, base_lr=1.0, parametrization="depth-mup", optimizer="adamw", alpha=0.25)
    assert lr == pytest.approx(4 ** -0.75)


def test_adam_width_rule_is_inverse_width_and_sgd_muon_are_width_free():
    kw = dict(base_depth=1, base_lr=1.0, parametrization="mup", width=512, base_width=128)
    assert P.predict_lr(1, optimizer="adamw", **kw) == pytest.approx(0.25)
    assert P.predict_lr(1, optimizer="sgd", **kw) == 1.0
    assert P.predict_lr(1, optimizer="muon", **kw) == 1.0


def test_scalar_and_vector_paths_agree():
    kw = dict(base_depth=2, base_lr=3e-3, parametrization="completep", optimizer="sgd", width=64, base_width=32)
    depths = np.array([1, 3, 7, 12])
    np.testing.assert_allclose(P.predict_lr(depths, **kw), [P.predict_lr(int(d), **kw) for d in depths], rtol=1e-15)


def test_trainer_multipliers_equal_predict_lr_for_depth_rules():
    for p in ("depth-mup", "completep"):
        for o in P.OPTIMIZERS:
            m = P.lr_multipliers(p, o, depth=8, base_depth=2, width=64, base_width=32)["hidden"]
            assert m == pytest.approx(P.predict_lr(8, base_depth=2, base_lr=1.0, parametrization=p, optimizer=o,
                                                   width=64, base_width=32))


@pytest.mark.parametrize("kwargs, match", [
    (dict(parametrization="ntk"), "parametrization='ntk'"),
    (dict(optimizer="lion"), "optimizer='lion'"),
    (dict(base_lr=0.0), "base_lr=0.0"),
    (dict(depth=0), "depth=0"),
    (dict(alpha=2.0), "alpha=2.0"),
    (dict(width=64), "base_width=None"),
])
def test_bad_arguments_raise_naming_the_value(kwargs, match):
    kw = dict(depth=4, base_depth=1, base_lr=1e-3, parametrization="depth-mup", optimizer="adamw")
    kw.update(kwargs)
    depth = kw.pop("depth")
    with pytest.raises(ValueError, match=match):
        P.predict_lr(depth, **kw)


def test_muon_step_scale_is_the_spectral_condition_and_rejects_empty_shapes():
    assert P.muon_step_scale(512, 128) == 2.0 and P.muon_step_scale(128, 512) == 0.5
    assert P.muon_step_scale(128, 128) == 1.0
    with pytest.raises(ValueError, match="fan_in=0"):
        P.muon_step_scale(4, 0)


def test_sp_adamw_has_no_width_rule_and_points_to_the_calibration():
    kw = dict(base_depth=4, base_lr=1.5e-3, optimizer="adamw")
    assert P.predict_lr(4, width=128, base_width=128, parametrization="sp", **kw) == 1.5e-3
    with pytest.raises(ValueError, match="fit_lr_transfer"):
        P.predict_lr(4, width=160, base_width=128, parametrization="sp", **kw)
    # the muP family keeps its published hidden-LR rule ~ 1/width
    assert P.predict_lr(4, width=256, base_width=128, parametrization="mup", **kw) == pytest.approx(0.75e-3)
