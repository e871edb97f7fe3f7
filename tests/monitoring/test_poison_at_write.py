"""An event whose row the database refuses when the run's rows are written (at commit) is parked alone.

The hub's read models write a run's rows set by set just before the run commits
(services/monitoring/rows.py), so a row the database refuses fails the run at its commit, not in a
handler. The consumer must then find that one event, park it on the dead-letter topic, and apply
the events before and after it once each, in order. PostgreSQL refuses a name longer than its
column (varchar(200)); SQLite keeps any length, so there the same stream applies in full.
"""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from contracts.enums import Industry
from contracts.events.envelope import build_cloudevent
from contracts.events.policy import EnterpriseRegistered
from contracts.topics import dead_letter_topic
from kernel.consumer import ConsumerRunner
from kernel.database import create_engine, create_sessionmaker
from kernel.kafka import ensure_topics
from services.monitoring.consumers import HANDLERS
from services.monitoring.models import ArchivedEvent, EnterpriseView, messaging
from services.monitoring.settings import Settings
from tests.monitoring.conftest import publish
from tests.support.factories import credit_code, eventually

KEY = "one-partition"


def registered(code: str, name: str, revision: int = 1) -> dict:
    payload = EnterpriseRegistered(credit_code=code, name=name, industry=Industry.MINE, district="房山区", headcount=30,
                                   jurisdiction="beijing", must_insure=True, revision=revision)
    return build_cloudevent(payload, subject=f"enterprises/{code}", partition_key=KEY)


async def _parked(bootstrap: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(dead_letter_topic("policy.events"), bootstrap_servers=bootstrap, group_id=f"dlq-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        return [r.value for records in batches.values() for r in records]
    finally:
        await consumer.stop()


@pytest.mark.e2e
async def test_a_row_refused_at_commit_parks_its_event_alone_and_the_run_around_it_applies_once(databases, broker):
    first, second, third = credit_code(501), credit_code(502), credit_code(503)
    stream = [
        registered(first, "第一版名称"),
        registered(second, "第二家单位"),
        registered(third, "名" * 300),  # longer than enterprise_view.name
        registered(first, "第二版名称", revision=2),
    ]
    url = await databases.create("monitoring")
    settings = Settings(database_url=url, kafka_bootstrap_servers=broker.bootstrap_servers, consumer_group=f"poison-{uuid.uuid4().hex[:6]}",
                        consumer_retry_backoff_seconds=0.01, log_json=False, log_level="WARNING", run_push_delivery=False)
    await ensure_topics(settings, ["policy.events", dead_letter_topic("policy.events")])
    await publish(broker.bootstrap_servers, stream)  # all on one partition, there before the runner starts: one batch

    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    runner = ConsumerRunner(service="monitoring", settings=settings, sessionmaker=sessionmaker, tables=messaging, handlers=HANDLERS)
    inbox = messaging.inbox
    runner.start()
    try:
        async def all_four_handled() -> bool:
            async with sessionmaker() as session:
                return (await session.execute(select(func.count()).select_from(inbox))).scalar_one() == 4

        await eventually(all_four_handled, timeout=30)
        async with sessionmaker() as session:
            outcomes = dict((await session.execute(select(inbox.c.event_id, inbox.c.outcome))).all())
            views = {v.credit_code: v for v in (await session.execute(select(EnterpriseView))).scalars()}
            archived = list((await session.execute(select(ArchivedEvent.event_id).order_by(ArchivedEvent.sequence))).scalars())
    finally:
        await runner.stop()
        await engine.dispose()

    refused = databases.backend == "postgresql"
    assert views[first].name == "第二版名称" and views[first].updates_applied == 2
    assert views[second].updates_applied == 1
    poison = stream[2]["id"]
    others = [e["id"] for e in stream if e["id"] != poison]
    assert [outcomes[i] for i in others] == ["applied"] * 3
    if refused:
        assert outcomes[poison] == "dead_lettered" and third not in views
        assert archived == others  # the parked event left nothing behind, the others are archived once, in order
        parked = await _parked(broker.bootstrap_servers)
        assert len(parked) == 1 and poison.encode() in parked[0]
    else:
        assert outcomes[poison] == "applied" and len(views[third].name) == 300
        assert archived == [e["id"] for e in stream]
