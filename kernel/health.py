"""Liveness (``/healthz``: the process answers) and readiness (``/readyz``: database and broker answer)."""

from __future__ import annotations

import asyncio
import time

from aiokafka import AIOKafkaClient
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

_CACHE_SECONDS = 2.0


async def _database_ok(request: Request) -> bool:
    try:
        async with request.app.state.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=3)
        return True
    except Exception:
        return False


async def _broker_ok(bootstrap_servers: str) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=3)
        return True
    except Exception:
        return False
    finally:
        await client.close()


def install_health(app: FastAPI, *, check_broker: bool = True) -> None:
    cache: dict[str, tuple[float, bool]] = {}

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = {"database": await _database_ok(request)}
        if check_broker:
            now = time.monotonic()
            cached = cache.get("broker")
            if cached is None or now - cached[0] > _CACHE_SECONDS or not cached[1]:
                cache["broker"] = (now, await _broker_ok(request.app.state.settings.kafka_bootstrap_servers))
            checks["broker"] = cache["broker"][1]
        ready = all(checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks}, status_code=200 if ready else 503)
