"""Policy service app factory: ``uvicorn services.policy.app:create_app --factory``."""

from datetime import UTC, datetime

from fastapi import FastAPI

from kernel.app import create_service_app
from services.policy.api import routers
from services.policy.consumers import HANDLERS
from services.policy.models import idempotency, messaging
from services.policy.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        service="policy",
        settings=settings or Settings(),
        tables=messaging,
        routers=routers,
        handlers=HANDLERS,
        title="Policy service 保单服务",
        description="Enterprises 投保单位, rosters, quotes, underwriting, policies, endorsements, renewals, premium receipts.",
    )
    app.state.idempotency_table = idempotency
    app.state.clock = lambda: datetime.now(UTC)
    return app
