"""The policy service's pure rules with plain numbers, each at its boundary (numbers from domain.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from contracts.enums import Industry
from contracts.profiles import get_profile
from contracts.profiles.schema import AccidentGrade
from kernel.errors import DomainError
from services.policy import rules

NATIONAL = get_profile("national", date(2027, 1, 1))
BEIJING_2026 = get_profile("beijing", date(2026, 3, 1))


def refused(rule: str, call, *args):
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.rule == rule
    return caught.value


@pytest.mark.parametrize(("limit", "ok"), [(D("399999.99"), False), (D("400000"), True), (D("400000.01"), True)])
def test_national_per_person_limit_is_at_least_400000(limit, ok):
    if ok:
        assert D(rules.check_minimum_limit(NATIONAL, limit, date(2027, 1, 1))["minimum"]) == D("400000")
    else:
        error = refused("limit.below_minimum", rules.check_minimum_limit, NATIONAL, limit, date(2027, 1, 1))
        assert error.violations[0].field == "per_person_limit"
        assert D(error.extra["minimum_breakdown"]["minimum"]) == D("400000")


def test_beijing_minimum_for_a_2026_start_is_795800_with_its_formula():
    assert D(rules.check_minimum_limit(BEIJING_2026, D("795800"), date(2026, 3, 1))["minimum"]) == D("795800")
    error = refused("limit.below_minimum", rules.check_minimum_limit, BEIJING_2026, D("795799"), date(2026, 3, 1))
    breakdown = error.extra["minimum_breakdown"]
    assert D(breakdown["local_amount"]) == D("1925840") and D(breakdown["deduction"]) == D("1130040")
    assert breakdown["income_year"] == 2025 and breakdown["steps"]


@pytest.mark.parametrize(("commission", "ok"), [(D("4300"), True), (D("4300.00"), True), (D("4300.01"), False), (D("4301"), False)])
def test_commission_above_five_percent_is_refused(commission, ok):
    if ok:
        assert rules.check_commission(NATIONAL, D("86000"), commission, mandatory=True) == D("4300.00")
    else:
        error = refused("commission.above_cap", rules.check_commission, NATIONAL, D("86000"), commission, True)
        assert error.extra["max_commission"] == "4300.00"


def test_commission_of_five_point_zero_one_percent_is_refused_and_the_cap_binds_only_mandatory_units():
    refused("commission.above_cap", rules.check_commission, NATIONAL, D("86000"), D("86000") * D("0.0501"), True)
    assert rules.check_commission(NATIONAL, D("86000"), D("4301"), mandatory=False) == D("4300.00")


@pytest.mark.parametrize(
    ("value", "applied", "clamped"),
    [(D("0.69"), D("0.7"), True), (D("0.7"), D("0.7"), False), (D("0.71"), D("0.71"), False),
     (D("1.29"), D("1.29"), False), (D("1.3"), D("1.3"), False), (D("1.31"), D("1.3"), True)],
)
def test_each_factor_is_clamped_into_its_bounds(value, applied, clamped):
    assert rules.bounded(value, NATIONAL.rating.factor_min, NATIONAL.rating.factor_max) == (applied, clamped)


@pytest.mark.parametrize(
    ("value", "applied", "clamped"),
    [(D("0.49"), D("0.5"), True), (D("0.5"), D("0.5"), False), (D("0.51"), D("0.51"), False),
     (D("1.99"), D("1.99"), False), (D("2.0"), D("2.0"), False), (D("2.01"), D("2.0"), True)],
)
def test_the_product_of_factors_is_clamped_into_its_bounds(value, applied, clamped):
    assert rules.bounded(value, NATIONAL.rating.product_min, NATIONAL.rating.product_max) == (applied, clamped)


def test_rate_shows_every_step_from_base_rate_to_premium():
    choices = rules.factor_choices(
        NATIONAL,
        {"accident_record": "NO_ACCIDENT", "violation_record": "NONE", "hazard_rectification": "COOPERATIVE", "social_rescue": "NONE", "safety_award": "NONE"},
        "LEVEL_2",
    )
    assert choices == {"ACCIDENT_RECORD": "NO_ACCIDENT", "SAFETY_STANDARDIZATION": "LEVEL_2", "VIOLATION_DISHONESTY": "NONE", "HAZARD_RECTIFICATION": "COOPERATIVE"}
    rating = rules.rate(NATIONAL, rules.RatingInput(Industry.CONSTRUCTION, D("400000"), 100, date(2027, 1, 1), date(2027, 12, 31), choices))
    # 400,000 × 1.5‰ = 600 per person; × 100 = 60,000; × 0.90 × 0.95 = 0.855 → 51,300.00
    assert rating.breakdown["base_premium_per_person"] == "600.00" and rating.breakdown["base_premium"] == "60000.00"
    assert D(rating.breakdown["factor_product"]) == D("0.855")
    assert rating.premium == D("51300.00")
    assert rating.breakdown["profile"]["version"] == NATIONAL.version and len(rating.breakdown["steps"]) >= 6


def test_beijing_rates_the_social_rescue_factor_too():
    facts = {"accident_record": "NO_ACCIDENT", "violation_record": "NONE", "hazard_rectification": "COOPERATIVE", "social_rescue": "PARTICIPATED", "safety_award": "NONE"}
    assert rules.factor_choices(BEIJING_2026, facts, "NONE")["SOCIAL_RESCUE"] == "PARTICIPATED"
    assert "SOCIAL_RESCUE" not in rules.factor_choices(NATIONAL, facts, "NONE")


def test_construction_on_project_cost_uses_the_progressive_bands():
    rating = rules.rate(
        NATIONAL, rules.RatingInput(Industry.CONSTRUCTION, D("400000"), 10, date(2027, 1, 1), date(2027, 12, 31), {}, project_cost=D("20000000"))
    )
    # 10 M × 0.65‰ + 10 M × 0.60‰ = 6,500 + 6,000
    assert rating.premium == D("12500.00") and rating.basis == "PROJECT_COST"


def test_a_period_longer_than_the_profile_allows_is_refused():
    assert rules.check_period(NATIONAL, date(2027, 1, 1), date(2027, 12, 31)) == 365
    refused("policy.period_too_long", rules.check_period, NATIONAL, date(2027, 1, 1), date(2028, 1, 1))


def test_a_roster_with_a_temporary_worker_insured_for_less_is_refused():
    assert rules.uniform_insured_amount([D("400000"), D("400000")]) == D("400000")
    error = refused("roster.uniform_insured_amount", rules.uniform_insured_amount, [D("400000"), D("400000"), D("300000")])
    assert error.violations[0].field == "members.2.insured_amount"


def test_endorsement_premium_is_pro_rata_on_days_remaining():
    # 60,000 for 100 people over 365 days = 600 a person-year; 2 added with 73 days left (20 Oct–31 Dec): 600 × 2 × 73/365 = 240.00
    change, detail = rules.endorsement_premium(D("60000"), 100, date(2027, 1, 1), date(2027, 12, 31), date(2027, 10, 20), 2)
    assert change == D("240.00") and detail["days_remaining"] == 73
    # one removed from 1 July (184 days left): −600 × 184/365 = −302.4657… → −302.47 (half up, away from zero)
    change, _ = rules.endorsement_premium(D("60000"), 100, date(2027, 1, 1), date(2027, 12, 31), date(2027, 7, 1), -1)
    assert change == D("-302.47")
    refused("endorsement.outside_period", rules.endorsement_premium, D("60000"), 100, date(2027, 1, 1), date(2027, 12, 31), date(2028, 1, 1), 1)


def test_cancellation_refund_is_pro_rata_on_unearned_days():
    # 51,300 × 184/365 = 25,860.8219… → 25,860.82 returned, 25,439.18 earned
    earned, refund, detail = rules.cancellation_refund(D("51300"), date(2027, 1, 1), date(2027, 12, 31), date(2027, 7, 1))
    assert (earned, refund, detail["unearned_days"]) == (D("25439.18"), D("25860.82"), 184)


@pytest.mark.parametrize(("reason", "mandatory", "ok"), [
    ("closed_by_law", True, True), ("stopped_business", True, True), ("voluntary_surrender", True, False), ("voluntary_surrender", False, True),
])
def test_a_mandatory_unit_cancels_only_when_closed_or_stopped(reason, mandatory, ok):
    if ok:
        rules.check_cancellation_reason(reason, mandatory)
    else:
        refused("cancellation.reason_not_allowed", rules.check_cancellation_reason, reason, mandatory)


def test_a_mandatory_unit_renews_no_later_than_the_day_after_the_previous_end():
    rules.check_renewal_start(NATIONAL, date(2027, 12, 31), date(2028, 1, 1), True)
    refused("renewal.late_start", rules.check_renewal_start, NATIONAL, date(2027, 12, 31), date(2028, 1, 2), True)
    rules.check_renewal_start(NATIONAL, date(2027, 12, 31), date(2028, 1, 2), False)
    refused("renewal.overlaps", rules.check_renewal_start, NATIONAL, date(2027, 12, 31), date(2027, 12, 31), True)


def test_collected_premium_never_exceeds_written_nor_falls_below_zero():
    assert rules.check_premium_receipt(D("1000"), D("900"), D("100"), "RECEIPT") == D("1000")
    refused("premium.collected_exceeds_written", rules.check_premium_receipt, D("1000"), D("900"), D("100.01"), "RECEIPT")
    assert rules.check_premium_receipt(D("1000"), D("900"), D("900"), "REFUND") == D("0")
    refused("premium.refund_exceeds_collected", rules.check_premium_receipt, D("1000"), D("900"), D("900.01"), "REFUND")


def test_experience_options_take_the_worst_accident_and_hazard():
    assert rules.accident_record_option([]) == "NO_ACCIDENT"
    assert rules.accident_record_option([AccidentGrade.GENERAL, AccidentGrade.LARGER]) == "LARGER"
    assert rules.accident_record_option([AccidentGrade.ESPECIALLY_SERIOUS]) == "SERIOUS_OR_WORSE"
    assert rules.hazard_rectification_option(["RECTIFIED", "OVERDUE"]) == "OVERDUE"
    assert rules.hazard_rectification_option(["OVERDUE", "REFUSED"]) == "REFUSED"
    assert rules.hazard_rectification_option(["RECTIFIED", "OPEN"]) == "COOPERATIVE"
