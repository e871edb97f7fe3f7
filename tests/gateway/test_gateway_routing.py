"""Routing /api/v1/<service>/... to the services: what is forwarded, what is refused, and how failures look."""

import asyncio
import base64
import hashlib
import json
import secrets
import time
import uuid

import jwt
import pytest

from contracts.auth import JWT_ALGORITHM
from contracts.enums import Role
from gateway.cli import create_client_in, revoke_client_in
from gateway.keys import load_private_key
from tests.gateway.gateway_support import CHUNK, access_token, running_gateway
from tests.support.factories import eventually


def problem(response, status: int, rule: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["errors"][0]["rule"] == rule
    assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def gateway_claims(**overrides) -> dict:
    now = int(time.time())
    claims = {
        "iss": "anzexian-gateway",
        "aud": "anzexian-api",
        "sub": "cl_forged",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "role": "emergency_admin",
        "tenant": "BJ-YJJ",
        "industries": [],
        "scope": "monitoring:read",
    }
    return {**claims, **overrides}


# --- what reaches the service -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
async def test_method_path_query_and_body_are_forwarded(http, gateway, bearer, method):
    body = json.dumps({"名称": "测试", "n": 1}).encode() if method in ("POST", "PUT", "PATCH") else b""
    response = await http.request(
        method,
        f"{gateway.url}/api/v1/policy/enterprises/91110108MA01/roster?q=a%20b&x=1&x=2&name=%E4%B8%AD",
        content=body or None,
        headers={**bearer, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed["service"] == "policy"
    assert echoed["method"] == method
    assert echoed["path"] == "/enterprises/91110108MA01/roster"
    assert echoed["query"] == "q=a%20b&x=1&x=2&name=%E4%B8%AD"
    assert echoed["body"].encode() == body
    assert echoed["headers"]["authorization"] == bearer["Authorization"]  # unchanged: the service verifies again
    assert echoed["headers"]["content-type"] == "application/json"
    # The service's own headers come back, including repeated ones; hop-by-hop ones do not.
    assert response.headers["x-upstream"] == "policy"
    assert response.headers["set-cookie"] == "a=1"
    assert response.headers["x-ratelimit-limit"] == "1000"


async def test_each_service_gets_its_own_requests(http, gateway, bearer):
    for service in ("policy", "claims", "monitoring"):
        response = await http.get(f"{gateway.url}/api/v1/{service}/ledgers", headers=bearer)
        assert response.json()["service"] == service
        assert response.json()["path"] == "/ledgers"


async def test_request_id_and_forwarding_headers_are_added(http, gateway, bearer):
    response = await http.get(f"{gateway.url}/api/v1/claims/reports", headers={**bearer, "Connection": "keep-alive, x-hop", "X-Hop": "1"})
    headers = response.json()["headers"]
    assert headers["x-request-id"] == response.headers["x-request-id"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == gateway.url.removeprefix("http://")
    assert "x-hop" not in headers  # named in Connection: hop-by-hop
    trace = headers["traceparent"].split("-")
    assert len(trace) == 4 and len(trace[1]) == 32 and len(trace[2]) == 16


async def test_incoming_request_id_and_trace_are_continued(http, gateway, bearer):
    request_id = uuid.uuid4().hex
    trace_id, parent_span = secrets.token_hex(16), secrets.token_hex(8)
    response = await http.get(
        f"{gateway.url}/api/v1/policy/x",
        headers={**bearer, "X-Request-ID": request_id, "traceparent": f"00-{trace_id}-{parent_span}-01", "X-Forwarded-For": "10.1.2.3"},
    )
    headers = response.json()["headers"]
    assert headers["x-request-id"] == request_id == response.headers["x-request-id"]
    _, forwarded_trace, forwarded_span, _ = headers["traceparent"].split("-")
    assert forwarded_trace == trace_id
    assert forwarded_span != parent_span  # the gateway's hop is a child span
    # 127.0.0.1 is a trusted proxy for uvicorn by default, so the client it names is the one forwarded.
    assert headers["x-forwarded-for"] == "10.1.2.3"


async def test_redirect_of_a_service_points_back_through_the_gateway(http, gateway, bearer):
    response = await http.get(f"{gateway.url}/api/v1/policy/moved", headers=bearer)
    assert response.status_code == 307
    assert response.headers["location"] == "/api/v1/policy/items?page=2"


async def test_large_answer_is_streamed_back(http, gateway, bearer, upstreams):
    size = 8 * 1024 * 1024
    release = upstreams.apps["policy"].state.download_release
    release.clear()

    async def download() -> tuple[int, str]:
        digest, received = hashlib.sha256(), 0
        async with http.stream("GET", f"{gateway.url}/api/v1/policy/download?size={size}", headers=bearer) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/csv")
            async for chunk in response.aiter_raw():
                # The first chunk arrives while the service is still holding the rest back.
                release.set()
                digest.update(chunk)
                received += len(chunk)
        return received, digest.hexdigest()

    received, sha = await asyncio.wait_for(download(), 8)
    assert received == size
    assert sha == hashlib.sha256(b"x" * CHUNK + b"y" * (size - CHUNK)).hexdigest()


async def test_large_upload_is_streamed_up(http, gateway, bearer, upstreams):
    started = upstreams.apps["policy"].state.upload_started
    started.clear()
    chunk, count = b"z" * CHUNK, 128
    sent = hashlib.sha256()

    async def body():
        for i in range(count):
            sent.update(chunk)
            yield chunk
            if i == 0:
                # The service has the first chunk before the client has sent the second one.
                await asyncio.wait_for(started.wait(), 5)

    response = await http.post(f"{gateway.url}/api/v1/policy/upload", content=body(), headers=bearer)
    assert response.status_code == 200, response.text
    assert response.json() == {"length": CHUNK * count, "sha256": sent.hexdigest()}


async def test_body_over_the_limit_is_refused(http, gateway_env, upstreams, clients):
    async with running_gateway(gateway_env, upstreams, max_body_bytes=1000) as small:
        token = await access_token(http, small.url, clients[Role.INSURER])
        headers = {"Authorization": f"Bearer {token}"}
        problem(await http.post(f"{small.url}/api/v1/policy/upload", content=b"a" * 1001, headers=headers), 413, "gateway.body_too_large")

        async def chunked():
            for _ in range(4):
                yield b"a" * 400

        problem(await http.post(f"{small.url}/api/v1/policy/upload", content=chunked(), headers=headers), 413, "gateway.body_too_large")
        assert (await http.post(f"{small.url}/api/v1/policy/upload", content=b"a" * 999, headers=headers)).json()["length"] == 999


# --- who may pass ---------------------------------------------------------------------------------------


async def test_missing_token_is_refused(http, gateway):
    problem(await http.get(f"{gateway.url}/api/v1/policy/enterprises"), 401, "auth.token_missing")


async def test_expired_token_is_refused(http, gateway, gateway_env):
    key = load_private_key(gateway_env.private_key)
    past = int(time.time()) - 3600
    token = jwt.encode(gateway_claims(iat=past, nbf=past, exp=past + 60), key, algorithm=JWT_ALGORITHM)
    problem(await http.get(f"{gateway.url}/api/v1/policy/x", headers={"Authorization": f"Bearer {token}"}), 401, "auth.token_expired")


async def test_tampered_token_is_refused(http, gateway, insurer_token):
    header, payload, signature = insurer_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "emergency_admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = await http.get(f"{gateway.url}/api/v1/policy/x", headers={"Authorization": f"Bearer {header}.{forged}.{signature}"})
    problem(response, 401, "auth.token_invalid")


async def test_unsigned_alg_none_token_is_refused(http, gateway):
    def segment(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    token = f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(gateway_claims())}."
    problem(await http.get(f"{gateway.url}/api/v1/policy/x", headers={"Authorization": f"Bearer {token}"}), 401, "auth.token_invalid")


async def test_token_for_another_audience_is_refused(http, gateway, gateway_env):
    token = jwt.encode(gateway_claims(aud="some-other-api"), load_private_key(gateway_env.private_key), algorithm=JWT_ALGORITHM)
    problem(await http.get(f"{gateway.url}/api/v1/policy/x", headers={"Authorization": f"Bearer {token}"}), 401, "auth.token_invalid")


async def test_token_of_a_revoked_client_is_refused(http, gateway, gateway_env):
    client = await create_client_in(gateway_env.database_url, "revoked later", "insurer", "GONE-INS")
    headers = {"Authorization": f"Bearer {await access_token(http, gateway.url, client)}"}
    assert (await http.get(f"{gateway.url}/api/v1/policy/x", headers=headers)).status_code == 200
    await revoke_client_in(gateway_env.database_url, client["client_id"])

    async def refused():
        response = await http.get(f"{gateway.url}/api/v1/policy/x", headers=headers)
        return response if response.status_code == 401 else None

    problem(await eventually(refused, timeout=5), 401, "auth.client_revoked")


async def test_public_disclosure_passes_without_a_token(http, gateway):
    response = await http.get(f"{gateway.url}/api/v1/monitoring/public/evaluations")
    assert response.status_code == 200
    assert response.json() == {"published": True}
    # Only monitoring's public part: the same path elsewhere still needs a token.
    problem(await http.get(f"{gateway.url}/api/v1/policy/public/evaluations"), 401, "auth.token_missing")


async def test_dot_segments_cannot_escape_the_public_part(http, gateway):
    response = await http.get(f"{gateway.url}/api/v1/monitoring/public/%2e%2e/ledgers")
    problem(response, 400, "gateway.path_invalid")


async def test_unknown_service_is_not_found(http, gateway, bearer):
    problem(await http.get(f"{gateway.url}/api/v1/payroll/x", headers=bearer), 404, "gateway.service_unknown")


# --- when the service fails ----------------------------------------------------------------------------


async def test_service_down_is_502_without_a_stack_trace(http, gateway, bearer):
    body = problem(await http.get(f"{gateway.url}/api/v1/prevention/hazards", headers=bearer), 502, "gateway.upstream_unavailable")
    assert body["service"] == "prevention"
    assert body["request_id"]


async def test_slow_service_is_504(http, gateway_env, upstreams, clients):
    async with running_gateway(gateway_env, upstreams, upstream_timeout_seconds=0.3) as impatient:
        token = await access_token(http, impatient.url, clients[Role.INSURER])
        response = await http.get(f"{impatient.url}/api/v1/policy/slow", headers={"Authorization": f"Bearer {token}"})
        problem(response, 504, "gateway.upstream_timeout")


# --- rate limits ----------------------------------------------------------------------------------------


async def test_rate_limit_answers_429_then_lets_the_next_window_through(http, gateway_env, upstreams, clients):
    async with running_gateway(gateway_env, upstreams, rate_limit="3/second") as limited:
        headers = {"Authorization": f"Bearer {await access_token(http, limited.url, clients[Role.INSURER])}"}
        other = {"Authorization": f"Bearer {await access_token(http, limited.url, clients[Role.EMERGENCY_ADMIN])}"}
        answers = [await http.get(f"{limited.url}/api/v1/policy/x", headers=headers) for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 200]
        assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["2", "1", "0"]

        refused = await http.get(f"{limited.url}/api/v1/policy/x", headers=headers)
        problem(refused, 429, "gateway.rate_limited")
        retry_after = int(refused.headers["retry-after"])
        assert retry_after >= 1
        assert refused.headers["x-ratelimit-limit"] == "3"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        # Limits are per client: another client is not affected.
        assert (await http.get(f"{limited.url}/api/v1/policy/x", headers=other)).status_code == 200

        await asyncio.sleep(retry_after)
        assert (await http.get(f"{limited.url}/api/v1/policy/x", headers=headers)).status_code == 200
