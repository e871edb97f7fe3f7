"""Pure oversight rules (no I/O)."""

from __future__ import annotations

import calendar
import hashlib
import os
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from contracts.profiles import get_profile

# Fund events carry no jurisdiction: their limits come from the hub's own (the city's) profile.
HUB_JURISDICTION = os.environ.get("MONITORING_JURISDICTION", "national")


@dataclass(frozen=True)
class Limits:
    """The numbers the oversight rules check, from the jurisdiction profile in force."""

    commission_cap: Decimal  # Measures 2025 Art. 14 (5%)
    spend_target: Decimal  # prevention spend target, share of collected premium (20%)
    spend_cap: Decimal  # Measures 2025 Art. 22 (21%)


@lru_cache(maxsize=256)
def limits(on: date, jurisdiction: str | None = None) -> Limits:
    profile = get_profile(jurisdiction or HUB_JURISDICTION, on)
    return Limits(profile.commission.cap_ratio, profile.prevention_fund.target_ratio, profile.prevention_fund.cap_ratio)


def year_limits(year: int) -> Limits:
    """The hub's limits for a fund year (the profile in force at its end)."""
    return limits(date(year, 12, 31))


Q2 = Decimal("0.01")
Q4 = Decimal("0.0001")


def ratio_of_year(day: date) -> Decimal:
    """Elapsed share of the calendar year at the end of ``day`` (31 Dec gives 1)."""
    days = 366 if calendar.isleap(day.year) else 365
    return Decimal(day.timetuple().tm_yday) / Decimal(days)


def quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


def commission_above_cap(premium: Decimal, commission: Decimal, cap_ratio: Decimal) -> bool:
    """Above the cap only when strictly more than cap × premium (4,300 on 86,000 is allowed)."""
    return commission > premium * cap_ratio


def ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (part / whole).quantize(Decimal("0.0001"))


def alert_id(kind: str, subject: str) -> str:
    """Deterministic: the same rule and subject give the same number, also after a rebuild."""
    return "AL-" + hashlib.sha256(f"{kind}|{subject}".encode()).hexdigest()[:16].upper()
