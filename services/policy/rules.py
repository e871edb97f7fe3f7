"""Pure rules of the policy service: no I/O, every regulator's number from the jurisdiction profile.

Rounding, stated once: every derived amount of money is rounded to the fen 分, half up, with the
profile's :func:`round_money`, once, at the end of its computation (a premium, a commission cap,
a pro-rata change); comparisons against a cap use the exact, unrounded product.

Rating factors: each factor is clamped to the profile's [factor_min, factor_max] and their
product to [product_min, product_max] (as the profile's own ``combined_factor`` does); the
breakdown shows the raw and the applied value, so a clamp is never silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from contracts.enums import Industry
from contracts.profiles import JurisdictionProfile, get_profile, round_money
from contracts.profiles.schema import AccidentGrade
from kernel.errors import DomainError

ALLOWED_MANDATORY_CANCELLATION = ("closed_by_law", "stopped_business")  # Measures 2025 Art. 16


def must_insure(industry: Industry, jurisdiction: str, on: date) -> bool:
    """Whether insurance is compulsory for this industry (Measures 2025 Art. 2; Beijing excludes fishery)."""
    return get_profile(jurisdiction, on).must_insure(industry)


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


# --- rosters -------------------------------------------------------------------------------


def uniform_insured_amount(amounts: Sequence[Decimal], field_prefix: str = "members") -> Decimal:
    """The one insured amount of a roster; a roster that differentiates is refused (Measures Art. 16, 44)."""
    if not amounts:
        raise DomainError("roster.empty", "名册至少应有一名从业人员", "A roster lists at least one employee", field=field_prefix)
    first = amounts[0]
    for index, amount in enumerate(amounts):
        if amount != first:
            raise DomainError(
                "roster.uniform_insured_amount",
                f"全体从业人员（含临时聘用、劳务派遣人员）保险金额应当统一：第 {index + 1} 人为 {amount}，第 1 人为 {first}",
                f"Every employee (temporary and dispatched included) is insured for one amount: "
                f"person {index + 1} has {amount}, person 1 has {first}",
                field=f"{field_prefix}.{index}.insured_amount",
            )
    return first


# --- limits, period, commission -----------------------------------------------------------


def check_minimum_limit(profile: JurisdictionProfile, per_person_limit: Decimal, policy_start: date) -> dict[str, Any]:
    """The minimum-limit breakdown; refuses a per-person limit below the minimum on the start date (Art. 15)."""
    breakdown = profile.minimum_death_disability_breakdown(policy_start)
    as_dict = breakdown.model_dump(mode="json")
    if per_person_limit < breakdown.minimum:
        raise DomainError(
            "limit.below_minimum",
            f"每人死亡伤残责任限额 {per_person_limit} 低于 {policy_start.isoformat()} 起保时的最低限额 {breakdown.minimum}",
            f"Per-person death/disability limit {per_person_limit} is below the minimum {breakdown.minimum} "
            f"for a policy starting {policy_start.isoformat()}",
            field="per_person_limit",
            extra={"minimum_breakdown": as_dict, "profile": f"{profile.jurisdiction} {profile.version}"},
        )
    return as_dict


def check_period(profile: JurisdictionProfile, start: date, end: date, field: str = "period_end") -> int:
    """Days of cover; the period may not be empty nor exceed the profile's maximum (≤ 1 year)."""
    if end < start:
        raise DomainError("policy.period_inverted", "保险止期早于起期", "The period ends before it starts", field=field)
    latest = profile.policy_term.latest_end(start)
    if end > latest:
        raise DomainError(
            "policy.period_too_long",
            f"保险期间不得超过 {profile.policy_term.max_period_years} 年（最晚止期 {latest.isoformat()}）",
            f"The period may not exceed {profile.policy_term.max_period_years} year(s) (last cover day {latest.isoformat()})",
            field=field,
        )
    return (end - start).days + 1


