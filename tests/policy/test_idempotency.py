"""Idempotency-Key on the policy service's creating POSTs, on SQLite and PostgreSQL (kernel.idempotency)."""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from services.policy.models import Policy, idempotency, messaging
from tests.conftest import running_service
from tests.policy.policy_support import enterprise_with_roster, quote_body


@pytest.fixture
async def policy(databases, broker, token_mint):
    url = await databases.create("policy")
    async with running_service("policy", url, broker.bootstrap_servers, token_mint) as server, httpx.AsyncClient(
        base_url=server.url, timeout=15
    ) as client:
        client.database_url = url
        yield client


async def _scalar(url: str, query):
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            return (await conn.execute(query)).scalar_one()
    finally:
        await engine.dispose()


async def test_same_key_and_body_answer_once_another_body_is_refused_and_a_running_key_is_a_conflict(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A")
    code = await enterprise_with_roster(policy, token_mint, 300, size=3)
    quotes = [(await policy.post("/quotes", json=quote_body(code), headers=headers)).json()["quote_id"] for _ in range(3)]

    keyed = headers | {"Idempotency-Key": "issue-300"}
    first = await policy.post("/policies", json={"quote_id": quotes[0]}, headers=keyed)
    again = await policy.post("/policies", content=json.dumps({"quote_id": quotes[0]}, indent=2), headers=keyed | {"content-type": "application/json"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await _scalar(policy.database_url, select(func.count()).select_from(Policy)) == 1
    issued = select(func.count()).select_from(messaging.outbox).where(messaging.outbox.c.event_type == "cn.anzexian.policy.issued.v1")
    assert await _scalar(policy.database_url, issued) == 1

    other_body = await policy.post("/policies", json={"quote_id": quotes[1]}, headers=keyed)
    assert other_body.status_code == 422
    assert other_body.json()["errors"][0] | {"message_zh": "", "message_en": ""} == {
        "field": "Idempotency-Key", "rule": "idempotency.key_reused", "message_zh": "", "message_en": ""
    }

    # the key belongs to one client: another insurer's identical key is its own (and finds no quote of its own)
    stranger = await policy.post("/policies", json={"quote_id": quotes[0]}, headers=token_mint.headers(Role.INSURER, "INS-B") | {"Idempotency-Key": "issue-300"})
    assert stranger.status_code == 404

    # a refused request frees its key: nothing happened, so the retry runs again
    body = quote_body(code, limit="1")
    for _ in range(2):
        refused = await policy.post("/quotes", json=body, headers=headers | {"Idempotency-Key": "quote-low"})
        assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "limit.below_minimum"

    # a key whose first request still runs answers 409
    scope = hashlib.sha256(json.dumps(["test-insurer-INS-A", "POST", "/policies", "running"]).encode()).hexdigest()
    now = datetime.now(UTC)
    engine = create_async_engine(policy.database_url)
    async with engine.begin() as conn:
        await conn.execute(idempotency.insert().values(
            scope_hash=scope, client_id="test-insurer-INS-A", method="POST", path="/policies", idempotency_key="running",
            request_hash=hashlib.sha256(json.dumps({"quote_id": quotes[2]}, separators=(",", ":")).encode()).hexdigest(),
            state="in_progress", created_at=now, lease_until=now + timedelta(seconds=60),
        ))
    await engine.dispose()
    running = await policy.post("/policies", json={"quote_id": quotes[2]}, headers=headers | {"Idempotency-Key": "running"})
    assert running.status_code == 409 and running.json()["errors"][0]["rule"] == "idempotency.request_in_progress"


async def test_concurrent_retries_with_one_key_issue_one_policy(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A") | {"Idempotency-Key": "race-301"}
    code = await enterprise_with_roster(policy, token_mint, 301, size=3)
    quote = (await policy.post("/quotes", json=quote_body(code), headers=headers | {"Idempotency-Key": "q-301"})).json()
    answers = await asyncio.gather(*(policy.post("/policies", json={"quote_id": quote["quote_id"]}, headers=headers) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 201 and set(statuses) <= {201, 409}, statuses
    assert len({a.json()["policy_no"] for a in answers if a.status_code == 201}) == 1
    assert await _scalar(policy.database_url, select(func.count()).select_from(Policy)) == 1
