"""Read-model rows of a run of events: read in one query per table, written in one statement per table.

The consumer applies a run of events in one transaction and tells the handlers which events the run
holds (``session.info["run"]``). Each table says, per event type, which row an event touches
(:func:`keyed`); the first :func:`get_row` for a table in a run loads every row the run will touch
with one ``SELECT … IN``, and remembers the keys that have no row yet. Rows a handler creates are
registered with :func:`add_row`, so a later event of the same run finds them.

Rows are plain records (one slot per column, no ORM instrumentation): handlers read and change them
as they would mapped objects, and just before the transaction commits the run's changes go in set by
set, per table: one multi-row INSERT of the new rows and one executemany UPDATE of the rows whose
values changed. Outside a run (one event at a time) the same holds for the one row asked for, so
both paths share one code path and give the same rows.

:func:`insert_later` does the same for rows that are only ever inserted (``ON CONFLICT DO
NOTHING``): they wait in the session and go in as one multi-row statement before it commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import Table, bindparam, event, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

# model -> event type -> the key (primary key value, a tuple for a composite key) of the row it touches
_KEYS: dict[type, dict[str, Callable[[dict[str, Any]], Hashable]]] = defaultdict(dict)
# Bound-parameter names of the key in an UPDATE's WHERE (a column's own name is taken by its SET).
_KEY_PARAM = "key_"
# Keys per SELECT … IN: under every driver's bound-parameter limit.
_LOAD_CHUNK = 500


class Row:
    """One read-model row as plain attributes; a subclass per table has a slot per column."""

    __slots__ = ()
    _columns: tuple[str, ...] = ()

    def __init__(self, values: dict[str, Any]) -> None:
        for name in self._columns:
            setattr(self, name, values[name])

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._columns}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.values()!r})"


class _Table:
    """How one model's rows are read, created and written (built once per model)."""

    def __init__(self, model: type) -> None:
        self.table: Table = model.__table__
        self.columns = tuple(c.key for c in self.table.columns)
        self.key_columns = tuple(self.table.primary_key.columns)
        self.composite = len(self.key_columns) > 1
        self.row_type = type(f"{model.__name__}Row", (Row,), {"__slots__": self.columns, "_columns": self.columns})
        # A new row starts from the columns' scalar defaults (as an ORM insert would fill them), else NULL.
        self.defaults = {
            c.key: (c.default.arg if c.default is not None and c.default.is_scalar else None) for c in self.table.columns
        }
        self.select = select(*self.table.columns)
        others = [c for c in self.table.columns if not c.primary_key]
        self.update = (
            update(self.table)
            .where(*[c == bindparam(_KEY_PARAM + c.key) for c in self.key_columns])
            .values({c.key: bindparam(c.key) for c in others})
        )

    def key_of(self, values: dict[str, Any]) -> Hashable:
        return tuple(values[c.key] for c in self.key_columns) if self.composite else values[self.key_columns[0].key]


_TABLES: dict[type, _Table] = {}


def _table(model: type) -> _Table:
    found = _TABLES.get(model)
    if found is None:
        found = _TABLES[model] = _Table(model)
    return found


class _RunRows:
    """The rows of one table a transaction has read or created, and their values as read."""

    __slots__ = ("spec", "rows", "read", "created")

    def __init__(self, spec: _Table) -> None:
        self.spec = spec
        self.rows: dict[Hashable, Row | None] = {}
        self.read: dict[Hashable, dict[str, Any]] = {}  # key -> values as loaded, to see what changed
        self.created: list[Hashable] = []


def keyed(model: type, event_types: tuple[type, ...], key: Callable[[dict[str, Any]], Hashable]) -> None:
    """Declare that events of ``event_types`` touch the ``model`` row ``key(event data)``."""
    _table(model)
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


