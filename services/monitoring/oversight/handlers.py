"""Read-model handlers of the oversight part: run after the archive step, in the consumer's transaction.

Idempotent: rows are keyed by policy number, alerts by (rule, subject) with a deterministic id, so a
replay or a rebuild from the start of the topics gives the same figures and raises no alert twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.claims import AccidentReported, ClaimPrepaid, ClaimSettled, FastTrackOpened, FastTrackOverdue
from contracts.events.monitoring import AlertKind, AlertRaised
from contracts.events.policy import PolicyIssued, PolicyRenewed, PremiumCollected, PremiumRefunded
from contracts.events.prevention import (
    FundAccrued,
    FundSpent,
    HazardFound,
    HazardStatus,
    HazardStatusChanged,
    InstitutionEvaluated,
    InstitutionRegistered,
)
from kernel.consumer import Handler
from kernel.outbox import Outbox
from services.monitoring.models import messaging
from services.monitoring.oversight import rules
from services.monitoring.oversight.models import OversightAlert, OversightFact, OversightFundEntry, OversightFundYear, OversightPolicy
from services.monitoring.rows import add_row, get_row, insert_later, keyed

outbox = Outbox(messaging, "monitoring")


async def raise_alert(
    session: AsyncSession,
    kind: AlertKind,
    subject: str,
    *,
    insurer: str | None,
    credit_code: str | None,
    observed: Decimal | None,
    limit: Decimal | None,
    message_zh: str,
    message_en: str,
    at: datetime,
) -> bool:
    """Store and publish the alert unless this rule already fired for this subject."""
    existing = await session.scalar(select(OversightAlert.alert_id).where(OversightAlert.kind == kind.value, OversightAlert.subject == subject))
    if existing is not None:
        return False
    aid = rules.alert_id(kind.value, subject)
    session.add(
        OversightAlert(
            alert_id=aid, kind=kind.value, subject=subject, insurer=insurer, credit_code=credit_code,
            observed=observed, limit=limit, message_zh=message_zh, status="open", raised_at=at,
        )
    )
    payload = AlertRaised(
        alert_id=aid, kind=kind, subject=subject, insurer=insurer, credit_code=credit_code, observed=observed,
        limit=limit, message_zh=message_zh, message_en=message_en, raised_at=at,
    )
    await outbox.enqueue(session, payload, partition_key=insurer or credit_code or subject, subject=f"alerts/{aid}")
    return True


def _event_time(envelope: dict[str, Any]) -> datetime:
    raw = envelope.get("time")
    moment = datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else datetime.now(UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def on_policy_written(session: AsyncSession, envelope: dict[str, Any]) -> None:
    model = PolicyRenewed if envelope["type"] == PolicyRenewed.event_type else PolicyIssued
    p = model.model_validate(envelope["data"])
    row = await get_row(session, OversightPolicy, p.policy_no)
    if row is None:
        row = add_row(session, OversightPolicy, policy_no=p.policy_no)
    row.insurer, row.credit_code = p.insurer, p.credit_code
    row.year, row.quarter = p.period_start.year, rules.quarter_of(p.period_start)
    row.premium, row.commission = p.premium, p.commission
    cap = rules.limits(p.period_start, p.jurisdiction).commission_cap
    if rules.commission_above_cap(p.premium, p.commission, cap):
        await raise_alert(
            session, AlertKind.COMMISSION_ABOVE_CAP, f"policies/{p.policy_no}", insurer=p.insurer, credit_code=p.credit_code,
            observed=rules.ratio(p.commission, p.premium), limit=cap,
            message_zh=f"保单{p.policy_no}手续费{p.commission}元超过保费{p.premium}元的{cap:.0%}上限",
            message_en=f"Commission {p.commission} on policy {p.policy_no} exceeds {cap:.0%} of premium {p.premium}",
            at=_event_time(envelope),
        )


async def on_fast_track_overdue(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = FastTrackOverdue.model_validate(envelope["data"])
    await raise_alert(
        session, AlertKind.FAST_TRACK_MISSED, f"claims/{p.claim_id}", insurer=p.insurer, credit_code=p.credit_code,
        observed=None, limit=None,
        message_zh=f"赔案{p.claim_id}（保单{p.policy_no}）超过快赔/预赔时限{p.deadline.isoformat()}",
        message_en=f"Claim {p.claim_id} (policy {p.policy_no}) missed its fast-track deadline {p.deadline.isoformat()}",
        at=_event_time(envelope),
    )


async def on_institution_registered(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = InstitutionRegistered.model_validate(envelope["data"])
    if p.meets_requirements:
        return
    minimum = p.min_professional_staff
    await raise_alert(
        session, AlertKind.INSTITUTION_BELOW_STAFF_MINIMUM, f"institutions/{p.institution_code}", insurer=None,
        credit_code=p.institution_code, observed=Decimal(p.professional_staff), limit=None if minimum is None else Decimal(minimum),
        message_zh=f"技术服务机构{p.name}专业技术人员{p.professional_staff}人，低于规定人数{minimum if minimum is not None else ''}",
        message_en=f"Service institution {p.name} has {p.professional_staff} professional staff, below the minimum {minimum}",
        at=_event_time(envelope),
    )


async def fund_totals(session: AsyncSession, insurer: str, year: int) -> tuple[Decimal, Decimal, Decimal]:
    """Collected premium, accrued and spent of one insurer's fund year (running totals)."""
    totals = await session.get(OversightFundYear, (insurer, year))
    if totals is None:
        return Decimal(0), Decimal(0), Decimal(0)
    return Decimal(totals.collected_premium), Decimal(totals.accrued), Decimal(totals.spent)


