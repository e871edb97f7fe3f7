"""Read-model handlers of the ledgers part: run after the archive step, in the consumer's transaction.

Each is idempotent (keyed by hazard or record number) and tolerates out-of-order delivery: a status
change that arrives before its HazardFound makes a row the later HazardFound completes, and an older
status change never overwrites a newer one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.prevention import HazardFound, HazardStatus, HazardStatusChanged, ServiceRecorded
from kernel.consumer import Handler
from services.monitoring.ledgers.models import LedgerHazard, LedgerServiceRecord
from services.monitoring.rows import add_row, get_row, keyed


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def on_hazard_found(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = HazardFound.model_validate(envelope["data"])
    row = await get_row(session, LedgerHazard, p.hazard_id)
    if row is None:
        row = add_row(
            session, LedgerHazard,
            hazard_id=p.hazard_id,
            credit_code=p.credit_code,
            status=HazardStatus.OPEN.value,
            counts_as_self_inspection=False,
            enforcement_basis=True,
        )
    row.credit_code, row.insurer, row.policy_no, row.record_id = p.credit_code, p.insurer, p.policy_no, p.record_id
    row.level, row.description, row.found_on, row.deadline = p.level.value, p.description, p.found_on, p.deadline


async def on_hazard_status_changed(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = HazardStatusChanged.model_validate(envelope["data"])
    changed_at = _aware(p.changed_at)
    row = await get_row(session, LedgerHazard, p.hazard_id)
    if row is None:
        row = add_row(session, LedgerHazard, hazard_id=p.hazard_id, credit_code=p.credit_code, insurer=p.insurer)
        row.level = "MAJOR" if p.major else None
    elif row.status_changed_at is not None and _aware(row.status_changed_at) > changed_at:
        return  # an older change arriving late
    row.status = p.status.value
    row.status_changed_at = changed_at
    row.counts_as_self_inspection = p.counts_as_self_inspection
    row.enforcement_basis = p.enforcement_basis
    if p.insurer and not row.insurer:
        row.insurer = p.insurer


async def on_service_recorded(session: AsyncSession, envelope: dict[str, Any]) -> None:
    p = ServiceRecorded.model_validate(envelope["data"])
    row = await get_row(session, LedgerServiceRecord, p.record_id)
    if row is None:
        row = add_row(session, LedgerServiceRecord, record_id=p.record_id)
    row.credit_code, row.policy_no, row.insurer, row.institution_code = p.credit_code, p.policy_no, p.insurer, p.institution_code
    row.item, row.performed_on, row.staff, row.cost, row.hazards_found = (
        p.item.value, p.performed_on, "、".join(p.staff), p.cost, p.hazards_found
    )


keyed(LedgerHazard, (HazardFound, HazardStatusChanged), lambda data: data["hazard_id"])
keyed(LedgerServiceRecord, (ServiceRecorded,), lambda data: data["record_id"])

READ_MODELS: dict[str, Handler] = {
    HazardFound.event_type: on_hazard_found,
    HazardStatusChanged.event_type: on_hazard_status_changed,
    ServiceRecorded.event_type: on_service_recorded,
}
