"""Settings of the claims service (environment prefix ``CLAIMS_``)."""

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMS_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/claims.db"
    # How often the fast-track watcher looks for claims past their deadline 快赔/预赔超时巡检间隔.
    overdue_check_seconds: float = 30.0
    run_overdue_watcher: bool = True
