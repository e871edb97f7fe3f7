"""Tables of the prevention service's own database.

Its copy of policies (from policy events), technical service institutions with their filings and
evaluations, service plans and records, the hazard ledger with its status history, and the
append-only prevention-fund ledger. Money columns are ``Numeric(14, 2)`` (CNY to the fen).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.idempotency import idempotency_table
from kernel.messaging_tables import messaging_tables

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class PolicyCopy(Base):
    """保单信息: what the prevention service knows of a policy, from policy events only."""

    __tablename__ = "policy_copies"

    policy_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    cancelled_from: Mapped[date | None] = mapped_column(Date, nullable=True)


class Institution(Base):
    """技术服务机构: registered with its qualifications and professional staff."""

    __tablename__ = "institutions"

    institution_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    qualifications: Mapped[list] = mapped_column(JSON)
    professional_staff: Mapped[int] = mapped_column(Integer)
    owner_tenant: Mapped[str] = mapped_column(String(100), index=True)  # who registered it
    status: Mapped[str] = mapped_column(String(16))  # ACTIVE, EXITED
    dishonest: Mapped[bool] = mapped_column(Boolean, default=False)
    dishonesty_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    exit_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Filing(Base):
    """备案: an insurer entrusts an institution."""

    __tablename__ = "institution_filings"
    __table_args__ = (UniqueConstraint("institution_code", "insurer", name="uq_filing_institution_insurer"),)

    filing_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(18), index=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    filed_on: Mapped[date] = mapped_column(Date)


class Evaluation(Base):
    """年度评估: an insurer's score of an institution it filed."""

    __tablename__ = "institution_evaluations"

    evaluation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    institution_code: Mapped[str] = mapped_column(String(18), index=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    year: Mapped[int] = mapped_column(Integer)
    score: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    passed: Mapped[bool] = mapped_column(Boolean)
    evaluated_on: Mapped[date] = mapped_column(Date)


class ServicePlan(Base):
    """事故预防技术服务方案 (AQ 9010-2019): per insured unit and policy."""

    __tablename__ = "service_plans"

    plan_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    policy_no: Mapped[str] = mapped_column(String(64))
    institution_code: Mapped[str] = mapped_column(String(18))
    items: Mapped[list] = mapped_column(JSON)
    frequency: Mapped[str] = mapped_column(String(200))
    staff: Mapped[list] = mapped_column(JSON)
    goals: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ServiceRecord(Base):
    """服务记录 (AQ 9010-2019): time, place, institution, staff, item, process, findings, confirmation."""

    __tablename__ = "service_records"

    record_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    policy_no: Mapped[str] = mapped_column(String(64))
    institution_code: Mapped[str] = mapped_column(String(18), index=True)
    item: Mapped[str] = mapped_column(String(40))
    performed_on: Mapped[date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(300))
    staff: Mapped[list] = mapped_column(JSON)
    cost: Mapped[Decimal] = mapped_column(Money)
    findings: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(JSON)
    confirmed_by_unit: Mapped[bool] = mapped_column(Boolean)
    recorded_by: Mapped[str] = mapped_column(String(100), index=True)  # tenant that entered it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Hazard(Base):
    """隐患台账: one hazard and where its rectification stands."""

    __tablename__ = "hazards"

    hazard_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    policy_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    level: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)
    found_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)
    evidence: Mapped[list] = mapped_column(JSON)
    verified_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reported_by: Mapped[str] = mapped_column(String(100), index=True)  # tenant that entered it
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HazardChange(Base):
    """Every status change of a hazard, who made it and when (整改过程留痕)."""

    __tablename__ = "hazard_changes"

    change_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hazard_id: Mapped[str] = mapped_column(String(40), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    changed_by: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class FundEntry(Base):
    """事故预防费用台账: append-only; a correction is a reversing entry, never an update.

    kind: ACCRUAL (from premium collected, negative for a refund), EXPENSE, REVERSAL (of an
    expense, negative), CARRY_OUT (closing a year) and CARRY_IN (opening the next).
    ``source`` makes an accrual once per premium receipt.
    """

    __tablename__ = "fund_entries"

    entry_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(40), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    collected_premium: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    record_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    reverses: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    source: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
