"""Consumer runner with an inbox: each event applied once, in the same transaction as its effect.

For every message: parse the CloudEvent, insert its id into ``inbox`` and run the handler in
one transaction (a run of messages from one partition shares a transaction); commit the Kafka
offset only after the database commit. A redelivered event
finds its id in the inbox and is skipped. A handler that keeps failing is retried
``max_attempts`` times, then the event is parked on the dead-letter twin of its topic with the
error, recorded as dead-lettered, and the runner goes on with the next event. Database outages
are not the event's fault: they are retried without counting towards the limit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from contracts.events.envelope import parse_cloudevent
from contracts.events.registry import EVENT_TYPES
from contracts.topics import dead_letter_topic
from kernel import metrics
from kernel.errors import database_away
from kernel.kafka import ensure_topics, new_consumer, new_producer
from kernel.messaging_tables import MessagingTables
from kernel.settings import ServiceSettings

logger = logging.getLogger("kernel.consumer")

Handler = Callable[[AsyncSession, dict[str, Any]], Awaitable[None]]


def infrastructure_error(exc: BaseException) -> bool:
    """The database or the network is away: wait and retry; the event is not to blame."""
    return isinstance(exc, OSError) or database_away(exc)


class _RunFailed(Exception):
    """A handler failed inside a run: roll the run back and apply what came before it alone."""


@dataclass(frozen=True)
class Outcome:
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    IGNORED = "ignored"


class ConsumerRunner:
    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: MessagingTables,
        handlers: Mapping[str, Handler],
        group_id: str | None = None,
    ) -> None:
        unknown = set(handlers) - set(EVENT_TYPES)
        if unknown:
            raise LookupError(f"handlers for unregistered event types: {sorted(unknown)}")
        self.service = service
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.inbox = tables.inbox
        self.handlers = dict(handlers)
        self.topics = sorted({EVENT_TYPES[t].topic for t in handlers})
        self.group_id = group_id or settings.consumer_group or service
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.assigned = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self.topics:
            self._task = asyncio.create_task(self._run(), name=f"{self.service}-consumer")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=15)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        await self._close()

    async def _close(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                try:
                    await client.stop()
                except Exception:
                    logger.debug("client stop failed", exc_info=True)
        self._consumer = self._producer = None
        self.assigned.clear()

    async def _connect(self) -> AIOKafkaConsumer:
        await ensure_topics(self.settings, self.topics + [dead_letter_topic(t) for t in self.topics])
        producer = new_producer(self.settings, client_id=f"{self.service}-dlq")
        await producer.start()
        self._producer = producer
        consumer = new_consumer(self.settings, *self.topics, group_id=self.group_id, client_id=f"{self.service}-consumer")
        await consumer.start()
        self._consumer = consumer
        return consumer

    async def _run(self) -> None:
        backoff = 0.2
        while not self._stopping.is_set():
            try:
                consumer = self._consumer or await self._connect()
                batches = await consumer.getmany(timeout_ms=200, max_records=self.settings.consumer_max_batch)
                if consumer.assignment():
                    self.assigned.set()
                for tp, records in batches.items():
                    await self._consume_partition(consumer, tp, records)
                backoff = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("consumer %s interrupted (%s); reconnecting in %.1fs", self.service, exc, backoff)
                await self._close()
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=backoff)
                except asyncio.TimeoutError:
                    pass
                backoff = min(backoff * 2, 5.0)

    async def _consume_partition(self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        done = None
        try:
            i = 0
            while i < len(records) and not self._stopping.is_set():
                # Most events go in one transaction per run of good ones; the first that cannot be
                # applied that way takes the one-at-a-time path (retries, dead-lettering, waiting
                # for the database), and the batch goes on after it. Order within the partition holds.
                try:
                    applied = await self._apply_run(records[i:])
                except Exception as exc:
                    if not infrastructure_error(exc):
                        raise
                    applied = 0
                if applied:
                    i += applied
                else:
                    await self.process(records[i])
                    i += 1
                done = records[i - 1].offset
        except Exception:
            # Not applied and not parked: read it again from here on the next poll.
            consumer.seek(tp, records[0].offset if done is None else done + 1)
            raise
        finally:
            if done is not None:
                try:
                    await consumer.commit({tp: done + 1})
                except CommitFailedError:
                    # The partition moved to another member; it resumes from the last commit and
                    # the inbox turns the overlap into no-ops.
                    logger.info("offset commit for %s lost to a rebalance", tp)

    async def _apply_run(self, records: list[ConsumerRecord]) -> int:
        """Apply the longest run of records that go through cleanly, in one transaction.

        Optimistic: the whole run goes in one transaction, with the inbox rows inserted together at
        its end. If a handler fails at record k, the transaction is rolled back and the first k
        records are applied again on their own (handlers are deterministic), so the failing record
        is next and takes the one-at-a-time path. Returns how many records the run covered
        (applied, duplicates and types this service ignores); 0 when the first record needs the
        one-at-a-time path.
        """
        envelopes: list[dict[str, Any]] = []
        for record in records:
            try:
                envelopes.append(parse_cloudevent(record.value))
            except ValueError:
                break  # malformed: the one-at-a-time path parks it
        if not envelopes:
            return 0
        failed_at: int | None = None
        applied: list[str] = []
        duplicates = 0
        try:
            async with self.sessionmaker() as session, session.begin():
                ids = [e["id"] for e in envelopes]
                seen = set((await session.execute(select(self.inbox.c.event_id).where(self.inbox.c.event_id.in_(ids)))).scalars())
                # Handlers may look ahead at the run (to load what it touches in one query per table).
                session.info["run"] = [e for e in envelopes if e["id"] not in seen]
                inbox_rows = []
                for k, (record, envelope) in enumerate(zip(records, envelopes)):
                    handler = self.handlers.get(envelope["type"])
                    if handler is None:
                        continue
                    if envelope["id"] in seen:
                        duplicates += 1
                        continue
                    try:
                        await handler(session, envelope)
                    except Exception as exc:
                        if infrastructure_error(exc):
                            raise
                        failed_at = k
                        break
                    seen.add(envelope["id"])
                    inbox_rows.append(self._inbox_row(record, envelope, Outcome.APPLIED))
                    applied.append(envelope["type"])
                if failed_at is not None:
                    raise _RunFailed  # roll the whole run back
                if inbox_rows:
                    applied_at = datetime.now(UTC)  # the run's effects land together, at its commit
                    for row in inbox_rows:
                        row["received_at"] = applied_at
                    await session.execute(self.inbox.insert(), inbox_rows)
        except _RunFailed:
            pass
        except Exception as exc:
            if infrastructure_error(exc):
                raise
            # Failed at the run's final flush or commit, with no handler to blame: let the
            # one-at-a-time path take the first record (it finds the culprit and parks it).
            logger.info("run of %d events failed at commit (%r); applying one at a time", len(envelopes), exc)
            return 0
        if failed_at is not None:
            return await self._apply_run(records[:failed_at]) if failed_at else 0
        if duplicates:
            metrics.EVENTS_DUPLICATE.labels(self.service).inc(duplicates)
        for type_ in applied:
            metrics.EVENTS_APPLIED.labels(self.service, type_).inc()
        return len(envelopes)

    # -- one event ---------------------------------------------------------------------------

    async def process(self, record: ConsumerRecord) -> str:
        try:
            envelope = parse_cloudevent(record.value)
        except ValueError as exc:
            await self._dead_letter(record, None, f"malformed: {exc}", attempts=1)
            return Outcome.DEAD_LETTERED
        handler = self.handlers.get(envelope["type"])
        if handler is None:
            return Outcome.IGNORED
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._apply(record, envelope, handler)
            except Exception as exc:
                if infrastructure_error(exc):
                    # The database is away: wait for it, do not blame the event.
                    logger.warning("database unavailable while applying %s; retrying", envelope["id"], exc_info=True)
                    attempt -= 1
                    await asyncio.sleep(1.0)
                    if self._stopping.is_set():
                        raise
                    continue
                logger.warning("handler failed for %s (attempt %d/%d): %r", envelope["id"], attempt, self.settings.consumer_max_attempts, exc)
                if attempt >= self.settings.consumer_max_attempts:
                    await self._dead_letter(record, envelope, repr(exc), attempts=attempt)
                    return Outcome.DEAD_LETTERED
                await asyncio.sleep(self.settings.consumer_retry_backoff_seconds * 2 ** (attempt - 1))

    async def _apply(self, record: ConsumerRecord, envelope: dict[str, Any], handler: Handler) -> str:
        async with self.sessionmaker() as session, session.begin():
            seen = (await session.execute(select(self.inbox.c.event_id).where(self.inbox.c.event_id == envelope["id"]))).first()
            if seen is not None:
                metrics.EVENTS_DUPLICATE.labels(self.service).inc()
                return Outcome.DUPLICATE
            await session.execute(self.inbox.insert().values(**self._inbox_row(record, envelope, Outcome.APPLIED)))
            await handler(session, envelope)
        metrics.EVENTS_APPLIED.labels(self.service, envelope["type"]).inc()
        return Outcome.APPLIED

    def _inbox_row(self, record: ConsumerRecord, envelope: dict[str, Any], outcome: str, error: str | None = None) -> dict:
        return {
            "event_id": envelope["id"],
            "event_type": envelope["type"],
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "outcome": outcome,
            "received_at": datetime.now(UTC),
            "error": error,
        }

    async def _dead_letter(self, record: ConsumerRecord, envelope: dict[str, Any] | None, error: str, attempts: int) -> None:
        topic = dead_letter_topic(record.topic)
        headers = list(record.headers or []) + [
            ("x-dead-letter-error", error[:4000].encode()),
            ("x-dead-letter-service", self.service.encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
            ("x-attempts", str(attempts).encode()),
        ]
        assert self._producer is not None
        try:
            await self._producer.send_and_wait(topic, value=record.value, key=record.key, headers=headers)
        except KafkaError:
            raise  # the broker is away: the event stays unparked and unread, and is tried again
        if envelope is not None:
            async with self.sessionmaker() as session, session.begin():
                seen = (await session.execute(select(self.inbox.c.event_id).where(self.inbox.c.event_id == envelope["id"]))).first()
                if seen is None:
                    await session.execute(
                        self.inbox.insert().values(**self._inbox_row(record, envelope, Outcome.DEAD_LETTERED, error[:4000]))
                    )
        metrics.EVENTS_DEAD_LETTERED.labels(self.service, topic).inc()
        logger.error("event parked on %s after %d attempts: %s", topic, attempts, error)
