"""Hostile access tokens: every forged, stale, misdirected or garbled token is refused with 401 problem+json.

Each attack runs twice: straight at a service (the policy service checks tokens itself, so a
request that bypasses the gateway gets nowhere) and through the gateway.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from contracts.auth import JWT_ALGORITHM
from contracts.enums import Role
from devstack.broker import free_port
from gateway.cli import create_client_in, revoke_client_in
from gateway.keys import load_private_key
from tests.conftest import running_service
from tests.gateway.gateway_support import access_token


@dataclass(frozen=True)
class Target:
    """Where the attack goes and the key pair whose tokens it would accept."""

    url: str
    private_key: Ed25519PrivateKey
    public_pem: bytes


def claims(**overrides) -> dict:
    now = int(time.time())
    values = {
        "iss": "anzexian-gateway",
        "aud": "anzexian-api",
        "sub": "cl_attacker",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "role": "insurer",
        "tenant": "PICC-BJ",
        "industries": [],
        "scope": "policy:read policy:write",
    }
    return {k: v for k, v in {**values, **overrides}.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(data: dict) -> str:
    return b64(json.dumps(data).encode())


def signed(target: Target, **overrides) -> str:
    return jwt.encode(claims(**overrides), target.private_key, algorithm=JWT_ALGORITHM)


def expired(target: Target) -> str:
    now = int(time.time())
    return signed(target, iat=now - 3600, nbf=now - 3600, exp=now - 600)


def not_yet_valid(target: Target) -> str:
    return signed(target, nbf=int(time.time()) + 3600)


def tampered_role(target: Target) -> str:
    """A valid insurer token whose payload says emergency_admin; the signature is the original one."""
    header, _, signature = signed(target, scope="policy:read").split(".")
    payload = claims(role="emergency_admin", tenant="BJ-YJJ", scope="policy:read policy:write monitoring:write")
    return f"{header}.{segment(payload)}.{signature}"


def alg_none(target: Target) -> str:
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims())}."


def alg_none_with_signature(target: Target) -> str:
    """'none' in the header but the real signature kept: still refused."""
    _, payload, signature = signed(target).split(".")
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{payload}.{signature}"


def hs256_with_public_key(target: Target) -> str:
    """Algorithm confusion: HMAC-signed with the (public) verification key as the shared secret."""
    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims())}"
    mac = hmac.new(target.public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def foreign_key(target: Target) -> str:
    return jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm=JWT_ALGORITHM)


def wrong_audience(target: Target) -> str:
    return signed(target, aud="some-other-api")


def wrong_issuer(target: Target) -> str:
    return signed(target, iss="https://evil.example/issuer")


def without_expiry(target: Target) -> str:
    return signed(target, exp=None)


def unknown_role(target: Target) -> str:
    return signed(target, role="superuser")


def without_role(target: Target) -> str:
    return signed(target, role=None)


def industries_not_a_list(target: Target) -> str:
    return signed(target, industries=5)


def unknown_industry(target: Target) -> str:
    return signed(target, industries=["MOON_MINING"])


def truncated(target: Target) -> str:
    return signed(target)[:-10]


def three_dots(target: Target) -> str:
    return "a.b.c"


def binary_garbage(target: Target) -> str:
    return b64(bytes(range(256)) * 4)


def huge(target: Target) -> str:
    return f"{segment({'alg': JWT_ALGORITHM})}.{b64(b'x' * 6000)}.{b64(b'y' * 64)}"


FORGED: dict[str, Callable[[Target], str]] = {
    "expired": expired,
    "not_yet_valid": not_yet_valid,
    "tampered_role": tampered_role,
    "alg_none": alg_none,
    "alg_none_with_signature": alg_none_with_signature,
    "hs256_with_public_key": hs256_with_public_key,
    "foreign_key": foreign_key,
    "wrong_audience": wrong_audience,
    "wrong_issuer": wrong_issuer,
    "without_expiry": without_expiry,
    "unknown_role": unknown_role,
    "without_role": without_role,
    "industries_not_a_list": industries_not_a_list,
    "unknown_industry": unknown_industry,
    "truncated": truncated,
    "three_dots": three_dots,
    "binary_garbage": binary_garbage,
    "huge": huge,
}
EXPECTED_RULE = {"expired": "auth.token_expired"}

GARBLED_HEADERS = {
    "missing": None,
    "empty": "",
    "scheme_only": "Bearer",
    "scheme_and_dots": "Bearer   ..",
    "basic_scheme": "Basic dXNlcjpwYXNz",
    "token_without_scheme": "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
    "two_tokens": "Bearer a.b.c d.e.f",
    "lowercase_garbage": "bearer %%%%",
    "latin1_bytes": "Bearer \xe9\xe8\xff",
}


def refused(response: httpx.Response, rule: str | None = None) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401
    error = body["errors"][0]
    assert error["rule"].startswith("auth.")
    assert rule is None or error["rule"] == rule
    assert error["field"] == "Authorization"
    assert error["message_zh"] and error["message_en"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def header_value(value: str | None) -> dict[str, bytes]:
    return {} if value is None else {"Authorization": value.encode("latin-1")}


# --- straight at a service ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def policy_service(tmp_path_factory, token_mint):
    from tests.conftest import Databases

    url = await Databases("sqlite", tmp_path_factory.mktemp("token-attacks")).create("policy")
    async with running_service("policy", url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False) as server:
        yield Target(server.url, token_mint.private_key, token_mint.public_key_file.read_bytes())


@pytest.fixture(scope="module")
async def client():
    async with httpx.AsyncClient(timeout=20) as http:
        yield http


async def test_a_valid_token_is_admitted_by_the_service(client, policy_service, token_mint):
    response = await client.get(f"{policy_service.url}/enterprises", headers=token_mint.headers(Role.INSURER, "PICC-BJ"))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("attack", FORGED)
async def test_forged_token_is_refused_by_the_service(client, policy_service, attack):
    token = FORGED[attack](policy_service)
    response = await client.get(f"{policy_service.url}/enterprises", headers={"Authorization": f"Bearer {token}"})
    refused(response, EXPECTED_RULE.get(attack))


@pytest.mark.parametrize("garbled", GARBLED_HEADERS)
async def test_missing_or_garbled_header_is_refused_by_the_service(client, policy_service, garbled):
    response = await client.get(f"{policy_service.url}/enterprises", headers=header_value(GARBLED_HEADERS[garbled]))
    refused(response)


async def test_forged_token_cannot_write_either(client, policy_service):
    response = await client.post(
        f"{policy_service.url}/enterprises", json={}, headers={"Authorization": f"Bearer {tampered_role(policy_service)}"}
    )
    refused(response)


# --- through the gateway --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway_target(gateway, gateway_env) -> Target:
    return Target(gateway.url, load_private_key(gateway_env.private_key), gateway_env.public_key.read_bytes())


@pytest.mark.parametrize("attack", FORGED)
async def test_forged_token_is_refused_by_the_gateway(http, gateway_target, attack):
    token = FORGED[attack](gateway_target)
    response = await http.get(f"{gateway_target.url}/api/v1/policy/enterprises", headers={"Authorization": f"Bearer {token}"})
    refused(response, EXPECTED_RULE.get(attack))


@pytest.mark.parametrize("garbled", GARBLED_HEADERS)
async def test_missing_or_garbled_header_is_refused_by_the_gateway(http, gateway_target, garbled):
    response = await http.get(f"{gateway_target.url}/api/v1/policy/enterprises", headers=header_value(GARBLED_HEADERS[garbled]))
    refused(response)


async def test_token_of_a_revoked_client_is_refused_within_the_refresh_window(http, gateway, gateway_env):
    client = await create_client_in(gateway_env.database_url, "revoked in attack test", "insurer", "GONE-INS-2")
    headers = {"Authorization": f"Bearer {await access_token(http, gateway.url, client)}"}
    assert (await http.get(f"{gateway.url}/api/v1/policy/enterprises", headers=headers)).status_code == 200
    await revoke_client_in(gateway_env.database_url, client["client_id"])
    revoked_at = time.monotonic()
    # The gateway re-reads revocations every 0.1 s in tests: a refusal must come well within a few windows.
    while True:
        response = await http.get(f"{gateway.url}/api/v1/policy/enterprises", headers=headers)
        if response.status_code == 401:
            break
        assert response.status_code == 200, response.text
        assert time.monotonic() - revoked_at < 2.0, "the revoked client still passes after 2 s"
        await asyncio.sleep(0.02)
    refused(response, "auth.client_revoked")
    # And it can get no new token either.
    again = await http.post(
        f"{gateway.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
    )
    assert again.status_code in (400, 401), again.text
    assert "Traceback" not in again.text


# --- the token endpoint itself ------------------------------------------------------------------------------

HOSTILE_TOKEN_REQUESTS = {
    "wrong_secret": lambda c: {"data": {"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": "guess"}},
    "unknown_client": lambda c: {"data": {"grant_type": "client_credentials", "client_id": "cl_nobody", "client_secret": "x"}},
    "no_grant_type": lambda c: {"data": {"client_id": c["client_id"], "client_secret": c["client_secret"]}},
    "password_grant": lambda c: {"data": {"grant_type": "password", "username": "admin", "password": "admin"}},
    "huge_client_id": lambda c: {"data": {"grant_type": "client_credentials", "client_id": "A" * 100_000, "client_secret": "x"}},
    "json_body": lambda c: {"json": {"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"]}},
    "garbage_body": lambda c: {"content": bytes(range(256)) * 8, "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
    "malformed_basic": lambda c: {"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": "Basic %%%not-base64"}},
    "basic_without_colon": lambda c: {
        "data": {"grant_type": "client_credentials"},
        "headers": {"Authorization": "Basic " + base64.b64encode(b"no-colon-here").decode()},
    },
    "scope_beyond_the_role": lambda c: {
        "data": {"grant_type": "client_credentials", "client_id": c["client_id"], "client_secret": c["client_secret"], "scope": "monitoring:write"}
    },
}


@pytest.mark.parametrize("attempt", HOSTILE_TOKEN_REQUESTS)
async def test_hostile_token_requests_get_no_token_and_no_5xx(http, gateway, clients, attempt):
    response = await http.post(f"{gateway.url}/oauth/token", **HOSTILE_TOKEN_REQUESTS[attempt](clients[Role.INSURER]))
    assert 400 <= response.status_code < 500, response.text
    assert "access_token" not in response.text
    assert "Traceback" not in response.text and 'File "' not in response.text
