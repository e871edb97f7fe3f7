"""Events applied in runs (one transaction per run, rows loaded per run) give the read models one-at-a-time application gives.

The hub's consumer applies a run of events in one transaction and loads the rows the run touches up
front (services/monitoring/rows.py); the figures must not depend on it. The same stream — every kind
of event the bench rebuild uses, for 30 enterprises, plus what makes batching hard: a hazard found
and changed in the same run, a late older status change, an enterprise revised, a policy cancelled,
a fund entry delivered again under a new event id, and one event delivered twice — goes once through
the real consumer on a real broker, and once event by event through the same handlers, each in a
transaction of its own. Every read-model table must hold the same rows.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from bench.rebuild import events as bench_events
from bench.rebuild import rebuild
from contracts.events.envelope import PARTITION_KEY_EXTENSION, build_cloudevent
from contracts.events.policy import EnterpriseRegistered, PolicyCancelled
from contracts.events.prevention import HazardStatusChanged
from kernel.database import create_engine, create_sessionmaker
from kernel.kafka import ensure_topics
from contracts.events.registry import EVENT_TYPES
from services.monitoring.consumers import HANDLERS
from services.monitoring.models import Base, messaging
from services.monitoring.settings import Settings
from tests.monitoring.conftest import publish

# Tables of the messaging machinery, not read models: compared apart (the archive) or not at all.
NOT_READ_MODELS = {"inbox", "outbox", "event_archive", "idempotency_keys", "push_subscription", "push_dead_letter", "alembic_version"}
# When a row was written, not what it says.
VOLATILE = {"archived_at", "received_at", "sequence"}


def _stream() -> list[dict]:
    envelopes = [json.loads(value) for _topic, _key, value in bench_events(300)]

    def again(envelope: dict, **data) -> dict:
        """The same fact under a new event id (what a producer's retry of its own write would look like)."""
        copy = json.loads(json.dumps(envelope))
        copy["id"] = f"{envelope['id']}-again"
        copy["data"] |= data
        return copy

    first = envelopes[0]
    code = first[PARTITION_KEY_EXTENSION]
    registered = EnterpriseRegistered.model_validate(first["data"])
    revised = build_cloudevent(registered.model_copy(update={"name": "更名后的单位", "headcount": 7}), subject="revision", partition_key=code,
                               time=datetime(2027, 6, 1, tzinfo=UTC))
    policy = next(e for e in envelopes if e["type"].endswith("policy.issued.v1") and e[PARTITION_KEY_EXTENSION] == code)
    cancelled = build_cloudevent(
        PolicyCancelled(policy_no=policy["data"]["policy_no"], insurer=policy["data"]["insurer"], credit_code=code, reason="stopped_business",
                        effective_date=date(2027, 7, 1), earned_premium=Decimal(1500), premium_refund=Decimal(1500), written_premium=Decimal(1500)),
        subject="cancel", partition_key=code,
    )
    status = next(e for e in envelopes if e["type"].endswith("hazard.status_changed.v1") and e[PARTITION_KEY_EXTENSION] == code)
    late = build_cloudevent(
        HazardStatusChanged.model_validate(status["data"] | {"status": "OPEN", "changed_at": "2027-01-01T00:00:00+00:00"}),
        subject="late", partition_key=code,
    )
    spent = next(e for e in envelopes if e["type"].endswith("fund.spent.v1"))
    extra = [revised, cancelled, late, again(spent), envelopes[5]]  # the last one: the very same event, delivered twice
    return envelopes + extra


async def _snapshot(url: str) -> dict[str, list]:
    engine = create_engine(url)
    tables = [t for name, t in sorted(Base.metadata.tables.items()) if name not in NOT_READ_MODELS]
    snapshot: dict[str, list] = {}
    try:
        async with engine.connect() as conn:
            for table in tables:
                columns = [c for c in table.columns if c.name not in VOLATILE]
                rows = (await conn.execute(select(*columns))).all()
                snapshot[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
            inbox = messaging.inbox  # every new event id once
            snapshot["inbox"] = sorted((await conn.execute(select(inbox.c.event_id, inbox.c.outcome))).all())
    finally:
        await engine.dispose()
    return snapshot


async def _one_at_a_time(url: str, stream: list[dict]) -> None:
    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    seen: set[str] = set()
    try:
        for envelope in stream:
            if envelope["id"] in seen:
                continue
            async with sessionmaker() as session, session.begin():
                await HANDLERS[envelope["type"]](session, envelope)
                await session.execute(messaging.inbox.insert().values(
                    event_id=envelope["id"], event_type=envelope["type"], topic=EVENT_TYPES[envelope["type"]].topic, partition=0, offset=0,
                    outcome="applied", received_at=datetime.now(UTC),
                ))
            seen.add(envelope["id"])
    finally:
        await engine.dispose()


@pytest.mark.e2e
async def test_a_rebuild_in_runs_gives_the_read_models_of_one_event_at_a_time(databases, broker):
    stream = _stream()
    distinct = len({e["id"] for e in stream})
    await ensure_topics(Settings(kafka_bootstrap_servers=broker.bootstrap_servers), sorted({t.topic for t in EVENT_TYPES.values()}))
    await publish(broker.bootstrap_servers, stream)

    in_runs = await databases.create("monitoring")
    result = await rebuild(broker.bootstrap_servers, in_runs, distinct)
    assert result["events"] == distinct and result["dead_lettered"] == 0

    one_by_one = await databases.create("monitoring")
    await _one_at_a_time(one_by_one, stream)

    batched, single = await _snapshot(in_runs), await _snapshot(one_by_one)
    assert single["enterprise_view"] and single["ledger_hazard"] and single["oversight_fund_year"] and single["oversight_fact"]
    for table in single:
        if table == "inbox":
            assert [row[0] for row in batched[table]] == [row[0] for row in single[table]]
            continue
        assert batched[table] == single[table], table
    # The revision, the cancellation and the refused duplicates show in the figures.
    names = {row[1] for row in single["enterprise_view"]}
    assert "更名后的单位" in names
    assert any(row[-1] == "2027-07-01" for row in single["policy_cover_view"])
