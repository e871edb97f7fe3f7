"""The whole policy lifecycle on each database backend (SQLite and, where it answers, PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal as D

import httpx
import pytest

from contracts.enums import Role
from tests.conftest import running_service
from tests.policy.policy_support import employee, issued_policy, outbox_events


@pytest.fixture
async def policy(databases, broker, token_mint):
    url = await databases.create("policy")
    async with running_service("policy", url, broker.bootstrap_servers, token_mint) as server, httpx.AsyncClient(
        base_url=server.url, timeout=15
    ) as client:
        client.database_url = url
        yield client


async def test_issue_endorse_collect_renew_and_cancel(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A")
    issued = await issued_policy(policy, token_mint, 400, size=10)
    no, code = issued["policy_no"], issued["credit_code"]
    assert D(issued["written_premium"]) == D("5130.00")  # 10 × 600 × 0.855
    # one removed from 1 July: −513 × 184/365 = −258.6082… → −258.61
    removed = await policy.post(f"/policies/{no}/endorsements", json={"effective_date": "2027-07-01", "remove": [employee(0)["resident_id"]]}, headers=headers)
    assert removed.status_code == 201, removed.text
    assert (D(removed.json()["premium_change"]), removed.json()["headcount"]) == (D("-258.61"), 9)
    assert (await policy.get(f"/policies/{no}", headers=headers)).json()["sub_limits"]["aggregate"] == "3600000.00"
    paid = await policy.post(f"/policies/{no}/premium-receipts", json={"amount": "4871.39", "received_on": "2027-07-02"}, headers=headers)
    assert paid.status_code == 201 and D(paid.json()["collected_premium"]) == D("4871.39")
    renewed = await policy.post(f"/policies/{no}/renewal", json={"commission": "100"}, headers=headers)
    assert renewed.status_code == 201, renewed.text
    assert renewed.json()["headcount"] == 9 and D(renewed.json()["written_premium"]) == D("4617.00")  # 9 × 600 × 0.855
    cancelled = await policy.post(
        f"/policies/{renewed.json()['policy_no']}/cancellation", json={"reason": "closed_by_law", "effective_date": "2028-01-01"}, headers=headers
    )
    assert cancelled.status_code == 201 and D(cancelled.json()["premium_refund"]) == D("4617.00")
    verified = (await policy.get(f"/verification/{code}", params={"on": "2028-02-01"}, headers=token_mint.headers(Role.EMERGENCY_ADMIN, "EMA"))).json()
    assert verified["insured"] is False
    events = await outbox_events(policy.database_url, code)
    assert [e["type"].removeprefix("cn.anzexian.policy.") for e in events] == [
        "enterprise.registered.v1", "issued.v1", "endorsed.v1", "premium.collected.v1", "renewed.v1", "cancelled.v1"
    ]
    assert all(e["partitionkey"] == code for e in events)