def check_commission(profile: JurisdictionProfile, premium: Decimal, commission: Decimal, mandatory: bool) -> Decimal:
    """Commission ≤ cap × premium on a mandatory (high-risk) unit's policy (Art. 14); returns the cap amount."""
    cap = profile.commission.max_commission(premium)
    if mandatory and not profile.commission.commission_allowed(premium, commission):
        raise DomainError(
            "commission.above_cap",
            f"高危行业单位保单手续费 {commission} 超过保费 {premium} 的 {profile.commission.cap_ratio:%}（上限 {cap}）",
            f"Commission {commission} exceeds {profile.commission.cap_ratio:%} of premium {premium} (at most {cap})",
            field="commission",
            extra={"premium": _money(premium), "max_commission": _money(cap)},
        )
    return cap


# --- rating --------------------------------------------------------------------------------


def bounded(value: Decimal, low: Decimal, high: Decimal) -> tuple[Decimal, bool]:
    """``value`` clamped into [low, high], and whether it had to be."""
    applied = min(max(value, low), high)
    return applied, applied != value


def accident_record_option(grades: Sequence[AccidentGrade]) -> str:
    """ACCIDENT_RECORD option from the last period's accidents: the worst grade decides."""
    if not grades:
        return "NO_ACCIDENT"
    order = list(AccidentGrade)
    worst = max(grades, key=order.index)
    return {AccidentGrade.GENERAL: "GENERAL", AccidentGrade.LARGER: "LARGER"}.get(worst, "SERIOUS_OR_WORSE")


def hazard_rectification_option(statuses: Sequence[str]) -> str:
    """HAZARD_RECTIFICATION option: a refused rectification outweighs an overdue one."""
    if "REFUSED" in statuses:
        return "REFUSED"
    if "OVERDUE" in statuses:
        return "OVERDUE"
    return "COOPERATIVE"


def standardization_option(grade: str) -> str:
    return {"LEVEL_1": "LEVEL_1", "LEVEL_2": "LEVEL_2", "LEVEL_3": "LEVEL_3"}.get(grade, "NOT_REACHED")


def factor_choices(
    profile: JurisdictionProfile,
    facts: Mapping[str, str],
    standardization_grade: str,
    accident_record: str | None = None,
    hazard_rectification: str | None = None,
) -> dict[str, str]:
    """Option of every factor the profile names (plus a safety award when the unit has one).

    ``accident_record`` and ``hazard_rectification`` learned from events override the declared facts.
    """
    options = {
        "ACCIDENT_RECORD": accident_record or facts["accident_record"],
        "SAFETY_STANDARDIZATION": standardization_option(standardization_grade),
        "VIOLATION_DISHONESTY": facts["violation_record"],
        "HAZARD_RECTIFICATION": hazard_rectification or facts["hazard_rectification"],
        "SOCIAL_RESCUE": facts["social_rescue"],
        "SAFETY_AWARD": facts["safety_award"],
    }
    codes = list(profile.rating.factors)
    if "SAFETY_AWARD" in profile.rating.adjustments and options["SAFETY_AWARD"] != "NONE" and "SAFETY_AWARD" not in codes:
        codes.append("SAFETY_AWARD")
    return {code: options[code] for code in codes if code in options}


@dataclass(frozen=True)
class RatingInput:
    industry: Industry
    per_person_limit: Decimal
    headcount: int
    period_start: date
    period_end: date
    factor_choices: Mapping[str, str]  # factor code → option, e.g. ACCIDENT_RECORD → NO_ACCIDENT
    project_cost: Decimal | None = None  # construction rated on project cost 按工程造价


@dataclass(frozen=True)
class Rating:
    basis: str
    premium: Decimal
    breakdown: dict[str, Any]


