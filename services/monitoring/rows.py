"""Read-model rows of a run of events, loaded in one query per table instead of one per event.

The consumer applies a run of events in one transaction and tells the handlers which events the run
holds (``session.info["run"]``). Each table says, per event type, which row an event touches
(:func:`keyed`); the first :func:`get_row` for a table in a run loads every row the run will touch
with one ``SELECT … IN``, and remembers the keys that have no row yet. Rows a handler creates are
registered with :func:`add_row`, so a later event of the same run finds them without a flush.
Nothing is read or written per event any more: the session's unit of work writes the run's
changes together at commit. Outside a run (one event at a time) this is plain ``session.get``.

:func:`insert_later` does the same for rows that are only ever inserted (``ON CONFLICT DO
NOTHING``): they wait in the session and go in as one multi-row statement before it commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Table, event, inspect, select, tuple_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

# model -> event type -> the key (primary key value, a tuple for a composite key) of the row it touches
_KEYS: dict[type, dict[str, Callable[[dict[str, Any]], Hashable]]] = defaultdict(dict)


def keyed(model: type, event_types: tuple[type, ...], key: Callable[[dict[str, Any]], Hashable]) -> None:
    """Declare that events of ``event_types`` touch the ``model`` row ``key(event data)``."""
    for event_type in event_types:
        _KEYS[model][event_type.event_type] = key


def _keys_of_run(model: type, envelopes: list[dict[str, Any]]) -> set:
    keys, extractors = set(), _KEYS.get(model, {})
    for envelope in envelopes:
        extract = extractors.get(envelope.get("type"))
        if extract is None:
            continue
        try:
            keys.add(extract(envelope["data"]))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed event: its handler will say so; it just is not prefetched
    return keys


async def _load(session: AsyncSession, model: type) -> dict[Hashable, Any]:
    keys = _keys_of_run(model, session.info.get("run") or [])
    rows: dict[Hashable, Any] = {}
    if not keys:
        return rows
    columns = inspect(model).primary_key
    composite = len(columns) > 1
    ordered = list(keys)
    for start in range(0, len(ordered), 500):  # stay under every driver's bound-parameter limit
        chunk = ordered[start:start + 500]
        where = tuple_(*columns).in_(chunk) if composite else columns[0].in_(chunk)
        for row in (await session.scalars(select(model).where(where))).all():
            rows[tuple(getattr(row, c.key) for c in columns) if composite else getattr(row, columns[0].key)] = row
    for key in keys:
        rows.setdefault(key, None)  # looked for and absent: no need to ask again in this run
    return rows


def _cache(session: AsyncSession) -> dict[type, dict[Hashable, Any]]:
    return session.info.setdefault("rows", {})


async def get_row(session: AsyncSession, model: type, key: Hashable) -> Any | None:
    """The ``model`` row with primary key ``key`` (a tuple for a composite key), or None."""
    cache = _cache(session)
    rows = cache.get(model)
    if rows is None:
        rows = cache[model] = await _load(session, model)
    if key in rows:
        return rows[key]
    row = await session.get(model, key)
    rows[key] = row
    return row


def add_row(session: AsyncSession, row: Any, key: Hashable) -> Any:
    """Add a new row and remember it for the rest of the run under ``key``."""
    session.add(row)
    _cache(session).setdefault(type(row), {})[key] = row
    return row


def _insert_pending(sync_session) -> None:
    pending: dict[Table, list[dict]] = sync_session.info.pop("insert_later", {})
    dialect = sync_session.bind.dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    for table, rows in pending.items():
        sync_session.execute(insert(table).on_conflict_do_nothing(), rows)


def insert_later(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING, with the other rows of the transaction, just before it commits."""
    pending = session.info.get("insert_later")
    if pending is None:
        pending = session.info["insert_later"] = {}
        event.listen(session.sync_session, "before_commit", _insert_pending, once=True)
    pending.setdefault(table, []).append(values)
