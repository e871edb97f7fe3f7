"""Events published by the monitoring hub on ``monitoring.events``: oversight alerts and published results."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts.events.envelope import EventPayload


class AlertKind(StrEnum):
    """Rules the hub watches (Measures 2025; Beijing draft part 5)."""

    COMMISSION_ABOVE_CAP = "COMMISSION_ABOVE_CAP"  # 手续费超过上限 (Art. 14)
    PREVENTION_SPEND_BELOW_PACE = "PREVENTION_SPEND_BELOW_PACE"  # 预防费用支出进度落后于目标
    PREVENTION_SPEND_ABOVE_CAP = "PREVENTION_SPEND_ABOVE_CAP"  # 预防费用超过上限 (Art. 22)
    FAST_TRACK_MISSED = "FAST_TRACK_MISSED"  # 快赔/预赔超时
    MANDATORY_UNINSURED = "MANDATORY_UNINSURED"  # 应保未保
    INSTITUTION_BELOW_STAFF_MINIMUM = "INSTITUTION_BELOW_STAFF_MINIMUM"  # 技术服务机构人员不足


class AlertRaised(EventPayload):
    """A rule was broken, or is heading to be 监管预警. Raised once per subject and rule until it clears."""

    event_type: ClassVar[str] = "cn.anzexian.monitoring.alert.raised.v1"
    source_service: ClassVar[str] = "monitoring"

    alert_id: str = Field(description="Alert number 预警编号")
    kind: AlertKind = Field(description="Rule 预警类型")
    subject: str = Field(description="What it is about: policy, claim, enterprise, institution or insurer 预警对象")
    insurer: str | None = Field(None, description="Insurer concerned 保险机构")
    credit_code: str | None = Field(None, description="Enterprise or institution concerned 统一社会信用代码")
    observed: Decimal | None = Field(None, description="Observed figure 实际值")
    limit: Decimal | None = Field(None, description="The rule's figure 规定值")
    message_zh: str = Field(description="中文说明")
    message_en: str = Field(description="English explanation")
    raised_at: datetime = Field(description="When raised 预警时间")


class EvaluationPublished(EventPayload):
    """The emergency management bureau published an evaluation of insurers 评价结果公示."""

    event_type: ClassVar[str] = "cn.anzexian.monitoring.evaluation.published.v1"
    source_service: ClassVar[str] = "monitoring"

    evaluation_id: str = Field(description="Evaluation number 评价编号")
    period: str = Field(description="'2027' for an annual evaluation, '2027-Q1' for a quarterly report 评价期间")
    published_on: date = Field(description="Day published 公示日期")
    ranking: list[str] = Field(description="Insurers, best first 排名")
