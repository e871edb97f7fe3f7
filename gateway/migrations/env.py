"""Alembic environment of the gateway's database."""

from gateway.models import Base
from kernel.migrations_env import run_migrations

run_migrations(Base.metadata)
