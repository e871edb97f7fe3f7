"""Run an ASGI app on a real TCP port inside the test's event loop (uvicorn, no mock transport)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn

from devstack.broker import free_port


class RunningServer:
    def __init__(self, app, port: int) -> None:
        self.app = app
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # the test runner owns signals
        self._task: asyncio.Task | None = None

    async def start(self) -> "RunningServer":
        self._task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raise the startup error
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self._task is not None:
            await self._task


@contextlib.asynccontextmanager
async def serve(app, port: int | None = None) -> AsyncIterator[RunningServer]:
    running = await RunningServer(app, port or free_port()).start()
    try:
        yield running
    finally:
        await running.stop()
