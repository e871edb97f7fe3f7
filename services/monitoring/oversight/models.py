"""Read-model tables of the oversight part (on the monitoring hub's metadata)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.models import Base


class OversightPolicy(Base):
    """One issued or renewed policy, keyed by number: replaying its event rewrites the same row."""

    __tablename__ = "oversight_policy"

    policy_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(64), index=True)
    credit_code: Mapped[str] = mapped_column(String(18))
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    premium: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    commission: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class OversightAlert(Base):
    """An alert, raised once per rule and subject (the unique key makes a replay a no-op)."""

    __tablename__ = "oversight_alert"
    __table_args__ = (UniqueConstraint("kind", "subject", name="uq_oversight_alert_kind_subject"),)

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(48))
    subject: Mapped[str] = mapped_column(String(128))
    insurer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    credit_code: Mapped[str | None] = mapped_column(String(18), nullable=True)
    observed: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    limit: Mapped[Decimal | None] = mapped_column(Numeric(18, 4), nullable=True)
    message_zh: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OversightFundEntry(Base):
    """A prevention fund ledger entry (accrual or spend), keyed by entry number; reversals carry negative amounts."""

    __tablename__ = "oversight_fund_entry"

    entry_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # ACCRUED or SPENT
    collected_premium: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class OversightEvaluation(Base):
    """An annual evaluation as computed (JSON), published or not; only published rows are ever disclosed."""

    __tablename__ = "oversight_evaluation"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class OversightFact(Base):
    """One countable fact for the KPIs, keyed by what it is about (a receipt, a claim, a hazard…).

    The key makes a replay or a rebuild write the same row again, never a second one: premium
    collected (negative for a refund), claims reported and paid, fast-track channels opened and
    missed, hazards found and rectified, institution evaluations.
    """

    __tablename__ = "oversight_fact"

    fact_key: Mapped[str] = mapped_column(String(160), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(64), index=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(18, 2))


class OversightFundYear(Base):
    """Running totals of one insurer's prevention-fund year, kept as entries arrive (no sum per event)."""

    __tablename__ = "oversight_fund_year"

    insurer: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    collected_premium: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    accrued: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    spent: Mapped[Decimal] = mapped_column(Numeric(18, 2))
