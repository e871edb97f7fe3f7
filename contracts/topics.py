"""Kafka topics of the platform and their dead-letter twins."""

from __future__ import annotations

from contracts.enums import ServiceName

DEAD_LETTER_SUFFIX = ".dlq"


def events_topic(service: ServiceName | str) -> str:
    """The topic a service publishes its business events on, e.g. ``policy.events``."""
    return f"{ServiceName(service).value}.events"


def dead_letter_topic(topic: str) -> str:
    """Where a consumer parks an event it could not apply, e.g. ``policy.events.dlq``."""
    return f"{topic}{DEAD_LETTER_SUFFIX}"


EVENT_TOPICS: tuple[str, ...] = tuple(events_topic(s) for s in ServiceName)
DEAD_LETTER_TOPICS: tuple[str, ...] = tuple(dead_letter_topic(t) for t in EVENT_TOPICS)
ALL_TOPICS: tuple[str, ...] = EVENT_TOPICS + DEAD_LETTER_TOPICS