async def _read(session: AsyncSession, run_rows: _RunRows, keys: list[Hashable]) -> None:
    spec = run_rows.spec
    for start in range(0, len(keys), _LOAD_CHUNK):
        chunk = keys[start:start + _LOAD_CHUNK]
        where = tuple_(*spec.key_columns).in_(chunk) if spec.composite else spec.key_columns[0].in_(chunk)
        for found in (await session.execute(spec.select.where(where))).mappings():
            values = dict(found)
            key = spec.key_of(values)
            run_rows.read[key] = values
            run_rows.rows[key] = spec.row_type(values)
    for key in keys:
        run_rows.rows.setdefault(key, None)  # looked for and absent: no need to ask again in this transaction


def _write_rows(sync_session) -> None:
    """Before commit: the new rows of each table in one INSERT, the changed ones in one executemany UPDATE."""
    for run_rows in sync_session.info.pop("rows", {}).values():
        spec = run_rows.spec
        created = set(run_rows.created)
        inserts = [run_rows.rows[key].values() for key in run_rows.created]
        updates = []
        for key, before in run_rows.read.items():
            if key in created:
                continue
            now = run_rows.rows[key].values()
            if now != before:
                for column in spec.key_columns:
                    now[_KEY_PARAM + column.key] = before[column.key]
                updates.append(now)
        if inserts:
            sync_session.execute(spec.table.insert(), inserts)
        if updates:
            sync_session.execute(spec.update, updates)


def _forget(session, transaction) -> None:
    if transaction.parent is None:  # the outermost transaction ended (committed or rolled back)
        for key in session.info.get("transaction_state", ()):
            session.info.pop(key, None)


def transaction_state(session: AsyncSession, key: str) -> None:
    """Let ``session.info[key]`` live until the transaction ends, so a session reused for another never sees it."""
    keys = session.info.get("transaction_state")
    if keys is None:
        keys = session.info["transaction_state"] = set()
        event.listen(session.sync_session, "after_transaction_end", _forget)
    keys.add(key)


def before_commit(session: AsyncSession, write: Callable[[Any], None], key: str) -> None:
    """Have ``write(sync_session)`` run before each commit of this session, to write what waits in ``session.info[key]``.

    Registered once per session, not once per transaction: a listener registered again with
    ``once=True`` after it fired is taken for the same one and never fires again, so a session that
    commits more than once would lose its later transactions' rows. What waits is dropped when the
    transaction ends without committing.
    """
    registered = session.info.setdefault("before_commit", set())
    if write not in registered:
        registered.add(write)
        event.listen(session.sync_session, "before_commit", write)
    transaction_state(session, key)


def _run_rows(session: AsyncSession, model: type) -> tuple[_RunRows, bool]:
    """This transaction's rows of ``model``, and whether they were just started."""
    cache = session.info.get("rows")
    if cache is None:
        cache = session.info["rows"] = {}
        before_commit(session, _write_rows, "rows")
    run_rows = cache.get(model)
    if run_rows is None:
        run_rows = cache[model] = _RunRows(_table(model))
        return run_rows, True
    return run_rows, False


async def get_row(session: AsyncSession, model: type, key: Hashable) -> Row | None:
    """The ``model`` row with primary key ``key`` (a tuple for a composite key), or None."""
    run_rows, first = _run_rows(session, model)
    if first:
        await _read(session, run_rows, list(_keys_of_run(model, session.info.get("run") or [])))
    if key not in run_rows.rows:
        await _read(session, run_rows, [key])
    return run_rows.rows[key]


def add_row(session: AsyncSession, model: type, **values: Any) -> Row:
    """A new ``model`` row (its key taken from its values), remembered for the rest of the transaction and inserted at its commit."""
    run_rows, _ = _run_rows(session, model)
    spec = run_rows.spec
    unknown = set(values) - set(spec.columns)
    if unknown:
        raise TypeError(f"{model.__name__} has no columns {sorted(unknown)}")
    row = spec.row_type(spec.defaults | values)
    key = spec.key_of(row.values())
    if run_rows.rows.get(key) is not None:
        raise ValueError(f"{model.__name__} {key!r} exists already")
    run_rows.rows[key] = row
    run_rows.created.append(key)
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
        before_commit(session, _insert_pending, "insert_later")
    pending.setdefault(table, []).append(values)
