"""Claims service app factory: ``uvicorn services.claims.app:create_app --factory``."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI

from kernel.app import create_service_app
from services.claims import service
from services.claims.api import router
from services.claims.consumers import HANDLERS
from services.claims.models import idempotency, messaging
from services.claims.settings import Settings

logger = logging.getLogger("services.claims.watcher")


async def watch_fast_track(app: FastAPI, interval: float) -> None:
    """Periodic job: raise FastTrackOverdue for claims past their deadline (state in the DB, restart-safe)."""
    while True:
        try:
            await service.raise_overdue(app.state.sessionmaker, app.state.outbox, app.state.clock().astimezone(UTC))
            app.state.outbox_signal.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # a failed round is retried at the next tick
            logger.exception("fast-track overdue check failed")
        await asyncio.sleep(interval)


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
    kernel_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with kernel_lifespan(app_):
            task = None
            if settings.run_overdue_watcher:
                task = asyncio.create_task(watch_fast_track(app_, settings.overdue_check_seconds), name="claims-fast-track-watcher")
            try:
                yield
            finally:
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
    return app
