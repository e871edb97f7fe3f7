"""A 100,000-row hazard ledger exported as CSV in constant memory (streamed in keyset batches)."""

from __future__ import annotations

import tracemalloc
from datetime import date
from pathlib import Path

import httpx

from bench.export import seed as seed_many
from contracts.enums import Role
from devstack.broker import free_port
from kernel.database import create_engine
from services.monitoring.ledgers.models import LedgerHazard
from services.monitoring.models import EnterpriseView
from tests.conftest import running_service
from tests.monitoring.test_ledgers import regulator

ROWS = 100_000
# A non-streaming export holds every row (ORM objects ≈ 1 KB each, plus the whole file ≈ 20 MB): far above this.
PEAK_BOUND_MB = 16


async def seed(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                EnterpriseView.__table__.insert(),
                [
                    {
                        "credit_code": "91110108000000001X",
                        "name": "建工1",
                        "industry": "CONSTRUCTION",
                        "district": "朝阳区",
                        "headcount": 10,
                        "jurisdiction": "beijing",
                        "must_insure": True,
                        "last_event_time": date(2026, 1, 1),
                        "updates_applied": 1,
                    }
                ],
            )
            for start in range(0, ROWS, 20_000):
                await conn.execute(
                    LedgerHazard.__table__.insert(),
                    [
                        {
                            "hazard_id": f"H{n:08d}",
                            "credit_code": "91110108000000001X",
                            "insurer": "PICC-BJ",
                            "level": "GENERAL",
                            "description": f"第{n}号隐患：脚手架未设防护栏，安全网破损",
                            "found_on": date(2026, 6, 1),
                            "deadline": date(2026, 7, 31),
                            "status": "RECTIFYING" if n % 2 else "RECTIFIED",
                            "counts_as_self_inspection": not n % 2,
                            "enforcement_basis": not n % 2,
                        }
                        for n in range(start, min(start + 20_000, ROWS))
                    ],
                )
    finally:
        await engine.dispose()


async def test_a_100k_row_hazard_export_streams_in_constant_memory(sqlite_databases, broker, token_mint):
    url = await sqlite_databases.create("monitoring")
    await seed(url)
    headers = regulator(token_mint)
    async with (
        running_service("monitoring", url, broker.bootstrap_servers, token_mint, run_push_delivery=False) as hub,
        httpx.AsyncClient(base_url=hub.url, timeout=120) as client,
    ):
        for fmt in ("csv",):  # XLSX under tracemalloc takes minutes at this size
            tracemalloc.start()
            try:
                size, lines = 0, 0
                async with client.stream("GET", f"/ledgers/hazards.{fmt}", headers=headers) as response:
                    assert response.status_code == 200
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        lines += chunk.count(b"\n")
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            print(f"{fmt}: {size / 2**20:.1f} MB streamed, peak traced memory {peak / 2**20:.1f} MB")
            if fmt == "csv":
                assert lines == ROWS + 2  # the mark's note, the headers, every row
            assert size > PEAK_BOUND_MB * 2**20 / 4
            assert peak < PEAK_BOUND_MB * 2**20, f"{fmt} export peaked at {peak / 2**20:.1f} MB"


async def test_a_bureau_reading_a_large_export_slowly_holds_up_no_other_request(sqlite_databases, token_mint):
    """Each batch is read in a transaction that ends before it is sent: a stalled download holds no connection or lock."""
    url = await sqlite_databases.create("monitoring")
    seed_many(Path(url.split(":///", 1)[1]), 100_000)  # ~10 MB of CSV: far more than the sockets buffer
    admin = token_mint.headers(Role.EMERGENCY_ADMIN, "EMB")
    async with running_service("monitoring", url, f"127.0.0.1:{free_port()}", token_mint, run_consumers=False, run_relay=False,
                               run_push_delivery=False) as hub, httpx.AsyncClient(base_url=hub.url, timeout=60) as client:
        async with client.stream("GET", "/ledgers/hazards.csv", headers=admin) as export:
            assert export.status_code == 200
            chunks = export.aiter_bytes()
            await chunks.__anext__()  # the first chunk, then the client stalls mid-download
            other = await client.get("/enterprises", headers=admin)
            assert other.status_code == 200, other.text
            assert other.json()["items"][0]["credit_code"]
