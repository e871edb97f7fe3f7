"""Read models of the monitoring hub, built only from events."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.idempotency import idempotency_table
from kernel.messaging_tables import messaging_tables


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class EnterpriseView(Base):
    """What the city knows of an enterprise, from ``policy.enterprise.registered`` events."""

    __tablename__ = "enterprise_view"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    headcount: Mapped[int] = mapped_column(Integer)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    must_insure: Mapped[bool]
    # The event this row last reflects; older events arriving late never overwrite newer ones.
    last_event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updates_applied: Mapped[int] = mapped_column(Integer, default=0)


class ArchivedEvent(Base):
    """Every business event the city received, in arrival order (全量事件存档), for the pull feed and pushes.

    ``sequence`` is assigned in the inbox transaction of one consumer, so it only grows; the feed
    cursor and each push subscription's cursor are positions in it.
    """

    __tablename__ = "event_archive"

    sequence: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(128), index=True)
    source: Mapped[str] = mapped_column(String(256))
    subject: Mapped[str | None] = mapped_column(String(256), nullable=True)
    partition_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    envelope: Mapped[str] = mapped_column(Text)
    archived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PushSubscription(Base):
    """A municipal platform's push subscription (推送订阅): where to send which events, and how far it got."""

    __tablename__ = "push_subscription"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(64), index=True)
    endpoint_url: Mapped[str] = mapped_column(String(2048))
    # JSON list of CloudEvents types; empty means every type.
    event_types: Mapped[str] = mapped_column(Text)
    # The Standard Webhooks signing secret (whsec_…); kept in clear because signing needs it.
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Sequence of the last archived event delivered or dead-lettered; delivery resumes after it.
    delivered_through: Mapped[int] = mapped_column(Integer, default=0)
    # Failed attempts at the event after ``delivered_through``, and when the next may be tried.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Which delivery worker holds the subscription, and until when: one replica delivers it at a time.
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PushDeadLetter(Base):
    """An event a subscriber did not take after the last attempt (死信), or one asked to be delivered again."""

    __tablename__ = "push_dead_letter"
    __table_args__ = (UniqueConstraint("subscription_id", "sequence", name="uq_push_dead_letter_subscription_sequence"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[str] = mapped_column(String(32), ForeignKey("push_subscription.id", ondelete="CASCADE"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    event_id: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    redelivery_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    redelivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class MandatoryEnterprise(Base):
    """An enterprise an industry bureau lists as high-risk and bound to insure (应保企业名录), one row per bureau."""

    __tablename__ = "mandatory_enterprise"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    bureau: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PolicyCoverView(Base):
    """When a policy covers its unit (保险期间), from policy issued, renewed and cancelled events; for 应保尽保."""

    __tablename__ = "policy_cover_view"

    policy_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    insurer: Mapped[str] = mapped_column(String(64))
    industry: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # First day without cover after a cancellation 退保生效日; None while the policy stands.
    cancelled_from: Mapped[date | None] = mapped_column(Date, nullable=True)


# The ledgers and oversight parts declare their tables on this metadata (imported last: they import Base).
from services.monitoring.ledgers import models as _ledger_models  # noqa: E402,F401
from services.monitoring.oversight import models as _oversight_models  # noqa: E402,F401
