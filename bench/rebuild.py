"""Rebuilding the monitoring hub's read models from the start of the topics: events per second.

    python -m bench.rebuild [--events 1000000] [--database sqlite|postgresql]

Produces ``--events`` business events (ten kinds per enterprise: registration, policy, premium,
service record, hazard found and its rectification, accident, fund accrual and spending) to the
platform's topics on an embedded Tansu broker, then:

- baseline: a bare aiokafka consumer reads every message from the start (no database);
- rebuild: the hub's own consumer runner (inbox, archive, every read model) on a fresh database
  reads the same topics from the start until every event is applied. Progress is read from the
  runner's own counters (applied and dead-lettered events), not by counting the inbox, which at a
  million rows would cost the runner its share of the database; the end is confirmed by the inbox.

The figure is events per second, and its ratio to the baseline; beside it the CPU seconds of this
process per event (runner, driver and SQLite's thread: steadier than the rate on a shared machine)
and the rate in each tenth of the run (a rate that falls as tables grow shows there). Used by ``make bench``
(bench/run.py) with the size it is given; on its own it prints a JSON report.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import func, select

from contracts.enums import Industry
from contracts.events.claims import AccidentReported
from contracts.events.envelope import PARTITION_KEY_EXTENSION, build_cloudevent
from contracts.events.policy import EnterpriseRegistered, PolicyIssued, PolicySubLimits, PremiumCollected
from contracts.events.prevention import FundAccrued, FundSpent, HazardFound, HazardStatusChanged, ServiceRecorded
from contracts.events.registry import EVENT_TYPES
from contracts.identifiers import credit_code_check_character
from devstack.broker import EmbeddedBroker, free_port
from kernel import metrics
from kernel.consumer import ConsumerRunner
from kernel.database import create_engine, create_sessionmaker
from kernel.kafka import ensure_topics
from kernel.migrate import upgrade
from services.monitoring.consumers import HANDLERS
from services.monitoring.models import messaging
from services.monitoring.settings import Settings

PER_ENTERPRISE = 10
INDUSTRIES = (Industry.CONSTRUCTION, Industry.MINE, Industry.HAZCHEM, Industry.TRANSPORT, Industry.METAL_SMELTING)


def _code(n: int) -> str:
    first17 = f"9111{n % 10000:04d}{300000000 + n:09d}"
    return first17 + credit_code_check_character(first17)


def _templates() -> list[dict]:
    """One valid CloudEvent per kind; each enterprise gets copies with its own ids."""
    code, insurer, policy_no = _code(0), "INS-BENCH-A", "PL-BENCH-0"
    limits = PolicySubLimits(per_person=Decimal(400000), per_accident=Decimal(2000000), aggregate=Decimal(2000000),
                             employee_medical_per_person=Decimal(120000), rescue=Decimal(600000), legal=Decimal(100000))
    when = datetime(2027, 3, 1, 8, tzinfo=UTC)
    payloads = [
        EnterpriseRegistered(credit_code=code, name="基准单位", industry=Industry.CONSTRUCTION, district="朝阳区", headcount=5,
                             jurisdiction="national", must_insure=True),
        PolicyIssued(policy_no=policy_no, insurer=insurer, credit_code=code, enterprise_name="基准单位", industry=Industry.CONSTRUCTION,
                     district="朝阳区", jurisdiction="national", profile_version="2025.1", must_insure=True,
                     period_start=date(2027, 1, 1), period_end=date(2027, 12, 31), per_person_limit=Decimal(400000),
                     sub_limits=limits, headcount=5, insured_people=[], premium=Decimal(3000), commission=Decimal(100)),
        PremiumCollected(policy_no=policy_no, receipt_no="R-0", insurer=insurer, credit_code=code, jurisdiction="national",
                         amount=Decimal(3000), received_on=date(2027, 1, 5), collected_premium=Decimal(3000), written_premium=Decimal(3000)),
        ServiceRecorded(record_id="SR-0", credit_code=code, policy_no=policy_no, insurer=insurer, institution_code=_code(999_999),
                        item="HAZARD_INSPECTION", performed_on=date(2027, 2, 1), staff=["张工"], cost=Decimal(300), hazards_found=1),
        HazardFound(hazard_id="HZ-0", credit_code=code, insurer=insurer, policy_no=policy_no, record_id="SR-0", level="GENERAL",
                    description="配电箱未接地", found_on=date(2027, 2, 1), deadline=date(2027, 2, 15)),
        HazardStatusChanged(hazard_id="HZ-0", credit_code=code, status="RECTIFYING", changed_at=when, insurer=insurer,
                            enforcement_basis=False),
        HazardStatusChanged(hazard_id="HZ-0", credit_code=code, status="RECTIFIED", changed_at=when + timedelta(days=3), insurer=insurer,
                            counts_as_self_inspection=True),
        AccidentReported(accident_id="AC-0", credit_code=code, policy_no=policy_no, occurred_at=when, grade="GENERAL", deaths=0,
                         serious_injuries=1, insurer=insurer, reported_at=when),
        FundAccrued(entry_id="FA-0", insurer=insurer, year=2027, collected_premium=Decimal(3000), amount=Decimal(600)),
        FundSpent(entry_id="FS-0", insurer=insurer, year=2027, category="HAZARD_INSPECTION", amount=Decimal(300), record_id="SR-0"),
    ]
    assert len(payloads) == PER_ENTERPRISE
    return [build_cloudevent(p, subject="bench", partition_key=code) for p in payloads]


ID_FIELDS = ("credit_code", "policy_no", "receipt_no", "record_id", "hazard_id", "accident_id", "entry_id")


def events(count: int):
    """(topic, key, value) for ``count`` events, enterprise by enterprise, each with fresh ids."""
    templates = _templates()
    topics = [EVENT_TYPES[t["type"]].topic for t in templates]
    for n in range(count // PER_ENTERPRISE + 1):
        code = _code(n)
        for k, (template, topic) in enumerate(zip(templates, topics)):
            if n * PER_ENTERPRISE + k >= count:
                return
            event = copy.copy(template)
            data = dict(template["data"])
            for name in ID_FIELDS:
                if name in data and data[name] is not None:
                    data[name] = code if name == "credit_code" else f"{data[name].split('-')[0]}-{n}"
            if "industry" in data:
                data["industry"] = INDUSTRIES[n % len(INDUSTRIES)].value
            if "insurer" in data:
                data["insurer"] = f"INS-BENCH-{'ABC'[n % 3]}"
            event["data"] = data
            event["id"] = uuid.uuid4().hex
            event[PARTITION_KEY_EXTENSION] = code
            yield topic, code.encode(), json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


async def produce(bootstrap: str, count: int) -> dict:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    started = time.perf_counter()
    try:
        pending = []
        for topic, key, value in events(count):
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    seconds = time.perf_counter() - started
    return {"events": count, "seconds": round(seconds, 1), "per_second": round(count / seconds)}


async def bare_consume(bootstrap: str, topics: list[str], count: int) -> dict:
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=f"bench-bare-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False, max_partition_fetch_bytes=4 * 1024 * 1024)
    await consumer.start()
    seen = 0
    started = None
    try:
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                if records and started is None:
                    started = time.perf_counter()
                for record in records:
                    json.loads(record.value)  # the parse every consumer does
            seen += sum(len(r) for r in batch.values())
    finally:
        await consumer.stop()
    seconds = time.perf_counter() - (started or time.perf_counter())
    return {"events": seen, "seconds": round(seconds, 1), "per_second": round(seen / seconds) if seconds else None}


def _inbox_rows_so_far(service: str) -> float:
    """Events the runner has written an inbox row for (applied or dead-lettered), from its own counters.

    Read in the process instead of ``count(*)`` on the inbox: a count scans the whole table, which at
    a million rows would cost the runner (it shares SQLite's one pooled connection) a share of the run.
    """
    total = 0.0
    for counter in (metrics.EVENTS_APPLIED, metrics.EVENTS_DEAD_LETTERED):
        for family in counter.collect():
            total += sum(s.value for s in family.samples if s.name.endswith("_total") and s.labels.get("service") == service)
    return total


async def rebuild(bootstrap: str, database_url: str, count: int) -> dict:
    await asyncio.to_thread(upgrade, "monitoring", database_url)
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=bootstrap, consumer_group=f"bench-rebuild-{uuid.uuid4().hex[:6]}",
                        log_json=False, log_level="WARNING", run_push_delivery=False)
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    runner = ConsumerRunner(service="monitoring", settings=settings, sessionmaker=sessionmaker, tables=messaging, handlers=HANDLERS)
    inbox = messaging.inbox
    already = _inbox_rows_so_far("monitoring")  # measure() may run more than once in a process
    runner.start()
    started = cpu_started = None
    marks: list[tuple[float, int]] = []  # (seconds since start, events done) at each tenth of the way
    try:
        done = 0
        while done < count:
            await asyncio.sleep(0.05)
            done = int(_inbox_rows_so_far("monitoring") - already)
            if done and started is None:
                started, cpu_started = time.perf_counter() - 0.05, time.process_time()
            if started is not None and done >= (len(marks) + 1) * count / 10:
                marks.append((time.perf_counter() - started, done))
            if done >= count:  # the counters say so; the inbox has the last word
                async with sessionmaker() as session:
                    done = (await session.execute(select(func.count()).select_from(inbox))).scalar_one()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        async with sessionmaker() as session:
            dead = (await session.execute(select(func.count()).select_from(inbox).where(inbox.c.outcome == "dead_lettered"))).scalar_one()
    finally:
        await runner.stop()
        await engine.dispose()
    tenths, previous = [], (0.0, 0)
    for at, events_done in marks:
        tenths.append(round((events_done - previous[1]) / (at - previous[0])) if at > previous[0] else None)
        previous = (at, events_done)
    return {"events": done, "dead_lettered": dead, "seconds": round(seconds, 1), "per_second": round(done / seconds),
            # CPU of this process (runner, driver, SQLite's thread) per event: steadier than the rate on a shared machine.
            "cpu_seconds": round(cpu_seconds, 1), "cpu_us_per_event": round(cpu_seconds / done * 1e6) if done else None,
            "per_second_by_tenth": tenths}


async def measure(count: int, database_url: str | None = None, broker: EmbeddedBroker | None = None) -> dict:
    work = Path(tempfile.mkdtemp(prefix="anzexian-rebuild-"))
    own_broker = broker is None
    broker = broker or EmbeddedBroker(port=free_port(), log_path=work / "tansu.log").start()
    try:
        bootstrap = broker.bootstrap_servers
        topics = sorted({t.topic for t in EVENT_TYPES.values()})
        await ensure_topics(Settings(kafka_bootstrap_servers=bootstrap), topics)
        produced = await produce(bootstrap, count)
        baseline = await bare_consume(bootstrap, topics, count)
        rebuilt = await rebuild(bootstrap, database_url or f"sqlite+aiosqlite:///{work / 'monitoring.db'}", count)
    finally:
        if own_broker:
            broker.stop()
    return {
        "events": count, "produce": produced, "baseline_bare_consume": baseline, "rebuild": rebuilt,
        "ratio_to_baseline": round(rebuilt["per_second"] / baseline["per_second"], 3) if baseline["per_second"] else None,
        "target_per_second": 3000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.events, args.database_url)), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
