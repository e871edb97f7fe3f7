"""Async SQLAlchemy engine and sessions for one service's own database (SQLite or PostgreSQL).

The request-scoped session commits when the endpoint returns normally and rolls back on any
error, in this one place, so a state change and its outbox event share one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs) -> AsyncEngine:
    if is_sqlite(url):
        # One writer at a time is SQLite's nature; WAL lets readers proceed and busy_timeout queues writers.
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        # pysqlite's own BEGIN handling defers locks badly for async use; emit BEGIN IMMEDIATE ourselves
        # so two writers queue on busy_timeout instead of failing with "database is locked" on upgrade.
        @event.listens_for(engine.sync_engine, "connect")
        def _no_pysqlite_begin(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn):  # pragma: no cover - trivial
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise
    outbox_signal = getattr(request.app.state, "outbox_signal", None)
    if outbox_signal is not None:
        outbox_signal.set()


# scope="function": commit before the response is sent, so a failing commit is never answered with success.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
