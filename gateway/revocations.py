"""The set of revoked clients, kept in memory and re-read every few seconds so checking a token costs nothing.

A client revoked with ``python -m gateway.cli revoke`` (another process) is refused by every
gateway replica within one refresh interval, even with a token that has not yet expired.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway import service

logger = logging.getLogger("gateway.revocations")


class RevokedClients:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], refresh_seconds: float) -> None:
        self.sessionmaker = sessionmaker
        self.refresh_seconds = refresh_seconds
        self.client_ids: frozenset[str] = frozenset()
        self._task: asyncio.Task | None = None

    def __contains__(self, client_id: str) -> bool:
        return client_id in self.client_ids

    async def refresh(self) -> None:
        async with self.sessionmaker() as session:
            self.client_ids = await service.revoked_client_ids(session)

    async def start(self) -> None:
        # The first read happens before the gateway answers anything: never serve with an unknown list.
        await self.refresh()
        self._task = asyncio.create_task(self._run(), name="gateway-revocations")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await self.refresh()
            except Exception:
                # Keep the last known list; the database may be back on the next pass.
                logger.warning("could not refresh the revoked clients; keeping the last list", exc_info=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
