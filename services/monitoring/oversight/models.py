"""Read-model tables of the oversight part (on the monitoring hub's metadata)."""

from __future__ import annotations

from services.monitoring.models import Base  # noqa: F401
