"""Event contracts: the CloudEvents envelope, the versioned payload schemas, and their registry."""

from contracts.events.envelope import (
    PARTITION_KEY_EXTENSION,
    EventPayload,
    build_cloudevent,
    parse_cloudevent,
)
from contracts.events.registry import EVENT_TYPES, EventType, event_type, payload_model

__all__ = [
    "PARTITION_KEY_EXTENSION",
    "EVENT_TYPES",
    "EventPayload",
    "EventType",
    "build_cloudevent",
    "event_type",
    "parse_cloudevent",
    "payload_model",
]
