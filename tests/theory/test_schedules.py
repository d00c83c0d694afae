"""Schedule limits and monotonicity (the schedules the trainer and the theory share)."""

import numpy as np
import pytest

from progtheory.theory import schedules as S

T = 1000
t = np.arange(T)


@pytest.mark.parametrize("kind", ["wsd", "cosine", "linear", "constant"])
def test_warmup_rises_linearly_to_the_peak(kind):
    f = S.lr_factor(t, T, kind=kind, warmup=0.05)
    W = 50
    assert np.all(np.diff(f[:W]) > 0)
    assert f[0] == pytest.approx(1 / W) and f[W - 1] == pytest.approx(1.0)
    assert np.all(f[:-1] > 0) and np.all(f <= 1.0 + 1e-12) and f[-1] >= 0  # only the last step may reach 0


@pytest.mark.parametrize("shape", ["linear", "cosine", "sqrt"])
@pytest.mark.parametrize("final", [0.0, 0.1])
def test_wsd_is_flat_in_the_stable_phase_and_decays_monotonically_to_final(shape, final):
    f = S.wsd(t, T, warmup=0.02, decay=0.1, shape=shape, final=final)
    assert np.all(f[20:900] == 1.0)
    assert np.all(np.diff(f[900:]) < 0)
    assert f[-1] == pytest.approx(final)


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_decaying_schedules_fall_monotonically_after_warmup_and_end_at_final(kind):
    f = S.lr_factor(t, T, kind=kind, warmup=0.02, final_lr_frac=0.1)
    assert np.all(np.diff(f[20:]) < 0)
    assert f[-1] == pytest.approx(0.1)


def test_cosine_is_half_way_at_the_middle_of_its_decay():
    f = S.cosine(np.array([509.0]), T, warmup=0.02)
    assert f[0] == pytest.approx(0.5, abs=2e-3)  # p = (509-20+1)/980 = 0.5


def test_schedule_from_config_matches_lr_factor():
    from progtheory.config import ScheduleConfig

    sc = ScheduleConfig(kind="wsd", warmup=0.1, decay=0.3, decay_shape="sqrt", final_lr_frac=0.05)
    f = S.schedule_from_config(sc, T)
    np.testing.assert_array_equal(f(t), S.wsd(t, T, 0.1, 0.3, "sqrt", 0.05))


@pytest.mark.parametrize("bad, match", [
    (dict(T=0), "T=0"), (dict(warmup=1.0), "warmup=1.0"), (dict(decay=1.5), "decay=1.5"),
    (dict(warmup=0.6, decay=0.6), "warmup"), (dict(final=2.0), "final=2.0"), (dict(shape="step"), "step"),
])
def test_bad_schedule_arguments_raise_naming_the_value(bad, match):
    kw = dict(T=T, warmup=0.02, decay=0.1, shape="linear", final=0.0) | bad
    with pytest.raises(ValueError, match=match):
        S.wsd(t[:5], **kw)
