"""Alembic environment of the monitoring hub's database."""

from kernel.migrations_env import run_migrations
from services.monitoring.models import Base

run_migrations(Base.metadata)
