"""What the gateway tests share: echoing stand-ins for the services, the gateway's settings, clients and tokens."""


import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel

from contracts.enums import Role
from gateway.app import create_app
from gateway.settings import Settings
from kernel.app import problem_openapi
from kernel.errors import PROBLEM_RESPONSES
from tests.support.servers import RunningServer, serve

CHUNK = 64 * 1024


# --- upstream services: echo what they received, stream big bodies, document colliding schemas ---------


class PolicyItem(BaseModel):
    name: str
    premium: str


class ClaimsItem(BaseModel):
    claim_no: str
    amount: str


def echo_app(service: str, item_model: type[BaseModel]) -> FastAPI:
    """A stand-in for a platform service: a few documented operations and a catch-all echo."""
    app = FastAPI(title=f"{service} test service", description=f"echoes for {service}")
    app.openapi = problem_openapi(app)
    app.state.upload_started = asyncio.Event()
    app.state.download_release = asyncio.Event()

    # Same schema names in every service, different contents: the merge must tell them apart.
    Item = type("Item", (item_model,), {"__module__": __name__})
    Page = type("Page", (BaseModel,), {"__annotations__": {"items": list[Item]}, "__module__": __name__})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict:
        return {"status": "ready"}

    @app.get("/items", response_model=Page, operation_id="list_items", tags=["items"], responses=PROBLEM_RESPONSES)
    async def list_items() -> dict:
        return {"items": []}

    @app.post("/items", response_model=Item, operation_id="create_item", tags=["items"], responses=PROBLEM_RESPONSES)
    async def create_item(item: Item) -> Item:  # type: ignore[valid-type]
        return item

    if service == "monitoring":

        @app.get("/public/evaluations", operation_id="public_evaluations")
        async def public_evaluations() -> dict:
            return {"published": True}

    @app.get("/download", include_in_schema=False)
    async def download(size: int) -> StreamingResponse:
        async def body():
            yield b"x" * CHUNK
            # Held back until the test has read the first chunk through the gateway: a gateway that
            # buffered the whole answer would never deliver that chunk.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(app.state.download_release.wait(), 10)
            sent = CHUNK
            while sent < size:
                n = min(CHUNK, size - sent)
                yield b"y" * n
                sent += n

        return StreamingResponse(body(), media_type="text/csv")

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> dict:
        digest, length = hashlib.sha256(), 0
        async for chunk in request.stream():
            if chunk:
                app.state.upload_started.set()
            digest.update(chunk)
            length += len(chunk)
        return {"length": length, "sha256": digest.hexdigest()}

    @app.get("/slow", include_in_schema=False)
    async def slow() -> dict:
        await asyncio.sleep(1.0)
        return {"slow": True}

    @app.get("/moved", include_in_schema=False)
    async def moved(request: Request) -> RedirectResponse:
        return RedirectResponse(str(request.url_for("list_items")) + "?page=2", status_code=307)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def echo(request: Request, path: str) -> JSONResponse:
        body = await request.body()
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return JSONResponse(
            {
                "service": service,
                "method": request.method,
                "path": request.scope["raw_path"].decode(),
                "query": request.scope["query_string"].decode(),
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
            },
            headers={"X-Upstream": service, "Set-Cookie": "a=1"},
        )

    return app


@dataclass
class Upstreams:
    urls: dict[str, str]
    apps: dict[str, FastAPI]



@dataclass
class GatewayEnv:
    private_key: Path
    public_key: Path
    database_url: str

    def settings(self, upstreams: Upstreams, **overrides) -> Settings:
        values = {
            "database_url": self.database_url,
            "jwt_private_key_file": self.private_key,
            "jwt_public_key_file": self.public_key,
            "policy_url": upstreams.urls["policy"],
            "claims_url": upstreams.urls["claims"],
            "prevention_url": upstreams.urls["prevention"],
            "monitoring_url": upstreams.urls["monitoring"],
            "rate_limit": "1000/second",
            "token_rate_limit": "1000/minute",
            "revocation_refresh_seconds": 0.1,
            "upstream_timeout_seconds": 5,
            "upstream_probe_timeout_seconds": 1,
            "log_json": False,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)


@contextlib.asynccontextmanager
async def running_gateway(env: GatewayEnv, upstreams: Upstreams, **overrides) -> AsyncIterator[RunningServer]:
    async with serve(create_app(env.settings(upstreams, **overrides))) as server:
        yield server


# --- clients and tokens --------------------------------------------------------------------------------

ROLE_TENANTS = {
    Role.INSURER: ("PICC-BJ", ()),
    Role.SERVICE_ORG: ("SAFE-TECH-01", ()),
    Role.BUREAU: ("BJ-ZJW", ("CONSTRUCTION", "TRANSPORT")),
    Role.EMERGENCY_ADMIN: ("BJ-YJJ", ()),
    Role.FINANCE_REGULATOR: ("BJ-JRJ", ()),
    Role.MUNICIPAL_PLATFORM: ("BJ-CITY", ()),
}


async def request_token(http: httpx.AsyncClient, gateway_url: str, client: dict, **form) -> httpx.Response:
    data = {"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"], **form}
    return await http.post(f"{gateway_url}/oauth/token", data=data)


async def access_token(http: httpx.AsyncClient, gateway_url: str, client: dict, **form) -> str:
    response = await request_token(http, gateway_url, client, **form)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


