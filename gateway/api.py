"""The gateway's HTTP surface: the token endpoint, the public key set, and the routes to the services (thin)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from gateway import service
from gateway.auth import Caller, client_ip
from gateway.errors import OAuthError
from gateway.openapi import CLIENT_BASIC
from gateway.schemas import Jwks, OAuthProblem, TokenResponse
from kernel.database import SessionDep
from kernel.errors import PROBLEM_JSON

router = APIRouter()

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
FormField = Annotated[str | None, Form()]


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """client_id and secret from ``Authorization: Basic``, each form-urlencoded first (RFC 6749 §2.3.1)."""
    if not authorization:
        return None
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, colon, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        colon = ""
    if not colon:
        raise OAuthError("invalid_client", "Basic 认证头格式错误", "Malformed Basic authorization header", field="Authorization")
    return unquote_plus(client_id), unquote_plus(secret)


@router.post(
    "/oauth/token",
    tags=["gateway"],
    operation_id="issue_token",
    summary="Issue an access token (client credentials) 获取访问令牌",
    description="RFC 6749 §4.4. Authenticate with HTTP Basic or with client_id and client_secret in the form; "
    "`scope` may narrow the client's scopes, never widen them. Errors follow RFC 6749 §5.2 and also carry "
    "our problem fields.",
    response_model=TokenResponse,
    responses={
        400: {"description": "invalid_request, unsupported_grant_type or invalid_scope", "model": OAuthProblem},
        401: {"description": "invalid_client: unknown client, wrong secret or revoked client", "model": OAuthProblem},
        429: {"description": "Too many attempts for this client from this address", "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}},
    },
    openapi_extra={"security": [{CLIENT_BASIC: []}, {}]},
)
async def issue_token(
    request: Request,
    session: SessionDep,
    grant_type: FormField = None,
    client_id: FormField = None,
    client_secret: FormField = None,
    scope: FormField = None,
) -> Response:
    basic = _basic_credentials(request.headers.get("authorization"))
    if basic is not None:
        if client_secret is not None or (client_id is not None and client_id != basic[0]):
            # RFC 6749 §2.3: a client uses exactly one authentication method per request.
            raise OAuthError(
                "invalid_request", "只能使用一种接入方认证方式", "Use one client authentication method, not two", field="client_secret"
            )
        client_id, client_secret = basic
    # Counted before the secret is checked, per client and address: guessing a secret stays slow
    # while one noisy address cannot lock a client out everywhere.
    quota = await request.app.state.rate_limiter.admit(request.app.state.token_rate_limits, "token", client_id or "-", client_ip(request))
    if not grant_type:
        raise OAuthError("invalid_request", "缺少 grant_type 参数", "The grant_type parameter is required", field="grant_type")
    if grant_type != "client_credentials":
        raise OAuthError(
            "unsupported_grant_type",
            f"不支持的授权类型 {grant_type}，仅支持 client_credentials",
            f"Grant type {grant_type} is not supported; use client_credentials",
            field="grant_type",
        )
    if not client_id or not client_secret:
        raise OAuthError("invalid_client", "缺少接入方凭据", "Client credentials are required", field="client_id")
    token = await service.issue_token(
        session, request.app.state.token_issuer, client_id=client_id, client_secret=client_secret, scope=scope
    )
    return JSONResponse(token.model_dump(), headers={**_NO_STORE, **quota.headers()})


@router.get(
    "/.well-known/jwks.json",
    tags=["gateway"],
    operation_id="jwks",
    summary="Public keys that verify access tokens 令牌验签公钥",
    response_model=Jwks,
    openapi_extra={"security": []},
)
async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.token_issuer.jwks(), headers={"Cache-Control": "public, max-age=300"})


@router.api_route(
    "/api/v1/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    include_in_schema=False,  # the merged OpenAPI document lists the services' own operations instead
)
async def route_to_service(request: Request, service: str, path: str, caller: Caller) -> Response:
    return await request.app.state.proxy.forward(request, service, path, caller.quota.headers())
