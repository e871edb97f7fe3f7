"""Request dependencies and a periodic background job that several services share.

``Now`` is the service clock (``app.state.clock``, replaceable in tests, always UTC); ``OutboxDep``
the service's transactional outbox; ``add_periodic_job`` runs a job every ``interval`` seconds
inside the app's lifespan (the claims fast-track watcher, the prevention overdue watcher).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from kernel.outbox import Outbox

logger = logging.getLogger("kernel.jobs")


def current_time(request: Request) -> datetime:
    """The service clock (``app.state.clock``), replaceable in tests; always UTC."""
    clock: Callable[[], datetime] = request.app.state.clock
    return clock().astimezone(UTC)


def current_outbox(request: Request) -> Outbox:
    return request.app.state.outbox


Now = Annotated[datetime, Depends(current_time)]
OutboxDep = Annotated[Outbox, Depends(current_outbox)]


def add_periodic_job(app: FastAPI, name: str, interval: float, job: Callable[[FastAPI], Awaitable[None]]) -> None:
    """Run ``job(app)`` every ``interval`` seconds while the app runs; a failed round is retried at the next tick."""
    inner = app.router.lifespan_context

    async def loop() -> None:
        while True:
            try:
                await job(app)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("periodic job %s failed", name)
            await asyncio.sleep(interval)

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        async with inner(app_):
            task = asyncio.create_task(loop(), name=name)
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app.router.lifespan_context = lifespan
