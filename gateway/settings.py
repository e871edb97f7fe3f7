"""Settings of the gateway (environment prefix ``GATEWAY_``; JWT and logging names are the platform's shared ones)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import SettingsConfigDict

from contracts.enums import ServiceName
from kernel.settings import PlatformSettings


class Settings(PlatformSettings):
    """What the gateway needs beyond :class:`PlatformSettings`.

    ``JWT_PUBLIC_KEY_FILE``, ``JWT_ISSUER`` and ``JWT_AUDIENCE`` stay unprefixed because every
    service reads the same ones; the gateway's own names all start with ``GATEWAY_``.
    """

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/gateway.db"
    jwt_private_key_file: Path = Path("var/keys/jwt-private.pem")
    token_ttl_seconds: int = 900

    policy_url: str = "http://127.0.0.1:8001"
    claims_url: str = "http://127.0.0.1:8002"
    prevention_url: str = "http://127.0.0.1:8003"
    monitoring_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 5.0
    upstream_max_connections: int = 200
    upstream_max_keepalive: int = 50
    # Bureaus upload their high-risk enterprise lists through the gateway; bigger bodies are refused.
    max_body_bytes: int = 64 * 1024 * 1024

    # Rate limits in the `limits` notation ("100/second", "1000/minute;50/second"), per client.
    rate_limit: str = "100/second"
    # Counted per (client_id, IP) on POST /oauth/token, to make guessing a secret slow.
    token_rate_limit: str = "120/minute"
    # "memory://" per replica; "redis://host:6379" (needs the redis extra of `limits`) shares counts.
    rate_limit_storage: str = "memory://"

    # How often the set of revoked clients is re-read from the database.
    revocation_refresh_seconds: float = 2.0
    # How long the merged OpenAPI document is kept before the services are asked again.
    openapi_cache_seconds: float = 30.0
    upstream_probe_timeout_seconds: float = 3.0

    def service_urls(self) -> dict[str, str]:
        """Where each service listens, by the name used in ``/api/v1/<service>/...``."""
        return {name.value: getattr(self, f"{name.value}_url").rstrip("/") for name in ServiceName}
