"""Prometheus metrics of the platform's mechanism, and the ``/metrics`` endpoint."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Counter, Gauge
from prometheus_fastapi_instrumentator import Instrumentator

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events acknowledged by the broker", ["service"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Relay passes that failed to publish", ["service"])
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Outbox events not yet acknowledged", ["service"])
EVENTS_APPLIED = Counter("consumer_events_applied_total", "Events applied by a consumer", ["service", "type"])
EVENTS_DUPLICATE = Counter("consumer_events_duplicate_total", "Redelivered events skipped by the inbox", ["service"])
EVENTS_DEAD_LETTERED = Counter("consumer_events_dead_lettered_total", "Events parked on a dead-letter topic", ["service", "topic"])


def install_metrics(app: FastAPI, component: str) -> None:
    """Request metrics by route template (prometheus-fastapi-instrumentator) plus ours, on ``/metrics``."""
    Instrumentator(
        excluded_handlers=["/metrics", "/healthz", "/readyz"],
        should_group_status_codes=False,
    ).instrument(app, metric_namespace="anzexian", metric_subsystem=component).expose(app, include_in_schema=False)
