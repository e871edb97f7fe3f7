"""Every component's migrations build exactly the tables its models declare, and undo cleanly."""

from __future__ import annotations

import asyncio
import importlib

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from kernel.migrate import COMPONENTS, alembic_config


def _metadata(component: str):
    return importlib.import_module(f"{COMPONENTS[component]}.models").Base.metadata


def _diff(connection, metadata):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, metadata)


@pytest.mark.parametrize("component", sorted(COMPONENTS))
async def test_migrations_match_the_models_and_downgrade_to_nothing(component, databases):
    url = await databases.create(component)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff, _metadata(component))
        assert diff == [], f"{component}: models and migrations disagree: {diff}"
        await asyncio.to_thread(command.downgrade, alembic_config(component, url), "base")
        async with engine.connect() as conn:
            left = await conn.run_sync(lambda c: [t for t in inspect(c).get_table_names() if t != "alembic_version"])
        assert left == []
    finally:
        await engine.dispose()
