"""Settings of the prevention service (environment prefix ``PREVENTION_``)."""

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PREVENTION_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/prevention.db"
