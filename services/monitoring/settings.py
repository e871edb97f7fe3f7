"""Settings of the monitoring hub (environment prefix ``MONITORING_``)."""

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MONITORING_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/monitoring.db"

    # Pull feed: most events one page may hold.
    feed_max_limit: int = 1000

    # Push subscriptions (推送订阅).
    run_push_delivery: bool = True
    # Plain http is refused except to 127.0.0.1/localhost when this is on (tests, the embedded default).
    push_allow_http_localhost: bool = False
    push_poll_seconds: float = 0.2
    push_max_attempts: int = 6
    push_backoff_seconds: float = 1.0
    push_backoff_max_seconds: float = 300.0
    push_timeout_seconds: float = 10.0
    push_batch_size: int = 100
    # A delivery worker's hold on a subscription, renewed with each delivery; must exceed push_timeout_seconds.
    push_lease_seconds: float = 60.0

    # Mandatory-enterprise registry uploads (应保企业名录).
    registry_upload_max_bytes: int = 10 * 1024 * 1024
