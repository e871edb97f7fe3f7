"""Test data for the claims service: policy events as the policy service would publish them, victims' IDs."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from contracts.events.envelope import build_cloudevent
from contracts.events.policy import InsuredPerson, PolicyCancelled, PolicyEndorsed, PolicyIssued, PolicySubLimits
from contracts.identifiers import resident_id_check_character
from contracts.profiles import get_profile
from kernel.database import create_engine, create_sessionmaker
from services.claims.consumers import HANDLERS
from tests.conftest import running_service
from tests.support.factories import credit_code

T_REPORT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 Shanghai
OCCURRED = "2026-06-01T08:30:00+08:00"


def resident_id(n: int) -> str:
    first17 = f"11010519900101{n:03d}"
    return first17 + resident_id_check_character(first17)


def policy_issued(
    n: int = 1, *, insurer: str = "INS-A", start: date = date(2026, 1, 1), end: date = date(2026, 12, 31),
    per_person: Decimal = Decimal(400000), roster: int = 3,
) -> dict:
    amounts = get_profile("national", start).sub_limits.amounts(per_person, roster)
    payload = PolicyIssued(
        policy_no=f"PL-{insurer}-{n}", insurer=insurer, credit_code=credit_code(n), enterprise_name=f"测试单位{n}",
        industry="CONSTRUCTION", district="朝阳区", jurisdiction="national", profile_version="2025.1", must_insure=True,
        period_start=start, period_end=end, per_person_limit=per_person,
        sub_limits=PolicySubLimits(**amounts.model_dump()), headcount=roster,
        insured_people=[InsuredPerson(resident_id=resident_id(i), name=f"员工{i}", employment_type="REGULAR") for i in range(1, roster + 1)],
        premium=Decimal(3000), commission=Decimal(100),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


def policy_cancelled(n: int, effective: date, insurer: str = "INS-A") -> dict:
    payload = PolicyCancelled(
        policy_no=f"PL-{insurer}-{n}", insurer=insurer, credit_code=credit_code(n), reason="stopped_business",
        effective_date=effective, earned_premium=Decimal(1000), premium_refund=Decimal(2000), written_premium=Decimal(1000),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


def policy_endorsed(n: int, added: list[int], removed: list[int], insurer: str = "INS-A", headcount: int = 3) -> dict:
    amounts = get_profile("national", date(2026, 1, 1)).sub_limits.amounts(Decimal(400000), headcount)
    payload = PolicyEndorsed(
        policy_no=f"PL-{insurer}-{n}", endorsement_no=f"END-{n}-1", insurer=insurer, credit_code=credit_code(n),
        effective_date=date(2026, 3, 1), headcount=headcount, sub_limits=PolicySubLimits(**amounts.model_dump()),
        added=[InsuredPerson(resident_id=resident_id(i), name=f"员工{i}", employment_type="TEMPORARY") for i in added],
        removed=[resident_id(i) for i in removed], premium_change=Decimal(0), written_premium=Decimal(3000),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


async def seed(url: str, *envelopes: dict) -> None:
    """Apply policy events straight through the claims handlers (what the consumer does, minus Kafka)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for envelope in envelopes:
                await HANDLERS[envelope["type"]](session, envelope)
    finally:
        await engine.dispose()


def report_body(n: int = 1, *, deaths: int = 0, insurer: str = "INS-A", **extra) -> dict:
    return {
        "policy_no": f"PL-{insurer}-{n}", "occurred_at": OCCURRED, "place": "北京市朝阳区测试工地", "accident_type": "COLLAPSE",
        "deaths": deaths, "serious_injuries": 0, "minor_injuries": 1, "direct_loss": "100000", "description": "脚手架坍塌",
    } | extra


class Clock:
    """The injectable clock: tests move it by hand."""

    def __init__(self, now: datetime = T_REPORT) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def claims_service(url: str, mint, bootstrap: str = "127.0.0.1:1", clock: Clock | None = None, **overrides):
    """The claims service on a real port; without a broker, its relay and consumers stay off."""
    if bootstrap == "127.0.0.1:1":
        overrides.setdefault("run_relay", False)
        overrides.setdefault("run_consumers", False)
        overrides.setdefault("run_overdue_watcher", False)
    async with running_service("claims", url, bootstrap, mint, **overrides) as server, httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        server.app.state.clock = clock or Clock()
        client.app = server.app
        yield client
