"""Events the claims service learns from other services: its own copy of policy cover 承保信息.

Each handler runs inside the inbox transaction of the consumer runner (applied once).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.policy import PolicyCancelled, PolicyEndorsed, PolicyIssued, PolicyRenewed
from kernel.consumer import Handler
from services.claims.models import PolicyCover


async def _existing(session: AsyncSession, policy_no: str) -> PolicyCover | None:
    return (await session.execute(select(PolicyCover).where(PolicyCover.policy_no == policy_no))).scalar_one_or_none()


async def on_policy_issued(session: AsyncSession, envelope: dict[str, Any]) -> None:
    """保单签发/续保: keep period, limits, insurer and roster; used amounts stay if already known."""
    model = PolicyRenewed if envelope["type"] == PolicyRenewed.event_type else PolicyIssued
    event = model.model_validate(envelope["data"])
    cover = await _existing(session, event.policy_no)
    if cover is None:
        cover = PolicyCover(policy_no=event.policy_no, used_aggregate=Decimal(0), used_rescue=Decimal(0), used_legal=Decimal(0))
        session.add(cover)
    cover.insurer = event.insurer
    cover.credit_code = event.credit_code
    cover.jurisdiction = event.jurisdiction
    cover.period_start = event.period_start
    cover.period_end = event.period_end
    cover.per_person_limit = event.per_person_limit
    cover.per_accident_limit = event.sub_limits.per_accident
    cover.aggregate_limit = event.sub_limits.aggregate
    cover.medical_limit = event.sub_limits.employee_medical_per_person
    cover.rescue_limit = event.sub_limits.rescue
    cover.legal_limit = event.sub_limits.legal
    cover.headcount = event.headcount
    cover.insured_ids = sorted({p.resident_id for p in event.insured_people})


async def on_policy_endorsed(session: AsyncSession, envelope: dict[str, Any]) -> None:
    """批改: add and remove insured people, take the new sub-limits.

    The roster copy is not dated (a known simplification): a person removed is off it at once,
    even for an accident before the endorsement's effective date reported afterwards.
    """
    event = PolicyEndorsed.model_validate(envelope["data"])
    cover = await _existing(session, event.policy_no)
    if cover is None:
        return  # issue event not seen (yet): nothing to amend
    ids = (set(cover.insured_ids) - set(event.removed)) | {p.resident_id for p in event.added}
    cover.insured_ids = sorted(ids)
    cover.headcount = event.headcount
    cover.per_accident_limit = event.sub_limits.per_accident
    cover.aggregate_limit = event.sub_limits.aggregate
    cover.medical_limit = event.sub_limits.employee_medical_per_person
    cover.rescue_limit = event.sub_limits.rescue
    cover.legal_limit = event.sub_limits.legal


async def on_policy_cancelled(session: AsyncSession, envelope: dict[str, Any]) -> None:
    """退保: no cover from the effective date on."""
    event = PolicyCancelled.model_validate(envelope["data"])
    cover = await _existing(session, event.policy_no)
    if cover is not None:
        cover.cancelled_from = event.effective_date


HANDLERS: dict[str, Handler] = {
    PolicyIssued.event_type: on_policy_issued,
    PolicyRenewed.event_type: on_policy_issued,
    PolicyEndorsed.event_type: on_policy_endorsed,
    PolicyCancelled.event_type: on_policy_cancelled,
}
