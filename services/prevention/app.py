"""Prevention service app factory: ``uvicorn services.prevention.app:create_app --factory``."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from kernel.app import create_service_app
from services.prevention import service
from services.prevention.api import routers
from services.prevention.consumers import HANDLERS
from services.prevention.models import idempotency, messaging
from services.prevention.settings import Settings

logger = logging.getLogger("services.prevention.watcher")


async def watch_overdue(app: FastAPI, interval: float) -> None:
    """Periodic job: hazards past their deadline become OVERDUE (state in the DB, restart-safe)."""
    while True:
        try:
            if await service.mark_overdue(app.state.sessionmaker, app.state.outbox, app.state.clock().astimezone(UTC)):
                app.state.outbox_signal.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed round is retried at the next tick
            logger.exception("hazard overdue check failed")
        await asyncio.sleep(interval)


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
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with kernel_lifespan(app_):
            task = None
            if settings.run_overdue_watcher:
                task = asyncio.create_task(watch_overdue(app_, settings.overdue_check_seconds), name="prevention-overdue-watcher")
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
    return app
