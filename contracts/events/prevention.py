"""Events published by the prevention service on ``prevention.events``.

Money is a decimal string in CNY (rounded to the fen, half up). Every event of an insured unit
is keyed by the unit's credit code; institution events by the institution's credit code; fund
events by the insurer's tenant (the fund ledger is per insurer and year).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from contracts.events.envelope import EventPayload


class ServiceItem(StrEnum):
    """Accident prevention service items 事故预防服务项目 (Measures 2025 ch. 3, AQ 9010-2019)."""

    RISK_ASSESSMENT = "RISK_ASSESSMENT"  # 风险评估
    HAZARD_INSPECTION = "HAZARD_INSPECTION"  # 隐患排查
    SAFETY_TRAINING = "SAFETY_TRAINING"  # 安全培训
    EMERGENCY_DRILL = "EMERGENCY_DRILL"  # 应急演练
    SAFETY_CONSULTATION = "SAFETY_CONSULTATION"  # 安全咨询
    SAFETY_PUBLICITY = "SAFETY_PUBLICITY"  # 安全宣传教育
    SAFETY_TECHNOLOGY = "SAFETY_TECHNOLOGY"  # 安全技术和装备推广应用
    EMERGENCY_PLAN = "EMERGENCY_PLAN"  # 应急预案编制
    STANDARDIZATION_SUPPORT = "STANDARDIZATION_SUPPORT"  # 安全生产标准化建设指导


class HazardStatus(StrEnum):
    """Where a hazard 事故隐患 stands in its rectification 整改.

    The ledger moves OPEN → RECTIFYING → RECTIFIED → VERIFIED. OVERDUE is set when the deadline
    passes before rectification, REFUSED when the unit refuses to rectify; both feed the renewal
    rate factor 配合整改事故隐患 of the policy service.
    """

    OPEN = "OPEN"  # 待整改
    RECTIFYING = "RECTIFYING"  # 整改中
    RECTIFIED = "RECTIFIED"  # 已整改
    VERIFIED = "VERIFIED"  # 已验收
    OVERDUE = "OVERDUE"  # 逾期未整改
    REFUSED = "REFUSED"  # 拒不整改


class HazardLevel(StrEnum):
    GENERAL = "GENERAL"  # 一般事故隐患
    MAJOR = "MAJOR"  # 重大事故隐患


# --- technical service institutions 技术服务机构 ---------------------------------------------------


class InstitutionRegistered(EventPayload):
    """A technical service institution registered, or its details changed. 技术服务机构登记。"""

    event_type: ClassVar[str] = "cn.anzexian.prevention.institution.registered.v1"
    source_service: ClassVar[str] = "prevention"

    institution_code: str = Field(description="Institution's unified social credit code 统一社会信用代码")
    name: str = Field(description="Name 机构名称")
    qualifications: list[str] = Field(description="Qualifications held 资质")
    professional_staff: int = Field(ge=0, description="Professional technical staff 专业技术人员数")
    jurisdiction: str = Field(description="Jurisdiction profile 适用地区规则")
    meets_requirements: bool = Field(description="Whether it meets the profile's requirements (e.g. staff minimum) 是否符合条件")
    min_professional_staff: int | None = Field(None, description="The profile's staff minimum, if any 人员下限")


class InstitutionFiled(EventPayload):
    """An insurer put an institution on file 备案 to entrust it with prevention services."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.institution.filed.v1"
    source_service: ClassVar[str] = "prevention"

    institution_code: str = Field(description="Institution's credit code 机构统一社会信用代码")
    insurer: str = Field(description="Insurer tenant that files it 备案保险机构")
    filed_on: date = Field(description="Filing day 备案日期")


class InstitutionEvaluated(EventPayload):
    """An insurer evaluated an institution 年度评估 (at least once a year)."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.institution.evaluated.v1"
    source_service: ClassVar[str] = "prevention"

    institution_code: str = Field(description="Institution's credit code 机构统一社会信用代码")
    insurer: str = Field(description="Evaluating insurer 评估保险机构")
    year: int = Field(description="Year evaluated 评估年度")
    score: Decimal = Field(description="Score 评分")
    exit_score: Decimal = Field(description="The profile's exit line 退出分数线")
    passed: bool = Field(description="Score at or above the exit line 是否合格")
    evaluated_on: date = Field(description="Day of the evaluation 评估日期")


class InstitutionExited(EventPayload):
    """An institution left the scheme 动态退出 (score below the line, or withdrawn)."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.institution.exited.v1"
    source_service: ClassVar[str] = "prevention"

    institution_code: str = Field(description="Institution's credit code 机构统一社会信用代码")
    reason: str = Field(description="LOW_SCORE 评估不合格, WITHDRAWN 主动退出, DISHONESTY 失信")
    exited_on: date = Field(description="Day of exit 退出日期")


