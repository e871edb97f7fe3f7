"""Events published by the policy service on ``policy.events``.

Money is a decimal string in CNY (rounded to the fen, half up); dates are cover days (a policy's
``period_end`` is its last day of cover, … 24时止).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.enums import Industry
from contracts.events.envelope import EventPayload


class EnterpriseRegistered(EventPayload):
    """An enterprise (投保单位) was registered with the policy service, or its details changed.

    投保单位登记或信息变更。The payload always carries the enterprise's full current state, so a
    consumer keeps the latest one: ``revision`` is 1 at registration and grows by one with every
    change (PUT /enterprises/{credit_code}); ``changed_fields`` names what a change touched.
    """

    event_type: ClassVar[str] = "cn.anzexian.policy.enterprise.registered.v1"
    source_service: ClassVar[str] = "policy"

    credit_code: str = Field(description="Unified social credit code 统一社会信用代码 (GB 32100)")
    name: str = Field(description="Registered name 单位名称")
    industry: Industry = Field(description="Industry 行业领域")
    district: str = Field(description="Supervising district 属地区县 (the branch's own, Measures Art. 34)")
    headcount: int = Field(ge=0, description="Employees 从业人员数")
    jurisdiction: str = Field(description="Jurisdiction profile in force 适用地区规则")
    must_insure: bool = Field(description="Whether the profile makes insurance compulsory for it 是否应保")
    revision: int = Field(1, ge=1, description="1 at registration, +1 per change 信息版本")
    changed_fields: list[str] = Field(default_factory=list, description="Fields a change touched 变更字段 (empty at registration)")


class InsuredPerson(BaseModel):
    """One insured employee 被保险从业人员 on a policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    resident_id: str = Field(description="Resident ID number 居民身份证号码 (GB 11643)")
    name: str = Field(description="Name 姓名")
    employment_type: str = Field(description="REGULAR 正式, TEMPORARY 临时聘用, DISPATCHED 劳务派遣, OTHER 其他")


