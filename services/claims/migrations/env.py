"""Alembic environment of the claims service's database."""

from kernel.migrations_env import run_migrations
from services.claims.models import Base

run_migrations(Base.metadata)
