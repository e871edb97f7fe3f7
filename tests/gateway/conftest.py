"""Fixtures for the gateway: real keys, a migrated SQLite file, echoing upstream services and the gateway, all on real ports."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from contracts.enums import Role
from devstack.broker import free_port
from gateway.cli import create_client_in
from gateway.keys import ensure_keypair
from kernel.migrate import upgrade
from tests.gateway.gateway_support import (
    ROLE_TENANTS,
    ClaimsItem,
    GatewayEnv,
    PolicyItem,
    Upstreams,
    access_token,
    echo_app,
    running_gateway,
)
from tests.support.servers import RunningServer, serve


@pytest.fixture(scope="session")
async def upstreams() -> AsyncIterator[Upstreams]:
    apps = {"policy": echo_app("policy", PolicyItem), "claims": echo_app("claims", ClaimsItem), "monitoring": echo_app("monitoring", PolicyItem)}
    async with contextlib.AsyncExitStack() as stack:
        urls = {name: (await stack.enter_async_context(serve(app))).url for name, app in apps.items()}
        # Nothing listens here: the prevention service is "down".
        urls["prevention"] = f"http://127.0.0.1:{free_port()}"
        yield Upstreams(urls, apps)


# --- the gateway ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def gateway_env(tmp_path_factory) -> GatewayEnv:
    directory = tmp_path_factory.mktemp("gateway")
    private_key, public_key = ensure_keypair(directory / "keys")
    url = f"sqlite+aiosqlite:///{directory / 'gateway.db'}"
    await asyncio.to_thread(upgrade, "gateway", url)
    return GatewayEnv(private_key, public_key, url)


@pytest.fixture(scope="session")
async def gateway(gateway_env, upstreams) -> AsyncIterator[RunningServer]:
    async with running_gateway(gateway_env, upstreams) as server:
        yield server


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=20) as client:
        yield client


# --- clients and tokens --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
async def clients(gateway_env) -> dict[Role, dict]:
    """One active client per role, created the way the launcher does it."""
    created = {}
    for role, (tenant, industries) in ROLE_TENANTS.items():
        created[role] = await create_client_in(gateway_env.database_url, f"test {role.value}", role.value, tenant, industries)
    return created


@pytest.fixture(scope="session")
async def insurer_token(http, gateway, clients) -> str:
    return await access_token(http, gateway.url, clients[Role.INSURER])


@pytest.fixture
def bearer(insurer_token) -> dict[str, str]:
    return {"Authorization": f"Bearer {insurer_token}"}