async def on_fund_entry(session: AsyncSession, envelope: dict[str, Any]) -> None:
    spent = envelope["type"] == FundSpent.event_type
    p = (FundSpent if spent else FundAccrued).model_validate(envelope["data"])
    collected_change = Decimal(0) if spent else p.collected_premium
    if await get_row(session, OversightFundEntry, p.entry_id) is not None:
        return  # this entry was counted already
    add_row(
        session, OversightFundEntry,
        entry_id=p.entry_id, insurer=p.insurer, year=p.year, kind="SPENT" if spent else "ACCRUED", collected_premium=collected_change, amount=p.amount,
    )
    totals = await get_row(session, OversightFundYear, (p.insurer, p.year))
    if totals is None:
        totals = add_row(
            session, OversightFundYear,
            insurer=p.insurer, year=p.year, collected_premium=Decimal(0), accrued=Decimal(0), spent=Decimal(0),
        )
    totals.collected_premium += collected_change
    if spent:
        totals.spent += p.amount
    else:
        totals.accrued += p.amount
    collected, spent_total = totals.collected_premium, totals.spent
    share = rules.ratio(spent_total, collected)
    cap = rules.year_limits(p.year).spend_cap
    if collected > 0 and spent_total > collected * cap:  # compare unrounded: 21,000.01 on 100,000 is over
        await raise_alert(
            session, AlertKind.PREVENTION_SPEND_ABOVE_CAP, f"insurers/{p.insurer}/{p.year}", insurer=p.insurer, credit_code=None,
            observed=share, limit=cap,
            message_zh=f"{p.insurer} {p.year}年度预防费用支出{spent_total}元，占实收保费{collected}元的比例超过{cap:.0%}上限",
            message_en=f"{p.insurer} spent {spent_total} on prevention in {p.year}, above {cap:.0%} of collected premium {collected}",
            at=_event_time(envelope),
        )


# --- KPI facts ------------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _day(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(SHANGHAI).date()
    return moment


async def add_fact(session: AsyncSession, key: str, kind: str, insurer: str | None, when: datetime | date, amount: Decimal = Decimal(1)) -> None:
    """Record one KPI fact once (its key names what it is about)."""
    if not insurer:
        return
    day = _day(when)
    insert_later(session, OversightFact.__table__, {
        "fact_key": key, "insurer": insurer, "year": day.year, "quarter": rules.quarter_of(day), "kind": kind, "amount": amount,
    })


async def on_premium(session: AsyncSession, envelope: dict[str, Any]) -> None:
    refund = envelope["type"] == PremiumRefunded.event_type
    p = (PremiumRefunded if refund else PremiumCollected).model_validate(envelope["data"])
    await add_fact(session, f"premium:{'refund' if refund else 'receipt'}:{p.receipt_no}", "COLLECTED_PREMIUM", p.insurer, p.received_on,
                   -p.amount if refund else p.amount)


