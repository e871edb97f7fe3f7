"""Problem details (RFC 9457) for every error, with the field, the rule and a Chinese and English message.

Domain code raises :class:`DomainError` (or a subclass); the handlers installed by
:func:`install_error_handlers` turn it, FastAPI's validation errors and anything unexpected
into ``application/problem+json``. Unexpected failures are logged with their trace and answered
with a bare 500 that leaks nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from asgi_correlation_id import correlation_id
from sqlalchemy import exc as sa_exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("kernel.errors")

PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Violation:
    """One broken rule: which field, which rule, and what to tell a person."""

    field: str | None
    rule: str
    message_zh: str
    message_en: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "rule": self.rule,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


class DomainError(Exception):
    """A refusal the caller can act on. Carries its HTTP status and the rule it enforces."""

    status: int = 422
    title: str = "Unprocessable request"

    def __init__(
        self,
        rule: str,
        message_zh: str,
        message_en: str,
        *,
        field: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        violations: list[Violation] | None = None,
    ) -> None:
        super().__init__(message_en)
        if status is not None:
            self.status = status
        self.violations = violations or [Violation(field, rule, message_zh, message_en)]
        self.extra = extra or {}

    @property
    def rule(self) -> str:
        return self.violations[0].rule


class RuleViolation(ValueError):
    """Raised inside a pydantic validator: becomes a 422 naming the field and this rule.

    A ValueError so pydantic collects it with the other field errors of the same request.
    """

    def __init__(self, rule: str, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.rule = rule
        self.message_zh = message_zh
        self.message_en = message_en


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


class Forbidden(DomainError):
    status = 403
    title = "Forbidden"


class Unauthorized(DomainError):
    status = 401
    title = "Unauthorized"


@dataclass
class Problem:
    status: int
    title: str
    violations: list[Violation] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] | None = None

    def response(self, request: Request) -> JSONResponse:
        first = self.violations[0] if self.violations else None
        body: dict[str, Any] = {
            "type": f"urn:anzexian:problem:{first.rule}" if first else "about:blank",
            "title": self.title,
            "status": self.status,
            "detail": first.message_en if first else self.title,
            "detail_zh": first.message_zh if first else None,
            "instance": request.url.path,
            "request_id": correlation_id.get(),
            "errors": [v.as_dict() for v in self.violations],
        }
        body.update(self.extra)
        return JSONResponse(body, status_code=self.status, media_type=PROBLEM_JSON, headers=self.headers)


# Chinese wording for pydantic's error types; anything not listed falls back to a generic sentence.
_VALIDATION_ZH = {
    "missing": "缺少必填字段",
    "string_too_short": "字段长度不足",
    "string_too_long": "字段过长",
    "string_pattern_mismatch": "字段格式不符合要求",
    "greater_than": "数值过小",
    "greater_than_equal": "数值过小",
    "less_than": "数值过大",
    "less_than_equal": "数值过大",
    "int_parsing": "应为整数",
    "decimal_parsing": "应为数字",
    "float_parsing": "应为数字",
    "date_from_datetime_parsing": "应为日期",
    "datetime_parsing": "应为日期时间",
    "datetime_from_date_parsing": "应为日期时间",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "json_invalid": "请求体不是合法的 JSON",
    "model_attributes_type": "请求体应为 JSON 对象",
    "dict_type": "应为 JSON 对象",
    "list_type": "应为数组",
    "bool_parsing": "应为布尔值",
    "extra_forbidden": "不允许的字段",
    "value_error": "字段取值不符合规则",
}


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def validation_violations(errors: list[dict[str, Any]]) -> list[Violation]:
    violations = []
    for err in errors:
        kind = err.get("type", "value_error")
        ctx = err.get("ctx") or {}
        # A rule raised from a validator keeps its own name and wording.
        rule = ctx.get("error")
        if isinstance(rule, RuleViolation):
            violations.append(Violation(_field_path(tuple(err.get("loc", ()))), rule.rule, rule.message_zh, rule.message_en))
            continue
        violations.append(
            Violation(
                field=_field_path(tuple(err.get("loc", ()))),
                rule=f"schema.{kind}",
                message_zh=_VALIDATION_ZH.get(kind, "字段不符合要求"),
                message_en=str(err.get("msg", "invalid value")),
            )
        )
    return violations


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return Problem(exc.status, exc.title, exc.violations, exc.extra, headers).response(request)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    return Problem(422, "Validation failed", validation_violations(list(exc.errors()))).response(request)


_HTTP_ZH = {404: "资源不存在", 405: "不支持的请求方法", 401: "未认证", 403: "无权访问", 413: "请求体过大", 415: "不支持的媒体类型"}


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else "HTTP error"
    violation = Violation(None, f"http.{exc.status_code}", _HTTP_ZH.get(exc.status_code, "请求无法处理"), detail)
    headers = dict(exc.headers) if exc.headers else None
    return Problem(exc.status_code, detail, [violation], headers=headers).response(request)


# The database is away (restarting, failing over, out of connections): the request did nothing
# and may be retried, which a 503 with Retry-After says better than a 500.
# A pool that had no connection to give within its timeout (sa_exc.TimeoutError) is busy, not broken.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError, ConnectionError)
# SQLSTATEs of a server that is away rather than of a bad statement: class 08 (connection exception),
# class 53 (insufficient resources: too many connections) and 57P01–57P05 (shutting down, restarting,
# cannot connect now). asyncpg's errors reach us as a plain DBAPIError carrying only the SQLSTATE.
_AWAY_SQLSTATES = ("08", "53", "57P")


def database_away(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot serve now (retry later), not that the request was wrong."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:  # a connection the pool had to throw away
            return True
        state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        return isinstance(state, str) and state.startswith(_AWAY_SQLSTATES)
    return False


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    logger.warning("database unavailable on %s %s: %r", request.method, request.url.path, exc)
    violation = Violation(None, "database_unavailable", "数据库暂时不可用，请稍后重试", "The database is unavailable for the moment; retry later")
    return Problem(503, "Service Unavailable", [violation], headers={"Retry-After": "2"}).response(request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Driver errors of a database that is away (asyncpg during a PostgreSQL restart, say).
    if database_away(exc):
        return await _database_unavailable(request, exc)
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    violation = Violation(None, "internal", "服务内部错误，请稍后重试并提供请求编号", "Internal error; retry later and quote the request id")
    return Problem(500, "Internal Server Error", [violation]).response(request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for kind in DATABASE_UNAVAILABLE:
        app.add_exception_handler(kind, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


# Every problem a service operation may answer, documented on each so clients and fuzzers expect them:
# besides 401/403/422, a body that cannot be parsed at all (400), an unknown id in the path or the
# body (404), a state or Idempotency-Key conflict (409) and the database being unreachable (503).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": desc, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
    for code, desc in {
        400: "The body cannot be parsed (请求体无法解析)",
        401: "Missing or invalid token (未认证)",
        403: "Role, scope or tenant does not allow this (无权访问)",
        404: "Not found (不存在)",
        409: "Conflicts with the current state or an earlier request with the same Idempotency-Key (状态或幂等键冲突)",
        422: "A field breaks a rule (字段不符合规则)",
        503: "The database cannot be reached; retry later (数据库暂不可用)",
    }.items()
}
