"""Every committed results folder is reproduced by today's code, or marked stale.

One run per folder is retrained for its first steps on CPU (`progtheory.train.freshness`); a folder
whose committed losses today's code no longer gives must say so in its experiment.json, with
the difference measured here (within 10x), so the mark cannot hide a later change.
"""

from pathlib import Path

import pytest

from progtheory.train import freshness

RESULTS = Path(__file__).resolve().parents[2] / "experiments" / "results"
FOLDERS = freshness.folders(RESULTS) if RESULTS.is_dir() else []


@pytest.mark.slow
@pytest.mark.parametrize("name", FOLDERS)
def test_a_committed_result_is_reproduced_by_todays_code_or_marked_stale(name, tmp_path):
    result = freshness.check_folder(name, RESULTS, work=tmp_path)
    if not result["checked"]:
        pytest.skip(result["reason"])
    ok, why = freshness.judge(result)
    assert ok, why


def test_a_mark_must_match_the_measured_difference_within_a_factor_of_ten():
    base = {"name": "x", "fresh": False, "reason": "r", "max_abs_diff": 0.3}
    assert freshness.judge({**base, "mark": {"max_abs_diff": 0.1}})[0]
    assert not freshness.judge({**base, "mark": {"max_abs_diff": 0.001}})[0]  # a new change under an old mark
    assert not freshness.judge({**base, "mark": None})[0]


def test_a_fresh_folder_must_not_carry_a_stale_mark():
    base = {"name": "x", "fresh": True, "reason": "r", "max_abs_diff": 1e-6}
    assert freshness.judge({**base, "mark": None})[0]
    assert not freshness.judge({**base, "mark": {"max_abs_diff": 0.1}})[0]


def test_a_strided_table_is_checked_up_to_its_first_kept_step_after_zero():
    rows = [{"step": s} for s in (0, 99, 100, 199)]
    assert freshness._steps_to_check(rows) == 100
    assert freshness._steps_to_check([{"step": s} for s in range(30)]) == freshness.STEPS
