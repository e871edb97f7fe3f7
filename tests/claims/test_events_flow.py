"""Through the gateway and the real broker: a policy event in, a claim, claims events out; overdue raised once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from types import SimpleNamespace

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from contracts.events.claims import FastTrackOverdue
from contracts.events.envelope import serialize
from devstack.broker import free_port
from gateway.cli import create_client_in
from gateway.keys import ensure_keypair
from kernel.migrate import upgrade
from services.claims.models import messaging
from tests.claims.claims_support import T_REPORT, Clock, claims_service, policy_issued, report_body, resident_id, seed
from tests.gateway.gateway_support import GatewayEnv, Upstreams, access_token, running_gateway
from tests.support.factories import credit_code, eventually


async def _outbox_count(url: str, event_type: str) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            query = select(func.count()).select_from(messaging.outbox).where(messaging.outbox.c.event_type == event_type)
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_policy_event_in_claim_through_the_gateway_and_claims_events_out(databases, broker, tmp_path):
    url = await databases.create("claims")
    private_key, public_key = ensure_keypair(tmp_path / "keys")
    gateway_db = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await asyncio.to_thread(upgrade, "gateway", gateway_db)
    credentials = await create_client_in(gateway_db, "claims test insurer", "insurer", "INS-A")
    reader = AIOKafkaConsumer(
        "claims.events", bootstrap_servers=broker.bootstrap_servers, group_id=f"claims-reader-{free_port()}", auto_offset_reset="earliest"
    )
    # The claims service trusts the gateway's key: the token the gateway issues is the only credential.
    gateway_key = SimpleNamespace(public_key_file=public_key)
    async with claims_service(url, gateway_key, broker.bootstrap_servers, Clock(), run_overdue_watcher=False) as service:
        nowhere = f"http://127.0.0.1:{free_port()}"
        upstreams = Upstreams({"policy": nowhere, "claims": str(service.base_url).rstrip("/"), "prevention": nowhere, "monitoring": nowhere}, {})
        async with running_gateway(GatewayEnv(private_key, public_key, gateway_db), upstreams) as gateway, httpx.AsyncClient(
            base_url=f"{gateway.url}/api/v1/claims", timeout=20
        ) as client:
            await _flow(client, broker, reader, {"Authorization": f"Bearer {await access_token(client, gateway.url, credentials)}"})


async def _flow(client: httpx.AsyncClient, broker, reader: AIOKafkaConsumer, insurer: dict) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("policy.events", serialize(policy_issued(1)), key=credit_code(1).encode())
    finally:
        await producer.stop()

    async def reported():
        response = await client.post("/claims", json=report_body(deaths=2), headers=insurer)
        return response.json() if response.status_code == 201 else None

    claim = await eventually(reported, timeout=30)
    cid = claim["claim_id"]
    victim = await client.post(f"/claims/{cid}/victims", headers=insurer, json={
        "resident_id": resident_id(1), "name": "员工1", "relation": "employee", "outcome": "death"})
    assert victim.status_code == 201
    assert (await client.post(f"/claims/{cid}/prepayments", json={"amount": "200000"}, headers=insurer)).status_code == 201
    assert (await client.post(f"/claims/{cid}/settlement", headers=insurer)).status_code == 200
    assert (await client.post(f"/claims/{cid}/close", json={}, headers=insurer)).status_code == 200

    wanted = [
        "cn.anzexian.claims.accident.reported.v1", "cn.anzexian.claims.fast_track.opened.v1", "cn.anzexian.claims.assessed.v1",
        "cn.anzexian.claims.prepaid.v1", "cn.anzexian.claims.settled.v1", "cn.anzexian.claims.closed.v1",
    ]
    await reader.start()
    try:
        seen: list[tuple[str, bytes]] = []
        async with asyncio.timeout(30):
            while len(seen) < len(wanted):
                batch = await reader.getmany(timeout_ms=500)
                for records in batch.values():
                    seen.extend((r.value.decode(), r.key) for r in records)
    finally:
        await reader.stop()

    types = [json.loads(v)["type"] for v, _ in seen]
    assert types == wanted
    assert {k for _, k in seen} == {credit_code(1).encode()}
    prepaid = json.loads(seen[3][0])["data"]
    assert prepaid["fast_track_met"] is True


async def test_fast_track_overdue_is_raised_once_even_across_a_restart(databases, token_mint):
    url = await databases.create("claims")
    await seed(url, policy_issued(1))
    clock = Clock()
    insurer = token_mint.headers(Role.INSURER, "INS-A")
    watcher = {"run_overdue_watcher": True, "overdue_check_seconds": 0.05}
    async with claims_service(url, token_mint, clock=clock, **watcher) as client:
        claim = (await client.post("/claims", json=report_body(deaths=2), headers=insurer)).json()
        clock.now = T_REPORT + timedelta(hours=48)  # exactly at the deadline: not yet overdue
        await asyncio.sleep(0.3)
        assert await _outbox_count(url, FastTrackOverdue.event_type) == 0
        clock.now = T_REPORT + timedelta(hours=48, seconds=1)
        await eventually(lambda: _outbox_count(url, FastTrackOverdue.event_type), timeout=10)
        shown = (await client.get(f"/claims/{claim['claim_id']}", headers=insurer)).json()["fast_track"]
        assert (shown["overdue"], shown["met"]) == (True, False)
    async with claims_service(url, token_mint, clock=Clock(T_REPORT + timedelta(days=3)), **watcher):
        await asyncio.sleep(0.4)
    assert await _outbox_count(url, FastTrackOverdue.event_type) == 1
