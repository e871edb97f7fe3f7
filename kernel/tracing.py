"""W3C trace context: keep the request's ``traceparent`` so events carry the trace that caused them."""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
traceparent_var: ContextVar[str | None] = ContextVar("traceparent", default=None)


def current_traceparent() -> str | None:
    return traceparent_var.get()


def is_valid_traceparent(value: str | None) -> bool:
    if not value:
        return False
    m = _TRACEPARENT.match(value)
    return bool(m) and m.group(1) != "0" * 32 and m.group(2) != "0" * 16


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_traceparent(parent: str) -> str:
    """Same trace, a new span id: what a hop forwards downstream."""
    trace_id = parent.split("-")[1]
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"


class TraceContextMiddleware:
    """Pure ASGI: take a valid incoming ``traceparent`` (or start a trace) and expose it to the request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = None
        for name, value in scope["headers"]:
            if name == b"traceparent":
                incoming = value.decode("latin-1")
                break
        traceparent = incoming if is_valid_traceparent(incoming) else new_traceparent()
        token = traceparent_var.set(traceparent)
        try:
            await self.app(scope, receive, send)
        finally:
            traceparent_var.reset(token)
