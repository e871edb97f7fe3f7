"""Tables of the claims service's own database: its copy of policy cover, claims, victims, payments.

Money columns are ``Numeric(14, 2)`` (CNY to the fen); times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, Date, DateTime, ForeignKey, Integer, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from kernel.idempotency import idempotency_table
from kernel.messaging_tables import messaging_tables

Money = Numeric(14, 2)


class Base(DeclarativeBase):
    pass


messaging = messaging_tables(Base.metadata)
idempotency = idempotency_table(Base.metadata)


class PolicyCover(Base):
    """保单承保信息: what the claims service knows of a policy, learnt from policy events only."""

    __tablename__ = "policy_covers"

    policy_no: Mapped[str] = mapped_column(String(64), primary_key=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    cancelled_from: Mapped[date | None] = mapped_column(Date, nullable=True)
    per_person_limit: Mapped[Decimal] = mapped_column(Money)
    per_accident_limit: Mapped[Decimal] = mapped_column(Money)
    aggregate_limit: Mapped[Decimal] = mapped_column(Money)
    medical_limit: Mapped[Decimal] = mapped_column(Money)
    rescue_limit: Mapped[Decimal] = mapped_column(Money)
    legal_limit: Mapped[Decimal] = mapped_column(Money)
    headcount: Mapped[int] = mapped_column(Integer)
    insured_ids: Mapped[list] = mapped_column(JSON)  # resident ID numbers on the roster 被保险人员名单
    used_aggregate: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    used_rescue: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    used_legal: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class Claim(Base):
    """赔案: one accident report under one policy, its clock and its money."""

    __tablename__ = "claims"

    claim_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    policy_no: Mapped[str] = mapped_column(ForeignKey("policy_covers.policy_no"), index=True)
    insurer: Mapped[str] = mapped_column(String(100), index=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    jurisdiction: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    place: Mapped[str] = mapped_column(String(300))
    accident_type: Mapped[str] = mapped_column(String(32))
    deaths: Mapped[int] = mapped_column(Integer)
    serious_injuries: Mapped[int] = mapped_column(Integer)
    minor_injuries: Mapped[int] = mapped_column(Integer)
    direct_loss: Mapped[Decimal] = mapped_column(Money)
    major_social_impact: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str] = mapped_column(Text)
    grade: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default="OPEN")  # OPEN | SETTLED | CLOSED
    fast_track: Mapped[bool] = mapped_column(Boolean)
    fast_track_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    fast_track_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    overdue_raised: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    assessed_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    paid_total: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))


class Victim(Base):
    """伤亡人员: one person hurt or killed, with the assessment's steps."""

    __tablename__ = "victims"

    victim_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"), index=True)
    resident_id: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    disability_grade: Mapped[int | None] = mapped_column(Integer, nullable=True)
    medical_costs: Mapped[Decimal] = mapped_column(Money)
    death_disability_amount: Mapped[Decimal] = mapped_column(Money)
    medical_amount: Mapped[Decimal] = mapped_column(Money)
    payable: Mapped[Decimal] = mapped_column(Money)
    limits_exhausted: Mapped[bool] = mapped_column(Boolean)
    steps: Mapped[list] = mapped_column(JSON)


class Payment(Base):
    """支付记录: a pre-payment 预付 or the final settlement payment 结案支付."""

    __tablename__ = "claim_payments"

    payment_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # PREPAYMENT | SETTLEMENT
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(String(300), default="")


class ClaimCost(Base):
    """施救费用 / 法律费用: rescue or legal costs of a claim, within their sub-limits."""

    __tablename__ = "claim_costs"

    cost_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    claim_id: Mapped[str] = mapped_column(ForeignKey("claims.claim_id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # rescue | legal
    amount: Mapped[Decimal] = mapped_column(Money)
    payable: Mapped[Decimal] = mapped_column(Money)
    steps: Mapped[list] = mapped_column(JSON)
