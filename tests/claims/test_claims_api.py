"""The claims service over real HTTP: reports, fast-track clock, victims, limits, payments, isolation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from services.claims.models import Claim
from tests.support.factories import credit_code
from tests.claims.claims_support import T_REPORT, Clock, claims_service, policy_cancelled, policy_endorsed, policy_issued, report_body, resident_id, seed

A = Role.INSURER


async def _claims_client(dbs, token_mint):
    url = await dbs.create("claims")
    await seed(url, policy_issued(1), policy_issued(2, insurer="INS-B"), policy_issued(3, per_person=Decimal(400000), roster=1))
    clock = Clock()
    async with claims_service(url, token_mint, clock=clock) as client:
        client.clock, client.database_url = clock, url
        client.headers.update(token_mint.headers(A, "INS-A"))
        yield client


@pytest.fixture
async def claims(sqlite_databases, token_mint):
    async for client in _claims_client(sqlite_databases, token_mint):
        yield client


@pytest.fixture
async def claims_both(databases, token_mint):
    """SQLite and PostgreSQL: for the tests whose money and locking must behave the same on both."""
    async for client in _claims_client(databases, token_mint):
        yield client


async def _report(client, **kw) -> dict:
    response = await client.post("/claims", json=report_body(**kw))
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize(("deaths", "opened", "grade"), [(1, False, "GENERAL"), (2, True, "GENERAL"), (3, True, "LARGER")])
async def test_fast_track_opens_at_two_deaths_and_grade_follows_order_493(claims, deaths, opened, grade):
    claim = await _report(claims, deaths=deaths)
    assert claim["grade"] == grade
    assert claim["fast_track"]["opened"] is opened
    if opened:
        assert claim["fast_track"]["deadline"].startswith("2026-06-03T02:00:00")


async def test_major_social_impact_opens_the_fast_track_without_deaths(claims):
    assert (await _report(claims, major_social_impact=True))["fast_track"]["opened"] is True


@pytest.mark.parametrize(
    ("after", "met"),
    [(timedelta(hours=47, minutes=59, seconds=59), True), (timedelta(hours=48), True), (timedelta(hours=48, seconds=1), False)],
)
async def test_a_prepayment_meets_the_clock_up_to_exactly_48_hours(claims, after, met):
    claim = await _report(claims, deaths=2)
    victim = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(1), "name": "员工1", "relation": "employee", "outcome": "death"})
    assert victim.status_code == 201, victim.text
    claims.clock.now = T_REPORT + after
    paid = await claims.post(f"/claims/{claim['claim_id']}/prepayments", json={"amount": "100000"})
    assert paid.status_code == 201, paid.text
    shown = (await claims.get(f"/claims/{claim['claim_id']}")).json()["fast_track"]
    assert shown["met"] is met
    assert shown["overdue"] is (not met)


async def test_claim_against_a_lapsed_cancelled_or_unstarted_policy_is_refused(claims):
    claims.clock.now = T_REPORT + timedelta(days=400)
    for occurred in ("2027-01-01T00:00:00+08:00", "2025-12-31T23:59:59+08:00"):
        response = await claims.post("/claims", json=report_body(occurred_at=occurred))
        assert response.status_code == 422
        assert response.json()["errors"][0]["rule"] == "claim.no_policy_in_force"
    await seed(claims.database_url, policy_cancelled(1, date(2026, 5, 1)))
    response = await claims.post("/claims", json=report_body())
    assert response.json()["errors"][0]["rule"] == "claim.no_policy_in_force"


@pytest.mark.parametrize(("grade", "status", "payable"), [(1, 201, "400000.00"), (10, 201, "40000.00"), (0, 422, None), (11, 422, None)])
async def test_disability_grade_table_edges(claims, grade, status, payable):
    claim = await _report(claims)
    response = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(2), "name": "员工2", "relation": "employee", "outcome": "disability", "disability_grade": grade})
    assert response.status_code == status, response.text
    if payable:
        assert response.json()["payable"] == payable
        assert any("× 1.00" in s or "× 0.10" in s for s in response.json()["steps"])
    else:
        assert response.json()["errors"][0]["rule"] == "victim.disability_grade_out_of_range"


@pytest.mark.parametrize(("costs", "paid"), [("119999.99", "119999.99"), ("120000.00", "120000.00"), ("120000.01", "120000.00")])
async def test_medical_costs_up_to_the_medical_sub_limit(claims, costs, paid):
    claim = await _report(claims)
    response = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(1), "name": "员工1", "relation": "employee", "outcome": "injury", "medical_costs": costs})
    assert response.json()["payable"] == paid


async def test_an_uninsured_employee_is_refused_and_a_third_party_is_covered(claims):
    claim = await _report(claims)
    stranger = resident_id(99)
    refused = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": stranger, "name": "路人", "relation": "employee", "outcome": "death"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["rule"] == "victim.uninsured_employee"
    covered = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": stranger, "name": "路人", "relation": "third_party", "outcome": "death"})
    assert covered.status_code == 201
    assert covered.json()["payable"] == "400000.00"
    twice = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": stranger, "name": "路人", "relation": "third_party", "outcome": "death"})
    assert twice.status_code == 409 and twice.json()["errors"][0]["rule"] == "victim.already_recorded"


@pytest.mark.parametrize(("number", "rule"), [("110101199002300014", "resident_id.birth_date"), ("11010519491231002Y", "resident_id.format"), ("110105194912310021", "resident_id.check_character")])
async def test_a_victim_id_number_is_validated(claims, number, rule):
    claim = await _report(claims)
    response = await claims.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": number, "name": "x", "relation": "third_party", "outcome": "death"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == rule


async def test_limits_exhausted_across_victims_of_a_one_person_policy(claims_both):
    claim = await _report(claims_both, n=3)  # aggregate = 400,000 × 1
    first = await claims_both.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(1), "name": "员工1", "relation": "employee", "outcome": "disability", "disability_grade": 5})
    assert first.json()["payable"] == "240000.00"
    second = await claims_both.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(50), "name": "路人", "relation": "third_party", "outcome": "death"})
    body = second.json()
    assert body["payable"] == "160000.00" and body["limits_exhausted"] is True
    third = await claims_both.post(f"/claims/{claim['claim_id']}/victims", json={
        "resident_id": resident_id(51), "name": "路人2", "relation": "third_party", "outcome": "death"})
    assert third.json()["payable"] == "0.00"
    assert (await claims_both.get(f"/claims/{claim['claim_id']}")).json()["assessed_total"] == "400000.00"


async def test_prepayment_cannot_exceed_the_assessed_amount_then_settle_close_reopen(claims_both):
    claim = await _report(claims_both)
    cid = claim["claim_id"]
    too_early = await claims_both.post(f"/claims/{cid}/prepayments", json={"amount": "1"})
    assert too_early.json()["errors"][0]["rule"] == "prepayment.exceeds_assessed"
    await claims_both.post(f"/claims/{cid}/victims", json={"resident_id": resident_id(1), "name": "员工1", "relation": "employee", "outcome": "death"})
    assert (await claims_both.post(f"/claims/{cid}/prepayments", json={"amount": "400000.01"})).status_code == 422
    assert (await claims_both.post(f"/claims/{cid}/prepayments", json={"amount": "150000"})).status_code == 201
    settled = (await claims_both.post(f"/claims/{cid}/settlement")).json()
    assert (settled["status"], settled["paid_total"]) == ("SETTLED", "400000.00")
    payments = (await claims_both.get(f"/claims/{cid}/payments")).json()
    assert [(p["kind"], p["amount"]) for p in payments] == [("PREPAYMENT", "150000.00"), ("SETTLEMENT", "250000.00")]
    assert (await claims_both.post(f"/claims/{cid}/close", json={"reason": "结案"})).json()["status"] == "CLOSED"
    assert (await claims_both.post(f"/claims/{cid}/close", json={})).status_code == 409
    assert (await claims_both.post(f"/claims/{cid}/reopen", json={"reason": "补充材料"})).json()["status"] == "OPEN"


async def test_casualty_figures_revised_within_the_window_regrade_and_open_the_fast_track(claims):
    claim = await _report(claims, deaths=1)
    revised = await claims.patch(f"/claims/{claim['claim_id']}", json={"deaths": 3, "serious_injuries": 0})
    assert revised.status_code == 200, revised.text
    assert (revised.json()["grade"], revised.json()["fast_track"]["opened"]) == ("LARGER", True)
    claims.clock.now = T_REPORT + timedelta(days=31)
    late = await claims.patch(f"/claims/{claim['claim_id']}", json={"deaths": 4})
    assert late.json()["errors"][0]["rule"] == "claim.revision_window_closed"


async def test_same_idempotency_key_returns_the_same_claim_once(claims):
    headers = {"Idempotency-Key": "report-1"}
    first = await claims.post("/claims", json=report_body(deaths=2), headers=headers)
    again = await claims.post("/claims", json=report_body(deaths=2), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["claim_id"] == again.json()["claim_id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    engine = create_async_engine(claims.database_url)
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Claim))).scalar_one() == 1
    await engine.dispose()


async def test_an_insurer_sees_only_its_own_claims(claims_both, token_mint):
    mine = await _report(claims_both)
    other = token_mint.headers(A, "INS-B")
    theirs = await claims_both.post("/claims", json=report_body(2, insurer="INS-B"), headers=other)
    assert theirs.status_code == 201
    assert [c["claim_id"] for c in (await claims_both.get("/claims")).json()["items"]] == [mine["claim_id"]]
    assert (await claims_both.get(f"/claims/{theirs.json()['claim_id']}")).status_code == 404
    assert (await claims_both.post(f"/claims/{mine['claim_id']}/prepayments", json={"amount": "1"}, headers=other)).status_code == 404
    # an insurer cannot report under another insurer's policy
    assert (await claims_both.post("/claims", json=report_body(2, insurer="INS-B"))).status_code == 422
    regulator = token_mint.headers(Role.EMERGENCY_ADMIN, "BJ")
    first = (await claims_both.get("/claims", params={"limit": 1}, headers=regulator)).json()
    second = (await claims_both.get("/claims", params={"limit": 1, "cursor": first["next_cursor"]}, headers=regulator)).json()
    assert {c["claim_id"] for c in first["items"] + second["items"]} == {mine["claim_id"], theirs.json()["claim_id"]}
    assert second["next_cursor"] is None


async def test_an_endorsement_adds_and_removes_people_on_the_roster_copy(claims):
    await seed(claims.database_url, policy_endorsed(1, added=[7], removed=[2]))
    claim = await _report(claims)
    victim = {"name": "x", "relation": "employee", "outcome": "injury", "medical_costs": "10"}
    added = await claims.post(f"/claims/{claim['claim_id']}/victims", json=victim | {"resident_id": resident_id(7)})
    assert added.status_code == 201, added.text
    removed = await claims.post(f"/claims/{claim['claim_id']}/victims", json=victim | {"resident_id": resident_id(2)})
    assert removed.json()["errors"][0]["rule"] == "victim.uninsured_employee"


async def test_rescue_and_legal_costs_stay_within_their_sub_limits(claims):
    claim = await _report(claims, n=3)  # aggregate 400,000: rescue 30% = 120,000, legal 5% = 20,000
    rescue = (await claims.post(f"/claims/{claim['claim_id']}/costs", json={"kind": "rescue", "amount": "130000"})).json()
    legal = (await claims.post(f"/claims/{claim['claim_id']}/costs", json={"kind": "legal", "amount": "20000"})).json()
    more_legal = (await claims.post(f"/claims/{claim['claim_id']}/costs", json={"kind": "legal", "amount": "1"})).json()
    assert (rescue["payable"], legal["payable"], more_legal["payable"]) == ("120000.00", "20000.00", "0.00")


async def test_an_idempotency_key_reused_with_another_body_is_refused(claims):
    headers = {"Idempotency-Key": "report-2"}
    assert (await claims.post("/claims", json=report_body(deaths=1), headers=headers)).status_code == 201
    reused = await claims.post("/claims", json=report_body(deaths=2), headers=headers)
    assert reused.status_code == 422 and reused.json()["errors"][0]["rule"] == "idempotency.key_reused"


@pytest.mark.parametrize(
    ("role", "report", "read"),
    [(Role.INSURER, 201, 200), (Role.EMERGENCY_ADMIN, 403, 200), (Role.FINANCE_REGULATOR, 403, 200), (Role.BUREAU, 403, 403), (Role.SERVICE_ORG, 403, 403)],
)
async def test_who_may_report_and_read_claims(claims, token_mint, role, report, read):
    headers = token_mint.headers(role, "INS-A")
    assert (await claims.post("/claims", json=report_body(), headers=headers)).status_code == report
    assert (await claims.get("/claims", headers=headers)).status_code == read


async def test_a_report_by_credit_code_finds_the_policy_in_force(claims):
    claim = await _report(claims, policy_no=None, credit_code=credit_code(1))
    assert claim["policy_no"] == "PL-INS-A-1"
    missing = await claims.post("/claims", json=report_body(policy_no=None))
    assert missing.json()["errors"][0]["rule"] == "claim.policy_required"
