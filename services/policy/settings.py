"""Settings of the policy service (environment prefix ``POLICY_``)."""

from pydantic_settings import SettingsConfigDict

from kernel.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="POLICY_", extra="ignore", populate_by_name=True)

    database_url: str = "sqlite+aiosqlite:///var/policy.db"
    jurisdiction: str = "national"
    # How long an insurer's quote can be turned into a policy (a business choice, not a regulator's number).
    quote_valid_days: int = 30
