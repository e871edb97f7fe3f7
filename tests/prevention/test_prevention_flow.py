"""Policy service → broker → prevention service → broker → policy service, with real processes' parts.

A premium receipt recorded in the policy service accrues prevention money here (20% of it) through
``policy.events``; a hazard the insurer's institution finds and the unit refuses to rectify reaches
the policy service through ``prevention.events`` and moves its renewal factor 配合整改事故隐患.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from services.policy.models import HazardExperience
from tests.conftest import running_service
from tests.policy.policy_support import quote_body, roster
from tests.prevention.prevention_support import Clock, institution_body, institution_code
from tests.support.factories import enterprise_body, eventually


async def _hazard_statuses(url: str) -> dict[str, str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return {h: s for h, s in await conn.execute(select(HazardExperience.hazard_id, HazardExperience.status))}
    finally:
        await engine.dispose()


async def test_a_premium_receipt_accrues_prevention_money_and_a_refused_rectification_reaches_the_policy_service(
    sqlite_databases, broker, token_mint
):
    policy_db = await sqlite_databases.create("policy")
    prevention_db = await sqlite_databases.create("prevention")
    insurer = token_mint.headers(Role.INSURER, "INS-A")
    org = token_mint.headers(Role.SERVICE_ORG, "ORG-1")
    async with (
        running_service("policy", policy_db, broker.bootstrap_servers, token_mint) as policy,
        running_service("prevention", prevention_db, broker.bootstrap_servers, token_mint, run_overdue_watcher=False) as prevention,
        httpx.AsyncClient(timeout=20, headers=insurer) as client,
    ):
        prevention.app.state.clock = Clock(datetime(2027, 3, 1, 2, 0, tzinfo=UTC))
        body = enterprise_body(77)
        code = body["credit_code"]
        assert (await client.post(f"{policy.url}/enterprises", json=body)).status_code == 201
        assert (await client.put(f"{policy.url}/enterprises/{code}/roster", json=roster(10))).status_code == 200
        quote = (await client.post(f"{policy.url}/quotes", json=quote_body(code))).json()
        policy_no = (await client.post(f"{policy.url}/policies", json={"quote_id": quote["quote_id"]})).json()["policy_no"]
        paid = await client.post(f"{policy.url}/policies/{policy_no}/premium-receipts", json={"amount": "4321.09", "received_on": "2027-01-05"})
        assert paid.status_code == 201, paid.text

        async def accrued():
            position = (await client.get(f"{prevention.url}/fund/2027")).json()
            return Decimal(position["collected_premium"]) == Decimal("4321.09") and position

        position = await eventually(accrued, timeout=30)
        assert Decimal(position["accrued"]) == Decimal("864.22")  # 20% of 4,321.09 = 864.218, to the fen

        # The policy copy arrived too: the insurer's institution can serve this unit.
        assert (await client.post(f"{prevention.url}/institutions", json=institution_body(1), headers=org)).status_code == 201
        assert (await client.post(f"{prevention.url}/institutions/{institution_code(1)}/filings", json={"filed_on": "2027-01-10"})).status_code == 201
        record = await client.post(f"{prevention.url}/service-records", json={
            "credit_code": code, "policy_no": policy_no, "institution_code": institution_code(1), "item": "HAZARD_INSPECTION",
            "performed_on": "2027-02-20", "place": "工地", "staff": ["张工"], "cost": "800.00",
        })
        assert record.status_code == 201, record.text
        hazard = await client.post(f"{prevention.url}/hazards", json={
            "credit_code": code, "record_id": record.json()["record_id"], "level": "MAJOR", "description": "深基坑无支护",
            "found_on": "2027-02-20", "deadline": "2027-03-20",
        })
        hazard_id = hazard.json()["hazard_id"]
        assert (await client.post(f"{prevention.url}/hazards/{hazard_id}/status", json={"status": "REFUSED"})).status_code == 200

        async def learned():
            return (await _hazard_statuses(policy_db)).get(hazard_id) == "REFUSED"

        await eventually(learned, timeout=30)