class InstitutionListedDishonest(EventPayload):
    """An institution was put on the dishonesty list 失信名单: no new entrustments."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.institution.listed_dishonest.v1"
    source_service: ClassVar[str] = "prevention"

    institution_code: str = Field(description="Institution's credit code 机构统一社会信用代码")
    reason: str = Field(description="Why 列入原因")
    listed_on: date = Field(description="Day listed 列入日期")


# --- service records 服务记录 -----------------------------------------------------------------


class ServiceRecorded(EventPayload):
    """A prevention service was performed for an insured unit 事故预防服务记录 (AQ 9010-2019)."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.service.recorded.v1"
    source_service: ClassVar[str] = "prevention"

    record_id: str = Field(description="Record number 服务记录编号")
    credit_code: str = Field(description="Insured unit's credit code 投保单位统一社会信用代码")
    policy_no: str = Field(description="Policy the service is under 保单号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    institution_code: str = Field(description="Institution that did it 技术服务机构")
    item: ServiceItem = Field(description="Service item 服务项目")
    performed_on: date = Field(description="Day performed 服务日期")
    staff: list[str] = Field(description="Named staff 服务人员")
    cost: Decimal = Field(description="Cost 服务费用")
    hazards_found: int = Field(0, ge=0, description="Hazards found 发现隐患数")


# --- hazard ledger 隐患台账 --------------------------------------------------------------------


class HazardFound(EventPayload):
    """A hazard was entered in the ledger 隐患登记."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.hazard.found.v1"
    source_service: ClassVar[str] = "prevention"

    hazard_id: str = Field(description="Hazard number 隐患编号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    insurer: str = Field(description="Insurer tenant 保险机构")
    policy_no: str | None = Field(None, description="Policy 保单号")
    record_id: str | None = Field(None, description="Service record that found it 发现该隐患的服务记录")
    level: HazardLevel = Field(description="GENERAL 一般 or MAJOR 重大")
    description: str = Field(description="What was found 隐患描述")
    found_on: date = Field(description="Day found 发现日期")
    deadline: date = Field(description="Rectification deadline 整改期限")


class HazardStatusChanged(EventPayload):
    """A hazard's rectification status changed. 隐患整改状态变化：用于续保时的"配合整改事故隐患"费率因素。

    ``counts_as_self_inspection``: rectified after a professional inspection, it counts as the
    unit's own self-inspection (视同企业自查). ``enforcement_basis`` is false while the hazard is
    being rectified (整改中的隐患不作为执法依据).
    """

    event_type: ClassVar[str] = "cn.anzexian.prevention.hazard.status_changed.v1"
    source_service: ClassVar[str] = "prevention"

    hazard_id: str = Field(description="Hazard number 隐患编号")
    credit_code: str = Field(description="Enterprise's credit code 统一社会信用代码")
    major: bool = Field(False, description="Major hazard 重大事故隐患")
    status: HazardStatus = Field(description="Rectification status 整改状态")
    changed_at: datetime = Field(description="When the status changed 状态变化时间")
    insurer: str | None = Field(None, description="Insurer tenant 保险机构")
    counts_as_self_inspection: bool = Field(False, description="Counts as the unit's own self-inspection 视同企业自查")
    enforcement_basis: bool = Field(True, description="May be a basis for enforcement 可作为执法依据")
    verified_by: str | None = Field(None, description="Who verified the rectification 验收人")


# --- prevention-fund ledger 事故预防费用台账 --------------------------------------------------------


class FundAccrued(EventPayload):
    """Prevention money accrued from premium actually collected 按实收保费计提 (profile ratio)."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.fund.accrued.v1"
    source_service: ClassVar[str] = "prevention"

    entry_id: str = Field(description="Ledger entry 台账分录号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    year: int = Field(description="Fund year 年度")
    collected_premium: Decimal = Field(description="Premium collected (negative for a refund) 实收保费变动")
    amount: Decimal = Field(description="Accrued at the target ratio (negative for a refund) 计提金额")
    reverses: str | None = Field(None, description="Entry this one reverses 冲销分录")


class FundSpent(EventPayload):
    """Prevention money spent against a service record 预防费用支出 (negative amount when reversing)."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.fund.spent.v1"
    source_service: ClassVar[str] = "prevention"

    entry_id: str = Field(description="Ledger entry 台账分录号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    year: int = Field(description="Fund year 年度")
    category: str = Field(description="Expense category 支出类别")
    amount: Decimal = Field(description="Amount 金额")
    record_id: str | None = Field(None, description="Service record paid for 对应服务记录")
    reverses: str | None = Field(None, description="Entry this one reverses 冲销分录")


class FundCarriedOver(EventPayload):
    """Unused prevention money carried into the next year 结余结转下年."""

    event_type: ClassVar[str] = "cn.anzexian.prevention.fund.carried_over.v1"
    source_service: ClassVar[str] = "prevention"

    entry_id: str = Field(description="Ledger entry 台账分录号")
    insurer: str = Field(description="Insurer tenant 保险机构")
    from_year: int = Field(description="Year closed 结转年度")
    to_year: int = Field(description="Year it is carried into 转入年度")
    amount: Decimal = Field(description="Amount carried 结转金额")
