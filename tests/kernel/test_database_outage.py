"""A database that is away gets a 503 problem+json with Retry-After, not a 500, and no event is blamed for it.

"Away" is an address where nothing listens, and (on PostgreSQL) a server that answers but refuses
the connection: here a role whose CONNECTION LIMIT is 0 (SQLSTATE 53300, too many connections),
the same shape of error as a server shutting down or starting up (57P01–57P03) during a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from contracts.events.envelope import PARTITION_KEY_EXTENSION, build_cloudevent, serialize
from contracts.events.policy import EnterpriseRegistered
from devstack.broker import free_port
from services.monitoring.models import messaging as monitoring_messaging
from tests.conftest import PG_ADMIN_DSN, POSTGRES, Databases, running_service
from tests.support.factories import credit_code, enterprise_body, eventually

needs_postgres = pytest.mark.skipif(not POSTGRES, reason="no PostgreSQL on 127.0.0.1:5432")


@pytest.fixture
async def postgres(tmp_path):
    """Fresh PostgreSQL databases: connection limits are PostgreSQL's."""
    dbs = Databases("postgresql", tmp_path)
    yield dbs
    await dbs.drop_all()


@contextlib.asynccontextmanager
async def limited_role(database_url: str):
    """A login role with every right on the database's tables; yields (url as that role, set its connection limit)."""
    role = f"azx_limited_{uuid.uuid4().hex[:8]}"
    database = database_url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(PG_ADMIN_DSN)
    in_db = await asyncpg.connect(PG_ADMIN_DSN.rsplit("/", 1)[0] + f"/{database}")
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN")
        await in_db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")

        async def set_limit(limit: int) -> None:
            await admin.execute(f"ALTER ROLE {role} CONNECTION LIMIT {limit}")
            if limit == 0:  # connections already open stay open: end them, as a restart would
                await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)

        yield database_url.replace("postgres@", f"{role}@", 1), set_limit
    finally:
        await in_db.close()
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", role)
        await admin.execute(f"DROP OWNED BY {role}")
        await _drop_role(admin, role)
        await admin.close()


async def _drop_role(admin, role: str) -> None:
    for _ in range(20):  # the terminated backends take a moment to go
        try:
            await admin.execute(f"DROP ROLE IF EXISTS {role}")
            return
        except asyncpg.PostgresError:
            await asyncio.sleep(0.1)


def _assert_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == "2"
    body = response.json()
    assert body["type"].endswith("database_unavailable") and "Traceback" not in response.text
    assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]


async def test_an_unreachable_database_answers_503_with_retry_after(token_mint):
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/policy"
    async with running_service(
        "policy", nowhere, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False
    ) as policy, httpx.AsyncClient(base_url=policy.url, timeout=20) as client:
        insurer = token_mint.headers(Role.INSURER, "INS-A")
        _assert_503(await client.post("/enterprises", json=enterprise_body(1), headers=insurer))
        assert (await client.get("/readyz")).status_code == 503


@needs_postgres
async def test_a_database_refusing_connections_answers_503_and_the_same_request_succeeds_once_it_accepts(postgres, token_mint):
    url = await postgres.create("policy")
    async with limited_role(url) as (role_url, set_limit):
        await set_limit(0)
        async with running_service(
            "policy", role_url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False
        ) as policy, httpx.AsyncClient(base_url=policy.url, timeout=20) as client:
            insurer = token_mint.headers(Role.INSURER, "INS-A")
            body = enterprise_body(1)
            _assert_503(await client.post("/enterprises", json=body, headers=insurer))
            await set_limit(-1)
            assert (await client.post("/enterprises", json=body, headers=insurer)).status_code == 201


@needs_postgres
async def test_an_event_arriving_while_the_database_refuses_connections_waits_and_is_applied_once_not_dead_lettered(
    postgres, broker, token_mint
):
    url = await postgres.create("monitoring")
    def registered(n: int) -> dict:
        code = credit_code(n)
        payload = EnterpriseRegistered(credit_code=code, name=f"等待数据库的单位{n}", industry="MINE", district="房山区", headcount=9,
                                       jurisdiction="national", must_insure=True)
        return build_cloudevent(payload, subject=f"enterprises/{code}", partition_key=code)

    warm_up, event = registered(76), registered(77)
    inbox = monitoring_messaging.inbox
    engine = create_async_engine(url)

    async def outcome(envelope: dict) -> list[str]:
        async with engine.connect() as conn:
            return list((await conn.execute(select(inbox.c.outcome).where(inbox.c.event_id == envelope["id"]))).scalars())

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        async with limited_role(url) as (role_url, set_limit):
            # Two quick attempts per event: a database error taken for the event's fault would park it within a second.
            async with running_service("monitoring", role_url, broker.bootstrap_servers, token_mint, consumer_max_attempts=2,
                                       consumer_retry_backoff_seconds=0.01, run_push_delivery=False):
                # The consumer is in its group and applying events before the database goes away.
                await producer.send_and_wait("policy.events", serialize(warm_up), key=warm_up[PARTITION_KEY_EXTENSION].encode())
                assert await eventually(lambda: outcome(warm_up), timeout=30) == ["applied"]
                await set_limit(0)
                await producer.send_and_wait("policy.events", serialize(event), key=event[PARTITION_KEY_EXTENSION].encode())
                await asyncio.sleep(3)
                assert await outcome(event) == []  # not applied, and not parked either
                await set_limit(-1)
                assert await eventually(lambda: outcome(event), timeout=30) == ["applied"]
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(inbox))).scalar_one() == 2
    finally:
        await producer.stop()
        await engine.dispose()
    # Nothing was parked on the dead-letter topic for the database's absence.
    dlq = AIOKafkaConsumer("policy.events.dlq", bootstrap_servers=broker.bootstrap_servers, group_id=f"dlq-{uuid.uuid4().hex[:6]}",
                           auto_offset_reset="earliest")
    await dlq.start()
    try:
        parked = [r for _ in range(3) for records in (await dlq.getmany(timeout_ms=700)).values() for r in records]
    finally:
        await dlq.stop()
    assert parked == []
