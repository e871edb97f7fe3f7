"""Monitoring hub app factory: ``uvicorn services.monitoring.app:create_app --factory``."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi

from kernel.app import create_service_app
from kernel.errors import Problem
from services.monitoring.api import document_push, routers
from services.monitoring.consumers import HANDLERS
from services.monitoring.delivery import PushDelivery
from services.monitoring.models import idempotency, messaging
from services.monitoring.service import UploadTooLarge
from services.monitoring.settings import Settings
from services.monitoring.uploads import UploadBodyLimit

UPLOAD_PATH = "/registry/uploads"
# Room for the multipart boundaries and part headers around the file itself.
MULTIPART_OVERHEAD_BYTES = 16 * 1024


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        service="monitoring",
        settings=settings,
        tables=messaging,
        routers=routers,
        handlers=HANDLERS,
        title="Monitoring hub 监管平台",
        description="City-level oversight: read models of every event, coverage 应保尽保, insurer KPIs, ledgers and exports.",
    )
    app.state.idempotency_table = idempotency
    document_push(app.webhooks)
    kernel_openapi = app.openapi

    def openapi() -> dict:
        # The kernel's document has no webhooks section; add what a push subscriber receives.
        schema = kernel_openapi()
        if "webhooks" not in schema:
            pushed = get_openapi(title=app.title, version=app.version, routes=[], webhooks=app.webhooks.routes)
            schema["webhooks"] = pushed.get("webhooks", {})
            for operation in schema["webhooks"].get("cloudevent", {}).values():
                operation.get("responses", {}).pop("422", None)  # the subscriber validates, not us
        return schema

    app.openapi = openapi
    service_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The kernel's lifespan opens the database and runs relay and consumers; push delivery runs inside it.
        async with service_lifespan(app):
            async with httpx.AsyncClient(follow_redirects=False, limits=httpx.Limits(max_connections=50)) as client:
                app.state.http_client = client
                delivery = PushDelivery(settings=settings, sessionmaker=app.state.sessionmaker, client=client)
                app.state.push_delivery = delivery
                if settings.run_push_delivery:
                    delivery.start()
                try:
                    yield
                finally:
                    await delivery.stop()

    app.router.lifespan_context = lifespan

    # A chunked upload declares no length: count its bytes as they arrive and refuse it past the limit.
    app.add_middleware(UploadBodyLimit, path_suffix=UPLOAD_PATH, max_bytes=settings.registry_upload_max_bytes + MULTIPART_OVERHEAD_BYTES)

    @app.middleware("http")
    async def refuse_oversized_uploads(request: Request, call_next):
        # Refuse by the declared length before the multipart body is spooled; the endpoint checks the real size too.
        if request.method == "POST" and request.url.path.endswith(UPLOAD_PATH):
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > settings.registry_upload_max_bytes + MULTIPART_OVERHEAD_BYTES:
                refusal = UploadTooLarge(
                    "registry.upload_too_large",
                    f"文件超过 {settings.registry_upload_max_bytes} 字节上限",
                    f"The file is larger than {settings.registry_upload_max_bytes} bytes",
                    field="file",
                )
                return Problem(refusal.status, refusal.title, refusal.violations).response(request)
        return await call_next(request)

    return app
