"""The outbox and inbox tables every service keeps in its own database.

A service's ``models.py`` calls :func:`messaging_tables` on its metadata, so the tables are
part of that service's Alembic migrations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text, text


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table


def messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        # Ordering within a key follows this id; writers of one key are serialized (see outbox.enqueue).
        Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition_key", String(64), nullable=False),
        Column("envelope", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        # Relay bookkeeping: request code only ever inserts rows.
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("lease_owner", String(64), nullable=True),
        Column("lease_until", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "published_at", "id"),
        Index("ix_outbox_key_unpublished", "partition_key", "published_at", "id"),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        # applied | dead_lettered | ignored
        Column("outcome", String(20), nullable=False),
        Column("received_at", DateTime(timezone=True), nullable=False),
        Column("error", Text, nullable=True),
    )
    return MessagingTables(outbox, inbox)
