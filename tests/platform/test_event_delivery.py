"""An event written in the policy service's transaction reaches the monitoring hub exactly once.

Real parts only: the Tansu broker over TCP, services on real ports, SQLite files and (when it
answers) PostgreSQL. Faults are made the way they happen: a network path cut, a redelivery,
a poison message, a consumer process killed with SIGKILL.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from contracts.events.envelope import build_cloudevent, serialize
from contracts.events.policy import EnterpriseRegistered
from devstack.broker import EmbeddedBroker, free_port
from services.monitoring.models import messaging as monitoring_messaging
from services.policy.models import messaging as policy_messaging
from tests.conftest import running_service
from tests.support.factories import credit_code, enterprise_body, eventually
from devstack.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e


async def count_rows(url: str, table, *where) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()
    finally:
        await engine.dispose()


async def city_enterprises(client: httpx.AsyncClient, url: str, headers) -> dict[str, dict]:
    found, cursor = {}, None
    while True:
        params = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"{url}/enterprises", params=params, headers=headers)).json()
        found.update({item["credit_code"]: item for item in page["items"]})
        cursor = page["next_cursor"]
        if not cursor:
            return found


async def test_event_reaches_the_monitoring_hub_once(databases, broker, token_mint):
    policy_db = await databases.create("policy")
    monitoring_db = await databases.create("monitoring")
    insurer = token_mint.headers(Role.INSURER, "PICC-BJ")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA")
    async with (
        running_service("policy", policy_db, broker.bootstrap_servers, token_mint) as policy,
        running_service("monitoring", monitoring_db, broker.bootstrap_servers, token_mint) as monitoring,
        httpx.AsyncClient(timeout=10) as client,
    ):
        body = enterprise_body(1)
        created = await client.post(f"{policy.url}/enterprises", json=body, headers=insurer)
        assert created.status_code == 201, created.text
        assert created.json()["must_insure"] is True

        async def arrived():
            return (await city_enterprises(client, monitoring.url, admin)).get(body["credit_code"])

        seen = await eventually(arrived)
        assert seen["name"] == body["name"] and seen["updates_applied"] == 1
        assert await count_rows(policy_db, policy_messaging.outbox, policy_messaging.outbox.c.published_at.is_(None)) == 0
        assert await count_rows(monitoring_db, monitoring_messaging.inbox) == 1


async def test_writes_succeed_while_the_broker_is_unreachable_and_events_arrive_after(sqlite_databases, token_mint, tmp_path):
    # A broker of its own that advertises the proxy's port, so every client connection crosses the proxy.
    proxy_port = free_port()
    isolated = EmbeddedBroker(port=free_port(), advertised_port=proxy_port, log_path=tmp_path / "tansu.log").start()
    proxy = await TcpProxy(proxy_port, isolated.host, isolated.port).start()
    bootstrap = f"127.0.0.1:{proxy_port}"
    policy_db = await sqlite_databases.create("policy")
    monitoring_db = await sqlite_databases.create("monitoring")
    insurer = token_mint.headers(Role.INSURER, "PICC-BJ")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA")
    try:
        async with (
            running_service("policy", policy_db, bootstrap, token_mint) as policy,
            running_service("monitoring", monitoring_db, bootstrap, token_mint) as monitoring,
            httpx.AsyncClient(timeout=10) as client,
        ):
            first = enterprise_body(100)
            assert (await client.post(f"{policy.url}/enterprises", json=first, headers=insurer)).status_code == 201
            await eventually(lambda: _has(client, monitoring.url, admin, first["credit_code"]))

            await proxy.cut()
            during = [enterprise_body(101 + i) for i in range(20)]
            for body in during:
                response = await client.post(f"{policy.url}/enterprises", json=body, headers=insurer)
                assert response.status_code == 201, response.text
            await asyncio.sleep(1.5)
            waiting = await count_rows(policy_db, policy_messaging.outbox, policy_messaging.outbox.c.published_at.is_(None))
            assert waiting == 20, "events wait in the outbox while the broker is away"
            assert (await client.get(f"{policy.url}/readyz")).status_code == 503

            await proxy.restore()

            async def all_arrived():
                seen = await city_enterprises(client, monitoring.url, admin)
                return all(b["credit_code"] in seen for b in during) and seen

            seen = await eventually(all_arrived, timeout=40)
            assert all(seen[b["credit_code"]]["updates_applied"] == 1 for b in during)
            assert await count_rows(monitoring_db, monitoring_messaging.inbox) == 21
            assert await count_rows(policy_db, policy_messaging.outbox, policy_messaging.outbox.c.published_at.is_(None)) == 0
    finally:
        await proxy.close()
        isolated.stop()


async def _has(client, url, headers, code) -> bool:
    return code in await city_enterprises(client, url, headers)


async def test_the_same_event_delivered_twice_is_applied_once(databases, broker, token_mint):
    policy_db = await databases.create("policy")
    monitoring_db = await databases.create("monitoring")
    insurer = token_mint.headers(Role.INSURER, "PICC-BJ")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA")
    async with (
        running_service("policy", policy_db, broker.bootstrap_servers, token_mint) as policy,
        running_service("monitoring", monitoring_db, broker.bootstrap_servers, token_mint) as monitoring,
        httpx.AsyncClient(timeout=10) as client,
    ):
        body = enterprise_body(200)
        assert (await client.post(f"{policy.url}/enterprises", json=body, headers=insurer)).status_code == 201
        await eventually(lambda: _has(client, monitoring.url, admin, body["credit_code"]))

        # The relay sends it again (as after a crash between the broker's ack and the database update).
        engine = create_async_engine(policy_db)
        async with engine.begin() as conn:
            await conn.execute(update(policy_messaging.outbox).values(published_at=None))
        await engine.dispose()
        await eventually(
            lambda: _none_unpublished(policy_db),
        )
        # And a producer outside the platform replays the very same bytes.
        engine = create_async_engine(policy_db)
        async with engine.connect() as conn:
            envelope = (await conn.execute(select(policy_messaging.outbox.c.envelope))).scalar_one()
        await engine.dispose()
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait("policy.events", envelope.encode(), key=body["credit_code"].encode())
        finally:
            await producer.stop()
        marker = enterprise_body(201)
        assert (await client.post(f"{policy.url}/enterprises", json=marker, headers=insurer)).status_code == 201
        await eventually(lambda: _has(client, monitoring.url, admin, marker["credit_code"]))

        seen = await city_enterprises(client, monitoring.url, admin)
        assert seen[body["credit_code"]]["updates_applied"] == 1
        assert await count_rows(monitoring_db, monitoring_messaging.inbox) == 2


async def _none_unpublished(url: str) -> bool:
    return await count_rows(url, policy_messaging.outbox, policy_messaging.outbox.c.published_at.is_(None)) == 0


async def test_a_poison_event_is_dead_lettered_and_later_events_still_flow(sqlite_databases, broker, token_mint):
    monitoring_db = await sqlite_databases.create("monitoring")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA")
    good_code, poison_code = credit_code(301), credit_code(302)
    valid = EnterpriseRegistered(
        credit_code=good_code, name="后续正常单位", industry="MINE", district="房山区", headcount=30, jurisdiction="beijing", must_insure=True
    )
    poison = build_cloudevent(valid, subject=f"enterprises/{poison_code}", partition_key=poison_code)
    poison["data"] = poison["data"] | {"credit_code": poison_code, "industry": "NOT_AN_INDUSTRY"}
    good = build_cloudevent(valid, subject=f"enterprises/{good_code}", partition_key=good_code)

    dlq = AIOKafkaConsumer(
        "policy.events.dlq", bootstrap_servers=broker.bootstrap_servers, group_id=f"dlq-reader-{free_port()}", auto_offset_reset="earliest"
    )
    async with running_service(
        "monitoring", monitoring_db, broker.bootstrap_servers, token_mint, consumer_retry_backoff_seconds=0.01
    ) as monitoring, httpx.AsyncClient(timeout=10) as client:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait("policy.events", b"{not json at all", key=poison_code.encode())
            await producer.send_and_wait("policy.events", serialize(poison), key=poison_code.encode())
            await producer.send_and_wait("policy.events", serialize(good), key=good_code.encode())
        finally:
            await producer.stop()

        await eventually(lambda: _has(client, monitoring.url, admin, good_code), timeout=30)
        seen = await city_enterprises(client, monitoring.url, admin)
        assert poison_code not in seen

    await dlq.start()
    try:
        parked = []
        async def two_parked():
            batch = await dlq.getmany(timeout_ms=500)
            parked.extend(r for records in batch.values() for r in records)
            return len(parked) >= 2
        await eventually(two_parked, timeout=20)
    finally:
        await dlq.stop()
    headers = [dict(r.headers) for r in parked]
    assert any(b"malformed" in h["x-dead-letter-error"] for h in headers)
    assert any(b"NOT_AN_INDUSTRY" in h["x-dead-letter-error"] and h["x-attempts"] == b"3" for h in headers)
    assert all(h["x-original-topic"] == b"policy.events" for h in headers)
    assert await count_rows(monitoring_db, monitoring_messaging.inbox, monitoring_messaging.inbox.c.outcome == "dead_lettered") == 1


async def test_a_consumer_killed_mid_stream_loses_nothing_and_doubles_nothing(databases, broker, token_mint, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    policy_db = await databases.create("policy")
    monitoring_db = await databases.create("monitoring")
    insurer = token_mint.headers(Role.INSURER, "PICC-BJ")
    port = free_port()
    env = dict(
        os.environ,
        MONITORING_DATABASE_URL=monitoring_db,
        KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        JWT_PUBLIC_KEY_FILE=str(token_mint.public_key_file),
        LOG_LEVEL="WARNING",
        # A slow consumer, so the kill lands while events are still being applied.
        MONITORING_CONSUMER_MAX_BATCH="20",
        MONITORING_CONSUMER_SESSION_TIMEOUT_MS="6000",
        MONITORING_CONSUMER_GROUP=f"monitoring-killed-{free_port()}",
    )
    command = [sys.executable, "-m", "uvicorn", "services.monitoring.app:create_app", "--factory", "--port", str(port)]
    log = open(tmp_path / "monitoring.log", "ab")

    def start_monitoring() -> subprocess.Popen:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    total = 150
    async with running_service("policy", policy_db, broker.bootstrap_servers, token_mint) as policy, httpx.AsyncClient(timeout=10) as client:
        for i in range(total):
            response = await client.post(f"{policy.url}/enterprises", json=enterprise_body(1000 + i), headers=insurer)
            assert response.status_code == 201
        await eventually(lambda: _none_unpublished(policy_db))

        first = start_monitoring()
        try:
            applied = await eventually(lambda: _applied_between(monitoring_db, 1, total - 1), timeout=60, interval=0.02)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        assert 0 < applied < total, "the kill must land mid-stream"

        second = start_monitoring()
        try:
            await eventually(lambda: _applied_at_least(monitoring_db, total), timeout=60)
            await asyncio.sleep(1.0)  # anything doubled would show up now
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=15)

    from services.monitoring.models import EnterpriseView

    engine = create_async_engine(monitoring_db)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(EnterpriseView.credit_code, EnterpriseView.updates_applied))).all()
    await engine.dispose()
    assert len(rows) == total
    assert {updates for _, updates in rows} == {1}
    assert await count_rows(monitoring_db, monitoring_messaging.inbox) == total


async def _applied_between(url: str, low: int, high: int) -> int | None:
    try:
        n = await count_rows(url, monitoring_messaging.inbox)
    except Exception:
        return None
    return n if low <= n <= high else None


async def _applied_at_least(url: str, n: int) -> bool:
    return await count_rows(url, monitoring_messaging.inbox) >= n


async def test_a_poison_event_inside_a_batch_is_parked_and_the_events_around_it_apply_once_in_order(sqlite_databases, broker, token_mint):
    # Everything on one partition key, produced before the hub starts: one batch, one partition.
    monitoring_db = await sqlite_databases.create("monitoring")
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA")
    first, second = credit_code(401), credit_code(402)

    def registered(code: str, name: str, **data) -> dict:
        payload = EnterpriseRegistered(credit_code=code, name=name, industry="MINE", district="房山区", headcount=30,
                                       jurisdiction="beijing", must_insure=True)
        event = build_cloudevent(payload, subject=f"enterprises/{code}", partition_key="same-key")
        event["data"] |= data
        return event

    events = [
        registered(first, "第一版名称"),
        registered(second, "第二家单位"),
        registered(credit_code(403), "坏事件", industry="NOT_AN_INDUSTRY"),
        registered(first, "第二版名称", revision=2),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait("policy.events", serialize(event), key=b"same-key")
    finally:
        await producer.stop()

    async with running_service(
        "monitoring", monitoring_db, broker.bootstrap_servers, token_mint, consumer_retry_backoff_seconds=0.01
    ) as monitoring, httpx.AsyncClient(timeout=10) as client:
        async def all_four_handled():
            return await count_rows(monitoring_db, monitoring_messaging.inbox) == 4

        await eventually(all_four_handled, timeout=30)
        seen = await city_enterprises(client, monitoring.url, admin)
    assert set(seen) == {first, second}
    assert seen[first]["name"] == "第二版名称" and seen[first]["updates_applied"] == 2
    assert seen[second]["updates_applied"] == 1
    dead = monitoring_messaging.inbox.c.outcome == "dead_lettered"
    assert await count_rows(monitoring_db, monitoring_messaging.inbox, dead) == 1
    assert await count_rows(monitoring_db, monitoring_messaging.inbox, ~dead) == 3
