"""Prevention service app factory: ``uvicorn services.prevention.app:create_app --factory``."""

import logging
from datetime import UTC, datetime

from fastapi import FastAPI

from kernel.app import create_service_app
from kernel.deps import add_periodic_job
from services.prevention import service
from services.prevention.api import routers
from services.prevention.consumers import HANDLERS
from services.prevention.models import idempotency, messaging
from services.prevention.settings import Settings

logger = logging.getLogger("services.prevention.watcher")


async def mark_overdue_hazards(app: FastAPI) -> None:
    """Hazards past their deadline become OVERDUE (state in the DB, restart-safe)."""
    if await service.mark_overdue(app.state.sessionmaker, app.state.outbox, app.state.clock().astimezone(UTC)):
        app.state.outbox_signal.set()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = create_service_app(
        service="prevention",
        settings=settings,
        tables=messaging,
        routers=routers,
        handlers=HANDLERS,
        title="Prevention service 事故预防服务",
        description="Technical service institutions, service plans and records, hazard ledger 隐患台账, prevention-fund ledger 事故预防费用台账.",
    )
    app.state.idempotency_table = idempotency
    app.state.clock = lambda: datetime.now(UTC)
    if settings.run_overdue_watcher:
        add_periodic_job(app, "prevention-overdue-watcher", settings.overdue_check_seconds, mark_overdue_hazards)
    return app
