"""Fixtures with real parts: the Tansu broker on a free port, SQLite files, and PostgreSQL when it answers.

PostgreSQL: when 127.0.0.1:5432 accepts a connection (it does on CI), every test that asks for a
database backend runs on it too, each database created for the test and dropped after the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from devstack.broker import EmbeddedBroker, free_port
from kernel.migrate import COMPONENTS, upgrade
from tests.support.servers import RunningServer
from tests.support.tokens import TokenMint

PG_HOST, PG_PORT = "127.0.0.1", 5432
PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres")
RUN_ID = uuid.uuid4().hex[:8]


def _postgres_answers() -> bool:
    try:
        with socket.create_connection((PG_HOST, PG_PORT), timeout=1):
            return True
    except OSError:
        return False


POSTGRES = _postgres_answers()
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES, reason="no PostgreSQL on 127.0.0.1:5432"))]


@pytest.fixture
def broker(tmp_path) -> EmbeddedBroker:
    """A broker of the test's own (Tansu starts in milliseconds): topics and groups never leak between tests."""
    log = tmp_path / "tansu.log"
    running = EmbeddedBroker(port=free_port(), log_path=log).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def token_mint(tmp_path_factory) -> TokenMint:
    return TokenMint(tmp_path_factory.mktemp("keys"))


class Databases:
    """Creates one fresh, migrated database per (component, test) on the chosen backend."""

    def __init__(self, backend: str, directory: Path) -> None:
        self.backend = backend
        self.directory = directory
        self.created: list[str] = []

    async def create(self, component: str, migrate: bool = True) -> str:
        name = f"azx_{RUN_ID}_{component}_{len(self.created)}_{uuid.uuid4().hex[:6]}"
        if self.backend == "sqlite":
            url = f"sqlite+aiosqlite:///{self.directory / name}.db"
        else:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            try:
                await conn.execute(f'CREATE DATABASE "{name}"')
            finally:
                await conn.close()
            self.created.append(name)
            url = f"postgresql+asyncpg://postgres@{PG_HOST}:{PG_PORT}/{name}"
        if migrate:
            await asyncio.to_thread(upgrade, component, url)
        return url

    async def drop_all(self) -> None:
        if not self.created:
            return
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            for name in self.created:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest.fixture(params=BACKENDS)
async def databases(request, tmp_path) -> AsyncIterator[Databases]:
    dbs = Databases(request.param, tmp_path)
    yield dbs
    await dbs.drop_all()


@pytest.fixture
async def sqlite_databases(tmp_path) -> AsyncIterator[Databases]:
    yield Databases("sqlite", tmp_path)


def service_settings(component: str, database_url: str, bootstrap: str, mint: TokenMint, **overrides):
    module = __import__(f"{COMPONENTS[component]}.settings", fromlist=["Settings"])
    # A group of its own per test: offsets and members of one test never leak into the next.
    overrides.setdefault("consumer_group", f"{component}-{uuid.uuid4().hex[:8]}")
    overrides.setdefault("log_json", False)
    overrides.setdefault("log_level", "WARNING")
    return module.Settings(
        database_url=database_url, kafka_bootstrap_servers=bootstrap, jwt_public_key_file=mint.public_key_file, **overrides
    )


@contextlib.asynccontextmanager
async def running_service(component: str, database_url: str, bootstrap: str, mint: TokenMint, **overrides):
    """A service app on a real port with its relay and consumers, against the given broker."""
    module = __import__(f"{COMPONENTS[component]}.app", fromlist=["create_app"])
    app = module.create_app(service_settings(component, database_url, bootstrap, mint, **overrides))
    server = await RunningServer(app, free_port()).start()
    try:
        yield server
    finally:
        await server.stop()
