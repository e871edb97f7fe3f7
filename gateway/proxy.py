"""Forwarding ``/api/v1/<service>/<path>`` to the service, streaming both ways through one pooled HTTP client.

Large bodies are never held whole: the request body is streamed up as it arrives and the answer is
streamed back as the service produces it, so a large CSV export or a bureau's list upload passes
in constant memory. A body that declares a small Content-Length (most API calls) is passed in one
piece instead: streaming it cost more CPU (a chunk generator, and a task group per streamed answer)
than the call it carries.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from urllib.parse import quote

import httpx
from asgi_correlation_id import correlation_id
from fastapi import Request
from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from gateway.auth import client_ip
from gateway.errors import PayloadTooLarge, UpstreamTimeout, UpstreamUnavailable
from kernel.tracing import child_traceparent, current_traceparent, new_traceparent

logger = logging.getLogger("gateway.proxy")

# RFC 9110 §7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
# Replaced by the gateway's own values rather than passed through.
_REPLACED_UP = frozenset({"host", "x-request-id", "traceparent", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})
# The gateway's own server adds these (and X-Request-ID) to every answer; a second copy would confuse clients.
_REPLACED_DOWN = frozenset({"x-request-id", "date", "server"})
UPSTREAM_KEEPALIVE_SECONDS = 4.0
# Up to this declared Content-Length a body passes in one piece; above it, or without a length, it streams.
WHOLE_BODY_BYTES = 64 * 1024


def _connection_tokens(raw_headers: list[tuple[bytes, bytes]]) -> set[str]:
    """Header names a Connection header declares hop-by-hop (RFC 9110 §7.6.1)."""
    return {
        token.strip().lower()
        for name, value in raw_headers
        if name.lower() == b"connection"
        for token in value.decode("latin-1").split(",")
        if token.strip()
    }


def create_http_client(*, timeout: float, connect_timeout: float, max_connections: int, max_keepalive: int) -> httpx.AsyncClient:
    """The one pooled client for every upstream call: keep-alive connections, no redirects followed."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        # Idle connections are given up before the services' uvicorn closes its side (after 5 s): a
        # request sent on a connection the service is closing fails with ReadError (seen as a 502).
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive, keepalive_expiry=UPSTREAM_KEEPALIVE_SECONDS),
        follow_redirects=False,
        # Service addresses are internal: an HTTP_PROXY meant for the outside world must not capture them.
        trust_env=False,
    )


