"""Events the prevention service learns from: policies (its own copy) and premium actually collected.

Each handler runs in the consumer's transaction with its inbox row (applied once). Premium
received or refunded accrues prevention money at the profile's target ratio, in the year of
the receipt, one ledger entry per receipt (``source`` is unique), with a FundAccrued event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.policy import PolicyCancelled, PolicyIssued, PolicyRenewed, PremiumCollected, PremiumRefunded
from contracts.events.prevention import FundAccrued
from contracts.profiles import get_profile
from kernel.consumer import Handler
from kernel.outbox import Outbox
from services.prevention import rules
from services.prevention.models import FundEntry, PolicyCopy, messaging

OUTBOX = Outbox(messaging, "prevention")


async def on_policy_issued(session: AsyncSession, envelope: dict[str, Any]) -> None:
    model = PolicyRenewed if envelope["type"] == PolicyRenewed.event_type else PolicyIssued
    event = model.model_validate(envelope["data"])
    policy = await session.get(PolicyCopy, event.policy_no)
    if policy is None:
        policy = PolicyCopy(policy_no=event.policy_no)
        session.add(policy)
    policy.insurer = event.insurer
    policy.credit_code = event.credit_code
    policy.jurisdiction = event.jurisdiction
    policy.period_start = event.period_start
    policy.period_end = event.period_end


async def on_policy_cancelled(session: AsyncSession, envelope: dict[str, Any]) -> None:
    event = PolicyCancelled.model_validate(envelope["data"])
    policy = await session.get(PolicyCopy, event.policy_no)
    if policy is not None:
        policy.cancelled_from = event.effective_date


async def on_premium(session: AsyncSession, envelope: dict[str, Any]) -> None:
    refund = envelope["type"] == PremiumRefunded.event_type
    event = (PremiumRefunded if refund else PremiumCollected).model_validate(envelope["data"])
    source = f"{'refund' if refund else 'receipt'}:{event.receipt_no}"
    if (await session.execute(select(FundEntry.entry_id).where(FundEntry.source == source))).first() is not None:
        return  # this receipt was accrued already
    change = -event.amount if refund else event.amount
    fund = get_profile(event.jurisdiction, event.received_on).prevention_fund
    amount = rules.accrual(fund, change)
    entry = FundEntry(
        entry_id=f"FA-{envelope['id'][:24]}", insurer=event.insurer, year=event.received_on.year, kind="ACCRUAL", amount=amount,
        collected_premium=change, source=source, description=f"{event.policy_no} {event.receipt_no}",
        created_by=f"event:{envelope['type']}", created_at=datetime.now(UTC),
    )
    session.add(entry)
    await OUTBOX.enqueue(
        session,
        FundAccrued(entry_id=entry.entry_id, insurer=event.insurer, year=entry.year, collected_premium=change, amount=amount),
        partition_key=event.insurer, subject=f"fund/{event.insurer}/{entry.year}",
    )


HANDLERS: dict[str, Handler] = {
    PolicyIssued.event_type: on_policy_issued,
    PolicyRenewed.event_type: on_policy_issued,
    PolicyCancelled.event_type: on_policy_cancelled,
    PremiumCollected.event_type: on_premium,
    PremiumRefunded.event_type: on_premium,
}
