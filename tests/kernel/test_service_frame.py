"""The frame every service shares: one transaction per request, problem+json errors, health, metrics."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from fastapi import APIRouter

from kernel.app import create_service_app
from kernel.database import SessionDep
from kernel.errors import DomainError
from services.policy.models import Enterprise
from services.policy.models import messaging as policy_messaging
from tests.conftest import service_settings
from tests.support.servers import serve


def _enterprise(code: str) -> Enterprise:
    return Enterprise(
        credit_code=code, name="x", industry="MINE", district="d", address="a", headcount=1, standardization_grade="NONE",
        jurisdiction="national", must_insure=True, registered_by="t", registered_at=datetime.now(UTC),
    )


def _app(settings):
    router = APIRouter()

    @router.post("/ok/{code}", status_code=201)
    async def ok(code: str, session: SessionDep):
        session.add(_enterprise(code))
        return {"saved": code}

    @router.post("/refused/{code}")
    async def refused(code: str, session: SessionDep):
        session.add(_enterprise(code))
        await session.flush()
        raise DomainError("test.refused", "拒绝", "Refused", field="code")

    @router.get("/boom")
    async def boom():
        raise RuntimeError("secret internals /etc/passwd")

    return create_service_app(service="policy", settings=settings, tables=policy_messaging, routers=[router], title="t", description="t")


async def test_request_commits_on_success_and_a_failing_commit_is_not_reported_as_success(databases, broker, token_mint):
    url = await databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, run_consumers=False)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.post("/ok/AAA")).status_code == 201
        # The duplicate key only fails when the session commits, after the endpoint returned.
        duplicate = await client.post("/ok/AAA")
        assert duplicate.status_code == 500
        assert duplicate.headers["content-type"].startswith("application/problem+json")


async def test_a_domain_error_rolls_back_what_the_request_wrote(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, run_consumers=False)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        refused = await client.post("/refused/BBB")
        assert refused.status_code == 422 and refused.json()["errors"][0]["rule"] == "test.refused"
        # BBB was flushed but rolled back, so it can be saved now.
        assert (await client.post("/ok/BBB")).status_code == 201


async def test_an_unexpected_error_is_a_bare_500_without_internals(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, run_consumers=False)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/boom", headers={"X-Request-ID": "0123456789abcdef0123456789abcdef"})
    assert response.status_code == 500
    assert "secret" not in response.text and "Traceback" not in response.text
    body = response.json()
    assert body["errors"][0]["rule"] == "internal" and body["request_id"] == "0123456789abcdef0123456789abcdef"


async def test_readiness_reports_database_and_broker_and_metrics_are_exposed(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": True, "broker": True}
        await client.post("/ok/CCC")
        metrics = (await client.get("/metrics")).text
        assert "outbox_published_total" in metrics and "anzexian_policy_http_requests_total" in metrics
        assert 'outbox_backlog{service="policy"}' in metrics


async def test_readiness_fails_when_the_broker_is_not_there(sqlite_databases, token_mint):
    from devstack.broker import free_port

    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] is False


async def test_a_request_trace_reaches_the_event_it_causes(sqlite_databases, broker, token_mint):
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from contracts.enums import Role
    from services.policy.app import create_app
    from tests.support.factories import enterprise_body

    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, run_relay=False, run_consumers=False)
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    async with serve(create_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        headers = token_mint.headers(Role.INSURER, "INS-A") | {"traceparent": trace}
        assert (await client.post("/enterprises", json=enterprise_body(9), headers=headers)).status_code == 201
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        envelope = (await conn.execute(select(policy_messaging.outbox.c.envelope))).scalar_one()
    await engine.dispose()
    assert trace in envelope and '"partitionkey":"' + enterprise_body(9)["credit_code"] in envelope


async def test_logs_are_json_lines_carrying_the_request_id(sqlite_databases, broker, token_mint, capsys):
    import json

    url = await sqlite_databases.create("policy")
    settings = service_settings("policy", url, broker.bootstrap_servers, token_mint, run_consumers=False, log_json=True)
    async with serve(_app(settings)) as server, httpx.AsyncClient(base_url=server.url) as client:
        await client.get("/boom", headers={"X-Request-ID": "feedfacefeedfacefeedfacefeedface"})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    error = next(line for line in lines if line["message"].startswith("unhandled error"))
    assert error["request_id"] == "feedfacefeedfacefeedfacefeedface"
    assert error["level"] == "ERROR" and error["component"] == "policy"
