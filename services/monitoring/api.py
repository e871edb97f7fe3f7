"""HTTP routes of the monitoring hub (thin: translate HTTP to a service call)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, File, Header, Query, Request, Response, UploadFile

from contracts.enums import Industry
from kernel.errors import PROBLEM_RESPONSES
from kernel.database import SessionDep
from kernel.idempotency import IdempotencyKey, idempotent
from services.monitoring import service
from services.monitoring.ledgers.api import routers as ledger_routers
from services.monitoring.oversight.api import routers as oversight_routers
from services.monitoring.auth import FeedReader, OversightReader, RegistryWriter, SubscriptionManager
from services.monitoring.schemas import (
    CoverageReport,
    DeadLetterOut,
    EnterpriseViewPage,
    EventFeedPage,
    MandatoryEnterprisePage,
    RedeliveryAccepted,
    RedeliveryRequest,
    RegistryUploadSummary,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
)

router = APIRouter(tags=["enterprises"], responses=PROBLEM_RESPONSES)
feed_router = APIRouter(tags=["municipal docking"], responses=PROBLEM_RESPONSES)
registry_router = APIRouter(tags=["mandatory-enterprise registry"], responses=PROBLEM_RESPONSES)


@router.get("/enterprises", response_model=EnterpriseViewPage, summary="Enterprises known to the city 全市单位")
async def list_enterprises(
    principal: OversightReader,
    session: SessionDep,
    industry: Industry | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=18)] = None,
):
    items, next_cursor = await service.list_enterprises(
        session, principal, industry=industry.value if industry else None, limit=limit, after=cursor
    )
    return EnterpriseViewPage(items=items, next_cursor=next_cursor)


@feed_router.get("/feed", response_model=EventFeedPage, summary="Pull feed of every business event 事件拉取接口")
async def read_feed(
    principal: FeedReader,
    session: SessionDep,
    request: Request,
    after: Annotated[str | None, Query(max_length=64, description="Cursor from the previous page; omit to start at the beginning")] = None,
    types: Annotated[str | None, Query(max_length=4000, description="Comma-separated CloudEvents types; omit for all")] = None,
    limit: Annotated[int, Query(ge=1)] = 100,
):
    wanted = [t.strip() for t in (types or "").split(",") if t.strip()]
    items, next_cursor = await service.read_feed(
        session, after=after, types=wanted, limit=min(limit, request.app.state.settings.feed_max_limit)
    )
    return EventFeedPage(items=items, next_cursor=next_cursor)


@feed_router.post("/subscriptions", response_model=SubscriptionCreated, status_code=201, summary="Subscribe to pushes 创建推送订阅")
async def create_subscription(
    principal: SubscriptionManager, session: SessionDep, request: Request, body: SubscriptionCreate, key: IdempotencyKey = None
):
    async def produce():
        created = await service.create_subscription(
            session,
            principal,
            endpoint_url=body.endpoint_url,
            event_types=body.event_types,
            allow_http_localhost=request.app.state.settings.push_allow_http_localhost,
        )
        return SubscriptionCreated.model_validate(created)

    return await idempotent(request, session, principal.client_id, key, produce, 201)


@feed_router.get("/subscriptions", response_model=list[SubscriptionOut], summary="Own push subscriptions 推送订阅列表")
async def list_subscriptions(principal: SubscriptionManager, session: SessionDep):
    return await service.list_subscriptions(session, principal)


@feed_router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut, summary="One push subscription 推送订阅")
async def get_subscription(principal: SubscriptionManager, session: SessionDep, subscription_id: str):
    return await service.get_subscription(session, principal, subscription_id)


@feed_router.delete("/subscriptions/{subscription_id}", status_code=204, summary="Cancel a push subscription 取消推送订阅")
async def delete_subscription(principal: SubscriptionManager, session: SessionDep, subscription_id: str):
    await service.delete_subscription(session, principal, subscription_id)
    return Response(status_code=204)


@feed_router.get(
    "/subscriptions/{subscription_id}/dead-letters", response_model=list[DeadLetterOut], summary="Undeliverable events 死信列表"
)
async def list_dead_letters(principal: SubscriptionManager, session: SessionDep, subscription_id: str):
    return await service.list_dead_letters(session, principal, subscription_id)


@feed_router.post(
    "/subscriptions/{subscription_id}/redeliver", response_model=RedeliveryAccepted, status_code=202, summary="Deliver again 手动重推"
)
async def redeliver(principal: SubscriptionManager, session: SessionDep, subscription_id: str, body: RedeliveryRequest):
    return RedeliveryAccepted(queued=await service.request_redelivery(session, principal, subscription_id, body.event_id))


@registry_router.post(
    "/registry/uploads",
    response_model=RegistryUploadSummary,
    summary="Upload a list of mandatory enterprises 上传应保企业名录",
    description="CSV (UTF-8), XLSX or JSON with columns credit_code, name, industry, district (or 统一社会信用代码, 单位名称, 行业领域, 属地区县). "
    "Good rows are kept (upsert per credit code and bureau), each bad row is reported with its number, field and rule.",
)
async def upload_registry(principal: RegistryWriter, session: SessionDep, request: Request, file: Annotated[UploadFile, File()]):
    limit = request.app.state.settings.registry_upload_max_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise service.UploadTooLarge(
            "registry.upload_too_large", f"文件超过 {limit} 字节上限", f"The file is larger than {limit} bytes", field="file"
        )
    return await service.upload_registry(session, principal, filename=file.filename, content_type=file.content_type, content=content)


@registry_router.get("/registry/enterprises", response_model=MandatoryEnterprisePage, summary="Mandatory enterprises 应保企业名录")
async def list_registry(
    principal: OversightReader,
    session: SessionDep,
    industry: Industry | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=90)] = None,
):
    items, next_cursor = await service.list_registry(
        session, principal, industry=industry.value if industry else None, limit=limit, after=cursor
    )
    return MandatoryEnterprisePage(items=items, next_cursor=next_cursor)


SHANGHAI = ZoneInfo("Asia/Shanghai")


@registry_router.get("/coverage", response_model=CoverageReport, summary="Coverage per industry and district 应保尽保")
async def coverage(
    principal: OversightReader,
    session: SessionDep,
    industry: Industry | None = None,
    district: Annotated[str | None, Query(max_length=64)] = None,
    on: Annotated[date | None, Query(description="Day to judge cover on; today in Asia/Shanghai when omitted")] = None,
):
    day = on or datetime.now(SHANGHAI).date()
    groups = await service.coverage(session, principal, on=day, industry=industry.value if industry else None, district=district)
    return CoverageReport(on=day, groups=groups)


routers = [router, feed_router, registry_router, *ledger_routers, *oversight_routers]


def document_push(webhooks: APIRouter) -> None:
    """Describe in the OpenAPI document what a subscriber's endpoint receives (推送格式)."""

    @webhooks.post(
        "cloudevent",
        summary="A business event pushed to a subscription 事件推送",
        description="One CloudEvent 1.0 in structured JSON (`application/cloudevents+json`) per request, in archive order per "
        "subscription, signed the Standard Webhooks way: `webhook-signature` is `v1,` + base64 HMAC-SHA256 with the subscription "
        "secret over `{webhook-id}.{webhook-timestamp}.{body}`. `webhook-id` is the CloudEvent id: deduplicate on it. Answer 2xx "
        "to accept; anything else is retried with exponential backoff, then dead-lettered.",
    )
    async def cloudevent_push(
        body: dict,
        webhook_id: Annotated[str, Header(alias="webhook-id", description="The CloudEvent id")],
        webhook_timestamp: Annotated[str, Header(alias="webhook-timestamp", description="Seconds since the epoch")],
        webhook_signature: Annotated[str, Header(alias="webhook-signature", description="v1,<base64 HMAC-SHA256>")],
    ) -> None: ...
