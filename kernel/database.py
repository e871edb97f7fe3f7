"""Async SQLAlchemy engine and sessions for one service's own database (SQLite or PostgreSQL).

The request-scoped session commits when the endpoint returns normally and rolls back on any
error, in this one place, so a state change and its outbox event share one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import aiosqlite
from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from kernel.outbox import ENQUEUED


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


BEGIN = "BEGIN IMMEDIATE"
# Rows a SELECT brings back in the same thread hop as its execution; a larger result is fetched on
# in further hops (as SQLAlchemy asks for it), so a streamed result still holds one batch at a time.
PREFETCH_ROWS = 1000


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:6].upper() in _WRITES


class _OneHopCursor:
    """An aiosqlite cursor that costs at most one thread hop per statement instead of three or four.

    aiosqlite runs every call on the connection's own thread, and each call is a round trip of
    about 0.1 ms of CPU (queue, thread wake-up, loop wake-up). SQLAlchemy asks for a cursor, executes,
    fetches and closes: one hop each. Here the cursor is created, executed, its first rows fetched
    and (when exhausted) closed in one hop; what SQLAlchemy reads afterwards is already here.

    A write inside a transaction that already holds the write lock (``BEGIN IMMEDIATE``, WAL) makes
    no hop at all: it cannot wait for a lock, and it is as short as the rows it names. Each hop made
    while holding the only connection waits for a turn of the event loop, which under load is
    shared with every request arriving; fewer hops are what keep the lock short. What may wait or
    run long stays on the thread: the BEGIN (with the first statement), reads, COMMIT (it may
    checkpoint the WAL), ROLLBACK.
    """

    def __init__(self, connection: _OneHopConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> _OneHopCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _run(self, call: Callable[[sqlite3.Cursor], Any]) -> list[Any]:
        # On the connection's thread: begin if due, execute, note what the driver says, fetch the first rows.
        if self._connection.begin_pending:
            self._connection.begin_pending = False
            self._connection._conn.execute(BEGIN)
            self._connection.writing = True
        cursor = self._cursor = self._cursor or self._connection._conn.cursor()
        call(cursor)
        self.description = cursor.description
        rows = cursor.fetchmany(PREFETCH_ROWS) if cursor.description is not None else []
        self.rowcount, self.lastrowid = cursor.rowcount, cursor.lastrowid
        if len(rows) < PREFETCH_ROWS:
            cursor.close()
            self._cursor = None
        return rows

    async def execute(self, sql: str, parameters: Any = None) -> _OneHopCursor:
        if sql == BEGIN:
            # Sent with the transaction's first statement, in its hop: a lock wait happens there.
            self._connection.begin_pending = True
            self._rows, self.description, self.rowcount = [], None, -1
            return self
        params = [] if parameters is None else parameters
        self._rows = await self._call(sql, lambda c: c.execute(sql, params))
        return self

    async def executemany(self, sql: str, parameters: Any) -> _OneHopCursor:
        self._rows = await self._call(sql, lambda c: c.executemany(sql, parameters))
        return self

    async def _call(self, sql: str, call: Callable[[sqlite3.Cursor], Any]) -> list[Any]:
        if self._connection.writing and _is_write(sql):
            return self._run(call)
        return await self._connection._execute(self._run, call)

    def _more(self, size: int | None) -> list[Any]:
        cursor = self._cursor
        if cursor is None:
            return []
        rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        if size is None or len(rows) < size:
            cursor.close()
            self._cursor = None
        return rows

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size or self.arraysize
        if len(self._rows) < size and self._cursor is not None:
            self._rows += await self._connection._execute(self._more, size - len(self._rows))
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchall(self) -> list[Any]:
        if self._cursor is not None:
            self._rows += await self._connection._execute(self._more, None)
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []
        if self._cursor is not None:
            await self._connection._execute(self._more, 0)


class _OneHopConnection(aiosqlite.Connection):
    """aiosqlite's connection (its own thread, so a waiting lock never blocks the event loop), with cursors that hop once."""

    begin_pending = False  # BEGIN IMMEDIATE asked for, to be sent with the next statement
    writing = False  # BEGIN IMMEDIATE done: this connection holds the write lock until COMMIT or ROLLBACK

    def cursor(self) -> _OneHopCursor:  # type: ignore[override]  # awaited through __aenter__ by SQLAlchemy
        return _OneHopCursor(self)

    async def commit(self) -> None:
        if self.begin_pending:  # a transaction without a statement: nothing was begun, nothing to end
            self.begin_pending = False
            return
        self.writing = False
        await super().commit()

    async def rollback(self) -> None:
        if self.begin_pending:
            self.begin_pending = False
            return
        self.writing = False
        await super().rollback()


def _open_sqlite(database: str, **kwargs: Any) -> _OneHopConnection:
    # Writes in a transaction run on the loop's thread, everything else on the connection's own.
    kwargs["check_same_thread"] = False
    connection = _OneHopConnection(lambda: sqlite3.connect(database, **kwargs), iter_chunk_size=64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never keep the process alive
    return connection


def create_engine(url: str, **kwargs) -> AsyncEngine:
    if is_sqlite(url):
        # One writer at a time is SQLite's nature: one pooled connection per file, so requests queue in
        # order for it instead of sleeping in SQLite's busy handler (WAL; busy_timeout for other processes).
        # Nothing may hold a session across a slow wait (a client reading an export, a network call).
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=1, max_overflow=0, **kwargs)

        @event.listens_for(engine.sync_engine, "do_connect")
        def _one_hop_connection(dialect, _record, cargs, cparams):  # pragma: no cover - trivial
            return dialect.dbapi.connect(*cargs, async_creator_fn=_open_sqlite, **cparams)

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
            conn.exec_driver_sql(BEGIN)

        return engine
    # Custom plans: asyncpg prepares every statement, and after five runs PostgreSQL may keep a generic
    # plan made while a table was nearly empty (a sequential scan of the inbox, say); with a table that
    # grows faster than ANALYZE runs, every look-up then scans it (a monitoring rebuild fell from
    # ~7,000 to ~900 events/s). Planning each statement for its own keys costs little here.
    connect_args = {"server_settings": {"plan_cache_mode": "force_custom_plan"}} if make_url(url).get_driver_name() == "asyncpg" else {}
    return create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=connect_args, **kwargs)


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
        enqueued = session.info.get(ENQUEUED, False)
    # Only a transaction that wrote an event wakes the relay: a wake-up costs the relay a claim
    # transaction, which on SQLite queues behind, and ahead of, the requests' own.
    outbox_signal = getattr(request.app.state, "outbox_signal", None)
    if enqueued and outbox_signal is not None:
        outbox_signal.set()


# scope="function": commit before the response is sent, so a failing commit is never answered with success.
SessionDep = Annotated[AsyncSession, Depends(request_session, scope="function")]
