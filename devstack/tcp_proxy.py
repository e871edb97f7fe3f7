"""A TCP proxy put between the services and the broker, to cut, pause or slow the path.

Used by the event-delivery tests and by the fault-injection run (``make faults``, bench/faults.py):
``cut`` refuses new connections and drops the open ones, ``pause`` keeps connections open but
forwards nothing until ``resume``, ``delay_seconds`` slows every chunk.
"""

from __future__ import annotations

import asyncio
import contextlib


class TcpProxy:
    def __init__(self, listen_port: int, target_host: str, target_port: int) -> None:
        self.listen_port = listen_port
        self.target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task] = set()
        self.delay_seconds = 0.0
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port, reuse_address=True)
        return self

    async def cut(self) -> None:
        """Stop listening and drop every open connection: the broker is unreachable."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._connections):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        self._connections.clear()

    def pause(self) -> None:
        """Hold every byte in both directions; connections stay open (a stalled network)."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        self.resume()
        await self.cut()
        for task in list(self._tasks):
            task.cancel()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._connections.update({writer, up_writer})
        for src, dst in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(src, dst))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                if self.delay_seconds:
                    await asyncio.sleep(self.delay_seconds)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            self._connections.discard(writer)
            with contextlib.suppress(Exception):
                writer.transport.abort()
