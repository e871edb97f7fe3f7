"""Events the policy service learns from: accidents (claims) and hazard rectification (prevention).

Each handler runs in the consumer's transaction with its inbox row and keeps the latest state per
accident or hazard (an older event arriving late changes nothing), so a replay changes nothing.
The experience tables feed the renewal rating (事故记录和等级, 配合整改事故隐患).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.claims import AccidentReported
from contracts.events.prevention import HazardStatusChanged
from kernel.consumer import Handler
from services.policy.models import AccidentExperience, HazardExperience


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def on_accident_reported(session: AsyncSession, envelope: dict[str, Any]) -> None:
    payload = AccidentReported.model_validate(envelope["data"])
    event_time = datetime.fromisoformat(envelope["time"])
    row = await session.get(AccidentExperience, payload.accident_id)
    if row is not None and _aware(row.event_time) > event_time:
        return
    if row is None:
        row = AccidentExperience(accident_id=payload.accident_id)
        session.add(row)
    row.credit_code = payload.credit_code
    row.occurred_at = payload.occurred_at
    row.grade = payload.grade.value
    row.deaths = payload.deaths
    row.event_time = event_time


async def on_hazard_status_changed(session: AsyncSession, envelope: dict[str, Any]) -> None:
    payload = HazardStatusChanged.model_validate(envelope["data"])
    row = await session.get(HazardExperience, payload.hazard_id)
    if row is not None and _aware(row.changed_at) > payload.changed_at:
        return
    if row is None:
        row = HazardExperience(hazard_id=payload.hazard_id)
        session.add(row)
    row.credit_code = payload.credit_code
    row.status = payload.status.value
    row.major = payload.major
    row.changed_at = payload.changed_at


HANDLERS: dict[str, Handler] = {
    AccidentReported.event_type: on_accident_reported,
    HazardStatusChanged.event_type: on_hazard_status_changed,
}
