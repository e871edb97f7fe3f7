"""The AsyncAPI 3.0 document of every topic and message, generated from the event schemas.

``python -m contracts.asyncapi --write`` regenerates ``docs/asyncapi.yaml``; a test fails when
the committed file and the schemas disagree, so the document cannot drift from the code.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from contracts.enums import ServiceName
from contracts.events.envelope import PARTITION_KEY_EXTENSION
from contracts.events.registry import EVENT_TYPES
from contracts.topics import dead_letter_topic, events_topic

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "asyncapi.yaml"

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0, structured JSON mode. The Kafka message key equals `partitionkey`.",
    "required": ["id", "source", "type", "specversion", "time", "subject", "datacontenttype", PARTITION_KEY_EXTENSION, "data"],
    "properties": {
        "id": {"type": "string", "description": "Unique event id; consumers deduplicate on it (inbox)"},
        "source": {"type": "string", "description": "Publishing service, e.g. /anzexian/policy"},
        "type": {"type": "string", "description": "Stable event type with its schema version suffix"},
        "specversion": {"type": "string", "const": "1.0"},
        "time": {"type": "string", "format": "date-time", "description": "When the state change happened (UTC)"},
        "subject": {"type": "string", "description": "The resource the event is about, e.g. enterprises/{credit_code}"},
        "datacontenttype": {"type": "string", "const": "application/json"},
        PARTITION_KEY_EXTENSION: {
            "type": "string",
            "description": "Unified social credit code of the enterprise 统一社会信用代码; keeps one enterprise's events ordered",
        },
        "traceparent": {"type": "string", "description": "W3C trace context of the request that caused the event"},
        "data": {"type": "object"},
    },
}


def _camel(topic: str) -> str:
    head, *rest = topic.replace(".", "_").split("_")
    return head + "".join(p.capitalize() for p in rest)


def build_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEventEnvelope": ENVELOPE_SCHEMA}

    for event in sorted(EVENT_TYPES.values(), key=lambda e: e.type):
        data_schema = event.payload.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in data_schema.pop("$defs", {}).items():
            schemas.setdefault(name, definition)
        schemas[event.name] = data_schema
        messages[event.name] = {
            "name": event.type,
            "title": event.name,
            "summary": (event.payload.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/cloudevents+json",
            "headers": {"type": "object", "properties": {"content-type": {"type": "string", "const": "application/cloudevents+json; charset=UTF-8"}}},
            "payload": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventEnvelope"},
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event.type},
                            "source": {"const": f"/anzexian/{event.payload.source_service}"},
                            "data": {"$ref": f"#/components/schemas/{event.name}"},
                        },
                    },
                ]
            },
            "bindings": {"kafka": {"key": {"type": "string", "description": "Unified social credit code (= partitionkey)"}}},
        }

    for service in ServiceName:
        topic = events_topic(service)
        own = {e.name: {"$ref": f"#/components/messages/{e.name}"} for e in EVENT_TYPES.values() if e.topic == topic}
        channel_id, dlq_id = _camel(topic), _camel(dead_letter_topic(topic))
        channels[channel_id] = {
            "address": topic,
            "title": f"{service.value} service events",
            "description": f"Business events of the {service.value} service, published through its transactional outbox (acks=all).",
            "messages": own,
            "bindings": {"kafka": {"topic": topic, "partitions": 4, "replicas": 1, "bindingVersion": "0.5.0"}},
        }
        channels[dlq_id] = {
            "address": dead_letter_topic(topic),
            "title": f"dead letters of {topic}",
            "description": (
                "Events a consumer could not apply after its bounded retries, unchanged, with headers "
                "x-dead-letter-error, x-dead-letter-service, x-original-topic, x-original-partition, "
                "x-original-offset and x-attempts."
            ),
            "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in own},
        }
        operations[f"{service.value}Publishes"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": f"The {service.value} service's outbox relay publishes its events",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in own],
        }
        operations[f"municipalPlatformReceives{service.value.capitalize()}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "summary": "The municipal platform 市级平台 and the monitoring hub consume every business event",
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{name}"} for name in own],
        }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "安责险 platform events",
            "version": "1.0.0",
            "description": (
                "Every business event of the Work Safety Liability Insurance platform, as CloudEvents 1.0 in "
                "structured JSON mode on Kafka. Generated from contracts/events by `make asyncapi`."
            ),
        },
        "defaultContentType": "application/cloudevents+json",
        "servers": {
            "production": {"host": "kafka:9092", "protocol": "kafka", "description": "Apache Kafka (KRaft)"},
            "embedded": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "Tansu broker of the embedded default"},
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    return yaml.safe_dump(build_document(), allow_unicode=True, sort_keys=False, width=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help=f"write {DOCUMENT}")
    args = parser.parse_args(argv)
    if args.write:
        DOCUMENT.parent.mkdir(parents=True, exist_ok=True)
        DOCUMENT.write_text(render(), encoding="utf-8")
    else:
        sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
