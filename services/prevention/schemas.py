"""Request and response shapes of the prevention API. Money is CNY as decimal strings to the fen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, model_validator

from contracts.events.prevention import HazardLevel, HazardStatus, ServiceItem
from contracts.identifiers import is_valid_credit_code
from contracts.profiles.schema import MONEY_QUANTUM
from kernel.errors import RuleViolation

MoneyOut = Annotated[Decimal, PlainSerializer(lambda amount: str(amount.quantize(MONEY_QUANTUM)), return_type=str)]
Amount = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)]
Name = Annotated[str, Field(min_length=1, max_length=100)]
Reference = Annotated[str, Field(min_length=1, max_length=500)]


def _credit_code(value: str) -> str:
    value = value.upper()
    if not is_valid_credit_code(value):
        raise RuleViolation(
            "identifier.credit_code_check",
            "统一社会信用代码校验位错误或含非法字符（GB 32100-2015）",
            "Unified social credit code fails its GB 32100-2015 check character or alphabet",
        )
    return value


CreditCode = Annotated[str, Field(min_length=18, max_length=18, description="Unified social credit code 统一社会信用代码 (GB 32100)"), AfterValidator(_credit_code)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- institutions ----------------------------------------------------------------------------


class InstitutionIn(_In):
    """技术服务机构登记."""

    institution_code: CreditCode
    name: str = Field(min_length=1, max_length=200, description="Name 机构名称")
    qualifications: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=50, description="Qualifications held 资质"
    )
    professional_staff: int = Field(ge=0, le=100_000, description="Professional technical staff 专业技术人员数")



class InstitutionOut(BaseModel):
    institution_code: str
    name: str
    qualifications: list[str]
    professional_staff: int
    status: str  # ACTIVE 在册, EXITED 已退出
    dishonest: bool
    meets_requirements: bool
    min_professional_staff: int | None
    filed_by: list[str]
    exit_reason: str | None


class InstitutionPage(BaseModel):
    items: list[InstitutionOut]
    next_cursor: str | None


class FilingIn(_In):
    filed_on: date = Field(description="Filing day 备案日期")


class FilingOut(BaseModel):
    filing_id: str
    institution_code: str
    insurer: str
    filed_on: date


class EvaluationIn(_In):
    year: int = Field(ge=2000, le=2100, description="Year evaluated 评估年度")
    score: Decimal = Field(ge=0, max_digits=6, decimal_places=2, description="Score 评分 (0 to the profile's scale)")
    evaluated_on: date = Field(description="Day of the evaluation 评估日期")


class EvaluationOut(BaseModel):
    evaluation_id: str
    institution_code: str
    insurer: str
    year: int
    score: Decimal
    exit_score: Decimal
    passed: bool
    institution_status: str


class DishonestyIn(_In):
    reason: str = Field(min_length=1, max_length=2000, description="Why 列入原因")
    listed_on: date = Field(description="Day listed 列入日期")


# --- plans and records -----------------------------------------------------------------------


class _ForInsurer(_In):
    insurer: str | None = Field(None, max_length=100, description="Insurer the work is for (a service institution must say; an insurer is itself)")


class ServicePlanIn(_ForInsurer):
    """事故预防技术服务方案 (AQ 9010-2019)."""

    credit_code: CreditCode
    policy_no: str = Field(min_length=1, max_length=64)
    institution_code: CreditCode
    items: list[ServiceItem] = Field(min_length=1, max_length=20)
    frequency: str = Field(min_length=1, max_length=200, description="Frequency 服务频次")
    staff: list[Name] = Field(min_length=1, max_length=50)
    goals: str = Field(min_length=1, max_length=4000, description="Goals 服务目标")



class ServicePlanOut(BaseModel):
    plan_id: str
    insurer: str
    credit_code: str
    policy_no: str
    institution_code: str
    items: list[ServiceItem]
    frequency: str
    staff: list[str]
    goals: str


class ServiceRecordIn(_ForInsurer):
    """服务记录: time, place, institution, named staff, item, findings; confirmed by both parties."""

    credit_code: CreditCode
    policy_no: str = Field(min_length=1, max_length=64)
    institution_code: CreditCode
    item: ServiceItem
    performed_on: date
    place: str = Field(min_length=1, max_length=300, description="Place 服务地点")
    staff: list[Name] = Field(min_length=1, max_length=50, description="Named staff 服务人员")
    cost: Decimal = Field(ge=0, max_digits=14, decimal_places=2, description="Cost 服务费用")
    findings: str = Field("", max_length=10_000, description="Process, findings and follow-up 服务过程与发现")
    attachments: list[Reference] = Field(default_factory=list, max_length=100, description="References to stored files 附件引用")
    confirmed_by_unit: bool = Field(False, description="Confirmed by the insured unit 投保单位确认")



class ServiceRecordOut(BaseModel):
    record_id: str
    insurer: str
    credit_code: str
    policy_no: str
    institution_code: str
    item: ServiceItem
    performed_on: date
    place: str
    staff: list[str]
    cost: MoneyOut
    findings: str
    attachments: list[str]
    confirmed_by_unit: bool


class ServiceRecordPage(BaseModel):
    items: list[ServiceRecordOut]
    next_cursor: str | None


# --- hazards ---------------------------------------------------------------------------------


class HazardIn(_ForInsurer):
    credit_code: CreditCode
    policy_no: str | None = Field(None, max_length=64)
    record_id: str | None = Field(None, max_length=40, description="Service record that found it 发现该隐患的服务记录")
    level: HazardLevel
    description: str = Field(min_length=1, max_length=4000)
    found_on: date
    deadline: date = Field(description="Rectification deadline 整改期限 (that day still on time)")


    @model_validator(mode="after")
    def _deadline_after_finding(self) -> HazardIn:
        if self.deadline < self.found_on:
            raise RuleViolation("hazard.deadline_before_found", "整改期限早于发现日期", "The deadline is before the day the hazard was found")
        return self


class HazardStatusIn(_In):
    status: HazardStatus
    evidence: list[Reference] = Field(default_factory=list, max_length=100, description="Evidence references 整改证据")
    verified_by: str | None = Field(None, min_length=1, max_length=200, description="Who verified 验收人 (required for VERIFIED)")
    note: str | None = Field(None, max_length=2000)


class HazardOut(BaseModel):
    hazard_id: str
    insurer: str
    credit_code: str
    policy_no: str | None
    record_id: str | None
    level: HazardLevel
    description: str
    found_on: date
    deadline: date
    status: HazardStatus
    evidence: list[str]
    verified_by: str | None
    counts_as_self_inspection: bool = Field(description="视同企业自查")
    enforcement_basis: bool = Field(description="可作为执法依据 (false: 整改中，不作为执法依据)")
    changed_at: datetime


class HazardPage(BaseModel):
    items: list[HazardOut]
    next_cursor: str | None


# --- fund ------------------------------------------------------------------------------------


class ExpenseIn(_In):
    year: int = Field(ge=2000, le=2100)
    category: str = Field(min_length=1, max_length=40, description="Expense category 支出类别 (the profile's allowed list)")
    amount: Amount
    record_id: str | None = Field(None, max_length=40, description="Service record paid for 对应服务记录")
    description: str | None = Field(None, max_length=2000)


class ReversalIn(_In):
    reason: str = Field(min_length=1, max_length=2000, description="Why 冲销原因")


class FundEntryOut(BaseModel):
    entry_id: str
    insurer: str
    year: int
    kind: str
    category: str | None
    amount: MoneyOut
    collected_premium: MoneyOut
    record_id: str | None
    reverses: str | None
    description: str | None
    created_by: str
    created_at: datetime


class FundPositionOut(BaseModel):
    """事故预防费用年度合规情况: spend against the target and the cap, and the year-end projection."""

    insurer: str
    year: int
    jurisdiction: str
    collected_premium: MoneyOut = Field(description="实收保费")
    accrued: MoneyOut = Field(description="计提")
    carried_in: MoneyOut = Field(description="上年结转")
    spent: MoneyOut = Field(description="已支出 (net of reversals)")
    target_amount: MoneyOut
    cap_amount: MoneyOut
    spending_limit: MoneyOut = Field(description="Cap plus carried-in money where the profile allows it")
    remaining: MoneyOut
    spend_ratio: Decimal | None
    target_ratio: Decimal
    cap_ratio: Decimal
    target_binding: bool = Field(description="Whether the target binds this year (Beijing: from 2028)")
    elapsed_share: Decimal
    projected_spent: MoneyOut
    projected_ratio: Decimal | None
    closed: bool
    carried_out: MoneyOut
    entries: list[FundEntryOut]


class CloseOut(BaseModel):
    insurer: str
    year: int
    carried_over: MoneyOut
    to_year: int
