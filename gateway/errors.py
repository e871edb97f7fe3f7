"""The gateway's refusals: OAuth errors (RFC 6749 §5.2), rate limits, and upstream failures, all as problem details.

OAuth errors keep the RFC's ``error`` and ``error_description`` members *and* our problem fields
(``errors[]`` with field, rule, message_zh, message_en), so an OAuth library and a person reading
the body both understand it. They are sent as ``application/json`` as RFC 6749 §5.2 requires.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from kernel.errors import DomainError, Problem

_OAUTH_STATUS = {
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_grant": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "invalid_scope": 400,
}


class OAuthError(DomainError):
    """A token request refused with one of RFC 6749's error codes."""

    title = "Token request refused"

    def __init__(self, error: str, message_zh: str, message_en: str, *, field: str | None = None) -> None:
        super().__init__(
            f"oauth.{error}",
            message_zh,
            message_en,
            field=field,
            status=_OAUTH_STATUS[error],
            extra={"error": error, "error_description": message_en},
        )
        self.error = error


class RateLimited(DomainError):
    status = 429
    title = "Too Many Requests"

    def __init__(self, retry_after: int, headers: dict[str, str]) -> None:
        super().__init__(
            "gateway.rate_limited",
            f"请求过于频繁，请在 {retry_after} 秒后重试",
            f"Too many requests; retry in {retry_after} s",
            extra={"retry_after": retry_after},
        )
        self.headers = {**headers, "Retry-After": str(retry_after)}


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload Too Large"

    def __init__(self, limit: int) -> None:
        super().__init__(
            "gateway.body_too_large",
            f"请求体超过 {limit} 字节的上限",
            f"The request body exceeds the limit of {limit} bytes",
            field="body",
        )


class UpstreamUnavailable(DomainError):
    status = 502
    title = "Bad Gateway"

    def __init__(self, service: str) -> None:
        super().__init__(
            "gateway.upstream_unavailable",
            f"{service} 服务暂时无法访问，请稍后重试",
            f"The {service} service cannot be reached; retry later",
            extra={"service": service},
        )


class UpstreamTimeout(DomainError):
    status = 504
    title = "Gateway Timeout"

    def __init__(self, service: str) -> None:
        super().__init__(
            "gateway.upstream_timeout",
            f"{service} 服务响应超时，请稍后重试",
            f"The {service} service did not answer in time; retry later",
            extra={"service": service},
        )


async def _oauth_error(request: Request, exc: OAuthError) -> JSONResponse:
    # RFC 6749 §5.1/§5.2: JSON body, never cached; §5.2: 401 names the client authentication scheme.
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="anzexian", charset="UTF-8"'
    response = Problem(exc.status, exc.title, exc.violations, exc.extra, headers).response(request)
    response.headers["content-type"] = "application/json"
    return response


async def _rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
    return Problem(exc.status, exc.title, exc.violations, exc.extra, exc.headers).response(request)


def install_gateway_error_handlers(app: FastAPI) -> None:
    """Handlers for the refusals that need headers of their own (more specific than the kernel's)."""
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RateLimited, _rate_limited)
