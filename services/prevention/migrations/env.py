"""Alembic environment of the prevention service's database."""

from kernel.migrations_env import run_migrations
from services.prevention.models import Base

run_migrations(Base.metadata)
