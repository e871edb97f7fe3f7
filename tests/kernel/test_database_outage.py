"""A request that meets an unreachable database gets 503 problem+json with Retry-After, not a 500."""

from __future__ import annotations

import httpx

from contracts.enums import Role
from devstack.broker import free_port
from tests.conftest import running_service
from tests.support.factories import enterprise_body


async def test_an_unreachable_database_answers_503_with_retry_after(token_mint):
    nowhere = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/policy"
    async with running_service(
        "policy", nowhere, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False
    ) as policy, httpx.AsyncClient(base_url=policy.url, timeout=20) as client:
        insurer = token_mint.headers(Role.INSURER, "INS-A")
        response = await client.post("/enterprises", json=enterprise_body(1), headers=insurer)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["retry-after"] == "2"
        body = response.json()
        assert body["type"].endswith("database_unavailable") and "Traceback" not in response.text
        assert body["errors"][0]["message_zh"] and body["errors"][0]["message_en"]
        assert (await client.get("/readyz")).status_code == 503
