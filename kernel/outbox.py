"""Transactional outbox: write an event in the same transaction as the state change it describes.

Call :meth:`Outbox.enqueue` with the request's session before it commits. Nothing is sent
here; the :mod:`kernel.relay` publishes committed rows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.events.envelope import EventPayload, build_cloudevent, serialize
from contracts.events.registry import EVENT_TYPES
from kernel.messaging_tables import MessagingTables
from kernel.tracing import current_traceparent

# Key in ``session.info``: this session wrote at least one outbox row.
ENQUEUED = "outbox_enqueued"


class Outbox:
    def __init__(self, tables: MessagingTables, service: str) -> None:
        self.table = tables.outbox
        self.service = service
        # One statement, values bound per call: its compiled form is cached once, not keyed anew on every event's values.
        self._insert = self.table.insert()

    async def enqueue(
        self,
        session: AsyncSession,
        payload: EventPayload,
        *,
        partition_key: str,
        subject: str,
        time: datetime | None = None,
    ) -> dict:
        """Add one event to the outbox in the session's transaction and return its envelope."""
        registered = EVENT_TYPES.get(payload.event_type)
        if registered is None or registered.payload is not type(payload):
            raise LookupError(f"{type(payload).__name__} is not in the event registry")
        if payload.source_service != self.service:
            raise ValueError(f"{self.service} may not publish {payload.event_type}")
        envelope = build_cloudevent(
            payload,
            subject=subject,
            partition_key=partition_key,
            source=f"/anzexian/{self.service}",
            time=time,
            traceparent=current_traceparent(),
        )
        if session.bind.dialect.name == "postgresql":
            # Serialize writers of one key until commit, so the id order of a key's rows is their
            # commit order and the relay can publish them in that order.
            await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": partition_key})
        session.info[ENQUEUED] = True  # the request session wakes the relay only when this is set
        await session.execute(
            self._insert,
            {
                "event_id": envelope["id"],
                "event_type": envelope["type"],
                "topic": registered.topic,
                "partition_key": partition_key,
                "envelope": serialize(envelope).decode(),
                "created_at": datetime.now(UTC),
            },
        )
        return envelope

    async def backlog(self, session: AsyncSession) -> int:
        """Events written but not yet acknowledged by the broker."""
        return (await session.execute(select(func.count()).select_from(self.table).where(self.table.c.published_at.is_(None)))).scalar_one()
