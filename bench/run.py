"""Benchmarks of the platform, each figure beside a baseline measured in the same run: ``make bench``.

    python -m bench.run [--seconds 5] [--concurrency 16] [--event-rate 200] [--event-seconds 10]
                        [--export-rows 1000000] [--rebuild-events 1000000] [--parts platform,export,rebuild]

Writes ``bench/results/report.json`` and ``report.md`` and prints the Markdown. Loopback traffic
only; every loop is bounded in count and time, and the export and rebuild parts each in seconds
(``--export-timeout``, ``--rebuild-timeout``): a part that runs out of time is reported as such.

Figures (the five of the benchmark issue):
- gateway overhead: the same read endpoint through the gateway vs straight to the service;
- quote and policy issue through the gateway vs a bare endpoint (``/healthz``) through it too;
- event latency: policy ``POST /enterprises`` (its transaction, answered 201) → the monitoring
  hub's transaction applying the event, at a steady offered rate (the achieved rate is reported
  too), vs a raw produce→consume round trip on the same broker;
- ledger export (:mod:`bench.export`): a hazard ledger of ``--export-rows`` rows as CSV and XLSX
  from the hub's own process, rows/s and its peak memory, vs SQLite → csv module in one process;
- rebuild (:mod:`bench.rebuild`): the hub's read models rebuilt from ``--rebuild-events`` events
  on the topics, events/s, vs a bare consumer of the same topics.

The first three parts run on the embedded default (broker, gateway, four services, SQLite) in a
temporary directory on free ports; the export and the rebuild run after it has stopped, each
with its own processes, so no part takes CPU from another.
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
from bench import export as ledger_export
from bench import rebuild as read_model_rebuild
from devstack.broker import free_port, free_ports
from devstack.platform import Layout, Platform, demo_clients

RESULTS = Path(__file__).resolve().parent / "results"
PARTS = ("platform", "export", "rebuild")


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


async def measure_platform(args) -> dict:
    """Gateway overhead, quote and issue throughput, event latency: on the running embedded default."""
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
            "gateway_overhead": {
                "direct": direct,
                "through_gateway": through,
                "throughput_ratio": through["per_second"] / direct["per_second"],
                "target_ratio": 0.6,
            },
            "policy_throughput": policy_figures,
            "event_latency": {"raw_produce_consume": raw, "policy_to_monitoring": events, "target_p99_ms": 250},
        }
    finally:
        platform.stop()


async def bounded(coroutine, seconds: float) -> dict:
    """A part's report, or what stopped it: the run goes on to the next part either way."""
    started = time.perf_counter()
    try:
        report = await asyncio.wait_for(coroutine, timeout=seconds)
    except TimeoutError:
        return {"error": f"did not finish within {seconds:.0f} s"}
    except Exception as exc:  # a broken part is reported, not allowed to lose the others' figures
        return {"error": f"{type(exc).__name__}: {exc}"}
    return report | {"wall_seconds": round(time.perf_counter() - started, 1)}


async def measure(args) -> dict:
    parts = set(args.parts.split(","))
    report: dict = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": host.python_version(), "system": host.platform()},
        "settings": vars(args),
    }
    if "platform" in parts:
        report |= await measure_platform(args)
    if "export" in parts:
        formats = args.export_formats.split(",")
        report["ledger_export"] = await bounded(ledger_export.measure(args.export_rows, formats), args.export_timeout)
    if "rebuild" in parts:
        report["rebuild"] = await bounded(read_model_rebuild.measure(args.rebuild_events), args.rebuild_timeout)
    return report


async def event_latency_from_inbox(gateway: str, headers: dict, var: Path, args) -> dict:
    """Per event: the policy service's transaction → the monitoring hub's transaction applying it.

    Start: the outbox row's ``created_at``, stamped inside the transaction that the 201 answers
    (so it is at or before the 201). End: the hub's inbox ``received_at``, stamped as its run of
    events commits. Both clocks are this machine's; the load generator's own lag does not enter.
    """
    answered: dict[str, float] = {}
    total = int(args.event_rate * args.event_seconds)
    base = int(time.time()) % 100_000 * 1000
    # At most --event-connections requests in flight: a request due while all are busy waits for one
    # here. An unbounded number of pending requests made httpx's pool scan them all on every step,
    # and the load generator took the CPU it was measuring (6 ms per request at 64 in flight).
    in_flight = asyncio.Semaphore(args.event_connections)
    limits = httpx.Limits(max_connections=args.event_connections, max_keepalive_connections=args.event_connections)
    async with httpx.AsyncClient(base_url=gateway, timeout=10, limits=limits) as client:

        async def register(i: int):
            first17 = f"91110000{base + i:09d}"
            code = first17 + credit_code_check_character(first17)
            body = {"credit_code": code, "name": f"基准单位{i}", "industry": "CONSTRUCTION", "district": "朝阳区",
                    "address": "北京市朝阳区基准路", "headcount": 10, "standardization_grade": "NONE"}
            async with in_flight:
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


