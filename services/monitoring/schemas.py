"""Request and response shapes of the monitoring hub."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.enums import Industry


class EnterpriseViewOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_code: str
    name: str
    industry: Industry
    district: str
    headcount: int
    jurisdiction: str
    must_insure: bool
    updates_applied: int = Field(description="Events applied to this row (a replay must not change it)")


class EnterpriseViewPage(BaseModel):
    items: list[EnterpriseViewOut]
    next_cursor: str | None = None


class EventFeedPage(BaseModel):
    """A page of the pull feed (事件拉取): CloudEvents 1.0 in structured JSON form, oldest first."""

    items: list[dict[str, Any]] = Field(description="CloudEvents in structured mode, in archive order")
    next_cursor: str = Field(description="Opaque; pass as `after` to continue (also when the page is empty, to poll)")


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_url: str = Field(max_length=2048, description="HTTPS endpoint that receives the events 推送地址")
    event_types: list[str] = Field(default_factory=list, description="CloudEvents types to push; empty means every type")


class SubscriptionOut(BaseModel):
    id: str
    endpoint_url: str
    event_types: list[str]
    created_at: datetime
    delivered_through: int = Field(description="Archive position of the last event delivered or dead-lettered")
    attempts: int = Field(description="Failed attempts at the next event")
    last_error: str | None = None


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="Standard Webhooks signing secret (whsec_…), shown only once 签名密钥（仅返回一次）")


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    sequence: int
    attempts: int
    last_error: str | None
    dead_at: datetime | None
    redelivery_requested: bool


class RedeliveryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str | None = Field(None, max_length=64, description="One event to deliver again; omit to redeliver every dead letter")


class RedeliveryAccepted(BaseModel):
    queued: int


class RowError(BaseModel):
    row: int = Field(description="Row number in the file (the header is row 1; JSON items count from 1)")
    field: str | None
    rule: str
    message_zh: str
    message_en: str


class RegistryUploadSummary(BaseModel):
    accepted: int
    rejected: int
    errors: list[RowError]


class MandatoryEnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_code: str
    bureau: str = Field(description="The bureau whose list names the enterprise 上报部门")
    name: str
    industry: Industry
    district: str
    uploaded_at: datetime


class MandatoryEnterprisePage(BaseModel):
    items: list[MandatoryEnterpriseOut]
    next_cursor: str | None = None


class UninsuredUnit(BaseModel):
    credit_code: str
    name: str


class CoverageGroup(BaseModel):
    industry: Industry
    district: str
    must_insure: int = Field(description="Units that must insure 应保单位数")
    insured: int = Field(description="Of those, with a policy in force on the day 已保单位数")
    uninsured: list[UninsuredUnit] = Field(description="Must insure and are not insured 应保未保名单")


class CoverageReport(BaseModel):
    on: date = Field(description="The day (Asia/Shanghai) the cover is judged on")
    groups: list[CoverageGroup]
