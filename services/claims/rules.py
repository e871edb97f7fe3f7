"""Pure claim rules 理赔规则: cover at a moment, fast-track clock, and each victim's payable amount.

No I/O: every number a regulator sets arrives as an argument (taken from the jurisdiction profile
by the service layer). Rounding: every amount derived from a ratio is rounded once, to the fen,
half up (:func:`contracts.profiles.schema.round_money`); caps compare rounded amounts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.profiles.schema import FastTrackRules, LimitRules, round_money

SHANGHAI = ZoneInfo("Asia/Shanghai")
ZERO = Decimal(0)


def in_force(period_start: dt.date, period_end: dt.date, cancelled_from: dt.date | None, accident_at: dt.datetime) -> bool:
    """Whether a policy covers the accident moment: cover days run 0时起 … 24时止, Asia/Shanghai.

    A cancellation's effective date is the first day without cover.
    """
    day = accident_at.astimezone(SHANGHAI).date()
    if cancelled_from is not None and day >= cancelled_from:
        return False
    return period_start <= day <= period_end


@dataclass(frozen=True)
class FastTrackClock:
    """The 快赔/预赔 clock of one claim, as the API shows it."""

    opened: bool
    deadline: dt.datetime | None
    started_at: dt.datetime | None
    met: bool | None  # None while still running
    overdue: bool


def fast_track_clock(
    rules: FastTrackRules, opened: bool, reported_at: dt.datetime, started_at: dt.datetime | None, now: dt.datetime
) -> FastTrackClock:
    """Met when the first quick payment or pre-payment is at or before the deadline (48:00:00 on time)."""
    if not opened:
        return FastTrackClock(False, None, None, None, False)
    deadline = rules.deadline(reported_at)
    if started_at is not None:
        met = rules.on_time(reported_at, started_at)
        return FastTrackClock(True, deadline, started_at, met, not met)
    overdue = now > deadline
    return FastTrackClock(True, deadline, None, False if overdue else None, overdue)


@dataclass(frozen=True)
class Remaining:
    """What is still available under the policy's limits before this victim 剩余限额."""

    aggregate: Decimal  # 累计责任限额 left
    per_accident: Decimal  # 每次事故责任限额 left for this accident
    third_party: Decimal  # 第三者责任 left (within the aggregate)


@dataclass
class Assessment:
    """One victim's payable amount and the steps that led to it 理算过程."""

    death_disability: Decimal = ZERO
    medical: Decimal = ZERO
    payable: Decimal = ZERO
    limits_exhausted: bool = False
    steps: list[str] = field(default_factory=list)


def assess_victim(
    limits: LimitRules,
    *,
    per_person_limit: Decimal,
    medical_limit: Decimal,
    outcome: str,
    disability_grade: int | None,
    medical_costs: Decimal,
    remaining: Remaining,
    third_party: bool,
) -> Assessment:
    """Payable for one victim: per-person limit × death/disability share, plus medical costs up to the
    medical sub-limit, then capped by what is left of the per-accident and aggregate limits."""
    a = Assessment()
    if outcome == "death":
        ratio = limits.death_ratio
        a.death_disability = round_money(per_person_limit * ratio)
        a.steps.append(f"death 死亡: {per_person_limit} × {ratio} = {a.death_disability}")
    elif outcome == "disability":
        ratio = limits.disability_ratio(disability_grade)  # ValueError outside 1..10
        a.death_disability = round_money(per_person_limit * ratio)
        a.steps.append(f"disability grade {disability_grade} 伤残{disability_grade}级: {per_person_limit} × {ratio} = {a.death_disability}")
    if medical_costs > 0:
        a.medical = min(medical_costs, medical_limit)
        a.steps.append(f"medical 医疗费用: min({medical_costs}, medical limit 医疗限额 {medical_limit}) = {a.medical}")
    claimed = a.death_disability + a.medical
    caps = [("per-accident limit left 每次事故剩余限额", remaining.per_accident), ("aggregate left 累计剩余限额", remaining.aggregate)]
    if third_party:
        caps.append(("third-party limit left 第三者剩余限额", remaining.third_party))
    payable = claimed
    for name, left in caps:
        if payable > left:
            a.steps.append(f"capped by {name}: min({payable}, {left}) = {max(left, ZERO)}")
            payable = max(left, ZERO)
            a.limits_exhausted = True
    a.payable = payable
    a.steps.append(f"payable 赔付 = {payable}" + (" (limits exhausted 限额已用尽)" if a.limits_exhausted else ""))
    return a


def capped_cost(kind: str, amount: Decimal, limit_left: Decimal) -> tuple[Decimal, list[str]]:
    """Rescue 施救 or legal 法律 costs within what is left of their sub-limit."""
    payable = min(amount, max(limit_left, ZERO))
    return payable, [f"{kind}: min({amount}, {kind} limit left {limit_left}) = {payable}"]
