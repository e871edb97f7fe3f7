"""Read-model tables of the ledgers part (on the monitoring hub's metadata)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.monitoring.models import Base


class LedgerHazard(Base):
    """One hazard 事故隐患 as the bureaus' hazard ledger shows it (from HazardFound and HazardStatusChanged)."""

    __tablename__ = "ledger_hazard"

    hazard_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    insurer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    policy_no: Mapped[str | None] = mapped_column(String(64), nullable=True)
    record_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[str | None] = mapped_column(String(16), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    found_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    deadline: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    counts_as_self_inspection: Mapped[bool] = mapped_column(Boolean, default=False)
    enforcement_basis: Mapped[bool] = mapped_column(Boolean, default=True)


class LedgerServiceRecord(Base):
    """One prevention service record 事故预防服务记录 (from ServiceRecorded)."""

    __tablename__ = "ledger_service_record"

    record_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    credit_code: Mapped[str] = mapped_column(String(18), index=True)
    policy_no: Mapped[str] = mapped_column(String(64))
    insurer: Mapped[str] = mapped_column(String(64))
    institution_code: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(32))
    performed_on: Mapped[date] = mapped_column(Date, index=True)
    staff: Mapped[str] = mapped_column(Text)
    cost: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    hazards_found: Mapped[int] = mapped_column(Integer, default=0)
