"""Every event type of the platform, by its CloudEvents ``type``, with its payload schema and topic."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.events import claims, monitoring, policy, prevention
from contracts.events.envelope import EventPayload
from contracts.topics import events_topic


@dataclass(frozen=True)
class EventType:
    type: str
    topic: str
    payload: type[EventPayload]

    @property
    def name(self) -> str:
        return self.payload.__name__


def _collect(*modules) -> dict[str, EventType]:
    found: dict[str, EventType] = {}
    for module in modules:
        for obj in vars(module).values():
            if isinstance(obj, type) and issubclass(obj, EventPayload) and obj is not EventPayload and obj.__module__ == module.__name__:
                if obj.event_type in found:
                    raise RuntimeError(f"event type {obj.event_type} declared twice")
                found[obj.event_type] = EventType(obj.event_type, events_topic(obj.source_service), obj)
    return found


EVENT_TYPES: dict[str, EventType] = _collect(policy, claims, prevention, monitoring)


def event_type(type_: str) -> EventType:
    return EVENT_TYPES[type_]


def payload_model(type_: str) -> type[EventPayload]:
    return EVENT_TYPES[type_].payload