def rate(profile: JurisdictionProfile, data: RatingInput) -> Rating:
    """Premium from the profile's base rates and adjustment factors, with every step shown."""
    rules = profile.rating
    steps: list[str] = []
    period_days = check_period(profile, data.period_start, data.period_end)
    full_year_days = (profile.policy_term.latest_end(data.period_start) - data.period_start).days + 1
    if data.project_cost is not None:
        if data.industry != Industry.CONSTRUCTION:
            raise DomainError(
                "rating.project_cost_only_for_construction",
                "仅建筑施工可按工程造价计费",
                "Only construction is rated on project cost",
                field="project_cost",
            )
        basis = "PROJECT_COST"
        base = rules.construction.base_premium(data.project_cost)
        base_detail = {
            "project_cost": _money(data.project_cost),
            "banding": rules.construction.banding,
            "bands": [{"upper": None if b.upper is None else str(b.upper), "rate_permille": str(b.rate_permille)} for b in rules.construction.ordered_bands()],
        }
        steps.append(f"base premium 基准保费 = project cost {data.project_cost} by {rules.construction.banding} bands = {base}")
    else:
        basis = "PER_PERSON"
        rate_permille = rules.base_rates_permille.get(data.industry)
        if rate_permille is None:
            raise DomainError("rating.no_base_rate", "该行业在本地区规则中无基准费率", "No base rate for this industry in the profile", field="industry")
        per_person = rules.base_premium_per_person(data.industry, data.per_person_limit)
        base = per_person * data.headcount
        base_detail = {"base_rate_permille": str(rate_permille), "base_premium_per_person": _money(per_person), "headcount": data.headcount}
        steps.append(f"base per person 每人基准保费 = {data.per_person_limit} × {rate_permille}‰ = {per_person}")
        steps.append(f"base premium 基准保费 = {per_person} × {data.headcount} = {base}")
    factors = []
    product = Decimal(1)
    for code, option in data.factor_choices.items():
        raw = rules.factor(code, option)
        applied, clamped = bounded(raw, rules.factor_min, rules.factor_max)
        product *= applied
        factors.append({"factor": code, "option": option, "raw": str(raw), "applied": str(applied), "clamped": clamped})
        steps.append(f"factor {code}={option}: {raw}" + (f" clamped to {applied}" if clamped else ""))
    combined, product_clamped = bounded(product, rules.product_min, rules.product_max)
    steps.append(
        f"product of factors 系数乘积 = {product}"
        + (f" clamped to [{rules.product_min}, {rules.product_max}] → {combined}" if product_clamped else "")
    )
    premium = round_money(base * combined * period_days / full_year_days)
    steps.append(f"premium 保费 = {base} × {combined} × {period_days}/{full_year_days} days = {premium} (rounded to the fen, half up)")
    return Rating(
        basis=basis,
        premium=premium,
        breakdown={
            "profile": {"jurisdiction": profile.jurisdiction, "version": profile.version, "lineage": list(profile.lineage)},
            "basis": basis,
            **base_detail,
            "base_premium": _money(base),
            "factor_bounds": [str(rules.factor_min), str(rules.factor_max)],
            "product_bounds": [str(rules.product_min), str(rules.product_max)],
            "factors": factors,
            "factor_product_raw": str(product),
            "factor_product": str(combined),
            "factor_product_clamped": product_clamped,
            "period_days": period_days,
            "full_year_days": full_year_days,
            "premium": _money(premium),
            "steps": steps,
        },
    )


def sub_limits(profile: JurisdictionProfile, per_person_limit: Decimal, headcount: int) -> dict[str, str]:
    amounts = profile.sub_limits.amounts(per_person_limit, max(headcount, 1))
    return {k: _money(v) for k, v in amounts.model_dump().items()}


# --- endorsements, cancellation, renewal ---------------------------------------------------


def pro_rata(amount: Decimal, days: int, period_days: int) -> Decimal:
    """``amount`` × days / period days, rounded once to the fen, half up."""
    return round_money(amount * days / period_days)


