"""Readiness of the gateway: its own database and every service it routes to (each reported by name)."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

router = APIRouter(include_in_schema=False)


async def _database_ok(request: Request, timeout: float) -> bool:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=timeout)
        return True
    except (SQLAlchemyError, OSError, TimeoutError):
        return False


async def _service_ready(client: httpx.AsyncClient, url: str, timeout: float) -> bool:
    try:
        return (await client.get(f"{url}/readyz", timeout=timeout)).status_code == 200
    except httpx.HTTPError:
        return False


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    timeout = settings.upstream_probe_timeout_seconds
    urls: dict[str, str] = request.app.state.service_urls
    database, *services = await asyncio.gather(
        _database_ok(request, timeout), *(_service_ready(request.app.state.http, url, timeout) for url in urls.values())
    )
    checks = {"database": database, **dict(zip(urls, services))}
    ready = all(checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503)
