"""Events published by the prevention service on ``prevention.events`` (the part other services consume)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts.events.envelope import EventPayload


class HazardStatus(StrEnum):
    """Where a hazard 事故隐患 stands in its rectification 整改."""

    OPEN = "OPEN"  # 待整改
    RECTIFIED = "RECTIFIED"  # 已整改
    OVERDUE = "OVERDUE"  # 逾期未整改
    REFUSED = "REFUSED"  # 拒不整改


class HazardStatusChanged(EventPayload):
    """A hazard's rectification status changed. 隐患整改状态变化：用于续保时的"配合整改事故隐患"费率因素。"""

    event_type: ClassVar[str] = "cn.anzexian.prevention.hazard.status_changed.v1"
    source_service: ClassVar[str] = "prevention"

    hazard_id: str = Field(description="Hazard number 隐患编号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    major: bool = Field(False, description="Major hazard 重大事故隐患")
    status: HazardStatus = Field(description="Rectification status 整改状态")
    changed_at: datetime = Field(description="When the status changed 状态变化时间")