async def on_accident(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = AccidentReported.model_validate(envelope["data"])  # a revision of the figures keeps the same accident id: counted once
    await add_fact(session, f"accident:{p.accident_id}", "CLAIM_REPORTED", p.insurer, p.reported_at or p.occurred_at)


async def on_prepaid(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = ClaimPrepaid.model_validate(envelope["data"])
    await add_fact(session, f"payment:{p.payment_id}", "CLAIM_PAID", p.insurer, p.paid_at, p.amount)


async def on_settled(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = ClaimSettled.model_validate(envelope["data"])
    await add_fact(session, f"settlement:{p.claim_id}:{p.settled_at.isoformat()}", "CLAIM_PAID", p.insurer, p.settled_at, p.final_payment)


async def on_fast_track_opened(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = FastTrackOpened.model_validate(envelope["data"])
    await add_fact(session, f"fast-track:{p.claim_id}", "FAST_TRACK_OPENED", p.insurer, p.reported_at)


async def on_fast_track_overdue_fact(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = FastTrackOverdue.model_validate(envelope["data"])
    await add_fact(session, f"fast-track-missed:{p.claim_id}", "FAST_TRACK_MISSED", p.insurer, p.reported_at)


async def on_hazard_found(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = HazardFound.model_validate(envelope["data"])
    await add_fact(session, f"hazard:{p.hazard_id}", "HAZARD_FOUND", p.insurer, p.found_on)


async def on_hazard_status(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = HazardStatusChanged.model_validate(envelope["data"])
    if p.status in (HazardStatus.RECTIFIED, HazardStatus.VERIFIED):  # first rectification counts, once per hazard
        await add_fact(session, f"hazard-rectified:{p.hazard_id}", "HAZARD_RECTIFIED", p.insurer, p.changed_at)


async def on_institution_evaluated(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = InstitutionEvaluated.model_validate(envelope["data"])
    await add_fact(session, f"evaluation:{p.institution_code}:{p.insurer}:{p.year}:{p.evaluated_on.isoformat()}", "INSTITUTION_EVALUATED", p.insurer, p.evaluated_on)


def _both(first: Handler, second: Handler) -> Handler:
    async def handler(session: AsyncSession, envelope: dict[str, Any]) -> None:
        await first(session, envelope)
        await second(session, envelope)

    handler.__name__ = f"{first.__name__}_and_{second.__name__}"
    return handler


async def facts(session: AsyncSession, year: int, quarter: int | None = None, insurer: str | None = None) -> dict[str, dict[str, Decimal]]:
    """KPI facts summed per insurer and kind for a year (or one of its quarters)."""
    q = select(OversightFact.insurer, OversightFact.kind, func.sum(OversightFact.amount)).where(OversightFact.year == year)
    if quarter:
        q = q.where(OversightFact.quarter == quarter)
    if insurer:
        q = q.where(OversightFact.insurer == insurer)
    out: dict[str, dict[str, Decimal]] = {}
    for name, kind, total in (await session.execute(q.group_by(OversightFact.insurer, OversightFact.kind))).all():
        out.setdefault(name, {})[kind] = Decimal(total or 0)
    return out


keyed(OversightPolicy, (PolicyIssued, PolicyRenewed), lambda data: data["policy_no"])
keyed(OversightFundEntry, (FundAccrued, FundSpent), lambda data: data["entry_id"])
keyed(OversightFundYear, (FundAccrued, FundSpent), lambda data: (data["insurer"], int(data["year"])))

READ_MODELS: dict[str, Handler] = {
    FundAccrued.event_type: on_fund_entry,
    FundSpent.event_type: on_fund_entry,
    FastTrackOverdue.event_type: _both(on_fast_track_overdue, on_fast_track_overdue_fact),
    InstitutionRegistered.event_type: on_institution_registered,
    PolicyIssued.event_type: on_policy_written,
    PolicyRenewed.event_type: on_policy_written,
    PremiumCollected.event_type: on_premium,
    PremiumRefunded.event_type: on_premium,
    AccidentReported.event_type: on_accident,
    ClaimPrepaid.event_type: on_prepaid,
    ClaimSettled.event_type: on_settled,
    FastTrackOpened.event_type: on_fast_track_opened,
    HazardFound.event_type: on_hazard_found,
    HazardStatusChanged.event_type: on_hazard_status,
    InstitutionEvaluated.event_type: on_institution_evaluated,
}
