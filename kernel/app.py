"""Builds a component's FastAPI app: middleware, errors, health, metrics, and the workers of a service.

A service's ``app.py`` calls :func:`create_service_app` with its settings, tables, routers and
event handlers; the lifespan opens the database, starts the outbox relay and the consumers,
and stops them in reverse order.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from kernel.auth import TokenVerifier
from kernel.consumer import ConsumerRunner, Handler
from kernel.database import create_engine, create_sessionmaker
from kernel.errors import PROBLEM_JSON, install_error_handlers
from kernel.health import install_health
from kernel.logging import configure_logging
from kernel.messaging_tables import MessagingTables
from kernel.metrics import install_metrics
from kernel.outbox import Outbox
from kernel.relay import OutboxRelay
from kernel.settings import PlatformSettings, ServiceSettings
from kernel.tracing import TraceContextMiddleware

PROBLEM_SCHEMA = {
    "title": "Problem",
    "description": "RFC 9457 problem details with the broken rule in Chinese and English",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "detail_zh": {"type": ["string", "null"]},
        "instance": {"type": "string"},
        "request_id": {"type": ["string", "null"]},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["rule", "message_zh", "message_en"],
                "properties": {
                    "field": {"type": ["string", "null"]},
                    "rule": {"type": "string"},
                    "message_zh": {"type": "string"},
                    "message_en": {"type": "string"},
                },
            },
        },
    },
}


def problem_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """OpenAPI where every 4xx answer is documented as problem+json instead of FastAPI's default."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.get("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "A field breaks a rule (字段不符合规则)", "content": problem}
                for code, response in responses.items():
                    if code.startswith("4") and "content" in response and PROBLEM_JSON not in response["content"]:
                        response["content"] = problem
        app.openapi_schema = schema
        return schema

    return openapi


def _base_app(component: str, settings: PlatformSettings, title: str, description: str, lifespan) -> FastAPI:
    configure_logging(component, settings.log_level, settings.log_json)
    app = FastAPI(title=title, description=description, version="1.0.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.component = component
    app.state.token_verifier = TokenVerifier(settings.jwt_public_key_file, settings.jwt_issuer, settings.jwt_audience)
    install_error_handlers(app)
    install_health(app)
    install_metrics(app, component)
    app.add_middleware(TraceContextMiddleware)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    app.openapi = problem_openapi(app)
    return app


def create_service_app(
    *,
    service: str,
    settings: ServiceSettings,
    tables: MessagingTables,
    routers: Sequence[APIRouter],
    handlers: Mapping[str, Handler] | None = None,
    title: str,
    description: str,
) -> FastAPI:
    """A domain service: its database, its outbox relay and its consumers run with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.outbox_signal = asyncio.Event()
        relay = OutboxRelay(
            service=service, settings=settings, sessionmaker=app.state.sessionmaker, tables=tables, signal=app.state.outbox_signal
        )
        consumer = ConsumerRunner(
            service=service, settings=settings, sessionmaker=app.state.sessionmaker, tables=tables, handlers=handlers or {}
        )
        app.state.relay, app.state.consumer = relay, consumer
        if settings.run_relay:
            relay.start()
        if settings.run_consumers:
            consumer.start()
        try:
            yield
        finally:
            await consumer.stop()
            await relay.stop()
            await engine.dispose()

    app = _base_app(service, settings, title, description, lifespan)
    app.state.outbox = Outbox(tables, service)
    for router in routers:
        app.include_router(router)
    return app
