"""The outbox relay: everything committed gets published, once, in order per key — also with two relays."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from aiokafka import AIOKafkaConsumer

from contracts.events.envelope import parse_cloudevent
from contracts.events.policy import EnterpriseRegistered
from kernel.database import create_engine, create_sessionmaker
from kernel.outbox import Outbox
from kernel.relay import OutboxRelay
from services.policy.models import messaging
from tests.conftest import service_settings
from tests.support.factories import credit_code, eventually

KEYS = [credit_code(500 + k) for k in range(8)]
PER_KEY = 40


async def _write_events(sessionmaker, outbox: Outbox) -> None:
    async def writer(key: str):
        for seq in range(PER_KEY):
            async with sessionmaker() as session, session.begin():
                payload = EnterpriseRegistered(
                    credit_code=key, name="n", industry="MINE", district="d", headcount=seq, jurisdiction="national", must_insure=True
                )
                await outbox.enqueue(session, payload, partition_key=key, subject=f"enterprises/{key}")

    await asyncio.gather(*(writer(k) for k in KEYS))


async def test_two_relays_publish_every_event_once_in_order_per_key(databases, broker, token_mint):
    url = await databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, relay_batch_size=25)
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    relays = [OutboxRelay(service="policy", settings=settings, sessionmaker=sessionmaker, tables=messaging) for _ in range(2)]
    consumer = AIOKafkaConsumer("policy.events", bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest", group_id="order-check")
    try:
        for relay in relays:
            relay.start()
        await _write_events(sessionmaker, Outbox(messaging, "policy"))
        await consumer.start()
        received: dict[str, list[int]] = defaultdict(list)
        ids: list[str] = []

        async def all_received():
            batch = await consumer.getmany(timeout_ms=300)
            for records in batch.values():
                for record in records:
                    event = parse_cloudevent(record.value)
                    assert record.key.decode() == event["partitionkey"]
                    received[event["partitionkey"]].append(event["data"]["headcount"])
                    ids.append(event["id"])
            return len(ids) >= len(KEYS) * PER_KEY

        await eventually(all_received, timeout=60)
        await asyncio.sleep(0.5)
        await all_received()
    finally:
        for relay in relays:
            await relay.stop()
        await consumer.stop()
        await engine.dispose()
    assert len(ids) == len(set(ids)) == len(KEYS) * PER_KEY
    for key in KEYS:
        assert received[key] == list(range(PER_KEY)), f"events of {key} out of order"