class PolicySubLimits(BaseModel):
    """Sub-limits 分项责任限额 of a policy in CNY."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_person: Decimal = Field(description="Per-person death/disability limit 每人死亡伤残责任限额")
    per_accident: Decimal = Field(description="Per-accident limit 每次事故责任限额")
    aggregate: Decimal = Field(description="Annual aggregate 累计责任限额")
    employee_medical_per_person: Decimal = Field(description="Medical costs per employee 每人医疗费用限额")
    rescue: Decimal = Field(description="Rescue costs 事故应急救援费用限额")
    legal: Decimal = Field(description="Legal costs 法律费用限额")


class PolicyIssued(EventPayload):
    """A policy was issued from a quote. 保单签发：理赔服务据此核定保险责任。

    Carries what the claims service needs to assess a claim against the policy: period, limits,
    sub-limits and the insured people.
    """

    event_type: ClassVar[str] = "cn.anzexian.policy.issued.v1"
    source_service: ClassVar[str] = "policy"

    policy_no: str = Field(description="Policy number 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    credit_code: str = Field(description="Insured unit's credit code 投保单位统一社会信用代码")
    enterprise_name: str = Field(description="Insured unit 投保单位名称")
    industry: Industry = Field(description="Industry 行业领域")
    district: str = Field(description="Supervising district 属地区县")
    jurisdiction: str = Field(description="Jurisdiction profile 适用地区规则")
    profile_version: str = Field(description="Profile version the premium was rated under 费率依据版本")
    must_insure: bool = Field(description="Compulsory for this unit 是否应保")
    period_start: date = Field(description="First day of cover 保险起期")
    period_end: date = Field(description="Last day of cover 保险止期 (24时止)")
    per_person_limit: Decimal = Field(description="Per-person death/disability limit 每人死亡伤残责任限额")
    sub_limits: PolicySubLimits = Field(description="Sub-limits 分项限额")
    headcount: int = Field(ge=1, description="Insured people 承保人数")
    insured_people: list[InsuredPerson] = Field(description="Insured employees 被保险从业人员名单")
    premium: Decimal = Field(description="Written premium 保费")
    commission: Decimal = Field(description="Commission 手续费 (≤ 5% for a mandatory unit)")


class PolicyRenewed(PolicyIssued):
    """A policy was renewed: a new policy follows the previous one. 续保：新保单接续上一保单。

    Same fields as an issued policy (the renewal *is* a new policy), plus the previous number.
    """

    event_type: ClassVar[str] = "cn.anzexian.policy.renewed.v1"

    previous_policy_no: str = Field(description="Policy renewed 原保单号")


class PolicyEndorsed(EventPayload):
    """Insured people were added to or removed from a policy. 批改：增减被保险人员，按日比例调整保费。"""

    event_type: ClassVar[str] = "cn.anzexian.policy.endorsed.v1"
    source_service: ClassVar[str] = "policy"

    policy_no: str = Field(description="Policy number 保单号")
    endorsement_no: str = Field(description="Endorsement number 批单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    credit_code: str = Field(description="Insured unit's credit code 统一社会信用代码")
    effective_date: date = Field(description="First day the change applies 批改生效日")
    added: list[InsuredPerson] = Field(description="People added 增加人员")
    removed: list[str] = Field(description="Resident IDs removed 减少人员身份证号")
    headcount: int = Field(ge=0, description="Insured people after the change 批改后承保人数")
    sub_limits: PolicySubLimits = Field(description="Sub-limits after the change 批改后分项限额")
    premium_change: Decimal = Field(description="Pro-rata premium change 批改保费 (negative for a removal)")
    written_premium: Decimal = Field(description="Written premium after the change 批改后保费")


class PolicyCancelled(EventPayload):
    """A policy was cancelled (closed by law or business completely stopped). 退保：依法关闭取缔或完全停止生产经营活动。"""

    event_type: ClassVar[str] = "cn.anzexian.policy.cancelled.v1"
    source_service: ClassVar[str] = "policy"

    policy_no: str = Field(description="Policy number 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    credit_code: str = Field(description="Insured unit's credit code 统一社会信用代码")
    reason: str = Field(description="closed_by_law 依法关闭取缔, stopped_business 完全停止生产经营活动, voluntary_surrender 自愿退保")
    effective_date: date = Field(description="First day without cover 退保生效日")
    earned_premium: Decimal = Field(description="Premium kept for the days covered 已赚保费")
    premium_refund: Decimal = Field(description="Pro-rata premium returned 应退保费")
    written_premium: Decimal = Field(description="Written premium after cancellation 退保后保费")


class PremiumCollected(EventPayload):
    """Premium was received 实收保费入账: the base of the prevention fund (≤ 21%, Measures Art. 22)."""

    event_type: ClassVar[str] = "cn.anzexian.policy.premium.collected.v1"
    source_service: ClassVar[str] = "policy"

    policy_no: str = Field(description="Policy number 保单号")
    receipt_no: str = Field(description="Receipt number 收费单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    credit_code: str = Field(description="Insured unit's credit code 统一社会信用代码")
    jurisdiction: str = Field(description="Jurisdiction profile 适用地区规则")
    amount: Decimal = Field(description="Amount received 本次实收")
    received_on: date = Field(description="Day received 收费日期")
    collected_premium: Decimal = Field(description="Premium actually collected so far, net of refunds 累计实收保费")
    written_premium: Decimal = Field(description="Written premium 应收保费")


class PremiumRefunded(EventPayload):
    """Premium was paid back to the unit 保费退还 (after a cancellation or a removal endorsement)."""

    event_type: ClassVar[str] = "cn.anzexian.policy.premium.refunded.v1"
    source_service: ClassVar[str] = "policy"

    policy_no: str = Field(description="Policy number 保单号")
    receipt_no: str = Field(description="Refund number 退费单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    credit_code: str = Field(description="Insured unit's credit code 统一社会信用代码")
    jurisdiction: str = Field(description="Jurisdiction profile 适用地区规则")
    amount: Decimal = Field(description="Amount refunded 本次退费")
    received_on: date = Field(description="Day refunded 退费日期")
    collected_premium: Decimal = Field(description="Premium actually collected so far, net of refunds 累计实收保费")
    written_premium: Decimal = Field(description="Written premium 应收保费")
