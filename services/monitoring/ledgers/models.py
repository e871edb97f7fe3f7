"""Read-model tables of the ledgers part (on the monitoring hub's metadata)."""

from __future__ import annotations

from services.monitoring.models import Base  # noqa: F401
