"""Pure claim rules with plain numbers: grades, fast-track thresholds and clock, the grade table, limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from contracts.profiles import get_profile
from services.claims.rules import Remaining, assess_victim, capped_cost, fast_track_clock, in_force

NATIONAL = get_profile("national", date(2026, 6, 1))
REPORTED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
PLENTY = Remaining(aggregate=Decimal(10_000_000), per_accident=Decimal(10_000_000), third_party=Decimal(10_000_000))
LIMIT = Decimal(400000)
MEDICAL = Decimal(120000)


def _assess(outcome="death", grade=None, medical=Decimal(0), remaining=PLENTY, third_party=False):
    return assess_victim(
        NATIONAL.limits, per_person_limit=LIMIT, medical_limit=MEDICAL, outcome=outcome, disability_grade=grade,
        medical_costs=medical, remaining=remaining, third_party=third_party,
    )


@pytest.mark.parametrize(
    ("deaths", "serious", "loss", "grade"),
    [
        (2, 0, 0, "GENERAL"), (3, 0, 0, "LARGER"), (9, 0, 0, "LARGER"), (10, 0, 0, "SERIOUS"), (29, 0, 0, "SERIOUS"),
        (30, 0, 0, "ESPECIALLY_SERIOUS"), (0, 9, 0, "GENERAL"), (0, 10, 0, "LARGER"), (0, 50, 0, "SERIOUS"),
        (0, 100, 0, "ESPECIALLY_SERIOUS"), (0, 0, 9_999_999, "GENERAL"), (0, 0, 10_000_000, "LARGER"),
        (2, 12, 3_000_000, "LARGER"),  # domain.md's example: injuries decide
    ],
)
def test_accident_grade_edges(deaths, serious, loss, grade):
    assert NATIONAL.accident_grade(deaths, serious, Decimal(loss)).value == grade


def test_fast_track_opens_at_two_deaths_not_one_or_on_major_social_impact():
    assert not NATIONAL.fast_track.applies(1)
    assert NATIONAL.fast_track.applies(2)
    assert NATIONAL.fast_track.applies(0, major_social_impact=True)


@pytest.mark.parametrize(
    ("after", "met"), [(timedelta(hours=47, minutes=59, seconds=59), True), (timedelta(hours=48), True), (timedelta(hours=48, seconds=1), False)]
)
def test_fast_track_clock_is_met_up_to_exactly_48_hours(after, met):
    clock = fast_track_clock(NATIONAL.fast_track, True, REPORTED, REPORTED + after, REPORTED + after)
    assert clock.deadline == REPORTED + timedelta(hours=48)
    assert clock.met is met


@pytest.mark.parametrize(("after", "overdue"), [(timedelta(hours=48), False), (timedelta(hours=48, seconds=1), True)])
def test_a_running_clock_is_overdue_one_second_after_the_deadline(after, overdue):
    clock = fast_track_clock(NATIONAL.fast_track, True, REPORTED, None, REPORTED + after)
    assert clock.overdue is overdue
    assert clock.met is (False if overdue else None)


@pytest.mark.parametrize(("grade", "amount"), [(1, "400000.00"), (2, "360000.00"), (9, "80000.00"), (10, "40000.00")])
def test_disability_table_edges(grade, amount):
    assert _assess("disability", grade).payable == Decimal(amount)


@pytest.mark.parametrize("grade", [0, 11])
def test_disability_grade_outside_one_to_ten_is_refused(grade):
    with pytest.raises(ValueError):
        _assess("disability", grade)


def test_death_pays_the_whole_per_person_limit():
    result = _assess("death")
    assert result.payable == Decimal("400000.00")
    assert "400000 × 1.00" in result.steps[0]


@pytest.mark.parametrize(("costs", "paid"), [("119999.99", "119999.99"), ("120000", "120000"), ("120000.01", "120000")])
def test_medical_costs_up_to_the_medical_limit(costs, paid):
    assert _assess("injury", medical=Decimal(costs)).payable == Decimal(paid)


def test_limits_exhausted_caps_the_amount_at_what_is_left():
    left = Remaining(aggregate=Decimal(150000), per_accident=Decimal(900000), third_party=Decimal(150000))
    result = _assess("death", remaining=left)
    assert result.payable == Decimal(150000)
    assert result.limits_exhausted
    assert _assess("death", remaining=Remaining(Decimal(0), Decimal(0), Decimal(0))).payable == 0


def test_rescue_costs_within_their_sub_limit():
    assert capped_cost("rescue", Decimal(50), Decimal(40))[0] == Decimal(40)
    assert capped_cost("rescue", Decimal(30), Decimal(40))[0] == Decimal(30)


def test_cover_days_run_in_shanghai_time_and_stop_at_cancellation():
    start, end = date(2026, 1, 1), date(2026, 12, 31)
    assert in_force(start, end, None, datetime(2025, 12, 31, 16, 0, tzinfo=UTC))  # 2026-01-01 00:00 Shanghai
    assert not in_force(start, end, None, datetime(2025, 12, 31, 15, 59, 59, tzinfo=UTC))
    assert not in_force(start, end, None, datetime(2026, 12, 31, 16, 0, tzinfo=UTC))  # lapsed
    assert not in_force(start, end, date(2026, 6, 1), datetime(2026, 6, 1, 1, 0, tzinfo=UTC))
