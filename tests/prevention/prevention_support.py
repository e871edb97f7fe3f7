"""Test data for the prevention service: policy and premium events as the policy service publishes them."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx

from contracts.events.envelope import build_cloudevent
from contracts.events.policy import PremiumCollected, PremiumRefunded
from kernel.database import create_engine, create_sessionmaker
from services.prevention.consumers import HANDLERS
from tests.claims.claims_support import policy_cancelled, policy_issued  # noqa: F401  (the same policy events)
from tests.conftest import running_service
from tests.support.factories import credit_code

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def institution_code(n: int) -> str:
    return credit_code(900 + n, division="110105")


def premium(n: int, amount: str, *, insurer: str = "INS-A", received_on: date = date(2026, 3, 1), jurisdiction: str = "national",
            receipt: str | None = None, refund: bool = False) -> dict:
    model = PremiumRefunded if refund else PremiumCollected
    payload = model(
        policy_no=f"PL-{insurer}-{n}", receipt_no=receipt or f"R-{insurer}-{n}-{amount}", insurer=insurer, credit_code=credit_code(n),
        jurisdiction=jurisdiction, amount=Decimal(amount), received_on=received_on, collected_premium=Decimal(amount),
        written_premium=Decimal(amount),
    )
    return build_cloudevent(payload, subject=f"policies/{payload.policy_no}", partition_key=payload.credit_code)


async def seed(url: str, *envelopes: dict) -> None:
    """Apply policy events straight through the prevention handlers (what the consumer does, minus Kafka)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for envelope in envelopes:
                await HANDLERS[envelope["type"]](session, envelope)
    finally:
        await engine.dispose()


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextlib.asynccontextmanager
async def prevention_service(url: str, mint, bootstrap: str = "127.0.0.1:1", clock: Clock | None = None, **overrides):
    """The prevention service on a real port; without a broker its relay, consumers and watcher stay off."""
    if bootstrap == "127.0.0.1:1":
        overrides.setdefault("run_relay", False)
        overrides.setdefault("run_consumers", False)
        overrides.setdefault("run_overdue_watcher", False)
    async with running_service("prevention", url, bootstrap, mint, **overrides) as server, httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        server.app.state.clock = clock or Clock()
        client.app = server.app
        yield client


def institution_body(n: int, staff: int = 20) -> dict:
    return {"institution_code": institution_code(n), "name": f"安全技术服务机构{n}", "qualifications": ["安全评价", "隐患排查"], "professional_staff": staff}


def record_body(n: int = 1, institution: int = 1, **extra) -> dict:
    return {
        "credit_code": credit_code(n), "policy_no": f"PL-INS-A-{n}", "institution_code": institution_code(institution), "item": "HAZARD_INSPECTION",
        "performed_on": "2026-05-20", "place": "北京市朝阳区测试工地", "staff": ["张工", "李工"], "cost": "3000.00",
        "findings": "发现配电箱未接地", "attachments": ["oss://records/1.pdf"], "confirmed_by_unit": True,
    } | extra
