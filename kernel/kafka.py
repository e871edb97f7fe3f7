"""Kafka clients configured the one way the platform uses them (aiokafka, acks=all)."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from kernel.settings import PlatformSettings, ServiceSettings

logger = logging.getLogger("kernel.kafka")

CLOUDEVENTS_CONTENT_TYPE = b"application/cloudevents+json; charset=UTF-8"


def new_producer(settings: PlatformSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.kafka_enable_idempotence,
        linger_ms=2,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
        metadata_max_age_ms=30_000,
    )


def new_consumer(settings: ServiceSettings, *topics: str, group_id: str, client_id: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=1_000,
        fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
        max_poll_interval_ms=300_000,
        retry_backoff_ms=200,
    )


async def ensure_topics(settings: PlatformSettings, topics: list[str] | tuple[str, ...]) -> None:
    """Create missing topics with the configured partitions; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers, request_timeout_ms=10_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [NewTopic(t, settings.kafka_topic_partitions, settings.kafka_replication_factor) for t in missing]
            )
        except TopicAlreadyExistsError:  # another replica won the race
            pass
        logger.info("created topics %s", missing)
    finally:
        await admin.close()