# The run before the write-path fixes (same machine, same options except the sizes noted), shown
# beside each figure that a change improved, so a report says what it was and why it moved.
BEFORE = {
    "when": "2026-11-23T07:51, commit 6a5d8a3, python -m bench.run --seconds 3",
    "settings": {"seconds": 3},
    "gateway_overhead": {"through_gateway": {"per_second": 134.8, "p99_ms": 1204.1}, "direct": {"per_second": 198.7, "p99_ms": 1154.9},
                         "throughput_ratio": 0.678},
    "policy_throughput": {"bare_endpoint": {"per_second": 219.0},
                          "quote": {"per_second": 129.1, "p99_ms": 1460.9, "errors": 0, "ratio_to_bare": 0.590},
                          "issue": {"per_second": 97.4, "p99_ms": 1848.4, "errors": 0, "ratio_to_bare": 0.445}},
    "event_latency": {"raw_produce_consume": {"p50_ms": 27.2, "p99_ms": 53.9},
                      "policy_to_monitoring": {"target_rate_per_second": 200.0, "achieved_rate_per_second": 60.4, "answered": 2000,
                                               "applied": 2000, "p50_ms": 67.2, "p99_ms": 423.7}},
    # python -m bench.export --rows 1000000 and python -m bench.rebuild --events 30000, same commit.
    "ledger_export": {"rows": 1_000_000, "baseline_sqlite_to_csv": {"rows_per_second": 265_230},
                      "csv": {"rows_per_second": 63_183, "server_peak_rss_mb": 120.0, "ratio_to_baseline": 0.238},
                      "xlsx": {"rows_per_second": 9_944, "server_peak_rss_mb": 119.8}},
    "rebuild": {"events": 30_000, "baseline_bare_consume": {"per_second": 133_252}, "ratio_to_baseline": 0.043,
                "rebuild": {"per_second": 5_678, "dead_lettered": 0}},
}
FIXES = {
    "gateway": "gateway/proxy.py passes a small body whole (no chunk stream, no task group); gateway/app.py verifies each token once",
    "quote": "one thread hop per SQLite statement, one pooled connection, relay woken only by events; see docs/benchmarks.md",
    "issue": "as quote; and the answer dumped once by pydantic-core instead of walked again by jsonable_encoder",
    "events": "policy writes no longer queue in SQLite's sleeping busy handler, cost fewer thread hops, wake the relay only with an event",
}


def _failed(part: dict | None) -> str | None:
    if part is None:
        return "not run"
    return part.get("error")


