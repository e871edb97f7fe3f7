"""Claims service app factory: ``uvicorn services.claims.app:create_app --factory``."""

import logging
from datetime import UTC, datetime

from fastapi import FastAPI

from kernel.app import create_service_app
from kernel.deps import add_periodic_job
from services.claims import service
from services.claims.api import router
from services.claims.consumers import HANDLERS
from services.claims.models import idempotency, messaging
from services.claims.settings import Settings

logger = logging.getLogger("services.claims.watcher")


async def raise_fast_track_overdue(app: FastAPI) -> None:
    """FastTrackOverdue for claims past their deadline (state in the DB, restart-safe)."""
    await service.raise_overdue(app.state.sessionmaker, app.state.outbox, app.state.clock().astimezone(UTC))
    app.state.outbox_signal.set()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        service="claims",
        settings=settings,
        tables=messaging,
        routers=[router],
        handlers=HANDLERS,
        title="Claims service 理赔服务",
        description="Accident reports, fast-track 快赔/预赔 clocks, assessment, payments.",
    )
    app.state.idempotency_table = idempotency
    app.state.clock = lambda: datetime.now(UTC)
    if settings.run_overdue_watcher:
        add_periodic_job(app, "claims-fast-track-watcher", settings.overdue_check_seconds, raise_fast_track_overdue)
    return app
