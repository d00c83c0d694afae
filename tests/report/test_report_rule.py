"""The decision rule of the report: conditions, parts and records judged by one rule, and how they print."""

import math

import pytest

from progtheory.report.rule import (FAILS, HOLDS, INCONCLUSIVE, OPEN, Condition, Part, Record, decide, fmt, format_band,
                                    format_condition)

PARITY = 0.005


def _gap(label, mean, half, n=3):
    """A relative final gap judged against the paper's parity: it must lie at or below +0.5%."""
    return Condition(label, mean, mean - half, mean + half, n, band_hi=PARITY)


def test_a_claim_holds_when_every_interval_lies_inside_its_band():
    part = Part("mixes", tuple(_gap(f"τ={t}", 0.0, 0.003) for t in (0.25, 0.5, 0.8)))
    assert part.verdict == HOLDS


def test_one_interval_wholly_outside_its_band_fails_the_claim():
    conditions = [_gap("τ=0.25", 0.0, 0.003)] + [_gap(f"τ={t}", 0.0, 0.02) for t in (0.5, 0.7)]
    conditions.append(_gap("τ=0.8", 0.05, 0.01))  # lies wholly above +0.5%
    assert Part("mixes", tuple(conditions)).verdict == FAILS


def test_seven_of_eight_conditions_above_parity_fail_the_claim():
    """The P2 table: one condition straddles parity, seven lie decisively above it."""
    conditions = [_gap("1-layer τ=0.25", -0.005, 0.006)]
    conditions += [_gap(f"cond {i}", 0.03 + 0.05 * i, 0.01) for i in range(7)]
    part = Part("WSD mixes at τ ≤ 0.8T", tuple(conditions))
    assert part.verdict == FAILS
    assert part.deciding.label == "cond 6"  # the one furthest outside its band


def test_a_claim_is_inconclusive_when_an_interval_straddles_its_band_and_none_lies_outside():
    part = Part("mixes", (_gap("a", 0.0, 0.002), _gap("b", 0.004, 0.01)))
    assert part.verdict == INCONCLUSIVE
    assert part.deciding.label == "b"


def test_a_single_seed_has_no_interval_and_decides_nothing_unless_exact():
    assert _gap("one seed", 0.5, 0.0, n=1).verdict == INCONCLUSIVE
    exact = Condition("FLOP count − formula", 0.0, 0.0, 0.0, 1, band_lo=-1e-9, band_hi=1e-9, exact=True)
    assert exact.verdict == HOLDS


def test_a_part_without_conditions_is_open():
    assert Part("not yet run").verdict == OPEN


def test_a_two_part_prediction_gets_a_verdict_per_part_and_overall_by_the_same_rule():
    gap_left = Part("cosine leaves a gap", (Condition("τ=0.5", 0.3, 0.2, 0.4, 3, band_lo=PARITY),))
    mixes = Part("WSD at 0.8T mixes", (_gap("τ=0.8", 0.4, 0.05),))
    straddles = Part("WSD at 0.8T mixes", (_gap("τ=0.8", 0.004, 0.01),))
    assert (gap_left.verdict, mixes.verdict) == (HOLDS, FAILS)
    assert Record("P6", "x", (gap_left, mixes)).verdict == FAILS
    assert Record("P6", "x", (gap_left, straddles)).verdict == INCONCLUSIVE
    assert Record("P6", "x", (gap_left, gap_left)).verdict == HOLDS


def test_a_reported_part_does_not_enter_the_overall_verdict():
    reported = Part("sp drifts", (_gap("sp", 0.4, 0.05),), judged=False)
    claim = Part("transfers", ())
    assert Record("P14", "x", (reported, claim)).verdict == OPEN


def test_decide_rejects_an_unknown_verdict_word():
    with pytest.raises(ValueError, match="partly"):
        decide(["holds", "partly holds"])


def test_formatted_numbers_carry_no_signed_zero():
    assert fmt(-1e-6, "+.2f") == "+0.00" and fmt(-0.00001, "+.1%") == "+0.0%"
    assert fmt(-0.2, "+.2f") == "-0.20" and fmt(-math.inf, ".2f") == "-inf"


def test_huge_fixed_point_values_print_with_three_significant_digits():
    assert fmt(2.536e27, ".2f") == "2.54e+27" and fmt(-1.5e5, "+.3f") == "-1.5e+05"
    assert fmt(9999.5, ".2f") == "9999.50" and fmt(0.125, "+.1%") == "+12.5%"


def test_percentage_points_print_with_their_unit_in_the_value_and_the_band():
    mae = Condition("MAE", 7.81, 3.98, 11.65, 18, band_hi=1.0, unit="pp")
    assert format_condition(mae) == "MAE: 7.81 pp [3.98 pp, 11.65 pp] (n=18)"
    assert format_band(mae) == "≤ 1.00 pp" and mae.verdict == FAILS
