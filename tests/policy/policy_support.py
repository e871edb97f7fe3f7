"""Test data and helpers for the policy service's API tests."""

from __future__ import annotations

from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from contracts.identifiers import resident_id_check_character
from services.policy.models import messaging
from tests.support.factories import credit_code, enterprise_body
from tests.support.tokens import TokenMint


def resident_id(n: int) -> str:
    """A valid resident ID: Beijing Chaoyang 110105, born 1990-01-01 + n days' worth of sequence."""
    first17 = f"11010519900101{n % 1000:03d}"
    return first17 + resident_id_check_character(first17)


def employee(n: int, amount: str = "400000", employment_type: str = "REGULAR") -> dict:
    return {"resident_id": resident_id(n), "name": f"员工{n}", "employment_type": employment_type, "insured_amount": amount}


def roster(size: int, amount: str = "400000", first: int = 0) -> dict:
    types = ("REGULAR", "TEMPORARY", "DISPATCHED")
    return {"members": [employee(first + i, amount, types[i % 3]) for i in range(size)]}


async def enterprise_with_roster(client: httpx.AsyncClient, mint: TokenMint, n: int, *, size: int = 100, amount: str = "400000", tenant: str = "INS-A", **extra) -> str:
    headers = mint.headers(Role.INSURER, tenant)
    body = enterprise_body(n) | extra
    created = await client.post("/enterprises", json=body, headers=headers)
    assert created.status_code == 201, created.text
    put = await client.put(f"/enterprises/{body['credit_code']}/roster", json=roster(size, amount), headers=headers)
    assert put.status_code == 200, put.text
    return body["credit_code"]


def quote_body(code: str, *, start: str = "2027-01-01", end: str | None = "2027-12-31", limit: str = "400000", commission: str = "0") -> dict:
    body = {"credit_code": code, "period_start": start, "per_person_limit": limit, "commission": commission}
    if end:
        body["period_end"] = end
    return body


async def issued_policy(client: httpx.AsyncClient, mint: TokenMint, n: int, *, tenant: str = "INS-A", size: int = 100, **quote) -> dict:
    code = await enterprise_with_roster(client, mint, n, size=size, tenant=tenant)
    headers = mint.headers(Role.INSURER, tenant)
    q = await client.post("/quotes", json=quote_body(code, **quote), headers=headers)
    assert q.status_code == 201, q.text
    p = await client.post("/policies", json={"quote_id": q.json()["quote_id"]}, headers=headers)
    assert p.status_code == 201, p.text
    return p.json()


async def outbox_events(url: str, key: str) -> list[dict]:
    import json

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(messaging.outbox).where(messaging.outbox.c.partition_key == key).order_by(messaging.outbox.c.id))).all()
    finally:
        await engine.dispose()
    return [json.loads(r.envelope) for r in rows]


__all__ = ["Decimal", "credit_code"]
