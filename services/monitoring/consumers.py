"""Event handlers of the monitoring hub: each runs in the consumer's transaction with its inbox row.

The hub archives every registered event type (the source of the pull feed and push
subscriptions); a type with a read model of its own runs that handler after the archive step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.envelope import PARTITION_KEY_EXTENSION
from contracts.events.policy import EnterpriseRegistered, PolicyCancelled, PolicyIssued, PolicyRenewed
from contracts.events.registry import EVENT_TYPES
from kernel.consumer import Handler
from services.monitoring.ledgers.handlers import READ_MODELS as LEDGER_READ_MODELS
from services.monitoring.models import ArchivedEvent, EnterpriseView, PolicyCoverView
from services.monitoring.oversight.handlers import READ_MODELS as OVERSIGHT_READ_MODELS
from services.monitoring.rows import add_row, before_commit, get_row, keyed, transaction_state


# Any constant: the key of the PostgreSQL advisory lock that orders archive inserts across replicas.
ARCHIVE_LOCK_KEY = 6_0001


def _insert_archived(sync_session) -> None:
    rows = sync_session.info.pop("archive_rows", [])
    if rows:
        sync_session.execute(ArchivedEvent.__table__.insert(), rows)


async def archive_event(session: AsyncSession, envelope: dict[str, Any]) -> None:
    """Keep the CloudEvent as received (全量存档); the inbox already made sure it is new.

    Rows wait in the session until it commits, then go in as one multi-row insert in the order
    they were consumed: the archive's sequence is that order, at a fraction of a statement each.
    """
    if session.bind.dialect.name == "postgresql" and not session.info.get("archive_locked"):
        # Replicas consume partitions side by side; holding this lock until commit makes sequence
        # order equal commit order, so a feed reader never passes a number still to be committed.
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ARCHIVE_LOCK_KEY})
        session.info["archive_locked"] = True
        transaction_state(session, "archive_locked")  # the lock ends with the transaction, and so does this note
    rows = session.info.get("archive_rows")
    if rows is None:
        rows = session.info["archive_rows"] = []
        before_commit(session, _insert_archived, "archive_rows")
    rows.append(
        {
            "event_id": envelope["id"],
            "type": envelope["type"],
            "source": envelope["source"],
            "subject": envelope.get("subject"),
            "partition_key": envelope.get(PARTITION_KEY_EXTENSION),
            "time": datetime.fromisoformat(envelope["time"]),
            "envelope": json.dumps(envelope, ensure_ascii=False, separators=(",", ":")),
            "archived_at": datetime.now(UTC),
        }
    )


async def on_enterprise_registered(session: AsyncSession, envelope: dict[str, Any]) -> None:
    payload = EnterpriseRegistered.model_validate(envelope["data"])
    event_time = datetime.fromisoformat(envelope["time"])
    view = await get_row(session, EnterpriseView, payload.credit_code)
    if view is None:
        view = add_row(session, EnterpriseView, credit_code=payload.credit_code, updates_applied=0, last_event_time=event_time)
    elif view.last_event_time.replace(tzinfo=event_time.tzinfo) > event_time:
        return
    view.name = payload.name
    view.industry = payload.industry.value
    view.district = payload.district
    view.headcount = payload.headcount
    view.jurisdiction = payload.jurisdiction
    view.must_insure = payload.must_insure
    view.last_event_time = event_time
    view.updates_applied += 1


async def on_policy_issued(session: AsyncSession, envelope: dict[str, Any]) -> None:
    """An issued or renewed policy: the unit is covered from its first to its last day (保险期间)."""
    payload = PolicyIssued.model_validate({k: v for k, v in envelope["data"].items() if k != "previous_policy_no"})
    cover = await get_row(session, PolicyCoverView, payload.policy_no)
    if cover is None:
        cover = add_row(session, PolicyCoverView, policy_no=payload.policy_no)
    cover.credit_code = payload.credit_code
    cover.insurer = payload.insurer
    cover.industry = payload.industry.value
    cover.district = payload.district
    cover.period_start = payload.period_start
    cover.period_end = payload.period_end


async def on_policy_cancelled(session: AsyncSession, envelope: dict[str, Any]) -> None:
    payload = PolicyCancelled.model_validate(envelope["data"])
    cover = await get_row(session, PolicyCoverView, payload.policy_no)
    # A policy's events share its unit's partition, so the issue was applied before its cancellation.
    if cover is not None:
        cover.cancelled_from = payload.effective_date


keyed(EnterpriseView, (EnterpriseRegistered,), lambda data: data["credit_code"])
keyed(PolicyCoverView, (PolicyIssued, PolicyRenewed, PolicyCancelled), lambda data: data["policy_no"])

READ_MODEL_HANDLERS: dict[str, Handler] = {
    EnterpriseRegistered.event_type: on_enterprise_registered,
    PolicyIssued.event_type: on_policy_issued,
    PolicyRenewed.event_type: on_policy_issued,
    PolicyCancelled.event_type: on_policy_cancelled,
}


READ_MODEL_TABLES: tuple[Mapping[str, Handler], ...] = (READ_MODEL_HANDLERS, LEDGER_READ_MODELS, OVERSIGHT_READ_MODELS)


def _archive_then(read_models: list[Handler]) -> Handler:
    if not read_models:
        return archive_event

    async def handler(session: AsyncSession, envelope: dict[str, Any]) -> None:
        await archive_event(session, envelope)
        for read_model in read_models:
            await read_model(session, envelope)

    handler.__name__ = "archive_then_" + "_".join(h.__name__ for h in read_models)
    return handler


def build_handlers(event_types: Mapping[str, Any] = EVENT_TYPES) -> dict[str, Handler]:
    """One handler per registered type: derived from the registry, so a new event type is archived without a change here.

    A type may feed several read models (the core views, the bureau ledgers, insurer oversight): each runs in turn.
    """
    return {type_: _archive_then([table[type_] for table in READ_MODEL_TABLES if type_ in table]) for type_ in event_types}


HANDLERS: dict[str, Handler] = build_handlers()
