"""API fuzzing with Schemathesis through the gateway: every operation of its merged OpenAPI document.

The whole platform's HTTP side runs in-process on real ports, in a thread of its own (Schemathesis
calls synchronously): the four services (on SQLite, then on PostgreSQL when it answers, which
refuses what SQLite lets through, such as a NUL in a string; no broker: consumers, relay and
background jobs off) behind the real gateway, whose clients are created the way the launcher does and whose tokens
come from its own ``POST /oauth/token``. The document fuzzed is the one the gateway serves at
``/openapi.json``; the list of operations is built the same way (:func:`gateway.openapi.merge_documents`
over each app's own document) when the tests are collected, and a test checks the two agree, so no
operation escapes. Each service operation is called with a valid token of every role that holds one
of the service's scopes (the others stop at the gate, which tests/platform/test_access_matrix.py
walks); the gateway's own operations and the public pages without one.

Cases are valid and invalid requests drawn from the document, plus the same against resources that
exist (seeded through the gateway), so generated bodies reach the business rules. Checks: no 5xx,
every response matches its documented schema and status code. Bounded and repeatable: a few
examples per operation, derandomized, no shrinking.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from contracts.auth import ROLE_SCOPES
from contracts.enums import Role
from devstack.broker import free_port
from gateway.app import create_app as create_gateway
from gateway.cli import create_client_in
from gateway.docs import own_openapi
from gateway.keys import ensure_keypair
from gateway.openapi import GATEWAY, HTTP_METHODS, merge_documents
from gateway.settings import Settings as GatewaySettings
from kernel.migrate import upgrade
from tests.claims.claims_support import policy_issued
from tests.claims.claims_support import report_body
from tests.claims.claims_support import seed as seed_claims_db
from tests.conftest import BACKENDS, Databases, running_service
from tests.policy.policy_support import quote_body, roster
from tests.prevention.prevention_support import institution_body, premium
from tests.prevention.prevention_support import seed as seed_prevention_db
from tests.support.factories import enterprise_body
from tests.support.servers import serve

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance,
    negative_data_rejection,  # a request that breaks the document is refused with a 4xx
    ignored_auth,  # the same request without the token is refused
]
SERVICES = ("policy", "claims", "prevention", "monitoring")
TENANTS = {
    Role.INSURER: ("PICC-BJ", ()),
    Role.SERVICE_ORG: ("SAFE-TECH-01", ()),
    Role.BUREAU: ("BJ-ZJW", ("CONSTRUCTION", "TRANSPORT")),
    Role.EMERGENCY_ADMIN: ("BJ-YJJ", ()),
    Role.FINANCE_REGULATOR: ("BJ-JRJ", ()),
    Role.MUNICIPAL_PLATFORM: ("BJ-CITY", ()),
}
# Background work that needs a broker or a clock is off: the fuzzer talks to the HTTP side only.
OVERRIDES = {
    "policy": {},
    "claims": {"run_overdue_watcher": False},
    "prevention": {"run_overdue_watcher": False},
    "monitoring": {"run_push_delivery": False, "push_allow_http_localhost": True},
}


def callers(service: str) -> list[Role]:
    """Every role holding a scope of the service: the roles whose calls go past authorization."""
    return [role for role, scopes in ROLE_SCOPES.items() if any(s.startswith(f"{service}:") for s in scopes)]


def _service_of(path: str) -> str:
    parts = path.split("/")
    return parts[3] if path.startswith("/api/v1/") and parts[3] in SERVICES else GATEWAY


def merged_document() -> dict:
    """The document the gateway serves, built from each app's own document without starting anything."""
    documents = {}
    for service in SERVICES:
        module = __import__(f"services.{service}.app", fromlist=["create_app"])
        documents[service] = module.create_app().openapi()
    own = own_openapi(create_gateway(GatewaySettings()))()
    return merge_documents(own, documents, unavailable=[], title="fuzz", version="0")


def operations(document: dict) -> list[str]:
    """``METHOD /path`` of every operation of a merged document."""
    return [f"{method.upper()} {path}" for path, item in sorted(document["paths"].items()) for method in item if method in HTTP_METHODS]