def figures(report: dict) -> list[dict]:
    """One row per figure of the issue: what was measured, its baseline, their ratio, the target, met or not."""
    rows: list[dict] = []
    size = f"--seconds {report['settings']['seconds']:g}" if "settings" in report else "same options"
    if "gateway_overhead" in report:
        g = report["gateway_overhead"]
        t, d = g["through_gateway"], g["direct"]
        rows.append({"key": "gateway", "figure": "gateway overhead: GET monitoring /enterprises, req/s",
                     "measured": f"{t['per_second']:.0f} through the gateway (p99 {t['p99_ms']:.0f} ms)",
                     "baseline": f"{d['per_second']:.0f} direct (p99 {d['p99_ms']:.0f} ms)",
                     "ratio": f"{g['throughput_ratio']:.2f}", "target": "≥ 0.6", "met": g["throughput_ratio"] >= 0.6, "size": size})
    if "policy_throughput" in report:
        p = report["policy_throughput"]
        for key, label, target in (("quote", "quote through the gateway, req/s", 0.5), ("issue", "policy issue through the gateway, req/s", 0.25)):
            f = p[key]
            rows.append({"key": key, "figure": label,
                         "measured": f"{f['per_second']:.0f} (p99 {f['p99_ms']:.0f} ms, {f['errors']} errors)",
                         "baseline": f"bare endpoint {p['bare_endpoint']['per_second']:.0f}",
                         "ratio": f"{f['ratio_to_bare']:.2f}", "target": f"≥ {target}", "met": f["ratio_to_bare"] >= target, "size": size})
    if "event_latency" in report:
        raw, ev = report["event_latency"]["raw_produce_consume"], report["event_latency"]["policy_to_monitoring"]
        offered, achieved = ev["target_rate_per_second"], ev["achieved_rate_per_second"]
        met = ev["p99_ms"] <= 250 and achieved >= 0.95 * offered and ev["applied"] == ev["answered"]
        rows.append({"key": "events", "figure": f"event latency, policy transaction (201) → monitoring applied, at {offered:.0f}/s offered",
                     "measured": f"p50 {ev['p50_ms']:.0f} ms, p99 {ev['p99_ms']:.0f} ms; {achieved}/s achieved, "
                                 f"{ev['applied']}/{ev['answered']} events applied",
                     "baseline": f"raw produce→consume p50 {raw['p50_ms']:.0f} ms, p99 {raw['p99_ms']:.0f} ms",
                     "ratio": f"p99 {ev['p99_ms'] / raw['p99_ms']:.1f}× raw", "target": f"p99 ≤ 250 ms at a steady {offered:.0f}/s",
                     "met": met, "size": size})
    if "ledger_export" in report:
        x = report["ledger_export"]
        if (problem := _failed(x)) is None:
            csv_, base = x["csv"], x["baseline_sqlite_to_csv"]
            xlsx = f"; XLSX {x['xlsx']['rows_per_second']:,} rows/s, peak {x['xlsx']['server_peak_rss_mb']:.0f} MB" if "xlsx" in x else ""
            met = csv_["rows_per_second"] >= 50_000 and csv_["server_peak_rss_mb"] < 150
            rows.append({"key": "export", "figure": f"ledger export, {x['rows']:,} hazard rows, rows/s and server peak memory",
                         "measured": f"CSV {csv_['rows_per_second']:,} rows/s, peak {csv_['server_peak_rss_mb']:.0f} MB{xlsx}",
                         "baseline": f"SQLite → csv module, one process: {base['rows_per_second']:,} rows/s",
                         "ratio": f"{csv_['ratio_to_baseline']:.2f}", "target": "CSV ≥ 50,000 rows/s, peak < 150 MB", "met": met,
                         "size": f"{x['rows']:,} rows"})
        else:
            rows.append({"key": "export", "figure": "ledger export", "measured": problem, "baseline": "", "ratio": "", "target": "", "met": False})
    if "rebuild" in report:
        r = report["rebuild"]
        if (problem := _failed(r)) is None:
            rb, base = r["rebuild"], r["baseline_bare_consume"]
            cpu = f", {rb['cpu_us_per_event']} µs CPU per event" if rb.get("cpu_us_per_event") else ""
            ratio = r.get("ratio_to_baseline")
            rows.append({"key": "rebuild", "figure": f"read-model rebuild from {r['events']:,} events, events/s",
                         "measured": f"{rb['per_second']:,} ({rb['dead_lettered']} dead-lettered{cpu})",
                         "baseline": f"bare consumer {base['per_second']:,}", "ratio": "–" if ratio is None else f"{ratio:.3f}",
                         "target": "≥ 3,000 events/s", "met": rb["per_second"] >= 3000, "size": f"{r['events']:,} events"})
        else:
            rows.append({"key": "rebuild", "figure": "read-model rebuild", "measured": problem, "baseline": "", "ratio": "", "target": "", "met": False})
    return rows


def markdown(report: dict) -> str:
    before = {row["key"]: row for row in figures(BEFORE)}
    lines = [
        f"# Benchmark report — {report['when']}",
        "",
        f"Machine: {report['machine']['cpus']} CPUs, Python {report['machine']['python']}, {report['machine']['system']}. "
        "Client, broker, gateway and services share the machine, so every figure stands beside a baseline measured in the "
        "same run, and the ratio is what compares across runs.",
        "",
        "| figure | measured | baseline (same run) | ratio | target | met | before → after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in figures(report):
        was = before.get(row["key"])
        note = ""
        if was:
            fixed = f"Fixed: {FIXES[row['key']]}" if row["key"] in FIXES else "Not worked on here."
            note = f"before ({was['size']}): {was['measured']}, ratio {was['ratio']}. {fixed}"
        lines.append(f"| {row['figure']} | {row['measured']} | {row['baseline']} | {row['ratio']} | {row['target']} "
                     f"| {'yes' if row['met'] else '**no**'} | {note} |")
    lines += ["", f"Before: {BEFORE['when']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput measurement")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--event-rate", type=float, default=200.0, help="events per second for the latency run")
    parser.add_argument("--event-seconds", type=float, default=10.0)
    parser.add_argument("--event-connections", type=int, default=32, help="most requests in flight in the latency run")
    parser.add_argument("--issue-count", type=int, default=300, help="policies issued in the issue throughput run")
    parser.add_argument("--export-rows", type=int, default=1_000_000, help="hazard-ledger rows exported as CSV and XLSX")
    parser.add_argument("--export-formats", default="csv,xlsx")
    parser.add_argument("--export-timeout", type=float, default=600.0, help="seconds the export part may take (seeding included)")
    parser.add_argument("--rebuild-events", type=int, default=1_000_000, help="events produced, then rebuilt into the hub's read models")
    parser.add_argument("--rebuild-timeout", type=float, default=900.0, help="seconds the rebuild part may take (producing included)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"which parts to run, of {','.join(PARTS)}")
    args = parser.parse_args(argv)
    if unknown := set(args.parts.split(",")) - set(PARTS):
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    report = asyncio.run(measure(args))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    text = markdown(report)
    (RESULTS / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
