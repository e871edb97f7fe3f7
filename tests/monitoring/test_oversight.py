"""Insurer oversight: KPIs and the commission alert from policy events, at the 5% boundary."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import httpx

from contracts.enums import Role
from contracts.events.envelope import build_cloudevent
from contracts.events.policy import PolicyIssued, PolicySubLimits
from services.monitoring.oversight import rules
from tests.conftest import running_service
from tests.monitoring.conftest import publish
from tests.support.factories import credit_code, eventually


def test_commission_cap_is_strictly_above_five_percent():
    cap = rules.limits(date(2027, 1, 1), "national").commission_cap
    assert cap == Decimal("0.05")  # from the profile (Measures 2025 Art. 14)
    assert not rules.commission_above_cap(Decimal("86000"), Decimal("4299.99"), cap)
    assert not rules.commission_above_cap(Decimal("86000"), Decimal("4300"), cap)
    assert rules.commission_above_cap(Decimal("86000"), Decimal("4300.01"), cap)


def test_alert_ids_are_deterministic_and_quarters_follow_the_date():
    assert rules.alert_id("COMMISSION_ABOVE_CAP", "policies/P1") == rules.alert_id("COMMISSION_ABOVE_CAP", "policies/P1")
    assert rules.alert_id("COMMISSION_ABOVE_CAP", "policies/P1") != rules.alert_id("FAST_TRACK_MISSED", "policies/P1")
    assert [rules.quarter_of(date(2026, m, 1)) for m in (1, 3, 4, 6, 7, 9, 10, 12)] == [1, 1, 2, 2, 3, 3, 4, 4]


def issued(insurer: str, n: int, start: date, premium: str, commission: str) -> dict:
    limits = {k: Decimal("400000") for k in PolicySubLimits.model_fields}
    payload = PolicyIssued(
        policy_no=f"{insurer}-P{n:04d}", insurer=insurer, credit_code=credit_code(n), enterprise_name=f"建工{n}",
        industry="CONSTRUCTION", district="朝阳区", jurisdiction="beijing", profile_version="test", must_insure=True,
        period_start=start, period_end=date(start.year, 12, 31), per_person_limit=Decimal("400000"),
        sub_limits=PolicySubLimits(**limits), headcount=1, insured_people=[], premium=Decimal(premium), commission=Decimal(commission),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


async def test_kpis_and_commission_alert_once_and_the_same_after_a_rebuild(sqlite_databases, broker, token_mint):
    insurer = f"OVS-{uuid.uuid4().hex[:8]}"
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")
    events = [
        issued(insurer, 1, date(2026, 2, 1), "86000", "4300"),  # exactly 5%: allowed
        issued(insurer, 2, date(2026, 5, 1), "86000", "4300.01"),  # over: alert
        issued(insurer, 3, date(2026, 5, 2), "10000", "100"),
    ]

    async def figures(client, url):
        one = (await client.get(f"{url}/oversight/insurers/{insurer}", params={"year": 2026}, headers=admin)).json()
        alerts = [a for a in (await client.get(f"{url}/oversight/alerts", params={"status": "open"}, headers=admin)).json() if a["insurer"] == insurer]
        return one, alerts

    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        await publish(broker.bootstrap_servers, events)

        async def ready():
            one, alerts = await figures(client, hub.url)
            return (one, alerts) if one["total"] and one["total"]["policies"] == 3 and alerts else None

        one, alerts = await eventually(ready)
        assert one["total"]["written_premium"] == "182000.00"
        assert one["total"]["commission"] == "8700.01"
        assert one["quarters"][0]["commission_within_cap"] is True
        assert one["quarters"][1]["policies"] == 2
        assert [a["subject"] for a in alerts] == [f"policies/{insurer}-P0002"]
        assert alerts[0]["kind"] == "COMMISSION_ABOVE_CAP"

        await publish(broker.bootstrap_servers, events[1:2])  # a replay raises nothing new
        listing = (await client.get(f"{hub.url}/oversight/insurers", params={"year": 2026, "quarter": 2}, headers=admin)).json()
        assert [r["policies"] for r in listing if r["insurer"] == insurer] == [2]
        assert (await figures(client, hub.url))[1] == alerts

        for role in (Role.BUREAU, Role.INSURER):
            refused = await client.get(f"{hub.url}/oversight/alerts", headers=token_mint.headers(role, "X"))
            assert refused.status_code == 403, role
        regulator = token_mint.headers(Role.FINANCE_REGULATOR, "JRJ")
        assert (await client.get(f"{hub.url}/oversight/insurers", params={"year": 2026}, headers=regulator)).status_code == 200

    rebuilt_url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", rebuilt_url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as rebuilt,
        httpx.AsyncClient(timeout=20) as client,
    ):
        async def same():
            return await figures(client, rebuilt.url) == (one, alerts)

        await eventually(same)


async def test_fast_track_missed_and_institution_below_staff_minimum_raise_one_alert_each(sqlite_databases, broker, token_mint):
    from datetime import UTC, datetime

    from contracts.events.claims import FastTrackOverdue
    from contracts.events.prevention import InstitutionRegistered

    insurer = f"OVS-{uuid.uuid4().hex[:8]}"
    tag = uuid.uuid4().hex[:6]
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")
    at = datetime(2026, 3, 1, 8, tzinfo=UTC)
    overdue = FastTrackOverdue(
        claim_id=f"C-{tag}", credit_code=credit_code(7), policy_no=f"{insurer}-P0007", insurer=insurer,
        reported_at=at, deadline=datetime(2026, 3, 6, 8, tzinfo=UTC), detected_at=datetime(2026, 3, 6, 9, tzinfo=UTC),
    )
    short = InstitutionRegistered(
        institution_code=credit_code(900), name=f"机构{tag}", qualifications=[], professional_staff=14,
        jurisdiction="yunnan", meets_requirements=False, min_professional_staff=15,
    )
    enough = InstitutionRegistered(
        institution_code=credit_code(901), name=f"机构{tag}B", qualifications=[], professional_staff=15,
        jurisdiction="yunnan", meets_requirements=True, min_professional_staff=15,
    )
    events = [
        build_cloudevent(overdue, subject=f"claims/{overdue.claim_id}", partition_key=overdue.credit_code),
        build_cloudevent(short, subject=f"institutions/{tag}", partition_key=short.institution_code),
        build_cloudevent(enough, subject=f"institutions/{tag}B", partition_key=enough.institution_code),
    ]
    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        await publish(broker.bootstrap_servers, events + events[:2])

        async def mine():
            rows = (await client.get(f"{hub.url}/oversight/alerts", params={"status": "open"}, headers=admin)).json()
            found = [a for a in rows if a["insurer"] == insurer or (a["message_zh"] and tag in a["message_zh"])]
            return found if len(found) >= 2 else None

        found = await eventually(mine)
        assert sorted(a["kind"] for a in found) == ["FAST_TRACK_MISSED", "INSTITUTION_BELOW_STAFF_MINIMUM"]
        staff = next(a for a in found if a["kind"] == "INSTITUTION_BELOW_STAFF_MINIMUM")
        assert (Decimal(staff["observed"]), Decimal(staff["limit"])) == (14, 15)


async def test_prevention_spend_ratio_and_the_21_percent_cap(sqlite_databases, broker, token_mint):
    from contracts.events.prevention import FundAccrued, FundSpent

    insurer = f"OVS-{uuid.uuid4().hex[:8]}"
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")

    def ev(payload):
        return build_cloudevent(payload, subject=f"funds/{payload.entry_id}", partition_key=insurer)

    events = [
        ev(FundAccrued(entry_id=f"{insurer}-A1", insurer=insurer, year=2026, collected_premium=Decimal("100000"), amount=Decimal("20000"))),
        ev(FundSpent(entry_id=f"{insurer}-S1", insurer=insurer, year=2026, category="TRAINING", amount=Decimal("21000"))),  # exactly 21%
    ]
    over = [ev(FundSpent(entry_id=f"{insurer}-S2", insurer=insurer, year=2026, category="TRAINING", amount=Decimal("0.01")))]
    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        async def fund():
            return (await client.get(f"{hub.url}/oversight/insurers/{insurer}", params={"year": 2026}, headers=admin)).json()["prevention_fund"]

        async def alerts():
            rows = (await client.get(f"{hub.url}/oversight/alerts", headers=admin)).json()
            return [a for a in rows if a["insurer"] == insurer]

        await publish(broker.bootstrap_servers, events)
        at_cap = await eventually(lambda: _when(fund, lambda f: f["prevention_spent"] == "21000.00"))
        assert at_cap["spend_ratio"] == "0.2100" and at_cap["spend_within_cap"] is True
        assert await alerts() == []
        await publish(broker.bootstrap_servers, over + over)
        found = await eventually(alerts)
        assert [a["kind"] for a in found] == ["PREVENTION_SPEND_ABOVE_CAP"]
        assert (await fund())["prevention_spent"] == "21000.01"


async def _when(get, ok):
    value = await get()
    return value if ok(value) else None


def test_spend_pace_share_of_the_year():
    assert rules.ratio_of_year(date(2026, 12, 31)) == 1
    assert rules.ratio_of_year(date(2028, 12, 31)) == 1
    assert rules.ratio_of_year(date(2026, 1, 1)) == Decimal(1) / Decimal(365)


async def test_evaluate_raises_spend_pace_and_uninsured_once_and_only_for_the_bureau_admin(sqlite_databases, broker, token_mint):
    from contracts.events.prevention import FundAccrued, FundSpent
    from tests.monitoring.test_coverage import registered

    insurer = f"OVS-{uuid.uuid4().hex[:8]}"
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-YJJ")

    def ev(payload):
        return build_cloudevent(payload, subject=f"funds/{payload.entry_id}", partition_key=insurer)

    on = date(2027, 7, 2)  # day 183 of 365: pace = 100,000 × 20% × 183/365 = 10,027.40
    events = [
        ev(FundAccrued(entry_id=f"{insurer}-A1", insurer=insurer, year=2027, collected_premium=Decimal("100000"), amount=Decimal("20000"))),
        ev(FundSpent(entry_id=f"{insurer}-S1", insurer=insurer, year=2027, category="TRAINING", amount=Decimal("10027"))),
        registered(4711, True),
    ]
    url = await sqlite_databases.create("monitoring")
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(timeout=20) as client,
    ):
        await publish(broker.bootstrap_servers, events)

        async def loaded():
            fund = (await client.get(f"{hub.url}/oversight/insurers/{insurer}", params={"year": 2027}, headers=admin)).json()["prevention_fund"]
            return fund["prevention_spent"] == "10027.00"

        await eventually(loaded)
        for role in (Role.FINANCE_REGULATOR, Role.BUREAU):
            refused = await client.post(f"{hub.url}/oversight/alerts/evaluate", params={"on": on.isoformat()}, headers=token_mint.headers(role, "X"))
            assert refused.status_code == 403
        first = (await client.post(f"{hub.url}/oversight/alerts/evaluate", params={"on": on.isoformat()}, headers=admin)).json()
        assert f"PREVENTION_SPEND_BELOW_PACE:{insurer}" in first["raised"]
        assert f"MANDATORY_UNINSURED:{credit_code(4711)}" in first["raised"]
        again = (await client.post(f"{hub.url}/oversight/alerts/evaluate", params={"on": on.isoformat()}, headers=admin)).json()
        assert again["raised"] == []
        # One day earlier the pace is 182/365 × 20,000 = 9,972.60: 10,027 is on pace.
        assert rules.year_limits(2027).spend_target * Decimal("100000") * rules.ratio_of_year(date(2027, 7, 1)) < Decimal("10027")
