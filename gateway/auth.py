"""Who may pass the gateway: a valid token of a client that is not revoked, within its rate limit.

The gateway checks tokens before forwarding (services check them again, so nothing relies on the
gateway alone). One exception, by design: ``/api/v1/monitoring/public/...`` is the public
disclosure page (公开披露: published evaluation results) and passes without a token, limited per
client IP instead of per client. Each service's ``/healthz`` and ``/readyz`` are public too, so
operators and load balancers can probe a service through the gateway; they say only up or
not up. Nothing else is public.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gateway.ratelimit import Quota, RateLimiter
from kernel.auth import Principal, TokenVerifier
from kernel.errors import DomainError, NotFound, Unauthorized

# service -> first path segment that anyone may read without a token
PUBLIC_PATHS: dict[str, str] = {"monitoring": "public"}
# probes every service answers without a token
PUBLIC_PROBES = frozenset({"healthz", "readyz"})


@dataclass(frozen=True)
class Admission:
    """A request let through: who sent it (None on a public path without a token) and its remaining quota."""

    principal: Principal | None
    quota: Quota


def client_ip(request: Request) -> str:
    # The peer address; behind a trusted load balancer uvicorn's --proxy-headers puts the real one here.
    return request.client.host if request.client else "unknown"


def is_public(service: str, path: str) -> bool:
    return path.strip("/") in PUBLIC_PROBES or PUBLIC_PATHS.get(service) == path.lstrip("/").split("/", 1)[0]


def verify_bearer(request: Request, authorization: str | None) -> Principal:
    """The caller behind a bearer token, refusing tokens of revoked clients."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("auth.token_missing", "缺少访问令牌", "A bearer access token is required", field="Authorization")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(token.strip())
    if principal.client_id in request.app.state.revoked_clients:
        raise Unauthorized("auth.client_revoked", "该接入方已被停用", "This client has been revoked", field="Authorization")
    return principal


async def admit_caller(request: Request, service: str, path: str) -> Admission:
    if service not in request.app.state.service_urls:
        raise NotFound("gateway.service_unknown", f"不存在名为 {service} 的服务", f"There is no service named {service}", field="service")
    # httpx would resolve "public/../admin" to "/admin" on the way out: refuse dot segments so a
    # public prefix can never be used to reach a private path.
    if any(segment in (".", "..") for segment in path.split("/")):
        raise DomainError("gateway.path_invalid", "路径中不允许出现 . 或 .. 段", "Paths may not contain . or .. segments", field="path", status=400)
    authorization = request.headers.get("authorization")
    limiter: RateLimiter = request.app.state.rate_limiter
    if authorization is None and is_public(service, path):
        quota = await limiter.admit(request.app.state.rate_limits, "ip", client_ip(request))
        return Admission(None, quota)
    principal = verify_bearer(request, authorization)
    quota = await limiter.admit(request.app.state.rate_limits, "client", principal.client_id)
    return Admission(principal, quota)


Caller = Annotated[Admission, Depends(admit_caller)]
