"""API fuzzing with Schemathesis: every operation of the policy and claims services, every role that may call them.

Each service runs in-process on a real port (SQLite, no consumers, no relay) in a thread of its
own, because Schemathesis calls it synchronously. Cases are valid and invalid requests drawn
from the service's own OpenAPI document, with a valid token of a role that holds the service's
scopes. Checks: no 5xx, every response matches its documented schema and status code.
Bounded and repeatable: a few examples per operation, derandomized, no shrinking.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from contracts.auth import ROLE_SCOPES
from contracts.enums import Role
from devstack.broker import free_port
from tests.claims.claims_support import policy_issued, report_body, seed
from tests.conftest import Databases, running_service
from tests.policy.policy_support import enterprise_with_roster, quote_body
from tests.support.tokens import TokenMint

MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
TENANTS = {
    Role.INSURER: ("PICC-BJ", ()),
    Role.SERVICE_ORG: ("SAFE-TECH-01", ()),
    Role.BUREAU: ("BJ-ZJW", ("CONSTRUCTION", "TRANSPORT")),
    Role.EMERGENCY_ADMIN: ("BJ-YJJ", ()),
    Role.FINANCE_REGULATOR: ("BJ-JRJ", ()),
    Role.MUNICIPAL_PLATFORM: ("BJ-CITY", ()),
}
SERVICES = ("policy", "claims")


def callers(service: str) -> list[Role]:
    """Every role holding a scope of the service: the roles whose calls go past authorization."""
    return [role for role, scopes in ROLE_SCOPES.items() if any(s.startswith(f"{service}:") for s in scopes)]


def operations(service: str) -> list[str]:
    """``METHOD /path`` of every documented operation, read from the app without starting it."""
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    document = module.create_app().openapi()
    return [
        f"{method.upper()} {path}"
        for path, item in sorted(document["paths"].items())
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


@dataclass
class Served:
    """A service started by ``running_service`` on an event loop in a thread of its own, with seeded data."""

    url: str
    # Path parameter values of resources that exist, so fuzzed bodies reach past the 404s.
    existing: dict[str, str]


async def seed_policy(database_url: str, base_url: str, mint: TokenMint) -> dict[str, str]:
    """An enterprise with a roster, an open quote and an issued policy of the fuzzing insurer."""
    tenant = TENANTS[Role.INSURER][0]
    headers = mint.headers(Role.INSURER, tenant)
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        code = await enterprise_with_roster(client, mint, 1, size=5, tenant=tenant)
        quoted = await client.post("/quotes", json=quote_body(code), headers=headers)
        assert quoted.status_code == 201, quoted.text
        issued = await client.post("/policies", json={"quote_id": quoted.json()["quote_id"]}, headers=headers)
        assert issued.status_code == 201, issued.text
        other = await enterprise_with_roster(client, mint, 2, size=3, tenant=tenant)
        open_quote = await client.post("/quotes", json=quote_body(other), headers=headers)
        assert open_quote.status_code == 201, open_quote.text
    return {"credit_code": code, "policy_no": issued.json()["policy_no"], "quote_id": open_quote.json()["quote_id"]}


async def seed_claims(database_url: str, base_url: str, mint: TokenMint) -> dict[str, str]:
    """A policy in force (as its event would bring it) and an open claim under it."""
    insurer = TENANTS[Role.INSURER][0]
    today = datetime.now(UTC).date()
    await seed(database_url, policy_issued(1, insurer=insurer, start=today - timedelta(days=30), end=today + timedelta(days=300)))
    occurred = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as client:
        reported = await client.post(
            "/claims", json=report_body(1, insurer=insurer, occurred_at=occurred), headers=mint.headers(Role.INSURER, insurer)
        )
        assert reported.status_code == 201, reported.text
    return {"claim_id": reported.json()["claim_id"]}


SEEDS = {"policy": seed_policy, "claims": seed_claims}
OVERRIDES = {"policy": {}, "claims": {"run_overdue_watcher": False}}


def _serve(service: str, directory: Path, mint: TokenMint) -> Iterator[Served]:
    started: dict[str, object] = {}
    ready, stop = threading.Event(), threading.Event()

    async def main() -> None:
        try:
            url = await Databases("sqlite", directory).create(service)
            async with running_service(
                service, url, f"127.0.0.1:{free_port()}", mint, run_consumers=False, run_relay=False, **OVERRIDES[service]
            ) as server:
                started["served"] = Served(server.url, await SEEDS[service](url, server.url, mint))
                ready.set()
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # reported to the test thread
            started["error"] = exc
            ready.set()

    thread = threading.Thread(target=asyncio.run, args=(main(),), name=f"{service}-under-fuzz", daemon=True)
    thread.start()
    assert ready.wait(60), f"{service} did not start"
    if "error" in started:
        raise started["error"]  # type: ignore[misc]
    try:
        yield started["served"]  # type: ignore[misc]
    finally:
        stop.set()
        thread.join(30)


@pytest.fixture(scope="module")
def fuzz_mint(tmp_path_factory) -> TokenMint:
    return TokenMint(tmp_path_factory.mktemp("fuzz-keys"))


@pytest.fixture(scope="module")
def policy_service(tmp_path_factory, fuzz_mint) -> Iterator[Served]:
    yield from _serve("policy", tmp_path_factory.mktemp("fuzz-policy"), fuzz_mint)


@pytest.fixture(scope="module")
def claims_service(tmp_path_factory, fuzz_mint) -> Iterator[Served]:
    yield from _serve("claims", tmp_path_factory.mktemp("fuzz-claims"), fuzz_mint)


_schemas: dict[str, schemathesis.BaseSchema] = {}


def schema_of(service: str, url: str) -> schemathesis.BaseSchema:
    if service not in _schemas:
        document = httpx.get(f"{url}/openapi.json", timeout=20).json()
        _schemas[service] = schemathesis.openapi.from_dict(document)
    return _schemas[service]


def fuzz(service: str, served: Served, mint: TokenMint, operation: str) -> None:
    method, path = operation.split(" ", 1)
    url = served.url
    api_operation = schema_of(service, url)[path][method]
    roles = callers(service)
    headers = {role: mint.headers(role, TENANTS[role][0], industries=TENANTS[role][1], ttl=3600) for role in roles}
    strategies = [api_operation.as_strategy(GenerationMode.POSITIVE), api_operation.as_strategy(GenerationMode.NEGATIVE)]
    existing = {name: value for name, value in served.existing.items() if f"{{{name}}}" in path}
    if existing:
        # Generated bodies and queries against a resource that exists: the paths where the business rules run.
        strategies.append(api_operation.as_strategy(GenerationMode.POSITIVE, path_parameters=existing))
        strategies.append(api_operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=existing))
    cases = st.one_of(*strategies)

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases, role=st.sampled_from(roles))
    def run(case, role) -> None:
        response = case.call(base_url=url, headers=headers[role], timeout=20)
        case.validate_response(response, checks=CHECKS, headers=headers[role])

    run()


@pytest.mark.parametrize("operation", operations("policy"))
def test_policy_operation_survives_fuzzing(policy_service, fuzz_mint, operation):
    fuzz("policy", policy_service, fuzz_mint, operation)


@pytest.mark.parametrize("operation", operations("claims"))
def test_claims_operation_survives_fuzzing(claims_service, fuzz_mint, operation):
    fuzz("claims", claims_service, fuzz_mint, operation)
