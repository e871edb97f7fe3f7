"""POST /oauth/token (RFC 6749 §4.4 client credentials) and the key set that verifies its tokens."""

import base64
import time

import jwt
import pytest
from jwt import PyJWKSet

from contracts.auth import JWT_ALGORITHM, ROLE_SCOPES
from contracts.enums import Role
from gateway.cli import create_client_in, revoke_client_in
from tests.gateway.gateway_support import ROLE_TENANTS, access_token, request_token, running_gateway


def oauth_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["cache-control"] == "no-store"
    assert body["error"] == error
    assert body["error_description"]
    assert body["errors"][0]["rule"] == f"oauth.{error}"
    assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]
    return body


@pytest.mark.parametrize("role", list(Role))
async def test_every_role_gets_a_token_with_its_claims(http, gateway, gateway_env, clients, role):
    client = clients[role]
    response = await request_token(http, gateway.url, client)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["scope"] == " ".join(ROLE_SCOPES[role])

    claims = jwt.decode(body["access_token"], gateway_env.public_key.read_bytes(), algorithms=[JWT_ALGORITHM], audience="anzexian-api")
    tenant, industries = ROLE_TENANTS[role]
    assert claims["iss"] == "anzexian-gateway"
    assert claims["sub"] == client["client_id"]
    assert claims["role"] == role.value
    assert claims["tenant"] == tenant
    assert claims["industries"] == list(industries)
    assert claims["scope"] == " ".join(ROLE_SCOPES[role])
    assert claims["client_name"] == f"test {role.value}"
    assert claims["exp"] - claims["iat"] == 900
    assert claims["nbf"] == claims["iat"] and abs(claims["iat"] - time.time()) < 10
    assert len(claims["jti"]) >= 16


async def test_http_basic_client_authentication_is_accepted(http, gateway, clients):
    client = clients[Role.INSURER]
    basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()
    response = await http.post(f"{gateway.url}/oauth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.text


async def test_token_is_verified_by_the_published_jwks(http, gateway, clients):
    token = await access_token(http, gateway.url, clients[Role.BUREAU])
    jwks = (await http.get(f"{gateway.url}/.well-known/jwks.json")).json()
    assert jwks["keys"][0]["kty"] == "OKP" and jwks["keys"][0]["crv"] == "Ed25519"
    kid = jwt.get_unverified_header(token)["kid"]
    key = PyJWKSet.from_dict(jwks)[kid]
    claims = jwt.decode(token, key.key, algorithms=[JWT_ALGORITHM], audience="anzexian-api")
    assert claims["industries"] == ["CONSTRUCTION", "TRANSPORT"]


async def test_wrong_secret_is_invalid_client(http, gateway, clients):
    response = await request_token(http, gateway.url, clients[Role.INSURER], client_secret="not-the-secret")
    oauth_error(response, 401, "invalid_client")
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_unknown_client_is_invalid_client(http, gateway, clients):
    response = await request_token(http, gateway.url, clients[Role.INSURER], client_id="cl_nobody")
    oauth_error(response, 401, "invalid_client")


async def test_unsupported_grant_type_is_refused(http, gateway, clients):
    response = await request_token(http, gateway.url, clients[Role.INSURER], grant_type="password")
    oauth_error(response, 400, "unsupported_grant_type")


async def test_missing_grant_type_is_invalid_request(http, gateway, clients):
    client = clients[Role.INSURER]
    response = await http.post(f"{gateway.url}/oauth/token", data={"client_id": client["client_id"], "client_secret": client["client_secret"]})
    oauth_error(response, 400, "invalid_request")


async def test_scope_beyond_the_role_is_invalid_scope(http, gateway, clients):
    response = await request_token(http, gateway.url, clients[Role.SERVICE_ORG], scope="prevention:read claims:write")
    body = oauth_error(response, 400, "invalid_scope")
    assert "claims:write" in body["error_description"]


async def test_scope_can_be_narrowed(http, gateway, gateway_env, clients):
    response = await request_token(http, gateway.url, clients[Role.INSURER], scope="claims:read policy:read")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "policy:read claims:read"
    claims = jwt.decode(response.json()["access_token"], gateway_env.public_key.read_bytes(), algorithms=[JWT_ALGORITHM], audience="anzexian-api")
    assert claims["scope"] == "policy:read claims:read"


async def test_revoked_client_gets_no_token(http, gateway, gateway_env):
    client = await create_client_in(gateway_env.database_url, "to revoke", "insurer", "OLD-INS")
    await access_token(http, gateway.url, client)
    await revoke_client_in(gateway_env.database_url, client["client_id"])
    oauth_error(await request_token(http, gateway.url, client), 401, "invalid_client")


async def test_secret_guessing_is_rate_limited(http, gateway_env, upstreams, clients):
    async with running_gateway(gateway_env, upstreams, token_rate_limit="3/minute") as limited:
        for _ in range(3):
            oauth_error(await request_token(http, limited.url, clients[Role.INSURER], client_secret="guess"), 401, "invalid_client")
        response = await request_token(http, limited.url, clients[Role.INSURER])
        assert response.status_code == 429
        assert response.headers["content-type"] == "application/problem+json"
        assert int(response.headers["retry-after"]) >= 1
        # Another client is not held up by the guesses against this one.
        assert (await request_token(http, limited.url, clients[Role.BUREAU])).status_code == 200
