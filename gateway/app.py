"""Gateway app factory: ``uvicorn gateway.app:create_app --factory``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from gateway import api, docs, health
from gateway.errors import install_gateway_error_handlers
from gateway.openapi import OpenAPIAggregator
from gateway.proxy import ServiceProxy, create_http_client
from gateway.ratelimit import RateLimiter
from gateway.revocations import RevokedClients
from gateway.settings import Settings
from gateway.tokens import TokenIssuer
from kernel.app import _base_app
from kernel.database import create_engine, create_sessionmaker

TITLE = "安责险 platform gateway 网关"
DESCRIPTION = "OAuth2 client-credentials tokens, routing to the policy, claims, prevention and monitoring services, rate limits."
# FastAPI's own documentation routes and the kernel's broker-checking readiness probe give way to the gateway's.
_REPLACED_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/readyz"}


def _drop_routes(app: FastAPI, paths: set[str]) -> None:
    app.router.routes[:] = [route for route in app.router.routes if getattr(route, "path", None) not in paths]
    app.openapi_url = app.docs_url = app.redoc_url = app.swagger_ui_oauth2_redirect_url = None


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Refuse to start with a key the services would not accept, rather than issue useless tokens.
        app.state.token_issuer = TokenIssuer.from_files(
            settings.jwt_private_key_file,
            settings.jwt_public_key_file,
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.token_ttl_seconds,
        )
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        http = create_http_client(
            timeout=settings.upstream_timeout_seconds,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            max_connections=settings.upstream_max_connections,
            max_keepalive=settings.upstream_max_keepalive,
        )
        app.state.http = http
        app.state.proxy = ServiceProxy(http, app.state.service_urls, settings.max_body_bytes)
        app.state.openapi = OpenAPIAggregator(
            docs.own_openapi(app),
            app.state.service_urls,
            http,
            ttl_seconds=settings.openapi_cache_seconds,
            fetch_timeout=settings.upstream_probe_timeout_seconds,
            title="安责险 platform API 安全生产责任保险平台接口",
            version=app.version,
        )
        revoked = RevokedClients(app.state.sessionmaker, settings.revocation_refresh_seconds)
        app.state.revoked_clients = revoked
        try:
            await revoked.start()
            yield
        finally:
            await revoked.stop()
            await http.aclose()
            await engine.dispose()

    app = _base_app("gateway", settings, TITLE, DESCRIPTION, lifespan)
    _drop_routes(app, _REPLACED_ROUTES)
    app.state.service_urls = settings.service_urls()
    app.state.rate_limiter = RateLimiter(settings.rate_limit_storage)
    app.state.rate_limits = RateLimiter.parse(settings.rate_limit)
    app.state.token_rate_limits = RateLimiter.parse(settings.token_rate_limit)
    install_gateway_error_handlers(app)
    app.include_router(health.router)
    app.include_router(docs.router)
    docs.mount_swagger_ui(app)
    app.include_router(api.router)  # last: its /api/v1/{service}/{path} route must not shadow the others
    return app
