"""Benchmarks of the running platform, each figure beside a baseline measured in the same run.

    python -m bench.run [--seconds 5] [--concurrency 16] [--event-rate 50] [--event-seconds 10]

Starts the embedded default (broker, gateway, four services, SQLite) in a temporary directory on
free ports, measures, writes ``bench/results/report.json`` and ``report.md``, prints the figures
and stops everything. Loopback traffic only; every loop is bounded in count and time.

Figures:
- gateway overhead: the same read endpoint through the gateway vs straight to the service;
- event latency: policy ``POST /enterprises`` (its transaction, answered 201) → the monitoring
  hub's transaction applying the event, at a steady offered rate (the achieved rate is reported
  too), vs a raw produce→consume round trip on the same broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform as host
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts.identifiers import credit_code_check_character, resident_id_check_character
from devstack.broker import free_port, free_ports
from devstack.platform import Layout, Platform, demo_clients

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def closed_loop(send, seconds: float, concurrency: int, *, limit: int | None = None, ok=(200,)) -> dict:
    """As many requests as ``concurrency`` clients can do in ``seconds`` (bounded by time and count).

    ``send(client, i)`` makes request number ``i`` and returns the response.
    """
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker():
            nonlocal errors, issued
            while time.perf_counter() < deadline and (limit is None or issued < limit):
                i, issued = issued, issued + 1
                started = time.perf_counter()
                response = await send(client, i)
                if response.status_code not in ok:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "errors": errors,
        "per_second": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def get(url: str, headers: dict):
    return lambda client, i: client.get(url, headers=headers)


async def token_for(gateway: str, client: dict) -> str:
    async with httpx.AsyncClient(base_url=gateway) as http:
        response = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": client["client_id"], "client_secret": client["client_secret"]},
        )
        return response.json()["access_token"]


async def raw_round_trip(bootstrap: str, rate: float, seconds: float) -> dict:
    """Baseline: produce (acks=all) → consume on the same broker, at the same steady rate."""
    topic = f"bench-raw-{free_port()}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=topic, auto_offset_reset="earliest", fetch_max_wait_ms=100)
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    await consumer.start()
    sent: dict[bytes, float] = {}
    latencies: list[float] = []
    total = int(rate * seconds)

    async def receive():
        while len(latencies) < total:
            batch = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batch.values():
                for record in records:
                    if record.value in sent:
                        latencies.append(now - sent.pop(record.value))

    receiver = asyncio.create_task(receive())
    for i in range(total):
        value = f"m{i}".encode()
        sent[value] = time.perf_counter()
        await producer.send_and_wait(topic, value)
        await asyncio.sleep(1 / rate)
    await asyncio.wait_for(receiver, timeout=30)
    await producer.stop()
    await consumer.stop()
    return {"events": len(latencies), "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


async def measure(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="anzexian-bench-"))
    base = free_ports(5)
    layout = Layout(work / "var", "127.0.0.1", base, free_port())
    # Services on the ports right above the gateway's: make sure they are free too.
    platform = Platform(layout, extra_env={"GATEWAY_RATE_LIMIT": "1000000/second", "LOG_LEVEL": "WARNING"})
    platform.start()
    try:
        clients = await demo_clients(layout, work / "credentials.json")
        admin = next(c for c in clients if c["role"] == "emergency_admin")
        insurer = next(c for c in clients if c["role"] == "insurer")
        admin_headers = {"Authorization": f"Bearer {await token_for(platform.gateway_url, admin)}"}
        insurer_headers = {"Authorization": f"Bearer {await token_for(platform.gateway_url, insurer)}"}

        direct = await closed_loop(get(f"{layout.url('monitoring')}/enterprises?limit=20", admin_headers), args.seconds, args.concurrency)
        through = await closed_loop(
            get(f"{platform.gateway_url}/api/v1/monitoring/enterprises?limit=20", admin_headers), args.seconds, args.concurrency
        )
        policy_figures = await policy_throughput(platform.gateway_url, insurer_headers, args)
        raw = await raw_round_trip(f"127.0.0.1:{layout.broker_port}", args.event_rate, args.event_seconds)
        events = await event_latency_from_inbox(platform.gateway_url, insurer_headers, work / "var", args)
        return {
            "when": datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "python": host.python_version(), "system": host.platform()},
            "settings": vars(args),
            "gateway_overhead": {
                "direct": direct,
                "through_gateway": through,
                "throughput_ratio": through["per_second"] / direct["per_second"],
                "target_ratio": 0.6,
            },
            "policy_throughput": policy_figures,
            "event_latency": {"raw_produce_consume": raw, "policy_to_monitoring": events},
        }
    finally:
        platform.stop()


async def event_latency_from_inbox(gateway: str, headers: dict, var: Path, args) -> dict:
    """Per event: the policy service's transaction → the monitoring hub's transaction applying it.

    Start: the outbox row's ``created_at``, stamped inside the transaction that the 201 answers
    (so it is at or before the 201). End: the hub's inbox ``received_at``, stamped as its run of
    events commits. Both clocks are this machine's; the load generator's own lag does not enter.
    """
    answered: dict[str, float] = {}
    total = int(args.event_rate * args.event_seconds)
    base = int(time.time()) % 100_000 * 1000
    async with httpx.AsyncClient(base_url=gateway, timeout=10) as client:

        async def register(i: int):
            first17 = f"91110000{base + i:09d}"
            code = first17 + credit_code_check_character(first17)
            body = {"credit_code": code, "name": f"基准单位{i}", "industry": "CONSTRUCTION", "district": "朝阳区",
                    "address": "北京市朝阳区基准路", "headcount": 10, "standardization_grade": "NONE"}
            response = await client.post("/api/v1/policy/enterprises", json=body, headers=headers)
            if response.status_code == 201:
                answered[code] = time.time()

        tasks = []
        started = time.perf_counter()
        for i in range(total):
            tasks.append(asyncio.create_task(register(i)))
            # A steady schedule, not "sleep after each": late ticks do not push the next ones.
            await asyncio.sleep(max(0.0, started + (i + 1) / args.event_rate - time.perf_counter()))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started

    with sqlite3.connect(var / "policy.db") as db:
        rows = db.execute("SELECT event_id, partition_key, created_at FROM outbox").fetchall()
    event_of = {code: event_id for event_id, code, _ in rows}
    written_at = {event_id: datetime.fromisoformat(at).timestamp() for event_id, _, at in rows}
    applied: dict[str, float] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with sqlite3.connect(var / "monitoring.db") as db:
            applied = {event_id: datetime.fromisoformat(at).timestamp() for event_id, at in db.execute("SELECT event_id, received_at FROM inbox")}
        if all(event_of.get(code) in applied for code in answered):
            break
        await asyncio.sleep(0.5)
    latencies = [applied[event_of[code]] - written_at[event_of[code]] for code in answered if event_of.get(code) in applied]
    return {
        "target_rate_per_second": args.event_rate,
        "achieved_rate_per_second": round(len(answered) / elapsed, 1),
        "answered": len(answered),
        "applied": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
    }


async def policy_throughput(gateway: str, headers: dict, args) -> dict:
    """Quotes (rate engine, one row) and policy issue (database write + outbox) vs a bare endpoint, all through the gateway."""
    api = f"{gateway}/api/v1/policy"
    async with httpx.AsyncClient(timeout=30) as client:
        first17 = f"91110000{800000000 + int(time.time()) % 100_000:09d}"
        code = first17 + credit_code_check_character(first17)
        body = {"credit_code": code, "name": "基准建设有限公司", "industry": "CONSTRUCTION", "district": "朝阳区",
                "address": "北京市朝阳区基准路1号", "headcount": 20, "standardization_grade": "LEVEL_2"}
        assert (await client.post(f"{api}/enterprises", json=body, headers=headers)).status_code == 201
        members = []
        for n in range(20):
            id17 = f"11010519900101{n:03d}"
            members.append({"resident_id": id17 + resident_id_check_character(id17), "name": f"员工{n}",
                            "employment_type": "REGULAR", "insured_amount": "400000"})
        assert (await client.put(f"{api}/enterprises/{code}/roster", json={"members": members}, headers=headers)).status_code == 200
    quote = {"credit_code": code, "period_start": "2027-01-01", "period_end": "2027-12-31", "per_person_limit": "400000", "commission": "0"}

    bare = await closed_loop(get(f"{api}/healthz", headers), args.seconds, args.concurrency)
    quotes = await closed_loop(lambda c, i: c.post(f"{api}/quotes", json=quote, headers=headers), args.seconds, args.concurrency, ok=(201,))
    # One quote makes one policy: prepare fresh quotes, then issue them as fast as possible.
    async with httpx.AsyncClient(timeout=30) as client:
        prepared = [(await client.post(f"{api}/quotes", json=quote, headers=headers)).json()["quote_id"] for _ in range(args.issue_count)]
    issues = await closed_loop(
        lambda c, i: c.post(f"{api}/policies", json={"quote_id": prepared[i]}, headers=headers),
        args.seconds * 4,
        args.concurrency,
        limit=len(prepared),
        ok=(201,),
    )
    return {
        "bare_endpoint": bare,
        "quote": quotes | {"ratio_to_bare": quotes["per_second"] / bare["per_second"], "target_ratio": 0.5},
        "issue": issues | {"ratio_to_bare": issues["per_second"] / bare["per_second"], "target_ratio": 0.25},
    }


def markdown(report: dict) -> str:
    g, e = report["gateway_overhead"], report["event_latency"]
    raw, ev = e["raw_produce_consume"], e["policy_to_monitoring"]
    p = report["policy_throughput"]
    return "\n".join(
        [
            f"# Benchmark report — {report['when']}",
            "",
            f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, {report['machine']['system']}. "
            "Client, broker, gateway and services share the machine.",
            "",
            "| figure | measured | baseline (same run) | ratio | target |",
            "| --- | --- | --- | --- | --- |",
            f"| gateway overhead: GET monitoring /enterprises, req/s | {g['through_gateway']['per_second']:.0f} through the gateway "
            f"(p99 {g['through_gateway']['p99_ms']:.1f} ms) | {g['direct']['per_second']:.0f} direct (p99 {g['direct']['p99_ms']:.1f} ms) "
            f"| {g['throughput_ratio']:.2f} | ≥ {g['target_ratio']} |",
            f"| quote through the gateway, req/s | {p['quote']['per_second']:.0f} (p99 {p['quote']['p99_ms']:.0f} ms, "
            f"{p['quote']['errors']} errors) | bare endpoint {p['bare_endpoint']['per_second']:.0f} | {p['quote']['ratio_to_bare']:.2f} | ≥ 0.5 |",
            f"| policy issue through the gateway, req/s | {p['issue']['per_second']:.0f} (p99 {p['issue']['p99_ms']:.0f} ms, "
            f"{p['issue']['errors']} errors) | bare endpoint {p['bare_endpoint']['per_second']:.0f} | {p['issue']['ratio_to_bare']:.2f} | ≥ 0.25 |",
            f"| event latency at {ev['target_rate_per_second']}/s offered, {ev['achieved_rate_per_second']}/s achieved: "
            f"policy transaction (201) → monitoring applied | p50 {ev['p50_ms']:.0f} ms, "
            f"p99 {ev['p99_ms']:.0f} ms ({ev['applied']}/{ev['answered']} events) | raw produce→consume p50 {raw['p50_ms']:.0f} ms, "
            f"p99 {raw['p99_ms']:.0f} ms | p99 {ev['p99_ms'] / raw['p99_ms']:.1f}× raw | p99 ≤ 250 ms |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--event-rate", type=float, default=200.0, help="events per second for the latency run")
    parser.add_argument("--event-seconds", type=float, default=10.0)
    parser.add_argument("--issue-count", type=int, default=300, help="policies issued in the issue throughput run")
    args = parser.parse_args(argv)
    report = asyncio.run(measure(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    text = markdown(report)
    (RESULTS / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
