"""Ledger export of a large hazard ledger as CSV and XLSX: rows per second and the server's peak memory.

    python -m bench.export [--rows 1000000] [--formats csv,xlsx]

Fills a monitoring-hub SQLite database with ``--rows`` hazard-ledger rows, starts the hub as its
own process (uvicorn, as in production), streams ``GET /ledgers/hazards.csv`` and ``.xlsx`` as a
regulator, and reads the server process's peak resident memory (``VmHWM``) before and after.
Baseline, same run: the same rows read with sqlite3 and written with the csv module to nothing,
in one process, no HTTP. Targets: CSV ≥ 50,000 rows/s with peak memory under 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives import serialization

from contracts.auth import JWT_ALGORITHM, ROLE_SCOPES
from contracts.enums import Role
from devstack.broker import free_port, wait_for_port
from gateway.keys import ensure_keypair
from kernel.migrate import upgrade

CODE = "91110108000000001X"


def seed(path: Path, rows: int) -> None:
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO enterprise_view (credit_code, name, industry, district, headcount, jurisdiction, must_insure, last_event_time, updates_applied)"
            " VALUES (?, '基准建工', 'CONSTRUCTION', '朝阳区', 10, 'beijing', 1, '2027-01-01 00:00:00', 1)", (CODE,),
        )
        batch = 50_000
        for start in range(0, rows, batch):
            db.executemany(
                "INSERT INTO ledger_hazard (hazard_id, credit_code, insurer, level, description, found_on, deadline, status,"
                " counts_as_self_inspection, enforcement_basis) VALUES (?, ?, 'INS-BENCH', 'GENERAL', ?, '2027-06-01', '2027-07-31', ?, ?, ?)",
                ((f"H{n:09d}", CODE, f"第{n}号隐患：脚手架未设防护栏，安全网破损", "RECTIFYING" if n % 2 else "RECTIFIED", n % 2 == 0, n % 2 == 0)
                 for n in range(start, min(start + batch, rows))),
            )
        db.commit()


def baseline(path: Path) -> dict:
    """The same rows straight from SQLite through the csv module, no service in between."""
    started = time.perf_counter()
    out = io.StringIO()
    writer = csv.writer(out)
    count = 0
    with sqlite3.connect(path) as db:
        cursor = db.execute("SELECT hazard_id, credit_code, insurer, level, description, found_on, deadline, status,"
                            " counts_as_self_inspection, enforcement_basis FROM ledger_hazard ORDER BY hazard_id")
        while rows := cursor.fetchmany(5000):
            writer.writerows(rows)
            count += len(rows)
            out.seek(0)
            out.truncate()
    seconds = time.perf_counter() - started
    return {"rows": count, "seconds": round(seconds, 2), "rows_per_second": round(count / seconds)}


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def token(private_key: Path) -> str:
    key = serialization.load_pem_private_key(private_key.read_bytes(), password=None)
    now = int(time.time())
    claims = {"iss": "anzexian-gateway", "aud": "anzexian-api", "sub": "bench-regulator", "iat": now, "nbf": now, "exp": now + 3600,
              "jti": uuid.uuid4().hex, "role": Role.EMERGENCY_ADMIN.value, "tenant": "EMB-BENCH", "industries": [],
              "scope": " ".join(ROLE_SCOPES[Role.EMERGENCY_ADMIN])}
    return jwt.encode(claims, key, algorithm=JWT_ALGORITHM)


async def stream(url: str, headers: dict, expected_rows: int, fmt: str) -> dict:
    size, lines = 0, 0
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=None) as client, client.stream("GET", f"{url}/ledgers/hazards.{fmt}", headers=headers) as response:
        response.raise_for_status()
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    result = {"rows": expected_rows, "bytes": size, "seconds": round(seconds, 2), "rows_per_second": round(expected_rows / seconds)}
    if fmt == "csv":
        result["rows_seen"] = lines - 2  # the note line and the header line
    return result


async def measure(rows: int, formats: list[str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="anzexian-export-"))
    db_path = work / "monitoring.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    await asyncio.to_thread(upgrade, "monitoring", url)
    started = time.perf_counter()
    await asyncio.to_thread(seed, db_path, rows)
    seeded = time.perf_counter() - started
    private_key, public_key = ensure_keypair(work / "keys")
    port = free_port()
    env = dict(os.environ, MONITORING_DATABASE_URL=url, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}", JWT_PUBLIC_KEY_FILE=str(public_key),
               MONITORING_RUN_CONSUMERS="false", MONITORING_RUN_RELAY="false", MONITORING_RUN_PUSH_DELIVERY="false", LOG_LEVEL="WARNING")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.monitoring.app:create_app", "--factory", "--port", str(port),
                               "--no-access-log"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    report: dict = {"rows": rows, "seed_seconds": round(seeded, 1), "baseline_sqlite_to_csv": await asyncio.to_thread(baseline, db_path)}
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token(private_key)}"}
        async with httpx.AsyncClient() as client:  # warm-up: imports, first query
            (await client.get(f"{base}/ledgers/hazards", params={"limit": 10}, headers=headers)).raise_for_status()
        idle = _rss_mb(server.pid)
        report["server_rss_mb_before"] = round(idle, 1)
        for fmt in formats:
            result = await stream(base, headers, rows, fmt)
            result["server_peak_rss_mb"] = round(_peak_rss_mb(server.pid), 1)
            result["ratio_to_baseline"] = round(result["rows_per_second"] / report["baseline_sqlite_to_csv"]["rows_per_second"], 3)
            report[fmt] = result
    finally:
        server.terminate()
        server.wait(timeout=10)
    report["targets"] = {"csv_rows_per_second": 50_000, "csv_peak_memory_mb": 150}
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,xlsx")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.rows, args.formats.split(","))), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
