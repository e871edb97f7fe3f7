"""One OpenAPI document for the whole platform: the gateway's own operations plus every service's, as seen through the gateway.

Each service's ``/openapi.json`` is fetched (and kept for a short while); its paths get the
``/api/v1/<service>`` prefix, its operation ids and tags the service name, and every operation the
gateway's OAuth2 security. Component names two services use for *different* things are prefixed
with the service name (``policy_Item``, ``claims_Item``) and every ``$ref`` follows; components
that are the same everywhere (``Problem``) appear once. A service that is down is left out and
named under ``x-unavailable-services`` instead of failing the whole document.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from contracts.auth import ROLE_SCOPES
from gateway.auth import PUBLIC_PATHS

logger = logging.getLogger("gateway.openapi")

GATEWAY = "gateway"
OAUTH2 = "OAuth2ClientCredentials"
BEARER = "BearerToken"
CLIENT_BASIC = "ClientSecretBasic"
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_LOCAL_REF = re.compile(r"^#/components/([^/]+)/(.+)$")
# A service that was down is asked again sooner than the normal cache time.
_RETRY_UNAVAILABLE_SECONDS = 5.0

_PROBLEM_REF = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
GATEWAY_RESPONSES: dict[str, dict[str, Any]] = {
    "401": {"description": "Missing, invalid, expired or revoked token (未认证)", "content": _PROBLEM_REF},
    "429": {
        "description": "Rate limit of this client reached; see Retry-After (请求过于频繁)",
        "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}},
        "content": _PROBLEM_REF,
    },
    "502": {"description": "The service cannot be reached (服务不可达)", "content": _PROBLEM_REF},
    "504": {"description": "The service did not answer in time (服务超时)", "content": _PROBLEM_REF},
}


def security_schemes(token_url: str = "/oauth/token") -> dict[str, Any]:
    scopes = sorted({scope for role_scopes in ROLE_SCOPES.values() for scope in role_scopes})
    return {
        OAUTH2: {
            "type": "oauth2",
            "description": "Client credentials (RFC 6749 §4.4): POST client_id and client_secret to the token URL",
            "flows": {"clientCredentials": {"tokenUrl": token_url, "scopes": {s: _scope_description(s) for s in scopes}}},
        },
        BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "An access token from POST /oauth/token"},
        CLIENT_BASIC: {"type": "http", "scheme": "basic", "description": "client_id and client_secret (RFC 6749 §2.3.1)"},
    }


def _scope_description(scope: str) -> str:
    area, _, access = scope.partition(":")
    return f"{access} {area}"


def _rewrite_refs(node: Any, rename: Callable[[str], str]) -> Any:
    """A deep copy of ``node`` with every ``$ref`` passed through ``rename``."""
    if isinstance(node, dict):
        return {key: rename(value) if key == "$ref" and isinstance(value, str) else _rewrite_refs(value, rename) for key, value in node.items()}
    if isinstance(node, list):
        return [_rewrite_refs(item, rename) for item in node]
    return node


def _component_renames(sources: dict[str, dict]) -> dict[tuple[str, str, str], str]:
    """(source, section, name) -> new name, for every component name that means different things in different sources.

    Repeated until nothing changes: once ``Item`` is split, a ``Page`` that refers to it differs
    between services too, even if its own text was the same.
    """
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    for source, document in sources.items():
        for section, entries in (document.get("components") or {}).items():
            if section == "securitySchemes":
                continue  # the gateway's own schemes replace the services'
            for name, definition in entries.items():
                by_name.setdefault((section, name), {})[source] = definition

    renames: dict[tuple[str, str, str], str] = {}
    changed = True
    while changed:
        changed = False
        for (section, name), definitions in by_name.items():
            if len(definitions) < 2 or (next(iter(definitions)), section, name) in renames:
                continue
            seen = [_rewrite_refs(definition, _renamer(source, renames)) for source, definition in definitions.items()]
            if any(other != seen[0] for other in seen[1:]):
                for source in definitions:
                    renames[(source, section, name)] = f"{source}_{name}"
                changed = True
    return renames


def _renamer(source: str, renames: dict[tuple[str, str, str], str]) -> Callable[[str], str]:
    def rename(ref: str) -> str:
        match = _LOCAL_REF.match(ref)
        if not match:
            return ref
        section, name = match.groups()
        new_name = renames.get((source, section, name))
        return f"#/components/{section}/{new_name}" if new_name else ref

    return rename


def _is_public(service: str, path: str) -> bool:
    prefix = PUBLIC_PATHS.get(service)
    return prefix is not None and path.lstrip("/").split("/", 1)[0] == prefix


def merge_documents(own: dict, services: dict[str, dict], *, unavailable: list[str], title: str, version: str) -> dict:
    """The platform document from the gateway's own and each reachable service's OpenAPI document."""
    sources = {GATEWAY: own, **services}
    renames = _component_renames(sources)

    components: dict[str, dict[str, Any]] = {}
    for source, document in sources.items():
        rename = _renamer(source, renames)
        for section, entries in (document.get("components") or {}).items():
            if section == "securitySchemes":
                continue
            target = components.setdefault(section, {})
            for name, definition in entries.items():
                target.setdefault(renames.get((source, section, name), name), _rewrite_refs(definition, rename))
    components["securitySchemes"] = security_schemes()

    paths: dict[str, Any] = {}
    for path, item in (own.get("paths") or {}).items():
        paths[path] = _rewrite_refs(item, _renamer(GATEWAY, renames))
    tags = [{"name": GATEWAY, "description": "Access tokens and signing keys (访问令牌与公钥)"}]
    for service, document in services.items():
        rename = _renamer(service, renames)
        for path, item in (document.get("paths") or {}).items():
            item = _rewrite_refs(item, rename)
            public = _is_public(service, path)
            for method, operation in item.items():
                if method not in HTTP_METHODS:
                    continue
                if "operationId" in operation:
                    operation["operationId"] = f"{service}_{operation['operationId']}"
                operation["tags"] = [service]
                # Public disclosure paths pass without a token; everything else needs one.
                operation["security"] = [] if public else [{OAUTH2: []}, {BEARER: []}]
                responses = operation.setdefault("responses", {})
                for code, response in GATEWAY_RESPONSES.items():
                    if code == "401" and public:
                        continue
                    responses.setdefault(code, copy.deepcopy(response))
            paths[f"/api/v1/{service}{path}"] = item
        info = document.get("info") or {}
        description = " — ".join(part for part in (info.get("title"), info.get("description")) if part)
        tags.append({"name": service, "description": description or service})

    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every operation of the platform through its gateway. Get a token with POST /oauth/token "
            "(client credentials), then send it as `Authorization: Bearer …`.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": components,
        "tags": tags,
        "x-unavailable-services": sorted(unavailable),
    }


class OpenAPIAggregator:
    """Builds the merged document on demand and keeps it for ``ttl_seconds``."""

    def __init__(
        self,
        own: Callable[[], dict],
        service_urls: dict[str, str],
        client: httpx.AsyncClient,
        *,
        ttl_seconds: float,
        fetch_timeout: float,
        title: str,
        version: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.own = own
        self.service_urls = service_urls
        self.client = client
        self.ttl_seconds = ttl_seconds
        self.fetch_timeout = fetch_timeout
        self.title = title
        self.version = version
        self.clock = clock
        self._document: dict | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _fetch(self, service: str, url: str) -> dict | None:
        try:
            response = await self.client.get(f"{url}/openapi.json", timeout=self.fetch_timeout)
            response.raise_for_status()
            document = response.json()
            if not isinstance(document, dict) or "paths" not in document:
                raise ValueError("not an OpenAPI document")
            return document
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("left %s out of the merged OpenAPI document: %r", service, exc)
            return None

    async def document(self) -> dict:
        async with self._lock:  # one refresh at a time; the others wait and share its result
            if self._document is not None and self.clock() < self._expires_at:
                return self._document
            names = list(self.service_urls)
            fetched = await asyncio.gather(*(self._fetch(name, self.service_urls[name]) for name in names))
            services = {name: doc for name, doc in zip(names, fetched) if doc is not None}
            unavailable = [name for name, doc in zip(names, fetched) if doc is None]
            self._document = merge_documents(self.own(), services, unavailable=unavailable, title=self.title, version=self.version)
            ttl = min(self.ttl_seconds, _RETRY_UNAVAILABLE_SECONDS) if unavailable else self.ttl_seconds
            self._expires_at = self.clock() + ttl
            return self._document