OPERATIONS = operations(merged_document())


@dataclass
class Stack:
    """The gateway in front of the four services, with a token per role and resources that exist."""

    url: str
    headers: dict[Role, dict[str, str]] = field(default_factory=dict)
    # Path parameter values of resources that exist, per service, so fuzzed bodies reach past the 404s.
    existing: dict[str, dict[str, str]] = field(default_factory=dict)


async def _token(client: httpx.AsyncClient, credentials: dict) -> dict[str, str]:
    issued = await client.post("/oauth/token", auth=(credentials["client_id"], credentials["client_secret"]), data={"grant_type": "client_credentials"})
    assert issued.status_code == 200, issued.text
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


async def _created(response: httpx.Response) -> dict:
    assert response.status_code in (200, 201), f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json()


async def seed(client: httpx.AsyncClient, stack: Stack, databases: dict[str, str]) -> None:
    """Through the gateway, as the tenants would: a policy book, a claim, prevention work, a subscription.

    The claims and prevention services learn of policies from events; with no broker here, the
    policy events are applied to their databases by their own handlers.
    """
    insurer = TENANTS[Role.INSURER][0]
    as_insurer, as_org = stack.headers[Role.INSURER], stack.headers[Role.SERVICE_ORG]
    today = datetime.now(UTC).date()

    api = "/api/v1/policy"
    code = enterprise_body(1)["credit_code"]
    await _created(await client.post(f"{api}/enterprises", json=enterprise_body(1), headers=as_insurer))
    await _created(await client.put(f"{api}/enterprises/{code}/roster", json=roster(5), headers=as_insurer))
    quote = await _created(await client.post(f"{api}/quotes", json=quote_body(code), headers=as_insurer))
    policy = await _created(await client.post(f"{api}/policies", json={"quote_id": quote["quote_id"]}, headers=as_insurer))
    other = enterprise_body(2)["credit_code"]
    await _created(await client.post(f"{api}/enterprises", json=enterprise_body(2), headers=as_insurer))
    await _created(await client.put(f"{api}/enterprises/{other}/roster", json=roster(3), headers=as_insurer))
    open_quote = await _created(await client.post(f"{api}/quotes", json=quote_body(other), headers=as_insurer))
    stack.existing["policy"] = {"credit_code": code, "policy_no": policy["policy_no"], "quote_id": open_quote["quote_id"]}

    in_force = policy_issued(1, insurer=insurer, start=today - timedelta(days=30), end=today + timedelta(days=300))
    await seed_claims_db(databases["claims"], in_force)
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    claim = await _created(await client.post("/api/v1/claims/claims", json=report_body(1, insurer=insurer, occurred_at=occurred), headers=as_insurer))
    stack.existing["claims"] = {"claim_id": claim["claim_id"]}

    await seed_prevention_db(databases["prevention"], in_force, premium(1, "1000000.00", insurer=insurer, received_on=today))
    api = "/api/v1/prevention"
    institution = institution_body(1)
    await _created(await client.post(f"{api}/institutions", json=institution, headers=as_org))
    await _created(await client.post(f"{api}/institutions/{institution['institution_code']}/filings", json={"filed_on": today.isoformat()}, headers=as_insurer))
    hazard = await _created(await client.post(f"{api}/hazards", headers=as_insurer, json={
        "credit_code": in_force["data"]["credit_code"], "policy_no": in_force["data"]["policy_no"], "level": "GENERAL",
        "description": "配电箱未接地", "found_on": today.isoformat(), "deadline": (today + timedelta(days=14)).isoformat()}))
    expense = await _created(await client.post(f"{api}/fund/expenses", headers=as_insurer,
                                               json={"year": today.year, "category": "HAZARD_INSPECTION", "amount": "100.00"}))
    stack.existing["prevention"] = {"code": institution["institution_code"], "hazard_id": hazard["hazard_id"],
                                    "entry_id": expense["entry_id"], "year": str(today.year)}

    subscription = await _created(await client.post("/api/v1/monitoring/subscriptions", headers=stack.headers[Role.MUNICIPAL_PLATFORM],
                                                    json={"endpoint_url": f"http://127.0.0.1:{free_port()}/hook"}))
    stack.existing["monitoring"] = {"subscription_id": subscription["id"], "insurer": insurer, "year": str(today.year)}


