"""Tables of the policy service's own database.

Money columns are ``Numeric(14, 2)`` (CNY to the fen); dates are cover days.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.idempotency import idempotency_table
from kernel.messaging_tables import messaging_tables

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class Enterprise(Base):
    """投保单位: an enterprise that is or should be insured, with the risk facts the rate engine reads."""

    __tablename__ = "enterprises"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(32), index=True)
    district: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(300))
    headcount: Mapped[int] = mapped_column(Integer)
    standardization_grade: Mapped[str] = mapped_column(String(16))
    jurisdiction: Mapped[str] = mapped_column(String(32))
    must_insure: Mapped[bool]
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Risk facts declared by the insurer (rating factors' options); experience learned from events overrides.
    accident_record: Mapped[str] = mapped_column(String(32), default="NO_ACCIDENT", server_default="NO_ACCIDENT")
    violation_record: Mapped[str] = mapped_column(String(32), default="NONE", server_default="NONE")
    hazard_rectification: Mapped[str] = mapped_column(String(32), default="COOPERATIVE", server_default="COOPERATIVE")
    social_rescue: Mapped[str] = mapped_column(String(32), default="NONE", server_default="NONE")
    safety_award: Mapped[str] = mapped_column(String(32), default="NONE", server_default="NONE")
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RosterMember(Base):
    """从业人员名册: one employee of an enterprise, insured for the roster's one amount."""

    __tablename__ = "roster_members"

    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    employment_type: Mapped[str] = mapped_column(String(16))
    insured_amount: Mapped[Decimal] = mapped_column(Money)


class Quote(Base):
    """报价: a rated offer of one insurer to one enterprise, with its whole breakdown."""

    __tablename__ = "quotes"

    quote_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(64), index=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    profile_version: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    per_person_limit: Mapped[Decimal] = mapped_column(Money)
    headcount: Mapped[int] = mapped_column(Integer)
    premium: Mapped[Decimal] = mapped_column(Money)
    commission: Mapped[Decimal] = mapped_column(Money)
    breakdown: Mapped[dict] = mapped_column(JSON)
    insured_people: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # OPEN | USED
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Policy(Base):
    """保单: written from a quote (or a renewal), with its premium accounts."""

    __tablename__ = "policies"

    policy_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    quote_id: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    previous_policy_no: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    insurer: Mapped[str] = mapped_column(String(64), index=True)
    credit_code: Mapped[str] = mapped_column(ForeignKey("enterprises.credit_code"), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    profile_version: Mapped[str] = mapped_column(String(64))
    must_insure: Mapped[bool]
    rating_basis: Mapped[str] = mapped_column(String(16))  # PER_PERSON | PROJECT_COST
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    per_person_limit: Mapped[Decimal] = mapped_column(Money)
    headcount: Mapped[int] = mapped_column(Integer)
    issue_headcount: Mapped[int] = mapped_column(Integer)
    issue_premium: Mapped[Decimal] = mapped_column(Money)
    written_premium: Mapped[Decimal] = mapped_column(Money)
    collected_premium: Mapped[Decimal] = mapped_column(Money)
    commission: Mapped[Decimal] = mapped_column(Money)
    sub_limits: Mapped[dict] = mapped_column(JSON)
    breakdown: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # IN_FORCE | CANCELLED
    cancellation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cancelled_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    endorsement_count: Mapped[int] = mapped_column(Integer, default=0)
    receipt_count: Mapped[int] = mapped_column(Integer, default=0)


class PolicyInsured(Base):
    """被保险人员: who a policy covers, from when to when (endorsements add and remove)."""

    __tablename__ = "policy_insureds"

    policy_no: Mapped[str] = mapped_column(ForeignKey("policies.policy_no"), primary_key=True)
    resident_id: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    employment_type: Mapped[str] = mapped_column(String(16))
    covered_from: Mapped[date] = mapped_column(Date)
    removed_from: Mapped[date | None] = mapped_column(Date, nullable=True)


class Endorsement(Base):
    """批单: a change of insured people with its pro-rata premium."""

    __tablename__ = "endorsements"

    endorsement_no: Mapped[str] = mapped_column(String(48), primary_key=True)
    policy_no: Mapped[str] = mapped_column(ForeignKey("policies.policy_no"), index=True)
    effective_date: Mapped[date] = mapped_column(Date)
    added: Mapped[list] = mapped_column(JSON)
    removed: Mapped[list] = mapped_column(JSON)
    premium_change: Mapped[Decimal] = mapped_column(Money)
    breakdown: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PremiumReceipt(Base):
    """实收保费 entry: money received (RECEIPT) or paid back (REFUND)."""

    __tablename__ = "premium_receipts"

    receipt_no: Mapped[str] = mapped_column(String(48), primary_key=True)
    policy_no: Mapped[str] = mapped_column(ForeignKey("policies.policy_no"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[Decimal] = mapped_column(Money)
    received_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccidentExperience(Base):
    """事故记录: an accident the claims service reported (latest figures), for renewal rating."""

    __tablename__ = "accident_experience"

    accident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    grade: Mapped[str] = mapped_column(String(24))
    deaths: Mapped[int] = mapped_column(Integer)
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HazardExperience(Base):
    """隐患整改记录: a hazard's latest rectification status from the prevention service."""

    __tablename__ = "hazard_experience"

    hazard_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    status: Mapped[str] = mapped_column(String(16))
    major: Mapped[bool]
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
