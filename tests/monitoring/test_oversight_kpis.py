"""Insurer KPIs from every service's events, the quarterly report, and the same figures after a replay.

Events go through the hub's own handlers (what its consumer runs, minus Kafka): premium collected
and refunded across two quarters, an accident reported twice (a casualty revision), payments,
fast-track channels opened and one missed, hazards found and rectified then verified (counted
once), an institution evaluation.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from contracts.enums import Role
from contracts.events.claims import AccidentReported, ClaimPrepaid, FastTrackOpened, FastTrackOverdue
from contracts.events.envelope import build_cloudevent
from contracts.events.policy import PremiumCollected, PremiumRefunded
from contracts.events.prevention import HazardFound, HazardStatusChanged, InstitutionEvaluated
from devstack.broker import free_port
from kernel.database import create_engine, create_sessionmaker
from services.monitoring.consumers import HANDLERS
from tests.conftest import running_service
from tests.support.factories import credit_code

INSURER = "INS-KPI"
T = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)


def _event(payload) -> dict:
    return build_cloudevent(payload, subject="kpi", partition_key=credit_code(1), time=T)


def _events() -> list[dict]:
    code = credit_code(1)
    money = {"insurer": INSURER, "credit_code": code, "jurisdiction": "national", "collected_premium": Decimal(0), "written_premium": Decimal(0)}
    accident = {"accident_id": "AC-1", "credit_code": code, "policy_no": "P-1", "occurred_at": T, "deaths": 2, "insurer": INSURER, "reported_at": T}
    return [
        _event(PremiumCollected(policy_no="P-1", receipt_no="R-1", amount=Decimal("10000.00"), received_on=date(2026, 1, 5), **money)),
        _event(PremiumCollected(policy_no="P-2", receipt_no="R-2", amount=Decimal("5000.00"), received_on=date(2026, 4, 5), **money)),
        _event(PremiumRefunded(policy_no="P-2", receipt_no="RF-1", amount=Decimal("1000.00"), received_on=date(2026, 5, 5), **money)),
        _event(AccidentReported(grade="GENERAL", **accident)),
        _event(AccidentReported(grade="LARGER", **accident | {"deaths": 3})),  # the figures revised: still one accident
        _event(FastTrackOpened(claim_id="C-1", credit_code=code, policy_no="P-1", insurer=INSURER, reported_at=T, deadline=T, reason="deaths")),
        _event(FastTrackOpened(claim_id="C-2", credit_code=code, policy_no="P-1", insurer=INSURER, reported_at=T, deadline=T, reason="deaths")),
        _event(FastTrackOverdue(claim_id="C-2", credit_code=code, policy_no="P-1", insurer=INSURER, reported_at=T, deadline=T, detected_at=T)),
        _event(ClaimPrepaid(claim_id="C-1", credit_code=code, insurer=INSURER, payment_id="PAY-1", amount=Decimal("200000.00"), paid_at=T,
                            paid_total=Decimal("200000.00"), fast_track_met=True)),
        _event(HazardFound(hazard_id="HZ-1", credit_code=code, insurer=INSURER, level="GENERAL", description="x", found_on=date(2026, 2, 1),
                           deadline=date(2026, 3, 1))),
        _event(HazardFound(hazard_id="HZ-2", credit_code=code, insurer=INSURER, level="MAJOR", description="y", found_on=date(2026, 2, 2),
                           deadline=date(2026, 3, 1))),
        _event(HazardStatusChanged(hazard_id="HZ-1", credit_code=code, status="RECTIFIED", changed_at=T, insurer=INSURER)),
        _event(HazardStatusChanged(hazard_id="HZ-1", credit_code=code, status="VERIFIED", changed_at=T, insurer=INSURER)),
        _event(InstitutionEvaluated(institution_code=credit_code(99), insurer=INSURER, year=2026, score=Decimal(80), exit_score=Decimal(60),
                                    passed=True, evaluated_on=date(2026, 3, 1))),
    ]


async def _apply(url: str, events: list[dict]) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for envelope in events:
                await HANDLERS[envelope["type"]](session, envelope)
    finally:
        await engine.dispose()


async def test_kpis_count_each_fact_once_by_quarter_and_the_quarterly_report_lists_the_alerts(sqlite_databases, token_mint):
    url = await sqlite_databases.create("monitoring")
    events = _events()
    await _apply(url, events)
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "EMB")
    async with running_service("monitoring", url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False,
                               run_push_delivery=False) as hub, httpx.AsyncClient(base_url=hub.url, headers=admin) as client:
        year = {r["insurer"]: r for r in (await client.get("/oversight/insurers", params={"year": 2026})).json()}[INSURER]
        assert year["collected_premium"] == "14000.00"  # 10,000 + 5,000 − 1,000
        assert year["claims_reported"] == 1 and year["claims_paid"] == "200000.00"
        assert (year["fast_track_opened"], year["fast_track_missed"], year["fast_track_met"]) == (2, 1, 1)
        assert (year["hazards_found"], year["hazards_rectified"], year["institution_evaluations"]) == (2, 1, 1)
        q2 = {r["insurer"]: r for r in (await client.get("/oversight/insurers", params={"year": 2026, "quarter": 2})).json()}[INSURER]
        assert q2["collected_premium"] == "4000.00" and q2["claims_reported"] == 0

        report = (await client.get(f"/oversight/reports/{INSURER}/2026/Q1")).json()
        assert report["period"] == "2026-Q1" and report["kpis"]["collected_premium"] == "10000.00"
        assert [a["kind"] for a in report["alerts"]] == ["FAST_TRACK_MISSED"]
        assert (await client.get(f"/oversight/reports/{INSURER}/2026/Q2")).json()["alerts"] == []
        assert (await client.get(f"/oversight/reports/{INSURER}/2026/Q5")).status_code == 422
        bureau = token_mint.headers(Role.BUREAU, "B", industries=("CONSTRUCTION",))
        assert (await client.get(f"/oversight/reports/{INSURER}/2026/Q1", headers=bureau)).status_code == 403

        # The same facts delivered again under new event ids (a producer's retry): the same figures.
        await _apply(url, [e | {"id": uuid.uuid4().hex} for e in events])
        again = {r["insurer"]: r for r in (await client.get("/oversight/insurers", params={"year": 2026})).json()}[INSURER]
        assert again == year

    # Rebuilt from the same events into a fresh database: the same figures.
    rebuilt = await sqlite_databases.create("monitoring")
    await _apply(rebuilt, events)
    async with running_service("monitoring", rebuilt, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False,
                               run_push_delivery=False) as hub, httpx.AsyncClient(base_url=hub.url, headers=admin) as client:
        assert {r["insurer"]: r for r in (await client.get("/oversight/insurers", params={"year": 2026})).json()}[INSURER] == year


async def test_a_year_no_profile_covers_is_refused_naming_the_field_and_the_rule(sqlite_databases, token_mint):
    """The Measures 2025 apply from 2025-03-29, so a fund year (its limits are those in force on 31 Dec) has them from 2025 on; 2024 has none: a 422, not a 500."""
    url = await sqlite_databases.create("monitoring")
    headers = token_mint.headers(Role.EMERGENCY_ADMIN, "EMB")
    async with running_service("monitoring", url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False,
                               run_push_delivery=False) as server, httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        for year, status, rule in [(1999, 422, None), (2024, 422, "oversight.no_profile_in_force"), (2025, 200, None), (2026, 200, None),
                                   (2100, 200, None), (2101, 422, None)]:
            for path in ("/oversight/insurers", f"/oversight/insurers/{INSURER}"):
                response = await client.get(path, params={"year": year}, headers=headers)
                assert response.status_code == status, (path, year, response.text)
                if status == 422:
                    error = response.json()["errors"][0]
                    assert error["field"].endswith("year") and error["message_zh"] and error["message_en"], response.text
                    assert rule is None or error["rule"] == rule
        for day, status in [("2024-12-31", 422), ("2025-01-01", 200), ("1186-02-10", 422)]:
            response = await client.post("/oversight/alerts/evaluate", params={"on": day}, headers=headers)
            assert response.status_code == status, (day, response.text)
