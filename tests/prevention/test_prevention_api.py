"""The prevention service over real HTTP: institutions, records, the hazard ledger, the fund ledger, isolation.

Each rule at its boundary: 14 vs 15 staff (Yunnan), exit score 59.99 / 60, a marketing expense, the
21% cap at 2,099,999.99 / 2,100,000.00 / 2,100,000.01, carry-over across a year end (Beijing vs
national), every hazard transition that is not allowed, and the overdue clock on its deadline day.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from services.prevention import service
from services.prevention.models import Hazard, Institution, ServiceRecord, messaging
from tests.prevention.prevention_support import (
    Clock,
    institution_body,
    institution_code,
    policy_cancelled,
    policy_issued,
    premium,
    prevention_service,
    record_body,
    seed,
)
from tests.support.factories import credit_code

ORG = "ORG-1"


@pytest.fixture
async def prevention(sqlite_databases, token_mint):
    async for client in _client(sqlite_databases, token_mint, "national"):
        yield client


@pytest.fixture
async def prevention_both(databases, token_mint):
    """SQLite and PostgreSQL: for the money rules, which must hold the same on both."""
    async for client in _client(databases, token_mint, "national"):
        yield client


@pytest.fixture
async def yunnan(sqlite_databases, token_mint):
    async for client in _client(sqlite_databases, token_mint, "yunnan"):
        yield client


@pytest.fixture
async def beijing(sqlite_databases, token_mint):
    async for client in _client(sqlite_databases, token_mint, "beijing"):
        yield client


async def _client(dbs, mint, jurisdiction):
    url = await dbs.create("prevention")
    await seed(url, policy_issued(1), policy_issued(2, insurer="INS-B"), policy_issued(3))
    clock = Clock()
    async with prevention_service(url, mint, clock=clock, jurisdiction=jurisdiction) as client:
        client.clock, client.database_url = clock, url
        client.headers.update(mint.headers(Role.INSURER, "INS-A"))
        client.as_b = mint.headers(Role.INSURER, "INS-B")
        client.as_org = mint.headers(Role.SERVICE_ORG, ORG)
        client.as_admin = mint.headers(Role.EMERGENCY_ADMIN, "EMB")
        yield client


async def _count(url: str, table) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(table))).scalar_one()
    finally:
        await engine.dispose()


async def _entrusted(client, n: int = 1, staff: int = 20) -> str:
    """An institution registered by the service org and filed by insurer A."""
    created = await client.post("/institutions", json=institution_body(n, staff), headers=client.as_org)
    assert created.status_code == 201, created.text
    filed = await client.post(f"/institutions/{institution_code(n)}/filings", json={"filed_on": "2026-01-10"})
    assert filed.status_code == 201, filed.text
    return institution_code(n)


def _problem(response, status: int, rule: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["rule"] == rule, response.text
    if field is not None:
        assert error["field"].endswith(field), response.text
    assert error["message_zh"] and error["message_en"]
    return error


# --- institutions ----------------------------------------------------------------------------


@pytest.mark.parametrize(("staff", "meets"), [(14, False), (15, True), (16, True)])
async def test_yunnan_requires_fifteen_professional_staff_to_entrust_an_institution(yunnan, staff, meets):
    created = await yunnan.post("/institutions", json=institution_body(1, staff), headers=yunnan.as_org)
    assert created.status_code == 201, created.text
    assert created.json()["meets_requirements"] is meets and created.json()["min_professional_staff"] == 15
    filed = await yunnan.post(f"/institutions/{institution_code(1)}/filings", json={"filed_on": "2026-01-10"})
    if meets:
        assert filed.status_code == 201, filed.text
    else:
        _problem(filed, 422, "institution.staff_below_minimum", "professional_staff")


async def test_the_national_profile_sets_no_staff_minimum(prevention):
    created = await prevention.post("/institutions", json=institution_body(1, 0), headers=prevention.as_org)
    assert created.json()["meets_requirements"] is True and created.json()["min_professional_staff"] is None


@pytest.mark.parametrize(("score", "passed", "status"), [("59.99", False, "EXITED"), ("60", True, "ACTIVE"), ("60.01", True, "ACTIVE")])
async def test_an_evaluation_below_sixty_removes_the_institution(prevention, score, passed, status):
    code = await _entrusted(prevention)
    evaluated = await prevention.post(f"/institutions/{code}/evaluations", json={"year": 2026, "score": score, "evaluated_on": "2026-05-01"})
    assert evaluated.status_code == 201, evaluated.text
    assert evaluated.json()["passed"] is passed and evaluated.json()["institution_status"] == status
    recorded = await prevention.post("/service-records", json=record_body(1))
    if passed:
        assert recorded.status_code == 201, recorded.text
    else:
        _problem(recorded, 409, "institution.exited", "institution_code")
        _problem(await prevention.post(f"/institutions/{code}/filings", json={"filed_on": "2026-06-01"}, headers=prevention.as_b), 409, "institution.exited")


async def test_scores_above_the_scale_and_evaluations_by_an_insurer_that_did_not_file_are_refused(prevention):
    code = await _entrusted(prevention)
    _problem(await prevention.post(f"/institutions/{code}/evaluations", json={"year": 2026, "score": "100.01", "evaluated_on": "2026-05-01"}),
             422, "evaluation.score_above_scale", "score")
    refused = await prevention.post(f"/institutions/{code}/evaluations", json={"year": 2026, "score": "90", "evaluated_on": "2026-05-01"}, headers=prevention.as_b)
    _problem(refused, 403, "institution.not_filed")


async def test_a_dishonest_institution_takes_no_new_entrustment_and_records_nothing(prevention):
    code = await _entrusted(prevention)
    assert (await prevention.post(f"/institutions/{code}/dishonesty", json={"reason": "伪造服务记录", "listed_on": "2026-05-01"})).status_code == 403
    listed = await prevention.post(f"/institutions/{code}/dishonesty", json={"reason": "伪造服务记录", "listed_on": "2026-05-01"}, headers=prevention.as_admin)
    assert listed.status_code == 200 and listed.json()["dishonest"] is True
    _problem(await prevention.post(f"/institutions/{code}/filings", json={"filed_on": "2026-06-01"}, headers=prevention.as_b), 409, "institution.dishonest")
    _problem(await prevention.post("/service-records", json=record_body(1)), 409, "institution.dishonest")
    assert await _count(prevention.database_url, ServiceRecord.__table__) == 0


# --- service records -------------------------------------------------------------------------


async def test_a_record_needs_a_policy_of_that_insurer_in_force_on_the_day(prevention):
    await _entrusted(prevention)
    ok = await prevention.post("/service-records", json=record_body(1))
    assert ok.status_code == 201, ok.text
    assert ok.json()["staff"] == ["张工", "李工"] and ok.json()["cost"] == "3000.00"
    # Enterprise 2's policy is insurer B's: insurer A has no policy there.
    _problem(await prevention.post("/service-records", json=record_body(2, policy_no="PL-INS-B-2")), 422, "service.no_policy", "policy_no")
    _problem(await prevention.post("/service-records", json=record_body(1, performed_on="2027-01-01")), 422, "service.policy_not_in_force")
    await seed(prevention.database_url, policy_cancelled(3, effective=datetime(2026, 5, 1).date()))
    _problem(await prevention.post("/service-records", json=record_body(3, performed_on="2026-05-01")), 422, "service.policy_not_in_force")
    assert (await prevention.post("/service-records", json=record_body(3, performed_on="2026-04-30"))).status_code == 201


async def test_a_service_institution_records_for_the_insurer_that_filed_it_and_only_its_own_work(prevention, token_mint):
    await _entrusted(prevention)
    _problem(await prevention.post("/service-records", json=record_body(1), headers=prevention.as_org), 422, "service.insurer_required", "insurer")
    mine = await prevention.post("/service-records", json=record_body(1, insurer="INS-A"), headers=prevention.as_org)
    assert mine.status_code == 201, mine.text
    other_org = token_mint.headers(Role.SERVICE_ORG, "ORG-2")
    _problem(await prevention.post("/service-records", json=record_body(1, insurer="INS-A"), headers=other_org), 403, "tenant.other_institution")
    # Not filed by insurer B: no record for B's enterprise through this institution.
    _problem(await prevention.post("/service-records", json=record_body(2, policy_no="PL-INS-B-2", insurer="INS-B"), headers=prevention.as_org),
             409, "institution.not_filed")


async def test_bad_input_names_the_field_in_both_languages_and_changes_nothing(prevention):
    await _entrusted(prevention)
    bad = await prevention.post("/service-records", json=record_body(1, credit_code="91110108551385082A"))
    _problem(bad, 422, "identifier.credit_code_check", "credit_code")
    _problem(await prevention.post("/service-records", json=record_body(1, staff=[])), 422, "schema.too_short", "staff")
    _problem(await prevention.post("/institutions", json=institution_body(5) | {"professional_staff": -1}, headers=prevention.as_org), 422,
             "schema.greater_than_equal", "professional_staff")
    assert await _count(prevention.database_url, ServiceRecord.__table__) == 0
    assert await _count(prevention.database_url, Institution.__table__) == 1


# --- hazards ---------------------------------------------------------------------------------


async def _hazard(client, **extra) -> dict:
    body = {"credit_code": credit_code(1), "policy_no": "PL-INS-A-1", "level": "GENERAL", "description": "配电箱未接地",
            "found_on": "2026-05-20", "deadline": "2026-06-10"} | extra
    created = await client.post("/hazards", json=body)
    assert created.status_code == 201, created.text
    return created.json()


async def _move(client, hazard_id: str, status: str, **extra):
    return await client.post(f"/hazards/{hazard_id}/status", json={"status": status} | extra)


ALL = {"OPEN", "RECTIFYING", "RECTIFIED", "VERIFIED", "OVERDUE", "REFUSED"}
ALLOWED = {
    "OPEN": {"RECTIFYING", "REFUSED"},  # OVERDUE only after the deadline (tested below)
    "RECTIFYING": {"RECTIFIED", "REFUSED"},
    "RECTIFIED": {"VERIFIED", "RECTIFYING"},
    "VERIFIED": set(),
}
PATH = {"OPEN": [], "RECTIFYING": ["RECTIFYING"], "RECTIFIED": ["RECTIFYING", "RECTIFIED"], "VERIFIED": ["RECTIFYING", "RECTIFIED", "VERIFIED"]}


@pytest.mark.parametrize("start", sorted(ALLOWED))
async def test_every_transition_the_ledger_does_not_allow_is_refused(prevention, start):
    for target in sorted(ALL - ALLOWED[start] - {"OVERDUE"}):
        hazard = await _hazard(prevention)
        for step in PATH[start]:
            assert (await _move(prevention, hazard["hazard_id"], step, verified_by="王验收")).status_code == 200
        refused = await _move(prevention, hazard["hazard_id"], target, verified_by="王验收")
        _problem(refused, 409, "hazard.transition_not_allowed", "status")
        assert (await prevention.get(f"/hazards/{hazard['hazard_id']}")).json()["status"] == start


async def test_rectification_after_a_professional_inspection_counts_as_self_inspection_and_marks_follow_the_status(prevention):
    await _entrusted(prevention)
    record = (await prevention.post("/service-records", json=record_body(1))).json()
    found = await _hazard(prevention, record_id=record["record_id"])
    assert found["status"] == "OPEN" and found["enforcement_basis"] is False and found["counts_as_self_inspection"] is False
    rectifying = (await _move(prevention, found["hazard_id"], "RECTIFYING", evidence=["oss://photos/1.jpg"])).json()
    assert rectifying["enforcement_basis"] is False
    rectified = (await _move(prevention, found["hazard_id"], "RECTIFIED")).json()
    assert rectified["counts_as_self_inspection"] is True
    _problem(await _move(prevention, found["hazard_id"], "VERIFIED"), 422, "hazard.verifier_required", "verified_by")
    verified = (await _move(prevention, found["hazard_id"], "VERIFIED", verified_by="王验收")).json()
    assert verified["verified_by"] == "王验收" and verified["evidence"] == ["oss://photos/1.jpg"]
    # Found without a professional service: rectified, it is not the unit's self-inspection.
    plain = await _hazard(prevention)
    await _move(prevention, plain["hazard_id"], "RECTIFYING")
    assert (await _move(prevention, plain["hazard_id"], "RECTIFIED")).json()["counts_as_self_inspection"] is False
    _problem(await prevention.post("/hazards", json={"credit_code": credit_code(1), "level": "MAJOR", "description": "x",
                                                     "found_on": "2026-05-20", "deadline": "2026-05-19"}), 422, "hazard.deadline_before_found")


async def test_the_deadline_day_is_on_time_and_the_day_after_is_overdue(prevention):
    hazard = await _hazard(prevention, deadline="2026-06-10")
    prevention.clock.now = datetime(2026, 6, 10, 15, 59, tzinfo=UTC)  # 23:59 on the deadline day in Shanghai
    _problem(await _move(prevention, hazard["hazard_id"], "OVERDUE"), 409, "hazard.not_overdue")
    app = prevention.app
    assert await service.mark_overdue(app.state.sessionmaker, app.state.outbox, prevention.clock.now) == 0
    prevention.clock.now = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)  # 00:00 the day after
    assert await service.mark_overdue(app.state.sessionmaker, app.state.outbox, prevention.clock.now) == 1
    assert await service.mark_overdue(app.state.sessionmaker, app.state.outbox, prevention.clock.now) == 0  # once
    overdue = (await prevention.get(f"/hazards/{hazard['hazard_id']}")).json()
    assert overdue["status"] == "OVERDUE" and overdue["enforcement_basis"] is True
    assert (await _move(prevention, overdue["hazard_id"], "RECTIFIED")).status_code == 200  # late, still possible


async def test_the_hazard_export_carries_the_enforcement_mark_on_every_row(prevention):
    first = await _hazard(prevention, description="=HYPERLINK(\"http://x\")")
    second = await _hazard(prevention)
    await _move(prevention, second["hazard_id"], "REFUSED")
    exported = await prevention.get("/hazards.csv")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert "不作为执法依据" in rows[0][0] and rows[1][0].startswith("隐患编号")
    by_id = {row[0]: row for row in rows[2:]}
    assert by_id[first["hazard_id"]][9].startswith("整改中，不作为执法依据") and by_id[first["hazard_id"]][4].startswith("'=")
    assert by_id[second["hazard_id"]][9].startswith("可作为执法依据")


# --- the fund ledger -------------------------------------------------------------------------


async def test_collected_premium_accrues_twenty_percent_once_per_receipt_and_refunds_reverse_it(prevention):
    receipt = premium(1, "10000000.00")
    await seed(prevention.database_url, receipt, receipt, premium(1, "100000.00", refund=True))
    position = (await prevention.get("/fund/2026")).json()
    assert Decimal(position["collected_premium"]) == Decimal("9900000.00")
    assert Decimal(position["accrued"]) == Decimal("1980000.00")
    assert Decimal(position["cap_amount"]) == Decimal("2079000.00") and Decimal(position["target_amount"]) == Decimal("1980000.00")
    assert [e["kind"] for e in position["entries"]] == ["ACCRUAL", "ACCRUAL"]


@pytest.mark.parametrize("category", ["MARKETING", "BUSINESS_PROMOTION"])
async def test_marketing_and_business_promotion_are_refused(prevention, category):
    await seed(prevention.database_url, premium(1, "10000000.00"))
    error = _problem(await prevention.post("/fund/expenses", json={"year": 2026, "category": category, "amount": "100.00"}),
                     422, "prevention_fund.category_forbidden", "category")
    assert "第二十二条" in error["message_zh"] and "Art. 22" in error["message_en"]
    _problem(await prevention.post("/fund/expenses", json={"year": 2026, "category": "GIFTS", "amount": "100.00"}), 422, "prevention_fund.category_unknown")


async def test_spending_stops_at_twenty_one_percent_of_collected_premium(prevention_both):
    prevention = prevention_both
    await seed(prevention.database_url, premium(1, "10000000.00"))

    async def spend(amount: str):
        return await prevention.post("/fund/expenses", json={"year": 2026, "category": "HAZARD_INSPECTION", "amount": amount})

    assert (await spend("2099999.99")).status_code == 201  # just under the cap
    last = await spend("0.01")  # exactly at 2,100,000.00
    assert last.status_code == 201, last.text
    error = _problem(await spend("0.01"), 422, "prevention_fund.cap_exceeded", "amount")  # 2,100,000.01
    assert "2100000.00" in error["message_en"]
    reversed_ = await prevention.post(f"/fund/entries/{last.json()['entry_id']}/reversal", json={"reason": "重复记账"})
    assert reversed_.status_code == 201 and reversed_.json()["amount"] == "-0.01"
    _problem(await prevention.post(f"/fund/entries/{last.json()['entry_id']}/reversal", json={"reason": "again"}), 409, "prevention_fund.already_reversed")
    assert (await spend("0.01")).status_code == 201
    position = (await prevention.get("/fund/2026")).json()
    assert Decimal(position["spent"]) == Decimal("2100000.00") and Decimal(position["remaining"]) == 0
    assert Decimal(position["spend_ratio"]) == Decimal("0.21")
    # Append-only: four expense-side entries, nothing updated.
    assert [e["kind"] for e in position["entries"]].count("EXPENSE") == 3


async def test_beijing_carries_unused_target_money_into_the_next_year_and_national_does_not(beijing, prevention):
    for client, jurisdiction, carried in ((beijing, "beijing", "500000.00"), (prevention, "national", "0.00")):
        await seed(client.database_url, premium(1, "10000000.00", jurisdiction=jurisdiction))
        assert (await client.post("/fund/expenses", json={"year": 2026, "category": "SAFETY_TRAINING", "amount": "1500000.00"})).status_code == 201
        client.clock.now = datetime(2026, 12, 31, 15, 59, tzinfo=UTC)  # 23:59 on 31 December in Shanghai
        _problem(await client.post("/fund/2026/close"), 409, "prevention_fund.year_not_over", "year")
        client.clock.now = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 on 1 January
        closed = await client.post("/fund/2026/close")
        assert closed.status_code == 201 and closed.json()["carried_over"] == carried, (jurisdiction, closed.text)
        _problem(await client.post("/fund/2026/close"), 409, "prevention_fund.year_closed")
        _problem(await client.post("/fund/expenses", json={"year": 2026, "category": "SAFETY_TRAINING", "amount": "1.00"}), 409,
                 "prevention_fund.year_closed")
        following = (await client.get("/fund/2027")).json()
        assert following["carried_in"] == carried
        # Beijing: carried money comes on top of the next year's cap (it was inside its own year's cap).
        assert Decimal(following["spending_limit"]) == Decimal(carried)
        assert (await client.get("/fund/2026")).json()["closed"] is True


async def test_the_compliance_view_projects_the_year_end_from_the_pace_so_far(prevention):
    await seed(prevention.database_url, premium(1, "10000000.00"))
    await prevention.post("/fund/expenses", json={"year": 2026, "category": "RISK_ASSESSMENT", "amount": "500000.00"})
    prevention.clock.now = datetime(2026, 7, 2, 4, 0, tzinfo=UTC)  # day 183 of 365
    position = (await prevention.get("/fund/2026")).json()
    assert Decimal(position["elapsed_share"]) == Decimal("0.5014")
    assert Decimal(position["projected_spent"]) == (Decimal("500000") / Decimal("0.5014")).quantize(Decimal("0.01"))
    assert Decimal(position["projected_ratio"]) < Decimal(position["target_ratio"])


# --- isolation -------------------------------------------------------------------------------


async def test_insurer_b_neither_sees_nor_changes_insurer_a_records_hazards_or_fund(prevention_both):
    prevention = prevention_both
    await _entrusted(prevention)
    await seed(prevention.database_url, premium(1, "1000000.00"))
    record = (await prevention.post("/service-records", json=record_body(1))).json()
    hazard = await _hazard(prevention)
    b = prevention.as_b
    assert (await prevention.get("/service-records", headers=b)).json()["items"] == []
    assert (await prevention.get("/hazards", headers=b)).json()["items"] == []
    assert (await prevention.get(f"/hazards/{hazard['hazard_id']}", headers=b)).status_code == 404
    assert (await _move_as(prevention, hazard["hazard_id"], "RECTIFYING", b)).status_code == 404
    _problem(await prevention.get("/fund/2026", params={"insurer": "INS-A"}, headers=b), 403, "tenant.other_insurer")
    assert Decimal((await prevention.get("/fund/2026", headers=b)).json()["accrued"]) == 0
    _problem(await prevention.post("/fund/expenses", json={"year": 2026, "category": "HAZARD_INSPECTION", "amount": "1.00",
                                                           "record_id": record["record_id"]}, headers=b), 422, "prevention_fund.record_unknown")
    # Regulators see everything, naming the insurer for the fund.
    admin = prevention.as_admin
    assert len((await prevention.get("/service-records", headers=admin)).json()["items"]) == 1
    _problem(await prevention.get("/fund/2026", headers=admin), 422, "prevention_fund.insurer_required")
    assert Decimal((await prevention.get("/fund/2026", params={"insurer": "INS-A"}, headers=admin)).json()["accrued"]) == Decimal("200000.00")
    assert (await prevention.post("/fund/expenses", json={"year": 2026, "category": "HAZARD_INSPECTION", "amount": "1.00"}, headers=admin)).status_code == 403
    assert await _count(prevention.database_url, Hazard.__table__) == 1


async def _move_as(client, hazard_id, status, headers):
    return await client.post(f"/hazards/{hazard_id}/status", json={"status": status}, headers=headers)


async def test_each_change_writes_its_event_in_the_same_transaction(prevention):
    await _entrusted(prevention)
    await prevention.post("/service-records", json=record_body(1))
    hazard = await _hazard(prevention)
    await _move(prevention, hazard["hazard_id"], "RECTIFYING")
    engine = create_async_engine(prevention.database_url)
    try:
        async with engine.connect() as conn:
            types = [t for (t,) in await conn.execute(select(messaging.outbox.c.event_type).order_by(messaging.outbox.c.id))]
    finally:
        await engine.dispose()
    assert [t.split(".")[3:5] for t in types] == [
        ["institution", "registered"], ["institution", "filed"], ["service", "recorded"], ["hazard", "found"],
        ["hazard", "status_changed"], ["hazard", "status_changed"],
    ]