def _serve(directory: Path, backend: str) -> Iterator[Stack]:
    started: dict[str, object] = {}
    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        try:
            async with contextlib.AsyncExitStack() as exit_stack:
                private_key, public_key = ensure_keypair(directory / "keys")
                keys = SimpleNamespace(public_key_file=public_key)  # the services trust the gateway's key
                dbs = Databases(backend, directory)
                exit_stack.push_async_callback(dbs.drop_all)
                databases, urls = {}, {}
                for service in SERVICES:
                    databases[service] = await dbs.create(service)
                    server = await exit_stack.enter_async_context(running_service(
                        service, databases[service], f"127.0.0.1:{free_port()}", keys, run_consumers=False, run_relay=False, **OVERRIDES[service]
                    ))
                    urls[f"{service}_url"] = server.url
                gateway_db = f"sqlite+aiosqlite:///{directory / 'gateway.db'}"
                await asyncio.to_thread(upgrade, "gateway", gateway_db)
                settings = GatewaySettings(
                    database_url=gateway_db, jwt_private_key_file=private_key, jwt_public_key_file=public_key, rate_limit="100000/second",
                    token_rate_limit="100000/minute", token_ttl_seconds=3600, log_json=False, log_level="WARNING", **urls,
                )
                gateway = await exit_stack.enter_async_context(serve(create_gateway(settings)))
                stack = Stack(gateway.url)
                async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as client:
                    for role, (tenant, industries) in TENANTS.items():
                        credentials = await create_client_in(gateway_db, f"fuzz {role.value}", role.value, tenant, industries)
                        stack.headers[role] = await _token(client, credentials)
                    await seed(client, stack, databases)
                started["stack"] = stack
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # reported to the test thread
            started["error"] = exc
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name="platform-under-fuzz", daemon=True)
    thread.start()
    assert ready.wait(120), "the platform did not start"
    if "error" in started:
        raise started["error"]  # type: ignore[misc]
    try:
        yield started["stack"]  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture(scope="module", params=BACKENDS)
def platform(request, tmp_path_factory) -> Iterator[Stack]:
    yield from _serve(tmp_path_factory.mktemp("fuzz"), request.param)


@pytest.fixture(scope="module")
def served_document(platform) -> dict:
    return httpx.get(f"{platform.url}/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def schema(served_document) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_dict(served_document)


def test_the_gateway_serves_every_operation_that_is_fuzzed(served_document):
    assert served_document["x-unavailable-services"] == []
    served = operations(served_document)
    assert served == OPERATIONS
    assert {_service_of(op.split(" ", 1)[1]) for op in served} == {GATEWAY, *SERVICES}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_operation_survives_fuzzing_through_the_gateway(platform, schema, operation):
    method, path = operation.split(" ", 1)
    service = _service_of(path)
    api_operation = schema[path][method]
    public = api_operation.definition.raw.get("security") == [] or service == GATEWAY
    # Service operations with a token of each role that may call the service; open ones without any.
    identities = [{}] if public else [platform.headers[role] for role in callers(service)]
    strategies = [api_operation.as_strategy(GenerationMode.POSITIVE), api_operation.as_strategy(GenerationMode.NEGATIVE)]
    existing = {name: value for name, value in platform.existing.get(service, {}).items() if f"{{{name}}}" in path}
    if existing:
        # Generated bodies and queries against a resource that exists: the paths where the business rules run.
        strategies.append(api_operation.as_strategy(GenerationMode.POSITIVE, path_parameters=existing))
        strategies.append(api_operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=existing))

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*strategies), headers=st.sampled_from(identities))
    def run(case, headers) -> None:
        response = case.call(base_url=platform.url, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS, headers=headers)

    run()
