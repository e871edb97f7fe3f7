"""Outbox relay: publishes committed outbox rows to Kafka, in id order per key, until acknowledged.

Runs beside request handling (a task in the service process, or several replicas: rows are
claimed with a lease and ``FOR UPDATE SKIP LOCKED`` on PostgreSQL). When the broker is away the
relay backs off and tries again; rows wait in the outbox and request code never notices.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from kernel import metrics
from kernel.kafka import CLOUDEVENTS_CONTENT_TYPE, new_producer
from kernel.messaging_tables import MessagingTables
from kernel.settings import ServiceSettings

logger = logging.getLogger("kernel.relay")

LEASE = timedelta(seconds=30)
MAX_BACKOFF_SECONDS = 5.0
BACKLOG_INTERVAL_SECONDS = 5.0


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        signal: asyncio.Event | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.outbox = tables.outbox
        self.signal = signal or asyncio.Event()
        self.owner = f"{service}-{uuid.uuid4().hex[:12]}"
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.broker_reachable = False
        self._backlog_measured_at = float("-inf")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-outbox-relay")

    async def stop(self) -> None:
        """Finish the batch in flight, then close the producer (its buffer is flushed first)."""
        self._stopping.set()
        self.signal.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        await self._close_producer()

    async def _close_producer(self) -> None:
        if self._producer is not None:
            try:
                await self._producer.stop()
            except Exception:  # closing a producer whose broker is gone may raise; nothing to save
                logger.debug("producer stop failed", exc_info=True)
            self._producer = None

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.settings, client_id=self.owner)
            try:
                await producer.start()
            except Exception:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _measure_backlog(self) -> None:
        """Refresh the ``outbox_backlog`` gauge (rows written, not yet acknowledged) every few seconds."""
        now = asyncio.get_running_loop().time()
        if now - self._backlog_measured_at < BACKLOG_INTERVAL_SECONDS:
            return
        self._backlog_measured_at = now
        t = self.outbox
        try:
            async with self.sessionmaker() as session:
                count = (await session.execute(select(func.count()).select_from(t).where(t.c.published_at.is_(None)))).scalar_one()
            metrics.OUTBOX_BACKLOG.labels(self.service).set(count)
        except Exception:  # a metric is never worth failing the relay for
            logger.debug("backlog measurement failed", exc_info=True)

    async def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            await self._measure_backlog()
            # Cleared before the claim: a commit from now on sets it again and is picked up by the next
            # pass, one from before is visible to this claim. No wake-up is lost, none is spent on nothing.
            self.signal.clear()
            try:
                published = await self.publish_once()
                self.broker_reachable = True
                backoff = 0.1
            except Exception as exc:
                self.broker_reachable = False
                metrics.OUTBOX_FAILURES.labels(self.service).inc()
                logger.warning("outbox relay could not publish (%s); retrying in %.1fs", exc, backoff)
                await self._close_producer()
                await self._sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if published < self.settings.relay_batch_size:
                # Drained (a full batch means more may be waiting): sleep until a request commits an
                # event, or the poll interval passes (events written by other processes, expired leases).
                await self._sleep(self.settings.relay_poll_seconds, wake_on_signal=True)

    async def _sleep(self, seconds: float, wake_on_signal: bool = False) -> None:
        waiters = [asyncio.ensure_future(self._stopping.wait())]
        if wake_on_signal:
            waiters.append(asyncio.ensure_future(self.signal.wait()))
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    # -- one pass ----------------------------------------------------------------------------

    async def publish_once(self) -> int:
        """Claim a batch, publish it, mark what the broker acknowledged. Returns rows published."""
        rows = await self._claim()
        if not rows:
            return 0
        try:
            producer = await self._ensure_producer()
            futures = []
            for row in rows:
                fut = await producer.send(
                    row.topic,
                    value=row.envelope.encode(),
                    key=row.partition_key.encode(),
                    headers=[("content-type", CLOUDEVENTS_CONTENT_TYPE)],
                )
                futures.append(fut)
        except Exception as exc:
            # Give the rows back at once rather than waiting for the lease to lapse. Any that did
            # reach the broker will be sent again; consumers' inboxes make that harmless.
            await self._settle([], [(row.id, exc) for row in rows])
            raise
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked = [row.id for row, res in zip(rows, results) if not isinstance(res, BaseException)]
        failed = [(row.id, res) for row, res in zip(rows, results) if isinstance(res, BaseException)]
        await self._settle(acked, failed)
        metrics.OUTBOX_PUBLISHED.labels(self.service).inc(len(acked))
        if failed:
            raise RuntimeError(f"{len(failed)} of {len(rows)} events not acknowledged: {failed[0][1]!r}")
        return len(acked)

    async def _claim(self):
        now = datetime.now(UTC)
        t = self.outbox
        async with self.sessionmaker() as session, session.begin():
            rows = (
                await session.execute(
                    select(t.c.id, t.c.topic, t.c.partition_key, t.c.envelope)
                    .where(t.c.published_at.is_(None), or_(t.c.lease_until.is_(None), t.c.lease_until < now))
                    .order_by(t.c.id)
                    .limit(self.settings.relay_batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return []
            # A key whose older rows are held by another relay must wait, or its order would break.
            first_in_batch: dict[str, int] = {}
            for row in rows:
                first_in_batch.setdefault(row.partition_key, row.id)
            oldest_unpublished = dict(
                (
                    await session.execute(
                        select(t.c.partition_key, func.min(t.c.id))
                        .where(t.c.published_at.is_(None), t.c.partition_key.in_(list(first_in_batch)))
                        .group_by(t.c.partition_key)
                    )
                ).all()
            )
            blocked = {k for k, first in first_in_batch.items() if oldest_unpublished.get(k, first) < first}
            rows = [r for r in rows if r.partition_key not in blocked]
            if rows:
                await session.execute(
                    t.update()
                    .where(t.c.id.in_([r.id for r in rows]))
                    .values(lease_owner=self.owner, lease_until=now + LEASE)
                )
            return rows

    async def _settle(self, acked: list[int], failed: list[tuple[int, BaseException]]) -> None:
        t = self.outbox
        now = datetime.now(UTC)
        async with self.sessionmaker() as session, session.begin():
            if acked:
                await session.execute(
                    t.update().where(t.c.id.in_(acked)).values(published_at=now, lease_owner=None, lease_until=None)
                )
            for row_id, exc in failed:
                await session.execute(
                    t.update()
                    .where(t.c.id == row_id)
                    .values(attempts=t.c.attempts + 1, last_error=repr(exc)[:2000], lease_owner=None, lease_until=None)
                )
