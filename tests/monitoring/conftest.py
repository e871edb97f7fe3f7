"""Helpers of the monitoring hub's tests: publish CloudEvents straight to the topics, as a service's relay would."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaProducer

from contracts.events.envelope import EventPayload, build_cloudevent, serialize
from contracts.events.registry import EVENT_TYPES
from services.monitoring.consumers import READ_MODEL_TABLES
from tests.support.factories import credit_code


def _pick(topic_prefix: str) -> str:
    """A registered type of that topic that no read model reads: the archive alone handles it."""
    read = set().union(*READ_MODEL_TABLES)
    return sorted(t for t, et in EVENT_TYPES.items() if et.topic.startswith(topic_prefix) and t not in read)[0]


# Two registered types on two topics; the archive keeps any type the same way, whatever its payload.
CLAIMS_TYPE = _pick("claims.")
PREVENTION_TYPE = _pick("prevention.")


def probe_payload(type_: str):
    """A payload under a registered type (the archive does not read ``data``), numbered to check order."""

    class Probe(EventPayload):
        event_type: ClassVar[str] = type_
        source_service: ClassVar[str] = EVENT_TYPES[type_].topic.split(".")[0]
        n: int

    return Probe


def probe_event(event_type: str, n: int, enterprise: int = 1) -> dict:
    code = credit_code(enterprise)
    return build_cloudevent(probe_payload(event_type)(n=n), subject=f"probe/{n}", partition_key=code)


async def publish(bootstrap: str, envelopes: Iterable[dict]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            topic = EVENT_TYPES[envelope["type"]].topic
            await producer.send_and_wait(topic, serialize(envelope), key=envelope["partitionkey"].encode())
    finally:
        await producer.stop()


@pytest.fixture
def monitoring_settings() -> dict:
    # Fast retries so a test sees backoff and dead letters in seconds.
    return {"push_allow_http_localhost": True, "push_poll_seconds": 0.05, "push_backoff_seconds": 0.1, "push_backoff_max_seconds": 0.5}