def endorsement_premium(
    issue_premium: Decimal, issue_headcount: int, period_start: date, period_end: date, effective: date, net_added: int
) -> tuple[Decimal, dict[str, Any]]:
    """Pro-rata premium of adding (positive) or removing (negative) people from ``effective`` to the end.

    change = issue premium ÷ issue headcount × net added × days remaining ÷ days in period, where
    days remaining counts the effective day and the last day of cover.
    """
    if not period_start <= effective <= period_end:
        raise DomainError(
            "endorsement.outside_period", "批改生效日不在保险期间内", "The endorsement takes effect outside the policy period", field="effective_date"
        )
    period_days = (period_end - period_start).days + 1
    remaining = (period_end - effective).days + 1
    change = round_money(issue_premium * net_added * remaining / (issue_headcount * period_days))
    return change, {
        "premium_per_person": str(issue_premium / issue_headcount),
        "net_added": net_added,
        "days_remaining": remaining,
        "period_days": period_days,
        "formula": f"{issue_premium} ÷ {issue_headcount} × {net_added} × {remaining}/{period_days} = {change} (rounded to the fen, half up)",
    }


def check_cancellation_reason(reason: str, mandatory: bool) -> None:
    """A mandatory unit may surrender only when closed by law or completely stopped (Art. 16)."""
    if mandatory and reason not in ALLOWED_MANDATORY_CANCELLATION:
        raise DomainError(
            "cancellation.reason_not_allowed",
            "应保单位仅在依法关闭取缔或完全停止生产经营活动时可以退保",
            "A unit that must insure may cancel only when closed by law or when it has completely stopped business",
            field="reason",
        )


def cancellation_refund(written_premium: Decimal, period_start: date, period_end: date, effective: date) -> tuple[Decimal, Decimal, dict[str, Any]]:
    """(earned, refund): refund = written × days from ``effective`` to the end ÷ days in period."""
    if not period_start <= effective <= period_end:
        raise DomainError(
            "cancellation.outside_period", "退保生效日不在保险期间内", "Cancellation takes effect outside the policy period", field="effective_date"
        )
    period_days = (period_end - period_start).days + 1
    unearned_days = (period_end - effective).days + 1
    refund = pro_rata(written_premium, unearned_days, period_days)
    return written_premium - refund, refund, {
        "unearned_days": unearned_days,
        "period_days": period_days,
        "formula": f"{written_premium} × {unearned_days}/{period_days} = {refund} (rounded to the fen, half up)",
    }


def check_renewal_start(profile: JurisdictionProfile, previous_end: date, start: date, mandatory: bool) -> None:
    """A renewal starts after the previous cover; for a mandatory unit no later than the day after (Art. 16)."""
    if start <= previous_end:
        raise DomainError("renewal.overlaps", "续保起期应晚于原保单止期", "A renewal starts after the previous policy ends", field="period_start")
    if mandatory and not profile.policy_term.renewal_on_time(previous_end, start):
        latest = profile.policy_term.renewal_latest_start(previous_end)
        raise DomainError(
            "renewal.late_start",
            f"应保单位不得延迟续保：续保起期最晚为 {latest.isoformat()}",
            f"A unit that must insure may not delay renewal: the renewal starts by {latest.isoformat()}",
            field="period_start",
        )


def check_premium_receipt(written: Decimal, collected: Decimal, amount: Decimal, kind: str) -> Decimal:
    """New collected premium; it never exceeds the written premium nor falls below zero."""
    if kind == "RECEIPT":
        new = collected + amount
        if new > written:
            raise DomainError(
                "premium.collected_exceeds_written",
                f"实收保费 {new} 不得超过应收保费 {written}",
                f"Collected premium {new} may not exceed the written premium {written}",
                field="amount",
            )
        return new
    new = collected - amount
    if new < 0:
        raise DomainError(
            "premium.refund_exceeds_collected",
            f"退费 {amount} 超过累计实收保费 {collected}",
            f"Refund {amount} exceeds the premium collected so far ({collected})",
            field="amount",
        )
    return new
