"""Coverage 应保尽保: must insure (registry ∪ must-insure units), insured on the day, and the list of 应保未保."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import httpx

from contracts.events.envelope import build_cloudevent
from contracts.events.policy import EnterpriseRegistered, PolicyCancelled, PolicyIssued, PolicySubLimits
from services.monitoring import rules
from tests.conftest import running_service
from tests.monitoring.conftest import publish
from tests.monitoring.test_registry import CONSTRUCTION_BUREAU, TRANSPORT_BUREAU, bureau, csv_bytes, upload
from tests.support.factories import credit_code, eventually

DAY = date(2026, 6, 30)


def test_a_policy_covers_its_last_day_and_not_the_day_its_cancellation_takes_effect():
    period = {"period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31)}
    assert rules.in_force(date(2026, 12, 31), cancelled_from=None, **period)
    assert not rules.in_force(date(2027, 1, 1), cancelled_from=None, **period)
    assert rules.in_force(date(2026, 6, 29), cancelled_from=date(2026, 6, 30), **period)
    assert not rules.in_force(date(2026, 6, 30), cancelled_from=date(2026, 6, 30), **period)


def test_coverage_counts_each_unit_once_per_group_and_lists_the_uninsured():
    units = [("A", "甲", "MINE", "房山区"), ("A", "甲", "MINE", "房山区"), ("B", "乙", "MINE", "房山区"), ("C", "丙", "HAZCHEM", "大兴区")]
    assert rules.coverage_by_group(units, {"A"}) == [
        {"industry": "HAZCHEM", "district": "大兴区", "must_insure": 1, "insured": 0, "uninsured": [{"credit_code": "C", "name": "丙"}]},
        {"industry": "MINE", "district": "房山区", "must_insure": 2, "insured": 1, "uninsured": [{"credit_code": "B", "name": "乙"}]},
    ]


def issued(n: int, start: date, end: date, industry="CONSTRUCTION", district="朝阳区") -> dict:
    limits = {k: Decimal("400000") for k in PolicySubLimits.model_fields}
    payload = PolicyIssued(
        policy_no=f"P{n:06d}",
        insurer="PICC-BJ",
        credit_code=credit_code(n),
        enterprise_name=f"建工{n}",
        industry=industry,
        district=district,
        jurisdiction="beijing",
        profile_version="test",
        must_insure=True,
        period_start=start,
        period_end=end,
        per_person_limit=Decimal("400000"),
        sub_limits=PolicySubLimits(**limits),
        headcount=1,
        insured_people=[],
        premium=Decimal("1000"),
        commission=Decimal("0"),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


def cancelled(n: int, effective: date) -> dict:
    payload = PolicyCancelled(
        policy_no=f"P{n:06d}",
        insurer="PICC-BJ",
        credit_code=credit_code(n),
        reason="closed_by_law",
        effective_date=effective,
        earned_premium=Decimal("500"),
        premium_refund=Decimal("500"),
        written_premium=Decimal("500"),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


def registered(n: int, must_insure: bool) -> dict:
    payload = EnterpriseRegistered(
        credit_code=credit_code(n),
        name=f"建工{n}",
        industry="CONSTRUCTION",
        district="海淀区",
        headcount=10,
        jurisdiction="beijing",
        must_insure=must_insure,
    )
    return build_cloudevent(payload, subject=f"enterprises/{payload.credit_code}", partition_key=payload.credit_code)


async def test_coverage_per_industry_and_district_from_registry_and_policy_events(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    rebuilt_url = await sqlite_databases.create("monitoring")
    builder = bureau(token_mint, CONSTRUCTION_BUREAU)
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        rows = [[credit_code(n), f"建工{n}", "CONSTRUCTION", "朝阳区"] for n in (1, 2, 3, 4)]
        assert (await upload(client, hub.url, builder, "list.csv", csv_bytes(rows))).json()["accepted"] == 4
        events = [
            issued(1, date(2026, 1, 1), date(2026, 12, 31)),  # in force
            issued(2, date(2025, 1, 1), date(2025, 12, 31)),  # expired
            issued(3, date(2026, 1, 1), date(2026, 12, 31)),
            cancelled(3, date(2026, 6, 1)),  # cancelled before the day
            registered(5, must_insure=True),  # must insure by registration, not listed
            registered(6, must_insure=False),
        ]
        await publish(broker.bootstrap_servers, events)

        async def report():
            response = await client.get(f"{hub.url}/coverage", params={"on": DAY.isoformat()}, headers=builder)
            assert response.status_code == 200, response.text
            groups = response.json()["groups"]
            return len(groups) == 2 and groups

        chaoyang, haidian = await eventually(report)
        assert (chaoyang["district"], chaoyang["must_insure"], chaoyang["insured"]) == ("朝阳区", 4, 1)
        assert [u["credit_code"] for u in chaoyang["uninsured"]] == sorted(credit_code(n) for n in (2, 3, 4))
        assert (haidian["district"], haidian["must_insure"], haidian["insured"]) == ("海淀区", 1, 0)

        earlier = (await client.get(f"{hub.url}/coverage", params={"on": "2026-05-31", "district": "朝阳区"}, headers=builder)).json()
        assert earlier["groups"][0]["insured"] == 2, "the cancelled policy still covered the day before it took effect"

        transport = bureau(token_mint, TRANSPORT_BUREAU)
        assert (await client.get(f"{hub.url}/coverage", headers=transport)).json()["groups"] == [], "a bureau sees only its industries"
        refused = await client.get(f"{hub.url}/coverage", params={"industry": "CONSTRUCTION"}, headers=transport)
        assert refused.status_code == 403

        before = (await client.get(f"{hub.url}/coverage", params={"on": DAY.isoformat()}, headers=builder)).json()

    # A hub rebuilt from the start of the topics (fresh database, new group) gives the same figures.
    async with (
        running_service("monitoring", rebuilt_url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as rebuilt,
        httpx.AsyncClient(timeout=20) as client,
    ):
        assert (await upload(client, rebuilt.url, builder, "list.csv", csv_bytes(rows))).json()["accepted"] == 4
        await publish(broker.bootstrap_servers, events)  # a replay on top of the rebuild changes nothing either

        async def same():
            now = (await client.get(f"{rebuilt.url}/coverage", params={"on": DAY.isoformat()}, headers=builder)).json()
            return now == before

        await eventually(same)
