"""Prevention service app factory: ``uvicorn services.prevention.app:create_app --factory``."""

from fastapi import FastAPI

from kernel.app import create_service_app
from services.prevention.api import router
from services.prevention.consumers import HANDLERS
from services.prevention.models import messaging
from services.prevention.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        service="prevention",
        settings=settings or Settings(),
        tables=messaging,
        routers=[router],
        handlers=HANDLERS,
        title="Prevention service 事故预防服务",
        description="Technical service institutions, service records, hazard ledger 隐患台账, prevention-fund ledger 事故预防费用台账.",
    )
