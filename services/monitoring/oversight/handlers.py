"""Read-model handlers of the oversight part: run after the archive step, in the consumer's transaction."""

from __future__ import annotations

from kernel.consumer import Handler

READ_MODELS: dict[str, Handler] = {}
