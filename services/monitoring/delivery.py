"""Push delivery worker (事件推送): each subscriber's events in archive order, signed the Standard Webhooks way.

Per subscription the worker posts the next matching archived event; on success it moves the
subscription's cursor past it, on failure it counts the attempt and waits with exponential
backoff; after the last attempt the event goes to the subscription's dead-letter list and
delivery moves on. Cursor, attempts and dead letters are in the database, so a restart resumes
where it stopped. The cursor moves only after the subscriber answered 2xx, so a crash between
the answer and the commit sends that event again with the same ``webhook-id`` (at least once;
receivers deduplicate on the id as Standard Webhooks asks).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from standardwebhooks.webhooks import Webhook

from services.monitoring import rules
from services.monitoring.models import ArchivedEvent, PushDeadLetter, PushSubscription
from services.monitoring.settings import Settings

logger = logging.getLogger("monitoring.delivery")

CLOUDEVENTS_JSON = "application/cloudevents+json"


def signed_headers(secret: str, event_id: str, body: str, now: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(event_id, now, body)
    return {
        "content-type": CLOUDEVENTS_JSON,
        "webhook-id": event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


class PushDelivery:
    def __init__(self, *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.client = client
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.worker_id = uuid.uuid4().hex

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="monitoring-push-delivery")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("push delivery round failed", exc_info=True)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self.settings.push_poll_seconds)
            except asyncio.TimeoutError:
                pass

    async def deliver_due(self) -> None:
        now = datetime.now(UTC)
        async with self.sessionmaker() as session:
            query = select(PushSubscription.id).where(
                PushSubscription.active.is_(True),
                or_(PushSubscription.next_attempt_at.is_(None), PushSubscription.next_attempt_at <= now),
            )
            due = list((await session.execute(query)).scalars())
        # Subscribers proceed side by side: one slow endpoint holds up only itself.
        await asyncio.gather(*(self._deliver_subscription(sub_id) for sub_id in due))

    def _lease_until(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.settings.push_lease_seconds)

    async def _claim(self, sub_id: str) -> bool:
        """Take the subscription's lease so no other replica delivers it meanwhile (order and once hold across replicas)."""
        now = datetime.now(UTC)
        async with self.sessionmaker() as session, session.begin():
            result = await session.execute(
                update(PushSubscription)
                .where(
                    PushSubscription.id == sub_id,
                    or_(
                        PushSubscription.lease_until.is_(None),
                        PushSubscription.lease_until < now,
                        PushSubscription.lease_owner == self.worker_id,
                    ),
                )
                .values(lease_owner=self.worker_id, lease_until=self._lease_until(now))
            )
            return result.rowcount == 1

    async def _release(self, sub_id: str) -> None:
        async with self.sessionmaker() as session, session.begin():
            await session.execute(
                update(PushSubscription)
                .where(PushSubscription.id == sub_id, PushSubscription.lease_owner == self.worker_id)
                .values(lease_owner=None, lease_until=None)
            )

    async def _post(self, sub: PushSubscription, event: ArchivedEvent) -> str | None:
        """Post one event; None on a 2xx answer, else why it failed."""
        headers = signed_headers(sub.secret, event.event_id, event.envelope, datetime.now(UTC))
        try:
            response = await self.client.post(
                sub.endpoint_url, content=event.envelope.encode(), headers=headers, timeout=self.settings.push_timeout_seconds
            )
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:2000]
        if 200 <= response.status_code < 300:
            return None
        return f"HTTP {response.status_code}"

    async def _deliver_subscription(self, sub_id: str) -> None:
        if not await self._claim(sub_id):
            return
        try:
            await self._redeliver_requested(sub_id)
            for _ in range(self.settings.push_batch_size):
                if self._stopping.is_set() or not await self._deliver_next(sub_id):
                    return
        finally:
            await self._release(sub_id)

    async def _redeliver_requested(self, sub_id: str) -> None:
        async with self.sessionmaker() as session:
            sub = await session.get(PushSubscription, sub_id)
            query = (
                select(PushDeadLetter.id, ArchivedEvent)
                .join(ArchivedEvent, ArchivedEvent.sequence == PushDeadLetter.sequence)
                .where(PushDeadLetter.subscription_id == sub_id, PushDeadLetter.redelivery_requested.is_(True))
                .order_by(PushDeadLetter.sequence)
            )
            requested = (await session.execute(query)).all() if sub is not None else []
        # No transaction is held while a subscriber answers (on SQLite every transaction is a writer).
        for letter_id, event in requested:
            error = await self._post(sub, event)
            async with self.sessionmaker() as session, session.begin():
                letter = await session.get(PushDeadLetter, letter_id)
                if letter is None:
                    return
                letter.attempts += 1
                letter.redelivery_requested = False
                if error is None:
                    letter.redelivered_at = datetime.now(UTC)
                else:
                    # A manual redelivery is one attempt; if it fails the event stays (or becomes) a dead letter.
                    letter.last_error = error
                    letter.dead_at = letter.dead_at or datetime.now(UTC)

    async def _deliver_next(self, sub_id: str) -> bool:
        """Try the subscription's next event; True when the cursor moved and another may follow."""
        async with self.sessionmaker() as session:
            sub = await session.get(PushSubscription, sub_id)
            if sub is None or not sub.active:
                return False
            wanted = json.loads(sub.event_types)
            query = select(ArchivedEvent).where(ArchivedEvent.sequence > sub.delivered_through)
            if wanted:
                query = query.where(ArchivedEvent.type.in_(wanted))
            event = (await session.execute(query.order_by(ArchivedEvent.sequence).limit(1))).scalar_one_or_none()
        if event is None:
            return False
        error = await self._post(sub, event)
        now = datetime.now(UTC)
        async with self.sessionmaker() as session, session.begin():
            sub = await session.get(PushSubscription, sub_id)
            if sub is None or sub.lease_owner != self.worker_id or sub.delivered_through >= event.sequence:
                return False  # gone, or the lease lapsed and another replica took over
            sub.lease_until = self._lease_until(now)
            if error is None:
                sub.delivered_through, sub.attempts, sub.next_attempt_at, sub.last_error = event.sequence, 0, None, None
                return True
            sub.attempts += 1
            sub.last_error = error
            if rules.gives_up(sub.attempts, max_attempts=self.settings.push_max_attempts):
                session.add(
                    PushDeadLetter(
                        subscription_id=sub.id,
                        sequence=event.sequence,
                        event_id=event.event_id,
                        attempts=sub.attempts,
                        last_error=error,
                        dead_at=now,
                        redelivery_requested=False,
                    )
                )
                logger.warning("event %s dead-lettered for subscription %s: %s", event.event_id, sub.id, error)
                sub.delivered_through, sub.attempts, sub.next_attempt_at = event.sequence, 0, None
                return True
            delay = rules.retry_delay(
                sub.attempts, base_seconds=self.settings.push_backoff_seconds, max_seconds=self.settings.push_backoff_max_seconds
            )
            sub.next_attempt_at = now + timedelta(seconds=delay)
            return False
