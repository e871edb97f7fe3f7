"""The prevention rules as pure functions: hazard transitions and marks, fund compliance figures.

Numbers come from the jurisdiction profile (``PreventionFundRules``, ``ServiceInstitutionRules``);
nothing here reads a database.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.events.prevention import HazardStatus
from contracts.profiles.schema import PreventionFundRules, round_money

SHANGHAI = ZoneInfo("Asia/Shanghai")

S = HazardStatus
# Open → rectifying → rectified → verified; overdue and refused are set on the way and can still
# be rectified; a failed verification sends a hazard back to rectifying. Verified is final.
TRANSITIONS: dict[HazardStatus, frozenset[HazardStatus]] = {
    S.OPEN: frozenset({S.RECTIFYING, S.OVERDUE, S.REFUSED}),
    S.RECTIFYING: frozenset({S.RECTIFIED, S.OVERDUE, S.REFUSED}),
    S.OVERDUE: frozenset({S.RECTIFYING, S.RECTIFIED, S.REFUSED}),
    S.REFUSED: frozenset({S.RECTIFYING}),
    S.RECTIFIED: frozenset({S.VERIFIED, S.RECTIFYING}),
    S.VERIFIED: frozenset(),
}
UNDER_RECTIFICATION = frozenset({S.OPEN, S.RECTIFYING})
DONE = frozenset({S.RECTIFIED, S.VERIFIED})


def transition_allowed(current: HazardStatus, target: HazardStatus) -> bool:
    return target in TRANSITIONS[current]


def enforcement_basis(status: HazardStatus) -> bool:
    """Beijing: a hazard still being rectified is not a basis for enforcement (整改中的隐患不作为执法依据).

    Rectified ones found by the professional service count as the unit's self-inspection, so
    only an overdue or refused rectification may be one.
    """
    return status in (S.OVERDUE, S.REFUSED)


def counts_as_self_inspection(status: HazardStatus, found_by_professional_service: bool) -> bool:
    """Beijing: found and rectified in the professional service → counts as the unit's own self-inspection."""
    return found_by_professional_service and status in DONE


def is_overdue(deadline: date, today: date) -> bool:
    """The deadline day is still on time (整改期限当日仍在期限内)."""
    return today > deadline


@dataclass(frozen=True)
class FundPosition:
    """A year's prevention-fund figures for one insurer 事故预防费用年度情况."""

    year: int
    collected_premium: Decimal
    accrued: Decimal
    carried_in: Decimal
    spent: Decimal
    target_amount: Decimal
    cap_amount: Decimal
    spending_limit: Decimal
    remaining: Decimal
    spend_ratio: Decimal | None
    target_ratio: Decimal
    cap_ratio: Decimal
    target_binding: bool
    elapsed_share: Decimal
    projected_spent: Decimal
    projected_ratio: Decimal | None
    closed: bool
    carried_out: Decimal


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part / whole).quantize(Decimal("0.0001")) if whole > 0 else None


def elapsed_share(year: int, today: date) -> Decimal:
    """How much of ``year`` has passed on ``today`` (1 after it, 0 before it)."""
    if today.year > year:
        return Decimal(1)
    if today.year < year:
        return Decimal(0)
    days = 366 if calendar.isleap(year) else 365
    return (Decimal(today.timetuple().tm_yday) / Decimal(days)).quantize(Decimal("0.0001"))


def fund_position(
    rules: PreventionFundRules, year: int, today: date, *, collected: Decimal, accrued: Decimal, carried_in: Decimal,
    spent: Decimal, closed: bool, carried_out: Decimal,
) -> FundPosition:
    limit = rules.spending_limit(collected, carried_in)
    share = elapsed_share(year, today)
    projected = round_money(spent / share) if share > 0 else spent
    return FundPosition(
        year=year, collected_premium=collected, accrued=accrued, carried_in=carried_in, spent=spent,
        target_amount=rules.target_amount(collected), cap_amount=rules.cap_amount(collected), spending_limit=limit,
        remaining=limit - spent, spend_ratio=_ratio(spent, collected), target_ratio=rules.target_ratio, cap_ratio=rules.cap_ratio,
        target_binding=rules.target_binding_for_year(year), elapsed_share=share, projected_spent=projected,
        projected_ratio=_ratio(projected, collected), closed=closed, carried_out=carried_out,
    )


def accrual(rules: PreventionFundRules, collected_change: Decimal) -> Decimal:
    """Prevention money accrued on premium received (or given back): the target share of it."""
    return round_money(collected_change * rules.target_ratio)
