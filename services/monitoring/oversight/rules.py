"""Pure oversight rules (no I/O)."""

from __future__ import annotations

import calendar
import hashlib
from datetime import date
from decimal import Decimal

COMMISSION_CAP = Decimal("0.05")  # Measures 2025 Art. 14; the profile's commission.cap_ratio
SPEND_TARGET = Decimal("0.20")  # prevention spend target, share of collected premium
SPEND_CAP = Decimal("0.21")  # Measures 2025 Art. 22


Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")


def ratio_of_year(day: date) -> Decimal:
    """Elapsed share of the calendar year at the end of ``day`` (31 Dec gives 1)."""
    days = 366 if calendar.isleap(day.year) else 365
    return Decimal(day.timetuple().tm_yday) / Decimal(days)


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def commission_above_cap(premium: Decimal, commission: Decimal, cap_ratio: Decimal = COMMISSION_CAP) -> bool:
    """Above the cap only when strictly more than cap × premium (4,300 on 86,000 is allowed)."""
    return commission > premium * cap_ratio


def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part / whole).quantize(Decimal("0.0001"))


def alert_id(kind: str, subject: str) -> str:
    """Deterministic: the same rule and subject give the same number, also after a rebuild."""
    return "AL-" + hashlib.sha256(f"{kind}|{subject}".encode()).hexdigest()[:16].upper()
