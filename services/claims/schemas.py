"""Request and response shapes of the claims API. Times are ISO 8601 with an offset; money is CNY."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from contracts.identifiers import resident_id_problem
from contracts.profiles.schema import MONEY_QUANTUM
from kernel.errors import RuleViolation

# Amounts leave the API as decimal strings to the fen ("400000.00"): formatting only, values are already in fen.
MoneyOut = Annotated[Decimal, PlainSerializer(lambda amount: str(amount.quantize(MONEY_QUANTUM)), return_type=str)]

def _as_utc(value: datetime) -> datetime:
    # SQLite keeps no offset: a stored time comes back naive, and every stored time is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


# A time leaving the API: always with its offset, as the OpenAPI "date-time" format requires.
TimeOut = Annotated[datetime, AfterValidator(_as_utc)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise RuleViolation("time.offset_required", "时间须带时区", "A time must carry its UTC offset")
    return value


class CasualtyFigures(_In):
    deaths: int = Field(ge=0, description="Deaths 死亡人数")
    serious_injuries: int = Field(0, ge=0, description="Serious injuries 重伤人数")
    minor_injuries: int = Field(0, ge=0, description="Minor injuries 轻伤人数")
    direct_loss: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2, description="Direct loss 直接经济损失 (CNY)")


class ClaimReport(CasualtyFigures):
    """报案: an accident under a policy (or the enterprise's policy in force at the time)."""

    policy_no: str | None = Field(None, description="Policy number 保单号")
    credit_code: str | None = Field(None, description="Enterprise's credit code 统一社会信用代码 (when no policy number)")
    occurred_at: datetime = Field(description="Accident time 事故时间")
    place: str = Field(min_length=1, max_length=300, description="Accident place 事故地点")
    accident_type: str = Field(min_length=1, max_length=32, description="Type 事故类型, e.g. COLLAPSE, FIRE, ROAD_TRAFFIC")
    major_social_impact: bool = Field(False, description="Major social impact 重大社会影响")
    description: str = Field("", max_length=4000, description="Description 事故经过")

    _aware_time = field_validator("occurred_at")(_aware)

    @model_validator(mode="after")
    def _policy_or_enterprise(self) -> ClaimReport:
        if not self.policy_no and not self.credit_code:
            raise RuleViolation("claim.policy_required", "须提供保单号或统一社会信用代码", "Give a policy number or a credit code")
        return self


class CasualtyRevision(CasualtyFigures):
    """伤亡人数补报: revised figures within the revision window; the grade is recomputed."""


class VictimIn(_In):
    resident_id: str = Field(description="Resident ID 居民身份证号码 (GB 11643)")
    name: str = Field(min_length=1, max_length=100, description="Name 姓名")
    relation: Literal["employee", "third_party"] = Field(description="employee 从业人员 | third_party 第三者")
    outcome: Literal["death", "disability", "injury"] = Field(description="death 死亡 | disability 伤残 | injury 受伤")
    disability_grade: int | None = Field(None, description="Disability grade 伤残等级 1 (gravest) … 10")
    medical_costs: Decimal = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2, description="Medical costs 医疗费用 (CNY)")

    @field_validator("resident_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        problem = resident_id_problem(value)
        if problem is not None:
            raise RuleViolation(
                f"resident_id.{problem}", f"居民身份证号码无效（{problem}）", f"The resident ID number is invalid ({problem})"
            )
        return value

    @model_validator(mode="after")
    def _grade_with_disability(self) -> VictimIn:
        if self.outcome == "disability" and self.disability_grade is None:
            raise RuleViolation("victim.disability_grade_required", "伤残须给出伤残等级", "A disability needs its grade 1..10")
        if self.outcome != "disability" and self.disability_grade is not None:
            raise RuleViolation("victim.disability_grade_unexpected", "仅伤残可填伤残等级", "Only a disability has a grade")
        return self


class CostIn(_In):
    kind: Literal["rescue", "legal"] = Field(description="rescue 施救费用 | legal 法律费用")
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)


class PaymentIn(_In):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2, description="Amount 金额 (CNY)")
    note: str = Field("", max_length=300)


class ReasonIn(_In):
    reason: str = Field("", max_length=300)


class FastTrackOut(BaseModel):
    opened: bool
    deadline: TimeOut | None
    started_at: TimeOut | None
    met: bool | None = Field(description="True on time, False late/overdue, None still running or no fast-track")
    overdue: bool
    now: TimeOut = Field(description="The service clock when answered 当前时间")


class VictimOut(BaseModel):
    victim_id: str
    resident_id: str
    name: str
    relation: str
    outcome: str
    disability_grade: int | None
    medical_costs: MoneyOut
    death_disability_amount: MoneyOut
    medical_amount: MoneyOut
    payable: MoneyOut
    limits_exhausted: bool
    steps: list[str]


class CostOut(BaseModel):
    cost_id: str
    kind: str
    amount: MoneyOut
    payable: MoneyOut
    steps: list[str]


class PaymentOut(BaseModel):
    payment_id: str
    kind: str
    amount: MoneyOut
    paid_at: TimeOut
    note: str


class ClaimOut(BaseModel):
    claim_id: str
    policy_no: str
    insurer: str
    credit_code: str
    occurred_at: TimeOut
    reported_at: TimeOut
    place: str
    accident_type: str
    deaths: int
    serious_injuries: int
    minor_injuries: int
    direct_loss: MoneyOut
    major_social_impact: bool
    description: str
    grade: str
    status: str
    revision_deadline: str = Field(description="Last day casualty figures may change 伤亡人数补报截止日")
    fast_track: FastTrackOut
    assessed_total: MoneyOut
    paid_total: MoneyOut
    rounding: str = "amounts derived from a ratio are rounded once to the fen, half up 按分四舍五入"


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= for the next page 下一页")
