"""Settings of the prevention service (environment prefix ``PREVENTION_``)."""

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PREVENTION_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/prevention.db"
    # The jurisdiction whose profile governs institutions and the fund ledger here (national, beijing, yunnan).
    jurisdiction: str = "national"
    # How often hazards past their deadline are marked overdue 隐患逾期巡检间隔.
    overdue_check_seconds: float = 60.0
    run_overdue_watcher: bool = True
