"""Alembic environment of the policy service's database."""

from kernel.migrations_env import run_migrations
from services.policy.models import Base

run_migrations(Base.metadata)
