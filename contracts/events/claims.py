"""Events published by the claims service on ``claims.events`` (the part other services consume)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import Field

from contracts.events.envelope import EventPayload
from contracts.profiles.schema import AccidentGrade


class AccidentReported(EventPayload):
    """An accident was reported, or its casualty figures were revised. 事故报案或伤亡人数补报。

    The same ``accident_id`` arrives again when figures change within the revision window
    (Order 493), with the recomputed grade; consumers keep the latest. The policy service learns
    the enterprise's accident record 事故记录和等级 from it for renewal rating.
    """

    event_type: ClassVar[str] = "cn.anzexian.claims.accident.reported.v1"
    source_service: ClassVar[str] = "claims"

    accident_id: str = Field(description="Accident number 事故编号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    policy_no: str | None = Field(None, description="Policy the report was made under 保单号")
    occurred_at: datetime = Field(description="When it happened 事故发生时间")
    grade: AccidentGrade = Field(description="Accident grade 事故等级 (Order 493 Art. 3)")
    deaths: int = Field(ge=0, description="Deaths 死亡人数")
    serious_injuries: int = Field(0, ge=0, description="Serious injuries 重伤人数")
    minor_injuries: int = Field(0, ge=0, description="Minor injuries 轻伤人数")
    direct_loss: Decimal = Field(Decimal(0), ge=0, description="Direct economic loss 直接经济损失 (CNY)")
    major_social_impact: bool = Field(False, description="Major social impact 重大社会影响")
    insurer: str | None = Field(None, description="Insurer tenant 保险机构")
    reported_at: datetime | None = Field(None, description="When it was reported 报案时间")


class FastTrackOpened(EventPayload):
    """The quick-claim / pre-payment channel was opened for a claim. 快赔/预赔通道开启。

    Opened when deaths reach the profile's threshold or the accident has major social impact;
    ``deadline`` is the report time plus the profile's clock (48 h): exactly then is on time.
    """

    event_type: ClassVar[str] = "cn.anzexian.claims.fast_track.opened.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    policy_no: str = Field(description="Policy number 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    reported_at: datetime = Field(description="Report time 报案时间")
    deadline: datetime = Field(description="Latest start of the channel 快赔/预赔启动时限")
    reason: str = Field(description="deaths 死亡人数达到阈值 | major_social_impact 重大社会影响")


class ClaimAssessed(EventPayload):
    """A victim was assessed: the payable amount under the policy's limits. 理算：逐人核定赔付金额。"""

    event_type: ClassVar[str] = "cn.anzexian.claims.assessed.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    policy_no: str = Field(description="Policy number 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    victim_id: str = Field(description="Victim record 伤亡人员记录号")
    relation: str = Field(description="employee 从业人员 | third_party 第三者")
    outcome: str = Field(description="death 死亡 | disability 伤残 | injury 受伤")
    payable: Decimal = Field(description="Payable for this victim 本人赔付金额 (CNY)")
    assessed_total: Decimal = Field(description="Assessed for the claim so far 赔案累计核定金额")
    limits_exhausted: bool = Field(description="A policy limit capped the amount 限额已用尽")


class ClaimPrepaid(EventPayload):
    """A pre-payment (or quick payment) of an amount already determined was recorded. 预赔付款。"""

    event_type: ClassVar[str] = "cn.anzexian.claims.prepaid.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    insurer: str = Field(description="Insurer tenant 保险机构")
    payment_id: str = Field(description="Payment number 支付记录号")
    amount: Decimal = Field(description="Amount paid 本次预付金额 (CNY)")
    paid_at: datetime = Field(description="When paid 支付时间")
    paid_total: Decimal = Field(description="Paid on the claim so far 累计已付")
    fast_track_met: bool | None = Field(None, description="Whether this met the fast-track clock 是否在时限内 (None: no fast-track)")


class ClaimSettled(EventPayload):
    """The claim was settled: the balance of the assessed amount paid. 结案赔付（最终理赔）。"""

    event_type: ClassVar[str] = "cn.anzexian.claims.settled.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    insurer: str = Field(description="Insurer tenant 保险机构")
    assessed_total: Decimal = Field(description="Assessed amount 核定金额")
    prepaid_total: Decimal = Field(description="Pre-paid before settlement 已预付")
    final_payment: Decimal = Field(description="Paid at settlement 结案支付")
    settled_at: datetime = Field(description="When settled 结案时间")


class ClaimClosed(EventPayload):
    """A claim was closed, or reopened (``reopened`` true). 赔案关闭或重开。"""

    event_type: ClassVar[str] = "cn.anzexian.claims.closed.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    insurer: str = Field(description="Insurer tenant 保险机构")
    status: str = Field(description="Status after the change 状态: CLOSED | OPEN")
    reopened: bool = Field(False, description="True when the claim was reopened 重开")
    reason: str = Field("", description="Reason 原因")
    at: datetime = Field(description="When 时间")


class FastTrackOverdue(EventPayload):
    """A fast-track claim passed its deadline without a quick payment or pre-payment. 快赔/预赔超时。

    Raised once per claim, even across restarts of the service.
    """

    event_type: ClassVar[str] = "cn.anzexian.claims.fast_track.overdue.v1"
    source_service: ClassVar[str] = "claims"

    claim_id: str = Field(description="Claim number 赔案号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    policy_no: str = Field(description="Policy number 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    reported_at: datetime = Field(description="Report time 报案时间")
    deadline: datetime = Field(description="Deadline missed 超过的时限")
    detected_at: datetime = Field(description="When the overdue was noticed 发现时间")
