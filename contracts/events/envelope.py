"""CloudEvents 1.0 envelope in structured JSON mode, as the platform writes and reads it.

Every event carries ``partitionkey`` (the enterprise's unified social credit code, so one
enterprise's events stay ordered on one partition) and ``traceparent`` when a trace is known.
Building and parsing go through the CloudEvents SDK so the envelope is validated by the spec's
own implementation, not ours.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ConfigDict

PARTITION_KEY_EXTENSION = "partitionkey"
TRACEPARENT_EXTENSION = "traceparent"
SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

_FORMAT = JSONFormat()


class EventPayload(BaseModel):
    """Base of every event payload (the CloudEvent ``data``).

    Subclasses declare ``event_type`` (stable, reverse-DNS style, with a version suffix such as
    ``cn.anzexian.policy.issued.v1``), ``source_service`` and a docstring that is the
    AsyncAPI description.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    source_service: ClassVar[str]


def build_cloudevent(
    payload: EventPayload,
    *,
    subject: str,
    partition_key: str,
    source: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> dict[str, Any]:
    """A validated structured-mode CloudEvent as a JSON-ready dict."""
    attributes: dict[str, Any] = {
        "id": event_id or str(uuid.uuid4()),
        "source": source or f"/anzexian/{payload.source_service}",
        "type": payload.event_type,
        "specversion": SPEC_VERSION,
        "time": (time or datetime.now(UTC)),
        "subject": subject,
        "datacontenttype": CONTENT_TYPE,
        PARTITION_KEY_EXTENSION: partition_key,
    }
    if traceparent:
        attributes[TRACEPARENT_EXTENSION] = traceparent
    event = CloudEvent(attributes=attributes, data=payload.model_dump(mode="json"))
    return json.loads(_FORMAT.write(event))


def serialize(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def parse_cloudevent(raw: bytes | str) -> dict[str, Any]:
    """Parse and validate a structured-mode CloudEvent; raises ValueError on anything malformed."""
    try:
        event = _FORMAT.read(None, raw if isinstance(raw, bytes) else raw.encode())
    except Exception as exc:  # the SDK raises several types; all mean "not a CloudEvent"
        raise ValueError(f"not a valid CloudEvent: {exc}") from exc
    envelope = dict(event.get_attributes())
    envelope["time"] = envelope["time"].isoformat() if isinstance(envelope.get("time"), datetime) else envelope.get("time")
    envelope["data"] = event.get_data()
    return envelope
