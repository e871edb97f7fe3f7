"""The policy service's enterprise registration over real HTTP: rules, problem+json, access."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from contracts.enums import Role
from services.policy.models import Enterprise
from services.policy.models import messaging as policy_messaging
from tests.conftest import running_service
from tests.support.factories import enterprise_body


@pytest.fixture
async def policy(databases, broker, token_mint):
    url = await databases.create("policy")
    async with running_service("policy", url, broker.bootstrap_servers, token_mint) as server, httpx.AsyncClient(
        base_url=server.url, timeout=10
    ) as client:
        client.database_url = url
        yield client


async def _counts(url: str) -> tuple[int, int]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        enterprises = (await conn.execute(select(func.count()).select_from(Enterprise))).scalar_one()
        events = (await conn.execute(select(func.count()).select_from(policy_messaging.outbox))).scalar_one()
    await engine.dispose()
    return enterprises, events


async def test_registration_writes_the_enterprise_and_its_event_together(policy, token_mint):
    response = await policy.post("/enterprises", json=enterprise_body(1), headers=token_mint.headers(Role.INSURER, "INS-A"))
    assert response.status_code == 201
    assert response.json()["registered_by"] == "INS-A"
    assert await _counts(policy.database_url) == (1, 1)


async def test_a_wrong_credit_code_check_character_is_refused_in_both_languages_and_changes_nothing(policy, token_mint):
    body = enterprise_body(2) | {"credit_code": "91350100M000100Y4A"}
    response = await policy.post("/enterprises", json=body, headers=token_mint.headers(Role.INSURER, "INS-A"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    error = problem["errors"][0]
    assert error["field"] == "credit_code"
    assert error["rule"] == "identifier.credit_code_check"
    assert "统一社会信用代码" in error["message_zh"] and "check character" in error["message_en"]
    assert problem["request_id"]
    assert await _counts(policy.database_url) == (0, 0)


async def test_every_broken_field_is_named(policy, token_mint):
    body = enterprise_body(3) | {"headcount": 0, "industry": "BAKERY"}
    response = await policy.post("/enterprises", json=body, headers=token_mint.headers(Role.INSURER, "INS-A"))
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"headcount", "industry"}
    assert all(e["message_zh"] and e["message_en"] for e in response.json()["errors"])


async def test_malformed_json_is_a_422_problem_not_a_500(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A") | {"content-type": "application/json"}
    response = await policy.post("/enterprises", content=b"{broken", headers=headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["rule"] == "schema.json_invalid"


async def test_registering_twice_is_a_conflict_and_writes_no_second_event(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A")
    assert (await policy.post("/enterprises", json=enterprise_body(4), headers=headers)).status_code == 201
    again = await policy.post("/enterprises", json=enterprise_body(4), headers=headers)
    assert again.status_code == 409
    assert again.json()["errors"][0]["rule"] == "enterprise.already_registered"
    assert await _counts(policy.database_url) == (1, 1)


async def test_beijing_excludes_fishery_from_the_mandatory_industries(databases, broker, token_mint):
    url = await databases.create("policy")
    headers = token_mint.headers(Role.INSURER, "INS-A")
    async with running_service("policy", url, broker.bootstrap_servers, token_mint, jurisdiction="beijing") as server, httpx.AsyncClient(
        base_url=server.url
    ) as client:
        fishery = (await client.post("/enterprises", json=enterprise_body(5, industry="FISHERY"), headers=headers)).json()
        mine = (await client.post("/enterprises", json=enterprise_body(6, industry="MINE"), headers=headers)).json()
    assert fishery["must_insure"] is False and mine["must_insure"] is True


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.INSURER, 201),
        (Role.SERVICE_ORG, 403),
        (Role.BUREAU, 403),
        (Role.EMERGENCY_ADMIN, 403),
        (Role.FINANCE_REGULATOR, 403),
        (Role.MUNICIPAL_PLATFORM, 403),
    ],
)
async def test_only_insurers_register_enterprises(policy, token_mint, role, expected):
    response = await policy.post("/enterprises", json=enterprise_body(7), headers=token_mint.headers(role, "T"))
    assert response.status_code == expected
    if expected == 403:
        assert response.json()["errors"][0]["rule"] == "auth.role_not_allowed"
        assert await _counts(policy.database_url) == (0, 0)


async def test_an_insurer_token_without_the_write_scope_is_refused(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A", scopes=("policy:read",))
    response = await policy.post("/enterprises", json=enterprise_body(8), headers=headers)
    assert response.status_code == 403
    assert response.json()["errors"][0]["rule"] == "auth.scope_missing"


async def test_requests_without_or_with_a_bad_token_are_refused(policy, token_mint, tmp_path):
    assert (await policy.get("/enterprises")).status_code == 401
    expired = token_mint.token(Role.INSURER, "INS-A", ttl=-60)
    response = await policy.get("/enterprises", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401 and response.json()["errors"][0]["rule"] == "auth.token_expired"
    from tests.support.tokens import TokenMint

    stranger = TokenMint(tmp_path / "other-keys").headers(Role.INSURER, "INS-A")
    response = await policy.get("/enterprises", headers=stranger)
    assert response.status_code == 401 and response.json()["errors"][0]["rule"] == "auth.token_invalid"


async def test_listing_is_paginated_with_a_cursor(policy, token_mint):
    headers = token_mint.headers(Role.INSURER, "INS-A")
    for n in range(5):
        await policy.post("/enterprises", json=enterprise_body(20 + n), headers=headers)
    first = (await policy.get("/enterprises", params={"limit": 3}, headers=headers)).json()
    second = (await policy.get("/enterprises", params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers)).json()
    codes = [e["credit_code"] for e in first["items"] + second["items"]]
    assert len(codes) == 5 == len(set(codes)) and second["next_cursor"] is None
    bad = await policy.get("/enterprises", params={"cursor": "!!!"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor"