class ServiceProxy:
    def __init__(self, client: httpx.AsyncClient, service_urls: dict[str, str], max_body_bytes: int) -> None:
        self.client = client
        self.service_urls = service_urls
        self.max_body_bytes = max_body_bytes

    def _upstream_url(self, request: Request, service: str, path: str) -> str:
        # Forward the path as the client encoded it (raw_path), so "%2F" inside a segment stays one segment.
        prefix = f"/api/v1/{service}".encode()
        raw = request.scope.get("raw_path") or request.url.path.encode()
        rest = raw[len(prefix) :].decode("latin-1") if raw.startswith(prefix + b"/") else "/" + quote(path)
        query = request.scope.get("query_string", b"").decode("latin-1")
        return f"{self.service_urls[service]}{rest}" + (f"?{query}" if query else "")

    def _upstream_headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        dropped = HOP_BY_HOP | _REPLACED_UP | _connection_tokens(request.headers.raw)
        headers = [(name, value) for name, value in request.headers.raw if name.decode("latin-1").lower() not in dropped]
        traceparent = current_traceparent() or new_traceparent()
        headers += [
            (b"x-request-id", (correlation_id.get() or "").encode("latin-1")),
            (b"traceparent", child_traceparent(traceparent).encode()),
            # One address the services can trust: the peer, or the client a trusted proxy named (uvicorn
            # resolves X-Forwarded-For from --forwarded-allow-ips); a chain sent by the client itself is not kept.
            (b"x-forwarded-for", client_ip(request).encode("latin-1")),
            (b"x-forwarded-proto", request.url.scheme.encode()),
        ]
        if "host" in request.headers:
            headers.append((b"x-forwarded-host", request.headers["host"].encode("latin-1")))
        return headers

    async def _request_body(self, request: Request) -> AsyncIterator[bytes] | bytes | None:
        length = request.headers.get("content-length")
        if length is not None:
            if int(length) > self.max_body_bytes:
                raise PayloadTooLarge(self.max_body_bytes)
            if int(length) == 0:
                return None
            if int(length) <= WHOLE_BODY_BYTES:
                return await request.body()
        elif "chunked" not in request.headers.get("transfer-encoding", "").lower():
            return None
        return self._limited(request)

    async def _limited(self, request: Request) -> AsyncIterator[bytes]:
        # A chunked upload declares no length: count as it flows and stop at the limit.
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > self.max_body_bytes:
                raise PayloadTooLarge(self.max_body_bytes)
            if chunk:
                yield chunk

    def _downstream_headers(self, upstream: httpx.Response, service: str) -> list[tuple[bytes, bytes]]:
        dropped = HOP_BY_HOP | _REPLACED_DOWN | _connection_tokens(upstream.headers.raw)
        base = self.service_urls[service]
        headers = []
        for name, value in upstream.headers.raw:
            lowered = name.decode("latin-1").lower()
            if lowered in dropped:
                continue
            if lowered == "location" and value.decode("latin-1").startswith(base):
                # A redirect names the service's own address; point it back through the gateway.
                value = f"/api/v1/{service}{value.decode('latin-1')[len(base):]}".encode("latin-1")
            headers.append((name.lower(), value))
        return headers

    async def forward(self, request: Request, service: str, path: str, extra_headers: dict[str, str]) -> Response:
        upstream_request = self.client.build_request(
            request.method,
            self._upstream_url(request, service, path),
            headers=self._upstream_headers(request),
            content=await self._request_body(request),
        )
        try:
            upstream = await self.client.send(upstream_request, stream=True)
        except httpx.TimeoutException as exc:
            logger.warning("%s did not answer %s %s in time: %r", service, request.method, request.url.path, exc)
            raise UpstreamTimeout(service) from None
        except httpx.TransportError as exc:
            logger.warning("%s could not be reached for %s %s: %r", service, request.method, request.url.path, exc)
            raise UpstreamUnavailable(service) from None

        headers = self._downstream_headers(upstream, service) + [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in extra_headers.items()
        ]
        length = upstream.headers.get("content-length", "")
        if length.isdigit() and int(length) <= WHOLE_BODY_BYTES:
            response: Response = Response(await self._whole(upstream, service), status_code=upstream.status_code)
        else:
            response = StreamingResponse(self._relay(upstream, service), status_code=upstream.status_code, background=BackgroundTask(upstream.aclose))
        response.raw_headers = headers
        return response

    @staticmethod
    async def _whole(upstream: httpx.Response, service: str) -> bytes:
        try:
            # Raw bytes, as when streaming: a gzip answer stays gzip, and its Content-Length stays true.
            return b"".join([chunk async for chunk in upstream.aiter_raw()])
        except httpx.TimeoutException as exc:
            logger.warning("%s did not finish a response in time: %r", service, exc)
            raise UpstreamTimeout(service) from None
        except httpx.HTTPError as exc:
            # No status line has gone out yet: the client gets a 502 instead of a broken connection.
            logger.warning("%s broke off a response: %r", service, exc)
            raise UpstreamUnavailable(service) from None
        finally:
            await upstream.aclose()

    @staticmethod
    async def _relay(upstream: httpx.Response, service: str) -> AsyncIterator[bytes]:
        try:
            # Raw bytes: a gzip answer stays gzip, and its Content-Length stays true.
            async for chunk in upstream.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            # The status line is gone already; breaking the connection is the only honest signal left.
            logger.warning("%s broke off a response: %r", service, exc)
            raise
        finally:
            await upstream.aclose()
