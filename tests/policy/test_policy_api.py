"""The policy lifecycle over real HTTP against one running policy service (SQLite, real broker) per module.

Each test uses enterprises of its own, so the tests share the service without sharing data.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from contracts.events.claims import AccidentReported
from contracts.events.envelope import build_cloudevent, serialize
from contracts.events.prevention import HazardStatusChanged
from devstack.broker import EmbeddedBroker, free_port
from services.policy.models import AccidentExperience, HazardExperience
from tests.conftest import Databases, running_service
from tests.policy.policy_support import employee, enterprise_with_roster, issued_policy, outbox_events, quote_body, roster
from tests.support.factories import enterprise_body, eventually


@pytest.fixture(scope="module")
async def policy(tmp_path_factory, token_mint):
    directory = tmp_path_factory.mktemp("policy-api")
    broker = EmbeddedBroker(port=free_port(), log_path=directory / "tansu.log").start()
    try:
        url = await Databases("sqlite", directory).create("policy")
        async with running_service("policy", url, broker.bootstrap_servers, token_mint) as server, httpx.AsyncClient(
            base_url=server.url, timeout=15
        ) as client:
            client.database_url = url
            client.bootstrap = broker.bootstrap_servers
            client.server = server
            yield client
    finally:
        broker.stop()


def insurer(mint, tenant="INS-A", **kw):
    return mint.headers(Role.INSURER, tenant, **kw)


def first_error(response: httpx.Response) -> dict:
    return response.json()["errors"][0]


# --- enterprises and rosters ---------------------------------------------------------------


async def test_an_enterprise_change_publishes_its_new_revision_and_only_its_insurer_may_change_it(policy, token_mint):
    body = enterprise_body(101)
    assert (await policy.post("/enterprises", json=body, headers=insurer(token_mint))).status_code == 201
    change = {k: v for k, v in body.items() if k != "credit_code"} | {"headcount": 80, "violation_record": "ADMINISTRATIVE_PENALTY"}
    stranger = await policy.put(f"/enterprises/{body['credit_code']}", json=change, headers=insurer(token_mint, "INS-B"))
    assert stranger.status_code == 403 and first_error(stranger)["rule"] == "enterprise.not_your_client"
    changed = await policy.put(f"/enterprises/{body['credit_code']}", json=change, headers=insurer(token_mint))
    assert changed.status_code == 200 and changed.json()["revision"] == 2 and changed.json()["violation_record"] == "ADMINISTRATIVE_PENALTY"
    events = await outbox_events(policy.database_url, body["credit_code"])
    assert [e["data"]["revision"] for e in events] == [1, 2]
    assert events[1]["data"]["changed_fields"] == ["headcount", "violation_record"]


async def test_a_roster_with_a_temporary_worker_insured_for_less_is_refused(policy, token_mint):
    body = enterprise_body(102)
    await policy.post("/enterprises", json=body, headers=insurer(token_mint))
    members = [employee(1), employee(2, amount="300000", employment_type="TEMPORARY")]
    response = await policy.put(f"/enterprises/{body['credit_code']}/roster", json={"members": members}, headers=insurer(token_mint))
    assert response.status_code == 422
    assert first_error(response) | {"message_zh": "", "message_en": ""} == {
        "field": "members.1.insured_amount", "rule": "roster.uniform_insured_amount", "message_zh": "", "message_en": ""
    }
    assert "临时" in first_error(response)["message_zh"]
    ok = await policy.put(f"/enterprises/{body['credit_code']}/roster", json=roster(3), headers=insurer(token_mint))
    assert ok.status_code == 200 and ok.json()["by_employment_type"] == {"REGULAR": 1, "TEMPORARY": 1, "DISPATCHED": 1}


@pytest.mark.parametrize(
    ("number", "rule"),
    [("110105199001010011", "identifier.resident_id_check"), ("110101199002300014", "identifier.resident_id_birth_date")],
)
async def test_a_wrong_resident_id_check_digit_or_an_impossible_birth_date_is_refused(policy, token_mint, number, rule):
    body = enterprise_body(103 if "check" in rule else 104)
    await policy.post("/enterprises", json=body, headers=insurer(token_mint))
    members = [employee(1), employee(2) | {"resident_id": number}]
    response = await policy.put(f"/enterprises/{body['credit_code']}/roster", json={"members": members}, headers=insurer(token_mint))
    assert response.status_code == 422
    assert (first_error(response)["field"], first_error(response)["rule"]) == ("members.1.resident_id", rule)


async def test_a_wrong_credit_code_is_refused_on_a_quote(policy, token_mint):
    response = await policy.post("/quotes", json=quote_body("91350100M000100Y4A"), headers=insurer(token_mint))
    assert response.status_code == 422 and first_error(response)["rule"] == "identifier.credit_code_check"


# --- quotes --------------------------------------------------------------------------------


async def test_a_quote_shows_the_whole_breakdown(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 110)
    response = await policy.post("/quotes", json=quote_body(code), headers=insurer(token_mint))
    assert response.status_code == 201, response.text
    quote = response.json()
    breakdown = quote["breakdown"]
    assert D(quote["premium"]) == D("51300.00") and quote["headcount"] == 100
    assert breakdown["base_premium_per_person"] == "600.00" and D(breakdown["factor_product"]) == D("0.855")
    assert {f["factor"]: f["option"] for f in breakdown["factors"]} == {
        "ACCIDENT_RECORD": "NO_ACCIDENT", "SAFETY_STANDARDIZATION": "LEVEL_2", "VIOLATION_DISHONESTY": "NONE", "HAZARD_RECTIFICATION": "COOPERATIVE"
    }
    assert breakdown["profile"]["jurisdiction"] == "national" and quote["profile_version"] == breakdown["profile"]["version"]
    assert D(breakdown["minimum_limit"]["minimum"]) == D("400000") and breakdown["max_commission"] == "2565.00"
    assert breakdown["sub_limits"]["aggregate"] == "40000000.00" and breakdown["sub_limits"]["employee_medical_per_person"] == "120000.00"


async def test_a_per_person_limit_below_the_minimum_is_refused_with_the_breakdown(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 111, size=3, amount="399999.99")
    response = await policy.post("/quotes", json=quote_body(code, limit="399999.99"), headers=insurer(token_mint))
    assert response.status_code == 422
    assert (first_error(response)["field"], first_error(response)["rule"]) == ("per_person_limit", "limit.below_minimum")
    assert D(response.json()["minimum_breakdown"]["minimum"]) == D("400000")


async def test_commission_at_five_percent_is_accepted_and_a_fen_more_refused(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 112)
    at_cap = await policy.post("/quotes", json=quote_body(code, commission="2565.00"), headers=insurer(token_mint))
    assert at_cap.status_code == 201 and at_cap.json()["commission"] == "2565.00"
    over = await policy.post("/quotes", json=quote_body(code, commission="2565.01"), headers=insurer(token_mint))
    assert over.status_code == 422 and first_error(over)["rule"] == "commission.above_cap"
    assert over.json()["max_commission"] == "2565.00"


async def test_a_period_beyond_one_year_is_refused(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 113, size=2)
    response = await policy.post("/quotes", json=quote_body(code, end="2028-01-01"), headers=insurer(token_mint))
    assert response.status_code == 422 and first_error(response)["rule"] == "policy.period_too_long"


# --- policies ------------------------------------------------------------------------------


async def test_an_insurer_cannot_see_or_touch_another_insurers_quotes_and_policies(policy, token_mint):
    issued = await issued_policy(policy, token_mint, 120, size=3)
    other = insurer(token_mint, "INS-B")
    no = issued["policy_no"]
    assert (await policy.get(f"/policies/{no}", headers=other)).status_code == 404
    assert (await policy.get(f"/quotes/{issued['quote_id']}", headers=other)).status_code == 404
    assert (await policy.post("/policies", json={"quote_id": issued["quote_id"]}, headers=other)).status_code == 404
    endorse = await policy.post(f"/policies/{no}/endorsements", json={"effective_date": "2027-06-01", "remove": [issued and employee(0)["resident_id"]]}, headers=other)
    assert endorse.status_code == 404 and first_error(endorse)["rule"] == "policy.not_found"
    cancel = await policy.post(f"/policies/{no}/cancellation", json={"reason": "closed_by_law", "effective_date": "2027-06-01"}, headers=other)
    assert cancel.status_code == 404
    assert no not in {p["policy_no"] for p in (await policy.get("/policies", headers=other)).json()["items"]}
    assert no in {p["policy_no"] for p in (await policy.get("/policies", headers=insurer(token_mint))).json()["items"]}
    regulator = token_mint.headers(Role.FINANCE_REGULATOR, "NFRA-BJ")
    assert (await policy.get(f"/policies/{no}", headers=regulator)).status_code == 200
    assert (await policy.get("/policies", headers=token_mint.headers(Role.BUREAU, "ZJW"))).status_code == 403


async def test_a_quote_becomes_one_policy_only(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 121, size=2)
    quote = (await policy.post("/quotes", json=quote_body(code), headers=insurer(token_mint))).json()
    assert (await policy.post("/policies", json={"quote_id": quote["quote_id"]}, headers=insurer(token_mint))).status_code == 201
    again = await policy.post("/policies", json={"quote_id": quote["quote_id"]}, headers=insurer(token_mint))
    assert again.status_code == 409 and first_error(again)["rule"] == "quote.already_used"


async def test_endorsement_premium_receipts_and_cancellation_with_worked_numbers(policy, token_mint):
    issued = await issued_policy(policy, token_mint, 122)
    no, headers = issued["policy_no"], insurer(token_mint)
    assert D(issued["written_premium"]) == D("51300.00") and issued["sub_limits"]["aggregate"] == "40000000.00"
    # 51,300 ÷ 100 × 2 × 73/365 (20 Oct–31 Dec) = 205.20
    added = await policy.post(
        f"/policies/{no}/endorsements",
        json={"effective_date": "2027-10-20", "add": [employee(500, employment_type="DISPATCHED"), employee(501, employment_type="TEMPORARY")]},
        headers=headers,
    )
    assert added.status_code == 201, added.text
    assert (D(added.json()["premium_change"]), D(added.json()["written_premium"]), added.json()["headcount"]) == (D("205.20"), D("51505.20"), 102)
    cheaper = await policy.post(
        f"/policies/{no}/endorsements", json={"effective_date": "2027-10-20", "add": [employee(502, amount="200000", employment_type="TEMPORARY")]}, headers=headers
    )
    assert cheaper.status_code == 422 and (first_error(cheaper)["field"], first_error(cheaper)["rule"]) == ("add.0.insured_amount", "roster.uniform_insured_amount")
    # collected premium 实收保费 may reach the written premium, not a fen more
    paid = await policy.post(f"/policies/{no}/premium-receipts", json={"amount": "51505.20", "received_on": "2027-01-05"}, headers=headers)
    assert paid.status_code == 201 and D(paid.json()["collected_premium"]) == D("51505.20")
    more = await policy.post(f"/policies/{no}/premium-receipts", json={"amount": "0.01", "received_on": "2027-01-06"}, headers=headers)
    assert more.status_code == 422 and first_error(more)["rule"] == "premium.collected_exceeds_written"
    # a unit that must insure may not simply surrender
    refused = await policy.post(f"/policies/{no}/cancellation", json={"reason": "voluntary_surrender", "effective_date": "2027-11-01"}, headers=headers)
    assert refused.status_code == 422 and first_error(refused)["rule"] == "cancellation.reason_not_allowed"
    # stopped from 1 Dec: 51,505.20 × 31/365 = 1,596,661.2/365 = 4,374.414… → 4,374.41 refunded
    cancelled = await policy.post(f"/policies/{no}/cancellation", json={"reason": "stopped_business", "effective_date": "2027-12-01"}, headers=headers)
    assert cancelled.status_code == 201, cancelled.text
    assert (D(cancelled.json()["premium_refund"]), D(cancelled.json()["earned_premium"])) == (D("4374.41"), D("47130.79"))
    refund = await policy.post(f"/policies/{no}/premium-receipts", json={"kind": "REFUND", "amount": "4374.41", "received_on": "2027-12-03"}, headers=headers)
    assert refund.status_code == 201 and D(refund.json()["collected_premium"]) == D("47130.79")
    assert (await policy.post(f"/policies/{no}/endorsements", json={"effective_date": "2027-12-10", "remove": [employee(1)["resident_id"]]}, headers=headers)).status_code == 409
    types = [e["type"].removeprefix("cn.anzexian.policy.") for e in await outbox_events(policy.database_url, issued["credit_code"])]
    assert types == ["enterprise.registered.v1", "issued.v1", "endorsed.v1", "premium.collected.v1", "cancelled.v1", "premium.refunded.v1"]


async def test_verification_tells_an_inspector_whether_the_enterprise_is_insured_on_a_day(policy, token_mint):
    issued = await issued_policy(policy, token_mint, 123, size=2)
    code = issued["credit_code"]
    bureau = token_mint.headers(Role.BUREAU, "ZJW", industries=("CONSTRUCTION",))
    covered = (await policy.get(f"/verification/{code}", params={"on": "2027-06-30"}, headers=bureau)).json()
    assert covered["insured"] is True and covered["policies"][0] | {} == {
        "policy_no": issued["policy_no"], "insurer": "INS-A", "period_start": "2027-01-01", "period_end": "2027-12-31"
    }
    before = (await policy.get(f"/verification/{code}", params={"on": "2026-12-31"}, headers=bureau)).json()
    assert before["insured"] is False and before["must_insure"] is True
    other_bureau = token_mint.headers(Role.BUREAU, "JTW", industries=("TRANSPORT",))
    assert (await policy.get(f"/verification/{code}", headers=other_bureau)).status_code == 404
    assert (await policy.get(f"/verification/{code}", headers=token_mint.headers(Role.MUNICIPAL_PLATFORM, "CITY"))).status_code == 403
    # the clock decides "today"
    policy.server.app.state.clock = lambda: datetime(2027, 3, 1, 2, 0, tzinfo=UTC)
    try:
        today = (await policy.get(f"/verification/{code}", headers=token_mint.headers(Role.EMERGENCY_ADMIN, "BJ-EMA"))).json()
    finally:
        policy.server.app.state.clock = lambda: datetime.now(UTC)
    assert today["on"] == "2027-03-01" and today["insured"] is True


# --- renewal with experience learned from events --------------------------------------------


async def _publish(bootstrap: str, topic: str, payload, key: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        envelope = build_cloudevent(payload, subject=f"test/{key}", partition_key=key)
        await producer.send_and_wait(topic, serialize(envelope), key=key.encode())
    finally:
        await producer.stop()


async def _count(url: str, model) -> int:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(model))).scalar_one()
    finally:
        await engine.dispose()


async def test_renewal_is_re_rated_on_accidents_and_hazards_learned_from_events(policy, token_mint):
    issued = await issued_policy(policy, token_mint, 130)
    code, no, headers = issued["credit_code"], issued["policy_no"], insurer(token_mint)
    accidents, hazards = await _count(policy.database_url, AccidentExperience), await _count(policy.database_url, HazardExperience)
    await _publish(policy.bootstrap, "claims.events", AccidentReported(
        accident_id="ACC-130", credit_code=code, policy_no=no, occurred_at=datetime(2027, 5, 3, 1, 0, tzinfo=UTC), grade="LARGER", deaths=3,
    ), code)
    await _publish(policy.bootstrap, "prevention.events", HazardStatusChanged(
        hazard_id="HZ-130", credit_code=code, status="OVERDUE", changed_at=datetime(2027, 8, 1, tzinfo=UTC),
    ), code)

    async def learned():
        return await _count(policy.database_url, AccidentExperience) > accidents and await _count(policy.database_url, HazardExperience) > hazards

    await eventually(learned, timeout=30)
    late = await policy.post(f"/policies/{no}/renewal", json={"period_start": "2028-01-02"}, headers=headers)
    assert late.status_code == 422 and first_error(late)["rule"] == "renewal.late_start"
    renewed = await policy.post(f"/policies/{no}/renewal", json={}, headers=headers)
    assert renewed.status_code == 201, renewed.text
    body = renewed.json()
    # 60,000 × 1.20 (larger accident) × 0.95 (level 2) × 1.00 × 1.10 (overdue hazard) = 75,240.00 for 2028 (366 of 366 days)
    assert (body["period_start"], body["period_end"], body["previous_policy_no"]) == ("2028-01-01", "2028-12-31", no)
    assert D(body["written_premium"]) == D("75240.00")
    assert body["breakdown"]["experience"] | {} == {"previous_policy_no": no, "accident_record": "LARGER", "hazard_rectification": "OVERDUE"}
    again = await policy.post(f"/policies/{no}/renewal", json={}, headers=headers)
    assert again.status_code == 409 and first_error(again)["rule"] == "renewal.already_renewed"
    renewed_event = (await outbox_events(policy.database_url, code))[-1]
    assert renewed_event["type"] == "cn.anzexian.policy.renewed.v1" and renewed_event["data"]["previous_policy_no"] == no


async def test_a_policy_issued_event_reaches_a_kafka_consumer_with_what_claims_needs(policy, token_mint):
    issued = await issued_policy(policy, token_mint, 140, size=3, commission="10")
    consumer = AIOKafkaConsumer(
        "policy.events", bootstrap_servers=policy.bootstrap, group_id=f"probe-{issued['policy_no']}", auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        async def found():
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    if event["type"] == "cn.anzexian.policy.issued.v1" and event["data"]["policy_no"] == issued["policy_no"]:
                        return record, event
            return None

        record, event = await eventually(found, timeout=30)
    finally:
        await consumer.stop()
    data = event["data"]
    assert record.key.decode() == issued["credit_code"] == event["partitionkey"]
    assert (data["period_start"], data["period_end"], data["headcount"], data["commission"]) == ("2027-01-01", "2027-12-31", 3, "10.00")
    assert {p["resident_id"] for p in data["insured_people"]} == {employee(i)["resident_id"] for i in range(3)}
    assert data["sub_limits"]["aggregate"] == "1200000.00" and data["per_person_limit"] == "400000.00"
    assert data["insurer"] == "INS-A" and data["jurisdiction"] == "national" and D(data["premium"]) == D(issued["written_premium"])


async def test_an_expired_quote_cannot_become_a_policy(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 150, size=2)
    quote = (await policy.post("/quotes", json=quote_body(code), headers=insurer(token_mint))).json()
    valid_until = datetime.fromisoformat(quote["valid_until"])
    policy.server.app.state.clock = lambda: valid_until + timedelta(seconds=1)
    try:
        late = await policy.post("/policies", json={"quote_id": quote["quote_id"]}, headers=insurer(token_mint))
    finally:
        policy.server.app.state.clock = lambda: datetime.now(UTC)
    assert late.status_code == 422 and first_error(late)["rule"] == "quote.expired"
    assert (await policy.post("/policies", json={"quote_id": quote["quote_id"]}, headers=insurer(token_mint))).status_code == 201


async def test_a_roster_is_read_only_by_its_insurer_and_the_regulators(policy, token_mint):
    code = await enterprise_with_roster(policy, token_mint, 160, size=2)
    own = await policy.get(f"/enterprises/{code}/roster", headers=insurer(token_mint))
    assert own.status_code == 200 and own.json()["headcount"] == 2 and own.json()["insured_amount"] == "400000.00"
    assert (await policy.get(f"/enterprises/{code}/roster", headers=insurer(token_mint, "INS-B"))).status_code == 403
    assert (await policy.get(f"/enterprises/{code}/roster", headers=token_mint.headers(Role.SERVICE_ORG, "ORG"))).status_code == 403
    assert (await policy.get(f"/enterprises/{code}/roster", headers=token_mint.headers(Role.EMERGENCY_ADMIN, "EMA"))).status_code == 200


async def test_a_beijing_service_quotes_on_the_beijing_minimum_for_a_2026_start(policy, token_mint, tmp_path):
    url = await Databases("sqlite", tmp_path).create("policy")
    async with running_service("policy", url, policy.bootstrap, token_mint, jurisdiction="beijing") as server, httpx.AsyncClient(
        base_url=server.url, timeout=15
    ) as client:
        below = await enterprise_with_roster(client, token_mint, 170, size=2, amount="795799")
        response = await client.post("/quotes", json=quote_body(below, start="2026-12-01", end=None, limit="795799"), headers=insurer(token_mint))
        assert response.status_code == 422 and first_error(response)["rule"] == "limit.below_minimum"
        assert D(response.json()["minimum_breakdown"]["minimum"]) == D("795800")
        at = await enterprise_with_roster(client, token_mint, 171, size=2, amount="795800")
        quote = await client.post("/quotes", json=quote_body(at, start="2026-12-01", end=None, limit="795800"), headers=insurer(token_mint))
        assert quote.status_code == 201, quote.text
        assert quote.json()["period_end"] == "2027-11-30" and quote.json()["breakdown"]["profile"]["jurisdiction"] == "beijing"
        assert "SOCIAL_RESCUE" in {f["factor"] for f in quote.json()["breakdown"]["factors"]}


@pytest.mark.parametrize(
    ("role", "quote", "list_policies", "verify"),
    [
        (Role.INSURER, 201, 200, 200),
        (Role.SERVICE_ORG, 403, 403, 403),
        (Role.BUREAU, 403, 403, 200),
        (Role.EMERGENCY_ADMIN, 403, 200, 200),
        (Role.FINANCE_REGULATOR, 403, 200, 200),
        (Role.MUNICIPAL_PLATFORM, 403, 403, 403),
    ],
)
async def test_who_may_quote_list_policies_and_verify(policy, token_mint, role, quote, list_policies, verify):
    code = await enterprise_with_roster(policy, token_mint, 180 + list(Role).index(role), size=1)
    headers = token_mint.headers(role, "T", industries=("CONSTRUCTION",))
    assert (await policy.post("/quotes", json=quote_body(code), headers=headers)).status_code == quote
    assert (await policy.get("/policies", headers=headers)).status_code == list_policies
    assert (await policy.get(f"/verification/{code}", headers=headers)).status_code == verify
