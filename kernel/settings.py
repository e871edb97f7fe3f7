"""Settings every component shares (broker, JWT verification, logging), read from the environment.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix`` for what is its own
(database URL, consumer group), so `POLICY_DATABASE_URL` and `CLAIMS_DATABASE_URL` never mix.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _shared(name: str, default):
    """A field read from an unprefixed, platform-wide environment variable."""
    return Field(default, validation_alias=AliasChoices(name, name.lower()))


class PlatformSettings(BaseSettings):
    """What every process of the platform needs to know."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = _shared("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    # On for Apache Kafka; the embedded Tansu broker refuses InitProducerId, so the dev default is off.
    kafka_enable_idempotence: bool = _shared("KAFKA_ENABLE_IDEMPOTENCE", False)
    kafka_topic_partitions: int = _shared("KAFKA_TOPIC_PARTITIONS", 4)
    kafka_replication_factor: int = _shared("KAFKA_REPLICATION_FACTOR", 1)
    jwt_public_key_file: Path = _shared("JWT_PUBLIC_KEY_FILE", Path("var/keys/jwt-public.pem"))
    jwt_issuer: str = _shared("JWT_ISSUER", "anzexian-gateway")
    jwt_audience: str = _shared("JWT_AUDIENCE", "anzexian-api")
    log_level: str = _shared("LOG_LEVEL", "INFO")
    log_json: bool = _shared("LOG_JSON", True)


class ServiceSettings(PlatformSettings):
    """A domain service: its own database, its own consumer group, and its workers.

    Subclasses set ``model_config = SettingsConfigDict(env_prefix="POLICY_", ...)``.
    """

    database_url: str = "sqlite+aiosqlite:///var/service.db"
    run_relay: bool = True
    run_consumers: bool = True
    relay_poll_seconds: float = 0.2
    relay_batch_size: int = 200
    consumer_max_attempts: int = 3
    consumer_retry_backoff_seconds: float = 0.2
    consumer_max_batch: int = 500
    # Consumer group of this service; replicas share it. Empty means the service's name.
    consumer_group: str = ""
    # How long a silent member (e.g. a killed process) keeps its partitions before the group moves them.
    consumer_session_timeout_ms: int = 6_000
    # Longest a fetch waits for data; low keeps event latency low at the cost of more fetch requests.
    consumer_fetch_max_wait_ms: int = 100
    # How long a claimed Idempotency-Key stays "in progress" before a retry may take it over (a
    # process killed mid-request leaves its claim behind). Longer than any request may run.
    idempotency_claim_lease_seconds: float = 60.0
