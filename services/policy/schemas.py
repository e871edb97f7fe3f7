"""Request and response shapes of the policy service's API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from contracts.enums import Industry
from contracts.identifiers import is_valid_credit_code, resident_id_problem
from kernel.errors import RuleViolation

MoneyIn = Field(ge=0, max_digits=14, decimal_places=2)

def _as_utc(value: datetime) -> datetime:
    # SQLite keeps no offset: a stored time comes back naive, and every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A time leaving the API: always with its offset, as the OpenAPI "date-time" format requires.
TimeOut = Annotated[datetime, AfterValidator(_as_utc)]


class StandardizationGrade(StrEnum):
    """安全生产标准化 grade of the enterprise."""

    LEVEL_1 = "LEVEL_1"  # 一级
    LEVEL_2 = "LEVEL_2"  # 二级
    LEVEL_3 = "LEVEL_3"  # 三级
    NONE = "NONE"  # 未达标


class AccidentRecord(StrEnum):
    """事故记录和等级 of the last period (declared; the claims service's reports override on renewal)."""

    NO_ACCIDENT = "NO_ACCIDENT"
    GENERAL = "GENERAL"
    LARGER = "LARGER"
    SERIOUS_OR_WORSE = "SERIOUS_OR_WORSE"


class ViolationRecord(StrEnum):
    """违法失信."""

    NONE = "NONE"
    ADMINISTRATIVE_PENALTY = "ADMINISTRATIVE_PENALTY"  # 行政处罚
    DISHONESTY_LIST = "DISHONESTY_LIST"  # 失信名单


class HazardRectification(StrEnum):
    """配合整改事故隐患 (declared; the prevention service's reports override)."""

    COOPERATIVE = "COOPERATIVE"
    OVERDUE = "OVERDUE"
    REFUSED = "REFUSED"


class SocialRescue(StrEnum):
    """参与社会救援 (a Beijing factor)."""

    NONE = "NONE"
    PARTICIPATED = "PARTICIPATED"


class SafetyAward(StrEnum):
    """安全生产表彰."""

    NONE = "NONE"
    MUNICIPAL = "MUNICIPAL"
    PROVINCIAL = "PROVINCIAL"


class EmploymentType(StrEnum):
    """用工形式: every form is insured for the same amount (Measures Art. 16, 44)."""

    REGULAR = "REGULAR"  # 正式职工
    TEMPORARY = "TEMPORARY"  # 临时聘用人员
    DISPATCHED = "DISPATCHED"  # 被派遣劳动者
    OTHER = "OTHER"


def _check_credit_code(value: str) -> str:
    value = value.upper()
    if not is_valid_credit_code(value):
        raise RuleViolation(
            "identifier.credit_code_check",
            "统一社会信用代码校验位错误或含非法字符（GB 32100-2015）",
            "Unified social credit code fails its GB 32100-2015 check character or alphabet",
        )
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RiskFacts(_In):
    """Risk facts 风险信息 the rate engine reads (options of the profile's adjustment factors)."""

    accident_record: AccidentRecord = Field(AccidentRecord.NO_ACCIDENT, description="事故记录和等级 (last period)")
    violation_record: ViolationRecord = Field(ViolationRecord.NONE, description="违法失信")
    hazard_rectification: HazardRectification = Field(HazardRectification.COOPERATIVE, description="配合整改事故隐患")
    social_rescue: SocialRescue = Field(SocialRescue.NONE, description="参与社会救援 (Beijing)")
    safety_award: SafetyAward = Field(SafetyAward.NONE, description="安全生产表彰")


class EnterpriseCreate(RiskFacts):
    """Register an enterprise 投保单位."""

    credit_code: str = Field(min_length=18, max_length=18, description="Unified social credit code 统一社会信用代码 (GB 32100)")
    name: str = Field(min_length=1, max_length=200, description="Registered name 单位名称")
    industry: Industry = Field(description="Industry 行业领域")
    district: str = Field(min_length=1, max_length=64, description="District where it operates 属地区县")
    address: str = Field(min_length=1, max_length=300, description="Address 地址")
    headcount: int = Field(ge=1, le=1_000_000, description="Employees 从业人员数")
    standardization_grade: StandardizationGrade = Field(StandardizationGrade.NONE, description="安全生产标准化等级")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        return _check_credit_code(value)


class EnterpriseUpdate(RiskFacts):
    """Replace an enterprise's details 变更单位信息 (the credit code and jurisdiction stay)."""

    name: str = Field(min_length=1, max_length=200)
    industry: Industry
    district: str = Field(min_length=1, max_length=64)
    address: str = Field(min_length=1, max_length=300)
    headcount: int = Field(ge=1, le=1_000_000)
    standardization_grade: StandardizationGrade = StandardizationGrade.NONE


class EnterpriseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    credit_code: str
    name: str
    industry: Industry
    district: str
    address: str
    headcount: int
    standardization_grade: StandardizationGrade
    jurisdiction: str
    must_insure: bool = Field(description="Insurance is compulsory for it under the profile 是否应保")
    registered_by: str
    registered_at: TimeOut
    accident_record: AccidentRecord
    violation_record: ViolationRecord
    hazard_rectification: HazardRectification
    social_rescue: SocialRescue
    safety_award: SafetyAward
    revision: int


class EnterprisePage(BaseModel):
    items: list[EnterpriseOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null at the end")


# --- rosters -------------------------------------------------------------------------------


class Employee(_In):
    """One employee 从业人员 on a roster."""

    resident_id: str = Field(min_length=18, max_length=18, description="Resident ID 居民身份证号码 (GB 11643)")
    name: str = Field(min_length=1, max_length=100, description="Name 姓名")
    employment_type: EmploymentType = Field(description="用工形式")
    insured_amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Insured amount 保险金额 (one for all)")

    @field_validator("resident_id")
    @classmethod
    def _resident_id(cls, value: str) -> str:
        value = value.upper()
        problem = resident_id_problem(value)
        if problem == "birth_date":
            raise RuleViolation("identifier.resident_id_birth_date", "身份证号码中的出生日期不存在", "The birth date in the resident ID does not exist")
        if problem == "check_character":
            raise RuleViolation("identifier.resident_id_check", "身份证号码校验码错误（GB 11643-1999）", "The resident ID fails its GB 11643-1999 check character")
        if problem:
            raise RuleViolation("identifier.resident_id_format", "身份证号码应为 17 位数字加 1 位校验码", "A resident ID is 17 digits and a check character")
        return value


class RosterIn(_In):
    """The whole roster 从业人员名册 of an enterprise (replaces the previous one)."""

    members: list[Employee] = Field(min_length=1, max_length=20_000)


class RosterOut(BaseModel):
    credit_code: str
    insured_amount: Decimal
    headcount: int
    by_employment_type: dict[str, int]
    members: list[Employee]


# --- quotes --------------------------------------------------------------------------------


class QuoteIn(_In):
    """Ask for a quote 询价 for an enterprise on its current roster."""

    credit_code: str = Field(min_length=18, max_length=18)
    period_start: date = Field(description="First day of cover 保险起期")
    period_end: date | None = Field(None, description="Last day of cover 保险止期 (default: the longest the profile allows)")
    per_person_limit: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="每人死亡伤残责任限额")
    commission: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2, description="Commission 手续费 (CNY)")
    project_cost: Decimal | None = Field(None, gt=0, max_digits=16, decimal_places=2, description="Construction project cost 工程造价 (rates on cost)")

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, value: str) -> str:
        return _check_credit_code(value)


class QuoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    quote_id: str
    insurer: str
    credit_code: str
    jurisdiction: str
    profile_version: str
    period_start: date
    period_end: date
    per_person_limit: Decimal
    headcount: int
    premium: Decimal
    commission: Decimal
    status: str
    valid_until: TimeOut
    breakdown: dict[str, Any] = Field(description="Every step of the rating 费率计算过程")


# --- policies ------------------------------------------------------------------------------


class PolicyIn(_In):
    quote_id: str = Field(min_length=1, max_length=40)


class InsuredOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    resident_id: str
    name: str
    employment_type: str
    covered_from: date
    removed_from: date | None


class PolicyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    policy_no: str
    quote_id: str | None
    previous_policy_no: str | None
    insurer: str
    credit_code: str
    jurisdiction: str
    profile_version: str
    must_insure: bool
    rating_basis: str
    period_start: date
    period_end: date
    per_person_limit: Decimal
    headcount: int
    written_premium: Decimal = Field(description="Written premium 保费 (after endorsements and cancellation)")
    collected_premium: Decimal = Field(description="Premium actually collected 实收保费, net of refunds")
    commission: Decimal
    status: str
    cancellation_reason: str | None
    cancelled_from: date | None
    issued_at: TimeOut
    sub_limits: dict[str, Decimal] = Field(default_factory=dict)
    breakdown: dict[str, Any]


class PolicyPage(BaseModel):
    items: list[PolicyOut]
    next_cursor: str | None = None


class EndorsementIn(_In):
    """Add or remove insured people 批改 from ``effective_date``."""

    effective_date: date
    add: list[Employee] = Field(default_factory=list, max_length=20_000)
    remove: list[str] = Field(default_factory=list, max_length=20_000, description="Resident IDs to remove")


class EndorsementOut(BaseModel):
    endorsement_no: str
    policy_no: str
    effective_date: date
    added: int
    removed: int
    headcount: int
    premium_change: Decimal
    written_premium: Decimal
    breakdown: dict[str, Any]


class ReceiptKind(StrEnum):
    RECEIPT = "RECEIPT"  # 收费
    REFUND = "REFUND"  # 退费


class PremiumReceiptIn(_In):
    kind: ReceiptKind = ReceiptKind.RECEIPT
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    received_on: date
    reference: str | None = Field(None, max_length=100, description="Bank or voucher reference 凭证号")


class PremiumReceiptOut(BaseModel):
    receipt_no: str
    policy_no: str
    kind: ReceiptKind
    amount: Decimal
    received_on: date
    collected_premium: Decimal
    written_premium: Decimal


class CancellationReason(StrEnum):
    CLOSED_BY_LAW = "closed_by_law"  # 依法关闭取缔
    STOPPED_BUSINESS = "stopped_business"  # 完全停止生产经营活动
    VOLUNTARY_SURRENDER = "voluntary_surrender"  # 自愿退保 (not for a unit that must insure)


class CancellationIn(_In):
    reason: CancellationReason
    effective_date: date = Field(description="First day without cover 退保生效日")


class CancellationOut(BaseModel):
    policy_no: str
    reason: CancellationReason
    effective_date: date
    earned_premium: Decimal
    premium_refund: Decimal
    written_premium: Decimal
    collected_premium: Decimal
    breakdown: dict[str, Any]


class RenewalIn(_In):
    period_start: date | None = Field(None, description="Default: the day after the previous policy ends")
    period_end: date | None = None
    per_person_limit: Decimal | None = Field(None, gt=0, max_digits=14, decimal_places=2, description="Default: the previous limit")
    commission: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)


class VerificationPolicy(BaseModel):
    policy_no: str
    insurer: str
    period_start: date
    period_end: date


class VerificationOut(BaseModel):
    """核验: whether an enterprise is insured on a day."""

    credit_code: str
    on: date
    insured: bool
    must_insure: bool | None
    policies: list[VerificationPolicy]
